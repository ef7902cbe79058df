//! The catalogue of procedure versions the engine can run.
//!
//! Every version is kept, keyed by the sha256 of its file, so dossiers pinned to an old version
//! stay processable after a new one loads.
//!
//! **Which version receives a dossier.** The version *in force* at the receipt instant's local
//! day: among the versions of the procedure whose `effective_from ..= effective_until` holds
//! that day, the one with the latest `effective_from`; among equals, one loaded from the
//! procedures folder beats one only restored from the store, and a later load beats an earlier
//! one; among restored equals, the higher `version` text, then the hash, so the choice never
//! depends on the order a store lists its versions. A version that becomes effective on a
//! future date is loaded now and takes over on that date by itself.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::dossier::definition::Definition;
use motcua_core::plugin::{Runner, Step};

/// A procedure version ready to run: its pure [`Definition`] and its pinned plugins, loaded by
/// the engine's [`Runner`] (compiled in the sandbox, or refusing every call in a build without
/// plugins). The pure step sees only the definition.
#[derive(Debug)]
pub struct Compiled {
    pub definition: Arc<Definition>,
    /// The pinned plugins, ready to call, by their id in the procedure.
    pub plugins: HashMap<String, Arc<dyn Step>>,
}

impl std::ops::Deref for Compiled {
    type Target = Definition;
    fn deref(&self) -> &Definition {
        &self.definition
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The validation pipeline found errors: every error diagnostic of every refused file.
    #[error("{origin}: the procedure has errors:\n{}", list(.diagnostics))]
    Invalid {
        origin: String,
        diagnostics: Vec<crate::procedure::Diagnostic>,
    },
    /// It checked, but could not be compiled (form schema, guard, a plugin's bytes).
    #[error("{origin}: {message}")]
    Compile { origin: String, message: String },
    #[error("{origin}: cannot read: {source}")]
    Io {
        origin: String,
        source: std::io::Error,
    },
}

fn list(diagnostics: &[crate::procedure::Diagnostic]) -> String {
    let lines: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    lines.join("\n")
}

impl Compiled {
    /// Compiles a version that passed the validation pipeline
    /// ([`crate::procedure::check_catalogue`]): `loaded` must have no error diagnostic.
    /// `fetch` supplies the bytes of each plugin the procedure pins (from the file next to the
    /// procedure, or from the store for a restored version); they must match the pinned sha256.
    /// With a `runner`, the plugins are loaded once here, so a broken plugin refuses the version
    /// rather than a dossier later.
    pub fn from_checked(
        loaded: crate::procedure::Loaded,
        source: String,
        fetch: &dyn Fn(&crate::procedure::PluginRef) -> Result<Vec<u8>, String>,
        runner: Option<&dyn Runner>,
    ) -> Result<Compiled, Error> {
        let origin = loaded.file.display().to_string();
        Compiled::compile(&origin, loaded, source, fetch, runner)
    }

    /// Recompiles a version the store pinned dossiers to. It passed every check when it was
    /// first loaded; checks that grew stricter since must not make its dossiers unreadable, so
    /// only parsing, compiling and the plugin hashes are required here.
    pub fn restore(
        origin: &str,
        source: String,
        fetch: &dyn Fn(&crate::procedure::PluginRef) -> Result<Vec<u8>, String>,
        runner: Option<&dyn Runner>,
    ) -> Result<Compiled, Error> {
        let mut loaded = crate::procedure::load_str(&source, origin);
        if let Some(p) = loaded.procedure.as_mut() {
            legacy_takers(p);
        }
        Compiled::compile(origin, loaded, source, fetch, runner)
    }

    fn compile(
        origin: &str,
        loaded: crate::procedure::Loaded,
        source: String,
        fetch: &dyn Fn(&crate::procedure::PluginRef) -> Result<Vec<u8>, String>,
        runner: Option<&dyn Runner>,
    ) -> Result<Compiled, Error> {
        let invalid = |message: String| Error::Compile {
            origin: origin.to_string(),
            message,
        };
        if loaded.has_errors() {
            return Err(Error::Invalid {
                origin: origin.to_string(),
                diagnostics: loaded
                    .diagnostics
                    .into_iter()
                    .filter(|d| d.is_error())
                    .collect(),
            });
        }
        let procedure = loaded
            .procedure
            .ok_or_else(|| invalid("the file did not load".into()))?;
        let mut plugin_blobs = Vec::with_capacity(procedure.plugins.len());
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
            if let Some(runner) = runner {
                let plugin = runner
                    .load(&bytes, r)
                    .map_err(|e| invalid(format!("plugin '{}': {e}", r.id)))?;
                plugins.insert(r.id.clone(), plugin);
            }
            plugin_blobs.push((r.sha256.clone(), Arc::new(bytes)));
        }
        let definition = Definition::compile(procedure, loaded.content_hash, source, plugin_blobs)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(Compiled {
            definition: Arc::new(definition),
            plugins,
        })
    }
}

