//! Plugin steps around the pure core: validators, computed fees and automatic states.
//!
//! The pure step never calls a plugin. The engine calls plugins *before* committing and folds
//! what they decide into the same [`Transition`], so a plugin decision is recorded and made
//! durable exactly like an officer's click: one commit, one audit entry per step.
//!
//! What a plugin sees: the dossier's form data object, plus the reserved key `$documents` (the
//! ids of documents received) and, for action validators, `$input` (the action's input).
//!
//! Plugins are called through the core's [`Runner`] seam, so this code is the same with or
//! without the `plugins` feature: without it, [`runner`] is [`NoRunner`](crate::plugin::NoRunner), every call fails as
//! not built, and the request is refused (`plugins_not_built`) before anything is written,
//! even where the state has an `on_error` fallback: a build that cannot run plugins must not
//! decide cases by their error path.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::audit::SystemAction;
use crate::catalog::Compiled;
use crate::dossier::form::FieldError;
use crate::dossier::transition::{self, Env, Transition};
use crate::dossier::{Dossier, FeeCharge};
use crate::engine::Error;
use crate::plugin::{Failure, Runner, Step, effective_config, merge_patch};
use crate::procedure::{PluginCall, StateKind};

/// The plugin runner this build has: the wasmtime sandbox under default limits with the
/// `plugins` feature (compiled components kept in `cache` across processes when given),
/// otherwise [`NoRunner`](crate::plugin::NoRunner). The one place the feature chooses.
pub fn runner(cache: Option<PathBuf>) -> Result<Arc<dyn Runner>, Error> {
    #[cfg(feature = "plugins")]
    {
        let limits = crate::plugin::Limits::default();
        crate::plugin::WasmRunner::new(limits, cache)
            .map(|r| Arc::new(r) as Arc<dyn Runner>)
            .map_err(|e| Error::Plugin {
                plugin: "(host)".into(),
                kind: e.kind(),
                message: e.to_string(),
            })
    }
    #[cfg(not(feature = "plugins"))]
    {
        // Without plugins there is nothing to compile, so nothing to cache.
        drop(cache);
        Ok(Arc::new(crate::plugin::NoRunner))
    }
}

/// The step being taken when a plugin is called, for the refusal of a build without plugins.
#[derive(Clone, Copy)]
pub enum Asking<'a> {
    Submission,
    Action(&'a str),
}

/// The most plugin decisions one request may fold in. The validator refuses cycles made only
/// of automatic states (E048), so only a very long chain could reach it; reaching it refuses
/// the request (`automatic_loop`) rather than commit a dossier parked in an automatic state.
const MAX_AUTOMATIC_STEPS: usize = 16;

/// The JSON a plugin receives for a dossier.
pub fn plugin_data(data: &Value, documents: &[String], input: Option<&Value>) -> Value {
    let mut view = match data {
        Value::Object(m) => m.clone(),
        _ => serde_json::Map::new(),
    };
    view.insert("$documents".into(), Value::from(documents.to_vec()));
    if let Some(input) = input {
        view.insert("$input".into(), input.clone());
    }
    Value::Object(view)
}

fn resolve<'a>(p: &'a Compiled, call: &PluginCall) -> Result<(&'a dyn Step, Value), Error> {
    let fail = |message: String| Error::Plugin {
        plugin: call.plugin.clone(),
        kind: "unknown_plugin",
        message,
    };
    let r = p
        .procedure
        .plugin(&call.plugin)
        .ok_or_else(|| fail("not declared by the procedure".into()))?;
    let handle = p
        .plugins
        .get(&call.plugin)
        .ok_or_else(|| fail("not loaded".into()))?;
    Ok((&**handle, effective_config(r, call)))
}

/// `what` names the step for a build without plugins: "submission to 'x'", "action 'y'",
/// "automatic state 'z'".
fn failed(call: &PluginCall, e: Failure, what: impl FnOnce() -> String) -> Error {
    match e {
        Failure::NotBuilt => Error::PluginsNotBuilt {
            what: what(),
            plugin: call.plugin.clone(),
        },
        Failure::Failed { kind, message } => Error::Plugin {
            plugin: call.plugin.clone(),
            kind,
            message,
        },
    }
}

impl Asking<'_> {
    fn what(self, p: &Compiled) -> String {
        match self {
            Asking::Submission => format!("submission to '{}'", p.procedure.id),
            Asking::Action(a) => format!("action '{a}'"),
        }
    }
}

/// Runs validators; the first that finds problems refuses the request with all of its field
/// errors. A validator that fails (trap, limit, bad output) refuses the request too: nothing
/// is received on a check that did not run.
pub fn validate(
    p: &Compiled,
    calls: &[PluginCall],
    data: &Value,
    asking: Asking<'_>,
) -> Result<(), Error> {
    for call in calls {
        let (handle, config) = resolve(p, call)?;
        let errors = handle
            .validate(data, &config)
            .map_err(|e| failed(call, e, || asking.what(p)))?;
        if !errors.is_empty() {
            let errors = errors
                .into_iter()
                .map(|e| {
                    let mut args = serde_json::Map::new();
                    args.insert("plugin".into(), call.plugin.clone().into());
                    // The plugin's message is already a sentence for people (Vietnamese, by
                    // the contract); its code stays apart for portals to switch on.
                    FieldError::new(pointer(&e.field), e.code, args, e.message)
                })
                .collect();
            return Err(Error::PluginRefused {
                plugin: call.plugin.clone(),
                errors,
            });
        }
    }
    Ok(())
}

/// A plugin names a top-level field or gives a JSON pointer; the form's errors are pointers.
fn pointer(field: &str) -> String {
    if field.is_empty() || field.starts_with('/') {
        field.to_string()
    } else {
        format!("/{}", field.replace('~', "~0").replace('/', "~1"))
    }
}

