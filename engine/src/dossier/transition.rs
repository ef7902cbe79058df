//! The pure step: given a procedure version, a dossier, a request, the time and the calendar,
//! compute the [`Transition`] — the new dossier state, its audit entries, its timers and its
//! outgoing events — or refuse with a precise [`Error`]. Nothing here reads a clock or touches
//! storage; the store commits a `Transition` atomically or not at all.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::form::FieldError;
use super::{Actor, Applicant, Channel, Clock, Dossier, Ending, Token};
use crate::audit;
use crate::calendar::Duration;
use crate::catalog::Compiled;
use crate::deadline::{self, WorkingCalendar};
use crate::procedure::{InputKind, StateKind};

/// Placeholder codes for dossiers a transition creates; the store replaces them with real
/// national codes when it commits, so codes stay gap-free even when a submission is refused.
pub const NEW_CODE_PREFIX: &str = "@new";

/// A request to receive a new dossier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    pub procedure: String,
    pub applicant: Applicant,
    pub channel: Channel,
    #[serde(default)]
    pub data: serde_json::Value,
    /// Ids of the documents handed in, from the procedure's checklist.
    #[serde(default)]
    pub documents: Vec<String>,
    /// Portals retry with the same key; the same key returns the same dossier, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The officer receiving at the desk, or the portal's service account.
    pub received_by: Actor,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
}

/// A request to perform an action on a dossier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRequest {
    pub dossier: String,
    pub action: String,
    pub actor: Actor,
    #[serde(default)]
    pub input: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The dossier version the actor saw; a stale version is refused.
    pub seen_version: u64,
}

/// Why a timer exists; the scheduler fires it as a transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimerKind {
    /// A step's budget runs out.
    StepDue { state: String },
    /// The appointment with the citizen is reached.
    Appointment,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub at: Timestamp,
    pub dossier: String,
    #[serde(flatten)]
    pub kind: TimerKind,
}

/// An event for the outbox: portals and the national portal sync consume these in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: String,
    pub dossier: String,
    pub at: Timestamp,
    pub status: u8,
    pub payload: serde_json::Value,
}

/// Everything one step writes for one dossier.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The version the step was computed from; `None` creates the dossier.
    pub expected_version: Option<u64>,
    /// For a new dossier: `<agency id>-<yymmdd of receipt>`; the store appends the day's next
    /// sequence number.
    pub code_prefix: Option<String>,
    pub dossier: Dossier,
    pub audit: Vec<audit::Entry>,
    /// The dossier's complete timer set after the step (it replaces the previous set).
    pub timers: Vec<Timer>,
    pub events: Vec<Event>,
}

