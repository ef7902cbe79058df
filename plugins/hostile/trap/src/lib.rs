//! Hostile: `decide` panics (a trap, since plugins abort on panic); `validate` executes
//! `unreachable` directly.

use motcua_plugin_sdk::{
    Capability, Decision, FieldError, Info, Plugin, Value, export_plugin, json,
};

struct Trap;

impl Plugin for Trap {
    fn describe() -> Info {
        Info::new("trap", env!("CARGO_PKG_VERSION"), json!({}))
            .with(Capability::Decide)
            .with(Capability::Validate)
    }

    fn validate(_data: &Value, _config: &Value) -> Result<Vec<FieldError>, String> {
        core::arch::wasm32::unreachable()
    }

    fn decide(data: &Value, _config: &Value) -> Result<Decision, String> {
        if std::hint::black_box(data.is_object()) {
            panic!("hostile plugin panics on purpose");
        }
        Ok(Decision::new("tiep_nhan", ""))
    }
}

export_plugin!(Trap);
