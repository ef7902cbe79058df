//! How the applicant is reached: the desk records a new phone number, e-mail address or
//! consent to notices. Each change is its own version of the dossier with its `contact`
//! entry (what was and what is), so the chain shows who changed where notices go, and when;
//! nothing about the steps or the clocks moves. Accepted while the dossier is open or after,
//! since the result and a rating request still reach the applicant.

use super::{Env, Error, Transition};
use crate::dossier::Dossier;
use crate::dossier::definition::Definition;
use crate::dossier::request::ContactRequest;

/// The audit action of a change of contact.
pub const CONTACT: &str = "contact";

/// Records `req`'s contact on `d`: for an officer holding one of the procedure's
/// [`on_behalf_roles`](crate::procedure::Procedure::on_behalf_roles) (the desk, which takes
/// the applicant's requests at the counter).
pub fn contact(
    p: &Definition,
    d: &Dossier,
    req: &ContactRequest,
    env: &Env<'_>,
) -> Result<Transition, Error> {
    req.check()?;
    let desk = p.procedure.on_behalf_roles();
    let actor = &req.actor;
    let holds = desk.iter().any(|r| actor.roles.iter().any(|h| h == r));
    if !holds || actor.id == crate::dossier::Actor::SYSTEM_ID {
        return Err(Error::RoleRequired {
            action: CONTACT.into(),
            actor: actor.id.clone(),
            roles: desk.iter().map(|r| r.to_string()).collect(),
            has: actor.roles.clone(),
        });
    }
    // Exactly the version seen: two desks editing one contact must not both pass.
    if req.seen_version != d.version {
        return Err(Error::Conflict {
            code: d.code.clone(),
            seen: req.seen_version,
            current: d.version,
        });
    }
    let phone = req.phone.clone().filter(|p| !p.trim().is_empty());
    let email = req.email.clone().filter(|e| !e.trim().is_empty());
    let mut notify_by = req.notify_by.clone();
    notify_by.sort();
    let a = &d.applicant;
    if a.phone == phone && a.email == email && a.notify_by == notify_by {
        return Err(Error::BadInput {
            action: CONTACT.into(),
            input: "contact".into(),
            expected: super::error::Expected::Changed,
        });
    }
    let before = serde_json::json!({
        "phone": a.phone, "email": a.email, "notify_by": a.notify_by,
    });
    let mut next = d.clone();
    next.applicant.phone = phone;
    next.applicant.email = email;
    next.applicant.notify_by = notify_by;
    let input = serde_json::json!({
        "phone": next.applicant.phone,
        "email": next.applicant.email,
        "notify_by": next.applicant.notify_by,
        "previous": before,
    });
    Ok(super::in_place(
        d,
        next,
        CONTACT,
        actor,
        req.comment.clone(),
        input,
        env,
    ))
}
