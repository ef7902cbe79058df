//! Named officers: a step claimed by an officer of its roles, assigned or reassigned to a
//! named officer by a head of its department, or given back to the department. Each change is
//! its own version of the dossier with its audit entry (`assign`); nothing about the step's
//! clock, budget or place in the graph changes, so a page loaded before an assignment can
//! still decide on the step. An assignment itself needs the version it was decided on.

use super::{Env, Error, Transition, audit_entry};
use crate::dossier::Dossier;
use crate::dossier::definition::Definition;
use crate::dossier::request::AssignRequest;

/// The audit action of an assignment.
pub const ASSIGN: &str = "assign";

/// Gives `req.state`'s step of `d` to `req.assignee` (or back to the department).
///
/// Who may: anyone of the step's department holding a role of an action leaving it may
/// claim it (assign it to themself) or give back their own; a holder of the procedure's
/// [`assigner_roles`](crate::procedure::Procedure::assigner_roles) in that department may
/// assign, reassign and take back anyone's.
pub fn assign(
    p: &Definition,
    d: &Dossier,
    req: &AssignRequest,
    env: &Env<'_>,
) -> Result<Transition, Error> {
    req.check()?;
    if let Some(ending) = &d.ending {
        return Err(Error::Closed {
            code: d.code.clone(),
            outcome: ending.outcome,
        });
    }
    let at = d
        .tokens
        .iter()
        .position(|t| !t.waiting && t.state == req.state)
        .ok_or_else(|| Error::NotAvailable {
            action: ASSIGN.into(),
            from: req.state.clone(),
            active: d.active_states().map(String::from).collect(),
        })?;
    let token = &d.tokens[at];
    // Exactly the version seen: an assignment does not move the step, so the branch rule
    // cannot tell two claims from the same page apart; the second is a conflict.
    if req.seen_version != d.version {
        return Err(Error::Conflict {
            code: d.code.clone(),
            seen: req.seen_version,
            current: d.version,
        });
    }
    let proc_ = &p.procedure;
    let actor = &req.actor;
    let state = proc_.state(&req.state);
    let in_department = state
        .and_then(|s| s.department.as_ref())
        .is_none_or(|dep| actor.departments.contains(dep));
    let holds = |roles: &[&str]| roles.iter().any(|r| actor.roles.iter().any(|h| h == r));
    let work_roles: Vec<&str> = proc_
        .actions_from(&req.state)
        .flat_map(|a| a.roles.iter().map(String::as_str))
        .collect();
    let assigners = proc_.assigner_roles();
    let may_assign = in_department && holds(&assigners);
    let may_claim = in_department && holds(&work_roles);
    let allowed = match &req.assignee {
        Some(who) if who == &actor.id => may_claim || may_assign,
        None if token.assignee.as_deref() == Some(actor.id.as_str()) => true,
        _ => may_assign,
    };
    if !allowed || actor.id == crate::dossier::Actor::SYSTEM_ID {
        return Err(Error::RoleRequired {
            action: ASSIGN.into(),
            actor: actor.id.clone(),
            roles: assigners.iter().map(|r| r.to_string()).collect(),
            has: actor.roles.clone(),
        });
    }
    if token.assignee == req.assignee {
        return Err(Error::BadInput {
            action: ASSIGN.into(),
            input: "assignee".into(),
            expected: super::error::Expected::OtherOfficer,
        });
    }
    let previous = token.assignee.clone();
    let mut next = d.clone();
    next.version = d.version + 1;
    next.updated_at = env.now;
    next.tokens[at].assignee = req.assignee.clone();
    let entry = audit_entry(
        &next,
        ASSIGN,
        actor,
        vec![req.state.clone()],
        vec![req.state.clone()],
        req.comment.clone(),
        serde_json::json!({
            "state": req.state,
            "assignee": req.assignee,
            "previous": previous,
        }),
        env.now,
    );
    Ok(Transition::of_one(d, next, entry))
}
