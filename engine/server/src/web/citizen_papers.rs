//! The citizen's papers on the status page, authenticated by the slip's secret like the page
//! itself: the results the procedure issues, downloadable once the result is issued, and a
//! requested supplement uploaded online while the office waits for it. The upload acts as the
//! dossier's applicant, whom the engine lets attach checklist papers only while a supplement
//! is awaited.

use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use motcua::dossier::paper;
use motcua::dossier::transition::{self, AttachRequest};
use motcua::dossier::{Actor, Dossier};
use serde::Deserialize;

use super::{Html, Screen, see_other};
use crate::api::status::Peer;
use crate::api::{Shared, blocking};
use crate::auth::APPLICANT;
use crate::problem::Problem;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/tra-cuu/{code}/giay-to",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(
                super::papers::UPLOAD_BODY,
            )),
        )
        .route("/tra-cuu/{code}/giay-to/{sha256}", get(download))
}

/// Whether a request is a citizen's upload (the door leaves its body to the handler).
pub fn is_upload(method: &axum::http::Method, path: &str) -> bool {
    method == axum::http::Method::POST
        && path
            .strip_prefix("/tra-cuu/")
            .and_then(|rest| rest.strip_suffix("/giay-to"))
            .is_some_and(|code| !code.is_empty() && !code.contains('/'))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Secret {
    secret: String,
}

/// What the status page offers of the papers.
#[derive(Default)]
pub struct Offered {
    /// Results issued to the applicant: (name, href).
    pub results: Vec<(String, String)>,
    /// The checklist papers the applicant may upload now: (id, name); empty unless a
    /// supplement is awaited.
    pub kinds: Vec<(String, String)>,
}

/// The dossier's applicant as the engine knows them (the slip's secret stands for them).
fn applicant(d: &Dossier) -> Actor {
    Actor {
        id: d.applicant.id.clone(),
        roles: vec![APPLICANT.into()],
        departments: vec![],
    }
}

/// Results are released with the result: once the dossier's result is issued.
fn released<'d>(p: &motcua::procedure::Procedure, d: &'d Dossier) -> Vec<&'d paper::Paper> {
    if d.clock.resolved.is_none() {
        return vec![];
    }
    paper::current(&d.papers)
        .into_iter()
        .filter(|x| p.results.iter().any(|r| r.id == x.kind))
        .collect()
}

pub fn offered(p: &motcua::catalog::Compiled, d: &Dossier, code: &str, secret: &str) -> Offered {
    Offered {
        results: released(&p.procedure, d)
            .into_iter()
            .map(|x| {
                let name = p.procedure.paper_kind(&x.kind).unwrap_or(&x.kind);
                (
                    match x.valid_until {
                        Some(until) => format!(
                            "{name} (có giá trị đến hết ngày {})",
                            super::fmt::date(until)
                        ),
                        None => name.to_string(),
                    },
                    format!(
                        "/tra-cuu/{code}/giay-to/{}?secret={}",
                        x.sha256,
                        super::urlencode(secret)
                    ),
                )
            })
            .collect(),
        kinds: transition::attachable(p, d, &applicant(d))
            .into_iter()
            .map(|k| {
                (
                    k.to_string(),
                    p.procedure.paper_kind(k).unwrap_or(k).to_string(),
                )
            })
            .collect(),
    }
}

/// The slip's secret for `code`, and the public rate limit, as the status page checks them.
fn admitted(
    s: &Shared,
    peer: Option<std::net::IpAddr>,
    code: &str,
    secret: &str,
) -> Result<(), Problem> {
    let who = peer.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    if s.public_limit.take(&who).is_err() {
        return Err(Problem::too_many(1.0));
    }
    if code.len() > 128 || !crate::status::check(&s.status_key, code, secret) {
        return Err(Problem::not_found(
            motcua::messages::requests::slip_not_found(),
        ));
    }
    Ok(())
}

async fn download(
    State(s): State<Shared>,
    Peer(peer): Peer,
    Path((code, sha256)): Path<(String, String)>,
    Query(q): Query<Secret>,
) -> Screen {
    admitted(&s, peer, &code, &q.secret)?;
    let found = blocking(move || {
        let d = s.engine.dossier(&code).map_err(Problem::from)?;
        let p = s.engine.pinned_procedure(&d).map_err(Problem::from)?;
        if !released(&p.procedure, &d)
            .iter()
            .any(|x| x.sha256 == sha256)
        {
            return Err(Problem::not_found(
                motcua::messages::requests::paper_not_found(&code),
            ));
        }
        crate::api::papers::stream_paper(&s, &d, &sha256)
    })
    .await??;
    Ok(Html(crate::api::papers::download(&found.0, found.1)))
}

async fn upload(
    State(s): State<Shared>,
    Peer(peer): Peer,
    Path(code): Path<String>,
    Query(q): Query<Secret>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Screen {
    super::same_origin(&headers, s.public_url.as_deref())?;
    admitted(&s, peer, &code, &q.secret)?;
    let mut kind = None;
    let mut kept = None;
    let mut name = String::new();
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| Problem::bad_request("invalid_request", e.to_string()))?
    {
        match field.name() {
            Some("kind") => kind = field.text().await.ok(),
            Some("file") => {
                name = paper::safe_name(field.file_name().unwrap_or_default());
                // The applicant may attach this kind now, or nothing is stored.
                let (state, c, k) = (s.clone(), code.clone(), kind.clone().unwrap_or_default());
                let blocked = blocking(move || {
                    let d = state.engine.dossier(&c).map_err(Problem::from)?;
                    let p = state.engine.pinned_procedure(&d).map_err(Problem::from)?;
                    state
                        .engine
                        .may_attach(&d, &applicant(&d), &k)
                        .map_err(|e| Problem::of(e, &p.procedure))?;
                    Ok::<_, Problem>(p.procedure.papers.limit_bytes())
                })
                .await??;
                kept = Some(crate::api::papers::keep_field(&s, &mut field, blocked).await?);
            }
            _ => {}
        }
    }
    let (Some(kind), Some(kept)) = (kind, kept) else {
        return Err(Problem::bad_request("invalid_request", "a kind and a file are needed").into());
    };
    let secret = q.secret.clone();
    let to = blocking(move || {
        let d = s.engine.dossier(&code).map_err(Problem::from)?;
        let p = s.engine.pinned_procedure(&d).map_err(Problem::from)?;
        s.engine
            .attach(AttachRequest {
                dossier: d.code.clone(),
                kind,
                file: kept.file(name),
                actor: applicant(&d),
                comment: None,
            })
            .map_err(|e| Problem::of(e, &p.procedure))?;
        s.committed();
        Ok::<_, Problem>(format!(
            "/tra-cuu/{code}?secret={}",
            super::urlencode(&secret)
        ))
    })
    .await??;
    see_other(&to)
}
