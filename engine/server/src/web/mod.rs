//! The web screens: server-rendered HTML (askama templates, checked at compile time) over the
//! same access rules and engine calls as the API, so a screen can show or do nothing the
//! caller's credential could not through `/v1`. Core flows are plain links and forms; the
//! vendored htmx (embedded, no CDN) only refreshes the officer's inbox.
//!
//! - `session`: the sign-in cookie and the CSRF token (the words and formats are the
//!   library's message catalogue, `motcua::messages`, used here as `fmt` and `labels`);
//!   `fields`: forms generated from JSON Schema and action inputs;
//! - `desk` (tiếp nhận), `work` (the officer's and the leader's lists), `dossier` (one
//!   dossier and its actions), `inspect` (audit and reports), `author` (procedures),
//!   `citizen` (public status), `forms` (printed forms 01–06), with `chart`, `diagram` and
//!   `qr` drawing SVG on the server.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::FromRequestParts;
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
pub(crate) mod citizen_papers;
mod citizen_voice;
mod contact;
mod desk;
pub(crate) mod desk_papers;
mod diagram;
mod dossier;
mod feedback;
pub mod fields;
mod forecast;
mod forecast_chart;
pub use motcua::messages::format as fmt;
mod forms;
mod inspect;
mod notices;
use motcua::messages::labels;
pub(crate) mod papers;
mod qr;
mod search;
pub mod session;
mod sign_in;
mod tracking_book;
mod work;

const HTMX: &[u8] = include_bytes!("../../assets/htmx.min.js");
const CSS: &str = include_str!("../../assets/motcua.css");

/// The screens' routes (merged with the API's).
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(sign_in::home))
        .route(
            "/dang-nhap",
            get(sign_in::sign_in_page).post(sign_in::sign_in),
        )
        .route("/dang-xuat", axum::routing::post(sign_in::sign_out))
        .route("/static/htmx.min.js", get(htmx))
        .route("/static/motcua.css", get(css))
        .merge(desk::routes())
        .merge(work::routes())
        .merge(search::routes())
        .merge(dossier::routes())
        .merge(inspect::routes())
        .merge(author::routes())
        .merge(forecast::routes())
        .merge(notices::routes())
        .merge(citizen::routes())
        .merge(forms::routes())
        .merge(tracking_book::routes())
        .merge(papers::routes())
        .merge(citizen_papers::routes())
        .merge(citizen_voice::routes())
}

/// How a person the audit log names by id reads on a screen or a printed form: their full
/// name from the credentials, else the id (a citizen, the system, an officer the server's
/// credentials do not name).
pub fn person(s: &crate::api::State, id: &str) -> String {
    if id == motcua::dossier::Actor::SYSTEM_ID {
        return motcua::messages::columns::SYSTEM.into();
    }
    s.auth
        .name_of(id)
        .map_or_else(|| id.to_string(), String::from)
}

/// The menu of a signed-in page.
pub struct Nav {
    /// The signed-in person's name (the login id when the credential names no one).
    pub subject: String,
    /// Their login id (what the audit log records).
    pub login: String,
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
            subject: who.name.clone().unwrap_or_else(|| who.subject.clone()),
            login: who.subject.clone(),
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
        links.push(("/tim-kiem", "Tìm hồ sơ"));
        links.push(("/lanh-dao", "Theo dõi tiến độ"));
        links.push(("/bao-cao", "Báo cáo"));
    }
    if who.has(AUDITOR) {
        links.push(("/kiem-tra", "Nhật ký kiểm tra"));
        if !who.is_officer() {
            links.push(("/tim-kiem", "Tìm hồ sơ"));
        }
        if !who.is_officer() {
            links.push(("/bao-cao", "Báo cáo"));
        }
    }
    if who.has(ADMIN) {
        links.push(("/thu-tuc", "Thủ tục"));
        links.push(("/thong-bao", "Thông báo công dân"));
    }
    links.push(("/tra-cuu", "Tra cứu hồ sơ"));
    links
}

/// Where a principal's day starts.
pub(crate) fn start_of(who: &Principal, desk: bool) -> &'static str {
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
        same_origin(headers, public_url)?;
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

/// Refuses a form posted from another site (its `Origin` or, failing that, `Referer`).
pub(crate) fn same_origin(headers: &HeaderMap, public_url: Option<&str>) -> Result<(), Problem> {
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
    Ok(())
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
    let title = motcua::messages::requests::title(p.status.as_u16());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_of_an_absolute_url_is_its_host_and_port() {
        assert_eq!(
            authority_of("http://127.0.0.1:8080/x?y"),
            Some("127.0.0.1:8080")
        );
    }
}
