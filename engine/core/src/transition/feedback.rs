//! The citizen heard: a satisfaction rating (`rate`), once, after the result is issued or the
//! dossier is refused or stopped; feedback (`feedback`, phản ánh, kiến nghị) at any time, up
//! to [`limits::FEEDBACK`] per dossier, addressed to the department in charge; and a leader's
//! answer (`answer_feedback`). Each is its own version of the dossier with one audit entry;
//! none moves a step or touches a clock, so none needs the exact version (a second rating
//! or a second answer is refused on the dossier as it is at commit).

use serde::{Deserialize, Serialize};

use super::{Env, Error, Transition};
use crate::dossier::definition::Definition;
use crate::dossier::feedback::{Answer, Feedback, Level, Rating};
use crate::dossier::{Actor, Dossier};

/// The audit action of a rating.
pub const RATE: &str = "rate";
/// The audit action of a piece of feedback.
pub const FEEDBACK: &str = "feedback";
/// The audit action of a leader's answer.
pub const ANSWER_FEEDBACK: &str = "answer_feedback";

/// Bounds on what the citizen and the leader write.
pub mod limits {
    /// Longest rating comment, in characters.
    pub const RATING_COMMENT: usize = 1000;
    /// Longest feedback or answer, in characters.
    pub const TEXT: usize = 2000;
    /// Most feedback one dossier holds.
    pub const FEEDBACK: usize = 20;
}

/// The applicant rates the service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateRequest {
    pub dossier: String,
    /// The applicant (the holder of the slip's secret).
    pub actor: Actor,
    pub level: Level,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The applicant sends feedback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    pub dossier: String,
    pub actor: Actor,
    pub text: String,
}

/// A leader answers feedback `number` of the dossier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    pub dossier: String,
    pub actor: Actor,
    pub number: u32,
    pub text: String,
}

/// `text` trimmed, if it has 1..=`max` characters and no control character but line breaks
/// and tabs.
fn bounded(action: &str, input: &str, text: &str, max: usize) -> Result<String, Error> {
    let t = text.trim();
    let refuse = || Error::BadText {
        action: action.into(),
        input: input.into(),
        max,
    };
    if t.is_empty() || t.chars().count() > max {
        return Err(refuse());
    }
    if t.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(refuse());
    }
    Ok(t.to_string())
}

fn applicant_only(d: &Dossier, actor: &Actor, action: &str) -> Result<(), Error> {
    if actor.id != d.applicant.id || actor.id == Actor::SYSTEM_ID {
        return Err(Error::ApplicantOnly {
            action: action.into(),
            actor: actor.id.clone(),
        });
    }
    Ok(())
}

/// Whether the dossier may be rated: its result issued, or it ended (refused, stopped).
pub fn ratable(d: &Dossier) -> bool {
    // A withdrawal is the applicant's own step, not a service to rate (its terminal resolves
    // the clock all the same).
    let withdrawn = d
        .ending
        .as_ref()
        .is_some_and(|e| e.outcome == crate::procedure::Outcome::Withdrawn);
    !withdrawn && (d.clock.resolved.is_some() || d.ending.is_some())
}

/// Records the applicant's rating; refused before the result and after a first rating.
pub fn rate(
    _p: &Definition,
    d: &Dossier,
    req: &RateRequest,
    env: &Env<'_>,
) -> Result<Transition, Error> {
    applicant_only(d, &req.actor, RATE)?;
    if let Some(r) = &d.rating {
        return Err(Error::AlreadyRated {
            code: d.code.clone(),
            at: r.at,
        });
    }
    if !ratable(d) {
        return Err(Error::NotRatable {
            code: d.code.clone(),
        });
    }
    let comment = match req.comment.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(bounded(RATE, "comment", c, limits::RATING_COMMENT)?),
    };
    let mut next = d.clone();
    next.rating = Some(Rating {
        level: req.level,
        comment: comment.clone(),
        at: env.now,
    });
    let input = serde_json::json!({ "level": req.level.as_str() });
    Ok(super::in_place(
        d, next, RATE, &req.actor, comment, input, env,
    ))
}