/// Versions stored before `by:` existed wrote actions the applicant or the system takes with
/// no roles. They keep that meaning, so their dossiers in flight can still move: out of an
/// automatic state the system takes it, anywhere else the dossier's applicant. (A new file
/// with such an action is refused, E045.)
fn legacy_takers(p: &mut crate::procedure::Procedure) {
    use crate::procedure::{By, StateKind};
    let automatic: Vec<String> = p
        .states
        .iter()
        .filter(|s| s.kind == StateKind::Automatic)
        .map(|s| s.id.clone())
        .collect();
    for a in p.actions.iter_mut().filter(|a| a.taker().is_none()) {
        a.by = Some(if automatic.contains(&a.from) {
            By::System
        } else {
            By::Applicant
        });
    }
}

/// How a version came into the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// Restored from the store (a dossier is pinned to it); ranks below a loaded equal.
    Restored,
    /// Loaded from the procedures folder (or uploaded).
    Loaded,
}

#[derive(Debug)]
struct Version {
    compiled: Arc<Compiled>,
    origin: Origin,
    /// Load order among the versions of one id.
    order: u64,
}

/// All loaded versions, by hash and by procedure id.
#[derive(Debug, Default)]
pub struct Catalog {
    by_hash: HashMap<String, Arc<Compiled>>,
    by_id: BTreeMap<String, Vec<Version>>,
    loads: u64,
}

impl Catalog {
    /// Adds a version (or, for one already present, records that it was loaded again: a
    /// reload makes it win ties again).
    pub fn insert(&mut self, compiled: Compiled, origin: Origin) -> Arc<Compiled> {
        self.loads += 1;
        let order = self.loads;
        let c = match self.by_hash.get(&compiled.hash) {
            Some(existing) => existing.clone(),
            None => {
                let c = Arc::new(compiled);
                self.by_hash.insert(c.hash.clone(), c.clone());
                c
            }
        };
        let versions = self.by_id.entry(c.procedure.id.clone()).or_default();
        match versions.iter_mut().find(|v| v.compiled.hash == c.hash) {
            Some(v) => {
                v.origin = v.origin.max(origin);
                if origin == Origin::Loaded {
                    v.order = order;
                }
            }
            None => versions.push(Version {
                compiled: c.clone(),
                origin,
                order,
            }),
        }
        c
    }

    /// The version of `id` in force on local day `day` (see the module docs).
    pub fn in_force(&self, id: &str, day: jiff::civil::Date) -> Option<Arc<Compiled>> {
        self.by_id
            .get(id)?
            .iter()
            .filter(|v| {
                let p = &v.compiled.procedure;
                p.effective_from <= day && p.effective_until.is_none_or(|u| day <= u)
            })
            .max_by(|a, b| rank(a).cmp(&rank(b)))
            .map(|v| v.compiled.clone())
    }

    /// The version of `id` that was loaded last (or restored, if none was loaded): what to
    /// name in a refusal when no version of `id` is in force.
    pub fn latest(&self, id: &str) -> Option<Arc<Compiled>> {
        self.by_id
            .get(id)?
            .iter()
            .max_by_key(|v| (v.origin, v.order))
            .map(|v| v.compiled.clone())
    }

    pub fn by_hash(&self, hash: &str) -> Option<Arc<Compiled>> {
        self.by_hash.get(hash).cloned()
    }

    /// The procedure ids with at least one version.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.keys().map(String::as_str)
    }

    /// For each procedure, the version in force on `day` (or its latest, if none is).
    pub fn in_force_all(&self, day: jiff::civil::Date) -> Vec<Arc<Compiled>> {
        self.by_id
            .keys()
            .filter_map(|id| self.in_force(id, day).or_else(|| self.latest(id)))
            .collect()
    }

    pub fn versions(&self) -> impl Iterator<Item = &Arc<Compiled>> {
        self.by_hash.values()
    }
}

/// Orders versions in force on the same day: latest `effective_from`, then loaded over
/// restored, then later load; restored equals by version text, then hash.
fn rank(v: &Version) -> (jiff::civil::Date, Origin, u64, &str, &str) {
    let p = &v.compiled.procedure;
    let order = if v.origin == Origin::Loaded {
        v.order
    } else {
        0
    };
    (
        p.effective_from,
        v.origin,
        order,
        &p.version,
        &v.compiled.hash,
    )
}
