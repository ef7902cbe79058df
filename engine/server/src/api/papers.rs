//! A dossier's papers over HTTP: a file uploaded as the raw body (streamed to the store,
//! never held whole), attached by the engine's rules; the list of papers with their versions;
//! and each file's bytes, served as a download that no browser will run.

use std::io::Read;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use motcua::dossier::paper::{self, Paper};
use motcua::dossier::transition::AttachRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::dossiers::{etag, readable};
use super::{Caller, Shared, blocking, json};
use crate::access;
use crate::problem::Problem;

/// The largest file a paper may be: a scanned A4 dossier of a hundred pages at 300 dpi.
pub const MAX_FILE: u64 = 50 << 20;

/// Whether a request is a paper's upload (`POST /v1/dossiers/{code}/documents`, or
/// `POST /v1/documents` ahead of a submission), whose body the door does not read ahead of
/// the handler.
pub fn is_upload(method: &axum::http::Method, path: &str) -> bool {
    method == axum::http::Method::POST
        && (path == "/v1/documents"
            || path
                .strip_prefix("/v1/dossiers/")
                .and_then(|rest| rest.strip_suffix("/documents"))
                .is_some_and(|code| !code.is_empty() && !code.contains('/')))
}

/// Which paper the upload is.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AttachParams {
    /// The checklist item it answers or the result kind it is (the procedure's `documents`
    /// and `results` ids).
    pub kind: String,
    /// Why, for the audit entry (e.g. "bản quét giấy tờ đất nộp tại quầy").
    pub comment: Option<String>,
}

