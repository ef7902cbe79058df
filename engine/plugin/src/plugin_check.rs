//! The real [`PluginInspector`]: loads each pinned `.wasm` in the sandbox and turns what is
//! wrong with it into positioned diagnostics (E060–E067).
//!
//! Diagnostics point at the exact node an author must edit (the `file`, the `sha256`, the key
//! inside `config`, the `plugin:` of a use), so this walks the procedure's [`uses`] by JSON
//! pointer and uses the host's building blocks (`load_ref`, `describe`, [`effective_config`]).
//!
//! Config is checked the way the engine calls the plugin: each use runs with its own `config`
//! merged over the plugin's (RFC 7386), so a key the plugin entry leaves out but every use
//! supplies is not an error. A plugin nobody uses is checked with its own config alone.

use std::collections::BTreeSet;
use std::path::Path;

use crate::{Capability, Error, Info, Limits, PluginHost, Use, effective_config, uses};
use motcua_core::procedure::check::PluginInspector;
use motcua_core::procedure::diagnostic::{Code, Diagnostic, Pos, did_you_mean};
use motcua_core::procedure::model::{PluginRef, Procedure};
use motcua_core::procedure::source_map::SourceMap;

/// Inspects plugins with one [`PluginHost`], which caches compiled components by sha256: make
/// one per validate run and pass it to every file, so a plugin several procedures pin is
/// compiled once.
#[derive(Clone)]
pub struct WasmInspector {
    host: PluginHost,
}

impl WasmInspector {
    /// An inspector with a host under the default sandbox limits.
    pub fn new() -> Result<Self, Error> {
        Ok(WasmInspector {
            host: PluginHost::new(Limits::default())?,
        })
    }

    /// An inspector sharing an existing host (and its compile cache).
    pub fn with_host(host: PluginHost) -> Self {
        WasmInspector { host }
    }

    pub fn host(&self) -> &PluginHost {
        &self.host
    }
}

impl PluginInspector for WasmInspector {
    fn inspect(
        &self,
        procedure: &Procedure,
        source_map: &SourceMap,
        file: &Path,
    ) -> Vec<Diagnostic> {
        // Plugin files resolve against the procedure file's folder, as `motcua` deploys them.
        let dir = file.parent().unwrap_or_else(|| Path::new(""));
        let uses = uses(procedure);
        let mut out = Out {
            sm: source_map,
            file,
            found: Vec::new(),
            seen: BTreeSet::new(),
        };
        for (i, plugin) in procedure.plugins.iter().enumerate() {
            let base = format!("/plugins/{i}");
            let Some(info) = self.describe(dir, plugin, &base, &mut out) else {
                continue;
            };
            let mine: Vec<&Use<'_>> = uses.iter().filter(|u| u.call.plugin == plugin.id).collect();
            for u in &mine {
                if !info.capabilities.contains(&u.capability) {
                    out.push(
                        Diagnostic::new(
                            Code::PluginMissingCapability,
                            file,
                            source_map.value(&format!("{}/plugin", u.pointer)),
                            format!(
                                "{} calls `{}` of plugin '{}', but {} {} does not implement it",
                                u.what, u.capability, plugin.id, info.name, info.version
                            ),
                        )
                        .with_hint(format!(
                            "{} implements: {}",
                            info.name,
                            list(&info.capabilities)
                        ))
                        .with_arg("plugin", &plugin.id)
                        .with_arg("capability", u.capability),
                    );
                }
            }
            let validator = match jsonschema::validator_for(&info.config_schema) {
                Ok(v) => v,
                Err(e) => {
                    out.push(bad_schema(
                        file,
                        source_map.value(&format!("{base}/file")),
                        &info,
                        &e.to_string(),
                    ));
                    continue;
                }
            };
            if mine.is_empty() {
                for e in validator.iter_errors(&plugin.config) {
                    for (path, key) in offending(&e) {
                        let pos = out.config_pos(&base, None, &path, key);
                        out.push(config_invalid(file, pos, &plugin.id, &path, &e.to_string()));
                    }
                }
                out.check_references(procedure, &base, None, &plugin.id, &info, &plugin.config);
            }
            for u in &mine {
                let config = effective_config(plugin, u.call);
                for e in validator.iter_errors(&config) {
                    for (path, key) in offending(&e) {
                        let pos = out.config_pos(&base, Some(u), &path, key);
                        out.push(config_invalid(file, pos, &plugin.id, &path, &e.to_string()));
                    }
                }
                out.check_references(procedure, &base, Some(u), &plugin.id, &info, &config);
            }
        }
        out.found
    }
}

