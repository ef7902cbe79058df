//! Construction-permit fee (lệ phí cấp giấy phép xây dựng) by total floor area and district.
//!
//! Source and assumption: the fee is a provincial charge. Circular 85/2019/TT-BTC lets each
//! provincial People's Council set it, and the schedules in force (Đà Nẵng's included) are a
//! flat amount per permit by kind of work (commonly 50,000 đ for an individual house and
//! 100,000 đ for other works). Issue 5 asks for a fee by floor area and district, so this
//! plugin implements the general shape — per-district bands of floor area, each with a flat
//! amount, plus an optional per-m² rate — and holds no numbers itself: the whole table is
//! configuration, so a council's real schedule (a single band) fits as well as a banded one.
//! The sample procedure's table is illustrative, not law.

use motcua_plugin_sdk::{
    Capability, Fee, Info, Plugin, Value, config_str, export_plugin, field, json,
};

struct PhiXayDung;

impl Plugin for PhiXayDung {
    fn describe() -> Info {
        Info::new(
            "phi-xay-dung",
            env!("CARGO_PKG_VERSION"),
            json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": false,
                "required": ["districts"],
                "properties": {
                    "area_field": {"type": "string", "description": "Data field with the total floor area in m² (default `dien_tich_san`)."},
                    "district_field": {"type": "string", "description": "Data field with the district key (default `quan_huyen`)."},
                    "label": {"type": "string", "description": "Label of the fee line."},
                    "districts": {
                        "type": "object",
                        "minProperties": 1,
                        "additionalProperties": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["bands"],
                            "properties": {
                                "name": {"type": "string"},
                                "per_m2": {"type": "integer", "minimum": 0, "description": "Đồng per started m² on top of the band amount."},
                                "bands": {
                                    "type": "array",
                                    "minItems": 1,
                                    "description": "Ascending by up_to_m2; the last band may omit it (no upper bound).",
                                    "items": {
                                        "type": "object",
                                        "additionalProperties": false,
                                        "required": ["amount"],
                                        "properties": {
                                            "up_to_m2": {"type": "number", "exclusiveMinimum": 0},
                                            "amount": {"type": "integer", "minimum": 0}
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }),
        )
        .with(Capability::ComputeFee)
    }

    fn compute_fee(data: &Value, config: &Value) -> Result<Fee, String> {
        let area_field = config_str(config, "area_field", "dien_tich_san")?;
        let district_field = config_str(config, "district_field", "quan_huyen")?;
        let label = config_str(config, "label", "Lệ phí cấp giấy phép xây dựng")?;
        let area = field(data, area_field)
            .and_then(Value::as_f64)
            .filter(|a| a.is_finite() && *a > 0.0)
            .ok_or_else(|| format!("`{area_field}` must be a floor area in m², greater than 0"))?;
        let district_key = field(data, district_field)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("`{district_field}` must name a district"))?;
        let district = config
            .get("districts")
            .and_then(|d| d.get(district_key))
            .ok_or_else(|| format!("no fee table for district `{district_key}`"))?;
        let district_name = district
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(district_key);
        let bands = district
            .get("bands")
            .and_then(Value::as_array)
            .ok_or("config: district without bands")?;
        let band = bands
            .iter()
            .find(|b| {
                b.get("up_to_m2")
                    .and_then(Value::as_f64)
                    .is_none_or(|up_to| area <= up_to)
            })
            .ok_or_else(|| format!("{area} m² is above the last band of `{district_key}`"))?;
        let amount = band
            .get("amount")
            .and_then(Value::as_u64)
            .ok_or("config: band without an integer amount")?;
        let mut lines = vec![(format!("{label} ({district_name}, {area} m² sàn)"), amount)];
        if let Some(rate) = district.get("per_m2").and_then(Value::as_u64) {
            // Started square metres: 120.2 m² pays for 121.
            let m2 = area.ceil() as u64;
            lines.push((
                format!("Theo diện tích: {m2} m² × {rate} đ"),
                m2.saturating_mul(rate),
            ));
        }
        Ok(Fee::from_lines(lines))
    }
}

export_plugin!(PhiXayDung);
