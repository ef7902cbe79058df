//! Form fields generated from a procedure's JSON Schema (the desk's form) and from an
//! action's declared inputs, and the posted values read back into the JSON the engine checks.
//! The engine's own schema check stays the judge; this only turns text boxes into typed JSON
//! and says which box could not be read.

use serde_json::{Map, Value};

use motcua::procedure::{Input, InputKind};

/// How a field is drawn and read back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Kind {
    #[default]
    Text,
    Number,
    Integer,
    Boolean,
    Date,
    /// One of the listed values (a JSON Schema `enum`).
    Select(Vec<(String, String)>),
    /// Strings, one per line (a JSON Schema array of strings).
    Lines,
    /// Checklist documents (an action's `documents` input): `(id, name)`.
    Documents(Vec<(String, String)>),
}

#[derive(Debug, Clone, Default)]
pub struct Field {
    pub name: String,
    pub title: String,
    pub kind: Kind,
    pub required: bool,
    /// A regular expression the browser checks too (`pattern`).
    pub pattern: Option<String>,
    /// The value to show (from the example, or what was posted before an error).
    pub value: String,
    /// The documents ticked (a documents field shown again after a refusal).
    pub checked: Vec<String>,
    /// Bounds the browser checks first, from the schema: `min`/`max` of a number or a date
    /// (`formatMinimum`/`formatMaximum`, `today` resolved), `maxlength` of text.
    pub min: Option<String>,
    pub max: Option<String>,
    /// `step` of a number box: `1` for integers, the schema's `multipleOf`, else `any`.
    pub step: Option<String>,
    pub minlength: Option<u64>,
    pub maxlength: Option<u64>,
    /// What is wrong with the value shown, in the catalogue's words, drawn under the field
    /// (the box marked `aria-invalid` and described by them).
    pub errors: Vec<String>,
    /// Left empty, the field takes the applicant's `id` or `name` (the schema's `x-same-as`:
    /// `applicant.id` / `applicant.name`): the identity is typed once.
    pub same_as: Option<String>,
}

impl Field {
    pub fn is(&self, kind: &str) -> bool {
        matches!(
            (&self.kind, kind),
            (Kind::Text, "text")
                | (Kind::Number, "number")
                | (Kind::Integer, "integer")
                | (Kind::Boolean, "boolean")
                | (Kind::Date, "date")
                | (Kind::Select(_), "select")
                | (Kind::Lines, "lines")
                | (Kind::Documents(_), "documents")
        )
    }
    pub fn options(&self) -> &[(String, String)] {
        match &self.kind {
            Kind::Select(o) => o,
            _ => &[],
        }
    }
    pub fn documents(&self) -> &[(String, String)] {
        match &self.kind {
            Kind::Documents(d) => d,
            _ => &[],
        }
    }
    pub fn selected(&self, option: &str) -> bool {
        self.value == option
    }
    pub fn is_checked(&self, document: &str) -> bool {
        self.checked.iter().any(|c| c == document)
    }
    pub fn step(&self) -> &str {
        match &self.step {
            Some(step) => step,
            None if self.kind == Kind::Integer => "1",
            None => "any",
        }
    }
    pub fn invalid(&self) -> bool {
        !self.errors.is_empty()
    }
    /// The box's id (and posted name) on a form whose fields take `prefix`.
    pub fn id(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.name)
    }
    /// The id of the sentences under the box, which its `aria-describedby` names.
    pub fn described_by(&self, prefix: &str) -> String {
        format!("{prefix}{}-error", self.name)
    }
}

/// The summary above a form refused for its fields: a line and one link per error to the
/// box it concerns (`id` is the box's), and the errors no box on this form shows.
#[derive(Debug, Clone, Default)]
pub struct Invalid {
    pub summary: String,
    /// `(id of the box, sentence)`.
    pub at_fields: Vec<(String, String)>,
    pub elsewhere: Vec<String>,
}

impl Invalid {
    pub fn is_empty(&self) -> bool {
        self.at_fields.is_empty() && self.elsewhere.is_empty()
    }
}

/// A refused action input (`invalid_input` naming its `input`) as the `(pointer, sentence)`
/// [`place`] puts under that input's box: the problem's detail, already the catalogue's.
pub fn input_errors(p: &crate::problem::Problem) -> Vec<(String, String)> {
    match p.extra.get("input").and_then(Value::as_str) {
        Some(input) => vec![(
            format!("/{}", input.replace('~', "~0").replace('/', "~1")),
            p.detail.clone(),
        )],
        None => vec![],
    }
}

