//! Forecasts on the screens (issue 30). The author's "Dự báo" (`POST /thu-tuc/du-bao`): the
//! version being edited (proposed) against the versions in force (current) on a scenario of
//! the server that runs that procedure, on the same random streams, before anything is
//! stored. The leader's forecast (`/lanh-dao/du-bao`): a scenario's on-time rate, queues and
//! officers' utilisation as charts. The leader's waits (`/lanh-dao/cho-doi`): the procedure's
//! diagram coloured by each step's median wait in the store's own audit log. The work is the
//! API's (`api::simulations`), so a screen can ask no more of the server than a request.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use motcua::messages::simulate as words;
use motcua::messages::simulate::screen as w;
use motcua::simulate::figures::{Figures, Interval, Outcome};
use motcua::simulate::{Comparison, Scenario};

use super::forecast_chart::{self as chart, Bar, Line};
use super::{Html, Nav, Screen, Viewer, diagram, fmt, page, page_with};
use crate::api::Shared;
use crate::api::simulations::{self as api, Forecast};
use crate::problem::Problem;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/thu-tuc/du-bao", post(what_if))
        .route("/lanh-dao/du-bao", get(leader_forecast))
        .route("/lanh-dao/cho-doi", get(leader_waits))
}

fn allowed(s: &crate::api::State, v: &Viewer) -> Result<(), Problem> {
    if api::may_forecast(v.who()) {
        Ok(())
    } else {
        Err(v.caller.forbid(
            s,
            format!("{} is neither an author nor an officer", v.who().subject),
        ))
    }
}

/// A row of figures of one procedure (or the total).
pub struct Row {
    pub name: String,
    pub received: String,
    pub ended: String,
    pub rate: String,
    pub processing: String,
}

fn row(f: &Figures, name: &str) -> Row {
    Row {
        name: name.to_string(),
        received: fmt::decimal(f.received, 1),
        ended: fmt::decimal(f.ended, 1),
        rate: words::rate(&f.on_time_rate),
        processing: words::spread(&f.processing_working_days),
    }
}

/// A step's figures.
pub struct StateRow {
    pub label: String,
    pub wait: String,
    pub service: String,
    pub officers: String,
    pub utilisation: String,
    pub queue: String,
}

/// An outcome as the screens show it.
pub struct Shown {
    pub heading: String,
    pub rows: Vec<Row>,
    pub states: Vec<StateRow>,
    pub assumptions: Vec<String>,
}

fn shown(o: &Outcome) -> Shown {
    let mut rows: Vec<Row> = o
        .procedures
        .iter()
        .map(|f| row(f, f.name.as_deref().unwrap_or_default()))
        .collect();
    rows.push(row(&o.total, w::TOTAL));
    let heading = words::table(o)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    Shown {
        heading,
        rows,
        states: o
            .states
            .iter()
            .map(|s| StateRow {
                label: s.label.clone(),
                wait: format!(
                    "{} / {}",
                    fmt::decimal(s.wait_hours.mean, 1),
                    fmt::decimal(s.wait_hours.p95, 1)
                ),
                service: fmt::decimal(s.service_hours, 1),
                officers: s
                    .officers
                    .map_or_else(|| w::ENOUGH.to_string(), |n| n.to_string()),
                utilisation: s
                    .utilisation
                    .map_or_else(|| "—".to_string(), |u| words::percent(u.mean)),
                queue: fmt::decimal(s.queue_mean, 1),
            })
            .collect(),
        assumptions: o.assumptions.iter().map(words::assumption).collect(),
    }
}

fn bar(label: &str, group: usize, i: &Option<Interval>) -> Option<Bar> {
    let i = (*i)?;
    Some(Bar {
        label: label.to_string(),
        group,
        mean: i.mean,
        low: i.low,
        high: i.high,
    })
}

fn figures_name(f: &Figures) -> String {
    f.name.clone().unwrap_or_else(|| w::TOTAL.to_string())
}

