//! What a simulation reports: per procedure and in total, the on-time rate with its 95%
//! confidence interval across replications and the processing times; per state the wait
//! for an officer, the service, the pool's utilisation and the queue over time. Field names
//! are stable (docs/simulate.md); numbers are rounded to four decimals so the same seed gives
//! the same bytes.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::plan::{Assumption, Plan};
use crate::random::t975;
use crate::run::Measured;
use crate::scenario::CalendarChoice;

/// A mean across replications with its 95% interval (absent with one replication).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub mean: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high: Option<f64>,
}

impl Interval {
    /// The mean of `xs` and Student's t interval around it.
    pub fn of(xs: &[f64]) -> Option<Interval> {
        let n = xs.len();
        if n == 0 {
            return None;
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Some(Interval {
                mean: round(mean),
                low: None,
                high: None,
            });
        }
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let half = t975(n - 1) * (var / n as f64).sqrt();
        Some(Interval {
            mean: round(mean),
            low: Some(round(mean - half)),
            high: Some(round(mean + half)),
        })
    }

    /// [`Interval::of`] for a share, whose interval stays within 0 and 1.
    pub fn of_share(xs: &[f64]) -> Option<Interval> {
        Interval::of(xs).map(|i| Interval {
            mean: i.mean,
            low: i.low.map(|l| l.max(0.0)),
            high: i.high.map(|h| h.min(1.0)),
        })
    }

    /// Whether `x` lies inside the interval (or equals the mean when there is none).
    pub fn contains(&self, x: f64) -> bool {
        match (self.low, self.high) {
            (Some(l), Some(h)) => l <= x && x <= h,
            _ => (self.mean - x).abs() < 1e-9,
        }
    }
}

/// Mean, median and 95th percentile of pooled observations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
}

impl Spread {
    pub fn of(xs: &mut [f64]) -> Option<Spread> {
        if xs.is_empty() {
            return None;
        }
        xs.sort_by(f64::total_cmp);
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        Some(Spread {
            mean: round(mean),
            p50: round(quantile(xs, 0.5)),
            p95: round(quantile(xs, 0.95)),
        })
    }
}

/// The `q` quantile of sorted `xs`, interpolating between neighbours.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = q * (n - 1) as f64;
            let i = pos.floor() as usize;
            let f = pos - i as f64;
            sorted[i] + f * (sorted[(i + 1).min(n - 1)] - sorted[i])
        }
    }
}

pub fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The figures of one procedure, or of all of them (`procedure` absent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Per replication, on average: received and ended (early, on time, late) in the
    /// counted window.
    pub received: f64,
    pub ended: f64,
    pub early: f64,
    pub on_time: f64,
    pub late: f64,
    /// (early + on time) / ended, as the report counts it, across replications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_time_rate: Option<Interval>,
    /// Working days from counting start to resolution, pauses excluded (the report's figure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_working_days: Option<Spread>,
    /// The mean of those working days, with its interval across replications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_mean: Option<Interval>,
    /// Calendar days from receipt to resolution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_days: Option<Spread>,
}

/// One state's officers' steps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateFigures {
    pub procedure: String,
    pub state: String,
    pub label: String,
    /// Steps started in the window, per replication on average.
    pub steps: f64,
    /// Working hours a step waited for an officer.
    pub wait_hours: Spread,
    /// The mean wait, with its interval across replications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_mean: Option<Interval>,
    /// Mean working hours of officer time a step took.
    pub service_hours: f64,
    /// The pool its main action is worked by, and that pool's utilisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The pool's officers (absent: as many as needed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub officers: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utilisation: Option<Interval>,
    /// Mean steps waiting for an officer, over the window.
    pub queue_mean: f64,
    /// Steps waiting at each sample (`queue_at`), averaged across replications.
    pub queue: Vec<f64>,
}

/// Officers of one role in one department.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolFigures {
    pub role: String,
    pub department: String,
    /// What people read: the role's and the department's names in the catalogue.
    pub role_name: String,
    pub department_name: String,
    /// Absent: not listed in the scenario, as many as needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub officers: Option<u32>,
    /// Busy working hours over available working hours in the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utilisation: Option<Interval>,
}

/// A simulation's report (`motcua simulate --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub start: Timestamp,
    pub counted_from: Timestamp,
    pub end: Timestamp,
    pub replications: u32,
    pub seed: u64,
    pub calendar: CalendarChoice,
    pub total: Figures,
    pub procedures: Vec<Figures>,
    pub states: Vec<StateFigures>,
    pub pools: Vec<PoolFigures>,
    /// When the queues were sampled (once a day from the end of the warm-up).
    pub queue_at: Vec<Timestamp>,
    pub assumptions: Vec<Assumption>,
    /// Steps the transition refused, by refusal code, over all replications.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub refused: BTreeMap<String, u64>,
    /// Steps left with no action that could move them (and dossiers let go after
    /// `run::MAX_STEPS_PER_DOSSIER` steps, caught in a loop), over all replications.
    pub stuck: u64,
    /// A replication stopped at the plan's transition budget: the figures are partial.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exhausted: bool,
}

