//! CCCD (căn cước công dân / căn cước) number validator.
//!
//! A CCCD number has 12 digits (Circular 07/2016/TT-BCA, kept by Circular 59/2021/TT-BCA and the
//! 2023 Law on Identification): 3 digits of the province of birth registration, 1 digit of
//! century and gender, 2 digits of birth year, 6 random digits. The century-and-gender digit is
//! 0/1 for the 20th century (male/female), 2/3 for the 21st, 4/5 for the 22nd, 6/7 for the 23rd,
//! 8/9 for the 24th. Province codes are those of the 63 provinces before the 2025 merger: numbers
//! already issued keep them, and the merged provinces reuse a subset of them.
//!
//! There is no check digit, so a well-formed number can still be wrong; this only catches typos
//! that break the structure or contradict the declared birth date and gender. The plugin has no
//! clock, so a birth year in the future is not detected here (a procedure guard can do that).

use motcua_plugin_sdk::{
    Capability, FieldError, Info, Plugin, Value, config_str, export_plugin, field, json,
};

/// Province codes (mã tỉnh) of Circular 07/2016/TT-BCA, Appendix: 001–096, not contiguous.
const PROVINCES: [(&str, &str); 63] = [
    ("001", "Hà Nội"),
    ("002", "Hà Giang"),
    ("004", "Cao Bằng"),
    ("006", "Bắc Kạn"),
    ("008", "Tuyên Quang"),
    ("010", "Lào Cai"),
    ("011", "Điện Biên"),
    ("012", "Lai Châu"),
    ("014", "Sơn La"),
    ("015", "Yên Bái"),
    ("017", "Hòa Bình"),
    ("019", "Thái Nguyên"),
    ("020", "Lạng Sơn"),
    ("022", "Quảng Ninh"),
    ("024", "Bắc Giang"),
    ("025", "Phú Thọ"),
    ("026", "Vĩnh Phúc"),
    ("027", "Bắc Ninh"),
    ("030", "Hải Dương"),
    ("031", "Hải Phòng"),
    ("033", "Hưng Yên"),
    ("034", "Thái Bình"),
    ("035", "Hà Nam"),
    ("036", "Nam Định"),
    ("037", "Ninh Bình"),
    ("038", "Thanh Hóa"),
    ("040", "Nghệ An"),
    ("042", "Hà Tĩnh"),
    ("044", "Quảng Bình"),
    ("045", "Quảng Trị"),
    ("046", "Thừa Thiên Huế"),
    ("048", "Đà Nẵng"),
    ("049", "Quảng Nam"),
    ("051", "Quảng Ngãi"),
    ("052", "Bình Định"),
    ("054", "Phú Yên"),
    ("056", "Khánh Hòa"),
    ("058", "Ninh Thuận"),
    ("060", "Bình Thuận"),
    ("062", "Kon Tum"),
    ("064", "Gia Lai"),
    ("066", "Đắk Lắk"),
    ("067", "Đắk Nông"),
    ("068", "Lâm Đồng"),
    ("070", "Bình Phước"),
    ("072", "Tây Ninh"),
    ("074", "Bình Dương"),
    ("075", "Đồng Nai"),
    ("077", "Bà Rịa - Vũng Tàu"),
    ("079", "Hồ Chí Minh"),
    ("080", "Long An"),
    ("082", "Tiền Giang"),
    ("083", "Bến Tre"),
    ("084", "Trà Vinh"),
    ("086", "Vĩnh Long"),
    ("087", "Đồng Tháp"),
    ("089", "An Giang"),
    ("091", "Kiên Giang"),
    ("092", "Cần Thơ"),
    ("093", "Hậu Giang"),
    ("094", "Sóc Trăng"),
    ("095", "Bạc Liêu"),
    ("096", "Cà Mau"),
];

struct Cccd;

