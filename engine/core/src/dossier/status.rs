//! The state of a dossier's clocks at an instant, as portals and officers read them: the
//! statutory clock (the appointment) and one per active step, each with its due instant, the
//! share of its budget used and whether it is `not_due`, `due_soon`, `overdue` or `paused`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::Dossier;
use crate::calendar::Unit;
use crate::deadline::{Class, LateReason, Rules, WorkingCalendar};
use crate::procedure::{Procedure, StateKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    NotDue,
    DueSoon,
    Overdue,
    Paused,
}

/// The statutory clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockView {
    pub received_at: Timestamp,
    /// The appointment (moved by pauses and legal extensions; while paused, it moves on by
    /// the working time paused so far when the clock resumes).
    pub due_at: Timestamp,
    /// `None` once the dossier is resolved (its result issued) or has ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ClockState>,
    /// Share of the limit used, in thousandths (above 1000 when overdue); working time only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_permille: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_since: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue_since: Option<Timestamp>,
    /// The date last promised in an apology, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised: Option<Timestamp>,
    pub supplements: u32,
    pub extensions: u32,
    /// For a resolved or ended dossier: early, on time or late, and why late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<Class>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub late_because: Vec<LateReason>,
}

/// One active step's budget clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepClock {
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    pub entered_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Timestamp>,
    pub clock: ClockState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_permille: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue_since: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clocks {
    pub statutory: ClockView,
    pub steps: Vec<StepClock>,
}

fn state_of(rules: &Rules, overdue: bool, used: Option<u64>) -> ClockState {
    if overdue {
        ClockState::Overdue
    } else if used.is_some_and(|u| u >= u64::from(rules.due_soon.permille())) {
        ClockState::DueSoon
    } else {
        ClockState::NotDue
    }
}

/// The dossier's clocks at `now`.
pub fn clocks(
    p: &Procedure,
    d: &Dossier,
    cal: &dyn WorkingCalendar,
    rules: &Rules,
    now: Timestamp,
) -> Clocks {
    let c = &d.clock;
    let hours = |a: Timestamp, b: Timestamp| {
        if a < b {
            cal.elapsed_hours_milli(a, b).unwrap_or(0)
        } else {
            0
        }
    };
    let mut statutory = ClockView {
        received_at: c.received_at,
        due_at: c.due_at,
        state: None,
        used_permille: None,
        paused_since: c.paused_since,
        overdue_since: c.overdue_since,
        promised: c.apologies.last().map(|a| a.promised),
        supplements: c.supplements,
        extensions: c.extensions,
        class: None,
        late_because: vec![],
    };
    if let Some(ending) = &d.ending {
        statutory.class = ending.class.or(Some(if ending.on_time {
            Class::OnTime
        } else {
            Class::Late
        }));
        statutory.late_because = ending.late_because.clone();
        return Clocks {
            statutory,
            steps: vec![],
        };
    }
    if let Some(r) = &c.resolved {
        // Resolved, the result waits to be returned: the statutory clock has stopped.
        statutory.class = Some(r.class);
        statutory.late_because = r.late_because.clone();
    }
    let reference = c
        .resolved
        .as_ref()
        .map(|r| r.at)
        .or(c.paused_since)
        .unwrap_or(now);
    let total = hours(c.received_at, c.due_at).saturating_sub(c.paused_hours_milli);
    let used = hours(c.received_at, reference).saturating_sub(c.paused_hours_milli);
    statutory.used_permille = (used * 1000).checked_div(total);
    statutory.state = if c.resolved.is_some() {
        None
    } else if c.paused_since.is_some() {
        Some(ClockState::Paused)
    } else {
        Some(state_of(
            rules,
            c.overdue_since.is_some() || now > c.due_at,
            statutory.used_permille,
        ))
    };
    let steps = d
        .tokens
        .iter()
        .filter(|t| !t.waiting)
        .map(|t| {
            let state = p.state(&t.state);
            let paused = state.is_some_and(|s| s.kind == StateKind::Applicant || s.outside_budget);
            let budget = state.and_then(|s| s.budget);
            let used = t.due_at.map(|due| {
                let calendar_days = budget.is_some_and(|b| b.unit == Unit::CalendarDays);
                let (part, whole) = if calendar_days {
                    let ms = |a: Timestamp, b: Timestamp| {
                        u64::try_from(a.duration_until(b).as_millis().max(0)).unwrap_or(0)
                    };
                    (ms(t.entered_at, now), ms(t.entered_at, due))
                } else {
                    (hours(t.entered_at, now), hours(t.entered_at, due))
                };
                (part * 1000)
                    .checked_div(whole)
                    .unwrap_or(if now >= due { 1000 } else { 0 })
            });
            let clock = if paused {
                ClockState::Paused
            } else {
                state_of(
                    rules,
                    t.overdue_since.is_some() || t.due_at.is_some_and(|due| now > due),
                    used,
                )
            };
            StepClock {
                state: t.state.clone(),
                department: t.department.clone(),
                entered_at: t.entered_at,
                budget: budget.map(|b| b.to_string()),
                due_at: t.due_at,
                clock,
                used_permille: used,
                overdue_since: t.overdue_since,
            }
        })
        .collect();
    Clocks { statutory, steps }
}
