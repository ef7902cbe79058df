//! Every error the API answers is an RFC 9457 problem document (`application/problem+json`)
//! carrying the engine's stable code, so portals switch on `code`, never on the message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use motcua::messages::requests as say;
use serde_json::{Map, Value, json};

/// A refusal or failure, as the client sees it.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    /// The stable code (`conflict`, `forbidden`, `invalid_input`, ...).
    pub code: String,
    pub detail: String,
    /// Members added to the document (`errors`, `current_version`, ...).
    pub extra: Map<String, Value>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            code: code.to_string(),
            detail: detail.into(),
            extra: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: Value) -> Problem {
        self.extra.insert(key.to_string(), value);
        self
    }

    /// A refusal with `status` and `code` worded by the catalogue, the technical `cause`
    /// beside it.
    pub fn said(status: StatusCode, code: &str, cause: impl Into<String>) -> Problem {
        Problem::new(status, code, say::bad_request(code))
            .with("cause", Value::String(cause.into()))
    }

    /// A request the server cannot take as sent: the detail is the catalogue's sentence for
    /// `code`; `cause` (the precise technical reason, for integrators) travels beside it.
    pub fn bad_request(code: &str, cause: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, code, say::bad_request(code))
            .with("cause", Value::String(cause.into()))
    }

    pub fn unauthorized(reason: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            say::unauthorized(),
        )
        .with("reason", Value::String(reason.into()))
    }

    pub fn forbidden(reason: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", say::forbidden())
            .with("reason", Value::String(reason.into()))
    }

    /// 404 with the catalogue's sentence (`say::dossier_not_found`, …).
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 429 with the seconds to wait (also sent as `Retry-After`).
    pub fn too_many(wait_seconds: f64) -> Problem {
        Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            say::too_many(wait_seconds),
        )
        .with("retry_after_seconds", json!(wait_seconds.ceil().max(1.0)))
    }

    /// A fault of the server: the person reads the catalogue's sentence, the log and
    /// integrators the cause.
    pub fn internal(cause: impl Into<String>) -> Problem {
        let cause = cause.into();
        tracing::error!(%cause, "answered 500");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            say::internal(),
        )
        .with("cause", Value::String(cause))
    }

    /// The document's body.
    pub fn body(&self) -> Value {
        let mut doc = json!({
            "type": format!("urn:motcua:problem:{}", self.code),
            "title": title(self.status),
            "status": self.status.as_u16(),
            "code": self.code,
            "detail": self.detail,
        });
        if let Value::Object(m) = &mut doc {
            for (k, v) in &self.extra {
                m.insert(k.clone(), v.clone());
            }
        }
        doc
    }
}

