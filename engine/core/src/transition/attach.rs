//! A paper attached to a dossier: its own version of the dossier with its audit entry
//! (`attach`) naming the kind, the digest, the size and the media type. Nothing about the
//! clock or the steps changes, so attaching never conflicts with a decision made on the page
//! before it; who may attach is decided here:
//!
//! - the receiving desk (the procedure's [`on_behalf_roles`]) at any time while the dossier
//!   is open: checklist papers handed in at the counter, at receipt or with a supplement;
//! - the officers of an active step (its department, a role of an action leaving it):
//!   verification replies, drafts, results;
//! - the applicant (or a portal for them), only the checklist's papers, and only while a
//!   supplement is awaited from them.
//!
//! [`on_behalf_roles`]: crate::procedure::Procedure::on_behalf_roles

use super::{Env, Error, Transition, audit_entry};
use crate::dossier::Dossier;
use crate::dossier::definition::Definition;
use crate::dossier::paper::{Paper, Source, safe_name};
use crate::dossier::request::{AttachRequest, Submission};
use crate::procedure::StateKind;

/// The audit action of an attachment.
pub const ATTACH: &str = "attach";

/// Attaches `req.file` to `d` as a paper of `req.kind`.
pub fn attach(
    p: &Definition,
    d: &Dossier,
    req: &AttachRequest,
    env: &Env<'_>,
) -> Result<Transition, Error> {
    req.check()?;
    let source = may_attach(p, d, &req.actor, &req.kind)?;
    acceptable(p, &req.file)?;
    let actor = &req.actor;
    let version = d.papers.iter().filter(|x| x.kind == req.kind).count() as u32 + 1;
    let paper = Paper {
        kind: req.kind.clone(),
        sha256: req.file.sha256.clone(),
        name: safe_name(&req.file.name),
        media_type: req.file.media_type.clone(),
        size: req.file.size,
        source,
        by: actor.id.clone(),
        at: env.now,
        version,
        from: None,
        pages: req.file.pages,
        valid_until: valid_until(p, &req.kind, env),
    };
    let mut next = d.clone();
    next.version = d.version + 1;
    next.updated_at = env.now;
    next.papers.push(paper.clone());
    let entry = entry_of(&next, &paper, actor, req.comment.clone(), env);
    Ok(Transition::of_one(d, next, entry))
}

/// The audit entry of one attached paper: the chain names its digest, so it proves which
/// papers were before whoever decided next.
fn entry_of(
    d: &Dossier,
    paper: &Paper,
    actor: &crate::dossier::Actor,
    comment: Option<String>,
    env: &Env<'_>,
) -> crate::audit::Entry {
    let states: Vec<String> = d.active_states().map(String::from).collect();
    let mut input = serde_json::json!({
        "kind": paper.kind,
        "sha256": paper.sha256,
        "size": paper.size,
        "media_type": paper.media_type,
        "name": paper.name,
        "source": paper.source,
        "version": paper.version,
    });
    if let Some(from) = &paper.from {
        input["from"] = serde_json::Value::String(from.clone());
    }
    audit_entry(
        d,
        ATTACH,
        actor,
        states.clone(),
        states,
        comment,
        input,
        env.now,
    )
}

/// A file the procedure's paper rules take: a type it accepts, within its size limit.
fn acceptable(p: &Definition, file: &crate::dossier::paper::File) -> Result<(), Error> {
    let policy = &p.procedure.papers;
    if !policy.accepts(&file.media_type) {
        return Err(Error::PaperNotAccepted {
            media_type: file.media_type.clone(),
            office: policy.office,
        });
    }
    if file.size > policy.limit_bytes() {
        return Err(Error::PaperTooLarge {
            size: file.size,
            limit: policy.limit_bytes(),
        });
    }
    Ok(())
}

/// For a result the procedure declares valid for a time: its last valid day, counted from
/// the day it is attached.
fn valid_until(p: &Definition, kind: &str, env: &Env<'_>) -> Option<jiff::civil::Date> {
    let validity = p
        .procedure
        .results
        .iter()
        .find(|r| r.id == kind)?
        .valid_for?;
    validity.until(env.calendar.local_date(env.now))
}

/// Checks the papers a submission brings before anything is built: each answers an item of
/// the procedure's checklist (a result is issued, never handed in) and is a file the
/// procedure's paper rules take.
pub(super) fn check_brought(p: &Definition, sub: &Submission) -> Result<(), Error> {
    let proc_ = &p.procedure;
    for b in &sub.papers {
        if !proc_.documents.iter().any(|x| x.id == b.kind) {
            return Err(Error::UnknownDocument {
                procedure: proc_.id.clone(),
                document: b.kind.clone(),
            });
        }
        acceptable(p, &b.file)?;
    }
    Ok(())
}

