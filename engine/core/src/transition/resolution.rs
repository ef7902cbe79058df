//! Resolving a dossier: the moment it counts as ended in the national service index, how it is
//! classified, whose it is and how much of the agency's working time it took.

use super::{Env, Error};
use crate::deadline;
use crate::dossier::definition::Definition;
use crate::dossier::{Dossier, Resolution};

/// National status 9, Đã xử lý xong: the result is issued.
pub(super) const DONE: u8 = 9;

/// Resolves the dossier now, on entering `state`, unless it was resolved before: the first of
/// the result issued and the end counts. Stops the statutory clock (a pause ends there) and
/// classifies the dossier. `left` is the department of the step the transition left.
pub(super) fn resolve(
    env: &Env<'_>,
    p: &Definition,
    d: &mut Dossier,
    state: &crate::procedure::State,
    left: Option<&str>,
) -> Result<Resolution, Error> {
    if let Some(r) = &d.clock.resolved {
        return Ok(r.clone());
    }
    let limit = &p.procedure.limit;
    // A pause in progress ends here; `settle_clock` records its resume.
    let appointment = deadline::current_appointment(
        env.calendar,
        limit,
        d.clock.due_at,
        d.clock.paused_since,
        env.now,
    )?;
    let (class, late_because) = deadline::classify::dossier(
        env.calendar,
        env.rules,
        env.now,
        appointment,
        d.clock.supplements,
        d.clock.apologies.len(),
    );
    // The agency's time: counted as the appointment is (a same-day dossier received after its
    // cut-off from the next opening), less the pauses, the one in progress included because
    // its resume is recorded only after this.
    let cal = env.calendar;
    let counting = deadline::counting_start(cal, limit, d.clock.received_at)?;
    let worked = cal.elapsed_hours_milli(counting, env.now.max(counting))?;
    let pausing = match d.clock.paused_since {
        Some(since) => cal.elapsed_hours_milli(since, env.now.max(since))?,
        None => 0,
    };
    let r = Resolution {
        at: env.now,
        state: state.id.clone(),
        class,
        late_because,
        appointment,
        department: left.map(String::from).or_else(|| state.department.clone()),
        working_milli: worked
            .saturating_sub(d.clock.paused_hours_milli)
            .saturating_sub(pausing),
    };
    d.clock.resolved = Some(r.clone());
    Ok(r)
}

/// The resolution a step gave the dossier (`before` → `after`), for the step's audit entry.
pub(super) fn gained(before: Option<&Resolution>, after: &Dossier) -> Option<Resolution> {
    match (before, &after.clock.resolved) {
        (None, Some(r)) => Some(r.clone()),
        _ => None,
    }
}
