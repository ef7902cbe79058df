//! Tìm hồ sơ: staff search and the all-dossiers list. A citizen phones; the desk types a
//! name without accents, part of a code, an id or a phone number, and finds the dossier
//! wherever it is now. The screen is `GET /v1/dossiers?q=…` for the signed-in officer or
//! auditor ([`crate::api::dossiers::find`]): the same filters, the same reading rule.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;

use super::{Html, Nav, Screen, Viewer, fmt, labels, page};
use crate::api::dossiers::{ListParams, ScopeName, SortName, find};
use crate::api::views::status_label;
use crate::api::{Shared, blocking};
use crate::auth::AUDITOR;
use crate::body::by_name;

pub fn routes() -> Router<Shared> {
    Router::new().route("/tim-kiem", get(search))
}

/// The form's fields, as typed (empty means "any").
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    thu_tuc: String,
    #[serde(default)]
    trang_thai: String,
    #[serde(default)]
    phong: String,
    #[serde(default)]
    kenh: String,
    #[serde(default)]
    tu: String,
    #[serde(default)]
    den: String,
    #[serde(default)]
    pham_vi: String,
    #[serde(default)]
    sap_xep: String,
    sau: Option<String>,
    /// A download of the whole list for Excel: `csv` or `xlsx`.
    #[serde(default)]
    tai: String,
}

/// How many dossiers a downloaded list holds at most (pages of the listing read in turn).
const EXPORT_ROWS: usize = 5_000;

