//! What the core knows of plugin steps, and the seam the WASM host plugs into.
//!
//! A procedure calls plugins in three ways ([`Capability`]); [`uses`] lists every call with
//! where it is written, [`effective_config`] is the config a call runs with, and the outputs
//! ([`FieldError`], [`Decision`], [`Fee`]) are plain data. Running a plugin is I/O-like (a
//! sandbox, fuel, memory), so the core only declares it: a [`Runner`] turns a pinned plugin's
//! bytes into a [`Step`] the engine calls. `motcua-plugin` implements both with wasmtime;
//! [`NoRunner`] stands in where plugins are compiled out, and every call it is asked for
//! fails with [`Failure::NotBuilt`], so a step that needs a plugin is refused before anything
//! is written.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::procedure::check::{NoPlugins, PluginInspector};
use crate::procedure::model::{PluginCall, PluginRef, Procedure};

/// A step function a plugin implements (WIT `capability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// `validate`: validators on submission or on an action.
    Validate,
    /// `decide`: automatic states.
    Decide,
    /// `compute-fee`: fees computed by a plugin.
    ComputeFee,
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Capability::Validate => "validate",
            Capability::Decide => "decide",
            Capability::ComputeFee => "compute-fee",
        })
    }
}

/// One problem with submitted data, from `validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// A top-level field name or a JSON pointer.
    pub field: String,
    /// A stable machine code, e.g. `cccd.province`.
    pub code: String,
    /// A human message (Vietnamese).
    pub message: String,
}

/// The outcome of `decide`: the action an automatic state takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub action: String,
    /// A JSON merge patch (RFC 7386) for dossier data; the host has checked it parses.
    pub patch: Option<Value>,
    pub note: String,
}

/// One line of a computed fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeLine {
    pub label: String,
    /// Whole đồng.
    pub amount: u64,
}

/// The outcome of `compute-fee`; the host has checked `amount` is the sum of `breakdown`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    /// Whole đồng.
    pub amount: u64,
    pub breakdown: Vec<FeeLine>,
}

/// Why a plugin call produced nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// This build has no plugin runtime ([`NoRunner`]).
    #[error("plugins are not compiled into this build")]
    NotBuilt,
    /// The plugin or its sandbox failed; `kind` is a stable short name (`time_limit`, `trap`,
    /// `malformed_output`...) for the audit log and metrics.
    #[error("{message}")]
    Failed { kind: &'static str, message: String },
}

/// A pinned plugin ready to be called. Each call is bounded and leaves nothing behind.
pub trait Step: Send + Sync + std::fmt::Debug {
    fn validate(&self, data: &Value, config: &Value) -> Result<Vec<FieldError>, Failure>;
    fn decide(&self, data: &Value, config: &Value) -> Result<Decision, Failure>;
    fn compute_fee(&self, data: &Value, config: &Value) -> Result<Fee, Failure>;
}

/// What runs plugins: loads a pinned plugin's bytes (whose sha256 the caller has checked)
/// under the limits its `plugins:` entry asks for, and inspects a procedure's plugins for the
/// validator with the same sandbox.
pub trait Runner: Send + Sync {
    fn load(&self, bytes: &[u8], plugin: &PluginRef) -> Result<Arc<dyn Step>, Failure>;
    /// The checks of a procedure's plugins (E060–E067) this runner can make.
    fn inspector(&self) -> &dyn PluginInspector;
    /// Plugin calls made and failed so far.
    fn call_counts(&self) -> (u64, u64) {
        (0, 0)
    }
}

/// The runner of a build without plugins: loading succeeds (a procedure that pins plugins
/// still loads, and its dossiers stay readable), every call fails with
/// [`Failure::NotBuilt`].
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRunner;

impl Runner for NoRunner {
    fn load(&self, _: &[u8], _: &PluginRef) -> Result<Arc<dyn Step>, Failure> {
        Ok(Arc::new(NoRunner))
    }
    fn inspector(&self) -> &dyn PluginInspector {
        &NoPlugins
    }
}