impl WasmInspector {
    /// Loads the entry (file, hash, component) and runs its `describe`; reports why not.
    fn describe(
        &self,
        dir: &Path,
        plugin: &PluginRef,
        base: &str,
        out: &mut Out<'_>,
    ) -> Option<Info> {
        let (sm, file) = (out.sm, out.file);
        let at = |key: &str| sm.value(&format!("{base}/{key}"));
        let loaded = match self.host.load_ref(dir, plugin) {
            Ok(p) => p,
            Err(e) => {
                let d = match &e {
                    Error::Io { path, .. } => {
                        Diagnostic::new(Code::PluginUnreadable, file, at("file"), e.to_string())
                            .with_hint(format!(
                                "plugin files resolve relative to the procedure's folder: looked for {}",
                                path.display()
                            ))
                    }
                    Error::HashMismatch { actual, .. } => Diagnostic::new(
                        Code::PluginHashMismatch,
                        file,
                        at("sha256"),
                        e.to_string(),
                    )
                    .with_hint(format!(
                        "if this build of the plugin is the one to run, pin sha256: {actual} (a new pin is a new procedure version)"
                    )),
                    Error::BadHash(_) => Diagnostic::new(
                        Code::PluginHashMismatch,
                        file,
                        at("sha256"),
                        e.to_string(),
                    )
                    .with_hint("pin the plugin by the sha256 of its .wasm, e.g. from plugins/dist/SHA256SUMS"),
                    _ => not_a_plugin(file, at("file"), &e),
                };
                out.push(d.with_arg("plugin", &plugin.id));
                return None;
            }
        };
        match loaded.describe() {
            Ok(info) => Some(info),
            // The only malformed output `describe` can have is a config schema that is not JSON.
            Err(Error::MalformedOutput(message)) => {
                let d = Diagnostic::new(
                    Code::PluginBadConfigSchema,
                    file,
                    at("file"),
                    format!("plugin '{}' describes its config with something that is not a JSON Schema: {message}", plugin.id),
                )
                .with_hint("the plugin must be fixed and rebuilt; its config cannot be checked");
                out.push(d);
                None
            }
            Err(e) => {
                out.push(not_a_plugin(file, at("file"), &e));
                None
            }
        }
    }
}

/// Collects diagnostics, dropping repeats: several uses of one plugin share its config, so
/// an error in the shared part would otherwise be reported once per use.
struct Out<'a> {
    sm: &'a SourceMap,
    file: &'a Path,
    found: Vec<Diagnostic>,
    seen: BTreeSet<(Pos, String)>,
}

impl Out<'_> {
    fn push(&mut self, d: Diagnostic) {
        if self.seen.insert((d.pos(), d.message.clone())) {
            self.found.push(d);
        }
    }

    /// Config values the plugin's schema marks as naming part of the procedure must name one:
    /// `"format": "motcua-action"` an action (for an automatic state's decision, one leaving
    /// that state), `"format": "motcua-document"` a document of the checklist.
    fn check_references(
        &mut self,
        procedure: &Procedure,
        base: &str,
        u: Option<&&Use<'_>>,
        plugin: &str,
        info: &Info,
        config: &serde_json::Value,
    ) {
        let mut found = Vec::new();
        references(&info.config_schema, config, String::new(), &mut found);
        for (path, kind, name) in found {
            let pos = self.config_pos(base, u, &path, false);
            let (code, what, candidates, choices) = match kind {
                Reference::Action => {
                    let state = u.and_then(|u| u.state);
                    let allowed: Vec<&str> = procedure
                        .actions
                        .iter()
                        .filter(|a| state.is_none_or(|s| a.from == s))
                        .map(|a| a.id.as_str())
                        .collect();
                    let whose = match state {
                        Some(s) => format!("an action leaving state '{s}'"),
                        None => "an action of this procedure".to_string(),
                    };
                    (
                        Code::PluginConfigUnknownAction,
                        whose,
                        allowed,
                        "the choices",
                    )
                }
                Reference::Document => (
                    Code::PluginConfigUnknownDocument,
                    "a document of the checklist".to_string(),
                    procedure.documents.iter().map(|d| d.id.as_str()).collect(),
                    "the checklist",
                ),
            };
            if candidates.contains(&name.as_str()) {
                continue;
            }
            let d = Diagnostic::new(
                code,
                self.file,
                pos,
                format!("plugin '{plugin}' config{path} names '{name}', which is not {what}"),
            );
            let d = d.with_arg("plugin", plugin).with_arg("id", &name);
            let d = match did_you_mean(&name, candidates.iter().copied()) {
                Some(near) => d
                    .with_hint(format!("did you mean '{near}'?"))
                    .with_arg("suggestion", near),
                None => d.with_hint(format!("{choices}: {}", candidates.join(", "))),
            };
            self.push(d);
        }
    }

    /// Where an error at `path` (a JSON pointer into the merged config) was written: in the
    /// use's `config` if it wrote that key, else in the plugin's, else at the nearest config.
    /// With `key`, the position of the key itself (an unknown key), else of its value.
    fn config_pos(&self, base: &str, u: Option<&&Use<'_>>, path: &str, key: bool) -> Pos {
        let at = |pointer: &str| {
            if key {
                self.sm.key(pointer)
            } else {
                self.sm.value(pointer)
            }
        };
        let own = format!("{base}/config{path}");
        if let Some(u) = u {
            let theirs = format!("{}/config{path}", u.pointer);
            if u.call.config.is_some() && self.sm.get(&theirs).is_some() {
                return at(&theirs);
            }
            if self.sm.get(&own).is_none() && u.call.config.is_some() {
                return self.sm.value(&format!("{}/config", u.pointer));
            }
        }
        // Both fall back to the nearest written ancestor: `config`, then the entry.
        at(&own)
    }
}

