//! Hostile: implements the world directly (bypassing the SDK) and returns output the host must
//! reject: a config schema and a patch that are not JSON, a fee whose total is not the sum of
//! its lines.

use motcua_plugin_sdk::bindings::{self, motcua::plugin::types as wit};

struct Malformed;

impl bindings::Guest for Malformed {
    fn describe() -> wit::Info {
        wit::Info {
            name: "malformed-output".into(),
            version: "0.1.0".into(),
            config_schema: "{this is not json".into(),
            capabilities: vec![wit::Capability::Decide, wit::Capability::ComputeFee],
        }
    }

    fn validate(_data: String, _config: String) -> Result<Vec<wit::FieldError>, String> {
        Err("not supported".into())
    }

    fn decide(_data: String, _config: String) -> Result<wit::Decision, String> {
        Ok(wit::Decision {
            action: "tiep_nhan".into(),
            patch: Some("{\"unterminated\": ".into()),
            note: String::new(),
        })
    }

    fn compute_fee(_data: String, _config: String) -> Result<wit::Fee, String> {
        Ok(wit::Fee {
            amount: 1_000_000,
            breakdown: vec![wit::FeeLine {
                label: "Lệ phí".into(),
                amount: 1,
            }],
        })
    }
}

motcua_plugin_sdk::bindings::__export_raw!(Malformed with_types_in motcua_plugin_sdk::bindings);
