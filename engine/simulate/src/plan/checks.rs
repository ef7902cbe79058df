//! The checks a scenario's lines go through: probabilities and shares, times and their kind,
//! states named in the catalogue, and each state's way to a result.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use motcua_core::dossier::definition::Definition;
use motcua_core::procedure::{Outcome, Procedure, StateKind};

use super::{PlanError, Problem, field};
use crate::random::Distribution;
use crate::scenario::{DistributionName, Time};
use crate::span::Span;

pub(super) fn probability(at: &str, p: f64) -> Result<f64, PlanError> {
    if !p.is_finite() || !(0.0..=1.0).contains(&p) {
        return Err(field(at, Problem::NotProbability(p)));
    }
    Ok(p)
}

pub(super) fn shares_sum_to_one(at: &str, sum: f64) -> Result<(), PlanError> {
    if (sum - 1.0).abs() > 1e-6 {
        return Err(field(at, Problem::SharesSum(sum)));
    }
    Ok(())
}

/// A time in hours from its parameters; `working` says which kind of time it must be.
pub fn distribution(
    at: &str,
    t: &Time,
    working: bool,
    day_hours: f64,
) -> Result<Distribution, PlanError> {
    let distribution_name = match t.distribution {
        DistributionName::Exponential => "exponential",
        DistributionName::Lognormal => "lognormal",
        DistributionName::Fixed => "fixed",
        DistributionName::Empirical => "empirical",
    };
    let hours = |name: &'static str, s: &Option<Span>| -> Result<f64, PlanError> {
        let s = s.ok_or_else(|| {
            field(
                at,
                Problem::Needs {
                    distribution: distribution_name,
                    field: name,
                },
            )
        })?;
        if s.unit.is_working() != working {
            let problem = if working {
                Problem::NotWorkingTime(s)
            } else {
                Problem::NotElapsedTime(s)
            };
            return Err(field(format!("{at}.{name}"), problem));
        }
        Ok(s.hours(day_hours))
    };
    let unused = |names: &[(&'static str, bool)]| -> Result<(), PlanError> {
        for (name, given) in names {
            if *given {
                return Err(field(
                    format!("{at}.{name}"),
                    Problem::TakesNo {
                        distribution: distribution_name,
                        field: name,
                    },
                ));
            }
        }
        Ok(())
    };
    let d = match t.distribution {
        DistributionName::Exponential => {
            unused(&[
                ("median", t.median.is_some()),
                ("p90", t.p90.is_some()),
                ("value", t.value.is_some()),
                ("samples", t.samples.is_some()),
            ])?;
            let mean = hours("mean", &t.mean)?;
            if mean <= 0.0 {
                return Err(field(format!("{at}.mean"), Problem::MeanNotPositive));
            }
            Distribution::Exponential { mean }
        }
        DistributionName::Lognormal => {
            unused(&[
                ("mean", t.mean.is_some()),
                ("value", t.value.is_some()),
                ("samples", t.samples.is_some()),
            ])?;
            let median = hours("median", &t.median)?;
            let p90 = hours("p90", &t.p90)?;
            if median <= 0.0 || p90 <= median {
                return Err(field(format!("{at}.p90"), Problem::LognormalOrder));
            }
            Distribution::lognormal(median, p90)
        }
        DistributionName::Fixed => {
            unused(&[
                ("mean", t.mean.is_some()),
                ("median", t.median.is_some()),
                ("p90", t.p90.is_some()),
                ("samples", t.samples.is_some()),
            ])?;
            Distribution::Fixed(hours("value", &t.value)?)
        }
        DistributionName::Empirical => {
            unused(&[
                ("mean", t.mean.is_some()),
                ("median", t.median.is_some()),
                ("p90", t.p90.is_some()),
                ("value", t.value.is_some()),
            ])?;
            let mut samples = t
                .samples
                .clone()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| field(at, Problem::NoSamples))?;
            if samples
                .iter()
                .any(|s| !s.is_finite() || *s < 0.0 || *s > 24.0 * 3660.0)
            {
                return Err(field(format!("{at}.samples"), Problem::BadSamples));
            }
            samples.sort_by(f64::total_cmp);
            Distribution::Empirical(samples)
        }
    };
    Ok(d)
}

/// The states a `state:` line applies to: in the named procedure, or in every procedure
/// that has the state.
pub(super) fn states_named(
    defs: &[Arc<Definition>],
    at: &str,
    procedure: &Option<String>,
    state: &str,
) -> Result<Vec<usize>, PlanError> {
    let found: Vec<usize> = defs
        .iter()
        .enumerate()
        .filter(|(_, d)| procedure.as_ref().is_none_or(|p| *p == d.procedure.id))
        .filter(|(_, d)| d.procedure.state(state).is_some())
        .map(|(i, _)| i)
        .collect();
    if found.is_empty() {
        let problem = match procedure {
            Some(p) if !defs.iter().any(|d| &d.procedure.id == p) => {
                Problem::UnknownProcedure(p.clone())
            }
            Some(p) => Problem::NoStateIn {
                procedure: p.clone(),
                state: state.to_string(),
            },
            None => Problem::NoState(state.to_string()),
        };
        return Err(field(at, problem));
    }
    Ok(found)
}

/// For each state, the action on the fewest steps to a `result_issued` end (self-loops, such
/// as extensions and apologies, never count); ties go to the action declared first.
pub(super) fn main_paths(p: &Procedure) -> HashMap<String, String> {
    let mut dist: HashMap<&str, usize> = HashMap::new();
    let mut todo = VecDeque::new();
    for s in &p.states {
        if s.kind == StateKind::Terminal && s.outcome == Some(Outcome::ResultIssued) {
            dist.insert(&s.id, 0);
            todo.push_back(s.id.as_str());
        }
    }
    // A fork reaches its join through its branches: treat fork → branch as a step.
    while let Some(to) = todo.pop_front() {
        let here = dist[to];
        let into = p
            .actions
            .iter()
            .filter(|a| a.to == to && a.from != a.to)
            .map(|a| a.from.as_str())
            .chain(
                p.states
                    .iter()
                    .filter(|s| s.kind == StateKind::Fork && s.branches.iter().any(|b| b == to))
                    .map(|s| s.id.as_str()),
            );
        for from in into.collect::<Vec<_>>() {
            if !dist.contains_key(from) {
                dist.insert(from, here + 1);
                todo.push_back(from);
            }
        }
    }
    let mut out = HashMap::new();
    for s in &p.states {
        let best = p
            .actions
            .iter()
            .filter(|a| a.from == s.id && a.from != a.to && a.extends.is_none() && !a.apology)
            .min_by_key(|a| dist.get(a.to.as_str()).copied().unwrap_or(usize::MAX));
        if let Some(a) = best {
            out.insert(s.id.clone(), a.id.clone());
        }
    }
    out
}

pub(super) fn multiplier(at: &str, v: f64) -> Result<f64, PlanError> {
    if !v.is_finite() || !(0.0..=100.0).contains(&v) {
        return Err(field(at, Problem::Multiplier));
    }
    Ok(v)
}