#[derive(Clone, Copy)]
enum Reference {
    Action,
    Document,
}

/// The strings in `config` whose schema node has `"format": "motcua-action"` or
/// `"motcua-document"`, with their JSON pointers. Follows `properties` and `items`, which is
/// how plugin config schemas nest.
fn references(
    schema: &serde_json::Value,
    config: &serde_json::Value,
    path: String,
    out: &mut Vec<(String, Reference, String)>,
) {
    let kind = match schema.get("format").and_then(|f| f.as_str()) {
        Some("motcua-action") => Some(Reference::Action),
        Some("motcua-document") => Some(Reference::Document),
        _ => None,
    };
    if let (Some(kind), Some(name)) = (kind, config.as_str()) {
        out.push((path.clone(), kind, name.to_string()));
    }
    if let (Some(properties), Some(values)) = (
        schema.get("properties").and_then(|p| p.as_object()),
        config.as_object(),
    ) {
        for (key, sub) in properties {
            if let Some(value) = values.get(key) {
                let p = format!("{path}/{}", motcua_core::procedure::source_map::escape(key));
                references(sub, value, p, out);
            }
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), config.as_array()) {
        for (i, value) in values.iter().enumerate() {
            references(items, value, format!("{path}/{i}"), out);
        }
    }
}

/// Where a config schema error points: the instance it is about, or for keys the schema does
/// not allow, each such key (so the author sees the misspelt key, not the whole mapping).
fn offending(e: &jsonschema::ValidationError<'_>) -> Vec<(String, bool)> {
    let path = e.instance_path().to_string();
    match e.kind() {
        jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|k| {
                (
                    format!("{path}/{}", motcua_core::procedure::source_map::escape(k)),
                    true,
                )
            })
            .collect(),
        _ => vec![(path, false)],
    }
}

fn not_a_plugin(file: &Path, pos: Pos, e: &Error) -> Diagnostic {
    Diagnostic::new(Code::NotAPlugin, file, pos, e.to_string()).with_hint(
        "a plugin is a wasm32-wasip2 component implementing motcua:plugin@0.1.0 (see plugins/README.md)",
    )
}

fn bad_schema(file: &Path, pos: Pos, info: &Info, why: &str) -> Diagnostic {
    Diagnostic::new(
        Code::PluginBadConfigSchema,
        file,
        pos,
        format!(
            "plugin {} {} describes an invalid config schema: {why}",
            info.name, info.version
        ),
    )
    .with_hint("the plugin must be fixed and rebuilt; its config cannot be checked")
}

fn config_invalid(file: &Path, pos: Pos, plugin: &str, path: &str, why: &str) -> Diagnostic {
    Diagnostic::new(
        Code::PluginConfigInvalid,
        file,
        pos,
        format!("config of plugin '{plugin}' at '{path}': {why}"),
    )
    .with_arg("plugin", plugin)
    .with_arg("path", path)
    .with_hint("the plugin's config schema is what `describe` returns; plugins/README.md and the plugin's source document each key")
}

fn list(capabilities: &[Capability]) -> String {
    if capabilities.is_empty() {
        return "nothing".into();
    }
    capabilities
        .iter()
        .map(Capability::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
