//! The web screens: server-rendered HTML (askama templates, checked at compile time) over the
//! same access rules and engine calls as the API, so a screen can show or do nothing the
//! caller's credential could not through `/v1`. Core flows are plain links and forms; the
//! vendored htmx (embedded, no CDN) only refreshes the officer's inbox.
//!
//! - `session`: the sign-in cookie and the CSRF token; `fmt`: Vietnamese dates and amounts;
//!   `fields`: forms generated from JSON Schema and action inputs;
//! - `desk` (tiếp nhận), `work` (the officer's and the leader's lists), `dossier` (one
//!   dossier and its actions), `inspect` (audit and reports), `author` (procedures),
//!   `citizen` (public status), `forms` (printed forms 01–06), with `chart`, `diagram` and
//!   `qr` drawing SVG on the server.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::api::{Caller, Shared};
use crate::auth::{ADMIN, AUDITOR, Principal};
use crate::problem::Problem;

mod author;
mod chart;
mod citizen;
mod desk;
mod diagram;
mod dossier;
pub mod fields;
pub mod fmt;
mod forms;
mod inspect;
mod labels;
mod qr;
pub mod session;
mod work;

const HTMX: &[u8] = include_bytes!("../../assets/htmx.min.js");
const CSS: &str = include_str!("../../assets/motcua.css");

/// The screens' routes (merged with the API's).
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(home))
        .route("/dang-nhap", get(sign_in_page).post(sign_in))
        .route("/dang-xuat", axum::routing::post(sign_out))
        .route("/static/htmx.min.js", get(htmx))
        .route("/static/motcua.css", get(css))
        .merge(desk::routes())
        .merge(work::routes())
        .merge(dossier::routes())
        .merge(inspect::routes())
        .merge(author::routes())
        .merge(citizen::routes())
        .merge(forms::routes())
}

/// The menu of a signed-in page.
pub struct Nav {
    pub subject: String,
    pub csrf: String,
    pub links: Vec<(&'static str, &'static str)>,
    pub current: &'static str,
}

impl Nav {
    pub fn is_current(&self, href: &str) -> bool {
        self.current == href
    }
    pub fn for_(who: &Principal, desk: bool, csrf: &str, current: &'static str) -> Nav {
        Nav {
            subject: who.subject.clone(),
            csrf: csrf.to_string(),
            links: menu(who, desk),
            current,
        }
    }
}

/// The screens a principal has, in the order of their day's work (`desk`: they may receive
/// some procedure's dossiers).
fn menu(who: &Principal, desk: bool) -> Vec<(&'static str, &'static str)> {
    let mut links = vec![];
    if who.is_officer() {
        if desk {
            links.push(("/tiep-nhan", "Tiếp nhận"));
        }
        links.push(("/viec-cua-toi", "Việc của tôi"));
        links.push(("/lanh-dao", "Theo dõi tiến độ"));
        links.push(("/bao-cao", "Báo cáo"));
    }
    if who.has(AUDITOR) {
        links.push(("/kiem-tra", "Nhật ký kiểm tra"));
        if !who.is_officer() {
            links.push(("/bao-cao", "Báo cáo"));
        }
    }
    if who.has(ADMIN) {
        links.push(("/thu-tuc", "Thủ tục"));
    }
    links.push(("/tra-cuu", "Tra cứu hồ sơ"));
    links
}

/// Where a principal's day starts.
fn start_of(who: &Principal, desk: bool) -> &'static str {
    menu(who, desk).first().map_or("/tra-cuu", |(href, _)| href)
}

/// A signed-in viewer of a screen: the API's caller (identity and route, for the refusal
/// log) and the session's CSRF token.
pub struct Viewer {
    pub caller: Caller,
    pub csrf: String,
    /// They may receive some procedure's dossiers (the desk's screens are theirs).
    pub desk: bool,
}

impl Viewer {
    pub fn who(&self) -> &Principal {
        &self.caller.who
    }
    /// The form this viewer posted, with its CSRF token checked.
    pub fn posted(
        &self,
        s: &crate::api::State,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Posted, Problem> {
        let posted = Posted::parse(headers, body, s.public_url.as_deref())?;
        posted.check_csrf(self, s)?;
        Ok(posted)
    }

    pub fn nav(&self, current: &'static str) -> Nav {
        Nav::for_(self.who(), self.desk, &self.csrf, current)
    }
}

impl FromRequestParts<Shared> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &Shared) -> Result<Viewer, Response> {
        let route = format!("{} {}", parts.method, parts.uri.path());
        let session = parts
            .headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(session::cookie_id)
            .and_then(|id| s.sessions.get(id));
        let Some(session) = session else {
            // A page asked without a session goes to sign-in and comes back.
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let to = format!("/dang-nhap?next={}", urlencode(next));
            return Err(Redirect::to(&to).into_response());
        };
        if s.limit.take(&session.who.subject).is_err() {
            s.metrics
                .rate_limited
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err(error_page(&Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Quá nhiều yêu cầu; vui lòng thử lại sau giây lát.",
            )));
        }
        Ok(Viewer {
            caller: Caller {
                who: session.who,
                route,
            },
            csrf: session.csrf,
            desk: session.desk,
        })
    }
}

/// A posted HTML form (`application/x-www-form-urlencoded`), as name and value pairs in
/// order (checkboxes repeat their name).
pub struct Posted(pub Vec<(String, String)>);

