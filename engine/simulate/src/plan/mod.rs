//! A scenario checked against its catalogue: every procedure, state, action, role and
//! department it names exists; probabilities sum to one; each time has the parameters its
//! distribution needs, in the right kind of time. What the scenario leaves out is said in
//! [`Plan::assumptions`] rather than guessed silently.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use motcua_core::deadline::WorkingCalendar;
use motcua_core::dossier::Channel;
use motcua_core::dossier::definition::Definition;
use motcua_core::procedure::{By, StateKind};
use serde::Serialize;

use crate::random::Distribution;

mod catalogue;
mod checks;
mod problem;

pub use problem::Problem;

use crate::scenario::{CalendarChoice, Discipline, Scenario};
use crate::span::Span;
pub use catalogue::{load_catalogue, procedure_files, with_proposed};
pub use checks::distribution;
use checks::{main_paths, multiplier, probability, shares_sum_to_one, states_named};

/// Why a scenario does not fit its catalogue; `at` is where in the scenario.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("{at}: {problem}")]
    Field { at: String, problem: Problem },
    #[error("the procedures do not load:\n{0}")]
    Procedures(String),
}

fn field(at: impl Into<String>, problem: Problem) -> PlanError {
    PlanError::Field {
        at: at.into(),
        problem,
    }
}

/// Something the scenario did not say, and what the simulation does about it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Assumption {
    /// No `service` line: the step takes no officer time.
    NoService {
        procedure: String,
        state: String,
        label: String,
    },
    /// No officers listed for the pair: as many as needed, so no one waits.
    Unstaffed {
        role: String,
        department: String,
        role_name: String,
        department_name: String,
    },
    /// An automatic step: its plugin is not run; the action is drawn from `branching` (or the
    /// shortest way to a result), at once.
    PluginNotRun {
        procedure: String,
        state: String,
        label: String,
    },
    /// A state with several ways out and no `branching` line: every dossier takes the
    /// action on its shortest way to a result.
    MainPath {
        procedure: String,
        state: String,
        label: String,
    },
    /// No `response` for an applicant's state: the applicant acts at once.
    NoResponse {
        procedure: String,
        state: String,
        label: String,
    },
}

/// One procedure's arrivals.
#[derive(Debug, Clone)]
pub struct ArrivalPlan {
    pub procedure: usize,
    /// Mean arrivals per hour (working hours when `working`).
    pub per_hour: f64,
    /// Arrivals come in office hours only (a rate per working day).
    pub working: bool,
    /// Rate multipliers by weekday (Monday first) and local hour; `peak` is their largest
    /// product, the rate thinning starts from.
    pub weekday: [f64; 7],
    pub hour: [f64; 24],
    pub peak: f64,
    pub channels: Vec<(Channel, f64)>,
    pub data: serde_json::Value,
}

/// Officers of one role in one department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pool {
    pub role: String,
    pub department: String,
    /// `None`: not listed, as many as needed.
    pub officers: Option<u32>,
}

/// A scenario ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub start: Timestamp,
    /// Figures count from here (after the warm-up) …
    pub counted_from: Timestamp,
    /// … to here, where the simulated clock stops.
    pub end: Timestamp,
    pub replications: u32,
    pub seed: u64,
    pub calendar: CalendarChoice,
    pub discipline: Discipline,
    pub definitions: Vec<Arc<Definition>>,
    pub arrivals: Vec<ArrivalPlan>,
    pub pools: Vec<Pool>,
    /// By (procedure index, state id).
    pub service: HashMap<(usize, String), Distribution>,
    pub branching: HashMap<(usize, String), Vec<(String, f64)>>,
    pub response: HashMap<(usize, String), Distribution>,
    /// By (procedure index, state id): the action on the shortest way to a result.
    pub main_path: HashMap<(usize, String), String>,
    pub assumptions: Vec<Assumption>,
    /// Hours in a working day on the chosen calendar.
    pub working_day_hours: f64,
    /// Stop each replication after this many transitions (a server bounds its forecasts
    /// with it); `None`: run to the end.
    pub max_transitions: Option<u64>,
    /// The working-day calendar of `calendar: national`.
    pub national: Option<NationalCalendar>,
}

/// The working-day calendar a plan runs on (the agency's, or the built-in national one).
#[derive(Clone)]
pub struct NationalCalendar(pub Arc<dyn WorkingCalendar>);

impl std::fmt::Debug for NationalCalendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NationalCalendar")
    }
}

/// The weekdays as a scenario's profile names them, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// More replications than this is a typing mistake: each is a whole run.
pub const MAX_REPLICATIONS: u32 = 1_000;
/// Arrivals beyond this many per hour are a typing mistake (and would not fit in memory).
const MAX_PER_HOUR: f64 = 10_000.0;

