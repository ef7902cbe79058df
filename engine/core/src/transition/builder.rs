//! Building a transition: creating dossiers (submissions and linked children), entering
//! states (forks, joins, terminals) and settling the statutory clock.
//!
//! Longer than 600 lines because entering a state, forking, joining and settling the clock
//! share one builder's bookkeeping (tokens, pending audit entries, timers); split, each part
//! would reach into the others' state.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;

use super::resolution::{DONE, resolve};
use super::{
    Change, Env, Error, Event, EventKind, Submission, audit_entry, ended_event, timers_of,
};
use crate::audit::SystemAction;
use crate::deadline::{self, StepTiming};
use crate::dossier::definition::Definition;
use crate::dossier::{Actor, Alarm, Clock, Dossier, Ending, Token};
use crate::procedure::{Escalation, StateKind};

pub(super) struct Builder<'e, 'a> {
    env: &'e Env<'a>,
    pub(super) changes: Vec<Change>,
    pub(super) procedures: Vec<(String, String)>,
    pub(super) plugins: Vec<(String, Arc<Vec<u8>>)>,
    /// Steps cut short by a terminal state reached from a sibling branch.
    pub(super) ended_steps: Vec<StepTiming>,
    /// The department of the step the action being built leaves: the report counts a
    /// dossier it resolves under that department.
    pub(super) left: Option<String>,
    depth: usize,
}

/// How settling the statutory clock changed it.
pub(super) enum ClockMove {
    Paused {
        /// The state whose step stops the clock.
        state: String,
        label: String,
        outside_budget: bool,
    },
    Resumed {
        since: Timestamp,
        paused_hours_milli: u64,
        due_before: Timestamp,
    },
}

/// Linked groups nest (birth → residence → insurance), but never this deep.
const MAX_LINK_DEPTH: usize = 4;

impl<'e, 'a> Builder<'e, 'a> {
    pub(super) fn new(env: &'e Env<'a>) -> Self {
        Builder {
            env,
            changes: vec![],
            procedures: vec![],
            plugins: vec![],
            ended_steps: vec![],
            left: None,
            depth: 0,
        }
    }
    fn placeholder(&self) -> String {
        self.env.placeholder()
    }

