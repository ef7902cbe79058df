//! A dossier's papers on its page: each kind with its current version and the earlier ones,
//! downloaded under the dossier's own read check, and the form to attach a scan, offered for
//! the kinds the engine lets this viewer attach now ([`transition::attachable`]). The file
//! streams from the browser's multipart body to the store, never held whole.

use axum::Router;
use axum::extract::{Multipart, Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use motcua::dossier::paper;
use motcua::dossier::transition::{self, AttachRequest};
use motcua::dossier::{Dossier, paper::Paper};

use super::{Screen, Viewer, fmt, see_other};
use crate::access;
use crate::api::dossiers::readable;
use crate::api::{Shared, blocking};
use crate::problem::Problem;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/ho-so/{code}/giay-to",
            post(attach).layer(axum::extract::DefaultBodyLimit::max(UPLOAD_BODY)),
        )
        .route("/ho-so/{code}/giay-to/{sha256}", get(download))
}

/// A multipart body may carry one paper of at most `MAX_FILE` and its few form fields.
pub const UPLOAD_BODY: usize = crate::api::papers::MAX_FILE as usize + (1 << 20);

/// Whether a request is a paper's upload from the screens (the door leaves its body to the
/// handler, which streams it).
pub fn is_upload(method: &axum::http::Method, path: &str) -> bool {
    method == axum::http::Method::POST
        && path
            .strip_prefix("/ho-so/")
            .and_then(|rest| rest.strip_suffix("/giay-to"))
            .is_some_and(|code| !code.is_empty() && !code.contains('/'))
}

/// One version of one paper, as the page lists it.
pub struct PaperLine {
    pub kind: String,
    pub name: String,
    pub href: String,
    pub size: String,
    pub media: &'static str,
    pub by: String,
    pub at: String,
    pub version: u32,
    pub current: bool,
    /// How the page shows it: `pdf`, `image`, or empty (download only).
    pub preview: &'static str,
    /// "3 trang", "Có giá trị đến hết ngày 31/05/2027", "dùng lại từ hồ sơ …", as known.
    pub notes: Vec<String>,
}

/// The papers card of a dossier page.
pub struct Section {
    pub lines: Vec<PaperLine>,
    /// The kinds this viewer may attach now: (id, name).
    pub attachable: Vec<(String, String)>,
}

/// What else the page says of a paper: its pages, a result's validity, where it was reused
/// from.
pub fn notes(x: &Paper) -> Vec<String> {
    let mut out = vec![];
    if let Some(n) = x.pages {
        out.push(format!("{n} trang"));
    }
    if let Some(until) = x.valid_until {
        out.push(format!("có giá trị đến hết ngày {}", fmt::date(until)));
    }
    if let Some(from) = &x.from {
        out.push(format!("dùng lại từ hồ sơ {from}"));
    }
    out
}

/// The card for `d` as `v` sees it.
pub fn section(
    s: &crate::api::State,
    v: &Viewer,
    p: &motcua::catalog::Compiled,
    d: &Dossier,
) -> Section {
    let current = paper::current(&d.papers);
    let line = |x: &Paper| PaperLine {
        kind: p
            .procedure
            .paper_kind(&x.kind)
            .unwrap_or(&x.kind)
            .to_string(),
        name: x.name.clone(),
        href: format!("/ho-so/{}/giay-to/{}", d.code, x.sha256),
        size: fmt::file_size(x.size),
        media: super::labels::media_type(&x.media_type),
        by: super::person(s, &x.by),
        at: fmt::when(x.at),
        version: x.version,
        current: current.iter().any(|c| std::ptr::eq(*c, x)),
        notes: notes(x),
        preview: match x.media_type.as_str() {
            "application/pdf" => "pdf",
            t if crate::api::papers::previewable(t) => "image",
            _ => "",
        },
    };
    let attachable = match access::actor_for(v.who(), d) {
        Ok(actor) => transition::attachable(p, d, &actor)
            .into_iter()
            .map(|k| {
                (
                    k.to_string(),
                    p.procedure.paper_kind(k).unwrap_or(k).to_string(),
                )
            })
            .collect(),
        Err(_) => vec![],
    };
    Section {
        lines: d.papers.iter().rev().map(line).collect(),
        attachable,
    }
}

/// `?xem=1` shows the paper in the page's frame instead of downloading it.
#[derive(serde::Deserialize)]
struct Look {
    xem: Option<String>,
}

async fn download(
    State(s): State<Shared>,
    v: Viewer,
    Path((code, sha256)): Path<(String, String)>,
    axum::extract::Query(look): axum::extract::Query<Look>,
) -> Screen {
    let found = blocking(move || {
        let (d, _) = readable(&s, &v.caller, &code)?;
        crate::api::papers::stream_paper(&s, &d, &sha256)
    })
    .await??;
    let (paper, body) = found;
    if look.xem.is_some() && crate::api::papers::previewable(&paper.media_type) {
        return Ok(super::Html(crate::api::papers::preview(&paper, body)));
    }
    Ok(super::Html(crate::api::papers::download(&paper, body)))
}

async fn attach(
    State(s): State<Shared>,
    v: Viewer,
    Path(code): Path<String>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Screen {
    super::same_origin(&headers, s.public_url.as_deref())?;
    let mut csrf = None;
    let mut kind = None;
    let mut kept = None;
    let mut name = String::new();
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| Problem::bad_request("invalid_request", e.to_string()))?
    {
        match field.name() {
            Some("csrf") => csrf = field.text().await.ok(),
            Some("kind") => kind = field.text().await.ok(),
            Some("file") => {
                // The token comes first in the form: nothing is stored for a forged post.
                if !csrf
                    .as_deref()
                    .is_some_and(|t| super::session::same_token(t, &v.csrf))
                {
                    break;
                }
                name = paper::safe_name(field.file_name().unwrap_or_default());
                // Who may attach what is decided before a byte is stored.
                let (state, caller, c, k) = (
                    s.clone(),
                    v.caller.clone(),
                    code.clone(),
                    kind.clone().unwrap_or_default(),
                );
                let limit = blocking(move || crate::api::papers::allowed(&state, &caller, &c, &k))
                    .await??;
                kept = Some(crate::api::papers::keep_field(&s, &mut field, limit).await?);
            }
            _ => {}
        }
    }
    if !csrf
        .as_deref()
        .is_some_and(|t| super::session::same_token(t, &v.csrf))
    {
        return Err(v
            .caller
            .forbid(
                &s,
                "the form's CSRF token is missing or not this session's".into(),
            )
            .into());
    }
    let (Some(kind), Some(kept)) = (kind, kept) else {
        return Err(Problem::bad_request("invalid_request", "a kind and a file are needed").into());
    };
    let state = s.clone();
    let to = blocking(move || {
        let (d, c) = readable(&state, &v.caller, &code)?;
        let actor = access::actor_for(v.who(), &d).map_err(|r| v.caller.forbid(&state, r))?;
        state
            .engine
            .attach(AttachRequest {
                dossier: d.code.clone(),
                kind,
                file: kept.file(name),
                actor,
                comment: None,
            })
            .map_err(|e| v.caller.engine_error(&state, e, &c.procedure))?;
        state.committed();
        Ok::<_, Problem>(format!("/ho-so/{}#giay-to", d.code))
    })
    .await??;
    see_other(&to)
}
