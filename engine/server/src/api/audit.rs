//! The audit log for inspectors: filtered pages, streamed exports, live verification, signed
//! checkpoints; and the on-time report.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use motcua::audit::query::Filter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Caller, Shared, blocking, json};
use crate::auth::AUDITOR;
use crate::body::Params;
use crate::problem::Problem;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    pub dossier: Option<String>,
    /// The actor's id (`system` for the engine's own steps).
    pub actor: Option<String>,
    /// One of the acting officer's departments.
    pub department: Option<String>,
    pub procedure: Option<String>,
    /// `submit`, an action id, or `system:<what>`.
    pub action: Option<String>,
    /// At or after this instant (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Before this instant.
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// The `next` of the previous page (a sequence number of this log).
    #[param(pattern = "^[1-9][0-9]{0,18}$")]
    pub cursor: Option<String>,
    /// 1–1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// `json` (a page, default); `jsonl` (every match, streamed, the stored lines); `csv`
    /// (every match, streamed, for Excel: byte-order mark, Vietnamese headers, local times,
    /// names); `xlsx` (the same as an Excel workbook, at most 100,000 entries).
    pub format: Option<AuditFormat>,
}

/// How the audit listing answers.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum AuditFormat {
    Json,
    Jsonl,
    Csv,
    Xlsx,
}

/// An `.xlsx` workbook's bytes (Office Open XML, a zip).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
// Only the document names it: the handlers send the bytes `motcua::sheet::xlsx` writes.
#[expect(dead_code)]
pub struct Workbook(Vec<u8>);

/// The media type of an `.xlsx` workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// What the people-facing exports call ids: the catalogue's names, the credentials' people.
pub(crate) fn names(s: &super::State) -> motcua::sheet::Names {
    let catalogue = s.engine.procedures();
    motcua::sheet::Names::of(catalogue.iter().map(|c| &c.procedure)).with_people(s.auth.people())
}

/// A downloadable file: its media type and the name a browser saves it under.
pub(crate) fn download(body: Vec<u8>, media: &'static str, file: &str) -> Response {
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<motcua::audit::Entry>,
    pub next: Option<String>,
}

fn instant(name: &str, v: &Option<String>) -> Result<Option<jiff::Timestamp>, Problem> {
    v.as_ref()
        .map(|t| {
            t.parse::<jiff::Timestamp>().map_err(|e| {
                Problem::bad_request("invalid_request", format!("{name} '{t}': {e}"))
                    .with("field", serde_json::Value::String(name.into()))
            })
        })
        .transpose()
}

#[utoipa::path(get, path = "/v1/audit", operation_id = "list_audit", tag = "audit", params(AuditParams),
    responses((status = 200, description = "A page of entries (format=json), or every match: streamed as JSON Lines (the stored lines) or CSV (for Excel: UTF-8 byte-order mark, Vietnamese headers, local times, names), or as an .xlsx workbook",
            content((AuditPage = "application/json"), (String = "application/jsonl"), (String = "text/csv"),
                (Workbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, description = "Not an auditor")),
    security(("bearer" = [])))]
