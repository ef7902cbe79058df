//! The pure step: given a procedure version, a dossier, a request, the time and the calendar,
//! compute the [`Transition`] — the new dossier state, its audit entries, its timers and its
//! outgoing events — or refuse with a precise [`Error`]. Nothing here reads a clock or touches
//! storage; the store commits a `Transition` atomically or not at all.

use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::audit;
use crate::deadline::{Rules, WorkingCalendar};
use crate::dossier::definition::Definition;
use crate::dossier::{Actor, Dossier, Ending};
use crate::procedure::InputKind;

mod assign;
mod attach;
mod authorize;
mod builder;
mod contact;
mod error;
mod event;
mod feedback;
mod fire;
mod notice;
mod resolution;

pub use crate::dossier::request::{
    ActionRequest, AssignRequest, AttachRequest, ContactRequest, Submission,
};
pub use assign::{ASSIGN, assign};
pub use attach::{ATTACH, attach, attachable, may_attach};
pub use authorize::Requester;
use authorize::{authorize, check_inputs, extension_of};
use builder::Builder;
pub use contact::{CONTACT, contact};
pub use error::{Error, Expected};
pub use event::{Event, EventKind};
pub use feedback::limits as feedback_limits;
pub use feedback::{
    ANSWER_FEEDBACK, AnswerRequest, FEEDBACK, FeedbackRequest, RATE, RateRequest, answer_feedback,
    department_in_charge, feedback, leader_roles, leads, ratable, rate,
};
pub use fire::{Fired, Firing, fire, firing_rank, merge};

/// Placeholder codes for dossiers a transition creates; the store replaces them with real
/// national codes when it commits, so codes stay gap-free even when a submission is refused.
pub const NEW_CODE_PREFIX: &str = "@new";

/// Why a timer exists; the scheduler fires it as a transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimerKind {
    /// A step's budget runs out.
    StepDue { state: String },
    /// The appointment with the citizen is reached.
    Appointment,
    /// A warning or escalation rule: the step's in `state`, or the statutory clock's when
    /// `state` is absent; `rule` is its index in that `escalation` list.
    Alarm {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<String>,
        rule: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub at: Timestamp,
    pub dossier: String,
    #[serde(flatten)]
    pub kind: TimerKind,
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

impl Transition {
    /// A step that changes one dossier in place and records one entry, with no outbox event
    /// (an assignment, a paper attached, a contact or a rating): the version `d` had is the
    /// one expected, and the timers are the new dossier's.
    pub fn of_one(seen: &Dossier, next: Dossier, entry: crate::audit::Entry) -> Transition {
        Transition {
            changes: vec![Change {
                expected_version: Some(seen.version),
                code_prefix: None,
                timers: timers_of(&next),
                dossier: next,
                audit: vec![entry],
                events: vec![],
            }],
            idempotency: None,
            procedures: vec![],
            plugins: vec![],
        }
    }
}

/// The next version of `d` (`next`, changed by the caller) with one audit entry, staying
/// where it is: its active states are the entry's from and to.
pub(crate) fn in_place(
    d: &Dossier,
    mut next: Dossier,
    action: &str,
    actor: &Actor,
    comment: Option<String>,
    input: serde_json::Value,
    env: &Env<'_>,
) -> Transition {
    next.version = d.version + 1;
    next.updated_at = env.now;
    let here: Vec<String> = d.active_states().map(String::from).collect();
    let entry = audit_entry(
        &next,
        action,
        actor,
        here.clone(),
        here,
        comment,
        input,
        env.now,
    );
    Transition::of_one(d, next, entry)
}

/// What a step needs besides the dossier: the calendar, a way to find linked procedures, the
/// instant, and the placeholder codes already handed out.
///
/// One `Env` serves every step folded into one committed transition (a submission, then each
/// plugin decision `steps` adds to it), so placeholder codes (`@new0`, `@new1`, ...) are
/// allocated once per transition and two new dossiers never share one.
pub struct Env<'a> {
    pub calendar: &'a dyn WorkingCalendar,
    /// The version in force of a procedure by id (for child dossiers of linked groups).
    pub lookup: &'a dyn Fn(&str) -> Option<Arc<Definition>>,
    pub now: Timestamp,
    /// How dossiers and steps are classified when they end.
    pub rules: &'a Rules,
    placeholders: std::cell::Cell<u32>,
}