fn figures(
    procedure: Option<(&str, &str)>,
    reps: &[&crate::run::ProcedureMeasure],
    n: usize,
) -> Figures {
    let per_rep = |f: &dyn Fn(&crate::run::ProcedureMeasure) -> u64| {
        round(reps.iter().map(|m| f(m) as f64).sum::<f64>() / n as f64)
    };
    let rates: Vec<f64> = reps
        .iter()
        .filter(|m| m.ended() > 0)
        .map(|m| (m.early + m.on_time) as f64 / m.ended() as f64)
        .collect();
    let means: Vec<f64> = reps
        .iter()
        .filter(|m| !m.working_days.is_empty())
        .map(|m| m.working_days.iter().sum::<f64>() / m.working_days.len() as f64)
        .collect();
    let mut working: Vec<f64> = reps
        .iter()
        .flat_map(|m| m.working_days.iter().copied())
        .collect();
    let mut elapsed: Vec<f64> = reps
        .iter()
        .flat_map(|m| m.elapsed_days.iter().copied())
        .collect();
    Figures {
        procedure: procedure.map(|p| p.0.to_string()),
        name: procedure.map(|p| p.1.to_string()),
        received: per_rep(&|m| m.received),
        ended: per_rep(&|m| m.ended()),
        early: per_rep(&|m| m.early),
        on_time: per_rep(&|m| m.on_time),
        late: per_rep(&|m| m.late),
        on_time_rate: Interval::of_share(&rates),
        processing_working_days: Spread::of(&mut working),
        processing_mean: Interval::of(&means),
        processing_days: Spread::of(&mut elapsed),
    }
}

/// Sums the procedures of one replication into one.
fn total_of(m: &Measured) -> crate::run::ProcedureMeasure {
    let mut t = crate::run::ProcedureMeasure::default();
    for p in &m.procedures {
        t.received += p.received;
        t.early += p.early;
        t.on_time += p.on_time;
        t.late += p.late;
        t.working_days.extend(&p.working_days);
        t.elapsed_days.extend(&p.elapsed_days);
    }
    t
}

/// The report of `plan`'s replications.
pub fn outcome(plan: &Plan, runs: &[Measured]) -> Outcome {
    let n = runs.len().max(1);
    let totals: Vec<_> = runs.iter().map(total_of).collect();
    let total = figures(None, &totals.iter().collect::<Vec<_>>(), n);
    let procedures = plan
        .definitions
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            plan.arrivals.iter().any(|a| a.procedure == *i)
                || runs.iter().any(|r| r.procedures[*i].ended() > 0)
        })
        .map(|(i, d)| {
            let reps: Vec<_> = runs.iter().map(|r| &r.procedures[i]).collect();
            figures(Some((&d.procedure.id, &d.procedure.name)), &reps, n)
        })
        .collect();
    let utilisation: Vec<Option<Interval>> = plan
        .pools
        .iter()
        .enumerate()
        .map(|(p, pool)| {
            let officers = f64::from(pool.officers?);
            let xs: Vec<f64> = runs
                .iter()
                .filter(|r| r.window_hours > 0.0)
                .map(|r| r.pool_busy_hours[p] / (r.window_hours * officers))
                .collect();
            Interval::of_share(&xs)
        })
        .collect();
    let pools = plan
        .pools
        .iter()
        .zip(&utilisation)
        .map(|(p, u)| PoolFigures {
            role: p.role.clone(),
            department: p.department.clone(),
            role_name: plan.role_name(&p.role),
            department_name: plan.department_name(&p.department),
            officers: p.officers,
            utilisation: *u,
        })
        .collect();
    let mut keys: Vec<&(usize, String)> = runs.iter().flat_map(|r| r.states.keys()).collect();
    keys.sort();
    keys.dedup();
    let samples = runs.iter().map(|r| r.samples_at.len()).min().unwrap_or(0);
    let mut states = vec![];
    for key in keys {
        let (pi, state) = key;
        let p = &plan.definitions[*pi].procedure;
        let label = p.state(state).map(|s| s.label.clone()).unwrap_or_default();
        let ms: Vec<_> = runs.iter().filter_map(|r| r.states.get(key)).collect();
        let steps: u64 = ms.iter().map(|m| m.steps).sum();
        let mut waits: Vec<f64> = ms.iter().flat_map(|m| m.waits.iter().copied()).collect();
        let wait_means: Vec<f64> = ms
            .iter()
            .filter(|m| !m.waits.is_empty())
            .map(|m| m.waits.iter().sum::<f64>() / m.waits.len() as f64)
            .collect();
        let service: f64 = ms.iter().map(|m| m.service_hours).sum();
        let mut queue = vec![0.0; samples];
        for m in &ms {
            for (k, q) in m.queue.iter().take(samples).enumerate() {
                queue[k] += f64::from(*q) / n as f64;
            }
        }
        let queue_mean = if samples == 0 {
            0.0
        } else {
            round(queue.iter().sum::<f64>() / samples as f64)
        };
        let pool = plan
            .main_path
            .get(key)
            .and_then(|a| plan.pool_for(*pi, state, a));
        let zero = Spread {
            mean: 0.0,
            p50: 0.0,
            p95: 0.0,
        };
        states.push(StateFigures {
            procedure: p.id.clone(),
            state: state.clone(),
            label,
            steps: round(steps as f64 / n as f64),
            wait_hours: Spread::of(&mut waits).unwrap_or(zero),
            wait_mean: Interval::of(&wait_means),
            service_hours: if steps == 0 {
                0.0
            } else {
                round(service / steps as f64)
            },
            role: pool.map(|x| plan.pools[x].role.clone()),
            department: pool.map(|x| plan.pools[x].department.clone()),
            officers: pool.and_then(|x| plan.pools[x].officers),
            utilisation: pool.and_then(|x| utilisation[x]),
            queue_mean,
            queue: queue.into_iter().map(round).collect(),
        });
    }
    let mut refused = BTreeMap::new();
    for r in runs {
        for (k, v) in &r.refused {
            *refused.entry(k.clone()).or_default() += v;
        }
    }
    Outcome {
        start: plan.start,
        counted_from: plan.counted_from,
        end: plan.end,
        replications: plan.replications,
        seed: plan.seed,
        calendar: plan.calendar,
        total,
        procedures,
        states,
        pools,
        queue_at: runs
            .first()
            .map(|r| r.samples_at[..samples].to_vec())
            .unwrap_or_default(),
        assumptions: plan.assumptions.clone(),
        refused,
        stuck: runs.iter().map(|r| r.stuck).sum(),
        exhausted: runs.iter().any(|r| r.exhausted),
    }
}