/// Puts each `(JSON pointer, sentence)` under the field of `fields` it concerns (by the
/// pointer's first name: a nested error belongs to its top-level box), and returns the
/// summary. The boxes' ids are `prefix` + name, as `field.html` draws them.
pub fn place(fields: &mut [Field], errors: Vec<(String, String)>, prefix: &str) -> Invalid {
    let mut out = Invalid::default();
    let mut boxes: Vec<&str> = vec![];
    for (pointer, sentence) in errors {
        let name = pointer
            .strip_prefix('/')
            .and_then(|p| p.split('/').next())
            .map(|n| n.replace("~1", "/").replace("~0", "~"));
        match name.and_then(|n| fields.iter_mut().find(|f| f.name == n)) {
            Some(f) => {
                if !f.errors.contains(&sentence) {
                    f.errors.push(sentence.clone());
                }
                out.at_fields
                    .push((format!("{prefix}{}", f.name), sentence));
            }
            None => out.elsewhere.push(sentence),
        }
    }
    for f in fields.iter().filter(|f| f.invalid()) {
        boxes.push(&f.name);
    }
    let count = boxes.len() + out.elsewhere.len();
    if count > 0 {
        out.summary = motcua::messages::fields::summary(count);
    }
    out
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join("\n"),
        other => other.to_string(),
    }
}

