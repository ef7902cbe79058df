//! What a person reads for a field error ([`FieldError`]): a Vietnamese sentence naming the
//! field by its `title` in the form's schema and the values by their labels, built from the
//! error's `code` and `args`, never from the validator's English. A plugin's error is its own
//! message, once: plugins word their codes themselves (the WIT contract asks Vietnamese).
//!
//! An author may word one code of one field in the schema (`x-messages: {pattern: "…"}`),
//! where a pattern says more than "the format" (docs/authoring.md).

use serde_json::Value;

use crate::dossier::form::FieldError;

use super::format;

/// The sentence for `e`, from the form's `schema` (titles, labels, `x-messages`).
pub fn sentence(schema: &Value, e: &FieldError) -> String {
    if e.args.contains_key("plugin") {
        return e.message.clone();
    }
    let node = node_at(schema, &e.field);
    if let Some(own) = node
        .and_then(|n| n.get("x-messages"))
        .and_then(|m| m.get(&e.code))
        .and_then(Value::as_str)
    {
        return own.to_string();
    }
    let title = title(schema, &e.field).unwrap_or_else(|| "Tờ khai".to_string());
    let args = &e.args;
    let limit = || args.get("limit").map(figure).unwrap_or_default();
    let day = || {
        args.get("limit")
            .and_then(Value::as_str)
            .and_then(|d| d.parse().ok())
            .map(format::date)
            .unwrap_or_default()
    };
    let today = args.get("today").and_then(Value::as_bool) == Some(true);
    match e.code.as_str() {
        "required" => {
            let choose = node.is_some_and(|n| {
                n.get("enum").is_some()
                    || n.get("oneOf").is_some()
                    || n.get("type").and_then(Value::as_str) == Some("boolean")
            });
            format!("Vui lòng {} {title}", if choose { "chọn" } else { "nhập" })
        }
        "type" => {
            let expected: Vec<&str> = args
                .get("expected")
                .and_then(Value::as_array)
                .map(|t| t.iter().filter_map(Value::as_str).map(type_name).collect())
                .unwrap_or_default();
            if expected.is_empty() {
                format!("{title} không hợp lệ")
            } else {
                format!("{title} phải là {}", expected.join(" hoặc "))
            }
        }
        "minimum" => format!("{title} phải lớn hơn hoặc bằng {}", limit()),
        "exclusive_minimum" => format!("{title} phải lớn hơn {}", limit()),
        "maximum" => format!("{title} phải nhỏ hơn hoặc bằng {}", limit()),
        "exclusive_maximum" => format!("{title} phải nhỏ hơn {}", limit()),
        "multiple_of" => format!("{title} phải là bội số của {}", limit()),
        "min_length" if args.get("limit").and_then(Value::as_u64) == Some(1) => {
            format!("Vui lòng nhập {title}")
        }
        "min_length" => format!("{title} phải có ít nhất {} ký tự", limit()),
        "max_length" => format!("{title} chỉ được dài tối đa {} ký tự", limit()),
        "min_items" if args.get("limit").and_then(Value::as_u64) == Some(1) => {
            format!("{title} cần ít nhất một mục")
        }
        "min_items" => format!("{title} cần ít nhất {} mục", limit()),
        "max_items" => format!("{title} chỉ được có tối đa {} mục", limit()),
        "unique_items" => format!("{title} có mục bị trùng"),
        "pattern" => {
            let pattern = args.get("pattern").and_then(Value::as_str).unwrap_or("");
            match digits(pattern) {
                Some(Digits::Exactly(n)) => format!("{title} phải có đúng {n} chữ số"),
                Some(Digits::Between(a, b)) => format!("{title} phải có từ {a} đến {b} chữ số"),
                Some(Digits::Any) => format!("{title} chỉ được gồm các chữ số"),
                None => format!("{title} không đúng định dạng quy định"),
            }
        }
        "format" => match args.get("format").and_then(Value::as_str).unwrap_or("") {
            "date" => format!("{title} phải là một ngày hợp lệ"),
            "date-time" => format!("{title} phải là một thời điểm hợp lệ (ngày và giờ)"),
            "time" => format!("{title} phải là một giờ hợp lệ"),
            "email" | "idn-email" => format!("{title} phải là một địa chỉ thư điện tử hợp lệ"),
            "uri" | "iri" | "uri-reference" | "iri-reference" => {
                format!("{title} phải là một đường dẫn hợp lệ")
            }
            _ => format!("{title} không đúng định dạng quy định"),
        },
        "enum" => {
            let labels: Vec<String> = args
                .get("values")
                .and_then(Value::as_array)
                .map(|v| v.iter().map(|v| label(node, v)).collect())
                .unwrap_or_default();
            format!("{title} phải là một trong: {}", labels.join("; "))
        }
        "const" => match args.get("value") {
            Some(v) => format!("{title} phải là {}", label(node, v)),
            None => format!("{title} không hợp lệ"),
        },
        "date_before" if today => format!("{title} không được trước hôm nay ({})", day()),
        "date_before" => format!("{title} không được trước ngày {}", day()),
        "date_after" if today => format!("{title} không được sau hôm nay ({})", day()),
        "date_after" => format!("{title} không được sau ngày {}", day()),
        "additional_properties" | "unevaluated_properties" => {
            let names: Vec<&str> = args
                .get("unexpected")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!("{title} có thông tin không thuộc mẫu: {}", names.join(", "))
        }
        "false_schema" => format!("Không được khai {title}"),
        _ => format!("{title} không hợp lệ"),
    }
}