pub async fn list(
    State(s): State<Shared>,
    caller: Caller,
    Params(q): Params<AuditParams>,
) -> Result<Response, Problem> {
    caller.require(&s, &[AUDITOR], "reading the audit log")?;
    let filter = Filter {
        dossier: q.dossier,
        actor: q.actor,
        department: q.department,
        procedure: q.procedure,
        action: q.action,
        from: instant("from", &q.from)?,
        to: instant("to", &q.to)?,
    };
    // Checked for every format, as the document states it (an export streams every match
    // and has no use for a page size, but a malformed one is still a malformed request).
    let limit = q.limit.unwrap_or(100);
    if !(1..=motcua::audit::query::MAX_PAGE).contains(&limit) {
        return Err(
            Problem::bad_request("invalid_request", "limit must be 1 to 1000")
                .with("field", serde_json::Value::String("limit".into())),
        );
    }
    if let Some(c) = &q.cursor {
        let well_formed = !c.is_empty()
            && c.len() <= 19
            && !c.starts_with('0')
            && c.bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            return Err(Problem::bad_request(
                "bad_cursor",
                format!("cursor '{c}' is not a sequence number of this log"),
            )
            .with("field", serde_json::Value::String("cursor".into())));
        }
    }
    match q.format.unwrap_or(AuditFormat::Json) {
        AuditFormat::Json => {
            let state = s.clone();
            let page = blocking(move || {
                motcua::audit::query::list(
                    state.engine.store(),
                    &filter,
                    q.cursor.as_deref(),
                    limit,
                )
            })
            .await?
            .map_err(|e| Problem::from(motcua::Error::from(e)))?;
            Ok(json(
                StatusCode::OK,
                &AuditPage {
                    entries: page.entries,
                    next: page.next,
                },
            ))
        }
        AuditFormat::Jsonl => Ok(stream_export(
            s,
            filter,
            motcua::audit::export::Format::Jsonl,
            "jsonl",
        )),
        AuditFormat::Csv => Ok(stream_export(
            s,
            filter,
            motcua::audit::export::Format::Csv,
            "csv",
        )),
        AuditFormat::Xlsx => xlsx_export(s, filter).await,
    }
}

/// The selection as one workbook, built on the blocking pool; too long a selection is the
/// caller's 400, said before any byte is sent.
pub(crate) async fn xlsx_export(s: Shared, filter: Filter) -> Result<Response, Problem> {
    let book = blocking(move || {
        let mut out = Vec::new();
        let names = names(&s);
        motcua::audit::export::export(
            s.engine.store(),
            &filter,
            motcua::audit::export::Format::Xlsx,
            &names,
            &mut out,
        )
        .map(|_| out)
    })
    .await?
    .map_err(|e| match e {
        motcua::audit::export::Error::TooMany => {
            Problem::bad_request("invalid_request", e.to_string())
                .with("field", serde_json::Value::String("format".into()))
        }
        motcua::audit::export::Error::Store(e) => Problem::from(motcua::Error::from(e)),
        other => Problem::internal(other.to_string()),
    })?;
    Ok(download(book, XLSX, "nhat-ky.xlsx"))
}

/// Streams an export through a bounded channel, so memory stays constant however long the log.
pub(crate) fn stream_export(
    s: Shared,
    filter: Filter,
    format: motcua::audit::export::Format,
    name: &str,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, ChannelWriter(tx));
        let names = names(&s);
        // A client that goes away closes the channel; the export stops at its next write.
        let _ = motcua::audit::export::export(s.engine.store(), &filter, format, &names, &mut out);
        let _ = std::io::Write::flush(&mut out);
    });
    let mut res = Body::new(ChannelBody(rx)).into_response();
    let ct = if name == "csv" {
        "text/csv; charset=utf-8"
    } else {
        "application/jsonl"
    };
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    res
}

struct ChannelWriter(tokio::sync::mpsc::Sender<Bytes>);

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Bytes::copy_from_slice(buf))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(http_body::Frame::data(b))))
    }
}

#[derive(Serialize, ToSchema)]
pub struct Verification {
    pub ok: bool,
    pub count: u64,
    pub head: String,
    /// What is wrong, when it is not ok.
    pub error: Option<String>,
    /// Whether dossier records were proved too (only on a store at rest, with `motcua audit
    /// verify`); the server proves the chain up to the head it read.
    pub records: bool,
    /// The files the chain's `attach` entries name, each checked once.
    pub papers: u64,
    /// Each paper missing or altered, naming its dossier, kind, digest and entry.
    pub papers_failed: Vec<String>,
}

/// Verifies the chain up to the head read now, on a store that keeps committing.
pub(crate) fn verify_live(
    s: &super::State,
) -> Result<motcua::audit::Verified, motcua::audit::proof::Error> {
    let options = motcua::audit::VerifyOptions {
        live: true,
        ..Default::default()
    };
    motcua::audit::verify_store(s.engine.store(), &options)
}