impl Posted {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Reads a form body. Refuses another media type, a body over the API's limit and a
    /// request from another site (its `Origin` or, failing that, `Referer` names another
    /// host): with SameSite=Strict cookies and the session's CSRF token, a third check.
    pub fn parse(
        headers: &HeaderMap,
        body: &Bytes,
        public_url: Option<&str>,
    ) -> Result<Posted, Problem> {
        if crate::body::media_type(headers).as_deref() != Some("application/x-www-form-urlencoded")
        {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "gửi biểu mẫu dạng application/x-www-form-urlencoded",
            ));
        }
        if body.len() > crate::body::MAX_BODY {
            return Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "biểu mẫu quá lớn",
            ));
        }
        let origin = headers
            .get(header::ORIGIN)
            .or_else(|| headers.get(header::REFERER))
            .and_then(|v| v.to_str().ok());
        // A client that names no origin is not a browser carrying someone's cookie; `null`
        // (a page that hides its referrer, a sandboxed frame) is another site.
        if let Some(origin) = origin
            && !same_site(origin, headers, public_url)
        {
            return Err(Problem::forbidden(format!(
                "biểu mẫu gửi từ trang khác ({origin})"
            )));
        }
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .map(Posted)
            .map_err(|e| Problem::bad_request("invalid_request", format!("biểu mẫu hỏng: {e}")))
    }

    /// The form's CSRF token must be the session's.
    pub fn check_csrf(&self, viewer: &Viewer, s: &crate::api::State) -> Result<(), Problem> {
        match self.get("csrf") {
            Some(t) if session::same_token(t, &viewer.csrf) => Ok(()),
            _ => Err(viewer.caller.forbid(
                s,
                "the form's CSRF token is missing or not this session's".into(),
            )),
        }
    }
}

/// Whether `origin` is this server, scheme included: `http://` or `https://` (a TLS proxy may
/// stand in front) and the `Host` the request came to, or exactly `--public-url`'s scheme and
/// host (behind a proxy that rewrites `Host`). Any other scheme is another site.
fn same_site(origin: &str, headers: &HeaderMap, public_url: Option<&str>) -> bool {
    let Some(from) = authority_of(origin) else {
        return false;
    };
    let scheme = origin
        .split_once("://")
        .map(|(s, _)| s.to_ascii_lowercase());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let direct = matches!(scheme.as_deref(), Some("http" | "https")) && host == Some(from);
    let proxied = public_url.is_some_and(|u| {
        authority_of(u) == Some(from)
            && u.split_once("://")
                .is_some_and(|(s, _)| Some(s.to_ascii_lowercase()) == scheme)
    });
    direct || proxied
}

/// `host:port` of an absolute URL.
fn authority_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|q| q.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

/// Renders a template as a page.
pub fn page(t: &impl Template) -> Response {
    page_with(StatusCode::OK, t)
}

pub fn page_with(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => {
            let mut res = (status, html).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            // Pages carry personal data: never cached, never framed.
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res.headers_mut()
                .insert("x-frame-options", HeaderValue::from_static("DENY"));
            res.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
                ),
            );
            res
        }
        Err(e) => Problem::internal(format!("rendering the page: {e}")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    detail: &'a str,
    code: &'a str,
}

/// A refusal or failure as a page, with the same status and code the API would answer.
pub fn error_page(p: &Problem) -> Response {
    let title = match p.status.as_u16() {
        400 => "Yêu cầu không hợp lệ",
        403 => "Không có quyền",
        404 => "Không tìm thấy",
        409 => "Hồ sơ đã thay đổi",
        413 => "Quá lớn",
        415 => "Sai định dạng",
        422 => "Dữ liệu chưa hợp lệ",
        429 => "Quá nhiều yêu cầu",
        _ => "Lỗi hệ thống",
    };
    page_with(
        p.status,
        &ErrorPage {
            status: p.status.as_u16(),
            title,
            detail: &p.detail,
            code: &p.code,
        },
    )
}

/// What a screen's handler returns: a page, or a problem drawn as a page.
pub struct Html(pub Response);

impl IntoResponse for Html {
    fn into_response(self) -> Response {
        self.0
    }
}

/// A screen's refusal, drawn as a page (boxed: a response is large, and it is the rare path).
pub struct Refused(Box<Response>);

impl Refused {
    pub fn page(res: Response) -> Refused {
        Refused(Box::new(res))
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Problem> for Refused {
    fn from(p: Problem) -> Refused {
        Refused::page(error_page(&p))
    }
}

pub type Screen = Result<Html, Refused>;

pub fn see_other(to: &str) -> Screen {
    Ok(Html(Redirect::to(to).into_response()))
}

async fn htmx() -> Response {
    static_asset(HTMX, "text/javascript; charset=utf-8")
}

async fn css() -> Response {
    static_asset(CSS.as_bytes(), "text/css; charset=utf-8")
}

fn static_asset(bytes: &'static [u8], kind: &'static str) -> Response {
    let mut res = bytes.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignIn<'a> {
    next: &'a str,
    error: Option<&'a str>,
    dev: bool,
}

#[derive(serde::Deserialize)]
struct NextParam {
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

async fn home(State(s): State<Shared>, headers: HeaderMap) -> Response {
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

async fn sign_in_page(
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

async fn sign_in(
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

async fn sign_out(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
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
        assert_eq!(
            authority_of("http://127.0.0.1:8080/x?y"),
            Some("127.0.0.1:8080")
        );
    }
}