/// The field's title in the schema (the last name of its pointer when it has none); `None`
/// for the whole form.
pub fn title(schema: &Value, pointer: &str) -> Option<String> {
    if pointer.is_empty() {
        return None;
    }
    let own = node_at(schema, pointer)
        .and_then(|n| n.get("title"))
        .and_then(Value::as_str);
    Some(match own {
        Some(t) => t.to_string(),
        None => segments(pointer).last().unwrap_or_default(),
    })
}

/// The line above a form's errors: how many fields need fixing.
pub fn summary(fields: usize) -> String {
    format!("Hồ sơ chưa hợp lệ: {fields} trường cần sửa")
}

/// The schema describing the data at `pointer`: through `properties`, and `items` or
/// `prefixItems` for an array's elements.
fn node_at<'a>(schema: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut node = schema;
    for seg in segments(pointer) {
        node = match node.get("properties").and_then(|p| p.get(&seg)) {
            Some(n) => n,
            None => match seg.parse::<usize>() {
                Ok(i) => node
                    .get("prefixItems")
                    .and_then(|p| p.get(i))
                    .or_else(|| node.get("items"))?,
                Err(_) => return None,
            },
        };
    }
    Some(node)
}

fn segments(pointer: &str) -> impl Iterator<Item = String> + '_ {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
}

/// An enumeration's value as the form labels it: `x-labels`, then a `oneOf` branch's title.
fn label(node: Option<&Value>, value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => figure(other),
    };
    let from_map = node
        .and_then(|n| n.get("x-labels"))
        .and_then(|l| l.get(&text))
        .and_then(Value::as_str);
    let from_one_of = || {
        node.and_then(|n| n.get("oneOf"))
            .and_then(Value::as_array)?
            .iter()
            .find(|b| b.get("const") == Some(value))?
            .get("title")?
            .as_str()
    };
    from_map.or_else(from_one_of).map_or(text, String::from)
}

/// A number as written in Vietnamese (`1.250,5`); anything else as its text.
fn figure(v: &Value) -> String {
    match v {
        Value::Number(n) => format::figure(n),
        Value::String(s) => s.clone(),
        Value::Bool(true) => "Có".into(),
        Value::Bool(false) => "Không".into(),
        other => other.to_string(),
    }
}

fn type_name(t: &str) -> &'static str {
    match t {
        "number" => "một số",
        "integer" => "một số nguyên",
        "string" => "chữ",
        "boolean" => "Có hoặc Không",
        "array" => "một danh sách",
        "object" => "một nhóm thông tin",
        "null" => "để trống",
        _ => "giá trị hợp lệ",
    }
}