impl<'a> Env<'a> {
    pub fn new(
        calendar: &'a dyn WorkingCalendar,
        lookup: &'a dyn Fn(&str) -> Option<Arc<Definition>>,
        now: Timestamp,
    ) -> Env<'a> {
        Env {
            calendar,
            lookup,
            now,
            rules: &Rules::NATIONAL,
            placeholders: std::cell::Cell::new(0),
        }
    }

    /// The same environment classifying by `rules` instead of the national defaults.
    pub fn with_rules(mut self, rules: &'a Rules) -> Env<'a> {
        self.rules = rules;
        self
    }

    /// The next placeholder code of the transition being built.
    fn placeholder(&self) -> String {
        let n = self.placeholders.get();
        self.placeholders.set(n + 1);
        format!("{NEW_CODE_PREFIX}{n}")
    }
}

/// The timers a dossier has in this state: for each active budgeted step its breach (until
/// recorded) and its warnings still to fire; while the clock runs, the appointment (until its
/// breach is recorded) and the statutory warnings still to fire. Derived from the dossier
/// alone, so the store clears the old set exactly and a fired timer is gone with the commit
/// that recorded its effect.
pub fn timers_of(d: &Dossier) -> Vec<Timer> {
    if !d.is_open() {
        return vec![];
    }
    let timer = |at, kind| Timer {
        at,
        dossier: d.code.clone(),
        kind,
    };
    let mut timers = vec![];
    for t in d.tokens.iter().filter(|t| !t.waiting) {
        if let (Some(at), None) = (t.due_at, t.overdue_since) {
            let state = t.state.clone();
            timers.push(timer(at, TimerKind::StepDue { state }));
        }
        for a in &t.alarms {
            let state = Some(t.state.clone());
            timers.push(timer(
                a.at,
                TimerKind::Alarm {
                    state,
                    rule: a.rule,
                },
            ));
        }
    }
    if d.clock.paused_since.is_none() && d.clock.resolved.is_none() {
        if d.clock.overdue_since.is_none() {
            timers.push(timer(d.clock.due_at, TimerKind::Appointment));
        }
        for a in &d.clock.alarms {
            let kind = TimerKind::Alarm {
                state: None,
                rule: a.rule,
            };
            timers.push(timer(a.at, kind));
        }
    }
    timers
}

/// Receives a dossier: validates the form and checklist, places it at the start state and
/// computes its appointment.
pub fn submit(p: &Definition, sub: &Submission, env: &Env<'_>) -> Result<Transition, Error> {
    sub.check()?;
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
    attach::check_brought(p, sub)?;
    // The data as it will be stored: with the schema's defaults, which must be valid too.
    let mut data = sub.data.clone();
    p.form.apply_defaults(&mut data);
    let errors = p.form.check_on(&data, env.calendar.local_date(env.now));
    if !errors.is_empty() {
        return Err(Error::InvalidForm(errors));
    }
    // An item with a paper is handed in, ticked or not.
    let mut handed_in = sub.clone();
    for b in &sub.papers {
        if !handed_in.documents.contains(&b.kind) {
            handed_in.documents.push(b.kind.clone());
        }
    }
    let mut builder = Builder::new(env);
    builder.create(p, &handed_in, None, &sub.received_by, "submit")?;
    let request_hash = {
        use sha2::Digest;
        let body = serde_json::to_vec(sub).unwrap_or_default();
        hex::encode(sha2::Sha256::digest(&body))
    };
    let mut t = Transition {
        changes: builder.changes,
        idempotency: sub.idempotency_key.clone().map(|k| (k, request_hash)),
        procedures: builder.procedures,
        plugins: builder.plugins,
    };
    attach::receive_brought(sub, &mut t, env)?;
    Ok(t)
}

