//! Hostile: `decide` returns an 8 MiB note, within the memory limit but over the output cap.

use motcua_plugin_sdk::{Capability, Decision, Info, Plugin, Value, export_plugin, json};

struct GiantOutput;

impl Plugin for GiantOutput {
    fn describe() -> Info {
        Info::new("giant-output", env!("CARGO_PKG_VERSION"), json!({})).with(Capability::Decide)
    }

    fn decide(_data: &Value, _config: &Value) -> Result<Decision, String> {
        Ok(Decision::new("tiep_nhan", "x".repeat(8 << 20)))
    }
}

export_plugin!(GiantOutput);
