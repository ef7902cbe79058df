//! The papers of a receipt at the desk: each checklist item takes scanned files (several
//! pages, several files), streamed to the store as the form arrives and carried through the
//! confirmation as upload tickets, and the applicant's papers from earlier dossiers are
//! offered for reuse so nothing is asked for twice. The receipt itself names them all
//! ([`crate::api::papers::PaperRef`]) and attaches them in its own commit.

use axum::extract::Multipart;
use motcua::dossier::paper;

use super::{Posted, Viewer, fmt, labels};
use crate::api::papers::keep_field;
use crate::api::papers_ahead::{PaperRef, held_by, ticket_name, upload_ticket};
use crate::api::{Shared, blocking};
use crate::problem::Problem;

/// A multipart receipt carries the form and a dossier's scans: at most this many bytes.
pub const DESK_BODY: usize = 4 * super::papers::UPLOAD_BODY;

/// Whether a request is the desk's receipt with files (the door leaves its body to the
/// handler, which streams the files to the store).
pub fn is_upload(method: &axum::http::Method, path: &str, headers: &axum::http::HeaderMap) -> bool {
    method == axum::http::Method::POST
        && path
            .strip_prefix("/tiep-nhan/")
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
        && crate::body::media_type(headers).as_deref() == Some("multipart/form-data")
}

/// A file kept for one checklist item, carried through the form as `giu.<item>`.
pub struct KeptFile {
    pub kind: String,
    pub sha256: String,
    pub ticket: String,
    pub size: u64,
    pub name: String,
}

impl KeptFile {
    /// The hidden value: digest, size and ticket (which carries the name); no colons inside.
    pub fn value(&self) -> String {
        format!("{}:{}:{}", self.sha256, self.size, self.ticket)
    }

    /// A kept file posted back, when its ticket is this officer's.
    fn parse(s: &crate::api::State, subject: &str, kind: &str, value: &str) -> Option<KeptFile> {
        let mut parts = value.splitn(3, ':');
        let (sha256, size, ticket) = (parts.next()?, parts.next()?, parts.next()?);
        let name = ticket_name(&s.status_key, subject, sha256, ticket)?;
        Some(KeptFile {
            kind: kind.to_string(),
            sha256: sha256.to_string(),
            ticket: ticket.to_string(),
            size: size.parse().ok()?,
            name: paper::safe_name(&name),
        })
    }

    /// "gcn.pdf (245 KB)".
    pub fn label(&self) -> String {
        format!("{} ({})", self.name, fmt::file_size(self.size))
    }
}

/// A paper of an earlier dossier of the same applicant, offered for an item.
pub struct Offer {
    pub kind: String,
    /// `dossier:sha256`, posted as `dung.<item>` when chosen.
    pub value: String,
    pub label: String,
    pub chosen: bool,
}

/// What a multipart desk form carried.
pub struct Read {
    pub posted: Posted,
    /// Files kept now and those kept by an earlier round of the form, with valid tickets.
    pub kept: Vec<KeptFile>,
    /// A file that could not be kept, in the catalogue's words.
    pub errors: Vec<String>,
}

