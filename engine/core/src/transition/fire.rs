//! Firing a due timer: the pure step the scheduler takes, as the system, through the same
//! [`Transition`] as an officer's action. The fired timer is gone from the dossier it produces
//! (see [`timers_of`]), so the commit that records the effect is the one that removes it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{
    ActionRequest, Change, Env, Error, Event, EventKind, Requester, Timer, TimerKind, Transition,
    audit_entry, step, timers_of,
};
use crate::audit::SystemAction;
use crate::dossier::definition::Definition;
use crate::dossier::{Actor, Dossier};
use crate::procedure::Escalation;

/// What firing one timer did, as `motcua dossier tick` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firing {
    pub dossier: String,
    /// `step_due`, `appointment`, `warning` or `escalation`.
    pub kind: String,
    /// The step's state (absent for the statutory clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// When the timer was due.
    pub due: Timestamp,
    /// What was done, in words: "marked overdue", "notified [...]", "took action '...'".
    pub did: Vec<String>,
}

/// A fired timer: the transition to commit and its report.
#[derive(Debug, Clone)]
pub struct Fired {
    pub transition: Transition,
    pub firing: Firing,
}

/// Fires `timer` on `d`. `Ok(None)` when the dossier no longer has that timer (its step was
/// left, the clock paused or the dossier ended since the timer was read): nothing to do and
/// nothing to record.
pub fn fire(
    p: &Definition,
    d: &Dossier,
    timer: &Timer,
    env: &Env<'_>,
) -> Result<Option<Fired>, Error> {
    if timer.dossier != d.code || !has_timer(d, timer) {
        return Ok(None);
    }
    let defect = |message: String| Error::Definition {
        procedure: p.procedure.id.clone(),
        message,
    };
    let mut next = d.clone();
    next.version = d.version + 1;
    next.updated_at = env.now;
    let system = Actor::system();
    let states: Vec<String> = d.active_states().map(String::from).collect();
    let mut did = vec![];
    let event_of = |kind: EventKind, payload: serde_json::Value| Event {
        kind,
        dossier: d.code.clone(),
        at: env.now,
        status: d.status,
        payload,
    };
    let (kind, state, action, comment, mut input, event);
    match &timer.kind {
        TimerKind::StepDue { state: s } => {
            let token = next
                .tokens
                .iter_mut()
                .find(|t| {
                    !t.waiting
                        && &t.state == s
                        && t.overdue_since.is_none()
                        && t.due_at.is_some_and(|at| same_ms(at, timer.at))
                })
                .ok_or_else(|| defect(format!("no step '{s}' due at {}", timer.at)))?;
            token.overdue_since = Some(timer.at);
            let department = token.department.clone();
            let label = p.procedure.state(s).map_or(s.as_str(), |st| &st.label);
            kind = "step_due";
            state = Some(s.clone());
            action = SystemAction::Overdue.as_str();
            comment = format!("step '{label}' used up its budget at {}", timer.at);
            input = serde_json::json!({"clock": "step", "state": s, "due_at": timer.at});
            event = event_of(
                EventKind::Overdue,
                serde_json::json!({
                    "clock": "step", "state": s, "department": department, "due_at": timer.at,
                }),
            );
            did.push("marked the step overdue".to_string());
        }
        TimerKind::Appointment => {
            next.clock.overdue_since = Some(timer.at);
            kind = "appointment";
            state = None;
            action = SystemAction::Overdue.as_str();
            comment = format!("the appointment {} has passed", timer.at);
            input = serde_json::json!({"clock": "appointment", "due_at": timer.at});
            event = event_of(
                EventKind::Overdue,
                serde_json::json!({"clock": "appointment", "due_at": timer.at, "states": states}),
            );
            did.push("marked the dossier overdue".to_string());
        }
        TimerKind::Alarm { state: s, rule } => {
            let (rules, department, due): (&[Escalation], Option<String>, Option<Timestamp>) =
                match s {
                    Some(s) => {
                        let token = next
                            .tokens
                            .iter_mut()
                            .find(|t| {
                                !t.waiting
                                    && &t.state == s
                                    && t.alarms
                                        .iter()
                                        .any(|a| a.rule == *rule && same_ms(a.at, timer.at))
                            })
                            .ok_or_else(|| defect(format!("no active step '{s}'")))?;
                        token
                            .alarms
                            .retain(|a| !(a.rule == *rule && same_ms(a.at, timer.at)));
                        let st = p
                            .procedure
                            .state(s)
                            .ok_or_else(|| defect(format!("unknown state '{s}'")))?;
                        (&st.escalation, token.department.clone(), token.due_at)
                    }
                    None => {
                        next.clock
                            .alarms
                            .retain(|a| !(a.rule == *rule && same_ms(a.at, timer.at)));
                        (&p.procedure.escalation, None, Some(d.clock.due_at))
                    }
                };
            let e = rules
                .get(*rule)
                .ok_or_else(|| defect(format!("no escalation rule {rule}")))?;
            let threshold = e
                .threshold()
                .ok_or_else(|| defect(format!("escalation rule {rule} has no single threshold")))?;
            let department = e.department.clone().or(department);
            kind = if e.is_warning() {
                "warning"
            } else {
                "escalation"
            };
            state = s.clone();
            action = if e.is_warning() {
                SystemAction::Warning.as_str()
            } else {
                SystemAction::Escalation.as_str()
            };
            let whom = match (&e.notify[..], &department) {
                ([], None) => String::new(),
                ([], Some(dep)) => format!("; notify department {dep}"),
                (roles, None) => format!("; notify {}", roles.join(", ")),
                (roles, Some(dep)) => format!("; notify {} of {dep}", roles.join(", ")),
            };
            let clock = match s {
                Some(s) => format!("step '{s}'"),
                None => "the appointment".to_string(),
            };
            comment = format!("{clock}: {threshold}{whom}");
            input = serde_json::json!({
                "clock": if s.is_some() { "step" } else { "appointment" },
                "state": s, "rule": rule, "threshold": threshold.to_string(),
                "notify": e.notify, "department": department, "due_at": due, "take": e.take,
            });
            if e.unassign
                && let Some(st) = s
                && let Some(t) = next
                    .tokens
                    .iter_mut()
                    .find(|t| !t.waiting && &t.state == st)
                && let Some(previous) = t.assignee.take()
            {
                did.push(format!("took the step back from {previous}"));
                if let Some(m) = input.as_object_mut() {
                    m.insert("unassigned".into(), previous.into());
                }
            }
            let name = if e.is_warning() {
                EventKind::Warning
            } else {
                EventKind::Escalated
            };
            event = event_of(name, input.clone());
            if !e.notify.is_empty() || department.is_some() {
                did.push(format!("notified {}", whom.trim_start_matches("; notify ")));
            }
            if let (Some(take), Some(_)) = (&e.take, s) {
                let mut entry = audit_entry(
                    &next,
                    action,
                    &system,
                    states.clone(),
                    states.clone(),
                    Some(comment.clone()),
                    input.clone(),
                    env.now,
                );
                let req = ActionRequest {
                    dossier: d.code.clone(),
                    action: take.clone(),
                    actor: system.clone(),
                    input: serde_json::Value::Null,
                    comment: Some(format!("taken on escalation: {threshold}")),
                    seen_version: next.version,
                    on_behalf: false,
                };
                match step(p, &next, &req, Requester::Engine, env) {
                    Ok(mut taken) => {
                        did.push(format!("took action '{take}'"));
                        let first = taken.changes.remove(0);
                        let mut audit = vec![entry];
                        audit.extend(first.audit);
                        let mut events = vec![event];
                        events.extend(first.events);
                        let mut changes = vec![Change {
                            expected_version: Some(d.version),
                            code_prefix: None,
                            timers: timers_of(&first.dossier),
                            dossier: first.dossier,
                            audit,
                            events,
                        }];
                        changes.append(&mut taken.changes);
                        return Ok(Some(Fired {
                            transition: Transition {
                                changes,
                                idempotency: None,
                                procedures: taken.procedures,
                                plugins: taken.plugins,
                            },
                            firing: report(d, kind, state, timer, did),
                        }));
                    }
                    // The rule still fired: the record says why its action was not taken (a
                    // guard that refuses it now, a child procedure not in force), so an
                    // officer can act instead, and the dossier's other timers are not held.
                    Err(refused) => {
                        did.push(format!("could not take action '{take}': {refused}"));
                        if let Some(m) = entry.input.as_object_mut() {
                            m.insert("not_taken".into(), refused.to_string().into());
                        }
                        return Ok(Some(single(d, next, entry, event, kind, state, timer, did)));
                    }
                }
            }
        }
    }
    let entry = audit_entry(
        &next,
        action,
        &system,
        states.clone(),
        states,
        Some(comment),
        input,
        env.now,
    );
    Ok(Some(single(d, next, entry, event, kind, state, timer, did)))
}

