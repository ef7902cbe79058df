//! Form data validation against a procedure's JSON Schema (draft 2020-12), one message per
//! wrong field.

use serde::{Deserialize, Serialize};

/// A compiled form schema.
pub struct Form {
    validator: jsonschema::Validator,
    /// The schema itself: an error's schema path is read in it (a `oneOf` of `const`s is an
    /// enumeration to the person filling the form).
    schema: serde_json::Value,
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

/// One problem with one field of the submitted data: where, a stable `code` and its `args`
/// (the catalogue, `motcua::messages::fields`, words them for people), and an English
/// `message` for integrators and logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON pointer to the field ("" for the whole form), e.g. `/chu_dau_tu/cccd`. A missing
    /// required field is reported at its own pointer.
    pub field: String,
    /// What is wrong, stable: the JSON Schema keyword in snake case (`required`, `minimum`,
    /// `exclusive_minimum`, `pattern`, `enum`, …), `date_before` / `date_after` for the date
    /// bounds, or a plugin's own code (`cccd.province`).
    #[serde(default)]
    pub code: String,
    /// The code's data: `limit` of a bound, `expected` types, `format`, `pattern`, the
    /// allowed `values`, `plugin`, … (docs/api.md lists them per code).
    #[serde(default)]
    pub args: serde_json::Map<String, serde_json::Value>,
    pub message: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        args: serde_json::Map<String, serde_json::Value>,
        message: impl Into<String>,
    ) -> FieldError {
        FieldError {
            field: field.into(),
            code: code.into(),
            args,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let field = if self.field.is_empty() {
            "(form)"
        } else {
            &self.field
        };
        write!(f, "{field}: {}", self.message)?;
        // Logs and the CLI name the code too: it is what a portal or a plugin author greps.
        if !self.code.is_empty() {
            write!(f, " [{}]", self.code)?;
        }
        Ok(())
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
            schema: schema.clone(),
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
            let args = |bound: DateBound, limit: jiff::civil::Date| {
                let mut args = serde_json::Map::new();
                args.insert("limit".into(), limit.to_string().into());
                if matches!(bound, DateBound::Today) {
                    args.insert("today".into(), true.into());
                }
                args
            };
            if let Some(bound) = b.min
                && let min = bound.on(today)
                && day < min
            {
                errors.push(FieldError::new(
                    field.clone(),
                    "date_before",
                    args(bound, min),
                    format!("{day} is before the earliest allowed day, {min}"),
                ));
            }
            if let Some(bound) = b.max
                && let max = bound.on(today)
                && day > max
            {
                errors.push(FieldError::new(
                    field,
                    "date_after",
                    args(bound, max),
                    format!("{day} is after the latest allowed day, {max}"),
                ));
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
            .map(|e| {
                let (field, code, args) = self.describe(&e);
                FieldError::new(field, code, args, e.to_string())
            })
            .collect()
    }

    /// Where, what and with which data, from the validator's error kind (never from its
    /// English text, which changes between versions).
    fn describe(
        &self,
        e: &jsonschema::ValidationError<'_>,
    ) -> (String, String, serde_json::Map<String, serde_json::Value>) {
        use jsonschema::error::{TypeKind, ValidationErrorKind as K};
        use serde_json::Value;
        let mut args = serde_json::Map::new();
        let mut arg = |k: &str, v: Value| {
            args.insert(k.to_string(), v);
        };
        let mut field = e.instance_path().to_string();
        let mut code = snake(e.kind().keyword());
        match e.kind() {
            K::Required { property } => {
                // Reported at the missing field, where the person fills it in, not on the form.
                if let Some(name) = property.as_str() {
                    field = e.instance_path().join(name).to_string();
                }
            }
            K::Type { kind } => {
                let names: Vec<Value> = match kind {
                    TypeKind::Single(t) => vec![t.as_str().into()],
                    TypeKind::Multiple(set) => set.iter().map(|t| t.as_str().into()).collect(),
                };
                arg("expected", Value::Array(names));
            }
            K::Minimum { limit }
            | K::Maximum { limit }
            | K::ExclusiveMinimum { limit }
            | K::ExclusiveMaximum { limit } => arg("limit", limit.clone()),
            K::MinLength { limit }
            | K::MaxLength { limit }
            | K::MinItems { limit }
            | K::MaxItems { limit }
            | K::MinProperties { limit }
            | K::MaxProperties { limit } => arg("limit", (*limit).into()),
            K::MultipleOf { multiple_of } => arg(
                "limit",
                serde_json::Number::from_f64(*multiple_of).map_or(Value::Null, Value::Number),
            ),
            K::Pattern { pattern } => arg("pattern", pattern.clone().into()),
            K::Format { format } => arg("format", format.clone().into()),
            K::Enum { options } => arg("values", options.as_ref().clone()),
            K::Constant { expected_value } => arg("value", expected_value.as_ref().clone()),
            K::AdditionalProperties { unexpected }
            | K::UnevaluatedProperties { unexpected }
            | K::UnevaluatedItems { unexpected } => arg(
                "unexpected",
                unexpected.iter().map(|u| Value::from(u.as_str())).collect(),
            ),
            K::AdditionalItems { limit } => arg("limit", (*limit).into()),
            K::OneOfNotValid { .. } => {
                // `oneOf: [{const, title}]` labels an enumeration: to the person it is one.
                let consts: Option<Vec<Value>> = self
                    .schema
                    .pointer(e.schema_path().as_str())
                    .and_then(Value::as_array)
                    .and_then(|branches| {
                        branches.iter().map(|b| b.get("const").cloned()).collect()
                    });
                if let Some(values) = consts {
                    code = "enum".into();
                    arg("values", Value::Array(values));
                }
            }
            K::ContentEncoding { content_encoding } => {
                arg("encoding", content_encoding.clone().into());
            }
            K::ContentMediaType { content_media_type } => {
                arg("media_type", content_media_type.clone().into());
            }
            K::Custom { keyword, .. } => arg("keyword", keyword.clone().into()),
            _ => {}
        }
        (field, code, args)
    }
}

/// `exclusiveMinimum` → `exclusive_minimum`; `$ref` → `ref`.
fn snake(keyword: &str) -> String {
    let mut out = String::with_capacity(keyword.len() + 4);
    for c in keyword.chars().filter(|c| c.is_ascii_alphanumeric()) {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
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
        let missing = errors
            .iter()
            .find(|e| e.code == "required")
            .expect("the missing field");
        assert_eq!(
            missing.field, "/ngay_sinh",
            "a missing field is reported where it is filled in"
        );
    }

    fn one(schema: serde_json::Value, data: serde_json::Value) -> FieldError {
        let form = Form::compile(&schema).expect("schema");
        let mut errors = form.check(&data);
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.remove(0)
    }

    fn args(e: &FieldError) -> serde_json::Value {
        serde_json::Value::Object(e.args.clone())
    }

    #[test]
    fn each_schema_keyword_gives_a_stable_code_and_its_data() {
        use serde_json::json;
        let prop = |p: serde_json::Value| json!({"type": "object", "properties": {"x": p}});
        let cases = [
            (
                prop(json!({"type": "number"})),
                json!({"x": "a"}),
                "type",
                json!({"expected": ["number"]}),
            ),
            (
                prop(json!({"type": ["integer", "null"]})),
                json!({"x": 1.5}),
                "type",
                json!({"expected": ["null", "integer"]}),
            ),
            (
                prop(json!({"minimum": 1})),
                json!({"x": 0}),
                "minimum",
                json!({"limit": 1}),
            ),
            (
                prop(json!({"maximum": 7})),
                json!({"x": 8}),
                "maximum",
                json!({"limit": 7}),
            ),
            (
                prop(json!({"exclusiveMinimum": 0})),
                json!({"x": -5.0}),
                "exclusive_minimum",
                json!({"limit": 0}),
            ),
            (
                prop(json!({"exclusiveMaximum": 2.5})),
                json!({"x": 2.5}),
                "exclusive_maximum",
                json!({"limit": 2.5}),
            ),
            (
                prop(json!({"multipleOf": 0.5})),
                json!({"x": 0.3}),
                "multiple_of",
                json!({"limit": 0.5}),
            ),
            (
                prop(json!({"minLength": 2})),
                json!({"x": "a"}),
                "min_length",
                json!({"limit": 2}),
            ),
            (
                prop(json!({"maxLength": 3})),
                json!({"x": "abcd"}),
                "max_length",
                json!({"limit": 3}),
            ),
            (
                prop(json!({"pattern": "^[0-9]{12}$"})),
                json!({"x": "12"}),
                "pattern",
                json!({"pattern": "^[0-9]{12}$"}),
            ),
            (
                prop(json!({"format": "date"})),
                json!({"x": "2026-02-30"}),
                "format",
                json!({"format": "date"}),
            ),
            (
                prop(json!({"enum": ["a", "b"]})),
                json!({"x": "c"}),
                "enum",
                json!({"values": ["a", "b"]}),
            ),
            (
                prop(json!({"oneOf": [{"const": "nam"}, {"const": "nu"}]})),
                json!({"x": "khac"}),
                "enum",
                json!({"values": ["nam", "nu"]}),
            ),
            (
                prop(json!({"const": "co"})),
                json!({"x": "khong"}),
                "const",
                json!({"value": "co"}),
            ),
            (
                prop(json!({"type": "array", "minItems": 1})),
                json!({"x": []}),
                "min_items",
                json!({"limit": 1}),
            ),
            (
                prop(json!({"type": "array", "maxItems": 1})),
                json!({"x": [1, 2]}),
                "max_items",
                json!({"limit": 1}),
            ),
            (
                prop(json!({"type": "array", "uniqueItems": true})),
                json!({"x": [1, 1]}),
                "unique_items",
                json!({}),
            ),
            (
                json!({"type": "object", "properties": {"x": {}}, "additionalProperties": false}),
                json!({"y": 1}),
                "additional_properties",
                json!({"unexpected": ["y"]}),
            ),
            (
                json!({"type": "object", "required": ["ngay sinh/x"]}),
                json!({}),
                "required",
                json!({}),
            ),
        ];
        for (schema, data, code, expected) in cases {
            let e = one(schema.clone(), data);
            assert_eq!(
                (e.code.as_str(), args(&e)),
                (code, expected),
                "{schema}: {e:?}"
            );
            assert!(!e.message.is_empty());
        }
        // The missing field's own pointer, escaped as JSON pointers are.
        let e = one(json!({"required": ["ngay sinh/x"]}), json!({}));
        assert_eq!(e.field, "/ngay sinh~1x");
        let nested = one(
            json!({"properties": {"chu_dau_tu": {"type": "object", "required": ["cccd"]}}}),
            json!({"chu_dau_tu": {}}),
        );
        assert_eq!(
            (nested.field.as_str(), nested.code.as_str()),
            ("/chu_dau_tu/cccd", "required")
        );
    }

    #[test]
    fn date_bounds_carry_the_day_and_whether_it_was_today() {
        let form = Form::compile(&serde_json::json!({
            "properties": {
                "ngay_sinh": {"type": "string", "format": "date", "formatMaximum": "today"},
                "ngay_cap": {"type": "string", "format": "date", "formatMinimum": "2021-01-01"}
            }
        }))
        .expect("schema");
        let today = jiff::civil::date(2026, 12, 7);
        let errors = form.check_on(
            &serde_json::json!({"ngay_sinh": "2026-12-08", "ngay_cap": "2020-12-31"}),
            today,
        );
        let by = |f: &str| errors.iter().find(|e| e.field == f).expect(f);
        let born = by("/ngay_sinh");
        assert_eq!(born.code, "date_after");
        assert_eq!(
            args(born),
            serde_json::json!({"limit": "2026-12-07", "today": true})
        );
        let issued = by("/ngay_cap");
        assert_eq!(issued.code, "date_before");
        assert_eq!(args(issued), serde_json::json!({"limit": "2021-01-01"}));
    }

    #[test]
    fn the_api_shape_keeps_field_and_message_and_adds_code_and_args() {
        let e = one(
            serde_json::json!({"properties": {"dien_tich_san": {"exclusiveMinimum": 0}}}),
            serde_json::json!({"dien_tich_san": -5.0}),
        );
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(v["field"], "/dien_tich_san");
        assert_eq!(v["code"], "exclusive_minimum");
        assert_eq!(v["args"], serde_json::json!({"limit": 0}));
        assert!(v["message"].as_str().is_some_and(|m| m.contains("-5")));
        // An error written before codes existed still reads.
        let old: FieldError =
            serde_json::from_value(serde_json::json!({"field": "/x", "message": "m"}))
                .expect("old");
        assert_eq!((old.code.as_str(), old.args.len()), ("", 0));
        assert!(e.to_string().ends_with("[exclusive_minimum]"), "{e}");
    }
}
