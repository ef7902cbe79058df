//! Papers ahead of a dossier: a file uploaded before its submission, answered with a ticket
//! that proves who sent it (so a submission names only its sender's uploads), and the
//! applicant's papers of earlier dossiers offered for reuse (the citizen's store).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::papers::{MAX_FILE, receive_file};
use super::{Caller, Shared, blocking, json};
use crate::access;
use crate::problem::Problem;

/// The receipt for a file uploaded ahead of a submission: proof that this caller sent these
/// bytes under this name, so a submission can name only files its sender uploaded (a digest
/// seen in an audit export does not hand a stranger's scan to a new dossier). Derived from
/// the server key, so nothing is stored and every node sharing the key accepts it: a MAC,
/// then the file's name (base64url), which the submission takes back from it.
pub(crate) fn upload_ticket(key: &[u8; 32], subject: &str, sha256: &str, name: &str) -> String {
    use base64::Engine as _;
    use hmac::Mac;
    let mac = ticket_mac(key, subject, sha256, name)
        .finalize()
        .into_bytes();
    format!(
        "{}.{}",
        &hex::encode(mac)[..TICKET_HEX],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(name)
    )
}

const TICKET_HEX: usize = 32;

fn ticket_mac(key: &[u8; 32], subject: &str, sha256: &str, name: &str) -> hmac::Hmac<sha2::Sha256> {
    use hmac::Mac;
    // A 32-byte key is always accepted.
    let mut m =
        <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(b"motcua-upload\0");
    for part in [subject, sha256, name] {
        // Each part's length first, so no two triples read alike.
        m.update(part.len().to_string().as_bytes());
        m.update(b":");
        m.update(part.as_bytes());
    }
    m
}

/// The file's name when `given` is this caller's ticket for `sha256` (checked in constant
/// time), else `None`.
pub(crate) fn ticket_name(
    key: &[u8; 32],
    subject: &str,
    sha256: &str,
    given: &str,
) -> Option<String> {
    use base64::Engine as _;
    use hmac::Mac;
    let (mac, name) = given.trim().split_once('.')?;
    let bytes = hex::decode(mac).ok()?;
    let name = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(name)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())?;
    (bytes.len() * 2 == TICKET_HEX
        && ticket_mac(key, subject, sha256, &name)
            .verify_truncated_left(&bytes)
            .is_ok())
    .then_some(name)
}

/// A file uploaded ahead of its submission.
#[derive(Serialize, ToSchema)]
pub struct Staged {
    pub sha256: String,
    pub size: u64,
    /// Read from the bytes: `application/pdf`, `image/jpeg`, `image/png` or `image/tiff`.
    pub media_type: String,
    pub name: String,
    /// Name it in the submission's `papers[].upload`: proof that you sent these bytes.
    pub upload: String,
}

/// A paper a submission brings: a file uploaded ahead (`upload` is the ticket `POST
/// /v1/documents` answered), or one of the same applicant's earlier dossiers (`from`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaperRef {
    /// The checklist item it answers.
    pub kind: String,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    /// The file's name (when absent, the upload's or the earlier dossier's).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub upload: Option<String>,
    /// The earlier dossier's code.
    #[serde(default)]
    pub from: Option<String>,
}

/// One paper of the applicant's earlier dossiers, offered for reuse.
#[derive(Serialize, ToSchema)]
pub struct HeldView {
    pub dossier: String,
    pub procedure: String,
    pub procedure_name: String,
    pub kind: String,
    pub kind_name: String,
    pub sha256: String,
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct HeldList {
    pub papers: Vec<HeldView>,
}

#[utoipa::path(post, path = "/v1/documents", operation_id = "upload_document", tag = "dossiers",
    params(("Content-Disposition" = Option<String>, Header, description = "The file's name: `attachment; filename*=UTF-8''…`")),
    request_body(content = Vec<u8>, description = "The file's bytes (PDF, JPEG, PNG or TIFF, or an office file; the type is read from the bytes, not the header). A browser's `multipart/form-data` with one file part is accepted too.",
        content_type = "application/octet-stream"),
    responses((status = 201, body = Staged, description = "Kept: name it in a submission's `papers` with its `upload` ticket within a day (an upload no dossier names is removed after that)"),
        (status = 403, description = "No role that receives dossiers"),
        (status = 413, description = "Over the size limit"),
        (status = 415, description = "Not a PDF, JPEG, PNG or TIFF by its bytes"),
        (status = 503, description = "Every upload slot is taken: retry in a moment")),
    security(("bearer" = [])))]
pub async fn stage(
    State(s): State<Shared>,
    caller: Caller,
    request: axum::extract::Request,
) -> Result<Response, Problem> {
    if let Some(reason) = access::submit_refusal(&caller.who) {
        return Err(caller.forbid(&s, reason));
    }
    let (kept, name) = receive_file(&s, &caller, request, MAX_FILE).await?;
    let sha256 = kept.stored.sha256;
    let staged = Staged {
        upload: upload_ticket(&s.status_key, &caller.who.subject, &sha256, &name),
        sha256,
        size: kept.stored.size,
        media_type: kept.media_type.to_string(),
        name,
    };
    Ok(json(StatusCode::CREATED, &staged))
}

#[utoipa::path(get, path = "/v1/applicants/{id}/documents", operation_id = "applicant_documents", tag = "dossiers",
    params(("id" = String, Path, description = "The applicant's id (CCCD or enterprise code)")),
    responses((status = 200, body = HeldList, description = "The current papers of the applicant's dossiers this caller may read, newest first (at most 100), for reuse by a new submission's `papers[].from`")),
    security(("bearer" = [])))]
pub async fn held(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let list = blocking(move || held_by(&s, &caller, &id)).await??;
    Ok(json(StatusCode::OK, &HeldList { papers: list }))
}

/// The applicant's papers `caller` may read (each dossier's own reading rights), named by
/// the procedure version each dossier is pinned to.
pub(crate) fn held_by(
    s: &super::State,
    caller: &Caller,
    applicant: &str,
) -> Result<Vec<HeldView>, Problem> {
    const MOST: usize = 100;
    let held = s
        .engine
        .applicant_papers(applicant, MOST)
        .map_err(Problem::from)?;
    type Pinned = Option<std::sync::Arc<motcua::catalog::Compiled>>;
    let mut readable: std::collections::BTreeMap<String, Pinned> = Default::default();
    let mut out = vec![];
    for h in held {
        let pinned = readable
            .entry(h.dossier.clone())
            .or_insert_with(|| {
                let d = s.engine.dossier(&h.dossier).ok()?;
                let p = s.engine.pinned_procedure(&d).ok()?;
                access::may_read(&caller.who, &d, &p.procedure).then_some(p)
            })
            .clone();
        let Some(p) = pinned else { continue };
        out.push(HeldView {
            kind_name: p
                .procedure
                .paper_kind(&h.paper.kind)
                .unwrap_or(&h.paper.kind)
                .to_string(),
            procedure_name: p.procedure.name.clone(),
            dossier: h.dossier,
            procedure: h.procedure,
            kind: h.paper.kind,
            sha256: h.paper.sha256,
            name: h.paper.name,
            media_type: h.paper.media_type,
            size: h.paper.size,
            at: h.paper.at.to_string(),
        });
    }
    Ok(out)
}