/// Fees computed by plugins at receipt (fixed fees come from the pure step).
pub fn computed_fees(p: &Compiled, data: &Value) -> Result<Vec<FeeCharge>, Error> {
    let mut out = vec![];
    for fee in &p.procedure.fees {
        let Some(call) = &fee.plugin else { continue };
        let (handle, config) = resolve(p, call)?;
        let computed = handle
            .compute_fee(data, &config)
            .map_err(|e| failed(call, e, || Asking::Submission.what(p)))?;
        out.push(FeeCharge {
            id: fee.id.clone(),
            name: fee.name.clone(),
            amount: computed.amount,
            breakdown: computed
                .breakdown
                .into_iter()
                .map(|l| (l.label, l.amount))
                .collect(),
        });
    }
    Ok(out)
}

/// Lets plugins decide every automatic state the transition's dossiers stand in, folding each
/// decision into the transition as a system step. A failed plugin takes its state's `on_error`
/// action (the failure is written in that step's audit entry); without `on_error` the whole
/// request is refused and nothing is written.
pub fn run_automatic(
    t: &mut Transition,
    pinned: &dyn Fn(&Dossier) -> Result<Arc<Compiled>, Error>,
    env: &Env<'_>,
) -> Result<(), Error> {
    let mut i = 0;
    while i < t.changes.len() {
        let mut decisions = 0;
        loop {
            let d = &t.changes[i].dossier;
            let p = pinned(d)?;
            let Some(state) = d
                .active_states()
                .filter_map(|s| p.procedure.state(s))
                .find(|s| s.kind == StateKind::Automatic)
                .cloned()
            else {
                break;
            };
            if decisions == MAX_AUTOMATIC_STEPS {
                // The validator refuses cycles of automatic states; a chain this long is a
                // defect all the same, and committing the dossier parked in an automatic state
                // would strand it. Nothing is written.
                return Err(Error::AutomaticLoop {
                    code: d.code.clone(),
                    state: state.id.clone(),
                    decisions,
                });
            }
            decisions += 1;
            let call = state.plugin.clone().ok_or_else(|| Error::Plugin {
                plugin: String::new(),
                kind: "unknown_plugin",
                message: format!("automatic state '{}' names no plugin", state.id),
            })?;
            let mut next = d.clone();
            let (action, comment, record) = match decide(&p, &call, &state.id, &mut next) {
                Ok((action, note, patch)) => {
                    let record = serde_json::json!({"plugin": call.plugin, "decision": action, "patch": patch});
                    (action, note, record)
                }
                // A build without plugins refuses rather than take the error path.
                Err(e @ Error::PluginsNotBuilt { .. }) => return Err(e),
                Err(e) => {
                    let Some(fallback) = state.on_error.clone() else {
                        return Err(e);
                    };
                    let (kind, message) = match &e {
                        Error::Plugin { kind, message, .. } => (*kind, message.clone()),
                        other => (other.code().as_str(), other.to_string()),
                    };
                    let record = serde_json::json!({"plugin": call.plugin, "error": kind, "message": message});
                    next = d.clone();
                    (
                        fallback,
                        format!("plugin {} failed ({kind}): {message}", call.plugin),
                        record,
                    )
                }
            };
            let mut step = transition::act_as_engine(&p, &next, &action, Some(comment), env)?;
            let mut first = step.changes.remove(0);
            // The plugin's record belongs to the decision's own entry only: the clock entries
            // the same step wrote (a pause while the applicant is asked for a paper) keep their
            // own reason, state and appointment (docs/deadlines.md).
            for entry in first.audit.iter_mut() {
                if !SystemAction::is_system(&entry.action) {
                    entry.input = record.clone();
                }
            }
            let change = &mut t.changes[i];
            change.dossier = first.dossier;
            change.timers = first.timers;
            change.audit.append(&mut first.audit);
            change.events.append(&mut first.events);
            t.changes.append(&mut step.changes);
            for pin in step.procedures {
                if !t.procedures.contains(&pin) {
                    t.procedures.push(pin);
                }
            }
            for blob in step.plugins {
                if !t.plugins.iter().any(|(h, _)| h == &blob.0) {
                    t.plugins.push(blob);
                }
            }
        }
        i += 1;
    }
    Ok(())
}

/// Asks the plugin, checks its decision names an action leaving the state, and applies its
/// data patch (which must keep the form valid).
fn decide(
    p: &Compiled,
    call: &PluginCall,
    state: &str,
    d: &mut Dossier,
) -> Result<(String, String, Option<Value>), Error> {
    let (handle, config) = resolve(p, call)?;
    let data = plugin_data(&d.data, &d.documents, None);
    let decision = handle
        .decide(&data, &config)
        .map_err(|e| failed(call, e, || format!("automatic state '{state}'")))?;
    let bad = |message: String| Error::Plugin {
        plugin: call.plugin.clone(),
        kind: "malformed_output",
        message,
    };
    if !p
        .procedure
        .actions_from(state)
        .any(|a| a.id == decision.action)
    {
        return Err(bad(format!(
            "decided '{}', which is not an action from '{state}'",
            decision.action
        )));
    }
    if let Some(patch) = &decision.patch {
        let mut data = d.data.clone();
        merge_patch(&mut data, patch);
        let errors = p.form.check(&data);
        if !errors.is_empty() {
            let listed: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            return Err(bad(format!(
                "its patch makes the form invalid: {}",
                listed.join("; ")
            )));
        }
        d.data = data;
    }
    let note = if decision.note.is_empty() {
        format!("decided by plugin {}", call.plugin)
    } else {
        decision.note
    };
    Ok((decision.action, note, decision.patch))
}