#[utoipa::path(get, path = "/v1/audit/verify", operation_id = "verify_audit", tag = "audit",
    responses((status = 200, description = "The chain verified up to the head read at the start", body = Verification),
        (status = 403, description = "Not an auditor"),
        (status = 409, description = "The chain does not verify", body = Verification)),
    security(("bearer" = [])))]
pub async fn verify(State(s): State<Shared>, caller: Caller) -> Result<Response, Problem> {
    caller.require(&s, &[AUDITOR], "verifying the audit log")?;
    let state = s.clone();
    let result = blocking(move || {
        let chain = verify_live(&state)?;
        let papers = motcua::audit::papers::verify(state.engine.store(), state.engine.files())
            .map_err(motcua::audit::proof::Error::Store)?;
        Ok::<_, motcua::audit::proof::Error>((chain, papers))
    })
    .await?;
    Ok(match result {
        Ok((v, papers)) if papers.failed.is_empty() => json(
            StatusCode::OK,
            &Verification {
                ok: true,
                count: v.count,
                head: v.head,
                error: None,
                records: false,
                papers: papers.papers,
                papers_failed: vec![],
            },
        ),
        Ok((v, papers)) => json(
            StatusCode::CONFLICT,
            &Verification {
                ok: false,
                count: v.count,
                head: v.head,
                error: Some(format!("{} papers missing or altered", papers.failed.len())),
                records: false,
                papers: papers.papers,
                papers_failed: papers.failed.iter().map(|f| f.to_string()).collect(),
            },
        ),
        Err(e) => json(
            StatusCode::CONFLICT,
            &Verification {
                ok: false,
                count: 0,
                head: String::new(),
                error: Some(e.to_string()),
                records: false,
                papers: 0,
                papers_failed: vec![],
            },
        ),
    })
}

#[utoipa::path(get, path = "/v1/audit/checkpoint", operation_id = "audit_checkpoint", tag = "audit",
    responses((status = 200, description = "A checkpoint of the head, signed with the agency's key", body = Object),
        (status = 403, description = "Not an auditor"),
        (status = 404, description = "The server was started without --checkpoint-key")),
    security(("bearer" = [])))]
pub async fn checkpoint(State(s): State<Shared>, caller: Caller) -> Result<Response, Problem> {
    caller.require(&s, &[AUDITOR], "taking a checkpoint")?;
    if s.checkpoint_key.is_none() {
        return Err(Problem::said(
            StatusCode::NOT_FOUND,
            "checkpoint_unavailable",
            "this server signs no checkpoints: start it with --checkpoint-key FILE",
        ));
    }
    let state = s.clone();
    let signed = blocking(move || {
        // Only a head that verifies is signed.
        let v = verify_live(&state)
            .map_err(|e| Problem::said(StatusCode::CONFLICT, "audit_broken", e.to_string()))?;
        let key = state
            .checkpoint_key
            .as_ref()
            .ok_or_else(|| Problem::internal("no key"))?;
        key.sign(v.count, &v.head, state.engine.clock().now())
            .map_err(|e| Problem::internal(e.to_string()))
    })
    .await??;
    Ok(json(StatusCode::OK, &signed))
}

/// A report's grouping by its name; `param` names the query parameter in the refusal.
pub(crate) fn report_by(param: &str, name: &str) -> Result<motcua::report::By, Problem> {
    crate::body::by_name::<ReportBy>(name)
        .map(Into::into)
        .ok_or_else(|| {
            Problem::bad_request(
                "invalid_request",
                format!("{param} '{name}': use agency, department, procedure or channel"),
            )
        })
}

