//! Form data validation against a procedure's JSON Schema (draft 2020-12), one message per
//! wrong field.

use serde::{Deserialize, Serialize};

/// A compiled form schema.
pub struct Form {
    validator: jsonschema::Validator,
    /// Top-level fields with a `default` in the schema, applied at receipt when absent.
    defaults: Vec<(String, serde_json::Value)>,
    /// Top-level `format: date` fields bounded by `formatMinimum` / `formatMaximum` (a date,
    /// or `today`: the receipt's local day), which JSON Schema 2020-12 leaves to extensions.
    date_bounds: Vec<DateBounds>,
}

#[derive(Debug, Clone)]
struct DateBounds {
    field: String,
    min: Option<DateBound>,
    max: Option<DateBound>,
}

#[derive(Debug, Clone, Copy)]
enum DateBound {
    Today,
    Day(jiff::civil::Date),
}

impl DateBound {
    fn parse(field: &str, keyword: &str, v: &serde_json::Value) -> Result<DateBound, SchemaError> {
        match v.as_str() {
            Some("today") => Ok(DateBound::Today),
            Some(text) => text.parse().map(DateBound::Day).map_err(|_| {
                SchemaError(format!(
                    "/properties/{field}/{keyword}: '{text}' is neither a date YYYY-MM-DD nor 'today'"
                ))
            }),
            None => Err(SchemaError(format!(
                "/properties/{field}/{keyword}: must be a date YYYY-MM-DD or 'today'"
            ))),
        }
    }
    fn on(self, today: jiff::civil::Date) -> jiff::civil::Date {
        match self {
            DateBound::Today => today,
            DateBound::Day(d) => d,
        }
    }
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Form")
    }
}

/// One problem with one field of the submitted data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON pointer to the field ("" for the whole form), e.g. `/chu_dau_tu/cccd`.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let field = if self.field.is_empty() {
            "(form)"
        } else {
            &self.field
        };
        write!(f, "{field}: {}", self.message)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the form schema is invalid: {0}")]
pub struct SchemaError(pub String);

impl Form {
    pub fn compile(schema: &serde_json::Value) -> Result<Form, SchemaError> {
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(schema)
            .map_err(|e| SchemaError(e.to_string()))?;
        let defaults = schema
            .get("properties")
            .and_then(serde_json::Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .filter_map(|(name, p)| Some((name.clone(), p.get("default")?.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let mut date_bounds = vec![];
        if let Some(props) = schema
            .get("properties")
            .and_then(serde_json::Value::as_object)
        {
            for (name, p) in props {
                let bound = |k: &str| p.get(k).map(|v| DateBound::parse(name, k, v)).transpose();
                let (min, max) = (bound("formatMinimum")?, bound("formatMaximum")?);
                if min.is_some() || max.is_some() {
                    date_bounds.push(DateBounds {
                        field: name.clone(),
                        min,
                        max,
                    });
                }
            }
        }
        Ok(Form {
            validator,
            defaults,
            date_bounds,
        })
    }

    /// [`Form::check`], and the date bounds against `today` (the receipt's local day):
    /// "no birth date in the future" is `formatMaximum: today`.
    pub fn check_on(&self, data: &serde_json::Value, today: jiff::civil::Date) -> Vec<FieldError> {
        let mut errors = self.check(data);
        for b in &self.date_bounds {
            let Some(day) = data
                .get(&b.field)
                .and_then(serde_json::Value::as_str)
                .and_then(|t| t.parse::<jiff::civil::Date>().ok())
            else {
                continue;
            };
            let field = format!("/{}", b.field);
            if let Some(min) = b.min.map(|m| m.on(today))
                && day < min
            {
                errors.push(FieldError {
                    field: field.clone(),
                    message: format!("{day} is before the earliest allowed day, {min}"),
                });
            }
            if let Some(max) = b.max.map(|m| m.on(today))
                && day > max
            {
                errors.push(FieldError {
                    field,
                    message: format!("{day} is after the latest allowed day, {max}"),
                });
            }
        }
        errors
    }

    /// Fields the schema gives a `default`: a guard or a plugin may rely on them being present.
    pub fn defaulted_fields(&self) -> impl Iterator<Item = &str> {
        self.defaults.iter().map(|(name, _)| name.as_str())
    }

    /// Fills in every top-level field the data leaves out and the schema gives a `default`
    /// (JSON Schema itself never applies them). Returns the fields filled, with their values,
    /// for the audit entry of the receipt.
    pub fn apply_defaults(
        &self,
        data: &mut serde_json::Value,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut applied = serde_json::Map::new();
        if let serde_json::Value::Object(fields) = data {
            for (name, value) in &self.defaults {
                if !fields.contains_key(name) {
                    fields.insert(name.clone(), value.clone());
                    applied.insert(name.clone(), value.clone());
                }
            }
        }
        applied
    }

    /// Every problem with `data`, in the validator's order; empty when valid.
    pub fn check(&self, data: &serde_json::Value) -> Vec<FieldError> {
        self.validator
            .iter_errors(data)
            .map(|e| FieldError {
                field: e.instance_path().to_string(),
                message: e.to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_birth_date_may_not_be_in_the_future() {
        let form = Form::compile(&serde_json::json!({
            "type": "object",
            "properties": {
                "ngay_sinh": {"type": "string", "format": "date", "formatMaximum": "today"},
                "ngay_cap": {"type": "string", "format": "date", "formatMinimum": "2021-01-01"}
            }
        }))
        .unwrap();
        let today: jiff::civil::Date = "2026-12-07".parse().unwrap();
        let ok = serde_json::json!({"ngay_sinh": "2026-12-07", "ngay_cap": "2021-01-01"});
        assert!(form.check_on(&ok, today).is_empty());
        let bad = serde_json::json!({"ngay_sinh": "2026-12-08", "ngay_cap": "2020-12-31"});
        let errors = form.check_on(&bad, today);
        let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        // The schema's properties come in map order, which features elsewhere may change.
        fields.sort_unstable();
        assert_eq!(fields, ["/ngay_cap", "/ngay_sinh"], "{errors:?}");
        assert!(
            Form::compile(&serde_json::json!({
                "properties": {"d": {"type": "string", "formatMaximum": "yesterday"}}
            }))
            .is_err()
        );
    }

    #[test]
    fn each_wrong_field_gets_its_own_message() {
        let form = Form::compile(&serde_json::json!({
            "type": "object",
            "required": ["ho_ten", "ngay_sinh"],
            "properties": {
                "ho_ten": {"type": "string", "minLength": 1},
                "ngay_sinh": {"type": "string", "format": "date"},
                "so_tang": {"type": "integer", "minimum": 1}
            }
        }))
        .unwrap();
        assert!(
            form.check(&serde_json::json!({"ho_ten": "Nguyễn Văn A", "ngay_sinh": "2026-01-02"}))
                .is_empty()
        );
        let errors = form.check(&serde_json::json!({"ho_ten": "", "so_tang": 0}));
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(fields.contains(&"/ho_ten"));
        assert!(fields.contains(&"/so_tang"));
        assert!(
            fields.contains(&""),
            "the missing ngay_sinh is reported on the form"
        );
    }
}