/// The difference proposed − current, replication by replication (common random numbers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_time_rate: Option<Interval>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_working_days: Option<Interval>,
}

/// A comparison of two catalogues on the same scenario and random streams.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub current: Outcome,
    pub proposed: Outcome,
    pub difference: Vec<Difference>,
}

fn paired(
    a: &[crate::run::ProcedureMeasure],
    b: &[crate::run::ProcedureMeasure],
) -> (Option<Interval>, Option<Interval>) {
    let rate = |m: &crate::run::ProcedureMeasure| {
        (m.ended() > 0).then(|| (m.early + m.on_time) as f64 / m.ended() as f64)
    };
    let mean = |m: &crate::run::ProcedureMeasure| {
        (!m.working_days.is_empty())
            .then(|| m.working_days.iter().sum::<f64>() / m.working_days.len() as f64)
    };
    let rates: Vec<f64> = a
        .iter()
        .zip(b)
        .filter_map(|(x, y)| Some(rate(y)? - rate(x)?))
        .collect();
    let days: Vec<f64> = a
        .iter()
        .zip(b)
        .filter_map(|(x, y)| Some(mean(y)? - mean(x)?))
        .collect();
    (Interval::of(&rates), Interval::of(&days))
}

pub fn comparison(current: (&Plan, &[Measured]), proposed: (&Plan, &[Measured])) -> Comparison {
    let (cp, cr) = current;
    let (pp, pr) = proposed;
    let ct: Vec<_> = cr.iter().map(total_of).collect();
    let pt: Vec<_> = pr.iter().map(total_of).collect();
    let (r, d) = paired(&ct, &pt);
    let mut difference = vec![Difference {
        procedure: None,
        on_time_rate: r,
        processing_working_days: d,
    }];
    for (i, def) in cp.definitions.iter().enumerate() {
        let Some(j) = pp
            .definitions
            .iter()
            .position(|x| x.procedure.id == def.procedure.id)
        else {
            continue;
        };
        let a: Vec<_> = cr.iter().map(|m| m.procedures[i].clone()).collect();
        let b: Vec<_> = pr.iter().map(|m| m.procedures[j].clone()).collect();
        let (r, d) = paired(&a, &b);
        difference.push(Difference {
            procedure: Some(def.procedure.id.clone()),
            on_time_rate: r,
            processing_working_days: d,
        });
    }
    Comparison {
        current: outcome(cp, cr),
        proposed: outcome(pp, pr),
        difference,
    }
}
