//! The two ways an agency answers a deadline it cannot keep, which reports must never mix up:
//! a legal extension (gia hạn) moves the appointment within the law's cap, before it passes;
//! an apology (xin lỗi, hẹn lại, form 04) promises a new date and leaves the dossier late.

use super::{Env, Error};
use crate::calendar::Duration;
use crate::deadline;
use crate::dossier::definition::Definition;
use crate::dossier::{Actor, Apology, Dossier, ExtensionNotice};
use crate::procedure::Action;

/// The appointment as it stands now (moved on by a pause in progress).
fn current_appointment(
    p: &Definition,
    d: &Dossier,
    env: &Env<'_>,
) -> Result<jiff::Timestamp, Error> {
    Ok(deadline::current_appointment(
        env.calendar,
        &p.procedure.limit,
        d.clock.due_at,
        d.clock.paused_since,
        env.now,
    )?)
}

/// Once the result is issued the dossier is counted: a notice about its deadline would change
/// nothing the reports already hold.
fn resolved_already(d: &Dossier, action: &Action) -> Result<(), Error> {
    match &d.clock.resolved {
        Some(r) => Err(Error::AlreadyResolved {
            action: action.id.clone(),
            code: d.code.clone(),
            at: r.at,
        }),
        None => Ok(()),
    }
}

/// Grants `extension`: the actor must hold an approver role, the appointment must not have
/// passed, and all extensions together stay within `limit.extension`. Moves the appointment
/// and the statutory warnings still to fire.
pub(super) fn extend(
    p: &Definition,
    d: &mut Dossier,
    action: &Action,
    actor: &Actor,
    reason: Option<&str>,
    extension: Duration,
    env: &Env<'_>,
) -> Result<ExtensionNotice, Error> {
    resolved_already(d, action)?;
    let limit = &p.procedure.limit;
    let held: Vec<String> = actor
        .roles
        .iter()
        .filter(|r| limit.extension_approvers.contains(r))
        .cloned()
        .collect();
    if held.is_empty() {
        return Err(Error::NotApprover {
            action: action.id.clone(),
            actor: actor.id.clone(),
            approvers: limit.extension_approvers.clone(),
            has: actor.roles.clone(),
        });
    }
    let old = current_appointment(p, d, env)?;
    if env.now >= old {
        return Err(Error::ExtensionTooLate {
            action: action.id.clone(),
            appointment: old,
        });
    }
    let cap = limit.extension.ok_or_else(|| Error::Definition {
        procedure: p.procedure.id.clone(),
        message: format!(
            "action '{}' extends, but limit.extension is not declared",
            action.id
        ),
    })?;
    if extension.is_zero() {
        return Err(Error::BadInput {
            action: action.id.clone(),
            input: "extension".into(),
            expected: super::error::Expected::NotZero,
        });
    }
    // Exact when the units agree (the usual case); otherwise in days, every hour rounded up
    // so that many small grants cannot slip past the cap.
    let measure = |x: Duration| {
        if x.unit == cap.unit {
            x.milli
        } else {
            match x.unit {
                crate::calendar::Unit::WorkingHours => x.milli.div_ceil(8),
                _ => x.milli,
            }
        }
    };
    let granted: u64 = d
        .clock
        .extension_notices
        .iter()
        .map(|n| measure(n.extension))
        .sum();
    if granted + measure(extension) > measure(cap) {
        let listed: Vec<String> = d
            .clock
            .extension_notices
            .iter()
            .map(|n| n.extension.to_string())
            .collect();
        return Err(Error::ExtensionCapped {
            action: action.id.clone(),
            code: d.code.clone(),
            asked: extension,
            granted: if listed.is_empty() {
                "none".into()
            } else {
                listed.join(" + ")
            },
            cap,
        });
    }
    d.clock.due_at = deadline::after_due(env.calendar, d.clock.due_at, extension)?;
    for alarm in &mut d.clock.alarms {
        alarm.at = deadline::after_due(env.calendar, alarm.at, extension)?;
    }
    d.clock.extensions += 1;
    Ok(ExtensionNotice {
        at: env.now,
        action: action.id.clone(),
        reason: reason.unwrap_or_default().trim().to_string(),
        extension,
        old_appointment: old,
        new_appointment: current_appointment(p, d, env)?,
        approver: actor.id.clone(),
        approver_roles: held,
    })
}

/// Records an apology with the new promised date (input `promised`, YYYY-MM-DD: returned by
/// the close of office that day). The date must be a working day after today, after the
/// appointment and after any date promised before. The appointment does not move.
pub(super) fn apologise(
    p: &Definition,
    d: &mut Dossier,
    action: &Action,
    actor: &Actor,
    reason: Option<&str>,
    input: &serde_json::Value,
    env: &Env<'_>,
) -> Result<Apology, Error> {
    resolved_already(d, action)?;
    let bad = |expected: super::error::Expected| Error::BadInput {
        action: action.id.clone(),
        input: "promised".into(),
        expected,
    };
    let date: jiff::civil::Date = input
        .get("promised")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(super::error::Expected::Date))?;
    let cal = env.calendar;
    let opening = cal.next_working_instant(cal.start_of_day(date)?)?;
    let promised = cal.close_of_working_day(opening)?;
    if cal.local_date(promised) != date {
        return Err(bad(super::error::Expected::WorkingDay {
            given: date,
            next: cal.local_date(promised),
        }));
    }
    let appointment = current_appointment(p, d, env)?;
    if promised <= appointment {
        return Err(bad(super::error::Expected::AfterAppointment(
            cal.local_date(appointment),
        )));
    }
    if date <= cal.local_date(env.now) {
        return Err(bad(super::error::Expected::AfterToday));
    }
    let previous = d.clock.apologies.last().map(|a| a.promised);
    if let Some(before) = previous
        && promised <= before
    {
        return Err(bad(super::error::Expected::AfterPromise(
            cal.local_date(before),
        )));
    }
    Ok(Apology {
        at: env.now,
        action: action.id.clone(),
        reason: reason.unwrap_or_default().trim().to_string(),
        appointment,
        previous_promise: previous,
        promised,
        officer: actor.id.clone(),
        departments: actor.departments.clone(),
    })
}
