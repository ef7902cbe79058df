//! The applicant's contact on the dossier page: phone, e-mail and what they agreed to be told
//! by, with the desk's form to change them (the API's `POST /v1/dossiers/{code}/contact`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use motcua::dossier::{Dossier, NoticeChannel};
use motcua::procedure::Procedure;

use super::dossier::settle;
use super::{Screen, Viewer};
use crate::api::Shared;
use crate::api::contact::NoticeBy;
use crate::problem::Problem;

/// What the page shows of the contact, and whether the viewer may change it.
pub struct Card {
    pub phone: String,
    pub email: String,
    pub consent: &'static str,
    pub by_email: bool,
    pub by_sms: bool,
    /// The viewer holds a desk role of the procedure (its `on_behalf` roles).
    pub editable: bool,
}

pub fn card(v: &Viewer, p: &Procedure, d: &Dossier) -> Card {
    let a = &d.applicant;
    let desk = p.on_behalf_roles();
    Card {
        phone: a.phone.clone().unwrap_or_default(),
        email: a.email.clone().unwrap_or_default(),
        consent: motcua::messages::labels::notice_consent(&a.notify_by),
        by_email: a.notify_by.contains(&NoticeChannel::Email),
        by_sms: a.notify_by.contains(&NoticeChannel::Sms),
        editable: v.who().is_officer() && desk.iter().any(|r| v.who().roles.iter().any(|h| h == r)),
    }
}

pub async fn change(
    State(s): State<Shared>,
    v: Viewer,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Screen {
    let posted = v.posted(&s, &headers, &body)?;
    let seen: u64 = posted
        .get("version")
        .and_then(|x| x.parse().ok())
        .ok_or_else(|| Problem::bad_request("invalid_request", "biểu mẫu thiếu phiên bản hồ sơ"))?;
    let text = |name: &str| {
        posted
            .get(name)
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(String::from)
    };
    let body = crate::api::contact::ContactBody {
        phone: text("phone"),
        email: text("email"),
        notify_by: [
            (posted.get("notify_email").is_some(), NoticeBy::Email),
            (posted.get("notify_sms").is_some(), NoticeBy::Sms),
        ]
        .into_iter()
        .filter_map(|(on, c)| on.then_some(c))
        .collect(),
        comment: text("comment"),
    };
    let to = format!("/ho-so/{code}#lien-he");
    settle(&s, v, code, to, move |state, caller, code| {
        crate::api::contact::change_blocking(state, caller, code, seen, body).map(|_| ())
    })
    .await
}
