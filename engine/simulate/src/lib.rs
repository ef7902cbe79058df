//! motcua-simulate: "what will our on-time rate be if we do this?", answered before the
//! change. A discrete-event simulation puts a procedure catalogue under a scenario's load —
//! Poisson arrivals, officers per role and department working the calendar's hours, step
//! times drawn from distributions, branches taken with their probabilities — and drives
//! motcua-core's *real* pure transition on the *real* calendar with a simulated clock. No
//! store, no plugin runtime: an automatic step's decision is drawn like any branch.
//!
//! - [`scenario`]: the scenario file and its JSON Schema.
//! - [`plan`]: a scenario checked against its catalogue, with what it leaves out said.
//! - [`run`]: one replication, the event loop around the pure transition.
//! - [`figures`]: the report across replications, and the comparison of two catalogues on
//!   common random numbers.
//! - [`calibrate`]: a scenario written from an audit log ("as is" without guessing).
//! - [`random`], [`span`], [`continuous`]: the streams, the spans, the continuous calendar.

pub mod calibrate;
pub mod continuous;
pub mod figures;
pub mod plan;
pub mod random;
pub mod run;
pub mod scenario;
pub mod span;

use motcua_core::deadline::WorkingCalendar;

pub use figures::{Comparison, Outcome};
pub use plan::{Plan, PlanError};
pub use scenario::Scenario;

/// The calendar a plan runs on.
pub fn calendar_of(plan: &Plan) -> std::sync::Arc<dyn WorkingCalendar> {
    match (&plan.national, plan.calendar) {
        (Some(n), _) => n.0.clone(),
        (None, scenario::CalendarChoice::Continuous) => std::sync::Arc::new(continuous::Continuous),
        (None, scenario::CalendarChoice::National) => {
            std::sync::Arc::new(motcua_core::calendar::Calendar::vietnam_default())
        }
    }
}

/// Runs every replication of `plan` (on as many threads as the machine has, each
/// replication on its own streams, so the result does not depend on the threads).
pub fn replications(plan: &Plan) -> Vec<run::Measured> {
    let n = plan.replications as usize;
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(n)
        .max(1);
    let mut out: Vec<Option<run::Measured>> = vec![None; n];
    std::thread::scope(|s| {
        let chunks: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let cal = calendar_of(plan);
                    (t..n)
                        .step_by(threads)
                        .map(|i| (i, run::replicate(plan, cal.as_ref(), i as u32)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for c in chunks {
            match c.join() {
                Ok(results) => {
                    for (i, m) in results {
                        out[i] = Some(m);
                    }
                }
                // A replication that panicked is a defect, not a smaller sample: say so.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    out.into_iter().flatten().collect()
}

/// Simulates `plan` and reports.
pub fn simulate(plan: &Plan) -> Outcome {
    figures::outcome(plan, &replications(plan))
}

/// Simulates two catalogues on the same scenario and streams, and reports both and the
/// difference.
pub fn compare(current: &Plan, proposed: &Plan) -> Comparison {
    let a = replications(current);
    let b = replications(proposed);
    figures::comparison((current, &a), (proposed, &b))
}