/// Checks that the request's actor may take its action on `dossier` (role, department, inputs,
/// comment, guard) and computes the step. The actor is someone outside the engine: actions
/// taken `by: system` are refused.
pub fn act(
    p: &Definition,
    d: &Dossier,
    req: &ActionRequest,
    env: &Env<'_>,
) -> Result<Transition, Error> {
    req.check()?;
    step(p, d, req, Requester::Outside, env)
}

/// The engine's own step: `action` taken `by: system` (a plugin's decision, its `on_error`
/// route, later a timer), recorded with the system actor.
pub fn act_as_engine(
    p: &Definition,
    d: &Dossier,
    action: &str,
    comment: Option<String>,
    env: &Env<'_>,
) -> Result<Transition, Error> {
    let req = ActionRequest {
        dossier: d.code.clone(),
        action: action.to_string(),
        actor: Actor::system(),
        input: serde_json::Value::Null,
        comment,
        seen_version: d.version,
        on_behalf: false,
    };
    step(p, d, &req, Requester::Engine, env)
}

pub(super) fn step(
    p: &Definition,
    d: &Dossier,
    req: &ActionRequest,
    requester: Requester,
    env: &Env<'_>,
) -> Result<Transition, Error> {
    if let Some(ending) = &d.ending {
        return Err(Error::Closed {
            code: d.code.clone(),
            outcome: ending.outcome,
        });
    }
    let proc_ = &p.procedure;
    let action = proc_
        .action(&req.action)
        .ok_or_else(|| Error::UnknownAction {
            procedure: proc_.id.clone(),
            action: req.action.clone(),
        })?;
    // A version seen before the latest is no conflict when the step the action leaves is
    // the one the officer saw (entered at or before that version): what happened in between
    // moved other branches. Everything else below is checked against the dossier as it is
    // now (availability, roles, inputs, guard), so a real conflict is still refused.
    // Not for a notice (an extension, an apology): it leaves the step where it is, so two
    // made on one page would both pass.
    let notice = action.apology || action.extends.is_some();
    let untouched = !notice
        && req.seen_version < d.version
        && d.tokens.iter().any(|t| {
            !t.waiting
                && t.state == action.from
                && t.since_version.is_some_and(|v| v <= req.seen_version)
        });
    if req.seen_version != d.version && !untouched {
        return Err(Error::Conflict {
            code: d.code.clone(),
            seen: req.seen_version,
            current: d.version,
        });
    }
    let token_index = d
        .tokens
        .iter()
        .position(|t| !t.waiting && t.state == action.from)
        .ok_or_else(|| Error::NotAvailable {
            action: action.id.clone(),
            from: action.from.clone(),
            active: d.active_states().map(String::from).collect(),
        })?;
    authorize(p, d, action, &req.actor, requester, req.on_behalf)?;
    check_inputs(p, action, &req.input)?;
    if needs_reason(action) && req.comment.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(Error::CommentRequired {
            action: action.id.clone(),
        });
    }
    let missing = missing_papers(action, d);
    if !missing.is_empty() {
        return Err(Error::PapersRequired {
            action: action.id.clone(),
            kinds: missing,
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
    let mut notices = serde_json::Map::new();
    let mut events = vec![];
    if let Some(max) = action.extends {
        let extension = extension_of(action, max, &req.input)?;
        let n = notice::extend(
            p,
            &mut next,
            action,
            &req.actor,
            req.comment.as_deref(),
            extension,
            env,
        )?;
        events.push(notice_event(&next, EventKind::Extended, &n, env.now));
        notices.insert(
            "extension_notice".into(),
            serde_json::to_value(&n).unwrap_or_default(),
        );
        next.clock.extension_notices.push(n);
    }
    if action.apology {
        if !late_or_nearly(p, d, &action.from, env) {
            return Err(Error::ApologyTooEarly {
                action: action.id.clone(),
                appointment: d.clock.due_at,
            });
        }
        let a = notice::apologise(
            p,
            &mut next,
            action,
            &req.actor,
            req.comment.as_deref(),
            &req.input,
            env,
        )?;
        events.push(notice_event(&next, EventKind::Apologised, &a, env.now));
        notices.insert(
            "apology".into(),
            serde_json::to_value(&a).unwrap_or_default(),
        );
        next.clock.apologies.push(a);
    }

    let mut builder = Builder::new(env);
    let mut steps = vec![];
    let mut entered = vec![];
    let mut spawned = vec![];
    let mut moved = None;
    if action.from == action.to && (action.apology || action.extends.is_some()) {
        // A notice (an extension, an apology) is about the deadline, not the work: the step
        // goes on as it was, with its budget, its warnings and any breach already recorded.
        entered.push(action.to.clone());
    } else {
        let token = next.tokens.remove(token_index);
        builder.left = token.department.clone();
        steps.push(builder::timing_of(env, p, &token));
        builder.enter(
            p,
            &mut next,
            &action.to,
            token.lineage.clone(),
            &mut entered,
            &mut spawned,
        )?;
        moved = builder.settle_clock(p, &mut next)?;
        steps.append(&mut builder.ended_steps);
    }

    let mut input = req.input.clone();
    if !notices.is_empty() {
        let mut with = input.as_object().cloned().unwrap_or_default();
        with.extend(notices);
        input = serde_json::Value::Object(with);
    }
    let mut entry = audit_entry(
        &next,
        &action.id,
        &req.actor,
        vec![action.from.clone()],
        entered.clone(),
        req.comment.clone(),
        input,
        env.now,
    );
    entry.steps = steps;
    entry.on_behalf = req.on_behalf.then(|| d.applicant.id.clone());
    entry.resolution = resolution::gained(d.clock.resolved.as_ref(), &next);
    let mut audit = vec![entry];
    if let Some(m) = moved {
        audit.push(builder.clock_entry(&mut next, &m, &req.actor));
    }
    events.insert(
        0,
        Event {
            kind: EventKind::Moved,
            dossier: next.code.clone(),
            at: env.now,
            status: next.status,
            payload: serde_json::json!({"action": action.id, "from": action.from, "to": entered}),
        },
    );
    if let Some(ending) = &next.ending {
        events.push(ended_event(&next, ending, env.now));
    }
    builder.changes.push(Change {
        expected_version: Some(d.version),
        code_prefix: None,
        timers: timers_of(&next),
        dossier: next,
        audit,
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

fn notice_event(d: &Dossier, kind: EventKind, notice: &impl Serialize, now: Timestamp) -> Event {
    Event {
        kind,
        dossier: d.code.clone(),
        at: now,
        status: d.status,
        payload: serde_json::to_value(notice).unwrap_or_default(),
    }
}

/// Whether an apology may be made now: the statutory clock or the step at `state` is
/// overdue or past its warning share (`Rules::due_soon`). An apology turns a dossier late in
/// the national index, so it is for lateness that is real or imminent, not a formality.
fn late_or_nearly(p: &Definition, d: &Dossier, state: &str, env: &Env<'_>) -> bool {
    use crate::dossier::status::{ClockState, clocks};
    let c = clocks(&p.procedure, d, env.calendar, env.rules, env.now);
    let pressing =
        |s: Option<ClockState>| matches!(s, Some(ClockState::Overdue | ClockState::DueSoon));
    pressing(c.statutory.state)
        || c.steps
            .iter()
            .any(|st| st.state == state && pressing(Some(st.clock)))
}

/// The actions `actor` may take now, with the reason each refused one would be refused.
///
/// `env` supplies the instant, the calendar and the rules (an apology is offered only when
/// the dossier is late or nearly so).
pub fn available(p: &Definition, d: &Dossier, actor: &Actor, env: &Env<'_>) -> Vec<Availability> {
    let now = env.now;
    if !d.is_open() {
        return vec![];
    }
    let mut out = vec![];
    for state in d.active_states() {
        for action in p.procedure.actions_from(state) {
            // The applicant's own actions are offered to the officers who may take them for
            // the applicant at the counter, marked so.
            let on_behalf = match authorize(p, d, action, actor, Requester::Outside, false) {
                Ok(()) => false,
                Err(_) if authorize(p, d, action, actor, Requester::Outside, true).is_ok() => true,
                Err(_) => continue,
            };
            let too_early = action.apology && !late_or_nearly(p, d, &action.from, env);
            let missing = missing_papers(action, d);
            let refusal = match p.guards.get(&action.id) {
                _ if !missing.is_empty() => Some(Unavailable::PapersMissing { kinds: missing }),
                _ if too_early => Some(Unavailable::ApologyTooEarly),
                Some(g) => match g.allows(&d.data, Some(d), &serde_json::json!({}), actor, now) {
                    Ok(true) => None,
                    Ok(false) => Some(Unavailable::Guard {
                        label: g.label.clone(),
                    }),
                    // Guards over `input` cannot be judged before the input exists.
                    Err(_) if g.reads_input => None,
                    // Listed as available, it would only be refused when taken: say why now.
                    Err(e) => Some(Unavailable::GuardError {
                        message: e.to_string(),
                    }),
                },
                None => None,
            };
            out.push(Availability {
                action: action.id.clone(),
                label: action.label.clone(),
                from: action.from.clone(),
                to: action.to.clone(),
                inputs: action
                    .inputs
                    .iter()
                    .map(|i| i.name.clone())
                    .chain(action.extends.map(|_| "extension".to_string()))
                    .chain(action.apology.then(|| "promised".to_string()))
                    .collect(),
                comment_required: needs_reason(action),
                refused: refusal,
                on_behalf,
            });
        }
    }
    out
}

/// The papers `action` requires that `d` does not have yet.
fn missing_papers(action: &crate::procedure::Action, d: &Dossier) -> Vec<String> {
    action
        .requires_documents
        .iter()
        .filter(|k| !d.papers.iter().any(|p| &p.kind == *k))
        .cloned()
        .collect()
}

/// Refusals, supplement requests, extensions and apologies state their reason.
fn needs_reason(action: &crate::procedure::Action) -> bool {
    action.comment_required || action.extends.is_some() || action.apology
}

/// Why an action offered now would be refused if taken: data the message catalogue words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Unavailable {
    /// Its guard is false on the dossier's data; the procedure's own words for it.
    Guard { label: String },
    /// Its guard cannot be evaluated on the data (a defect of the procedure).
    GuardError { message: String },
    /// An apology before the dossier is late or nearly so.
    ApologyTooEarly,
    /// Papers it requires are not attached yet (their kinds).
    PapersMissing { kinds: Vec<String> },
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
    /// Why the action cannot be taken now: the guard's label when it refuses, or why the guard
    /// cannot be evaluated on this dossier. `None`: available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Unavailable>,
    /// The applicant's action, which this officer may take for them (`on_behalf: true`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_behalf: bool,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn audit_entry(
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
        on_behalf: None,
        steps: vec![],
        resolution: None,
        version: d.version,
        record: None,
        replaces: None,
        migrated: None,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

fn ended_event(d: &Dossier, ending: &Ending, now: Timestamp) -> Event {
    Event {
        kind: EventKind::Ended,
        dossier: d.code.clone(),
        at: now,
        status: d.status,
        payload: serde_json::json!({
            "outcome": ending.outcome,
            "state": ending.state,
            "on_time": ending.on_time,
            "class": ending.class,
            "late_because": ending.late_because,
            "appointment": ending.appointment,
        }),
    }
}