/// A unit of commit: all of it becomes durable together, or none of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The primary dossier first, then any child dossiers it started.
    pub changes: Vec<Change>,
    /// For submissions: the idempotency key and a hash of the request it answers.
    pub idempotency: Option<(String, String)>,
    /// Procedure versions the dossiers are pinned to: (hash, source), stored once.
    pub procedures: Vec<(String, String)>,
    /// The WASM plugins those versions pin: (sha256, bytes), stored once, so a dossier stays
    /// processable whatever later happens to the plugin files.
    pub plugins: Vec<(String, Arc<Vec<u8>>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("procedure '{procedure}' version {version} receives dossiers from {from}{}", until.map(|u| format!(" until {u}")).unwrap_or_default())]
    NotEffective {
        procedure: String,
        version: String,
        from: jiff::civil::Date,
        until: Option<jiff::civil::Date>,
    },
    #[error("the form data is invalid: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    InvalidForm(Vec<FieldError>),
    #[error("document '{document}' is not in the checklist of procedure '{procedure}'")]
    UnknownDocument { procedure: String, document: String },
    #[error("dossier {code} has ended ({outcome:?}); no action is possible")]
    Closed {
        code: String,
        outcome: crate::procedure::Outcome,
    },
    #[error("dossier {code} is at version {current}, not {seen}: reload it and decide again")]
    Conflict {
        code: String,
        seen: u64,
        current: u64,
    },
    #[error("procedure '{procedure}' has no action '{action}'")]
    UnknownAction { procedure: String, action: String },
    #[error("action '{action}' starts from '{from}', but the dossier is in {}", active_list(.active))]
    NotAvailable {
        action: String,
        from: String,
        active: Vec<String>,
    },
    #[error("action '{action}' needs one of the roles {roles:?}; actor '{actor}' has {has:?}")]
    RoleRequired {
        action: String,
        actor: String,
        roles: Vec<String>,
        has: Vec<String>,
    },
    #[error("action '{action}' is the applicant's own (or the system's); '{actor}' is neither")]
    ApplicantOnly { action: String, actor: String },
    #[error("action '{action}' belongs to department '{department}'; actor '{actor}' is not in it")]
    DepartmentRequired {
        action: String,
        actor: String,
        department: String,
    },
    #[error("action '{action}' needs input '{input}'")]
    MissingInput { action: String, input: String },
    #[error("action '{action}': input '{input}' must be {expected}")]
    BadInput {
        action: String,
        input: String,
        expected: String,
    },
    #[error("action '{action}' takes no input '{input}' (it takes {known:?})")]
    UnknownInput {
        action: String,
        input: String,
        known: Vec<String>,
    },
    #[error("action '{action}' needs a comment stating the reason")]
    CommentRequired { action: String },
    #[error("action '{action}' refused: {label}")]
    GuardRefused { action: String, label: String },
    #[error(transparent)]
    Guard(#[from] super::guard::Error),
    #[error(transparent)]
    Deadline(#[from] deadline::Error),
    #[error("procedure '{procedure}' is inconsistent: {message}")]
    Definition { procedure: String, message: String },
    #[error("linked procedure '{0}' is not in the catalogue")]
    UnknownLinkedProcedure(String),
}

fn active_list(active: &[String]) -> String {
    if active.is_empty() {
        "no active state".into()
    } else {
        format!("{active:?}")
    }
}

/// What a step needs besides the dossier: the calendar and a way to find linked procedures.
pub struct Env<'a> {
    pub calendar: &'a dyn WorkingCalendar,
    /// The current version of a procedure by id (for child dossiers of linked groups).
    pub lookup: &'a dyn Fn(&str) -> Option<Arc<Compiled>>,
    pub now: Timestamp,
}

/// The timers a dossier has in this state: one per budgeted active step and the appointment
/// while the clock runs. Derived from the dossier so the store can clear the old set exactly.
pub fn timers_of(d: &Dossier) -> Vec<Timer> {
    if !d.is_open() {
        return vec![];
    }
    let mut timers: Vec<Timer> = d
        .tokens
        .iter()
        .filter(|t| !t.waiting)
        .filter_map(|t| {
            t.due_at.map(|at| Timer {
                at,
                dossier: d.code.clone(),
                kind: TimerKind::StepDue {
                    state: t.state.clone(),
                },
            })
        })
        .collect();
    if d.clock.paused_since.is_none() {
        timers.push(Timer {
            at: d.clock.due_at,
            dossier: d.code.clone(),
            kind: TimerKind::Appointment,
        });
    }
    timers
}

/// Receives a dossier: validates the form and checklist, places it at the start state and
/// computes its appointment.
pub fn submit(p: &Compiled, sub: &Submission, env: &Env<'_>) -> Result<Transition, Error> {
    let proc_ = &p.procedure;
    let today = env.calendar.local_date(env.now);
    if today < proc_.effective_from || proc_.effective_until.is_some_and(|u| today > u) {
        return Err(Error::NotEffective {
            procedure: proc_.id.clone(),
            version: proc_.version.clone(),
            from: proc_.effective_from,
            until: proc_.effective_until,
        });
    }
    for doc in &sub.documents {
        if !proc_.documents.iter().any(|d| &d.id == doc) {
            return Err(Error::UnknownDocument {
                procedure: proc_.id.clone(),
                document: doc.clone(),
            });
        }
    }
    let errors = p.form.check(&sub.data);
    if !errors.is_empty() {
        return Err(Error::InvalidForm(errors));
    }
    let mut builder = Builder::new(env);
    builder.create(p, sub, None, &sub.received_by, "submit")?;
    let request_hash = {
        use sha2::Digest;
        let body = serde_json::to_vec(sub).unwrap_or_default();
        hex::encode(sha2::Sha256::digest(&body))
    };
    Ok(Transition {
        changes: builder.changes,
        idempotency: sub.idempotency_key.clone().map(|k| (k, request_hash)),
        procedures: builder.procedures,
        plugins: builder.plugins,
    })
}