#[allow(clippy::too_many_arguments)]
fn single(
    d: &Dossier,
    next: Dossier,
    entry: crate::audit::Entry,
    event: Event,
    kind: &str,
    state: Option<String>,
    timer: &Timer,
    did: Vec<String>,
) -> Fired {
    Fired {
        transition: Transition {
            changes: vec![Change {
                expected_version: Some(d.version),
                code_prefix: None,
                timers: timers_of(&next),
                dossier: next,
                audit: vec![entry],
                events: vec![event],
            }],
            idempotency: None,
            procedures: vec![],
            plugins: vec![],
        },
        firing: report(d, kind, state, timer, did),
    }
}

fn report(
    d: &Dossier,
    kind: &str,
    state: Option<String>,
    timer: &Timer,
    did: Vec<String>,
) -> Firing {
    Firing {
        dossier: d.code.clone(),
        kind: kind.into(),
        state,
        due: timer.at,
        did,
    }
}

/// Whether the dossier still has `timer`. Timer keys keep milliseconds, so instants compare to
/// the millisecond.
fn has_timer(d: &Dossier, timer: &Timer) -> bool {
    timers_of(d)
        .iter()
        .any(|t| t.kind == timer.kind && same_ms(t.at, timer.at))
}

fn same_ms(a: Timestamp, b: Timestamp) -> bool {
    a.as_millisecond() == b.as_millisecond()
}