/// Reads the desk's multipart form: text fields in order, each file of a `tep.<item>` field
/// streamed to the store once the form's CSRF token (its first field) has been seen to be
/// this session's; a forged post stores nothing.
pub async fn read(
    s: &Shared,
    v: &Viewer,
    mut form: Multipart,
    limit: u64,
) -> Result<Read, Problem> {
    let stall = s.limits.body_read_timeout;
    let broken = |e: String| Problem::bad_request("invalid_request", format!("biểu mẫu hỏng: {e}"));
    let mut posted = vec![];
    let mut kept = vec![];
    let mut errors = vec![];
    // The fields' text is held; only the files stream. A form's text is small.
    let mut text_bytes = 0usize;
    loop {
        let next = tokio::time::timeout(stall, form.next_field())
            .await
            .map_err(|_| broken("quá thời gian chờ".into()))?
            .map_err(|e| broken(e.to_string()))?;
        let Some(mut field) = next else { break };
        let name = field.name().unwrap_or_default().to_string();
        if let Some(kind) = name.strip_prefix("tep.") {
            let file_name = field.file_name().unwrap_or_default().to_string();
            // A file input left empty still sends a part, with no name and no bytes.
            if file_name.is_empty() {
                continue;
            }
            let csrf_ok = posted.iter().any(|(k, t): &(String, String)| {
                k == "csrf" && super::session::same_token(t, &v.csrf)
            });
            if !csrf_ok {
                break;
            }
            match keep_field(s, &mut field, limit).await {
                Ok(k) => {
                    let name = paper::safe_name(&file_name);
                    let subject = &v.who().subject;
                    kept.push(KeptFile {
                        kind: kind.to_string(),
                        ticket: upload_ticket(&s.status_key, subject, &k.stored.sha256, &name),
                        sha256: k.stored.sha256,
                        size: k.stored.size,
                        name,
                    })
                }
                Err(p) => errors.push(format!("{}: {}", paper::safe_name(&file_name), p.detail)),
            }
            continue;
        }
        let text = tokio::time::timeout(stall, field.text())
            .await
            .map_err(|_| broken("quá thời gian chờ".into()))?
            .map_err(|e| broken(e.to_string()))?;
        text_bytes += text.len() + name.len();
        if text_bytes > crate::body::MAX_BODY {
            return Err(crate::body::too_large());
        }
        if let Some(kind) = name.strip_prefix("giu.") {
            // Kept by an earlier round: good only with this officer's ticket.
            if let Some(k) = KeptFile::parse(s, &v.who().subject, kind, &text)
                && !kept
                    .iter()
                    .any(|x: &KeptFile| x.kind == k.kind && x.sha256 == k.sha256)
            {
                kept.push(k);
            }
            continue;
        }
        posted.push((name, text));
    }
    Ok(Read {
        posted: Posted(posted),
        kept,
        errors,
    })
}

/// The applicant's papers from earlier dossiers this officer may read, for the items of
/// `documents`; `chosen` are the `dung.<item>` values posted.
pub async fn offers(
    s: &Shared,
    v: &Viewer,
    applicant: &str,
    documents: &[String],
    chosen: &[(String, String)],
) -> Result<Vec<Offer>, Problem> {
    if applicant.is_empty() {
        return Ok(vec![]);
    }
    let (state, caller, who) = (s.clone(), v.caller.clone(), applicant.to_string());
    let held = blocking(move || held_by(&state, &caller, &who)).await??;
    Ok(held
        .into_iter()
        .filter(|h| documents.contains(&h.kind))
        .map(|h| {
            let value = format!("{}:{}", h.dossier, h.sha256);
            Offer {
                chosen: chosen.iter().any(|(k, v)| k == &h.kind && v == &value),
                label: format!(
                    "{} ({}, {}) — hồ sơ {}, {}",
                    h.name,
                    labels::media_type(&h.media_type),
                    fmt::file_size(h.size),
                    h.dossier,
                    h.procedure_name
                ),
                kind: h.kind,
                value,
            }
        })
        .collect())
}

/// The papers a receipt names: the files kept for it and the earlier ones chosen for reuse.
pub fn refs(kept: &[&KeptFile], offers: &[&Offer]) -> Vec<PaperRef> {
    let fresh = kept.iter().map(|k| PaperRef {
        kind: k.kind.clone(),
        sha256: k.sha256.clone(),
        name: Some(k.name.clone()),
        upload: Some(k.ticket.clone()),
        from: None,
    });
    let reused = offers.iter().filter(|o| o.chosen).filter_map(|o| {
        let (dossier, sha256) = o.value.split_once(':')?;
        Some(PaperRef {
            kind: o.kind.clone(),
            sha256: sha256.to_string(),
            name: None,
            upload: None,
            from: Some(dossier.to_string()),
        })
    });
    fresh.chain(reused).collect()
}

/// Reads the multipart receipt, or refuses it when its token is not this session's.
pub async fn read_checked(
    s: &Shared,
    v: &Viewer,
    headers: &axum::http::HeaderMap,
    form: Multipart,
    limit: u64,
) -> Result<Read, Problem> {
    super::same_origin(headers, s.public_url.as_deref())?;
    let read = read(s, v, form, limit).await?;
    read.posted.check_csrf(v, s)?;
    Ok(read)
}