impl Plan {
    /// Checks `scenario` against `definitions` (the catalogue it runs on).
    pub fn new(scenario: &Scenario, definitions: Vec<Arc<Definition>>) -> Result<Plan, PlanError> {
        Plan::on(scenario, definitions, None)
    }

    /// [`Plan::new`] on the agency's own working-day calendar for `calendar: national`
    /// (the one its engine decides on: `--calendar`), instead of the built-in national one.
    pub fn on(
        scenario: &Scenario,
        definitions: Vec<Arc<Definition>>,
        national: Option<Arc<dyn WorkingCalendar>>,
    ) -> Result<Plan, PlanError> {
        let s = scenario;
        let national =
            match s.calendar {
                CalendarChoice::National => Some(national.unwrap_or_else(|| {
                    Arc::new(motcua_core::calendar::Calendar::vietnam_default())
                })),
                CalendarChoice::Continuous => None,
            };
        let day_hours = match &national {
            Some(cal) => {
                let milli =
                    cal.working_hours_milli(motcua_core::calendar::Duration::working_days(1));
                milli.unwrap_or(8_000) as f64 / 1000.0
            }
            None => 24.0,
        };
        let elapsed = |at: &str, span: Span| {
            span.elapsed()
                .ok_or_else(|| field(at, Problem::SpanNotElapsed(span)))
        };
        let duration = elapsed("duration", s.duration)?;
        let warmup = match s.warmup {
            Some(w) => elapsed("warmup", w)?,
            None => jiff::SignedDuration::ZERO,
        };
        if duration <= warmup {
            return Err(field("duration", Problem::NotLongerThanWarmup));
        }
        if s.replications == 0 || s.replications > MAX_REPLICATIONS {
            return Err(field(
                "replications",
                Problem::Replications(MAX_REPLICATIONS),
            ));
        }
        let at = |d: jiff::SignedDuration, name: &str| {
            s.start
                .checked_add(d)
                .map_err(|_| field(name, Problem::OutOfRange))
        };
        let end = at(duration, "duration")?;
        let counted_from = at(warmup, "warmup")?;
        let defs = definitions;
        let index_of = |at: &str, id: &str| {
            defs.iter()
                .position(|d| d.procedure.id == id)
                .ok_or_else(|| field(at, Problem::UnknownProcedure(id.to_string())))
        };
        let mut assumptions = vec![];

        if s.arrivals.is_empty() {
            return Err(field("arrivals", Problem::NoArrivals));
        }
        let mut arrivals = vec![];
        for (i, a) in s.arrivals.iter().enumerate() {
            let here = format!("arrivals[{i}]");
            let procedure = index_of(&format!("{here}.procedure"), &a.procedure)?;
            let (per_hour, working) = match (a.per_working_day, a.per_hour) {
                (Some(d), None) => (d / day_hours, true),
                (None, Some(h)) => (h, false),
                _ => {
                    return Err(field(&here, Problem::OneRate));
                }
            };
            if !per_hour.is_finite() || per_hour <= 0.0 || per_hour > MAX_PER_HOUR {
                return Err(field(&here, Problem::Rate));
            }
            let mut weekday = [1.0; 7];
            let mut hour = [1.0; 24];
            if let Some(p) = &a.profile {
                for (k, v) in &p.weekdays {
                    let at = format!("{here}.profile.weekdays.{k}");
                    let i = WEEKDAYS
                        .iter()
                        .position(|w| w == k)
                        .ok_or_else(|| field(&at, Problem::Weekday))?;
                    weekday[i] = multiplier(&at, *v)?;
                }
                for (k, v) in &p.hours {
                    let at = format!("{here}.profile.hours.{k}");
                    let slot = hour
                        .get_mut(usize::from(*k))
                        .ok_or_else(|| field(&at, Problem::Hour))?;
                    *slot = multiplier(&at, *v)?;
                }
            }
            let peak = weekday.iter().cloned().fold(0.0, f64::max)
                * hour.iter().cloned().fold(0.0, f64::max);
            if peak <= 0.0 {
                return Err(field(format!("{here}.profile"), Problem::ProfileClosed));
            }
            // Candidates are drawn at the peak rate and thinned: the peak is what is bounded.
            if per_hour * peak > MAX_PER_HOUR {
                return Err(field(
                    format!("{here}.profile"),
                    Problem::TooBusy {
                        per_hour: per_hour * peak,
                        max: MAX_PER_HOUR,
                    },
                ));
            }
            let mut channels = vec![];
            for (k, v) in &a.channels {
                let at = format!("{here}.channels.{k}");
                let c: Channel = serde_json::from_value(serde_json::Value::String(k.clone()))
                    .map_err(|_| field(&at, Problem::Channel))?;
                channels.push((c, probability(&at, *v)?));
            }
            if channels.is_empty() {
                channels.push((Channel::Desk, 1.0));
            }
            shares_sum_to_one(
                &format!("{here}.channels"),
                channels.iter().map(|c| c.1).sum(),
            )?;
            let def = &defs[procedure];
            let data = match &a.data {
                Some(d) => d.clone(),
                None => def
                    .procedure
                    .form
                    .get("examples")
                    .and_then(|e| e.get(0))
                    .cloned()
                    .ok_or_else(|| field(&here, Problem::NoExample(def.procedure.id.clone())))?,
            };
            let mut with_defaults = data.clone();
            def.form.apply_defaults(&mut with_defaults);
            let errors = def.form.check_on(
                &with_defaults,
                jiff::tz::Offset::constant(7).to_datetime(s.start).date(),
            );
            if !errors.is_empty() {
                let errors = errors
                    .iter()
                    .map(|e| format!("{e:?}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(field(
                    format!("{here}.data"),
                    Problem::InvalidForm {
                        procedure: def.procedure.id.clone(),
                        errors,
                    },
                ));
            }
            arrivals.push(ArrivalPlan {
                procedure,
                per_hour,
                working,
                weekday,
                hour,
                peak,
                channels,
                data,
            });
        }

        let mut pools: Vec<Pool> = vec![];
        for (i, st) in s.staff.iter().enumerate() {
            let here = format!("staff[{i}]");
            let role_known = defs
                .iter()
                .any(|d| d.procedure.roles.iter().any(|r| r.id == st.role));
            if !role_known {
                return Err(field(
                    format!("{here}.role"),
                    Problem::UnknownRole(st.role.clone()),
                ));
            }
            let dep_known = defs.iter().any(|d| {
                d.procedure
                    .departments
                    .iter()
                    .any(|r| r.id == st.department)
            });
            if !dep_known {
                return Err(field(
                    format!("{here}.department"),
                    Problem::UnknownDepartment(st.department.clone()),
                ));
            }
            if st.officers == 0 || st.officers > 100_000 {
                return Err(field(format!("{here}.officers"), Problem::Officers));
            }
            if pools
                .iter()
                .any(|p| p.role == st.role && p.department == st.department)
            {
                return Err(field(&here, Problem::PoolTwice));
            }
            pools.push(Pool {
                role: st.role.clone(),
                department: st.department.clone(),
                officers: Some(st.officers),
            });
        }

        let mut service = HashMap::new();
        for (i, sv) in s.service.iter().enumerate() {
            let here = format!("service[{i}]");
            let d = distribution(&here, &sv.time(), true, day_hours)?;
            for p in states_named(&defs, &format!("{here}.state"), &sv.procedure, &sv.state)? {
                if service.insert((p, sv.state.clone()), d.clone()).is_some() {
                    return Err(field(
                        &here,
                        Problem::Twice {
                            state: sv.state.clone(),
                            line: "service",
                        },
                    ));
                }
            }
        }

        let mut branching = HashMap::new();
        let mut response = HashMap::new();
        for (i, b) in s.branching.iter().enumerate() {
            let here = format!("branching[{i}]");
            for p in states_named(&defs, &format!("{here}.state"), &b.procedure, &b.state)? {
                let proc_ = &defs[p].procedure;
                let mut choices = vec![];
                for (action, share) in &b.actions {
                    let at = format!("{here}.actions.{action}");
                    let a = proc_.action(action).ok_or_else(|| {
                        field(
                            &at,
                            Problem::UnknownAction {
                                procedure: proc_.id.clone(),
                                action: action.clone(),
                            },
                        )
                    })?;
                    if a.from != b.state {
                        return Err(field(
                            &at,
                            Problem::NotFrom {
                                action: action.clone(),
                                state: b.state.clone(),
                            },
                        ));
                    }
                    choices.push((action.clone(), probability(&at, *share)?));
                }
                if !choices.is_empty() {
                    shares_sum_to_one(
                        &format!("{here}.actions"),
                        choices.iter().map(|c| c.1).sum(),
                    )?;
                    if branching.insert((p, b.state.clone()), choices).is_some() {
                        return Err(field(
                            &here,
                            Problem::Twice {
                                state: b.state.clone(),
                                line: "branching",
                            },
                        ));
                    }
                }
                if let Some(t) = &b.response {
                    let kind = proc_.state(&b.state).map(|s| s.kind);
                    if kind != Some(StateKind::Applicant) {
                        return Err(field(
                            format!("{here}.response"),
                            Problem::NotApplicant(b.state.clone()),
                        ));
                    }
                    let d = distribution(&format!("{here}.response"), t, false, day_hours)?;
                    if response.insert((p, b.state.clone()), d).is_some() {
                        return Err(field(
                            format!("{here}.response"),
                            Problem::Twice {
                                state: b.state.clone(),
                                line: "response",
                            },
                        ));
                    }
                }
            }
        }

        let mut main_path = HashMap::new();
        for (i, d) in defs.iter().enumerate() {
            for (state, action) in main_paths(&d.procedure) {
                main_path.insert((i, state), action);
            }
            for st in &d.procedure.states {
                let key = (i, st.id.clone());
                let ways_out = d
                    .procedure
                    .actions
                    .iter()
                    .filter(|a| a.from == st.id && a.extends.is_none() && !a.apology)
                    .count();
                let unsaid = matches!(
                    st.kind,
                    StateKind::Task | StateKind::Join | StateKind::Applicant
                );
                if unsaid && ways_out > 1 && !branching.contains_key(&key) {
                    assumptions.push(Assumption::MainPath {
                        procedure: d.procedure.id.clone(),
                        state: st.id.clone(),
                        label: st.label.clone(),
                    });
                }
                let officers = d
                    .procedure
                    .actions
                    .iter()
                    .any(|a| a.from == st.id && a.taker() == Some(By::Officer));
                match st.kind {
                    StateKind::Task | StateKind::Join
                        if officers && !service.contains_key(&key) =>
                    {
                        assumptions.push(Assumption::NoService {
                            procedure: d.procedure.id.clone(),
                            state: st.id.clone(),
                            label: st.label.clone(),
                        });
                    }
                    StateKind::Automatic => assumptions.push(Assumption::PluginNotRun {
                        procedure: d.procedure.id.clone(),
                        state: st.id.clone(),
                        label: st.label.clone(),
                    }),
                    StateKind::Applicant if !response.contains_key(&key) => {
                        assumptions.push(Assumption::NoResponse {
                            procedure: d.procedure.id.clone(),
                            state: st.id.clone(),
                            label: st.label.clone(),
                        });
                    }
                    _ => {}
                }
                // Every pair an officer's step here may need, listed or not.
                let Some(dep) = &st.department else { continue };
                for a in d
                    .procedure
                    .actions
                    .iter()
                    .filter(|a| a.from == st.id && a.taker() == Some(By::Officer))
                {
                    if let Some(role) = a.roles.first()
                        && !a
                            .roles
                            .iter()
                            .any(|r| pools.iter().any(|p| &p.role == r && &p.department == dep))
                        && !pools
                            .iter()
                            .any(|p| &p.role == role && &p.department == dep)
                    {
                        pools.push(Pool {
                            role: role.clone(),
                            department: dep.clone(),
                            officers: None,
                        });
                        let role_name = d
                            .procedure
                            .roles
                            .iter()
                            .find(|r| &r.id == role)
                            .map_or_else(|| role.clone(), |r| r.name.clone());
                        let department_name = d
                            .procedure
                            .departments
                            .iter()
                            .find(|x| &x.id == dep)
                            .map_or_else(|| dep.clone(), |x| x.name.clone());
                        assumptions.push(Assumption::Unstaffed {
                            role: role.clone(),
                            department: dep.clone(),
                            role_name,
                            department_name,
                        });
                    }
                }
            }
        }
        assumptions.sort();
        assumptions.dedup();
        Ok(Plan {
            start: s.start,
            counted_from,
            end,
            replications: s.replications,
            seed: s.seed,
            calendar: s.calendar,
            discipline: s.discipline,
            definitions: defs,
            arrivals,
            pools,
            service,
            branching,
            response,
            main_path,
            assumptions,
            working_day_hours: day_hours,
            max_transitions: None,
            national: national.map(NationalCalendar),
        })
    }