impl Step for NoRunner {
    fn validate(&self, _: &Value, _: &Value) -> Result<Vec<FieldError>, Failure> {
        Err(Failure::NotBuilt)
    }
    fn decide(&self, _: &Value, _: &Value) -> Result<Decision, Failure> {
        Err(Failure::NotBuilt)
    }
    fn compute_fee(&self, _: &Value, _: &Value) -> Result<Fee, Failure> {
        Err(Failure::NotBuilt)
    }
}

/// One place a procedure calls a plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct Use<'a> {
    /// The JSON pointer of the [`PluginCall`], e.g. `/fees/0/plugin`.
    pub pointer: String,
    /// For messages, e.g. "automatic state 'kiem-tra'".
    pub what: String,
    pub capability: Capability,
    pub call: &'a PluginCall,
    /// For an automatic state, its id: the actions its decision may name leave it.
    pub state: Option<&'a str>,
}

/// Every plugin call in a procedure: submission validators, automatic states (`decide`),
/// action validators, computed fees (`compute-fee`), in that order.
pub fn uses(p: &Procedure) -> Vec<Use<'_>> {
    let mut out = Vec::new();
    for (i, call) in p.validators.iter().enumerate() {
        out.push(Use {
            pointer: format!("/validators/{i}"),
            what: "the submission validator".into(),
            capability: Capability::Validate,
            call,
            state: None,
        });
    }
    for (i, s) in p.states.iter().enumerate() {
        if let Some(call) = &s.plugin {
            out.push(Use {
                pointer: format!("/states/{i}/plugin"),
                what: format!("automatic state '{}'", s.id),
                capability: Capability::Decide,
                call,
                state: Some(&s.id),
            });
        }
    }
    for (i, a) in p.actions.iter().enumerate() {
        for (j, call) in a.validators.iter().enumerate() {
            out.push(Use {
                pointer: format!("/actions/{i}/validators/{j}"),
                what: format!("a validator of action '{}'", a.id),
                capability: Capability::Validate,
                call,
                state: None,
            });
        }
    }
    for (i, f) in p.fees.iter().enumerate() {
        if let Some(call) = &f.plugin {
            out.push(Use {
                pointer: format!("/fees/{i}/plugin"),
                what: format!("fee '{}'", f.id),
                capability: Capability::ComputeFee,
                call,
                state: None,
            });
        }
    }
    out
}

/// The config a call runs with: the use's `config` merged over the plugin's own as a JSON
/// merge patch (RFC 7386: objects merge key by key, `null` removes a key, anything else
/// replaces).
pub fn effective_config(plugin: &PluginRef, call: &PluginCall) -> Value {
    let mut config = plugin.config.clone();
    if let Some(patch) = &call.config {
        merge_patch(&mut config, patch);
    }
    config
}

/// Applies an RFC 7386 JSON merge patch to `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_merge_patch_merges_objects_removes_nulls_and_replaces_the_rest() {
        let mut config = json!({"province": "48", "strict": true, "limits": {"a": 1, "b": 2}});
        merge_patch(
            &mut config,
            &json!({"strict": null, "limits": {"b": 3}, "mode": "x"}),
        );
        assert_eq!(
            config,
            json!({"province": "48", "limits": {"a": 1, "b": 3}, "mode": "x"})
        );
    }

    #[test]
    fn without_a_runtime_every_call_is_refused_as_not_built() {
        let cccd = PluginRef {
            id: "cccd".into(),
            file: "cccd.wasm".into(),
            sha256: "0".repeat(64),
            config: json!({}),
            time_limit_ms: None,
            memory_limit_mib: None,
        };
        let Ok(step) = NoRunner.load(b"not wasm", &cccd) else {
            panic!("a build without plugins still loads a procedure that pins one");
        };
        assert_eq!(step.decide(&json!({}), &json!({})), Err(Failure::NotBuilt));
        assert_eq!(
            step.validate(&json!({}), &json!({})),
            Err(Failure::NotBuilt)
        );
        assert_eq!(
            step.compute_fee(&json!({}), &json!({})),
            Err(Failure::NotBuilt)
        );
    }
}
