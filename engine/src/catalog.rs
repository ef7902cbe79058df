//! The catalogue of procedure versions the engine can run.
//!
//! Every version is kept, keyed by the sha256 of its file, so dossiers pinned to an old version
//! stay processable after a new one loads. The *current* version of a procedure (the one new
//! submissions use) is the most recently loaded one.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::dossier::form::Form;
use crate::dossier::guard::Guard;
use crate::procedure::Procedure;

/// A procedure version ready to run: parsed, checked, its form schema and guards compiled.
#[derive(Debug)]
pub struct Compiled {
    pub procedure: Procedure,
    /// Hex sha256 of the source text.
    pub hash: String,
    /// The YAML text, kept so a stored dossier can always be replayed against its version.
    pub source: String,
    pub form: Form,
    /// Compiled guards by action id.
    pub guards: HashMap<String, Guard>,
    /// The bytes of every plugin the version pins: (sha256, bytes), verified.
    pub plugin_blobs: Vec<(String, Arc<Vec<u8>>)>,
    /// The pinned plugins, compiled, by their id in the procedure.
    #[cfg(feature = "plugins")]
    pub plugins: HashMap<String, crate::plugin::Plugin>,
}

/// What runs plugins: the wasmtime host, or nothing in a build without the `plugins` feature.
#[cfg(feature = "plugins")]
pub type Host = crate::plugin::PluginHost;
/// What runs plugins: the wasmtime host, or nothing in a build without the `plugins` feature.
#[cfg(not(feature = "plugins"))]
pub type Host = ();

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{origin}: the procedure has errors:\n{diagnostics}")]
    Invalid { origin: String, diagnostics: String },
    #[error("{origin}: cannot read: {source}")]
    Io {
        origin: String,
        source: std::io::Error,
    },
}

impl Compiled {
    /// Loads, checks and compiles a procedure. `origin` names the source in diagnostics.
    /// A procedure with any error diagnostic is refused: an engine never runs a definition
    /// `motcua validate` would reject. Warnings are allowed.
    /// `fetch` supplies the bytes of each plugin the procedure pins (from the file next to the
    /// procedure, or from the store for a restored version); they must match the pinned sha256.
    /// With a `host`, the plugins are compiled once here, so a broken plugin refuses the version
    /// rather than a dossier later.
    pub fn from_source(
        origin: &str,
        source: String,
        fetch: &dyn Fn(&crate::procedure::PluginRef) -> Result<Vec<u8>, String>,
        host: Option<&Host>,
    ) -> Result<Compiled, Error> {
        Compiled::compile(origin, source, fetch, host, true)
    }

    /// Recompiles a version the store pinned dossiers to. It passed every check when it was
    /// first loaded; checks that grew stricter since must not make its dossiers unreadable, so
    /// only parsing, compiling and the plugin hashes are required here.
    pub fn restore(
        origin: &str,
        source: String,
        fetch: &dyn Fn(&crate::procedure::PluginRef) -> Result<Vec<u8>, String>,
        host: Option<&Host>,
    ) -> Result<Compiled, Error> {
        Compiled::compile(origin, source, fetch, host, false)
    }

    fn compile(
        origin: &str,
        source: String,
        fetch: &dyn Fn(&crate::procedure::PluginRef) -> Result<Vec<u8>, String>,
        host: Option<&Host>,
        checked: bool,
    ) -> Result<Compiled, Error> {
        let loaded = if checked {
            crate::procedure::load_and_check_str(&source, origin)
        } else {
            crate::procedure::load_str(&source, origin)
        };
        let invalid = |diagnostics: String| Error::Invalid {
            origin: origin.to_string(),
            diagnostics,
        };
        if loaded.has_errors() {
            let listed: Vec<String> = loaded
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.to_string())
                .collect();
            return Err(invalid(listed.join("\n")));
        }
        let procedure = loaded
            .procedure
            .ok_or_else(|| invalid("the file did not load".into()))?;
        let form = Form::compile(&procedure.form).map_err(|e| invalid(e.to_string()))?;
        let mut guards = HashMap::new();
        for action in &procedure.actions {
            if let Some(g) = &action.guard {
                let compiled =
                    Guard::compile(&g.expr, &g.label).map_err(|e| invalid(e.to_string()))?;
                guards.insert(action.id.clone(), compiled);
            }
        }
        let mut plugin_blobs = Vec::with_capacity(procedure.plugins.len());
        #[cfg(feature = "plugins")]
        let mut plugins = HashMap::new();
        for r in &procedure.plugins {
            let bytes = fetch(r).map_err(|e| invalid(format!("plugin '{}': {e}", r.id)))?;
            let actual = crate::procedure::content_hash(&bytes);
            if actual != r.sha256 {
                return Err(invalid(format!(
                    "plugin '{}' ({}) has sha256 {actual}, the procedure pins {}",
                    r.id, r.file, r.sha256
                )));
            }
            #[cfg(feature = "plugins")]
            if let Some(host) = host {
                let plugin = host
                    .load_bytes(&bytes, &r.sha256)
                    .map_err(|e| invalid(format!("plugin '{}': {e}", r.id)))?
                    .with_limits(r.time_limit_ms, r.memory_limit_mib);
                plugins.insert(r.id.clone(), plugin);
            }
            plugin_blobs.push((r.sha256.clone(), Arc::new(bytes)));
        }
        #[cfg(not(feature = "plugins"))]
        let _ = host;
        Ok(Compiled {
            hash: loaded.content_hash,
            procedure,
            source,
            form,
            guards,
            plugin_blobs,
            #[cfg(feature = "plugins")]
            plugins,
        })
    }
}

/// All loaded versions, and which one is current per procedure id.
#[derive(Debug, Default)]
pub struct Catalog {
    by_hash: HashMap<String, Arc<Compiled>>,
    current: BTreeMap<String, Arc<Compiled>>,
}

impl Catalog {
    /// Adds a version. It becomes current for its id when `make_current` is set (files from
    /// the procedures folder) but not for versions restored from the store.
    pub fn insert(&mut self, compiled: Compiled, make_current: bool) -> Arc<Compiled> {
        if let Some(existing) = self.by_hash.get(&compiled.hash) {
            let existing = existing.clone();
            if make_current {
                self.current
                    .insert(existing.procedure.id.clone(), existing.clone());
            }
            return existing;
        }
        let c = Arc::new(compiled);
        self.by_hash.insert(c.hash.clone(), c.clone());
        if make_current || !self.current.contains_key(&c.procedure.id) {
            self.current.insert(c.procedure.id.clone(), c.clone());
        }
        c
    }
    pub fn current(&self, id: &str) -> Option<Arc<Compiled>> {
        self.current.get(id).cloned()
    }
    pub fn by_hash(&self, hash: &str) -> Option<Arc<Compiled>> {
        self.by_hash.get(hash).cloned()
    }
    /// Current versions, by procedure id.
    pub fn procedures(&self) -> impl Iterator<Item = &Arc<Compiled>> {
        self.current.values()
    }
    pub fn versions(&self) -> impl Iterator<Item = &Arc<Compiled>> {
        self.by_hash.values()
    }
}
