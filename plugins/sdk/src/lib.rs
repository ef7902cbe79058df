//! SDK for motcua procedure plugins.
//!
//! A plugin is a type implementing [`Plugin`], exported with [`export_plugin!`], built as a
//! `cdylib` for `wasm32-wasip2`:
//!
//! ```ignore
//! use motcua_plugin_sdk::{export_plugin, json, Capability, FieldError, Info, Plugin, Value};
//!
//! struct NonEmpty;
//!
//! impl Plugin for NonEmpty {
//!     fn describe() -> Info {
//!         Info::new("non-empty", env!("CARGO_PKG_VERSION"), json!({"type": "object"}))
//!             .with(Capability::Validate)
//!     }
//!     fn validate(data: &Value, _config: &Value) -> Result<Vec<FieldError>, String> {
//!         Ok(match data.get("ho_ten").and_then(Value::as_str) {
//!             Some(s) if !s.trim().is_empty() => vec![],
//!             _ => vec![FieldError::new("ho_ten", "required", "Chưa nhập họ tên")],
//!         })
//!     }
//! }
//!
//! export_plugin!(NonEmpty);
//! ```
//!
//! Functions a plugin does not override return `Err("… not supported")` instead of trapping.
//! JSON crosses the boundary as text (see `wit/motcua-plugin.wit` for why); the SDK parses the
//! input and serializes the output so plugin code only sees [`Value`]s.

use std::marker::PhantomData;

pub use serde_json::{self, Value, json};

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "__export_raw",
        default_bindings_module: "motcua_plugin_sdk::bindings",
    });
}

use bindings::motcua::plugin::types as wit;

/// A step function a plugin implements; listed by [`Info::capabilities`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    Validate,
    Decide,
    ComputeFee,
}

/// What [`Plugin::describe`] returns.
#[derive(Debug, Clone)]
pub struct Info {
    pub name: String,
    pub version: String,
    /// JSON Schema of the plugin's configuration; the host checks procedure configs against it.
    pub config_schema: Value,
    pub capabilities: Vec<Capability>,
}

impl Info {
    pub fn new(name: &str, version: &str, config_schema: Value) -> Self {
        Info {
            name: name.to_owned(),
            version: version.to_owned(),
            config_schema,
            capabilities: Vec::new(),
        }
    }

    /// Declares one more implemented step function.
    pub fn with(mut self, capability: Capability) -> Self {
        self.capabilities.push(capability);
        self
    }
}

/// One problem with the submitted data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.to_owned(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// The outcome of [`Plugin::decide`].
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub action: String,
    /// A JSON merge patch applied to dossier data.
    pub patch: Option<Value>,
    pub note: String,
}

impl Decision {
    pub fn new(action: &str, note: impl Into<String>) -> Self {
        Decision {
            action: action.to_owned(),
            patch: None,
            note: note.into(),
        }
    }

    pub fn with_patch(mut self, patch: Value) -> Self {
        self.patch = Some(patch);
        self
    }
}

/// The outcome of [`Plugin::compute_fee`]: whole đồng.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fee {
    pub amount: u64,
    pub breakdown: Vec<(String, u64)>,
}

impl Fee {
    /// A fee whose total is the sum of its lines (saturating, so it never wraps).
    pub fn from_lines(lines: Vec<(String, u64)>) -> Self {
        let amount = lines
            .iter()
            .fold(0u64, |acc, (_, a)| acc.saturating_add(*a));
        Fee {
            amount,
            breakdown: lines,
        }
    }
}

/// A motcua plugin. Only [`Plugin::describe`] is required; list what you override in
/// [`Info::capabilities`].
pub trait Plugin {
    fn describe() -> Info;

    fn validate(_data: &Value, _config: &Value) -> Result<Vec<FieldError>, String> {
        Err(unsupported("validate"))
    }

    fn decide(_data: &Value, _config: &Value) -> Result<Decision, String> {
        Err(unsupported("decide"))
    }

    fn compute_fee(_data: &Value, _config: &Value) -> Result<Fee, String> {
        Err(unsupported("compute-fee"))
    }
}

fn unsupported(function: &str) -> String {
    format!("{function} is not supported by this plugin")
}

fn parse(what: &str, text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("{what} is not valid JSON: {e}"))
}

/// Bridges a [`Plugin`] to the generated bindings; used by [`export_plugin!`].
#[doc(hidden)]
pub struct Adapter<P>(PhantomData<P>);

/// Makes a panic end the call with a plain trap. std's default hook would first print the
/// message to stderr, which the host does not grant: the call would then fail as a denied
/// import and hide that it was a panic.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}

impl<P: Plugin> bindings::Guest for Adapter<P> {
    fn describe() -> wit::Info {
        quiet_panics();
        let info = P::describe();
        wit::Info {
            name: info.name,
            version: info.version,
            config_schema: info.config_schema.to_string(),
            capabilities: info
                .capabilities
                .into_iter()
                .map(|c| match c {
                    Capability::Validate => wit::Capability::Validate,
                    Capability::Decide => wit::Capability::Decide,
                    Capability::ComputeFee => wit::Capability::ComputeFee,
                })
                .collect(),
        }
    }

    fn validate(data: String, config: String) -> Result<Vec<wit::FieldError>, String> {
        quiet_panics();
        let errors = P::validate(&parse("data", &data)?, &parse("config", &config)?)?;
        Ok(errors
            .into_iter()
            .map(|e| wit::FieldError {
                field: e.field,
                code: e.code,
                message: e.message,
            })
            .collect())
    }

    fn decide(data: String, config: String) -> Result<wit::Decision, String> {
        quiet_panics();
        let d = P::decide(&parse("data", &data)?, &parse("config", &config)?)?;
        Ok(wit::Decision {
            action: d.action,
            patch: d.patch.map(|p| p.to_string()),
            note: d.note,
        })
    }

    fn compute_fee(data: String, config: String) -> Result<wit::Fee, String> {
        quiet_panics();
        let fee = P::compute_fee(&parse("data", &data)?, &parse("config", &config)?)?;
        Ok(wit::Fee {
            amount: fee.amount,
            breakdown: fee
                .breakdown
                .into_iter()
                .map(|(label, amount)| wit::FeeLine { label, amount })
                .collect(),
        })
    }
}

/// Exports a [`Plugin`] type as the component's `plugin` world. Use once per plugin crate.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        // The generated export macro only takes an identifier, hence the alias.
        type __MotcuaPluginAdapter = $crate::Adapter<$plugin>;
        $crate::bindings::__export_raw!(__MotcuaPluginAdapter with_types_in $crate::bindings);
    };
}

/// Looks up a field of dossier data: a JSON pointer when `name` starts with `/`
/// (e.g. `/chu_dau_tu/cccd`), otherwise a top-level key.
pub fn field<'a>(data: &'a Value, name: &str) -> Option<&'a Value> {
    if name.starts_with('/') {
        data.pointer(name)
    } else {
        data.get(name)
    }
}

/// A string setting of `config`, or `default` when absent.
pub fn config_str<'a>(config: &'a Value, key: &str, default: &'a str) -> Result<&'a str, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("config.{key} must be a string")),
    }
}