/// The on-time report for `query`, on the blocking pool; a reversed period is the caller's 400.
pub(crate) async fn on_time_report(
    s: &Shared,
    query: motcua::report::Query,
) -> Result<motcua::report::Report, Problem> {
    let state = s.clone();
    blocking(move || motcua::report::on_time(state.engine.store(), &query))
        .await?
        .map_err(|e| match e {
            motcua::report::Error::Period { .. } => {
                Problem::bad_request("invalid_request", e.to_string())
            }
            other => Problem::internal(other.to_string()),
        })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// First local day (YYYY-MM-DD).
    #[param(format = Date)]
    pub from: String,
    /// Last local day, included.
    #[param(format = Date)]
    pub to: String,
    /// `agency` (default), `department`, `procedure` or `channel`.
    pub by: Option<ReportBy>,
    /// `json` (default, the figures exactly), `csv` (for Excel: byte-order mark, Vietnamese
    /// headers, names, percentages with a decimal comma) or `xlsx` (an Excel workbook).
    pub format: Option<ReportFormat>,
}

/// What the report's rows are.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum ReportBy {
    Agency,
    Department,
    Procedure,
    Channel,
}

impl From<ReportBy> for motcua::report::By {
    fn from(b: ReportBy) -> motcua::report::By {
        match b {
            ReportBy::Agency => motcua::report::By::Agency,
            ReportBy::Department => motcua::report::By::Department,
            ReportBy::Procedure => motcua::report::By::Procedure,
            ReportBy::Channel => motcua::report::By::Channel,
        }
    }
}

/// How the report answers.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    Json,
    Csv,
    Xlsx,
}

#[utoipa::path(get, path = "/v1/reports/on-time", operation_id = "report_on_time", tag = "reports", params(ReportParams),
    responses((status = 200, description = "The on-time report (Decision 766), as JSON, or for people as CSV (UTF-8 byte-order mark, Vietnamese headers, names, percentages with a decimal comma) or an .xlsx workbook",
            content((Object = "application/json"), (String = "text/csv"),
                (Workbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, description = "Neither an auditor nor an officer")),
    security(("bearer" = [])))]
pub async fn on_time(
    State(s): State<Shared>,
    caller: Caller,
    Params(q): Params<ReportParams>,
) -> Result<Response, Problem> {
    if !caller.who.has(AUDITOR) && !caller.who.is_officer() {
        return Err(caller.forbid(&s, format!("{} may not read reports", caller.who.subject)));
    }
    let day = |name: &str, v: &str| {
        v.parse::<jiff::civil::Date>().map_err(|e| {
            Problem::bad_request("invalid_request", format!("{name} '{v}': {e}"))
                .with("field", serde_json::Value::String(name.into()))
        })
    };
    let by = q.by.unwrap_or(ReportBy::Agency).into();
    let query = motcua::report::Query {
        from: day("from", &q.from)?,
        to: day("to", &q.to)?,
        by,
    };
    let report = on_time_report(&s, query).await?;
    match q.format.unwrap_or(ReportFormat::Json) {
        ReportFormat::Json => Ok(json(StatusCode::OK, &report)),
        ReportFormat::Csv => Ok(report_download(&s, &report, "csv")?),
        ReportFormat::Xlsx => Ok(report_download(&s, &report, "xlsx")?),
    }
}

/// The report as a file people open in Excel: `csv` or `xlsx`.
pub(crate) fn report_download(
    s: &super::State,
    report: &motcua::report::Report,
    kind: &str,
) -> Result<Response, Problem> {
    let sheet = motcua::sheet::report::sheet(report, &names(s));
    let file = format!(
        "bao-cao-dung-han-{}-{}.{kind}",
        report.query.from, report.query.to
    );
    if kind == "csv" {
        Ok(download(
            motcua::sheet::csv::write(&sheet),
            "text/csv; charset=utf-8",
            &file,
        ))
    } else {
        let book =
            motcua::sheet::xlsx::write(&sheet).map_err(|e| Problem::internal(e.to_string()))?;
        Ok(download(book, XLSX, &file))
    }
}
