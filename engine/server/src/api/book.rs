//! The tracking book (sổ theo dõi hồ sơ, form 07) over the API: an agency's dossiers received
//! in a period, as JSON, CSV or `.xlsx`. Who may read it: auditors and officers, as the
//! on-time report; its rows are the dossiers the caller may read (`access::may_read`), since
//! each names its applicant.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use motcua::audit::book::{self, Book};
use serde::Deserialize;
use utoipa::IntoParams;

use super::audit::{ReportFormat, Workbook, XLSX, download, names};
use super::{Caller, Shared, blocking, json};
use crate::auth::{AUDITOR, Principal};
use crate::body::Params;
use crate::problem::Problem;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BookParams {
    /// The agency's electronic id, as its procedures and dossier codes carry it
    /// (e.g. `000.20.31.H17`).
    pub agency: String,
    /// First local day of receipt (YYYY-MM-DD).
    #[param(format = Date)]
    pub from: String,
    /// Last local day, included; at most 366 days after `from`, counting both.
    #[param(format = Date)]
    pub to: String,
    /// `json` (default: every row's instants and ids exactly), `csv` (for Excel: byte-order
    /// mark, Vietnamese headers, local times, names) or `xlsx` (an Excel workbook).
    pub format: Option<ReportFormat>,
}

/// Whether `who` may read tracking books at all.
pub(crate) fn may_read_books(who: &Principal) -> bool {
    who.has(AUDITOR) || who.is_officer()
}

/// A local day of the period, or the catalogue's refusal naming the rule.
pub(crate) fn day(name: &str, v: &str) -> Result<jiff::civil::Date, Problem> {
    v.parse::<jiff::civil::Date>()
        .map_err(|e| period_refused(format!("{name} '{v}': {e}")).with("field", name.into()))
}

fn period_refused(cause: String) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid_period",
        motcua::messages::requests::book_period(book::MAX_DAYS),
    )
    .with("cause", cause.into())
}

/// The book of `query` as `who` may read it, on the blocking pool.
pub(crate) async fn read(s: &Shared, who: &Principal, query: book::Query) -> Result<Book, Problem> {
    let state = s.clone();
    let who = who.clone();
    blocking(move || {
        book::read(&state.engine, &query, &mut |d, p| {
            crate::access::may_read(&who, d, p)
        })
    })
    .await?
    .map_err(|e| match e {
        book::Error::Period { .. } => period_refused(e.to_string()),
        book::Error::Agency(_) => Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            motcua::messages::requests::bad_agency(),
        )
        .with("cause", e.to_string().into()),
        book::Error::TooMany { max } => Problem::new(
            StatusCode::BAD_REQUEST,
            "book_too_large",
            motcua::messages::requests::book_too_large(max),
        )
        .with("cause", e.to_string().into()),
        other => Problem::internal(other.to_string()),
    })
}

/// The book as a file people open in Excel: `csv` or `xlsx`.
pub(crate) fn download_book(
    s: &super::State,
    book: &Book,
    kind: &str,
) -> Result<Response, Problem> {
    let sheet = motcua::sheet::book::sheet(book, &names(s));
    let file = format!(
        "so-theo-doi-{}-{}-{}.{kind}",
        book.query.agency, book.query.from, book.query.to
    );
    if kind == "csv" {
        Ok(download(
            motcua::sheet::csv::write(&sheet),
            "text/csv; charset=utf-8",
            &file,
        ))
    } else {
        let bytes =
            motcua::sheet::xlsx::write(&sheet).map_err(|e| Problem::internal(e.to_string()))?;
        Ok(download(bytes, XLSX, &file))
    }
}

#[utoipa::path(get, path = "/v1/reports/tracking-book", operation_id = "report_tracking_book", tag = "reports", params(BookParams),
    responses((status = 200, description = "The tracking book (form 07): every dossier the agency received on the period's local days that the caller may read, in receipt order, with applicant, procedure and its national code, receipt, appointment, handovers, result and return instants and class; as JSON, or for people as CSV (UTF-8 byte-order mark, Vietnamese headers, local times, names) or an .xlsx workbook",
            content((Object = "application/json"), (String = "text/csv"),
                (Workbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, description = "Neither an auditor nor an officer")),
    security(("bearer" = [])))]
pub async fn tracking_book(
    State(s): State<Shared>,
    caller: Caller,
    Params(q): Params<BookParams>,
) -> Result<Response, Problem> {
    if !may_read_books(&caller.who) {
        return Err(caller.forbid(
            &s,
            format!("{} may not read tracking books", caller.who.subject),
        ));
    }
    let query = book::Query {
        agency: q.agency,
        from: day("from", &q.from)?,
        to: day("to", &q.to)?,
    };
    let book = read(&s, &caller.who, query).await?;
    match q.format.unwrap_or(ReportFormat::Json) {
        ReportFormat::Json => Ok(json(StatusCode::OK, &book)),
        ReportFormat::Csv => download_book(&s, &book, "csv"),
        ReportFormat::Xlsx => download_book(&s, &book, "xlsx"),
    }
}