/// The department a piece of feedback goes to: the one the report counts the dossier under
/// (the resolving department once resolved, else the department of its active steps), else
/// the receiving desk's.
pub fn department_in_charge(p: &Definition, d: &Dossier) -> Option<String> {
    let counted = match &d.clock.resolved {
        Some(r) => r.department.clone().unwrap_or_default(),
        None => crate::report::in_charge(&d.tokens),
    };
    if !counted.is_empty() {
        return Some(counted);
    }
    p.procedure.start_state().and_then(|s| s.department.clone())
}

/// Records a piece of feedback from the applicant, addressed to the department in charge.
pub fn feedback(
    p: &Definition,
    d: &Dossier,
    req: &FeedbackRequest,
    env: &Env<'_>,
) -> Result<Transition, Error> {
    applicant_only(d, &req.actor, FEEDBACK)?;
    if d.feedback.len() >= limits::FEEDBACK {
        return Err(Error::FeedbackFull {
            code: d.code.clone(),
            limit: limits::FEEDBACK,
        });
    }
    let text = bounded(FEEDBACK, "text", &req.text, limits::TEXT)?;
    let number = u32::try_from(d.feedback.len() + 1).unwrap_or(u32::MAX);
    let department = department_in_charge(p, d);
    let mut next = d.clone();
    next.feedback.push(Feedback {
        number,
        at: env.now,
        text: text.clone(),
        department: department.clone(),
        answer: None,
    });
    let input = serde_json::json!({ "number": number, "department": department });
    Ok(super::in_place(
        d,
        next,
        FEEDBACK,
        &req.actor,
        Some(text),
        input,
        env,
    ))
}

/// The roles that lead a department in this procedure: the heads who assign its steps
/// ([`crate::procedure::Procedure::assigner_roles`]) and the signers, who take an action into
/// a state issuing the result (national status 9).
pub fn leader_roles(p: &Definition) -> Vec<&str> {
    let proc_ = &p.procedure;
    let mut roles = proc_.assigner_roles();
    for a in &proc_.actions {
        if proc_.state(&a.to).is_some_and(|s| s.status == 9) {
            roles.extend(a.roles.iter().map(String::as_str));
        }
    }
    roles.sort_unstable();
    roles.dedup();
    roles
}

/// Whether `actor` leads `department` for this procedure: in it, holding a
/// [`leader_roles`] role.
pub fn leads(p: &Definition, actor: &Actor, department: Option<&str>) -> bool {
    let roles = leader_roles(p);
    actor.id != Actor::SYSTEM_ID
        && department.is_none_or(|dep| actor.departments.iter().any(|x| x == dep))
        && actor.roles.iter().any(|r| roles.contains(&r.as_str()))
}

/// Records a leader's answer to feedback `req.number`: only a leader of the department it was
/// sent to, once.
pub fn answer_feedback(
    p: &Definition,
    d: &Dossier,
    req: &AnswerRequest,
    env: &Env<'_>,
) -> Result<Transition, Error> {
    let at = d
        .feedback
        .iter()
        .position(|f| f.number == req.number)
        .ok_or_else(|| Error::UnknownFeedback {
            code: d.code.clone(),
            number: req.number,
        })?;
    let department = d.feedback[at].department.clone();
    if !leads(p, &req.actor, department.as_deref()) {
        return Err(Error::NotLeader {
            actor: req.actor.id.clone(),
            department,
            roles: leader_roles(p).into_iter().map(String::from).collect(),
        });
    }
    if d.feedback[at].answer.is_some() {
        return Err(Error::FeedbackAnswered {
            code: d.code.clone(),
            number: req.number,
        });
    }
    let text = bounded(ANSWER_FEEDBACK, "text", &req.text, limits::TEXT)?;
    let mut next = d.clone();
    next.feedback[at].answer = Some(Answer {
        at: env.now,
        text: text.clone(),
        officer: req.actor.id.clone(),
    });
    let input = serde_json::json!({ "number": req.number });
    Ok(super::in_place(
        d,
        next,
        ANSWER_FEEDBACK,
        &req.actor,
        Some(text),
        input,
        env,
    ))
}