impl Plugin for Cccd {
    fn describe() -> Info {
        Info::new(
            "cccd",
            env!("CARGO_PKG_VERSION"),
            json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "field": {"type": "string", "description": "Data field holding the number (default `cccd`); `/a/b` is a JSON pointer."},
                    "required": {"type": "boolean", "description": "Report a missing number (default true)."},
                    "birth_date_field": {"type": "string", "description": "Data field with the birth date `YYYY-MM-DD` (or a year) to compare with."},
                    "gender_field": {"type": "string", "description": "Data field with the gender to compare with."},
                    "male": {"type": "string", "description": "Value of the gender field for male (default `nam`)."},
                    "female": {"type": "string", "description": "Value of the gender field for female (default `nu`)."}
                }
            }),
        )
        .with(Capability::Validate)
    }

    fn validate(data: &Value, config: &Value) -> Result<Vec<FieldError>, String> {
        let name = config_str(config, "field", "cccd")?;
        let required = match config.get("required") {
            None => true,
            Some(v) => v.as_bool().ok_or("config.required must be a boolean")?,
        };
        let number = match field(data, name) {
            None | Some(Value::Null) => {
                return Ok(if required {
                    vec![FieldError::new(name, "cccd.missing", "Chưa nhập số CCCD")]
                } else {
                    vec![]
                });
            }
            Some(Value::String(s)) => s.trim(),
            Some(_) => {
                return Ok(vec![FieldError::new(
                    name,
                    "cccd.type",
                    "Số CCCD phải là một chuỗi 12 chữ số",
                )]);
            }
        };
        let parsed = match parse(number) {
            Ok(p) => p,
            Err(e) => return Ok(vec![FieldError::new(name, e.0, e.1)]),
        };

        let mut errors = Vec::new();
        if let Some(birth_field) = config.get("birth_date_field").and_then(Value::as_str)
            && let Some(year) = field(data, birth_field).and_then(birth_year)
            && year != parsed.birth_year
        {
            errors.push(FieldError::new(
                name,
                "cccd.birth_year",
                format!(
                    "Số CCCD ghi năm sinh {}, không khớp năm sinh khai báo {year}",
                    parsed.birth_year
                ),
            ));
        }
        if let Some(gender_field) = config.get("gender_field").and_then(Value::as_str) {
            let male = config_str(config, "male", "nam")?;
            let female = config_str(config, "female", "nu")?;
            let declared = field(data, gender_field)
                .and_then(Value::as_str)
                .map(str::trim);
            let expected = if parsed.female { female } else { male };
            // A value that is neither configured spelling is left to the form's schema.
            if let Some(g) = declared
                && (g == male || g == female)
                && g != expected
            {
                errors.push(FieldError::new(
                    name,
                    "cccd.gender",
                    format!(
                        "Số CCCD là của công dân {}, không khớp giới tính khai báo",
                        if parsed.female { "nữ" } else { "nam" }
                    ),
                ));
            }
        }
        Ok(errors)
    }
}

struct Parsed {
    birth_year: i64,
    female: bool,
}

fn parse(number: &str) -> Result<Parsed, (&'static str, String)> {
    let bytes = number.as_bytes();
    if bytes.len() != 12 || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(("cccd.format", "Số CCCD phải gồm đúng 12 chữ số".to_owned()));
    }
    let province = &number[0..3];
    if !PROVINCES.iter().any(|(code, _)| *code == province) {
        return Err((
            "cccd.province",
            format!("Mã tỉnh {province} trong số CCCD không tồn tại"),
        ));
    }
    let g = i64::from(bytes[3] - b'0');
    let yy = i64::from(bytes[4] - b'0') * 10 + i64::from(bytes[5] - b'0');
    Ok(Parsed {
        birth_year: (19 + g / 2) * 100 + yy,
        female: g % 2 == 1,
    })
}

/// The year of a birth date given as `YYYY-MM-DD`, `DD/MM/YYYY`, `YYYY` or a number.
fn birth_year(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let s = s.trim();
            let year = if s.len() >= 10 && s.as_bytes()[2] == b'/' {
                s.get(6..10)?
            } else {
                s.get(0..4)?
            };
            year.parse().ok()
        }
        _ => None,
    }
}

export_plugin!(Cccd);
