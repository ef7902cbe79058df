//! RFC 8785 JSON Canonicalization Scheme (JCS): the one encoding an audit entry is stored and
//! hashed in. Object members sorted by their names' UTF-16 code units, no whitespace, strings
//! with the minimal escapes of ECMAScript's `JSON.stringify`, numbers as ECMAScript writes
//! them. Anyone holding a parsed entry can rebuild its bytes with any JCS implementation and
//! recompute its hash.
//!
//! One deviation, outside what RFC 8785 covers: its input must be I-JSON (RFC 7493), whose
//! numbers are IEEE doubles, and an integer beyond ±2^53 is not one. Such an integer (a portal
//! may send one in an action's input) is written in full, exactly as received, rather than
//! rounded to the double JCS would print, so nothing the applicant sent is altered.

use serde::Serialize;
use serde_json::Value;

/// The canonical bytes of `value`.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let v = serde_json::to_value(value)?;
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, &v);
    Ok(out)
}

/// Appends the canonical form of `v` to `out`.
pub fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            // serde_json's map orders by UTF-8 bytes, which differs from UTF-16 code units
            // only for names mixing characters above U+FFFF with U+E000..U+FFFF.
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, k);
                out.push(b':');
                write_value(out, v);
            }
            out.push(b'}');
        }
    }
}

/// A string with JCS's escapes: `\"`, `\\`, `\b \f \n \r \t`, other controls as `\u00xx`;
/// everything else, non-ASCII included, as itself.
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn write_number(out: &mut Vec<u8>, n: &serde_json::Number) {
    if let Some(i) = n.as_i64() {
        out.extend_from_slice(i.to_string().as_bytes());
    } else if let Some(u) = n.as_u64() {
        out.extend_from_slice(u.to_string().as_bytes());
    } else if let Some(f) = n.as_f64() {
        out.extend_from_slice(ecmascript_number(f).as_bytes());
    }
}

/// ECMAScript's `Number.prototype.toString` for a finite double (ECMA-262 7.1.12.1): the
/// shortest digits that round-trip (Rust's `{:e}` gives them), placed by the exponent.
fn ecmascript_number(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let k = digits.len() as i32;
    // The decimal point sits after `n` digits: value = 0.digits × 10^n.
    let n = exp + 1;
    let sign = if f < 0.0 { "-" } else { "" };
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let esign = if e < 0 { "-" } else { "+" };
        let (first, rest) = digits.split_at(1);
        if rest.is_empty() {
            format!("{first}e{esign}{}", e.abs())
        } else {
            format!("{first}.{rest}e{esign}{}", e.abs())
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: Value) -> String {
        String::from_utf8(to_vec(&v).unwrap()).unwrap()
    }

    #[test]
    fn members_sort_by_utf16_code_units_and_nothing_is_padded() {
        // RFC 8785 §3.2.3's example of sorting: U+20AC sorts before U+1F600 in UTF-16, the
        // reverse of their UTF-8 order.
        let v = json!({"\u{1F600}": 1, "\u{20AC}": 2, "b": [true, null], "a": {"z": 1, "y": "x"}});
        assert_eq!(
            canon(v),
            "{\"a\":{\"y\":\"x\",\"z\":1},\"b\":[true,null],\"\u{20AC}\":2,\"\u{1F600}\":1}"
        );
    }

    #[test]
    fn strings_escape_only_what_jcs_escapes() {
        let v = json!("tab\t nl\n quote\" back\\ bell\u{7} del\u{7f} é / ✓");
        assert_eq!(
            canon(v),
            "\"tab\\t nl\\n quote\\\" back\\\\ bell\\u0007 del\u{7f} é / ✓\""
        );
    }

    #[test]
    fn numbers_are_written_as_ecmascript_writes_them() {
        // RFC 8785 Appendix B's samples.
        for (f, want) in [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (123456789012345680000.0, "123456789012345680000"),
            (4.35, "4.35"),
            (0.1 + 0.2, "0.30000000000000004"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ] {
            assert_eq!(ecmascript_number(f), want, "{f}");
        }
        assert_eq!(
            canon(json!([1, -7, 18446744073709551615u64])),
            "[1,-7,18446744073709551615]"
        );
    }

    #[test]
    fn canonical_bytes_are_a_fixed_point() {
        let v = json!({"input": {"dien_tich": 120.5, "ten": "Nguyễn Văn A"}, "to": ["a"]});
        let once = to_vec(&v).unwrap();
        let again: Value = serde_json::from_slice(&once).unwrap();
        assert_eq!(to_vec(&again).unwrap(), once);
    }
}
