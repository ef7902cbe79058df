//! A scenario written from what really happened: the audit log of a period gives each
//! procedure's arrivals (rate per working day, by weekday), each officer's step's service and
//! wait, the share of each action out of a state, the applicant's response times, and how
//! many officers of each role worked in each department.
//!
//! Service is not in the log; completions are. An officer works one step at a time, so a
//! step's service is the working time from when the officer could start it — when it
//! arrived, or when the officer finished their previous step, whichever is later — to its
//! completion; its wait is the rest of its time in the state. This is exact for an officer
//! who takes the next step as soon as one is done, and an upper bound otherwise.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use motcua_core::audit::Entry;
use motcua_core::deadline::WorkingCalendar;
use motcua_core::dossier::definition::Definition;
use motcua_core::procedure::{By, StateKind};
use serde::Serialize;

use crate::figures::{Spread, quantile, round};
use crate::scenario::{
    Arrival, Branching, CalendarChoice, Discipline, DistributionName, Procedures, Profile,
    Scenario, Service, Staff, Time,
};
use crate::span::{Span, Unit};

/// What the log says of one state, for the leader's diagram (where dossiers really wait).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observed {
    pub procedure: String,
    pub state: String,
    pub label: String,
    /// Steps completed in the period.
    pub steps: u64,
    /// Working hours waiting for an officer, and working hours of service.
    pub wait_hours: Spread,
    pub service_hours: Spread,
}

/// A calibrated scenario and the observations it was made from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    pub scenario: Scenario,
    pub observed: Vec<Observed>,
    /// Entries read in the period.
    pub entries: u64,
}

/// At most this many points of an observed distribution are written (its quantiles).
const POINTS: usize = 101;

fn points(mut xs: Vec<f64>) -> Vec<f64> {
    xs.sort_by(f64::total_cmp);
    if xs.len() <= POINTS {
        return xs.into_iter().map(round).collect();
    }
    (0..POINTS)
        .map(|k| round(quantile(&xs, k as f64 / (POINTS - 1) as f64)))
        .collect()
}

#[derive(Default)]
struct StateLog {
    waits: Vec<f64>,
    services: Vec<f64>,
    responses: Vec<f64>,
    actions: BTreeMap<String, u64>,
}

