//! The inspector's screens: the audit log searched with the API's filters, exported, verified
//! live, a signed checkpoint downloaded; and the on-time report (Decision 766) by department,
//! procedure or channel, as a table, a chart drawn on the server, CSV and `.xlsx` (the API's
//! people formats, `motcua::sheet`).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::routing::get;
use motcua::audit::query::Filter;
use serde::Deserialize;

use super::chart;
use super::fmt;
use super::{Html, Nav, Refused, Screen, Viewer, page};
use crate::api::{Shared, blocking};
use crate::auth::AUDITOR;
use crate::problem::Problem;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/kiem-tra", get(search))
        .route("/kiem-tra/xuat", get(export))
        .route("/kiem-tra/xac-minh", get(verify))
        .route("/kiem-tra/checkpoint", get(checkpoint))
        .route("/bao-cao", get(report))
        .route("/bao-cao.csv", get(report_csv))
        .route("/bao-cao.xlsx", get(report_xlsx))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    ho_so: Option<String>,
    nguoi: Option<String>,
    phong: Option<String>,
    thu_tuc: Option<String>,
    hanh_dong: Option<String>,
    /// Local days, YYYY-MM-DD.
    tu: Option<String>,
    den: Option<String>,
    sau: Option<String>,
    format: Option<String>,
}

fn some(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
}

/// A local day's start (Asia/Ho_Chi_Minh) as an instant.
fn day_start(
    name: &str,
    v: &Option<String>,
    next: bool,
) -> Result<Option<jiff::Timestamp>, Problem> {
    match some(v) {
        None => Ok(None),
        Some(text) => crate::body::local_day_start(name, &text, next).map(Some),
    }
}

fn filter_of(q: &SearchParams) -> Result<Filter, Problem> {
    Ok(Filter {
        dossier: some(&q.ho_so),
        actor: some(&q.nguoi),
        department: some(&q.phong),
        procedure: some(&q.thu_tuc),
        action: some(&q.hanh_dong),
        from: day_start("tu", &q.tu, false)?,
        to: day_start("den", &q.den, true)?,
    })
}