/// The on-time rate of each procedure and the total, with its interval.
fn rate_chart(outcomes: &[(&Outcome, &str)]) -> String {
    let mut bars = vec![];
    let first = outcomes.first().map(|(o, _)| *o);
    let rows: Vec<&Figures> = first
        .map(|o| {
            o.procedures
                .iter()
                .chain(std::iter::once(&o.total))
                .collect()
        })
        .unwrap_or_default();
    for (k, f) in rows.iter().enumerate() {
        for (g, (o, _)) in outcomes.iter().enumerate() {
            let same = if k < o.procedures.len() {
                o.procedures.get(k)
            } else {
                Some(&o.total)
            };
            if let Some(b) = same.and_then(|x| bar(&figures_name(f), g, &x.on_time_rate)) {
                bars.push(b);
            }
        }
    }
    let legend: Vec<&str> = outcomes.iter().map(|(_, n)| *n).collect();
    chart::shares(w::ON_TIME, &bars, &legend, &|x| words::percent(x))
}

fn utilisation_chart(o: &Outcome) -> String {
    let bars: Vec<Bar> = o
        .pools
        .iter()
        .filter_map(|p| {
            bar(
                &format!("{} – {}", p.role_name, p.department_name),
                0,
                &p.utilisation,
            )
        })
        .collect();
    chart::shares(w::UTILISATION, &bars, &[], &|x| words::percent(x))
}

fn queue_chart(o: &Outcome) -> String {
    let days: Vec<String> = o
        .queue_at
        .iter()
        .map(|t| fmt::date_of(*t).chars().take(5).collect())
        .collect();
    let series: Vec<Line> = o
        .states
        .iter()
        .filter(|s| s.queue.iter().any(|q| *q > 0.0))
        .map(|s| Line {
            label: s.label.clone(),
            values: s.queue.clone(),
        })
        .collect();
    chart::lines(w::QUEUE, w::QUEUE_AXIS, &days, &series)
}

/// A scenario to pick: (its file's name, what people read, chosen).
type Choice = (String, String, bool);

pub(crate) fn choices(s: &crate::api::State, only: Option<&str>, chosen: &str) -> Vec<Choice> {
    s.scenarios
        .0
        .iter()
        .filter(|n| only.is_none_or(|id| n.procedures.iter().any(|p| p == id)))
        .map(|n| {
            let label = n
                .scenario
                .name
                .clone()
                .unwrap_or_else(|| n.procedure_names.join(", "));
            (n.name.clone(), label, n.name == chosen)
        })
        .collect()
}

/// The difference of one procedure (or the total).
pub struct DiffRow {
    pub name: String,
    pub rate: String,
    pub days: String,
}

/// A step's wait, current beside proposed.
pub struct WaitPair {
    pub label: String,
    pub current: String,
    pub proposed: String,
}

#[derive(Template)]
#[template(path = "forecast_what_if.html")]
struct WhatIf {
    nav: Nav,
    source: String,
    scenarios: Vec<Choice>,
    error: String,
    ran: bool,
    current: Option<Shown>,
    proposed: Option<Shown>,
    difference: Vec<DiffRow>,
    waits: Vec<WaitPair>,
    rate_svg: String,
}

fn differences(c: &Comparison) -> Vec<DiffRow> {
    c.difference
        .iter()
        .map(|d| DiffRow {
            name: words::difference_name(c, d),
            rate: words::points(&d.on_time_rate),
            days: words::days_difference(&d.processing_working_days),
        })
        .collect()
}

fn wait_pairs(c: &Comparison) -> Vec<WaitPair> {
    c.current
        .states
        .iter()
        .map(|s| WaitPair {
            label: s.label.clone(),
            current: fmt::decimal(s.wait_hours.mean, 1),
            proposed: c
                .proposed
                .states
                .iter()
                .find(|x| x.procedure == s.procedure && x.state == s.state)
                .map_or_else(|| "—".to_string(), |x| fmt::decimal(x.wait_hours.mean, 1)),
        })
        .collect()
}