/// The fields of a form schema's top-level properties, in the schema's order. Fields the
/// desk does not fill (an array a plugin writes, as its title says) are still shown: the
/// procedure's author decides what the form asks.
/// The first of `keywords` the property declares, as an HTML bound (`today` is the day given).
fn bound(p: &Value, keywords: &[&str], today: jiff::civil::Date) -> Option<String> {
    keywords.iter().find_map(|k| match p.get(*k)? {
        Value::String(s) if s == "today" => Some(today.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// An integer's exclusive bound as the inclusive one next to it (`exclusiveMinimum: 0` is
/// `min="1"`); a number's has no inclusive equal, so it stays the plain bound.
fn exclusive(p: &Value, keyword: &str, ty: &str, by: i64) -> Option<String> {
    let limit = p.get(keyword)?;
    if ty != "integer" {
        return None;
    }
    let next = limit
        .as_i64()
        .or_else(|| {
            limit
                .as_f64()
                .map(|f| if by > 0 { f.floor() } else { f.ceil() } as i64)
        })?
        .checked_add(by)?;
    Some(next.to_string())
}

pub fn from_schema(
    schema: &Value,
    example: Option<&Value>,
    today: jiff::civil::Date,
) -> Vec<Field> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return vec![];
    };
    props
        .iter()
        .map(|(name, p)| {
            let ty = p.get("type").and_then(Value::as_str).unwrap_or("string");
            let kind = if let Some(options) = p.get("enum").and_then(Value::as_array) {
                // Labels from an `x-labels` map (value → label); the value itself otherwise.
                let labels = p.get("x-labels").and_then(Value::as_object);
                Kind::Select(
                    options
                        .iter()
                        .map(|o| {
                            let value = text_of(o);
                            let label = labels
                                .and_then(|l| l.get(&value))
                                .and_then(Value::as_str)
                                .map_or_else(|| value.clone(), String::from);
                            (value, label)
                        })
                        .collect(),
                )
            } else if let Some(one_of) = p.get("oneOf").and_then(Value::as_array)
                && one_of.iter().all(|o| o.get("const").is_some())
            {
                // `oneOf: [{const, title}]`, the standard way to label an enumeration.
                Kind::Select(
                    one_of
                        .iter()
                        .map(|o| {
                            let value = o.get("const").map(text_of).unwrap_or_default();
                            let label = o
                                .get("title")
                                .and_then(Value::as_str)
                                .map_or_else(|| value.clone(), String::from);
                            (value, label)
                        })
                        .collect(),
                )
            } else {
                match ty {
                    "number" => Kind::Number,
                    "integer" => Kind::Integer,
                    "boolean" => Kind::Boolean,
                    "array" => Kind::Lines,
                    _ if p.get("format").and_then(Value::as_str) == Some("date") => Kind::Date,
                    _ => Kind::Text,
                }
            };
            Field {
                name: name.clone(),
                title: p
                    .get("title")
                    .and_then(Value::as_str)
                    .unwrap_or(name)
                    .to_string(),
                kind,
                required: required.contains(&name.as_str()),
                pattern: p.get("pattern").and_then(Value::as_str).map(String::from),
                value: example
                    .and_then(|e| e.get(name))
                    .map(text_of)
                    .unwrap_or_default(),
                checked: vec![],
                min: exclusive(p, "exclusiveMinimum", ty, 1)
                    .or_else(|| bound(p, &["minimum", "exclusiveMinimum", "formatMinimum"], today)),
                max: exclusive(p, "exclusiveMaximum", ty, -1)
                    .or_else(|| bound(p, &["maximum", "exclusiveMaximum", "formatMaximum"], today)),
                step: p
                    .get("multipleOf")
                    .and_then(Value::as_number)
                    .map(ToString::to_string),
                minlength: p.get("minLength").and_then(Value::as_u64),
                maxlength: p.get("maxLength").and_then(Value::as_u64),
                errors: vec![],
                same_as: p
                    .get("x-same-as")
                    .and_then(Value::as_str)
                    .filter(|s| matches!(*s, "applicant.id" | "applicant.name"))
                    .map(String::from),
            }
        })
        .collect()
}

/// Puts `fields` in the order the procedure file writes them under `prefix` (a JSON pointer
/// such as `/form/properties`): the form's JSON value keeps no order of its own.
pub fn in_source_order(fields: &mut [Field], source: &str, prefix: &str) {
    let Ok(parsed) = motcua::procedure::source_map::parse(source) else {
        return;
    };
    fields.sort_by_key(|f| {
        let pointer = format!(
            "{prefix}/{}",
            motcua::procedure::source_map::escape(&f.name)
        );
        let at = parsed.source_map.key(&pointer);
        (at.line, at.col)
    });
}

/// The fields of an action's declared inputs.
pub fn from_inputs(inputs: &[Input], documents: &[motcua::procedure::Document]) -> Vec<Field> {
    inputs
        .iter()
        .map(|i| Field {
            name: i.name.clone(),
            title: i.label.clone().unwrap_or_else(|| i.name.clone()),
            kind: match i.kind {
                InputKind::Text => Kind::Text,
                InputKind::Number => Kind::Number,
                InputKind::Boolean => Kind::Boolean,
                InputKind::Date => Kind::Date,
                InputKind::Documents => Kind::Documents(
                    documents
                        .iter()
                        .map(|d| (d.id.clone(), d.name.clone()))
                        .collect(),
                ),
            },
            required: i.required,
            ..Field::default()
        })
        .collect()
}

/// A field that could not be read: its name and why (the catalogue's sentence, naming the
/// field by its title).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub field: String,
    pub message: String,
}

impl Unreadable {
    /// A box whose text is not of the `expected` JSON type, as the schema's check would say.
    fn not_a(f: &Field, expected: &str) -> Unreadable {
        let mut args = Map::new();
        args.insert("expected".into(), Value::Array(vec![expected.into()]));
        let error = motcua::dossier::form::FieldError::new(
            format!("/{}", f.name.replace('~', "~0").replace('/', "~1")),
            "type",
            args,
            format!("not a {expected}"),
        );
        let schema = serde_json::json!({"properties": {&f.name: {"title": f.title}}});
        Unreadable {
            field: f.name.clone(),
            message: motcua::messages::fields::sentence(&schema, &error),
        }
    }
}

/// A number as typed in Vietnam or in JSON: `1.250,5`, `1250,5`, `1250.5`, `1.250.000`.
fn number_text(typed: &str) -> String {
    let dots = typed.matches('.').count();
    if typed.contains(',') || dots > 1 {
        // Dots group thousands when a comma marks the decimals or when there are several.
        typed.replace('.', "").replace(',', ".")
    } else {
        typed.to_string()
    }
}

/// Reads posted `pairs` (field name prefixed with `prefix`) back into a JSON object by the
/// fields' kinds. Empty optional fields are left out, so the schema sees them as absent.
pub fn read(
    fields: &[Field],
    pairs: &[(String, String)],
    prefix: &str,
) -> Result<Value, Vec<Unreadable>> {
    let mut out = Map::new();
    let mut errors = vec![];
    for f in fields {
        let key = format!("{prefix}{}", f.name);
        let values: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
            .collect();
        let first = values.first().map(|v| v.trim()).unwrap_or("");
        let value = match &f.kind {
            Kind::Boolean => Some(Value::Bool(!values.is_empty())),
            Kind::Documents(_) => Some(Value::Array(
                values
                    .iter()
                    .map(|v| Value::String(v.to_string()))
                    .collect(),
            )),
            Kind::Lines => {
                let items: Vec<Value> = first
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| Value::String(l.into()))
                    .collect();
                (!items.is_empty()).then_some(Value::Array(items))
            }
            _ if first.is_empty() => None,
            Kind::Number => match number_text(first)
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
            {
                // NaN and infinities parse as f64 but are no JSON number.
                Some(n) => Some(Value::Number(n)),
                None => {
                    errors.push(Unreadable::not_a(f, "number"));
                    None
                }
            },
            Kind::Integer => match first.parse::<i64>() {
                Ok(n) => Some(Value::from(n)),
                Err(_) => {
                    errors.push(Unreadable::not_a(f, "integer"));
                    None
                }
            },
            Kind::Text | Kind::Date | Kind::Select(_) => Some(Value::String(first.to_string())),
        };
        if let Some(v) = value {
            out.insert(f.name.clone(), v);
        }
    }
    if errors.is_empty() {
        Ok(Value::Object(out))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["so_cccd", "so_tang"],
            "properties": {
                "so_cccd": {"type": "string", "title": "Số căn cước công dân", "pattern": "^[0-9]{12}$"},
                "quan_huyen": {"type": "string", "enum": ["hai-chau", "son-tra"],
                    "x-labels": {"hai-chau": "Quận Hải Châu"}},
                "gioi_tinh": {"oneOf": [{"const": "nam", "title": "Nam"}, {"const": "nu", "title": "Nữ"}]},
                "ngay_sinh": {"type": "string", "format": "date", "formatMaximum": "today"},
                "dien_tich_san": {"type": "number", "title": "Tổng diện tích sàn (m²)"},
                "so_tang": {"type": "integer"},
                "giay_to_thieu": {"type": "array", "items": {"type": "string"}}
            }
        })
    }

    fn posted(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_desk_form_follows_the_schema_titles_types_and_enums() {
        let mut fields = from_schema(
            &schema(),
            Some(&json!({"so_tang": 3})),
            jiff::civil::date(2026, 12, 7),
        );
        let source = "form:\n  properties:\n    so_cccd: {}\n    quan_huyen: {}\n    dien_tich_san: {}\n    so_tang: {}\n    giay_to_thieu: {}\n    gioi_tinh: {}\n    ngay_sinh: {}\n";
        in_source_order(&mut fields, source, "/form/properties");
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "so_cccd",
                "quan_huyen",
                "dien_tich_san",
                "so_tang",
                "giay_to_thieu",
                "gioi_tinh",
                "ngay_sinh"
            ]
        );
        assert_eq!(fields[0].title, "Số căn cước công dân");
        assert!(fields[0].required);
        assert_eq!(fields[0].pattern.as_deref(), Some("^[0-9]{12}$"));
        // Labels for people, codes for the data; a value without a label shows itself.
        assert_eq!(
            fields[1].options(),
            [
                ("hai-chau".to_string(), "Quận Hải Châu".to_string()),
                ("son-tra".to_string(), "son-tra".to_string())
            ]
        );
        let sex = fields.iter().find(|f| f.name == "gioi_tinh").unwrap();
        assert_eq!(sex.options()[1], ("nu".to_string(), "Nữ".to_string()));
        let born = fields.iter().find(|f| f.name == "ngay_sinh").unwrap();
        assert_eq!(
            born.max.as_deref(),
            Some("2026-12-07"),
            "no birth after today"
        );
        assert!(fields[2].is("number") && !fields[2].required);
        assert_eq!(fields[3].value, "3");
        assert!(fields[4].is("lines"));
    }

    #[test]
    fn posted_text_becomes_typed_json_and_empty_optional_fields_stay_absent() {
        let fields = from_schema(&schema(), None, jiff::civil::date(2026, 12, 7));
        let data = read(
            &fields,
            &posted(&[
                ("f.so_cccd", "048090001234"),
                ("f.quan_huyen", "son-tra"),
                ("f.dien_tich_san", "240,5"),
                ("f.so_tang", "3"),
                ("f.giay_to_thieu", ""),
            ]),
            "f.",
        )
        .expect("readable");
        assert_eq!(
            data,
            json!({"so_cccd": "048090001234", "quan_huyen": "son-tra", "dien_tich_san": 240.5, "so_tang": 3})
        );
    }

    #[test]
    fn a_number_box_with_words_is_named_not_guessed() {
        let fields = from_schema(&schema(), None, jiff::civil::date(2026, 12, 7));
        let errors = read(
            &fields,
            &posted(&[("f.so_tang", "ba"), ("f.dien_tich_san", "NaN")]),
            "f.",
        )
        .expect_err("unreadable");
        let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, ["dien_tich_san", "so_tang"]);
    }

    #[test]
    fn the_schemas_bounds_reach_the_browser() {
        let fields = from_schema(
            &json!({"properties": {
                "so_tang": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 8},
                "dien_tich": {"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.5},
                "ma": {"type": "string", "minLength": 2, "maxLength": 9, "pattern": "^[A-Z]+$"}
            }}),
            None,
            jiff::civil::date(2026, 12, 7),
        );
        let f = |n: &str| fields.iter().find(|f| f.name == n).expect(n);
        let floors = f("so_tang");
        assert_eq!(
            (floors.min.as_deref(), floors.max.as_deref()),
            (Some("1"), Some("7"))
        );
        assert_eq!(floors.step(), "1");
        let area = f("dien_tich");
        assert_eq!((area.min.as_deref(), area.step()), (Some("0"), "0.5"));
        let code = f("ma");
        assert_eq!((code.minlength, code.maxlength), (Some(2), Some(9)));
        assert_eq!(code.pattern.as_deref(), Some("^[A-Z]+$"));
    }

    #[test]
    fn errors_go_under_their_fields_and_the_rest_into_the_summary() {
        let mut fields = from_schema(&schema(), None, jiff::civil::date(2026, 12, 7));
        let invalid = place(
            &mut fields,
            vec![
                (
                    "/dien_tich_san".into(),
                    "Tổng diện tích sàn phải lớn hơn 0".into(),
                ),
                ("/so_cccd".into(), "Số CCCD phải có đúng 12 chữ số".into()),
                ("/so_cccd".into(), "Số CCCD phải có đúng 12 chữ số".into()),
                ("".into(), "Tờ khai có thông tin không thuộc mẫu: x".into()),
            ],
            "f.",
        );
        assert_eq!(invalid.summary, "Hồ sơ chưa hợp lệ: 3 trường cần sửa");
        assert_eq!(invalid.at_fields[0].0, "f.dien_tich_san");
        assert_eq!(
            invalid.elsewhere,
            ["Tờ khai có thông tin không thuộc mẫu: x"]
        );
        let cccd = fields
            .iter()
            .find(|f| f.name == "so_cccd")
            .expect("so_cccd");
        assert_eq!(cccd.errors.len(), 1, "one sentence once");
        assert_eq!(cccd.described_by("f."), "f.so_cccd-error");
        assert!(
            !fields
                .iter()
                .find(|f| f.name == "so_tang")
                .expect("so_tang")
                .invalid()
        );
    }

    #[test]
    fn numbers_typed_the_vietnamese_way_are_read_and_words_named_by_title() {
        let fields = from_schema(&schema(), None, jiff::civil::date(2026, 12, 7));
        let data =
            read(&fields, &posted(&[("f.dien_tich_san", "1.250,5")]), "f.").expect("readable");
        assert_eq!(data["dien_tich_san"], json!(1250.5));
        let data =
            read(&fields, &posted(&[("f.dien_tich_san", "1.250.000")]), "f.").expect("readable");
        assert_eq!(data["dien_tich_san"], json!(1_250_000.0));
        let errors =
            read(&fields, &posted(&[("f.dien_tich_san", "nhiều")]), "f.").expect_err("unreadable");
        assert_eq!(errors[0].message, "Tổng diện tích sàn (m²) phải là một số");
    }

    #[test]
    fn a_refused_action_input_goes_under_its_box() {
        let mut inputs = from_inputs(
            &[motcua::procedure::Input {
                name: "promised".into(),
                label: Some("Ngày hẹn mới".into()),
                required: true,
                kind: InputKind::Date,
            }],
            &[],
        );
        let p = crate::problem::Problem::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "Ngày hẹn mới phải là ngày làm việc",
        )
        .with("input", json!("promised"));
        let invalid = place(&mut inputs, input_errors(&p), "i.");
        assert_eq!(inputs[0].errors, ["Ngày hẹn mới phải là ngày làm việc"]);
        assert_eq!(invalid.at_fields[0].0, "i.promised");
    }
}