/// One version of one paper, as the dossier records it.
#[derive(Serialize, ToSchema)]
pub struct PaperView {
    pub kind: String,
    /// The kind's name in the procedure.
    pub kind_name: String,
    pub sha256: String,
    pub name: String,
    pub media_type: String,
    pub size: u64,
    /// `desk`, `applicant` or `officer`.
    pub source: String,
    pub by: String,
    pub at: String,
    pub version: u32,
    /// The latest version of its kind.
    pub current: bool,
    /// Pages, where the file says (a PDF's page objects; 1 for a photograph).
    pub pages: Option<u32>,
    /// For a result the procedure declares valid for a time: its last valid day (YYYY-MM-DD).
    pub valid_until: Option<String>,
    /// The applicant's earlier dossier this file was reused from.
    pub reused_from: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PaperList {
    pub papers: Vec<PaperView>,
}

fn view(p: &motcua::procedure::Procedure, papers: &[Paper]) -> Vec<PaperView> {
    let current = paper::current(papers);
    papers
        .iter()
        .map(|x| PaperView {
            kind: x.kind.clone(),
            kind_name: p.paper_kind(&x.kind).unwrap_or(&x.kind).to_string(),
            sha256: x.sha256.clone(),
            name: x.name.clone(),
            media_type: x.media_type.clone(),
            size: x.size,
            source: serde_json::to_value(x.source)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            by: x.by.clone(),
            at: x.at.to_string(),
            version: x.version,
            current: current.iter().any(|c| std::ptr::eq(*c, x)),
            pages: x.pages,
            valid_until: x.valid_until.map(|d| d.to_string()),
            reused_from: x.from.clone(),
        })
        .collect()
}

/// The file name a client gave in `Content-Disposition` (`filename*=UTF-8''…` first).
fn file_name(headers: &HeaderMap) -> String {
    // Browsers send a UTF-8 name as raw bytes in the quoted form; others encode it.
    let Some(v) = headers
        .get(header::CONTENT_DISPOSITION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    else {
        return String::new();
    };
    for part in v.split(';').map(str::trim) {
        if let Some(encoded) = part.strip_prefix("filename*=UTF-8''") {
            return percent_decode(encoded);
        }
    }
    v.split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("filename="))
        .map(|n| n.trim_matches('"').to_string())
        .unwrap_or_default()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // Byte by byte: a header may hold any bytes, and a `&str` slice could split one.
        let hi = bytes.get(i + 1).copied().and_then(hex);
        let lo = bytes.get(i + 2).copied().and_then(hex);
        match (bytes[i], hi, lo) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Streams an HTTP body into a blocking reader, a few chunks at a time (back-pressure: the
/// body is read only as fast as the store writes).
struct Chunks {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<axum::body::Bytes>>,
    current: axum::body::Bytes,
}

impl Read for Chunks {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// How many uploads stream to the store at once, per server: each holds a blocking thread
/// (and on PostgreSQL a connection) while its bytes arrive.
pub const UPLOADS_AT_ONCE: usize = 8;

static UPLOADS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(UPLOADS_AT_ONCE);

/// A slot for one upload, or 503 when all are taken (retry shortly).
pub(crate) fn upload_slot() -> Result<tokio::sync::SemaphorePermit<'static>, Problem> {
    UPLOADS.try_acquire().map_err(|_| {
        Problem::said(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "all upload slots are taken; retry in a moment",
        )
    })
}

/// The caller may read the dossier and attach a paper of `kind` to it now: the largest file
/// its procedure takes, in bytes.
pub(crate) fn allowed(
    s: &super::State,
    caller: &Caller,
    code: &str,
    kind: &str,
) -> Result<u64, Problem> {
    let (d, p) = readable(s, caller, code)?;
    let actor = access::actor_for(&caller.who, &d).map_err(|reason| caller.forbid(s, reason))?;
    s.engine
        .may_attach(&d, &actor, kind)
        .map_err(|e| caller.engine_error(s, e, &p.procedure))?;
    Ok(p.procedure.papers.limit_bytes().min(MAX_FILE))
}

/// What feeds a file to the store: the chunks sent are written as they come, on the
/// blocking pool; drop the sender at the end and await the handle for what was kept.
pub(crate) type Keeping = tokio::task::JoinHandle<Result<motcua::Kept, motcua::Error>>;

pub(crate) fn keeper(
    s: &Shared,
    limit: u64,
) -> (
    tokio::sync::mpsc::Sender<std::io::Result<axum::body::Bytes>>,
    Keeping,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let state = s.clone();
    let keeping = tokio::task::spawn_blocking(move || {
        let mut reader = Chunks {
            rx,
            current: axum::body::Bytes::new(),
        };
        state.engine.keep_file(&mut reader, limit.min(MAX_FILE))
    });
    (tx, keeping)
}

#[utoipa::path(post, path = "/v1/dossiers/{code}/documents", operation_id = "attach_document", tag = "dossiers",
    params(("code" = String, Path, description = "The dossier code"), AttachParams,
        ("Content-Disposition" = Option<String>, Header, description = "The file's name: `attachment; filename*=UTF-8''…`")),
    request_body(content = Vec<u8>, description = "The file's bytes (PDF, JPEG, PNG or TIFF, or office files where the procedure allows them; the type is read from the bytes, not the header). A browser's `multipart/form-data` with one file part is accepted too.",
        content_type = "application/octet-stream"),
    responses((status = 201, body = PaperView, description = "Attached: the paper's record; ETag is the dossier's new version"),
        (status = 403, description = "Not the desk, an officer of an active step, or the applicant while a supplement is awaited"),
        (status = 404, description = "No such dossier"),
        (status = 413, description = "Over the size limit"),
        (status = 415, description = "Not a PDF, JPEG, PNG or TIFF by its bytes"),
        (status = 422, description = "A kind the procedure does not declare, or the dossier has ended"),
        (status = 503, description = "Every upload slot is taken: retry in a moment")),
    security(("bearer" = [])))]
pub async fn attach(
    State(s): State<Shared>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<AttachParams>,
    request: axum::extract::Request,
) -> Result<Response, Problem> {
    // Who may attach what is decided before a byte is stored: a refused upload keeps nothing.
    let (state, c, who, kind) = (s.clone(), code.clone(), caller.clone(), q.kind.clone());
    let limit = blocking(move || allowed(&state, &who, &c, &kind)).await??;
    let (kept, name) = receive_file(&s, &caller, request, limit).await?;
    let state = s.clone();
    let (d, p) = blocking(move || {
        let (d, p) = readable(&state, &caller, &code)?;
        let actor =
            access::actor_for(&caller.who, &d).map_err(|reason| caller.forbid(&state, reason))?;
        let req = AttachRequest {
            dossier: d.code.clone(),
            kind: q.kind,
            file: kept.file(name),
            actor,
            comment: q.comment.filter(|c| !c.trim().is_empty()),
        };
        let next = state
            .engine
            .attach(req)
            .map_err(|e| caller.engine_error(&state, e, &p.procedure))?;
        state.committed();
        Ok::<_, Problem>((next, p))
    })
    .await??;
    let added = d.papers.last().cloned();
    let Some(added) = added else {
        return Err(Problem::internal(
            "the attached paper is not on the dossier",
        ));
    };
    let mut v = view(&p.procedure, &d.papers);
    let at = v
        .iter()
        .rposition(|x| x.sha256 == added.sha256 && x.version == added.version)
        .unwrap_or(0);
    let one = v.swap_remove(at);
    let mut res = json(StatusCode::CREATED, &one);
    res.headers_mut().insert(header::ETAG, etag(d.version));
    Ok(res)
}

/// The file a request carries, kept, with its safe name: the raw body (named by
/// `Content-Disposition`), or a browser's `multipart/form-data` with one file field (named by
/// the part).
pub(super) async fn receive_file(
    s: &Shared,
    caller: &Caller,
    request: axum::extract::Request,
    limit: u64,
) -> Result<(motcua::Kept, String), Problem> {
    let headers = request.headers();
    if crate::body::media_type(headers).as_deref() != Some("multipart/form-data") {
        let name = paper::safe_name(&file_name(headers));
        let kept = keep_body(s, request.into_body(), limit)
            .await
            .map_err(|e| e.problem(s, caller))?;
        return Ok((kept, name));
    }
    use axum::extract::FromRequest;
    let bad = |e: String| Problem::bad_request("invalid_request", e);
    let mut form = axum::extract::Multipart::from_request(request, s)
        .await
        .map_err(|e| bad(e.body_text()))?;
    let stall = s.limits.body_read_timeout;
    loop {
        let next = tokio::time::timeout(stall, form.next_field())
            .await
            .map_err(|_| bad("the multipart body stalled".into()))?
            .map_err(|e| bad(e.to_string()))?;
        let Some(mut field) = next else {
            return Err(bad("the multipart body has no file part".into()));
        };
        let Some(name) = field.file_name().map(paper::safe_name) else {
            continue;
        };
        let kept = keep_field(s, &mut field, limit).await?;
        return Ok((kept, name));
    }
}

/// Streams a raw request body to the store (a slot, then each piece within the body
/// timeout); what was kept. An engine error: too large, not a paper, or the store's fault.
async fn keep_body(s: &Shared, body: Body, limit: u64) -> Result<motcua::Kept, KeepError> {
    let _slot = upload_slot().map_err(KeepError::Busy)?;
    let (tx, keeping) = keeper(s, limit);
    let mut body = body;
    let stall = s.limits.body_read_timeout;
    loop {
        // Each piece must arrive within the body timeout: a stalled upload frees its slot.
        let frame = match tokio::time::timeout(stall, body.frame()).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(_) => {
                let _ = tx
                    .send(Err(std::io::Error::other("the upload stalled")))
                    .await;
                break;
            }
        };
        let chunk = match frame {
            Ok(f) => match f.into_data() {
                Ok(d) => Ok(d),
                Err(_) => continue,
            },
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        let failed = chunk.is_err();
        if tx.send(chunk).await.is_err() || failed {
            // The store stopped reading (too large, or a fault): nothing more to feed.
            break;
        }
    }
    drop(tx);
    keeping
        .await
        .map_err(|e| KeepError::Worker(e.to_string()))?
        .map_err(KeepError::Engine)
}

/// Why a body was not kept.
enum KeepError {
    Busy(Problem),
    Worker(String),
    Engine(motcua::Error),
}

impl KeepError {
    fn problem(self, s: &super::State, caller: &Caller) -> Problem {
        match self {
            KeepError::Busy(p) => p,
            KeepError::Worker(e) => Problem::internal(format!("the upload's worker failed: {e}")),
            KeepError::Engine(e) => caller.engine_error(s, e, &motcua::messages::errors::NoNames),
        }
    }
}

#[utoipa::path(get, path = "/v1/dossiers/{code}/documents", operation_id = "list_documents", tag = "dossiers",
    params(("code" = String, Path, description = "The dossier code")),
    responses((status = 200, body = PaperList, description = "Every version of every paper, in the order attached; `current` marks the latest of each kind"),
        (status = 403, description = "Not yours to read"),
        (status = 404, description = "No such dossier")),
    security(("bearer" = [])))]