/// Checks that `actor` may take `action` on `dossier` (role, department, inputs, comment,
/// guard) and computes the step.
pub fn act(
    p: &Compiled,
    d: &Dossier,
    req: &ActionRequest,
    env: &Env<'_>,
) -> Result<Transition, Error> {
    if let Some(ending) = &d.ending {
        return Err(Error::Closed {
            code: d.code.clone(),
            outcome: ending.outcome,
        });
    }
    if req.seen_version != d.version {
        return Err(Error::Conflict {
            code: d.code.clone(),
            seen: req.seen_version,
            current: d.version,
        });
    }
    let proc_ = &p.procedure;
    let action = proc_
        .action(&req.action)
        .ok_or_else(|| Error::UnknownAction {
            procedure: proc_.id.clone(),
            action: req.action.clone(),
        })?;
    let token_index = d
        .tokens
        .iter()
        .position(|t| !t.waiting && t.state == action.from)
        .ok_or_else(|| Error::NotAvailable {
            action: action.id.clone(),
            from: action.from.clone(),
            active: d.active_states().map(String::from).collect(),
        })?;
    authorize(p, d, action, &req.actor)?;
    check_inputs(p, action, &req.input)?;
    if (action.comment_required || action.extends.is_some())
        && req.comment.as_deref().is_none_or(|c| c.trim().is_empty())
    {
        return Err(Error::CommentRequired {
            action: action.id.clone(),
        });
    }
    if let Some(guard) = p.guards.get(&action.id)
        && !guard.allows(&d.data, Some(d), &req.input, &req.actor, env.now)?
    {
        return Err(Error::GuardRefused {
            action: action.id.clone(),
            label: guard.label.clone(),
        });
    }

    let mut next = d.clone();
    next.version = d.version + 1;
    next.updated_at = env.now;
    // Documents handed in with the action (a supplement) join the dossier's list.
    for input in action
        .inputs
        .iter()
        .filter(|i| i.kind == InputKind::Documents)
    {
        if let Some(docs) = req.input.get(&input.name).and_then(|v| v.as_array()) {
            for doc in docs.iter().filter_map(|v| v.as_str()) {
                if !next.documents.iter().any(|d| d == doc) {
                    next.documents.push(doc.to_string());
                }
            }
        }
    }
    if let Some(max) = action.extends {
        let extension = extension_of(action, max, &req.input)?;
        next.clock.due_at = env.calendar.add(next.clock.due_at, extension)?;
        next.clock.extensions += 1;
    }

    let token = next.tokens.remove(token_index);
    let mut builder = Builder::new(env);
    let mut entered = vec![];
    let mut spawned = vec![];
    builder.enter(
        p,
        &mut next,
        &action.to,
        token.lineage.clone(),
        &mut entered,
        &mut spawned,
    )?;
    builder.settle_clock(p, &mut next)?;

    let entry = audit_entry(
        &next,
        &action.id,
        &req.actor,
        vec![action.from.clone()],
        entered.clone(),
        req.comment.clone(),
        req.input.clone(),
        env.now,
    );
    let mut events = vec![Event {
        kind: "dossier.moved".into(),
        dossier: next.code.clone(),
        at: env.now,
        status: next.status,
        payload: serde_json::json!({"action": action.id, "from": action.from, "to": entered}),
    }];
    if let Some(ending) = &next.ending {
        events.push(ended_event(&next, ending, env.now));
    }
    builder.changes.push(Change {
        expected_version: Some(d.version),
        code_prefix: None,
        timers: timers_of(&next),
        dossier: next,
        audit: vec![entry],
        events,
    });
    builder.spawn_children(p, 0, spawned, &req.actor)?;
    Ok(Transition {
        changes: builder.changes,
        idempotency: None,
        procedures: builder.procedures,
        plugins: builder.plugins,
    })
}

