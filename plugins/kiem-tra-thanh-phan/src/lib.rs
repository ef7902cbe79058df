//! Automatic completeness check of the document checklist (kiểm tra thành phần hồ sơ).
//!
//! `decide` compares the documents received (a data field) with those the procedure requires
//! (config) and picks the complete or the incomplete action; the patch records what is
//! missing, so the supplement request (phiếu yêu cầu bổ sung) can list it — "guide once, in
//! writing".

use motcua_plugin_sdk::{
    Capability, Decision, Info, Plugin, Value, config_str, export_plugin, field, json,
};

struct KiemTraThanhPhan;

impl Plugin for KiemTraThanhPhan {
    fn describe() -> Info {
        Info::new(
            "kiem-tra-thanh-phan",
            env!("CARGO_PKG_VERSION"),
            json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": false,
                "required": ["required", "complete_action", "incomplete_action"],
                "properties": {
                    "required": {"type": "array", "items": {"type": "string", "format": "motcua-document"}, "description": "Document ids that must all be received."},
                    "any_of": {"type": "array", "items": {"type": "array", "items": {"type": "string", "format": "motcua-document"}, "minItems": 1}, "description": "Groups of alternatives: one of each group must be received."},
                    "received_field": {"type": "string", "description": "Data field listing received documents (default `giay_to_da_nop`): an array of ids, or an object id → true/false."},
                    "missing_field": {"type": "string", "description": "Data field the patch writes the missing ids to (default `giay_to_thieu`)."},
                    "complete_action": {"type": "string", "format": "motcua-action", "description": "Action taken when everything required was received."},
                    "incomplete_action": {"type": "string", "format": "motcua-action", "description": "Action taken when something is missing."}
                }
            }),
        )
        .with(Capability::Decide)
    }

    fn decide(data: &Value, config: &Value) -> Result<Decision, String> {
        let received_field = config_str(config, "received_field", "giay_to_da_nop")?;
        let missing_field = config_str(config, "missing_field", "giay_to_thieu")?;
        let complete = config_str(config, "complete_action", "")?;
        let incomplete = config_str(config, "incomplete_action", "")?;
        if complete.is_empty() || incomplete.is_empty() {
            return Err("config: complete_action and incomplete_action are required".into());
        }
        let received = received(field(data, received_field))
            .ok_or_else(|| format!("`{received_field}` must be an array of ids or an object"))?;
        let has = |id: &str| received.iter().any(|r| r == id);

        let mut missing: Vec<String> = strings(config.get("required"))?
            .into_iter()
            .filter(|id| !has(id))
            .collect();
        if let Some(groups) = config.get("any_of") {
            let groups = groups.as_array().ok_or("config.any_of must be an array")?;
            for group in groups {
                let group = strings(Some(group))?;
                if !group.iter().any(|id| has(id)) {
                    missing.push(group.join("|"));
                }
            }
        }
        let patch = json!({ missing_field: missing });
        Ok(if missing.is_empty() {
            Decision::new(complete, "Hồ sơ đủ thành phần theo quy định").with_patch(patch)
        } else {
            Decision::new(
                incomplete,
                format!("Hồ sơ còn thiếu: {}", missing.join(", ")),
            )
            .with_patch(patch)
        })
    }
}

fn received(v: Option<&Value>) -> Option<Vec<String>> {
    match v {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
        ),
        Some(Value::Object(map)) => Some(
            map.iter()
                .filter(|(_, v)| v.as_bool() == Some(true))
                .map(|(k, _)| k.clone())
                .collect(),
        ),
        Some(_) => None,
    }
}

fn strings(v: Option<&Value>) -> Result<Vec<String>, String> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| "config: document ids must be strings".to_owned())
            })
            .collect(),
        Some(_) => Err("config: expected an array of document ids".into()),
    }
}

export_plugin!(KiemTraThanhPhan);