/// Calibrates from `entries` (the log in order) over the local days `from ..= to`, on
/// `calendar`; `procedures` is written into the scenario as the catalogue to run.
pub fn calibrate(
    entries: impl IntoIterator<Item = Entry>,
    definitions: &[Arc<Definition>],
    calendar: &dyn WorkingCalendar,
    from: Date,
    to: Date,
    procedures: Procedures,
) -> Calibration {
    let def_of = |id: &str| definitions.iter().find(|d| d.procedure.id == id);
    let start = calendar.start_of_day(from).unwrap_or(Timestamp::UNIX_EPOCH);
    let end = to
        .tomorrow()
        .ok()
        .and_then(|d| calendar.start_of_day(d).ok())
        .unwrap_or(Timestamp::MAX);
    let hours = |a: Timestamp, b: Timestamp| {
        calendar.elapsed_hours_milli(a, b).unwrap_or(0) as f64 / 1000.0
    };
    let mut entered: HashMap<(String, String), Timestamp> = HashMap::new();
    let mut last_done: HashMap<String, Timestamp> = HashMap::new();
    let mut states: BTreeMap<(String, String), StateLog> = BTreeMap::new();
    let mut arrivals: BTreeMap<String, [u64; 7]> = BTreeMap::new();
    let mut staff: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut read = 0;
    for e in entries {
        let inside = e.at >= start && e.at < end;
        read += u64::from(inside);
        if inside && e.action == "submit" {
            let wd = calendar.local_date(e.at).weekday().to_monday_zero_offset() as usize;
            arrivals.entry(e.procedure.clone()).or_default()[wd] += 1;
        }
        let Some(def) = def_of(&e.procedure) else {
            continue;
        };
        let p = &def.procedure;
        let taker = p.action(&e.action).and_then(|a| a.taker());
        for s in e.from.iter().filter(|s| !e.to.contains(s)) {
            let Some(since) = entered.remove(&(e.dossier.clone(), s.clone())) else {
                continue;
            };
            let Some(st) = p.state(s) else { continue };
            let Some(taker) = taker else { continue };
            let log = states.entry((p.id.clone(), s.clone())).or_default();
            if taker == By::Officer {
                let could_start = last_done.get(&e.actor).map_or(since, |t| (*t).max(since));
                last_done.insert(e.actor.clone(), e.at);
                if !inside {
                    continue;
                }
                let service = hours(could_start, e.at);
                let sojourn = hours(since, e.at);
                log.services.push(service);
                log.waits.push((sojourn - service).max(0.0));
                if let (Some(a), Some(dep)) = (p.action(&e.action), &st.department)
                    && let Some(role) = e.roles.iter().find(|r| a.roles.contains(r))
                {
                    staff
                        .entry((role.clone(), dep.clone()))
                        .or_default()
                        .insert(e.actor.clone());
                }
            } else if taker == By::Applicant && inside {
                let ms = e.at.duration_since(since).as_millis().max(0) as f64;
                log.responses.push(ms / 3_600_000.0);
            }
            if inside {
                *log.actions.entry(e.action.clone()).or_default() += 1;
            }
        }
        // Self-loops (an extension, an apology) are choices too.
        if inside
            && let Some(a) = p.action(&e.action)
            && a.from == a.to
            && e.from.contains(&a.from)
        {
            let log = states.entry((p.id.clone(), a.from.clone())).or_default();
            *log.actions.entry(e.action.clone()).or_default() += 1;
        }
        for s in e.to.iter().filter(|s| !e.from.contains(s)) {
            entered.insert((e.dossier.clone(), s.clone()), e.at);
        }
    }

    // Working days of the period, by weekday.
    let mut workdays = [0u64; 7];
    let mut day = from;
    while day <= to {
        let open = calendar.start_of_day(day).ok().and_then(|a| {
            let b = calendar.start_of_day(day.tomorrow().ok()?).ok()?;
            Some(hours(a, b) > 0.0)
        });
        if open == Some(true) {
            workdays[day.weekday().to_monday_zero_offset() as usize] += 1;
        }
        let Ok(next) = day.tomorrow() else { break };
        day = next;
    }
    let total_workdays: u64 = workdays.iter().sum();
    let arrivals: Vec<Arrival> = arrivals
        .into_iter()
        .filter(|(id, _)| def_of(id).is_some())
        .map(|(procedure, by_day)| {
            let count: u64 = by_day.iter().sum();
            let rate = count as f64 / total_workdays.max(1) as f64;
            let mut weekdays = BTreeMap::new();
            for w in 0..7 {
                if workdays[w] > 0 && rate > 0.0 {
                    let m = by_day[w] as f64 / workdays[w] as f64 / rate;
                    weekdays.insert(crate::plan::WEEKDAYS[w].to_string(), round(m));
                }
            }
            Arrival {
                procedure,
                per_working_day: Some(round(rate)),
                per_hour: None,
                profile: (weekdays.len() > 1).then_some(Profile {
                    weekdays,
                    hours: BTreeMap::new(),
                }),
                channels: BTreeMap::new(),
                data: None,
            }
        })
        .collect();

    let mut service = vec![];
    let mut branching = vec![];
    let mut observed = vec![];
    for ((procedure, state), log) in &states {
        let Some(def) = def_of(procedure) else {
            continue;
        };
        let Some(st) = def.procedure.state(state) else {
            continue;
        };
        if !log.services.is_empty() && matches!(st.kind, StateKind::Task | StateKind::Join) {
            service.push(Service {
                state: state.clone(),
                procedure: Some(procedure.clone()),
                distribution: DistributionName::Empirical,
                mean: None,
                median: None,
                p90: None,
                value: None,
                samples: Some(points(log.services.clone())),
            });
            let zero = Spread {
                mean: 0.0,
                p50: 0.0,
                p95: 0.0,
            };
            observed.push(Observed {
                procedure: procedure.clone(),
                state: state.clone(),
                label: st.label.clone(),
                steps: log.services.len() as u64,
                wait_hours: Spread::of(&mut log.waits.clone()).unwrap_or(zero),
                service_hours: Spread::of(&mut log.services.clone()).unwrap_or(zero),
            });
        }
        let total: u64 = log.actions.values().sum();
        let response = (!log.responses.is_empty()).then(|| Time {
            distribution: DistributionName::Empirical,
            mean: None,
            median: None,
            p90: None,
            value: None,
            samples: Some(points(log.responses.clone())),
        });
        if total > 0 || response.is_some() {
            let mut actions: BTreeMap<String, f64> = log
                .actions
                .iter()
                .map(|(a, n)| (a.clone(), round(*n as f64 / total as f64)))
                .collect();
            // Rounding must not leave the shares a hair off one.
            let sum: f64 = actions.values().sum();
            if let Some((_, top)) = actions.iter_mut().max_by(|a, b| a.1.total_cmp(b.1)) {
                *top = round(*top + 1.0 - sum);
            }
            branching.push(Branching {
                state: state.clone(),
                procedure: Some(procedure.clone()),
                actions,
                response,
            });
        }
    }
    branching.retain(|b| !b.actions.is_empty() || b.response.is_some());
    let staff = staff
        .into_iter()
        .map(|((role, department), who)| Staff {
            role,
            department,
            officers: who.len() as u32,
        })
        .collect();
    let days = (to.since(from).map_or(0, |s| s.get_days()) + 1).max(1) as f64;
    let scenario = Scenario {
        name: None,
        procedures,
        start: calendar
            .start_of_day(from)
            .ok()
            .and_then(|t| t.checked_add(8.hours()).ok())
            .unwrap_or(start),
        duration: Span::new(days, Unit::Days),
        warmup: Some(Span::new(
            (days / 6.0).floor().max(1.0).min(days - 1.0).max(0.0),
            Unit::Days,
        )),
        replications: 10,
        seed: 1,
        calendar: CalendarChoice::National,
        discipline: Discipline::Fifo,
        arrivals,
        staff,
        service,
        branching,
    };
    Calibration {
        scenario,
        observed,
        entries: read,
    }
}