enum Digits {
    Exactly(u64),
    Between(u64, u64),
    Any,
}

/// The digit-only patterns forms use for numbers of papers (`^[0-9]{12}$`, `^\d{9,12}$`),
/// which can be said in words; any other pattern is "the format".
fn digits(pattern: &str) -> Option<Digits> {
    let body = pattern.strip_prefix('^')?.strip_suffix('$')?;
    let rest = body
        .strip_prefix("[0-9]")
        .or_else(|| body.strip_prefix("\\d"))?;
    match rest {
        "+" => Some(Digits::Any),
        _ => {
            let counts = rest.strip_prefix('{')?.strip_suffix('}')?;
            match counts.split_once(',') {
                None => counts.parse().ok().map(Digits::Exactly),
                Some((a, b)) => Some(Digits::Between(a.parse().ok()?, b.parse().ok()?)),
            }
        }
    }
}

/// The errors of a form, one sentence each, keyed by field pointer in the order given.
pub fn sentences(schema: &Value, errors: &[FieldError]) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|e| (e.field.clone(), sentence(schema, e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["ngay_sinh", "quan_huyen"],
            "properties": {
                "dien_tich_san": {"type": "number", "title": "Tổng diện tích sàn", "exclusiveMinimum": 0},
                "chieu_cao": {"type": "number", "title": "Chiều cao công trình (m)", "maximum": 1250.5},
                "so_cccd": {"type": "string", "title": "Số CCCD", "pattern": "^[0-9]{12}$"},
                "dien_thoai": {"type": "string", "title": "Số điện thoại", "pattern": "^0[0-9]{9}$",
                    "x-messages": {"pattern": "Số điện thoại gồm 10 chữ số, bắt đầu bằng 0"}},
                "ngay_sinh": {"type": "string", "format": "date", "title": "Ngày sinh", "formatMaximum": "today"},
                "ngay_cap": {"type": "string", "format": "date", "title": "Ngày cấp", "formatMinimum": "2021-01-01"},
                "quan_huyen": {"type": "string", "title": "Quận, huyện", "enum": ["hai-chau", "son-tra"],
                    "x-labels": {"hai-chau": "Quận Hải Châu", "son-tra": "Quận Sơn Trà"}},
                "gioi_tinh": {"title": "Giới tính", "oneOf": [{"const": "nam", "title": "Nam"}, {"const": "nu", "title": "Nữ"}]},
                "chu_dau_tu": {"type": "object", "title": "Chủ đầu tư",
                    "properties": {"cccd": {"type": "string", "title": "Số CCCD của chủ đầu tư"}}},
                "giay_to": {"type": "array", "title": "Giấy tờ", "items": {"type": "string", "title": "Tên giấy tờ"}},
                "so_tang": {"type": "integer"}
            }
        })
    }

    /// The form's own errors for `data` (the core's validator), worded.
    fn said(data: Value) -> Vec<(String, String)> {
        let form = crate::dossier::form::Form::compile(&schema()).expect("schema");
        let errors = form.check_on(&data, jiff::civil::date(2026, 12, 7));
        sentences(&schema(), &errors)
    }

    fn at<'a>(said: &'a [(String, String)], field: &str) -> &'a str {
        said.iter()
            .find(|(f, _)| f == field)
            .map(|(_, s)| s.as_str())
            .unwrap_or_else(|| panic!("no error at {field}: {said:?}"))
    }

    #[test]
    fn a_field_is_named_by_its_title_and_a_bound_by_a_vietnamese_number() {
        let s = said(json!({
            "ngay_sinh": "1990-01-01", "quan_huyen": "hai-chau",
            "dien_tich_san": -5.0, "chieu_cao": 2000, "so_cccd": "12"
        }));
        assert_eq!(
            at(&s, "/dien_tich_san"),
            "Tổng diện tích sàn phải lớn hơn 0"
        );
        assert_eq!(
            at(&s, "/chieu_cao"),
            "Chiều cao công trình (m) phải nhỏ hơn hoặc bằng 1.250,5",
            "a decimal comma and a dot between thousands"
        );
        assert_eq!(at(&s, "/so_cccd"), "Số CCCD phải có đúng 12 chữ số");
    }

    #[test]
    fn a_missing_field_is_asked_for_and_a_choice_is_asked_to_be_chosen() {
        let s = said(json!({}));
        assert_eq!(at(&s, "/ngay_sinh"), "Vui lòng nhập Ngày sinh");
        assert_eq!(at(&s, "/quan_huyen"), "Vui lòng chọn Quận, huyện");
    }

    #[test]
    fn enumerations_are_listed_by_their_labels() {
        let s = said(json!({
            "ngay_sinh": "1990-01-01", "quan_huyen": "ba-dinh", "gioi_tinh": "khac"
        }));
        assert_eq!(
            at(&s, "/quan_huyen"),
            "Quận, huyện phải là một trong: Quận Hải Châu; Quận Sơn Trà"
        );
        assert_eq!(at(&s, "/gioi_tinh"), "Giới tính phải là một trong: Nam; Nữ");
    }

    #[test]
    fn date_bounds_print_the_day_as_dd_mm_yyyy() {
        let s = said(json!({
            "ngay_sinh": "2026-12-08", "ngay_cap": "2020-12-31", "quan_huyen": "hai-chau"
        }));
        assert_eq!(
            at(&s, "/ngay_sinh"),
            "Ngày sinh không được sau hôm nay (07/12/2026)"
        );
        assert_eq!(
            at(&s, "/ngay_cap"),
            "Ngày cấp không được trước ngày 01/01/2021"
        );
        let s = said(json!({"ngay_sinh": "2026-02-30", "quan_huyen": "hai-chau"}));
        assert_eq!(at(&s, "/ngay_sinh"), "Ngày sinh phải là một ngày hợp lệ");
    }

    #[test]
    fn types_nested_fields_and_an_authors_own_words() {
        let s = said(json!({
            "ngay_sinh": "1990-01-01", "quan_huyen": "hai-chau", "so_tang": 2.5,
            "chu_dau_tu": {"cccd": 1}, "giay_to": [3], "dien_thoai": "12"
        }));
        // No title: the field's name, never its pointer.
        assert_eq!(at(&s, "/so_tang"), "so_tang phải là một số nguyên");
        assert_eq!(
            at(&s, "/chu_dau_tu/cccd"),
            "Số CCCD của chủ đầu tư phải là chữ"
        );
        assert_eq!(at(&s, "/giay_to/0"), "Tên giấy tờ phải là chữ");
        assert_eq!(
            at(&s, "/dien_thoai"),
            "Số điện thoại gồm 10 chữ số, bắt đầu bằng 0"
        );
    }

    #[test]
    fn a_plugins_error_is_its_own_message_once() {
        let mut args = Map::new();
        args.insert("plugin".into(), "cccd".into());
        let e = FieldError::new(
            "/so_cccd",
            "cccd.province",
            args,
            "Mã tỉnh 999 trong số CCCD không tồn tại",
        );
        assert_eq!(
            sentence(&schema(), &e),
            "Mã tỉnh 999 trong số CCCD không tồn tại"
        );
    }

    #[test]
    fn digit_patterns_are_said_in_words() {
        let worded = |p: &str| {
            let mut args = Map::new();
            args.insert("pattern".into(), p.into());
            sentence(&json!({}), &FieldError::new("/x", "pattern", args, ""))
        };
        assert_eq!(worded("^\\d{9,12}$"), "x phải có từ 9 đến 12 chữ số");
        assert_eq!(worded("^[0-9]+$"), "x chỉ được gồm các chữ số");
        assert_eq!(worded("^[A-Z]{2}$"), "x không đúng định dạng quy định");
        assert_eq!(summary(2), "Hồ sơ chưa hợp lệ: 2 trường cần sửa");
    }
}