/// The author's what-if: the posted source as the proposed version on the chosen scenario.
async fn what_if(State(s): State<Shared>, v: Viewer, headers: HeaderMap, body: Bytes) -> Screen {
    allowed(&s, &v)?;
    let posted = v.posted(&s, &headers, &body)?;
    let source = posted.get("source").unwrap_or("").replace("\r\n", "\n");
    let chosen = posted.get("scenario").unwrap_or("").to_string();
    let id = motcua::procedure::load_str(&source, "upload.yaml")
        .procedure
        .map(|p| p.id);
    let mut page_of = WhatIf {
        nav: v.nav("/thu-tuc"),
        scenarios: choices(&s, id.as_deref(), &chosen),
        source,
        error: String::new(),
        ran: false,
        current: None,
        proposed: None,
        difference: vec![],
        waits: vec![],
        rate_svg: String::new(),
    };
    let refused = |mut p: WhatIf, detail: String| {
        p.error = detail;
        Ok(Html(page_with(StatusCode::UNPROCESSABLE_ENTITY, &p)))
    };
    if page_of.scenarios.is_empty() {
        let detail = w::NO_SCENARIO.to_string();
        return refused(page_of, detail);
    }
    let name = if chosen.is_empty() {
        page_of.scenarios[0].0.clone()
    } else {
        chosen
    };
    let run = async {
        let (scenario, ids) = api::scenario_of(&s, Some(&name), None)?;
        api::run(&s, scenario, ids, Some(page_of.source.clone())).await
    };
    match run.await {
        Ok(Forecast::Two(c)) => {
            page_of.rate_svg = rate_chart(&[(&c.current, w::CURRENT), (&c.proposed, w::PROPOSED)]);
            page_of.difference = differences(&c);
            page_of.waits = wait_pairs(&c);
            page_of.current = Some(shown(&c.current));
            page_of.proposed = Some(shown(&c.proposed));
            page_of.ran = true;
            for ch in &mut page_of.scenarios {
                ch.2 = ch.0 == name;
            }
            Ok(Html(page(&page_of)))
        }
        Ok(Forecast::One(_)) => Err(Problem::internal("a what-if ran without its proposal").into()),
        Err(p) if p.status.is_client_error() => refused(page_of, p.detail),
        Err(p) => Err(p.into()),
    }
}

#[derive(serde::Deserialize, Default)]
struct ForecastParams {
    #[serde(rename = "kich-ban")]
    kich_ban: Option<String>,
}

#[derive(Template)]
#[template(path = "forecast_leader.html")]
struct LeaderForecast {
    nav: Nav,
    scenarios: Vec<Choice>,
    error: String,
    shown: Option<Shown>,
    rate_svg: String,
    queue_svg: String,
    utilisation_svg: String,
}

async fn leader_forecast(
    State(s): State<Shared>,
    v: Viewer,
    Query(q): Query<ForecastParams>,
) -> Screen {
    allowed(&s, &v)?;
    let name = q
        .kich_ban
        .filter(|n| !n.is_empty())
        .or_else(|| s.scenarios.0.first().map(|n| n.name.clone()));
    let mut shown_page = LeaderForecast {
        nav: v.nav("/lanh-dao"),
        scenarios: choices(&s, None, name.as_deref().unwrap_or_default()),
        error: String::new(),
        shown: None,
        rate_svg: String::new(),
        queue_svg: String::new(),
        utilisation_svg: String::new(),
    };
    let Some(name) = name else {
        shown_page.error = w::NO_SCENARIO.to_string();
        return Ok(Html(page(&shown_page)));
    };
    let run = async {
        let (scenario, ids): (Scenario, Vec<String>) = api::scenario_of(&s, Some(&name), None)?;
        api::run(&s, scenario, ids, None).await
    };
    match run.await {
        Ok(Forecast::One(o)) => {
            shown_page.rate_svg = rate_chart(&[(&o, w::FORECAST)]);
            shown_page.queue_svg = queue_chart(&o);
            shown_page.utilisation_svg = utilisation_chart(&o);
            shown_page.shown = Some(shown(&o));
            Ok(Html(page(&shown_page)))
        }
        Ok(Forecast::Two(_)) => Err(Problem::internal("a forecast ran a comparison").into()),
        Err(p) if p.status.is_client_error() => {
            shown_page.error = p.detail;
            Ok(Html(page_with(p.status, &shown_page)))
        }
        Err(p) => Err(p.into()),
    }
}

