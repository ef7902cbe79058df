//! Static checks of a procedure's plugins for `motcua validate`.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::{Capability, Error, Info, PluginHost};
use motcua_core::procedure::{PluginCall, PluginRef, Procedure};

/// What is wrong with a plugin or one of its uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A use names a plugin id not declared in `plugins:`.
    UnknownPlugin,
    /// The file is missing or unreadable.
    Unreadable,
    /// The file's sha256 is not the pinned one (or the pin is not a sha256).
    HashMismatch,
    /// The file is not a component implementing `motcua:plugin`, or `describe` failed.
    NotAPlugin,
    /// The procedure uses a function the plugin does not list in its capabilities.
    MissingCapability,
    /// The plugin's config schema is not a usable JSON Schema.
    BadConfigSchema,
    /// A config (the plugin's own, or merged with a use's) does not match the schema.
    ConfigInvalid,
}

/// One finding; `location` points into the procedure (e.g. `states.kiem_tra.plugin`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub plugin: String,
    pub location: String,
    pub kind: ProblemKind,
    pub message: String,
}

/// One place a procedure calls a plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct Use<'a> {
    /// Where in the procedure, e.g. `fees.le_phi.plugin`.
    pub location: String,
    pub capability: Capability,
    pub call: &'a PluginCall,
}

/// Every plugin call in a procedure: automatic states (`decide`), validators (`validate`),
/// computed fees (`compute-fee`).
pub fn uses(procedure: &Procedure) -> Vec<Use<'_>> {
    let mut out = Vec::new();
    for (i, call) in procedure.validators.iter().enumerate() {
        out.push(Use {
            location: format!("validators[{i}]"),
            capability: Capability::Validate,
            call,
        });
    }
    for state in &procedure.states {
        if let Some(call) = &state.plugin {
            out.push(Use {
                location: format!("states.{}.plugin", state.id),
                capability: Capability::Decide,
                call,
            });
        }
    }
    for action in &procedure.actions {
        for (i, call) in action.validators.iter().enumerate() {
            out.push(Use {
                location: format!("actions.{}.validators[{i}]", action.id),
                capability: Capability::Validate,
                call,
            });
        }
    }
    for fee in &procedure.fees {
        if let Some(call) = &fee.plugin {
            out.push(Use {
                location: format!("fees.{}.plugin", fee.id),
                capability: Capability::ComputeFee,
                call,
            });
        }
    }
    out
}

/// The config a call runs with: the use's `config` merged over the plugin's own as a JSON
/// merge patch (RFC 7386: objects merge key by key, `null` removes a key, anything else
/// replaces).
pub fn effective_config(plugin: &PluginRef, call: &PluginCall) -> Value {
    let mut config = plugin.config.clone();
    if let Some(patch) = &call.config {
        merge_patch(&mut config, patch);
    }
    config
}

pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Checks one `plugins:` entry: the file (relative to `procedure_dir`) exists, its sha256 is
/// the pinned one, it is a `motcua:plugin` component whose `describe` works, it lists every
/// capability in `uses`, and its `config` matches the config schema it describes.
///
/// Runs the plugin's `describe` under the entry's limits, so it is bounded like any call.
/// Returns no problems when all holds.
pub fn inspect(
    host: &PluginHost,
    procedure_dir: &Path,
    plugin: &PluginRef,
    uses: &[Capability],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let Some(info) = describe(host, procedure_dir, plugin, &mut problems) else {
        return problems;
    };
    let problem = |kind, message| Problem {
        plugin: plugin.id.clone(),
        location: format!("plugins.{}", plugin.id),
        kind,
        message,
    };
    let wanted: BTreeSet<Capability> = uses.iter().copied().collect();
    for capability in wanted {
        if !info.capabilities.contains(&capability) {
            problems.push(problem(
                ProblemKind::MissingCapability,
                format!(
                    "the procedure calls `{capability}`, but plugin {} {} does not implement it",
                    info.name, info.version
                ),
            ));
        }
    }
    match jsonschema::validator_for(&info.config_schema) {
        Err(e) => problems.push(problem(ProblemKind::BadConfigSchema, e.to_string())),
        Ok(validator) => {
            for e in validator.iter_errors(&plugin.config) {
                problems.push(problem(
                    ProblemKind::ConfigInvalid,
                    format!("config{}: {e}", e.instance_path()),
                ));
            }
        }
    }
    problems
}

/// Checks every plugin of a procedure: each use names a declared plugin, each declared
/// plugin passes [`inspect`] for the capabilities its uses need, and each use's merged config
/// ([`effective_config`]) matches the plugin's config schema.
pub fn inspect_procedure(
    host: &PluginHost,
    procedure_dir: &Path,
    procedure: &Procedure,
) -> Vec<Problem> {
    let uses = uses(procedure);
    let mut problems = Vec::new();
    for u in &uses {
        if procedure.plugin(&u.call.plugin).is_none() {
            problems.push(Problem {
                plugin: u.call.plugin.clone(),
                location: u.location.clone(),
                kind: ProblemKind::UnknownPlugin,
                message: format!("no plugin `{}` in `plugins:`", u.call.plugin),
            });
        }
    }
    for plugin in &procedure.plugins {
        let mine: Vec<&Use<'_>> = uses.iter().filter(|u| u.call.plugin == plugin.id).collect();
        let capabilities: Vec<Capability> = mine.iter().map(|u| u.capability).collect();
        let found = inspect(host, procedure_dir, plugin, &capabilities);
        let usable = found.iter().all(|p| {
            matches!(
                p.kind,
                ProblemKind::MissingCapability | ProblemKind::ConfigInvalid
            )
        });
        problems.extend(found);
        if !usable {
            continue;
        }
        // Merged configs only differ from the plugin's own when a use overrides some keys.
        let overriding: Vec<&&Use<'_>> = mine.iter().filter(|u| u.call.config.is_some()).collect();
        if overriding.is_empty() {
            continue;
        }
        let mut scratch = Vec::new();
        let Some(info) = describe(host, procedure_dir, plugin, &mut scratch) else {
            continue;
        };
        let Ok(validator) = jsonschema::validator_for(&info.config_schema) else {
            continue;
        };
        for u in overriding {
            let config = effective_config(plugin, u.call);
            for e in validator.iter_errors(&config) {
                problems.push(Problem {
                    plugin: plugin.id.clone(),
                    location: u.location.clone(),
                    kind: ProblemKind::ConfigInvalid,
                    message: format!("merged config{}: {e}", e.instance_path()),
                });
            }
        }
    }
    problems
}

fn describe(
    host: &PluginHost,
    procedure_dir: &Path,
    plugin: &PluginRef,
    problems: &mut Vec<Problem>,
) -> Option<Info> {
    let result = host
        .load_ref(procedure_dir, plugin)
        .and_then(|p| p.describe());
    match result {
        Ok(info) => Some(info),
        Err(e) => {
            let kind = match e {
                Error::Io { .. } => ProblemKind::Unreadable,
                Error::HashMismatch { .. } | Error::BadHash(_) => ProblemKind::HashMismatch,
                _ => ProblemKind::NotAPlugin,
            };
            problems.push(Problem {
                plugin: plugin.id.clone(),
                location: format!("plugins.{}", plugin.id),
                kind,
                message: e.to_string(),
            });
            None
        }
    }
}