    /// A role's name in the catalogue (its id when no procedure names it).
    pub fn role_name(&self, id: &str) -> String {
        self.definitions
            .iter()
            .find_map(|d| d.procedure.roles.iter().find(|r| r.id == id))
            .map_or_else(|| id.to_string(), |r| r.name.clone())
    }

    /// A department's name in the catalogue (its id when no procedure names it).
    pub fn department_name(&self, id: &str) -> String {
        self.definitions
            .iter()
            .find_map(|d| d.procedure.departments.iter().find(|r| r.id == id))
            .map_or_else(|| id.to_string(), |r| r.name.clone())
    }

    /// The pool an officer's action out of `state` is worked by: the first of the action's
    /// roles that has officers in the state's department.
    pub fn pool_for(&self, procedure: usize, state: &str, action: &str) -> Option<usize> {
        let p = &self.definitions[procedure].procedure;
        let dep = p.state(state)?.department.as_ref()?;
        let a = p.action(action)?;
        let listed = a.roles.iter().find_map(|r| {
            self.pools
                .iter()
                .position(|x| &x.role == r && &x.department == dep && x.officers.is_some())
        });
        listed.or_else(|| {
            a.roles.iter().find_map(|r| {
                self.pools
                    .iter()
                    .position(|x| &x.role == r && &x.department == dep)
            })
        })
    }
}
