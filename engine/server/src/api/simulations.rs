//! Forecasts over HTTP (issue 30), for portals and integrators: `POST /v1/simulations` runs a
//! scenario (one of the server's by name, or inline) on the catalogue in force, and with a
//! proposed procedure version beside it on the same random streams; `GET
//! /v1/procedures/{procedure}/waits` says how long each step of a procedure really waited,
//! from the store's own audit log. Authors (admins) and officers (leaders) may ask.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use motcua::messages::simulate::refusal;
use motcua::simulate::{self, Scenario};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Caller, Shared, json};
use crate::auth::{ADMIN, Principal};
use crate::body::{Json, Params};
use crate::forecast::{self, Refused};
use crate::problem::Problem;

/// Whether `who` may run forecasts and read observed waits: authors and officers.
pub(crate) fn may_forecast(who: &Principal) -> bool {
    who.has(ADMIN) || who.is_officer()
}

fn forbidden(s: &super::State, caller: &Caller) -> Problem {
    caller.forbid(
        s,
        format!(
            "{} is neither an author (admin) nor an officer: forecasts are theirs",
            caller.who.subject
        ),
    )
}

/// A forecast asked for: one scenario, and optionally a proposed version to compare.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"scenario": "cap-phep-xay-dung"}))]
pub struct SimulationBody {
    /// One of the server's scenarios (`--scenarios`), by its file name without `.yaml`.
    #[serde(default)]
    #[schema(max_length = 128)]
    pub scenario: Option<String>,
    /// Or a scenario's YAML text (schemas/scenario.schema.json); it runs the versions in force
    /// of the procedures its `arrivals` name (its `procedures:` is not read).
    #[serde(default)]
    pub scenario_yaml: Option<String>,
    /// A proposed procedure version's YAML: run in place of the version of its id, on the same
    /// random streams; the answer is then a comparison.
    #[serde(default)]
    pub proposed: Option<String>,
}

/// A refusal of the forecast: 422 with the catalogue's sentence and the technical cause.
pub(crate) fn unprocessable(r: Refused) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_scenario",
        r.detail,
    )
    .with("cause", r.cause.into())
}

/// What a forecast runs: the scenario and the ids of its catalogue.
pub(crate) fn scenario_of(
    s: &super::State,
    name: Option<&str>,
    text: Option<&str>,
) -> Result<(Scenario, Vec<String>), Problem> {
    match (name, text) {
        (Some(name), None) => {
            let n = s.scenarios.get(name).ok_or_else(|| {
                Problem::new(
                    StatusCode::NOT_FOUND,
                    "unknown_scenario",
                    refusal::unknown_scenario(name),
                )
            })?;
            Ok((n.scenario.clone(), n.procedures.clone()))
        }
        (None, Some(text)) => {
            let scenario = Scenario::parse(text, std::path::Path::new("scenario.yaml"))
                .map_err(|e| unprocessable(Refused::of_read(&e)))?;
            let ids = forecast::ids_of(&scenario);
            Ok((scenario, ids))
        }
        _ => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            refusal::ONE_SCENARIO,
        )
        .with(
            "cause",
            "give exactly one of scenario and scenario_yaml".into(),
        )),
    }
}

/// A forecast's answer: an outcome, or a comparison when a version was proposed.
pub(crate) enum Forecast {
    One(Box<simulate::Outcome>),
    Two(Box<simulate::Comparison>),
}

/// Plans and runs a forecast (one at a time, on the blocking pool, within the server's bound).
/// The proposed version is checked and compiled there too: it is up to a megabyte of YAML.
pub(crate) async fn run(
    s: &Shared,
    scenario: Scenario,
    ids: Vec<String>,
    proposed: Option<String>,
) -> Result<Forecast, Problem> {
    let engine = s.engine.clone();
    forecast::run(move || -> Result<Forecast, Problem> {
        let current = forecast::in_force(&engine, &ids).map_err(unprocessable)?;
        let proposed = match proposed {
            Some(source) => {
                let p = forecast::proposed(&source).map_err(unprocessable)?;
                Some(forecast::with_proposed(&current, p).map_err(unprocessable)?)
            }
            None => None,
        };
        let current_plan = forecast::plan_of(&engine, &scenario, current).map_err(unprocessable)?;
        let forecast = match proposed {
            Some(defs) => {
                let p = forecast::plan_of(&engine, &scenario, defs).map_err(unprocessable)?;
                Forecast::Two(Box::new(simulate::compare(&current_plan, &p)))
            }
            None => Forecast::One(Box::new(simulate::simulate(&current_plan))),
        };
        let exhausted = match &forecast {
            Forecast::One(o) => o.exhausted,
            Forecast::Two(c) => c.current.exhausted || c.proposed.exhausted,
        };
        if exhausted {
            return Err(unprocessable(forecast::Refused::said(
                refusal::EXHAUSTED.to_string(),
                format!(
                    "a replication needed more than {} steps, the most the server takes",
                    current_plan.max_transitions.unwrap_or_default()
                ),
            )));
        }
        Ok(forecast)
    })
    .await?
}

#[utoipa::path(post, path = "/v1/simulations", operation_id = "create_simulation", tag = "forecasts",
    request_body = SimulationBody,
    responses(
        (status = 200, description = "The forecast, as `motcua simulate --json` prints it (fields in docs/simulate.md): an outcome, or with `proposed` a comparison `{current, proposed, difference}` on common random numbers",
            content((Object = "application/json"))),
        (status = 403, description = "Neither an author (admin) nor an officer"),
        (status = 404, description = "No scenario of that name (`unknown_scenario`)"),
        (status = 422, description = "The scenario or the proposed version does not fit the catalogue, or asks more work than the server runs (`invalid_scenario`; `detail` says why in Vietnamese, `cause` for integrators)"),
        (status = 503, description = "Another forecast has run on the server for more than 20 s (`busy`): the server runs one at a time; try again")),
    security(("bearer" = [])))]