/// Attaches a submission's papers to the dossier it creates (the transition's first change),
/// one `attach` entry each after the receipt's: handed in at the desk, or by the applicant
/// when the dossier comes in online.
pub(super) fn receive_brought(
    sub: &Submission,
    t: &mut Transition,
    env: &Env<'_>,
) -> Result<(), Error> {
    if sub.papers.is_empty() {
        return Ok(());
    }
    let Some(change) = t.changes.first_mut() else {
        return Ok(());
    };
    let source = match sub.channel {
        crate::dossier::Channel::Online => Source::Applicant,
        _ => Source::Desk,
    };
    for b in &sub.papers {
        let d = &mut change.dossier;
        // One version per audit entry, as everywhere: the receipt is 1, its papers follow.
        d.version += 1;
        let nth = d.papers.iter().filter(|x| x.kind == b.kind).count() as u32 + 1;
        let paper = Paper {
            kind: b.kind.clone(),
            sha256: b.file.sha256.clone(),
            name: safe_name(&b.file.name),
            media_type: b.file.media_type.clone(),
            size: b.file.size,
            source,
            by: sub.received_by.id.clone(),
            at: env.now,
            version: nth,
            from: b.from.clone(),
            pages: b.file.pages,
            valid_until: None,
        };
        d.papers.push(paper.clone());
        let entry = entry_of(d, &paper, &sub.received_by, None, env);
        change.audit.push(entry);
    }
    Ok(())
}

/// Whether `actor` may attach a paper of `kind` to `d` now, and as whom; asked before a
/// byte of the file is kept, and again by [`attach`].
pub fn may_attach(
    p: &Definition,
    d: &Dossier,
    actor: &crate::dossier::Actor,
    kind: &str,
) -> Result<Source, Error> {
    if let Some(ending) = &d.ending {
        return Err(Error::Closed {
            code: d.code.clone(),
            outcome: ending.outcome,
        });
    }
    let proc_ = &p.procedure;
    if proc_.paper_kind(kind).is_none() {
        return Err(Error::UnknownDocument {
            procedure: proc_.id.clone(),
            document: kind.to_string(),
        });
    }
    source_of(p, d, actor, kind)
}

/// The kinds of paper `actor` may attach to `d` now (what the screen offers), in the
/// procedure's order: checklist papers first, then results.
pub fn attachable<'p>(
    p: &'p Definition,
    d: &Dossier,
    actor: &crate::dossier::Actor,
) -> Vec<&'p str> {
    if d.ending.is_some() {
        return vec![];
    }
    let proc_ = &p.procedure;
    proc_
        .documents
        .iter()
        .map(|x| x.id.as_str())
        .chain(proc_.results.iter().map(|r| r.id.as_str()))
        .filter(|kind| source_of(p, d, actor, kind).is_ok())
        .collect()
}

/// Which of the three who may attach `actor` is for a paper of `kind`, or the refusal.
fn source_of(
    p: &Definition,
    d: &Dossier,
    actor: &crate::dossier::Actor,
    kind: &str,
) -> Result<Source, Error> {
    let proc_ = &p.procedure;
    let holds = |roles: &[&str]| roles.iter().any(|r| actor.roles.iter().any(|h| h == r));
    let awaiting_applicant = d.tokens.iter().any(|t| {
        !t.waiting
            && proc_
                .state(&t.state)
                .is_some_and(|s| s.kind == StateKind::Applicant)
    });
    let is_applicant = actor.id == d.applicant.id && actor.id != crate::dossier::Actor::SYSTEM_ID;
    if is_applicant {
        let checklist = proc_.documents.iter().any(|x| x.id == kind);
        return if awaiting_applicant && checklist {
            Ok(Source::Applicant)
        } else {
            Err(Error::ApplicantOnly {
                action: ATTACH.into(),
                actor: actor.id.clone(),
            })
        };
    }
    // A result is the work of a step's officers; a checklist paper brought to the counter is
    // the desk's, whoever else the desk officer also is.
    let result = proc_.results.iter().any(|r| r.id == kind);
    if !result && holds(&proc_.on_behalf_roles()) {
        return Ok(Source::Desk);
    }
    let of_a_step = d.tokens.iter().filter(|t| !t.waiting).any(|t| {
        let state = proc_.state(&t.state);
        let in_department = state
            .and_then(|s| s.department.as_ref())
            .is_none_or(|dep| actor.departments.contains(dep));
        let roles: Vec<&str> = proc_
            .actions_from(&t.state)
            .flat_map(|a| a.roles.iter().map(String::as_str))
            .collect();
        in_department && holds(&roles)
    });
    if of_a_step {
        return Ok(Source::Officer);
    }
    Err(Error::RoleRequired {
        action: ATTACH.into(),
        actor: actor.id.clone(),
        roles: proc_
            .on_behalf_roles()
            .iter()
            .map(|r| r.to_string())
            .collect(),
        has: actor.roles.clone(),
    })
}