pub async fn list(
    State(s): State<Shared>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Response, Problem> {
    let (d, p) = blocking(move || readable(&s, &caller, &code)).await??;
    Ok(json(
        StatusCode::OK,
        &PaperList {
            papers: view(&p.procedure, &d.papers),
        },
    ))
}

#[utoipa::path(get, path = "/v1/dossiers/{code}/documents/{sha256}", operation_id = "get_document", tag = "dossiers",
    params(("code" = String, Path, description = "The dossier code"),
        ("sha256" = String, Path, description = "The file's SHA-256 (lower-case hex)", pattern = "^[0-9a-f]{64}$")),
    responses((status = 200, description = "The file, as a download", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, description = "Not yours to read"),
        (status = 404, description = "No such dossier, or no such paper on it")),
    security(("bearer" = [])))]
pub async fn get(
    State(s): State<Shared>,
    caller: Caller,
    Path((code, sha256)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let found = blocking(move || {
        let (d, _) = readable(&s, &caller, &code)?;
        stream_paper(&s, &d, &sha256)
    })
    .await??;
    let (paper, bytes) = found;
    Ok(download(&paper, bytes))
}

/// Feeds a browser's multipart file field to the store as it arrives; what was kept.
pub(crate) async fn keep_field(
    s: &Shared,
    field: &mut axum::extract::multipart::Field<'_>,
    limit: u64,
) -> Result<motcua::Kept, Problem> {
    let _slot = upload_slot()?;
    let (tx, keeping) = keeper(s, limit);
    let stall = s.limits.body_read_timeout;
    loop {
        // Each piece must arrive within the body timeout: a stalled upload frees its slot.
        match tokio::time::timeout(stall, field.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                if tx.send(Ok(chunk)).await.is_err() {
                    break;
                }
            }
            Ok(Ok(None)) => break,
            Ok(Err(e)) => {
                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                break;
            }
            Err(_) => {
                let _ = tx
                    .send(Err(std::io::Error::other("the upload stalled")))
                    .await;
                break;
            }
        }
    }
    drop(tx);
    keeping
        .await
        .map_err(|e| Problem::internal(format!("the upload's worker failed: {e}")))?
        .map_err(Problem::from)
}