/// A wire enum chosen by its serde name; empty is "any".
fn pick<T: serde::de::DeserializeOwned>(v: &str) -> Result<Option<T>, String> {
    match some(v) {
        None => Ok(None),
        Some(v) => by_name(&v).map(Some).ok_or(v),
    }
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

impl SearchParams {
    /// The API's parameters; a choice the lists do not offer is a refusal, not "any".
    fn to_api(&self) -> Result<ListParams, String> {
        let status = match some(&self.trang_thai) {
            None => None,
            Some(t) => Some(
                t.parse::<u8>()
                    .ok()
                    .filter(|n| (1..=10).contains(n))
                    .ok_or("Trạng thái không có trong danh sách.")?,
            ),
        };
        Ok(ListParams {
            q: some(&self.q),
            procedure: some(&self.thu_tuc),
            department: some(&self.phong),
            status,
            channel: pick(&self.kenh).map_err(|v| format!("Kênh '{v}' không có."))?,
            received_from: some(&self.tu),
            received_to: some(&self.den),
            scope: pick(&self.pham_vi).map_err(|v| format!("Phạm vi '{v}' không có."))?,
            sort: pick(&self.sap_xep).map_err(|v| format!("Thứ tự '{v}' không có."))?,
            cursor: self.sau.clone(),
            ..Default::default()
        })
    }

    /// The query string of this search, without a cursor.
    fn query(&self) -> String {
        let pairs = [
            ("q", &self.q),
            ("thu_tuc", &self.thu_tuc),
            ("trang_thai", &self.trang_thai),
            ("phong", &self.phong),
            ("kenh", &self.kenh),
            ("tu", &self.tu),
            ("den", &self.den),
            ("pham_vi", &self.pham_vi),
            ("sap_xep", &self.sap_xep),
        ];
        let mut out = String::new();
        for (k, v) in pairs.iter().filter(|(_, v)| !v.trim().is_empty()) {
            out.push_str(&format!("{k}={}&", super::urlencode(v.trim())));
        }
        out
    }

    /// The address of this search with cursor `after`.
    fn link(&self, after: &str) -> String {
        format!("/tim-kiem?{}sau={}", self.query(), super::urlencode(after))
    }
}

/// One dossier found.
struct Hit {
    code: String,
    procedure: String,
    applicant: String,
    applicant_id: String,
    status: String,
    /// Where it is now: the active steps and their departments, or how it ended.
    place: String,
    received: String,
    received_at: jiff::Timestamp,
    appointment: String,
    /// `overdue` when past its appointment with the clock running.
    class: &'static str,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    nav: Nav,
    q: SearchParams,
    procedures: Vec<(String, String)>,
    departments: Vec<(String, String)>,
    statuses: Vec<(u8, &'static str)>,
    /// Whether any field was filled or the list asked for.
    asked: bool,
    hits: Vec<Hit>,
    next: Option<String>,
    truncated: bool,
    error: Option<String>,
    /// This search's query string, for the downloads.
    query: String,
}

async fn search(State(s): State<Shared>, v: Viewer, Query(q): Query<SearchParams>) -> Screen {
    let who = v.who().clone();
    if !who.is_officer() && !who.has(AUDITOR) {
        let reason = format!("{} may not search dossiers (staff only)", who.subject);
        return Err(v.caller.forbid(&s, reason).into());
    }
    let catalogue = s.engine.procedures();
    let procedures: Vec<(String, String)> = catalogue
        .iter()
        .map(|c| (c.procedure.id.clone(), c.procedure.name.clone()))
        .collect();
    let mut names: Vec<(String, String)> = catalogue
        .iter()
        .flat_map(|c| c.procedure.departments.iter())
        .map(|d| (d.id.clone(), d.name.clone()))
        .collect();
    names.sort();
    names.dedup_by(|a, b| a.0 == b.0);
    // The filter offers the departments the caller may list (an officer's own).
    let departments: Vec<(String, String)> = names
        .iter()
        .filter(|(id, _)| who.has(AUDITOR) || who.departments.contains(id))
        .cloned()
        .collect();
    let department_name = |id: &str| department_of(&names, id);
    let asked = q.sau.is_some()
        || [
            &q.q,
            &q.thu_tuc,
            &q.trang_thai,
            &q.phong,
            &q.kenh,
            &q.tu,
            &q.den,
        ]
        .iter()
        .any(|f| !f.trim().is_empty())
        || !q.pham_vi.is_empty()
        || !q.sap_xep.is_empty();
    let mut shown = SearchPage {
        nav: v.nav("/tim-kiem"),
        q: q.clone(),
        procedures,
        departments: departments.clone(),
        statuses: (1..=10).map(|n| (n, status_label(n))).collect(),
        asked,
        hits: vec![],
        next: None,
        truncated: false,
        error: None,
        query: q.query(),
    };
    let params = match q.to_api() {
        Ok(p) => p,
        Err(e) => {
            shown.error = Some(e);
            return Ok(Html(page(&shown)));
        }
    };
    let scope_closed = matches!(params.scope, Some(ScopeName::Closed | ScopeName::All));
    let params = ListParams {
        // Handled dossiers have no due time left: a list of them goes newest first.
        sort: params.sort.or(scope_closed.then_some(SortName::Received)),
        ..params
    };
    let download = match q.tai.as_str() {
        "" => None,
        "csv" => Some(false),
        "xlsx" => Some(true),
        other => {
            shown.error = Some(format!("Định dạng tải về '{other}' không có."));
            return Ok(Html(page(&shown)));
        }
    };
    if let Some(xlsx) = download {
        let state = s.clone();
        let caller = v.caller.clone();
        let names = names.clone();
        let hits = blocking(move || {
            let department_name = |id: &str| department_of(&names, id);
            let mut all = vec![];
            let mut params = params;
            loop {
                let found = find(&state, &caller, params.clone())?;
                let now = state.engine.clock().now();
                all.extend(
                    found
                        .dossiers
                        .iter()
                        .map(|(d, c)| hit(d, c, now, &department_name)),
                );
                match found.next {
                    Some(n) if all.len() < EXPORT_ROWS => params.cursor = Some(n),
                    _ => break,
                }
            }
            Ok::<_, crate::problem::Problem>(all)
        })
        .await??;
        return Ok(Html(sheet(&hits, xlsx)?));
    }
    let state = s.clone();
    let caller = v.caller.clone();
    let found = blocking(move || find(&state, &caller, params)).await?;
    let found = match found {
        Ok(f) => f,
        Err(p) if p.status.is_client_error() && p.status.as_u16() != 403 => {
            shown.error = Some(p.detail.clone());
            return Ok(Html(page(&shown)));
        }
        Err(p) => return Err(p.into()),
    };
    let now = s.engine.clock().now();
    shown.hits = found
        .dossiers
        .iter()
        .map(|(d, c)| hit(d, c, now, &department_name))
        .collect();
    shown.next = found.next.as_deref().map(|n| q.link(n));
    shown.truncated = found.truncated;
    Ok(Html(page(&shown)))
}

/// A department's name from the catalogue's (id, name) pairs.
fn department_of(names: &[(String, String)], id: &str) -> String {
    names
        .iter()
        .find(|(d, _)| d == id)
        .map_or_else(|| id.to_string(), |(_, n)| n.clone())
}

/// One dossier as the list shows it.
fn hit(
    d: &motcua::dossier::Dossier,
    c: &motcua::catalog::Compiled,
    now: jiff::Timestamp,
    department_name: &dyn Fn(&str) -> String,
) -> Hit {
    let p = &c.procedure;
    let place = match &d.ending {
        Some(e) => p
            .state(&e.state)
            .map_or_else(|| e.state.clone(), |x| x.label.clone()),
        None => d
            .tokens
            .iter()
            .filter(|t| !t.waiting)
            .map(|t| {
                let label = p
                    .state(&t.state)
                    .map_or_else(|| t.state.clone(), |x| x.label.clone());
                match &t.department {
                    Some(dep) => format!("{label} ({})", department_name(dep)),
                    None => label,
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
    };
    Hit {
        code: d.code.clone(),
        procedure: p.name.clone(),
        applicant: d.applicant.name.clone(),
        applicant_id: d.applicant.id.clone(),
        status: status_label(d.status).to_string(),
        place,
        received: fmt::when(d.clock.received_at),
        received_at: d.clock.received_at,
        appointment: if d.clock.paused_since.is_some() && d.is_open() {
            labels::clock(Some(motcua::deadline::ClockState::Paused)).to_string()
        } else {
            fmt::appointment(d.clock.due_at)
        },
        class: if d.is_overdue_at(now) { "overdue" } else { "" },
    }
}

/// The list as a spreadsheet download (CSV for Excel, or `.xlsx`).
fn sheet(hits: &[Hit], xlsx: bool) -> Result<axum::response::Response, crate::problem::Problem> {
    use motcua::sheet::{Cell, Sheet};
    let sheet = Sheet {
        name: motcua::messages::columns::SHEET_SEARCH,
        header: motcua::messages::columns::SEARCH
            .iter()
            .map(|h| h.to_string())
            .collect(),
        rows: hits
            .iter()
            .map(|h| {
                vec![
                    Cell::text(&h.code),
                    Cell::text(&h.procedure),
                    Cell::text(&h.applicant),
                    Cell::text(&h.applicant_id),
                    Cell::text(&h.status),
                    Cell::text(&h.place),
                    Cell::Time(h.received_at),
                    Cell::text(&h.appointment),
                ]
            })
            .collect(),
    };
    if xlsx {
        let bytes = motcua::sheet::xlsx::write(&sheet)
            .map_err(|e| crate::problem::Problem::internal(e.to_string()))?;
        Ok(crate::api::audit::download(
            bytes,
            crate::api::audit::XLSX,
            "ho-so.xlsx",
        ))
    } else {
        Ok(crate::api::audit::download(
            motcua::sheet::csv::write(&sheet),
            "text/csv; charset=utf-8",
            "ho-so.csv",
        ))
    }
}