#[derive(serde::Deserialize, Default)]
struct WaitsParams {
    #[serde(rename = "thu-tuc")]
    thu_tuc: Option<String>,
    tu: Option<String>,
    den: Option<String>,
}

/// A step's observed wait, as the table under the diagram shows it.
pub struct WaitRow {
    pub label: String,
    pub steps: u64,
    pub median: String,
    pub p95: String,
    pub service: String,
    pub fill: &'static str,
}

#[derive(Template)]
#[template(path = "forecast_waits.html")]
struct LeaderWaits {
    nav: Nav,
    /// (id, name, chosen)
    procedures: Vec<(String, String, bool)>,
    from: String,
    to: String,
    error: String,
    rows: Vec<WaitRow>,
    cut: String,
    svg: String,
    scale: Vec<(&'static str, &'static str)>,
}

async fn leader_waits(State(s): State<Shared>, v: Viewer, Query(q): Query<WaitsParams>) -> Screen {
    allowed(&s, &v)?;
    let mut all: Vec<(String, String)> = s
        .engine
        .procedures()
        .iter()
        .map(|c| (c.procedure.id.clone(), c.procedure.name.clone()))
        .collect();
    all.sort();
    // By default the first procedure a scenario forecasts (the one the leader is watching),
    // else the first by id.
    let watched = s
        .scenarios
        .0
        .iter()
        .flat_map(|n| n.procedures.iter())
        .find(|p| all.iter().any(|x| &x.0 == *p))
        .cloned();
    let id = q
        .thu_tuc
        .filter(|x| !x.is_empty())
        .or(watched)
        .or_else(|| all.first().map(|x| x.0.clone()))
        .unwrap_or_default();
    let mut shown_page = LeaderWaits {
        nav: v.nav("/lanh-dao"),
        procedures: all
            .iter()
            .map(|(i, n)| (i.clone(), n.clone(), *i == id))
            .collect(),
        from: String::new(),
        to: String::new(),
        error: String::new(),
        rows: vec![],
        cut: String::new(),
        svg: String::new(),
        scale: w::SCALE.to_vec(),
    };
    let (from, to) = match api::period(
        &s,
        q.tu.as_deref().filter(|x| !x.is_empty()),
        q.den.as_deref().filter(|x| !x.is_empty()),
    ) {
        Ok(p) => p,
        Err(p) => {
            shown_page.error = p.detail;
            return Ok(Html(page_with(p.status, &shown_page)));
        }
    };
    shown_page.from = from.to_string();
    shown_page.to = to.to_string();
    let Some(c) = s.engine.procedure(&id) else {
        return Err(
            Problem::not_found(motcua::messages::requests::procedure_not_found(&id)).into(),
        );
    };
    let observed = api::observed(&s, &id, from, to).await?;
    if observed.cut {
        shown_page.cut = words::refusal::cut(crate::forecast::MAX_ENTRIES);
    }
    let marks: std::collections::BTreeMap<String, diagram::Mark> = observed
        .states
        .iter()
        .map(|o| {
            (
                o.state.clone(),
                diagram::Mark {
                    fill: words::wait_fill(o.wait_hours.p50),
                    line: words::median_wait(o.wait_hours.p50, o.steps),
                },
            )
        })
        .collect();
    shown_page.rows = observed
        .states
        .iter()
        .map(|o| WaitRow {
            label: o.label.clone(),
            steps: o.steps,
            median: fmt::decimal(o.wait_hours.p50, 1),
            p95: fmt::decimal(o.wait_hours.p95, 1),
            service: fmt::decimal(o.service_hours.p50, 1),
            fill: words::wait_fill(o.wait_hours.p50),
        })
        .collect();
    let drawn =
        crate::api::blocking(move || diagram::svg_marked(&c.procedure, &[], &marks, 75)).await?;
    match drawn {
        Ok(svg) => shown_page.svg = svg,
        Err(e) => shown_page.error = e,
    }
    Ok(Html(page(&shown_page)))
}