fn title(status: StatusCode) -> &'static str {
    say::title(status.as_u16())
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut res = (self.status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(wait) = self
            .extra
            .get("retry_after_seconds")
            .and_then(Value::as_f64)
            && let Ok(v) = HeaderValue::from_str(&format!("{}", wait.ceil().max(1.0) as u64))
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

/// The HTTP status of each engine code. Refusals of the request are 4xx; only faults of the
/// server or its storage are 5xx, and `not_written` says a retry is safe.
pub fn status_of(code: motcua::Code) -> StatusCode {
    use motcua::Code as C;
    // Exhaustive: a new engine code is a compile error here, never a silent 500.
    match code {
        C::NotFound | C::UnknownProcedure | C::UnknownFeedback => StatusCode::NOT_FOUND,
        C::Conflict | C::AlreadyRated | C::FeedbackAnswered => StatusCode::CONFLICT,
        C::Forbidden => StatusCode::FORBIDDEN,
        C::BadCursor | C::InvalidRequest => StatusCode::BAD_REQUEST,
        C::IdempotencyMismatch
        | C::InvalidForm
        | C::UnknownDocument
        | C::InvalidInput
        | C::GuardRefused
        | C::GuardError
        | C::UnknownAction
        | C::ActionNotAvailable
        | C::ValidationFailed
        | C::NotEffective
        | C::ExtensionTooLate
        | C::ApologyTooEarly
        | C::ExtensionCapped
        | C::AlreadyResolved
        | C::NotRatable
        | C::FeedbackLimit
        | C::Closed
        | C::Deadline
        | C::InvalidProcedure => StatusCode::UNPROCESSABLE_ENTITY,
        C::FileTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        C::UnsupportedFile => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        C::UnknownFile | C::PapersRequired => StatusCode::UNPROCESSABLE_ENTITY,
        C::NotWritten | C::SequenceExhausted => StatusCode::SERVICE_UNAVAILABLE,
        C::OutcomeUnknown
        | C::StoreCorrupt
        | C::StoreUnusable
        | C::Storage
        | C::ProcedureDefect
        | C::PinnedVersionMissing
        | C::PluginsNotBuilt
        | C::PluginFailed
        | C::AutomaticLoop
        | C::Io => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<motcua::Error> for Problem {
    fn from(e: motcua::Error) -> Problem {
        Problem::of(e, &motcua::messages::errors::NoNames)
    }
}

impl Problem {
    /// An engine error with its `detail` worded by the message catalogue, naming the steps,
    /// roles and departments of `names` (the dossier's procedure) by their labels.
    pub fn of(e: motcua::Error, names: &dyn motcua::messages::errors::Names) -> Problem {
        use motcua::dossier::transition::Error as T;
        use motcua::store::Error as S;
        let code = e.code();
        let detail = motcua::messages::errors::error(&e, names);
        let mut p = Problem::new(status_of(code), code.as_str(), detail);
        match &e {
            motcua::Error::Refused(T::Conflict { current, .. })
            | motcua::Error::Store(S::VersionMoved { current, .. }) => {
                p = p.with("current_version", json!(current));
            }
            // Which of the action's inputs, so a screen puts the sentence under its box.
            motcua::Error::Refused(
                T::MissingInput { input, .. }
                | T::BadInput { input, .. }
                | T::UnknownInput { input, .. },
            ) => p = p.with("input", json!(input)),
            motcua::Error::Refused(T::InvalidForm(errors)) => {
                p = p.with(
                    "errors",
                    serde_json::to_value(errors).unwrap_or(Value::Null),
                );
            }
            motcua::Error::PluginRefused { errors, .. } => {
                p = p.with(
                    "errors",
                    serde_json::to_value(errors).unwrap_or(Value::Null),
                );
            }
            motcua::Error::Catalog(motcua::catalog::Error::Invalid { diagnostics, .. }) => {
                let errors: Vec<Value> = diagnostics
                    .iter()
                    .map(|d| {
                        json!({
                            "code": d.code.to_string(),
                            "severity": d.severity,
                            "line": d.line,
                            "col": d.col,
                            "message": d.message,
                            "hint": d.hint,
                            // The same problem in Vietnamese, for the people the author's
                            // tools show it to; `message` stays English for integrators.
                            "detail": motcua::messages::diagnostics::sentence(d),
                        })
                    })
                    .collect();
                p = p.with("errors", Value::Array(errors));
            }
            _ => {}
        }
        p
    }
}

/// An error answer axum made itself (a path that does not decode, a body over the limit
/// read by a plain extractor) as plain text, turned into a problem document like every other.
pub async fn from_plain(res: Response) -> Response {
    let status = res.status();
    let typed = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("application/problem+json")
                || v.starts_with("application/json")
                || v.starts_with("text/html")
        });
    if !(status.is_client_error() || status.is_server_error()) || typed {
        return res;
    }
    let text = axum::body::to_bytes(res.into_body(), 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_client_error() => "invalid_request",
        _ => "internal",
    };
    let detail = match status {
        StatusCode::NOT_FOUND => say::no_route(),
        s if s.is_client_error() => say::bad_request(code),
        _ => say::internal(),
    };
    let mut p = Problem::new(status, code, detail);
    if !text.trim().is_empty() {
        p = p.with("cause", Value::String(text));
    }
    p.into_response()
}
