//! The applicant's contact over HTTP: the desk records a new phone number, e-mail address or
//! consent to notices ([`motcua::dossier::transition::contact`] decides who may: the
//! procedure's desk roles). Each change is a version of the dossier with its audit entry.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use motcua::dossier::NoticeChannel;
use motcua::dossier::transition::ContactRequest;
use serde::Deserialize;
use utoipa::ToSchema;

use super::dossiers::{etag, if_match, readable, view};
use super::views::DossierView;
use super::{Caller, Shared, blocking, json};
use crate::access;
use crate::body::Json;
use crate::problem::Problem;

/// A channel an applicant agrees to be told by.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NoticeBy {
    /// By e-mail, to `email`.
    Email,
    /// By text message (SMS, Zalo), to `phone`.
    Sms,
}

impl From<NoticeBy> for NoticeChannel {
    fn from(c: NoticeBy) -> NoticeChannel {
        match c {
            NoticeBy::Email => NoticeChannel::Email,
            NoticeBy::Sms => NoticeChannel::Sms,
        }
    }
}

/// The channels of a body, as the engine names them.
pub fn channels(by: Vec<NoticeBy>) -> Vec<NoticeChannel> {
    by.into_iter().map(NoticeChannel::from).collect()
}

/// How the applicant is reached from now on: the whole contact, as it should stand.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "0905 123 456", "email": "an.nguyen@example.vn", "notify_by": ["email", "sms"], "comment": "Công dân đổi số điện thoại tại quầy"}))]
pub struct ContactBody {
    #[serde(default)]
    #[schema(max_length = 32, pattern = r"^[0-9 .+()-]*$")]
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// The channels the applicant agrees to be told by; each needs its address.
    #[serde(default)]
    #[schema(max_items = 2)]
    pub notify_by: Vec<NoticeBy>,
    #[serde(default)]
    #[schema(max_length = 16384)]
    pub comment: Option<String>,
}

#[utoipa::path(post, path = "/v1/dossiers/{code}/contact", operation_id = "change_contact", tag = "dossiers",
    params(("code" = String, Path, description = "The dossier code"),
        ("If-Match" = String, Header, description = "The version (ETag) the change was decided on",
            pattern = r#"^(W/)?"[0-9]{1,18}"$"#)),
    request_body = ContactBody,
    responses((status = 200, body = DossierView),
        (status = 403, description = "Not a desk role of the procedure (its `on_behalf` roles)"),
        (status = 404, description = "No such dossier"),
        (status = 409, description = "Stale version: current_version names the current one"),
        (status = 400, description = "A bad phone or e-mail address, or a consent without its address (`invalid_request`, naming the field)"),
        (status = 422, description = "Nothing changed: the contact is already so"),
        (status = 428, description = "If-Match missing")),
    security(("bearer" = [])))]
pub async fn change(
    State(s): State<Shared>,
    caller: Caller,
    Path(code): Path<String>,
    headers: HeaderMap,
    Json(body): Json<ContactBody>,
) -> Result<Response, Problem> {
    let seen = if_match(&headers)?;
    let state = s.clone();
    let v = blocking(move || change_blocking(&state, &caller, &code, seen, body)).await??;
    let mut res = json(StatusCode::OK, &v);
    res.headers_mut().insert(header::ETAG, etag(v.version));
    Ok(res)
}

pub(crate) fn change_blocking(
    s: &super::State,
    caller: &Caller,
    code: &str,
    seen: u64,
    body: ContactBody,
) -> Result<DossierView, Problem> {
    let (d, p) = readable(s, caller, code)?;
    let actor = access::actor_for(&caller.who, &d).map_err(|reason| caller.forbid(s, reason))?;
    if !caller.who.is_officer() {
        return Err(caller.forbid(
            s,
            format!(
                "{} is not an officer: the desk records a change of contact",
                caller.who.subject
            ),
        ));
    }
    let blank = |v: Option<String>| v.filter(|x| !x.trim().is_empty());
    let req = ContactRequest {
        dossier: d.code.clone(),
        phone: blank(body.phone),
        email: blank(body.email).map(|e| e.trim().to_string()),
        notify_by: channels(body.notify_by),
        actor,
        comment: blank(body.comment),
        seen_version: seen,
    };
    let next = s
        .engine
        .change_contact(req)
        .map_err(|e| caller.engine_error(s, e, &p.procedure))?;
    s.committed();
    Ok(view(s, caller, &next, &p))
}