pub struct EntryRow {
    seq: u64,
    at: String,
    dossier: String,
    action: String,
    actor: String,
    departments: String,
    moved: String,
    comment: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct Search {
    nav: Nav,
    q: SearchForm,
    entries: Vec<EntryRow>,
    next: Option<String>,
    query: String,
}

#[derive(Default)]
struct SearchForm {
    ho_so: String,
    nguoi: String,
    phong: String,
    thu_tuc: String,
    hanh_dong: String,
    tu: String,
    den: String,
}

fn auditor(s: &crate::api::State, v: &Viewer) -> Result<(), Problem> {
    v.caller.require(s, &[AUDITOR], "reading the audit log")
}

fn query_string(q: &SearchParams) -> String {
    let pairs: Vec<(&str, String)> = [
        ("ho_so", &q.ho_so),
        ("nguoi", &q.nguoi),
        ("phong", &q.phong),
        ("thu_tuc", &q.thu_tuc),
        ("hanh_dong", &q.hanh_dong),
        ("tu", &q.tu),
        ("den", &q.den),
    ]
    .into_iter()
    .filter_map(|(k, v)| some(v).map(|v| (k, v)))
    .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

async fn search(State(s): State<Shared>, v: Viewer, Query(q): Query<SearchParams>) -> Screen {
    auditor(&s, &v)?;
    let filter = filter_of(&q)?;
    let state = s.clone();
    let cursor = q.sau.clone();
    let page_ = blocking(move || {
        motcua::audit::query::list(state.engine.store(), &filter, cursor.as_deref(), 50)
    })
    .await?
    .map_err(|e| Problem::from(motcua::Error::from(e)))?;
    let names = crate::api::audit::names(&s);
    let entries = page_
        .entries
        .iter()
        .map(|e| {
            let states = |ids: &[String]| {
                ids.iter()
                    .map(|id| names.state(&e.procedure, id))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let seen = motcua::messages::errors::InProcedure {
                names: &names,
                procedure: &e.procedure,
            };
            EntryRow {
                seq: e.seq,
                at: fmt::when(e.at),
                dossier: e.dossier.clone(),
                action: names.action(&e.procedure, &e.action),
                actor: names.person(&e.actor),
                departments: e
                    .departments
                    .iter()
                    .map(|d| names.department(d))
                    .collect::<Vec<_>>()
                    .join(", "),
                moved: if e.to.is_empty() {
                    String::new()
                } else {
                    format!("{} → {}", states(&e.from), states(&e.to))
                },
                comment: motcua::messages::events::comment_of(
                    &e.action,
                    &e.actor,
                    e.comment.as_deref(),
                    &e.input,
                    &seen,
                    &|id| names.person(id),
                )
                .unwrap_or_default(),
            }
        })
        .collect();
    let f = |x: &Option<String>| x.clone().unwrap_or_default();
    Ok(Html(page(&Search {
        nav: v.nav("/kiem-tra"),
        q: SearchForm {
            ho_so: f(&q.ho_so),
            nguoi: f(&q.nguoi),
            phong: f(&q.phong),
            thu_tuc: f(&q.thu_tuc),
            hanh_dong: f(&q.hanh_dong),
            tu: f(&q.tu),
            den: f(&q.den),
        },
        entries,
        next: page_.next,
        query: query_string(&q),
    })))
}

async fn export(State(s): State<Shared>, v: Viewer, Query(q): Query<SearchParams>) -> Screen {
    auditor(&s, &v)?;
    let filter = filter_of(&q)?;
    let (format, name) = match q.format.as_deref() {
        Some("jsonl") => (motcua::audit::export::Format::Jsonl, "jsonl"),
        Some("xlsx") => {
            return Ok(Html(crate::api::audit::xlsx_export(s, filter).await?));
        }
        _ => (motcua::audit::export::Format::Csv, "csv"),
    };
    let mut res = crate::api::audit::stream_export(s, filter, format, name);
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"nhat-ky.{name}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(Html(res))
}

#[derive(Template)]
#[template(path = "verify.html")]
struct Verified {
    nav: Nav,
    ok: bool,
    count: u64,
    head: String,
    error: String,
    at: String,
    checkpoint: bool,
}

async fn verify(State(s): State<Shared>, v: Viewer) -> Screen {
    auditor(&s, &v)?;
    let state = s.clone();
    let result = blocking(move || crate::api::audit::verify_live(&state)).await?;
    let at = fmt::when(s.engine.clock().now());
    let (ok, count, head, error) = match result {
        Ok(r) => (true, r.count, r.head, String::new()),
        Err(e) => (false, 0, String::new(), e.to_string()),
    };
    Ok(Html(page(&Verified {
        nav: v.nav("/kiem-tra"),
        ok,
        count,
        head,
        error,
        at,
        checkpoint: s.checkpoint_key.is_some(),
    })))
}

async fn checkpoint(State(s): State<Shared>, v: Viewer) -> Screen {
    auditor(&s, &v)?;
    let mut res = crate::api::audit::checkpoint(State(s), v.caller)
        .await
        .map_err(Refused::from)?;
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"checkpoint.json\""),
    );
    Ok(Html(res))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReportParams {
    tu: Option<String>,
    den: Option<String>,
    theo: Option<String>,
}

struct ReportRow {
    key: String,
    received: i64,
    early: i64,
    on_time: i64,
    late: i64,
    open_overdue: i64,
    rate: String,
    very_satisfied: i64,
    satisfied: i64,
    not_satisfied: i64,
    /// The share of ended dossiers rated.
    rated_share: String,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    nav: Nav,
    tu: String,
    den: String,
    theo: String,
    rows: Vec<ReportRow>,
    total: ReportRow,
    chart: String,
    csv: String,
}

fn may_report(s: &crate::api::State, v: &Viewer) -> Result<(), Problem> {
    if v.who().has(AUDITOR) || v.who().is_officer() {
        Ok(())
    } else {
        Err(v
            .caller
            .forbid(s, format!("{} may not read reports", v.who().subject)))
    }
}

fn report_query(
    s: &crate::api::State,
    q: &ReportParams,
) -> Result<(motcua::report::Query, String, String, String), Problem> {
    let today = motcua::report::local_day(s.engine.clock().now());
    let parse = |name: &str, v: &Option<String>, default: jiff::civil::Date| match some(v) {
        None => Ok(default),
        Some(t) => t
            .parse::<jiff::civil::Date>()
            .map_err(|e| Problem::bad_request("invalid_request", format!("{name} '{t}': {e}"))),
    };
    let from = parse("tu", &q.tu, today.first_of_month())?;
    let to = parse("den", &q.den, today)?;
    let theo = some(&q.theo).unwrap_or_else(|| "department".into());
    let by = crate::api::audit::report_by("theo", &theo)?;
    Ok((
        motcua::report::Query { from, to, by },
        from.to_string(),
        to.to_string(),
        theo,
    ))
}

fn row(r: &motcua::report::Row, key: String) -> ReportRow {
    ReportRow {
        key,
        received: r.received,
        early: r.early,
        on_time: r.on_time,
        late: r.late,
        open_overdue: r.open_overdue,
        rate: r
            .on_time_rate
            .map(|x| format!("{}%", fmt::rate(x)))
            .unwrap_or_else(|| "—".into()),
        very_satisfied: r.very_satisfied,
        satisfied: r.satisfied,
        not_satisfied: r.not_satisfied,
        rated_share: r
            .rated_share
            .map(|x| format!("{}%", fmt::rate(x)))
            .unwrap_or_else(|| "—".into()),
    }
}

async fn report(State(s): State<Shared>, v: Viewer, Query(q): Query<ReportParams>) -> Screen {
    may_report(&s, &v)?;
    let (query, tu, den, theo) = report_query(&s, &q)?;
    let r = crate::api::audit::on_time_report(&s, query).await?;
    let names = crate::api::audit::names(&s);
    let by = r.query.by;
    let bars: Vec<chart::Bar> = r
        .rows
        .iter()
        .map(|x| chart::Bar {
            label: names.group(by, &x.key),
            early: x.early,
            on_time: x.on_time,
            late: x.late,
        })
        .collect();
    let title = format!("Hồ sơ đã giải quyết từ {tu} đến {den}");
    let svg = chart::on_time(&title, &bars).map_err(Problem::internal)?;
    let csv = serde_urlencoded::to_string([("tu", &tu), ("den", &den), ("theo", &theo)])
        .unwrap_or_default();
    Ok(Html(page(&ReportPage {
        nav: v.nav("/bao-cao"),
        rows: r
            .rows
            .iter()
            .map(|x| row(x, names.group(by, &x.key)))
            .collect(),
        total: row(&r.total, motcua::messages::columns::TOTAL.into()),
        chart: svg,
        tu,
        den,
        theo,
        csv,
    })))
}

async fn report_csv(s: State<Shared>, v: Viewer, q: Query<ReportParams>) -> Screen {
    report_file(s, v, q, "csv").await
}

async fn report_xlsx(s: State<Shared>, v: Viewer, q: Query<ReportParams>) -> Screen {
    report_file(s, v, q, "xlsx").await
}

/// The report on screen as a file for Excel, the API's `format=csv|xlsx`.
async fn report_file(
    State(s): State<Shared>,
    v: Viewer,
    Query(q): Query<ReportParams>,
    kind: &str,
) -> Screen {
    may_report(&s, &v)?;
    let (query, ..) = report_query(&s, &q)?;
    let r = crate::api::audit::on_time_report(&s, query).await?;
    Ok(Html(crate::api::audit::report_download(&s, &r, kind)?))
}
