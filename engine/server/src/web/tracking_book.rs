//! Form 07, the tracking book (sổ theo dõi hồ sơ): an agency's dossiers received in a period,
//! printed on A4 landscape, or downloaded as `.xlsx` or CSV. The same book, access rule and
//! refusals as the API's `GET /v1/reports/tracking-book` (`api::book`): auditors and officers
//! read it, each row a dossier they may read.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use motcua::audit::book;
use serde::Deserialize;

use super::{Html, Screen, Viewer, fmt, labels, page};
use crate::api::Shared;
use crate::api::book::{day, download_book, may_read_books, read};
use crate::auth::{AUDITOR, Principal};
use crate::problem::Problem;

pub fn routes() -> Router<Shared> {
    Router::new().route("/so-theo-doi", get(show))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(rename = "co-quan")]
    co_quan: Option<String>,
    tu: Option<String>,
    den: Option<String>,
    #[serde(rename = "dinh-dang")]
    dinh_dang: Option<String>,
}

struct Row {
    code: String,
    applicant: String,
    applicant_id: String,
    procedure: String,
    procedure_code: String,
    received_at: String,
    appointment: String,
    handovers: Vec<String>,
    result_at: String,
    returned_at: String,
    class: String,
    status: String,
}

#[derive(Template)]
#[template(path = "form_07.html")]
struct Form07 {
    agencies: Vec<(String, String, bool)>,
    agency_name: String,
    tu: String,
    den: String,
    from: String,
    to: String,
    dated: String,
    download: String,
    qr: String,
    rows: Vec<Row>,
}

/// The agencies whose books `who` may open: every agency of the catalogue for an auditor;
/// for an officer, the agencies of procedures in which one of their departments owns a
/// state (those whose dossiers they read). By name, as (id, name).
fn agencies(s: &crate::api::State, who: &Principal) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![];
    for c in s.engine.procedures() {
        let p = &c.procedure;
        let reads = who.has(AUDITOR)
            || p.states.iter().any(|x| {
                x.department
                    .as_ref()
                    .is_some_and(|d| who.departments.contains(d))
            });
        if reads && !out.iter().any(|(id, _)| id == &p.agency.id) {
            out.push((p.agency.id.clone(), p.agency.name.clone()));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

fn some(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
}

async fn show(State(s): State<Shared>, v: Viewer, Query(q): Query<Params>) -> Screen {
    if !may_read_books(v.who()) {
        return Err(v
            .caller
            .forbid(
                &s,
                format!("{} may not read tracking books", v.who().subject),
            )
            .into());
    }
    let today = motcua::report::local_day(s.engine.clock().now());
    let tu = some(&q.tu).unwrap_or_else(|| today.first_of_month().to_string());
    let den = some(&q.den).unwrap_or_else(|| today.to_string());
    let choices = agencies(&s, v.who());
    let agency = some(&q.co_quan)
        .or_else(|| choices.first().map(|(id, _)| id.clone()))
        .unwrap_or_default();
    let query = book::Query {
        agency: agency.clone(),
        from: day("tu", &tu)?,
        to: day("den", &den)?,
    };
    let b = read(&s, v.who(), query).await?;
    match some(&q.dinh_dang).as_deref() {
        None | Some("html") => {}
        Some(kind @ ("xlsx" | "csv")) => return Ok(Html(download_book(&s, &b, kind)?)),
        Some(other) => {
            return Err(Problem::bad_request(
                "invalid_request",
                format!("dinh-dang '{other}': use xlsx or csv"),
            )
            .into());
        }
    }
    let person = |id: &str| super::person(&s, id);
    let when = |t: Option<jiff::Timestamp>| t.map(fmt::when).unwrap_or_default();
    let (from, to) = (fmt::date(b.query.from), fmt::date(b.query.to));
    let payload = super::qr::lines(&[
        ("co_quan", b.query.agency.as_str()),
        ("tu_ngay", from.as_str()),
        ("den_ngay", to.as_str()),
        (super::qr::NAME, "Sổ theo dõi hồ sơ"),
    ]);
    let download = serde_urlencoded::to_string([
        ("co-quan", agency.as_str()),
        ("tu", tu.as_str()),
        ("den", den.as_str()),
    ])
    .unwrap_or_default();
    Ok(Html(page(&Form07 {
        agencies: choices
            .into_iter()
            .map(|(id, name)| {
                let chosen = id == agency;
                (id, name, chosen)
            })
            .collect(),
        agency_name: b.agency_name.clone(),
        from,
        to,
        tu,
        den,
        dated: fmt::long_day(s.engine.clock().now()),
        download,
        qr: super::qr::inline(&payload).map_err(Problem::internal)?,
        rows: b
            .rows
            .iter()
            .map(|r| Row {
                code: r.code.clone(),
                applicant: r.applicant.clone(),
                applicant_id: r.applicant_id.clone(),
                procedure: r.procedure_name.clone(),
                procedure_code: r.procedure_code.clone(),
                received_at: fmt::when(r.received_at),
                appointment: fmt::when(r.appointment),
                handovers: r
                    .handovers
                    .iter()
                    .map(|h| motcua::sheet::book::handover(h, &person))
                    .collect(),
                result_at: when(r.result_at),
                returned_at: when(r.returned_at),
                class: r.class.map(labels::class).unwrap_or_default().to_string(),
                status: labels::status(r.status).to_string(),
            })
            .collect(),
    })))
}
