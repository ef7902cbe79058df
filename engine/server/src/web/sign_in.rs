//! Signing in and out of the screens: the credential checked exactly as `Authorization:
//! Bearer` is, failures throttled per address and sign-ins per principal, a session opened
//! (bounded per principal, ended with its JWT), and the way back only to a path on this site.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::{Posted, error_page, page, page_with, session, start_of};
use crate::api::Shared;
use crate::problem::Problem;

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignIn<'a> {
    next: &'a str,
    error: Option<&'a str>,
    dev: bool,
}

#[derive(serde::Deserialize)]
pub(super) struct NextParam {
    next: Option<String>,
}

/// Only a path on this site is a place to come back to.
fn safe_next(next: Option<&str>) -> Option<&str> {
    // Browsers drop tabs and newlines from a Location, so `/\t/evil` would become `//evil`:
    // only the characters of our own paths and queries pass.
    next.filter(|n| {
        n.starts_with('/')
            && !n[1..].starts_with('/')
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_.~%?=&-+:".contains(&b))
    })
}

pub(super) async fn home(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let who = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(session::cookie_id)
        .and_then(|id| s.sessions.get(id));
    match who {
        Some(session) => Redirect::to(start_of(&session.who, session.desk)).into_response(),
        None => Redirect::to("/dang-nhap").into_response(),
    }
}

pub(super) async fn sign_in_page(
    State(s): State<Shared>,
    axum::extract::Query(q): axum::extract::Query<NextParam>,
) -> Response {
    page(&SignIn {
        next: safe_next(q.next.as_deref()).unwrap_or(""),
        error: None,
        dev: s.dev,
    })
}

/// The sign-in page again with `error` and `status` (and `Retry-After` on a 429).
fn sign_in_refused(
    s: &crate::api::State,
    next: &str,
    status: StatusCode,
    error: &str,
    wait: f64,
) -> Response {
    let mut res = page_with(
        status,
        &SignIn {
            next,
            error: Some(error),
            dev: s.dev,
        },
    );
    if status == StatusCode::TOO_MANY_REQUESTS
        && let Ok(v) = HeaderValue::from_str(&format!("{}", wait.ceil().max(1.0) as u64))
    {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// When a credential that expires at `exp` (seconds since the epoch, accepted up to `leeway`
/// seconds past it) stops being good; `None` for one that does not expire or expires later
/// than an `Instant` can say (the session's own lifetime ends it first).
fn ends_at(exp: Option<u64>, leeway: u64) -> Option<std::time::Instant> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let left = exp?.saturating_add(leeway).saturating_sub(now);
    std::time::Instant::now().checked_add(std::time::Duration::from_secs(left))
}

pub(super) async fn sign_in(
    State(s): State<Shared>,
    crate::api::status::Peer(peer): crate::api::status::Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const ROUTE: &str = "POST /dang-nhap";
    let form = match Posted::parse(&headers, &body, s.public_url.as_deref()) {
        Ok(f) => f,
        Err(p) => return error_page(&p),
    };
    let token = form.get("token").unwrap_or("").trim();
    let next = safe_next(form.get("next")).unwrap_or("");
    let address = peer.map_or_else(
        || "unknown".to_string(),
        |ip| crate::door::network_of(ip).to_string(),
    );
    let (who, expires) = match s.auth.verify_expiring(Some(&format!("Bearer {token}"))) {
        Ok(found) => found,
        Err(reason) => {
            if let Err(p) = s.failed(&address, ROUTE) {
                let wait = p
                    .extra
                    .get("retry_after_seconds")
                    .and_then(serde_json::Value::as_f64);
                return sign_in_refused(
                    &s,
                    next,
                    StatusCode::TOO_MANY_REQUESTS,
                    "Quá nhiều lần đăng nhập không thành công từ địa chỉ này; vui lòng thử lại sau.",
                    wait.unwrap_or(1.0),
                );
            }
            s.refused(None, ROUTE, StatusCode::UNAUTHORIZED, &reason);
            return page_with(
                StatusCode::UNAUTHORIZED,
                &SignIn {
                    next,
                    error: Some("Mã đăng nhập không đúng hoặc đã hết hạn."),
                    dev: s.dev,
                },
            );
        }
    };
    if let Err(wait) = s.sign_ins.take(&who.subject) {
        s.refused(
            Some(&who.subject),
            ROUTE,
            StatusCode::TOO_MANY_REQUESTS,
            "too many sign-ins of this principal",
        );
        return sign_in_refused(
            &s,
            next,
            StatusCode::TOO_MANY_REQUESTS,
            "Quá nhiều lần đăng nhập bằng mã này; vui lòng thử lại sau.",
            wait,
        );
    }
    let desk = who.is_officer()
        && s.engine
            .procedures()
            .iter()
            .any(|c| crate::access::receive_refusal(&who, &c.procedure).is_none());
    let (id, session) = match s
        .sessions
        .open(who, desk, ends_at(expires, s.auth.leeway_seconds()))
    {
        Ok(opened) => opened,
        Err(session::OpenError::Full) => {
            return sign_in_refused(
                &s,
                next,
                StatusCode::SERVICE_UNAVAILABLE,
                "Hệ thống đang có quá nhiều phiên làm việc; vui lòng thử lại sau.",
                0.0,
            );
        }
        Err(e) => return error_page(&Problem::internal(e.to_string())),
    };
    let to = if next.is_empty() {
        start_of(&session.who, session.desk)
    } else {
        next
    };
    let mut res = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(Some(&id), s.secure_cookies)) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

pub(super) async fn sign_out(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let id = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(session::cookie_id);
    // Only the session's own form signs it out: another site cannot end it.
    let mut res = Redirect::to("/dang-nhap").into_response();
    if let (Some(id), Ok(form)) = (id, Posted::parse(&headers, &body, s.public_url.as_deref()))
        && let Some(session) = s.sessions.get(id)
        && form
            .get("csrf")
            .is_some_and(|t| session::same_token(t, &session.csrf))
    {
        s.sessions.close(id);
        if let Ok(v) = HeaderValue::from_str(&session::set_cookie(None, s.secure_cookies)) {
            res.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/ho-so/X")), Some("/ho-so/X"));
        assert_eq!(safe_next(Some("//evil.example/")), None);
        assert_eq!(safe_next(Some("https://evil.example/")), None);
        assert_eq!(safe_next(Some("/\\evil")), None);
        assert_eq!(safe_next(Some("/\t/evil.example")), None);
        assert_eq!(safe_next(Some("/\n/evil.example")), None);
        assert_eq!(
            safe_next(Some("/viec-cua-toi?phong=ha-tang&sau=abc%3D")),
            Some("/viec-cua-toi?phong=ha-tang&sau=abc%3D")
        );
    }
}