/// The actions `actor` may take now, with the reason each refused one would be refused.
pub fn available(p: &Compiled, d: &Dossier, actor: &Actor, now: Timestamp) -> Vec<Availability> {
    if !d.is_open() {
        return vec![];
    }
    let mut out = vec![];
    for state in d.active_states() {
        for action in p.procedure.actions_from(state) {
            if authorize(p, d, action, actor).is_err() {
                continue;
            }
            let refusal = match p.guards.get(&action.id) {
                Some(g) => match g.allows(&d.data, Some(d), &serde_json::json!({}), actor, now) {
                    Ok(true) => None,
                    Ok(false) => Some(g.label.clone()),
                    // Guards over `input` cannot be judged before the input exists.
                    Err(_) => None,
                },
                None => None,
            };
            out.push(Availability {
                action: action.id.clone(),
                label: action.label.clone(),
                from: action.from.clone(),
                to: action.to.clone(),
                inputs: action.inputs.iter().map(|i| i.name.clone()).collect(),
                comment_required: action.comment_required || action.extends.is_some(),
                refused: refusal,
            });
        }
    }
    out
}

/// One action an actor could take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    pub action: String,
    pub label: String,
    pub from: String,
    pub to: String,
    pub inputs: Vec<String>,
    pub comment_required: bool,
    /// The guard's label when the guard currently refuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Who may take `action`: with roles, an officer holding one of them (and, for officers' steps,
/// belonging to the step's department); without roles, the dossier's own applicant (the portal
/// authenticates the citizen and acts with their id) or the system.
fn authorize(
    p: &Compiled,
    d: &Dossier,
    action: &crate::procedure::Action,
    actor: &Actor,
) -> Result<(), Error> {
    let is_system = actor.id == Actor::system().id && actor.roles.is_empty();
    let from_automatic = p
        .procedure
        .state(&action.from)
        .is_some_and(|s| s.kind == StateKind::Automatic);
    if is_system && from_automatic {
        // A plugin's decision (or its on_error route) is carried out by the engine itself.
        return Ok(());
    }
    if action.roles.is_empty() {
        if is_system || actor.id == d.applicant.id {
            return Ok(());
        }
        return Err(Error::ApplicantOnly {
            action: action.id.clone(),
            actor: actor.id.clone(),
        });
    }
    if !action.roles.iter().any(|r| actor.roles.contains(r)) {
        return Err(Error::RoleRequired {
            action: action.id.clone(),
            actor: actor.id.clone(),
            roles: action.roles.clone(),
            has: actor.roles.clone(),
        });
    }
    if let Some(state) = p.procedure.state(&action.from)
        && state.kind != StateKind::Applicant
        && let Some(dep) = &state.department
        && !actor.departments.contains(dep)
    {
        return Err(Error::DepartmentRequired {
            action: action.id.clone(),
            actor: actor.id.clone(),
            department: dep.clone(),
        });
    }
    Ok(())
}

