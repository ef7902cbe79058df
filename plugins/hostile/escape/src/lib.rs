//! Hostile: tries to reach outside the sandbox — read a file (`decide`), read the
//! environment (`validate`), print to stdout (`compute-fee`). The host grants none of it.

use motcua_plugin_sdk::{
    Capability, Decision, Fee, FieldError, Info, Plugin, Value, export_plugin, json,
};

struct Escape;

impl Plugin for Escape {
    fn describe() -> Info {
        Info::new("escape", env!("CARGO_PKG_VERSION"), json!({}))
            .with(Capability::Decide)
            .with(Capability::Validate)
            .with(Capability::ComputeFee)
    }

    fn decide(_data: &Value, _config: &Value) -> Result<Decision, String> {
        let secret = std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
        Ok(Decision::new("tiep_nhan", secret))
    }

    fn validate(_data: &Value, _config: &Value) -> Result<Vec<FieldError>, String> {
        let vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
        Ok(vec![FieldError::new("env", "env", vars.join(";"))])
    }

    fn compute_fee(_data: &Value, _config: &Value) -> Result<Fee, String> {
        println!("hello from inside the sandbox");
        Ok(Fee::from_lines(vec![]))
    }
}

export_plugin!(Escape);