pub async fn create(
    State(s): State<Shared>,
    caller: Caller,
    Json(body): Json<SimulationBody>,
) -> Result<Response, Problem> {
    if !may_forecast(&caller.who) {
        return Err(forbidden(&s, &caller));
    }
    let (scenario, ids) = scenario_of(&s, body.scenario.as_deref(), body.scenario_yaml.as_deref())?;
    match run(&s, scenario, ids, body.proposed).await? {
        Forecast::One(o) => Ok(json(StatusCode::OK, &o)),
        Forecast::Two(c) => Ok(json(StatusCode::OK, &c)),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WaitsParams {
    /// First local day (YYYY-MM-DD); default 89 days before `to`.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last local day, included (default: today); at most 366 days after `from`.
    #[param(format = Date)]
    pub to: Option<String>,
}

/// Mean, median and 95th percentile, in working hours.
#[derive(Serialize, ToSchema)]
pub struct Hours {
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
}

impl From<simulate::figures::Spread> for Hours {
    fn from(s: simulate::figures::Spread) -> Hours {
        Hours {
            mean: s.mean,
            p50: s.p50,
            p95: s.p95,
        }
    }
}

/// What the log says of one state's officer steps.
#[derive(Serialize, ToSchema)]
pub struct StateWait {
    pub state: String,
    pub label: String,
    /// Steps completed in the period.
    pub steps: u64,
    /// Working hours a step waited for an officer.
    pub wait_hours: Hours,
    /// Working hours of an officer's service.
    pub service_hours: Hours,
}

/// A procedure's observed waits over a period.
#[derive(Serialize, ToSchema)]
pub struct Waits {
    pub procedure: String,
    pub from: String,
    pub to: String,
    /// Audit entries in the period.
    pub entries: u64,
    /// The log was longer than the server reads at once: only its beginning was read.
    pub cut: bool,
    pub states: Vec<StateWait>,
}

/// Days of a waits period at most.
pub const MAX_DAYS: i32 = 366;

/// The period asked for (default: the last 90 local days), or the catalogue's refusal; an
/// empty day is not a day.
pub(crate) fn period(
    s: &super::State,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(jiff::civil::Date, jiff::civil::Date), Problem> {
    let refused = |cause: String| {
        Problem::new(StatusCode::BAD_REQUEST, "invalid_period", refusal::PERIOD)
            .with("cause", cause.into())
    };
    let day = |name: &str, v: &str| {
        v.parse::<jiff::civil::Date>()
            .map_err(|e| refused(format!("{name} '{v}': {e}")))
    };
    let today = s.engine.calendar().local_date(s.engine.clock().now());
    let to = match to {
        Some(t) => day("to", t)?,
        None => today,
    };
    let from = match from {
        Some(f) => day("from", f)?,
        None => to
            .checked_sub(jiff::Span::new().days(89))
            .map_err(|e| refused(e.to_string()))?,
    };
    let days = (to - from).get_days();
    if from > to || days >= MAX_DAYS {
        return Err(refused(format!(
            "from {from} to {to}: from must not be after to, and at most {MAX_DAYS} days"
        )));
    }
    Ok((from, to))
}

/// The observed waits of procedure `id` over the period, on the blocking pool (one read of
/// the log at a time, as forecasts).
pub(crate) async fn observed(
    s: &Shared,
    id: &str,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> Result<Waits, Problem> {
    if s.engine.procedure(id).is_none() {
        return Err(Problem::not_found(
            motcua::messages::requests::procedure_not_found(id),
        ));
    }
    let state = s.clone();
    let procedure = id.to_string();
    let w = forecast::run(move || forecast::waits(&state.engine, &procedure, from, to))
        .await?
        .map_err(|e| Problem::internal(format!("reading the audit log: {e}")))?;
    Ok(Waits {
        procedure: id.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        entries: w.entries,
        cut: w.cut,
        states: w
            .observed
            .into_iter()
            .map(|o| StateWait {
                state: o.state,
                label: o.label,
                steps: o.steps,
                wait_hours: o.wait_hours.into(),
                service_hours: o.service_hours.into(),
            })
            .collect(),
    })
}

#[utoipa::path(get, path = "/v1/procedures/{procedure}/waits", operation_id = "procedure_waits", tag = "forecasts",
    params(("procedure" = String, Path, description = "The procedure's id"), WaitsParams),
    responses((status = 200, body = Waits, description = "Each officer step's wait and service over the period, from the audit log (`motcua simulate --calibrate`'s observations)"),
        (status = 400, description = "A bad period (`invalid_period`)"),
        (status = 403, description = "Neither an author (admin) nor an officer"),
        (status = 404, description = "No such procedure"),
        (status = 503, description = "A forecast has held the server's one slot for more than 20 s (`busy`); try again")),
    security(("bearer" = [])))]
pub async fn waits(
    State(s): State<Shared>,
    caller: Caller,
    Path(procedure): Path<String>,
    Params(q): Params<WaitsParams>,
) -> Result<Response, Problem> {
    if !may_forecast(&caller.who) {
        return Err(forbidden(&s, &caller));
    }
    let (from, to) = period(&s, q.from.as_deref(), q.to.as_deref())?;
    let w = observed(&s, &procedure, from, to).await?;
    Ok(json(StatusCode::OK, &w))
}