fn check_inputs(
    p: &Compiled,
    action: &crate::procedure::Action,
    input: &serde_json::Value,
) -> Result<(), Error> {
    let empty = serde_json::Map::new();
    let given = match input {
        serde_json::Value::Object(m) => m,
        serde_json::Value::Null => &empty,
        _ => {
            return Err(Error::BadInput {
                action: action.id.clone(),
                input: "(input)".into(),
                expected: "an object".into(),
            });
        }
    };
    for name in given.keys() {
        let declared = action.inputs.iter().any(|i| &i.name == name)
            || (action.extends.is_some() && name == "extension");
        if !declared {
            return Err(Error::UnknownInput {
                action: action.id.clone(),
                input: name.clone(),
                known: action.inputs.iter().map(|i| i.name.clone()).collect(),
            });
        }
    }
    for decl in &action.inputs {
        let bad = |expected: &str| Error::BadInput {
            action: action.id.clone(),
            input: decl.name.clone(),
            expected: expected.into(),
        };
        match given.get(&decl.name) {
            None | Some(serde_json::Value::Null) => {
                if decl.required {
                    return Err(Error::MissingInput {
                        action: action.id.clone(),
                        input: decl.name.clone(),
                    });
                }
            }
            Some(v) => match decl.kind {
                InputKind::Text if !v.is_string() => return Err(bad("text")),
                InputKind::Text
                    if decl.required && v.as_str().is_some_and(|s| s.trim().is_empty()) =>
                {
                    return Err(Error::MissingInput {
                        action: action.id.clone(),
                        input: decl.name.clone(),
                    });
                }
                InputKind::Number if !v.is_number() => return Err(bad("a number")),
                InputKind::Boolean if !v.is_boolean() => return Err(bad("true or false")),
                InputKind::Date => {
                    let ok = v
                        .as_str()
                        .is_some_and(|s| s.parse::<jiff::civil::Date>().is_ok());
                    if !ok {
                        return Err(bad("a date YYYY-MM-DD"));
                    }
                }
                InputKind::Documents => {
                    let Some(items) = v.as_array() else {
                        return Err(bad("a list of document ids"));
                    };
                    for item in items {
                        let known = item
                            .as_str()
                            .is_some_and(|id| p.procedure.documents.iter().any(|d| d.id == id));
                        if !known {
                            return Err(bad("a list of document ids from the checklist"));
                        }
                    }
                }
                _ => {}
            },
        }
    }
    Ok(())
}

fn extension_of(
    action: &crate::procedure::Action,
    max: Duration,
    input: &serde_json::Value,
) -> Result<Duration, Error> {
    let Some(asked) = input.get("extension") else {
        return Ok(max);
    };
    let bad = |expected: String| Error::BadInput {
        action: action.id.clone(),
        input: "extension".into(),
        expected,
    };
    let asked: Duration = asked
        .as_str()
        .ok_or_else(|| bad(format!("a duration like '{max}'")))?
        .parse()
        .map_err(|e: crate::calendar::duration::Error| bad(e.to_string()))?;
    if asked.unit != max.unit || asked.milli > max.milli {
        return Err(bad(format!("at most {max}")));
    }
    Ok(asked)
}