/// One of `d`'s papers, streamed from the store in pieces (a scan is never held whole), or
/// 404 naming the dossier. Call on the blocking pool: the reading runs on a thread of its own.
pub(crate) fn stream_paper(
    s: &super::State,
    d: &motcua::dossier::Dossier,
    sha256: &str,
) -> Result<(Paper, Body), Problem> {
    let Some((paper, mut bytes)) = s.engine.paper(d, sha256).map_err(Problem::from)? else {
        return Err(Problem::not_found(
            motcua::messages::requests::paper_not_found(&d.code),
        ));
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<axum::body::Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match bytes.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    let chunk = axum::body::Bytes::copy_from_slice(&buf[..n]);
                    if tx.blocking_send(Ok(chunk)).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    Ok((paper, Body::new(Pieces(rx))))
}

/// A response body fed by the reading thread.
pub(crate) struct Pieces(
    pub(crate) tokio::sync::mpsc::Receiver<std::io::Result<axum::body::Bytes>>,
);

impl http_body::Body for Pieces {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|piece| piece.map(|r| r.map(http_body::Frame::data)))
    }
}

/// A paper shown in the dossier page's own frame (a PDF in the browser's viewer, an image):
/// inline, framed by this site only, loading nothing else. The bytes were sniffed at upload
/// as a PDF or an image, never HTML or script, and are served `nosniff` as that type. A
/// sandboxing policy would stop Chromium's PDF viewer, so the frame's isolation is the
/// viewer's own, as for any PDF the browser opens.
pub(crate) fn preview(paper: &Paper, body: Body) -> Response {
    let mut res = download(paper, body);
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "inline; filename=\"{}\"",
        paper.sha256.get(..12).unwrap_or("tep")
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'self'"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Whether the browser shows a paper of this type itself (TIFF it does not).
pub fn previewable(media_type: &str) -> bool {
    matches!(media_type, "application/pdf" | "image/jpeg" | "image/png")
}

/// A paper's bytes as a download a browser will neither run nor sniff.
pub(crate) fn download(paper: &Paper, body: Body) -> Response {
    let mut res = Response::new(body);
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&paper.media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let encoded: String = paper::download_name(&paper.name, &paper.media_type)
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{encoded}",
        paper.sha256.get(..12).unwrap_or("tep")
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}