    fn pin(&mut self, p: &Definition) {
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
    pub(super) fn create(
        &mut self,
        p: &Definition,
        sub: &Submission,
        parent: Option<String>,
        actor: &Actor,
        action: &str,
    ) -> Result<usize, Error> {
        let env = self.env;
        // A new dossier leaves no step of its own (a linked child is created after its
        // parent's step is built).
        self.left = None;
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
        let mut limit = deadline::limit_for(&proc_.limit, sub.applicant.disadvantaged_area);
        let counting = deadline::counting_start(env.calendar, &proc_.limit, env.now)?;
        if proc_.limit.same_day_cutoff.is_some() || limit.is_zero() {
            // A same-day limit is an envelope: the clock runs to the close of the day.
            let hours = env
                .calendar
                .elapsed_hours_milli(counting, due.max(counting))?;
            limit = crate::calendar::Duration::new(hours, crate::calendar::Unit::WorkingHours);
        }
        let alarms = alarms_for(env, &proc_.escalation, counting, Some(limit), Some(due))?;
        let code = self.placeholder();
        let mut data = sub.data.clone();
        let defaulted = p.form.apply_defaults(&mut data);
        let fees = fixed_fees(proc_, &data);
        let mut d = Dossier {
            code: code.clone(),
            procedure: proc_.id.clone(),
            procedure_version: proc_.version.clone(),
            procedure_hash: p.hash.clone(),
            agency: proc_.agency.id.clone(),
            applicant: sub.applicant.clone(),
            channel: sub.channel,
            data,
            documents: sub.documents.clone(),
            fees,
            papers: vec![],
            tokens: vec![],
            clock: Clock {
                received_at: env.now,
                due_at: due,
                paused_since: None,
                supplements: 0,
                extensions: 0,
                paused_hours_milli: 0,
                alarms,
                overdue_since: None,
                extension_notices: vec![],
                apologies: vec![],
                resolved: None,
            },
            status: start.status,
            ending: None,
            parent,
            children: vec![],
            version: 1,
            created_at: env.now,
            updated_at: env.now,
            meta: sub.meta.clone(),
            rating: None,
            feedback: vec![],
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
        let moved = self.settle_clock(p, &mut d)?;
        // The receipt's entry records the channel (the service report counts dossiers by it)
        // and the schema defaults filled in, so the stored data is explained by the request
        // plus the procedure version.
        let mut receipt_input = serde_json::json!({ "channel": d.channel });
        if !defaulted.is_empty() {
            receipt_input["defaults"] = serde_json::json!(defaulted);
        }
        let mut entry = audit_entry(
            &d,
            action,
            actor,
            vec![],
            entered.clone(),
            sub.comment.clone(),
            receipt_input,
            env.now,
        );
        // A dossier resolved at receipt (its start state issues the result) says so there.
        entry.resolution = d.clock.resolved.clone();
        let mut audit = vec![entry];
        if let Some(m) = moved {
            audit.push(self.clock_entry(&mut d, &m, actor));
        }
        let mut events = vec![Event {
            kind: EventKind::Received,
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
            audit,
            events,
        };
        self.spawn_children(p, index, spawned, actor)?;
        Ok(index)
    }

    pub(super) fn spawn_children(
        &mut self,
        p: &Definition,
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
                papers: vec![],
                procedure: link.procedure.clone(),
                applicant: parent.applicant.clone(),
                channel: parent.channel,
                data: serde_json::Value::Object(data),
                documents: vec![],
                idempotency_key: None,
                received_by: actor.clone(),
                meta: BTreeMap::new(),
                comment: None,
            };
            // Checked as it will be stored, with the child form's defaults.
            let mut data = sub.data.clone();
            child.form.apply_defaults(&mut data);
            let errors = child
                .form
                .check_on(&data, self.env.calendar.local_date(self.env.now));
            if !errors.is_empty() {
                return Err(Error::InvalidForm(errors));
            }
            let parent_code = parent.code.clone();
            let index = self.create(
                &child,
                &sub,
                Some(parent_code),
                actor,
                SystemAction::StartLinked.as_str(),
            )?;
            let child_code = self.changes[index].dossier.code.clone();
            let parent = &mut self.changes[parent_index];
            parent.dossier.children.push(child_code.clone());
            parent.events.push(Event {
                kind: EventKind::Linked,
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
    pub(super) fn enter(
        &mut self,
        p: &Definition,
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
                    d.tokens
                        .push(working_token(env, state, lineage, d.version)?);
                    if state.status == DONE {
                        resolve(env, p, d, state, self.left.as_deref())?;
                    }
                    return Ok(());
                }
                d.tokens.push(token_at(
                    state,
                    env.now,
                    None,
                    lineage.clone(),
                    true,
                    d.version,
                ));
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
                    d.tokens.push(working_token(
                        env,
                        state,
                        parent_lineage.to_vec(),
                        d.version,
                    )?);
                    if state.status == DONE {
                        resolve(env, p, d, state, self.left.as_deref())?;
                    }
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
                for t in std::mem::take(&mut d.tokens) {
                    if !t.waiting {
                        self.ended_steps.push(timing_of(env, p, &t));
                    }
                }
                let r = resolve(env, p, d, state, self.left.as_deref())?;
                d.ending = Some(Ending {
                    outcome,
                    state: state.id.clone(),
                    at: env.now,
                    on_time: r.class.is_on_time(),
                    class: Some(r.class),
                    late_because: r.late_because,
                    appointment: Some(r.appointment),
                });
            }
            StateKind::Applicant | StateKind::Task | StateKind::Automatic => {
                if state.status == DONE {
                    resolve(env, p, d, state, self.left.as_deref())?;
                }
                if state.kind == StateKind::Applicant && state.status == 5 {
                    d.clock.supplements += 1;
                }
                let token = if state.kind == StateKind::Applicant || state.outside_budget {
                    token_at(state, env.now, None, lineage, false, d.version)
                } else {
                    working_token(env, state, lineage, d.version)?
                };
                d.tokens.push(token);
            }
        }
        Ok(())
    }

    /// Pauses the statutory clock while any active step waits on the applicant or is outside
    /// the agency's budget, and moves the appointment (and the warnings still to fire on it)
    /// by the working time paused when it resumes.
    pub(super) fn settle_clock(
        &self,
        p: &Definition,
        d: &mut Dossier,
    ) -> Result<Option<ClockMove>, Error> {
        let env = self.env;
        // Once resolved (or ended) the statutory clock has stopped for good: a pause in
        // progress ends, and no new one starts.
        let stopped = d.ending.is_some() || d.clock.resolved.is_some();
        let stopper = d
            .tokens
            .iter()
            .filter(|t| !t.waiting && !stopped)
            .filter_map(|t| p.procedure.state(&t.state))
            .find(|s| s.kind == StateKind::Applicant || s.outside_budget);
        match (stopper, d.clock.paused_since) {
            (Some(s), None) => {
                // Waiting before counting has started (a same-day dossier after its cut-off)
                // takes nothing from the limit.
                let counting = deadline::counting_start(
                    env.calendar,
                    &p.procedure.limit,
                    d.clock.received_at,
                )?;
                d.clock.paused_since = Some(env.now.max(counting));
                Ok(Some(ClockMove::Paused {
                    state: s.id.clone(),
                    label: s.label.clone(),
                    outside_budget: s.outside_budget,
                }))
            }
            (None, Some(since)) => {
                let limit = &p.procedure.limit;
                let due_before = d.clock.due_at;
                d.clock.due_at =
                    deadline::resume(env.calendar, limit, d.clock.due_at, since, env.now)?;
                for alarm in &mut d.clock.alarms {
                    alarm.at = deadline::resume(env.calendar, limit, alarm.at, since, env.now)?;
                }
                let paused = env
                    .calendar
                    .elapsed_hours_milli(since, env.now.max(since))?;
                d.clock.paused_hours_milli += paused;
                d.clock.paused_since = None;
                Ok(Some(ClockMove::Resumed {
                    since,
                    paused_hours_milli: paused,
                    due_before,
                }))
            }
            _ => Ok(None),
        }
    }

    /// The audit entry of a pause or resume, by the system, as its own version of `d`.
    pub(super) fn clock_entry(
        &self,
        d: &mut Dossier,
        m: &ClockMove,
        _cause: &Actor,
    ) -> crate::audit::Entry {
        let env = self.env;
        d.version += 1;
        let (action, comment, input) = match m {
            ClockMove::Paused {
                state,
                label,
                outside_budget,
            } => (
                SystemAction::Pause.as_str(),
                if *outside_budget {
                    format!("clock paused: step '{label}' is outside the agency's budget")
                } else {
                    format!("clock paused: waiting on the applicant ({label})")
                },
                serde_json::json!({
                    "state": state,
                    "reason": if *outside_budget { "outside_budget" } else { "waiting_on_applicant" },
                    "appointment": d.clock.due_at,
                }),
            ),
            ClockMove::Resumed {
                since,
                paused_hours_milli,
                due_before,
            } => (
                SystemAction::Resume.as_str(),
                format!(
                    "clock resumed after {} paused; appointment moved",
                    crate::calendar::Duration::new(
                        *paused_hours_milli,
                        crate::calendar::Unit::WorkingHours
                    )
                ),
                serde_json::json!({
                    "paused_since": since,
                    "paused_working_hours_milli": paused_hours_milli,
                    "appointment_before": due_before,
                    "appointment": d.clock.due_at,
                }),
            ),
        };
        let states: Vec<String> = d.active_states().map(String::from).collect();
        audit_entry(
            d,
            action,
            &Actor::system(),
            states.clone(),
            states,
            Some(comment),
            input,
            env.now,
        )
    }
}

/// A budgeted (or unbudgeted) working step entered now, with its warnings scheduled.
fn working_token(
    env: &Env<'_>,
    state: &crate::procedure::State,
    lineage: Vec<(String, usize)>,
    version: u64,
) -> Result<Token, Error> {
    let due = step_due(env, state)?;
    let mut token = token_at(state, env.now, due, lineage, false, version);
    token.alarms = alarms_for(env, &state.escalation, env.now, state.budget, due)?;
    Ok(token)
}

/// When each rule of `rules` fires on a clock started at `start` with `budget`, due at `due`.
pub(super) fn alarms_for(
    env: &Env<'_>,
    rules: &[Escalation],
    start: Timestamp,
    budget: Option<crate::calendar::Duration>,
    due: Option<Timestamp>,
) -> Result<Vec<Alarm>, Error> {
    let (Some(budget), Some(due)) = (budget, due) else {
        return Ok(vec![]);
    };
    let mut alarms = vec![];
    for (rule, e) in rules.iter().enumerate() {
        if let Some(threshold) = e.threshold() {
            let at = deadline::alarm_at(env.calendar, threshold, start, budget, due)?;
            alarms.push(Alarm { at, rule });
        }
    }
    Ok(alarms)
}

/// How the step a token stands for ended now.
pub(super) fn timing_of(env: &Env<'_>, p: &Definition, t: &Token) -> StepTiming {
    StepTiming {
        state: t.state.clone(),
        department: t.department.clone(),
        entered_at: t.entered_at,
        ended_at: env.now,
        budget: p
            .procedure
            .state(&t.state)
            .and_then(|s| s.budget)
            .map(|b| b.to_string()),
        due_at: t.due_at,
        class: deadline::classify::step(env.calendar, env.rules, env.now, t.due_at),
    }
}

/// A token entering `state` now, in the dossier's `version`.
fn token_at(
    state: &crate::procedure::State,
    now: Timestamp,
    due_at: Option<Timestamp>,
    lineage: Vec<(String, usize)>,
    waiting: bool,
    version: u64,
) -> Token {
    Token {
        since_version: Some(version),
        assignee: None,
        state: state.id.clone(),
        department: state.department.clone(),
        entered_at: now,
        due_at,
        lineage,
        waiting,
        alarms: vec![],
        overdue_since: None,
    }
}

/// The procedure's fixed fees, per copy where the fee says `per:` (a missing or negative
/// count is none); plugin-computed ones are added by the engine before commit.
fn fixed_fees(
    p: &crate::procedure::Procedure,
    data: &serde_json::Value,
) -> Vec<crate::dossier::FeeCharge> {
    p.fees
        .iter()
        .filter_map(|f| {
            let amount = f.amount?;
            let Some(field) = &f.per else {
                return Some(crate::dossier::FeeCharge {
                    id: f.id.clone(),
                    name: f.name.clone(),
                    amount,
                    breakdown: vec![],
                });
            };
            let count = data
                .get(field)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            Some(crate::dossier::FeeCharge {
                id: f.id.clone(),
                name: f.name.clone(),
                amount: amount.saturating_mul(count),
                breakdown: vec![(format!("{count} × {amount}"), amount.saturating_mul(count))],
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