#[allow(clippy::too_many_arguments)]
fn audit_entry(
    d: &Dossier,
    action: &str,
    actor: &Actor,
    from: Vec<String>,
    to: Vec<String>,
    comment: Option<String>,
    input: serde_json::Value,
    now: Timestamp,
) -> audit::Entry {
    audit::Entry {
        seq: 0,
        at: now,
        dossier: d.code.clone(),
        procedure: d.procedure.clone(),
        procedure_hash: d.procedure_hash.clone(),
        action: action.to_string(),
        actor: actor.id.clone(),
        roles: actor.roles.clone(),
        departments: actor.departments.clone(),
        from,
        to,
        comment,
        input: if input.as_object().is_some_and(|m| m.is_empty()) {
            serde_json::Value::Null
        } else {
            input
        },
        version: d.version,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

fn ended_event(d: &Dossier, ending: &Ending, now: Timestamp) -> Event {
    Event {
        kind: "dossier.ended".into(),
        dossier: d.code.clone(),
        at: now,
        status: d.status,
        payload: serde_json::json!({"outcome": ending.outcome, "state": ending.state, "on_time": ending.on_time}),
    }
}

struct Builder<'e, 'a> {
    env: &'e Env<'a>,
    changes: Vec<Change>,
    procedures: Vec<(String, String)>,
    plugins: Vec<(String, Arc<Vec<u8>>)>,
    depth: usize,
}

/// Linked groups nest (birth → residence → insurance), but never this deep.
const MAX_LINK_DEPTH: usize = 4;

impl<'e, 'a> Builder<'e, 'a> {
    fn new(env: &'e Env<'a>) -> Self {
        Builder {
            env,
            changes: vec![],
            procedures: vec![],
            plugins: vec![],
            depth: 0,
        }
    }
    fn placeholder(&self) -> String {
        format!("{NEW_CODE_PREFIX}{}", self.changes.len())
    }

    fn pin(&mut self, p: &Compiled) {
        if !self.procedures.iter().any(|(h, _)| h == &p.hash) {
            self.procedures.push((p.hash.clone(), p.source.clone()));
        }
        for (sha, bytes) in &p.plugin_blobs {
            if !self.plugins.iter().any(|(h, _)| h == sha) {
                self.plugins.push((sha.clone(), bytes.clone()));
            }
        }
    }

    /// Creates a dossier (a submission or a linked child) and pushes its change.
    fn create(
        &mut self,
        p: &Compiled,
        sub: &Submission,
        parent: Option<String>,
        actor: &Actor,
        action: &str,
    ) -> Result<usize, Error> {
        let env = self.env;
        let proc_ = &p.procedure;
        let start = proc_.start_state().ok_or_else(|| Error::Definition {
            procedure: proc_.id.clone(),
            message: "no start state".into(),
        })?;
        let due = deadline::appointment(
            env.calendar,
            &proc_.limit,
            env.now,
            sub.applicant.disadvantaged_area,
        )?;
        let code = self.placeholder();
        let mut d = Dossier {
            code: code.clone(),
            procedure: proc_.id.clone(),
            procedure_version: proc_.version.clone(),
            procedure_hash: p.hash.clone(),
            agency: proc_.agency.id.clone(),
            applicant: sub.applicant.clone(),
            channel: sub.channel,
            data: sub.data.clone(),
            documents: sub.documents.clone(),
            fees: fixed_fees(proc_),
            tokens: vec![],
            clock: Clock {
                received_at: env.now,
                due_at: due,
                paused_since: None,
                supplements: 0,
                extensions: 0,
            },
            status: start.status,
            ending: None,
            parent,
            children: vec![],
            version: 1,
            created_at: env.now,
            updated_at: env.now,
            meta: sub.meta.clone(),
        };
        self.pin(p);
        // Reserve the slot so children get later placeholders than their parent.
        let index = self.changes.len();
        let day = env.calendar.local_date(env.now);
        let code_prefix = format!(
            "{}-{:02}{:02}{:02}",
            proc_.agency.id,
            day.year() % 100,
            day.month(),
            day.day()
        );
        self.changes.push(Change {
            expected_version: None,
            code_prefix: Some(code_prefix.clone()),
            dossier: d.clone(),
            audit: vec![],
            timers: vec![],
            events: vec![],
        });
        let mut entered = vec![];
        let mut spawned = vec![];
        self.enter(p, &mut d, &start.id, vec![], &mut entered, &mut spawned)?;
        self.settle_clock(p, &mut d)?;
        let entry = audit_entry(
            &d,
            action,
            actor,
            vec![],
            entered.clone(),
            None,
            serde_json::Value::Null,
            env.now,
        );
        let mut events = vec![Event {
            kind: "dossier.received".into(),
            dossier: code,
            at: env.now,
            status: d.status,
            payload: serde_json::json!({
                "procedure": proc_.id,
                "channel": d.channel,
                "channel_code": d.channel.national_code(),
                "due_at": d.clock.due_at,
                "to": entered,
            }),
        }];
        if let Some(ending) = &d.ending {
            events.push(ended_event(&d, ending, env.now));
        }
        self.changes[index] = Change {
            expected_version: None,
            code_prefix: Some(code_prefix),
            timers: timers_of(&d),
            dossier: d,
            audit: vec![entry],
            events,
        };
        self.spawn_children(p, index, spawned, actor)?;
        Ok(index)
    }

    fn spawn_children(
        &mut self,
        p: &Compiled,
        parent_index: usize,
        links: Vec<crate::procedure::ChildLink>,
        actor: &Actor,
    ) -> Result<(), Error> {
        if links.is_empty() {
            return Ok(());
        }
        if self.depth >= MAX_LINK_DEPTH {
            return Err(Error::Definition {
                procedure: p.procedure.id.clone(),
                message: "linked procedures nest too deep".into(),
            });
        }
        self.depth += 1;
        for link in links {
            let child = (self.env.lookup)(&link.procedure)
                .ok_or_else(|| Error::UnknownLinkedProcedure(link.procedure.clone()))?;
            let parent = &self.changes[parent_index].dossier;
            let mut data = serde_json::Map::new();
            for (child_field, parent_field) in &link.data {
                if let Some(v) = parent.data.get(parent_field) {
                    data.insert(child_field.clone(), v.clone());
                }
            }
            let sub = Submission {
                procedure: link.procedure.clone(),
                applicant: parent.applicant.clone(),
                channel: parent.channel,
                data: serde_json::Value::Object(data),
                documents: vec![],
                idempotency_key: None,
                received_by: actor.clone(),
                meta: BTreeMap::new(),
            };
            let errors = child.form.check(&sub.data);
            if !errors.is_empty() {
                return Err(Error::InvalidForm(errors));
            }
            let parent_code = parent.code.clone();
            let index = self.create(
                &child,
                &sub,
                Some(parent_code),
                actor,
                "system:start-linked",
            )?;
            let child_code = self.changes[index].dossier.code.clone();
            let parent = &mut self.changes[parent_index];
            parent.dossier.children.push(child_code.clone());
            parent.events.push(Event {
                kind: "dossier.linked".into(),
                dossier: parent.dossier.code.clone(),
                at: self.env.now,
                status: parent.dossier.status,
                payload: serde_json::json!({"child": child_code, "procedure": link.procedure}),
            });
        }
        self.depth -= 1;
        Ok(())
    }

    /// Puts a token into `state`, expanding forks, completing joins and ending the dossier at
    /// terminals. `entered` collects the states entered, `spawned` the linked procedures to start.
    fn enter(
        &mut self,
        p: &Compiled,
        d: &mut Dossier,
        state_id: &str,
        lineage: Vec<(String, usize)>,
        entered: &mut Vec<String>,
        spawned: &mut Vec<crate::procedure::ChildLink>,
    ) -> Result<(), Error> {
        if d.ending.is_some() {
            return Ok(());
        }
        let env = self.env;
        let definition = |message: String| Error::Definition {
            procedure: p.procedure.id.clone(),
            message,
        };
        let state = p
            .procedure
            .state(state_id)
            .ok_or_else(|| definition(format!("unknown state '{state_id}'")))?;
        entered.push(state.id.clone());
        spawned.extend(state.starts.iter().cloned());
        if state.kind != StateKind::Fork {
            d.status = state.status;
        }
        match state.kind {
            StateKind::Fork => {
                for (i, branch) in state.branches.iter().enumerate() {
                    let mut l = lineage.clone();
                    l.push((state.id.clone(), i));
                    self.enter(p, d, branch, l, entered, spawned)?;
                }
            }
            StateKind::Join => {
                let fork_id = state
                    .fork
                    .as_deref()
                    .ok_or_else(|| definition(format!("join '{}' names no fork", state.id)))?;
                let fork = p
                    .procedure
                    .state(fork_id)
                    .ok_or_else(|| definition(format!("unknown fork '{fork_id}'")))?;
                if lineage
                    .last()
                    .is_none_or(|(last_fork, _)| last_fork != fork_id)
                {
                    // Re-entered after the branches met (e.g. back from a supplement request):
                    // the join is then the consolidation step it became.
                    let due = step_due(env, state)?;
                    d.tokens.push(token_at(state, env.now, due, lineage, false));
                    return Ok(());
                }
                d.tokens
                    .push(token_at(state, env.now, None, lineage.clone(), true));
                let parent_lineage = &lineage[..lineage.len() - 1];
                let arrived: Vec<usize> = d
                    .tokens
                    .iter()
                    .filter(|t| {
                        t.waiting
                            && t.state == state.id
                            && t.lineage.len() == lineage.len()
                            && &t.lineage[..parent_lineage.len()] == parent_lineage
                    })
                    .filter_map(|t| t.lineage.last().map(|(_, i)| *i))
                    .collect();
                let complete = (0..fork.branches.len()).all(|i| arrived.contains(&i));
                if complete {
                    d.tokens.retain(|t| {
                        !(t.waiting
                            && t.state == state.id
                            && t.lineage.len() == lineage.len()
                            && &t.lineage[..parent_lineage.len()] == parent_lineage)
                    });
                    let due = step_due(env, state)?;
                    d.tokens.push(token_at(
                        state,
                        env.now,
                        due,
                        parent_lineage.to_vec(),
                        false,
                    ));
                } else {
                    // Still waiting for sibling branches: the status stays that of the work
                    // in progress.
                    d.status = 4;
                }
            }
            StateKind::Terminal => {
                let outcome = state
                    .outcome
                    .ok_or_else(|| definition(format!("terminal '{}' has no outcome", state.id)))?;
                let effective_due = match d.clock.paused_since {
                    Some(since) => deadline::resume(
                        env.calendar,
                        &p.procedure.limit,
                        d.clock.due_at,
                        since,
                        env.now,
                    )?,
                    None => d.clock.due_at,
                };
                d.tokens.clear();
                d.clock.paused_since = None;
                d.ending = Some(Ending {
                    outcome,
                    state: state.id.clone(),
                    at: env.now,
                    on_time: env.now <= effective_due,
                });
            }
            StateKind::Applicant | StateKind::Task | StateKind::Automatic => {
                if state.kind == StateKind::Applicant && state.status == 5 {
                    d.clock.supplements += 1;
                }
                let due = if state.kind == StateKind::Applicant || state.outside_budget {
                    None
                } else {
                    step_due(env, state)?
                };
                d.tokens.push(token_at(state, env.now, due, lineage, false));
            }
        }
        Ok(())
    }

    /// Pauses the statutory clock while any active step waits on the applicant or is outside
    /// the agency's budget, and moves the appointment when it resumes.
    fn settle_clock(&self, p: &Compiled, d: &mut Dossier) -> Result<(), Error> {
        if d.ending.is_some() {
            return Ok(());
        }
        let paused = d.tokens.iter().filter(|t| !t.waiting).any(|t| {
            p.procedure
                .state(&t.state)
                .is_some_and(|s| s.kind == StateKind::Applicant || s.outside_budget)
        });
        match (paused, d.clock.paused_since) {
            (true, None) => d.clock.paused_since = Some(self.env.now),
            (false, Some(since)) => {
                d.clock.due_at = deadline::resume(
                    self.env.calendar,
                    &p.procedure.limit,
                    d.clock.due_at,
                    since,
                    self.env.now,
                )?;
                d.clock.paused_since = None;
            }
            _ => {}
        }
        Ok(())
    }
}

/// A token entering `state` now.
fn token_at(
    state: &crate::procedure::State,
    now: Timestamp,
    due_at: Option<Timestamp>,
    lineage: Vec<(String, usize)>,
    waiting: bool,
) -> Token {
    Token {
        state: state.id.clone(),
        department: state.department.clone(),
        entered_at: now,
        due_at,
        lineage,
        waiting,
    }
}

/// The procedure's fixed fees; plugin-computed ones are added by the engine before commit.
fn fixed_fees(p: &crate::procedure::Procedure) -> Vec<super::FeeCharge> {
    p.fees
        .iter()
        .filter_map(|f| {
            f.amount.map(|amount| super::FeeCharge {
                id: f.id.clone(),
                name: f.name.clone(),
                amount,
                breakdown: vec![],
            })
        })
        .collect()
}

fn step_due(env: &Env<'_>, state: &crate::procedure::State) -> Result<Option<Timestamp>, Error> {
    match state.budget {
        Some(b) if !b.is_zero() => Ok(Some(env.calendar.add(env.now, b)?)),
        Some(_) => Ok(Some(env.calendar.close_of_working_day(env.now)?)),
        None => Ok(None),
    }
}