/// The order timers of one dossier due at the same instant fire in: warnings, then breaches,
/// then escalations (an escalation "0 working hours after" follows the breach it escalates).
pub fn firing_rank(p: &crate::procedure::Procedure, kind: &TimerKind) -> u8 {
    match kind {
        TimerKind::Alarm { state, rule } => {
            let rules = match state {
                Some(s) => p.state(s).map(|s| s.escalation.as_slice()).unwrap_or(&[]),
                None => p.escalation.as_slice(),
            };
            if rules.get(*rule).is_some_and(|e| e.is_warning()) {
                0
            } else {
                2
            }
        }
        TimerKind::StepDue { .. } | TimerKind::Appointment => 1,
    }
}

/// Folds `later`, computed on the dossier `into` produces, into `into`: one commit for
/// several timers of one dossier due together.
pub fn merge(into: &mut Transition, mut later: Transition) {
    if into.changes.is_empty() {
        *into = later;
        return;
    }
    if !later.changes.is_empty() {
        let first = later.changes.remove(0);
        let target = &mut into.changes[0];
        target.dossier = first.dossier;
        target.timers = first.timers;
        target.audit.extend(first.audit);
        target.events.extend(first.events);
    }
    into.changes.append(&mut later.changes);
    for pin in later.procedures {
        if !into.procedures.contains(&pin) {
            into.procedures.push(pin);
        }
    }
    for blob in later.plugins {
        if !into.plugins.iter().any(|(h, _)| h == &blob.0) {
            into.plugins.push(blob);
        }
    }
}
