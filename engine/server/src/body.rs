//! Reading request bodies and query strings strictly: a size limit, a nesting limit checked
//! before parsing, unknown fields refused by name, and every rejection a problem document
//! naming the field (never axum's plain-text rejections).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// The largest request body accepted (a dossier's form data and its inputs).
pub const MAX_BODY: usize = 1 << 20;
/// The deepest nesting of arrays and objects accepted in a JSON body.
pub const MAX_DEPTH: usize = 32;

/// A JSON body of type `T`, read under the limits.
pub struct Json<T>(pub T);

/// Checks the nesting depth without parsing: serde_json's own limit is 128 and recursion
/// below it still costs stack per level.
pub fn depth_ok(bytes: &[u8]) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// The request's media type without parameters, lower-cased.
pub fn media_type(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

/// The value of a wire enum named `name`, by its serde spelling: the one place a query's
/// or form's word becomes the enum, so a screen and the API cannot spell it two ways.
/// The start of local day `text` (YYYY-MM-DD, Asia/Ho_Chi_Minh), or of the day after it
/// (`next`, for an inclusive end), as an instant; the query parameter `name` in a refusal.
pub fn local_day_start(name: &str, text: &str, next: bool) -> Result<jiff::Timestamp, Problem> {
    let bad = |e: String| {
        Problem::bad_request("invalid_request", format!("{name} '{text}': {e}"))
            .with("field", serde_json::Value::String(name.into()))
    };
    let day: jiff::civil::Date = text.parse().map_err(|e: jiff::Error| bad(e.to_string()))?;
    let day = if next {
        day.tomorrow().map_err(|e| bad(e.to_string()))?
    } else {
        day
    };
    day.to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(7)))
        .map(|z| z.timestamp())
        .map_err(|e| bad(e.to_string()))
}

pub fn by_name<T: DeserializeOwned>(name: &str) -> Option<T> {
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(name)).ok()
}

/// Parses `bytes` as `T`, naming the offending field on failure.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    if bytes.len() > MAX_BODY {
        return Err(too_large());
    }
    if !depth_ok(bytes) {
        return Err(Problem::bad_request(
            "invalid_request",
            format!("the JSON body is nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = if path == "." { String::new() } else { path };
        let kind = if inner.is_syntax() || inner.is_eof() {
            "malformed JSON"
        } else {
            "wrong JSON"
        };
        let mut p = Problem::bad_request("invalid_request", format!("{kind}: {inner}"));
        if !field.is_empty() {
            p = p.with("field", serde_json::Value::String(field));
        }
        p
    })?;
    de.end()
        .map_err(|e| Problem::bad_request("invalid_request", format!("malformed JSON: {e}")))?;
    Ok(value)
}

pub(crate) fn too_large() -> Problem {
    Problem::said(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the request body is over {MAX_BODY} bytes"),
    )
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let json = media_type(req.headers())
            .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
        if !json {
            return Err(Problem::said(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                _ => Problem::bad_request("invalid_request", format!("cannot read the body: {e}")),
            })?;
        parse(&bytes).map(Json)
    }
}

/// A query string of type `T` (unknown parameters refused by `T`'s serde attributes).
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(Params)
            .map_err(|e| Problem::bad_request("invalid_request", format!("query string: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::audit::ReportBy;
    use crate::api::dossiers::ChannelName;

    #[test]
    fn a_wire_enum_is_found_by_its_serde_name_only() {
        assert!(matches!(
            by_name::<ChannelName>("post"),
            Some(ChannelName::Post)
        ));
        assert!(matches!(
            by_name::<ReportBy>("channel"),
            Some(ReportBy::Channel)
        ));
        assert!(by_name::<ChannelName>("Post").is_none());
        assert!(by_name::<ReportBy>("").is_none());
    }
}
