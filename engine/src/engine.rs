//! The engine portals embed: a catalogue of procedure versions, a store, a calendar and a
//! clock. Every method is synchronous and thread-safe; a submission or action returns only
//! after its transition is durable. (An async server calls these from blocking tasks.)

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

mod assignments;
mod contact;
mod feedback;
mod papers;
pub use papers::{Held, Kept};
mod firing;
mod plugin_steps;
mod uploads;

pub use uploads::MARK_PREFIX as UPLOAD_MARK_PREFIX;

use crate::audit;
use crate::catalog::{self, Catalog, Compiled, Origin};
use crate::clock::TimeSource;
use crate::deadline::WorkingCalendar;
use crate::deadline::{self, Clocks, Rules};
use crate::dossier::definition::Definition;
use crate::dossier::transition::{self, ActionRequest, Availability, Env, Submission, Transition};
use crate::dossier::{Actor, Dossier};
use crate::plugin::Runner;
use crate::procedure::{self, Loaded};
use crate::scheduler::Bell;
use crate::store::{self, Committed, Query, Reader, Store};

pub use crate::error::{Code, Error, Result};

/// One page of [`Engine::list`].
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub dossiers: Vec<Dossier>,
    /// Pass as `after` for the next page; `None` when this page is the last.
    pub next: Option<String>,
    /// A search found more matches than it sorts at once: narrow the text.
    pub truncated: bool,
}

/// How many times an action lost a commit race is decided again before the conflict is
/// the caller's: each retry means another commit landed on the same dossier meanwhile.
const RACE_RETRIES: u32 = 8;

/// Instants the engine decides on are whole milliseconds: timer keys store milliseconds, and a
/// due instant finer than its key would never match the timer read back.
fn to_millisecond(t: jiff::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}

/// What a submission returns: the data of the appointment slip.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub dossier: Dossier,
    /// Child dossiers a linked group started.
    pub children: Vec<Dossier>,
    /// True when the idempotency key had been seen: nothing new was written.
    pub replayed: bool,
}

pub struct Engine {
    runner: Arc<dyn Runner>,
    store: Arc<dyn Store>,
    catalog: RwLock<Catalog>,
    calendar: Arc<dyn WorkingCalendar>,
    clock: Arc<dyn TimeSource>,
    rules: Rules,
    bell: Arc<Bell>,
    /// Dossiers whose due timers could not fire in the last `fire_due` (see [`Engine::stuck`]).
    stuck: std::sync::Mutex<HashSet<String>>,
    /// The last `fire_due` passed over timers another node claimed (see
    /// [`Engine::others_firing`]).
    others_firing: std::sync::atomic::AtomicBool,
    /// The folder uploaded procedures are named in (see [`Engine::set_uploads_dir`]).
    uploads_dir: RwLock<PathBuf>,
    /// Other folders uploaded procedures may read plugin files from (see
    /// [`Engine::allow_plugin_dir`]).
    plugin_dirs: RwLock<Vec<PathBuf>>,
    /// Whether other nodes' uploads may be missing from the catalogue.
    uploads: Arc<uploads::Freshness>,
}

/// How to open an [`Engine`].
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// A folder for compiled plugins, kept across processes (see
    /// `plugin::PluginHost::with_disk_cache`); `None` compiles them in memory each time.
    pub plugin_cache: Option<PathBuf>,
    /// How dossiers and steps are classified when they end (default: the national rules).
    pub rules: Rules,
    /// What runs plugins; `None` takes this build's ([`crate::steps::runner`]).
    pub runner: Option<Arc<dyn Runner>>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("plugin_cache", &self.plugin_cache)
            .field("rules", &self.rules)
            .field("runner", &self.runner.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl Options {
    /// Options with compiled plugins cached in `dir`.
    pub fn with_plugin_cache(dir: impl Into<PathBuf>) -> Options {
        Options {
            plugin_cache: Some(dir.into()),
            ..Options::default()
        }
    }

    /// These options classifying by `rules`.
    pub fn with_rules(mut self, rules: Rules) -> Options {
        self.rules = rules;
        self
    }

    /// These options running plugins with `runner` (other limits, another sandbox, or
    /// [`crate::plugin::NoRunner`] to refuse every plugin step).
    pub fn with_runner(mut self, runner: Arc<dyn Runner>) -> Options {
        self.runner = Some(runner);
        self
    }
}

impl Engine {
    /// An engine over `store` with default [`Options`]. Every procedure version the store has
    /// pinned a dossier to is restored into the catalogue, so dossiers in flight stay
    /// processable whatever the procedures folder now holds.
    pub fn new(
        store: Arc<dyn Store>,
        calendar: Arc<dyn WorkingCalendar>,
        clock: Arc<dyn TimeSource>,
    ) -> Result<Engine> {
        Engine::open(store, calendar, clock, Options::default())
    }

    /// [`Engine::new`] with options.
    pub fn open(
        store: Arc<dyn Store>,
        calendar: Arc<dyn WorkingCalendar>,
        clock: Arc<dyn TimeSource>,
        options: Options,
    ) -> Result<Engine> {
        let runner = match options.runner {
            Some(runner) => runner,
            None => crate::steps::runner(options.plugin_cache)?,
        };
        let rules = options.rules;
        let mut catalog = Catalog::default();
        for (hash, source) in store.procedures()? {
            let fetch = |r: &crate::procedure::PluginRef| match store.plugin(&r.sha256) {
                Ok(Some(bytes)) => Ok(bytes),
                Ok(None) => Err(format!("sha256 {} is not in the store", r.sha256)),
                Err(e) => Err(e.to_string()),
            };
            let origin = format!("stored version {hash}");
            match Compiled::restore(&origin, source, &fetch, Some(&*runner)) {
                Ok(compiled) => {
                    catalog.insert(compiled, Origin::Restored);
                }
                // One stored version this build cannot compile (a bound it exceeds, a plugin
                // gone from the store) must not keep the engine from serving every other
                // dossier; the dossiers pinned to it are refused with `pinned_version_missing`.
                Err(e) => tracing::warn!("{origin} is not restored: {e}"),
            }
        }
        let bell = Arc::new(Bell::default());
        let uploads = Arc::new(uploads::Freshness::default());
        if let Some(shared) = store.shared() {
            // Timers other nodes commit ring this node's scheduler too, and their uploads
            // are loaded before this node is next asked for its procedures.
            let bell = bell.clone();
            shared.on_remote_timer(Arc::new(move |at| bell.offer(at)));
            let uploads = uploads.clone();
            shared.on_remote_mark(Arc::new(move |name| uploads.told(name)));
        }
        Ok(Engine {
            runner,
            store,
            catalog: RwLock::new(catalog),
            calendar,
            clock,
            rules,
            bell,
            stuck: Default::default(),
            others_firing: Default::default(),
            uploads_dir: RwLock::new(PathBuf::from(".")),
            plugin_dirs: RwLock::new(vec![]),
            uploads,
        })
    }

    /// Loads a procedure version through the validation pipeline
    /// ([`procedure::check_catalogue`]: every check `motcua validate` runs, plugins and linked
    /// procedures included, links resolved against the catalogue). A version with any error
    /// diagnostic is refused with all of them ([`catalog::Error::Invalid`]). Plugin files are
    /// read relative to the folder of `origin` (the procedure's path). It receives dossiers
    /// from its `effective_from` on (see [`crate::catalog`] for which version is in force).
    pub fn load_procedure(&self, origin: &str, source: String) -> Result<Arc<Compiled>> {
        let mut loaded = self.load_batch(vec![(PathBuf::from(origin), source)])?;
        loaded.pop().ok_or_else(|| {
            Error::Catalog(catalog::Error::Compile {
                origin: origin.to_string(),
                message: "nothing was loaded".into(),
            })
        })
    }

    /// Loads every `.yaml`/`.yml` file under `dir` (recursively, in path order) as one batch
    /// through the validation pipeline, so procedures may link to each other in any order.
    /// All or nothing: if any file has an error, none is loaded (an engine must not run half
    /// a catalogue).
    pub fn load_procedures_dir(&self, dir: &Path) -> Result<Vec<Arc<Compiled>>> {
        let mut files = vec![];
        collect_yaml(dir, &mut files)?;
        files.sort();
        let mut batch = Vec::with_capacity(files.len());
        for f in files {
            let io = |source| Error::Io {
                path: f.clone(),
                source,
            };
            // Bounded: a file past the loader's size limit is read no further than the limit.
            let bytes = procedure::read_source(&f).map_err(io)?;
            let source = if bytes.len() > crate::procedure::source_map::limits::FILE_BYTES {
                // Refused for its size anyway; a character cut at the limit must not hide that.
                String::from_utf8_lossy(&bytes).into_owned()
            } else {
                String::from_utf8(bytes)
                    .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?
            };
            batch.push((f, source));
        }
        self.load_batch(batch)
    }

    fn load_batch(&self, files: Vec<(PathBuf, String)>) -> Result<Vec<Arc<Compiled>>> {
        let mut batch: Vec<Loaded> = files
            .iter()
            .map(|(path, text)| procedure::load_str(text, path.clone()))
            .collect();
        let known: HashSet<String> = self
            .catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .ids()
            .map(String::from)
            .collect();
        procedure::check_catalogue(&mut batch, self.runner.inspector(), &known);
        let bad: Vec<&Loaded> = batch.iter().filter(|l| l.has_errors()).collect();
        if let Some(first) = bad.first() {
            return Err(Error::Catalog(catalog::Error::Invalid {
                origin: first.file.display().to_string(),
                diagnostics: bad
                    .iter()
                    .flat_map(|l| l.diagnostics.iter().filter(|d| d.is_error()).cloned())
                    .collect(),
            }));
        }
        let mut compiled = Vec::with_capacity(batch.len());
        for (loaded, (path, source)) in batch.into_iter().zip(files) {
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let fetch = |r: &crate::procedure::PluginRef| {
                let path = dir.join(&r.file);
                procedure::read_plugin_file(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))
            };
            compiled.push(Compiled::from_checked(
                loaded,
                source,
                &fetch,
                Some(&*self.runner),
            )?);
        }
        let mut catalog = self.catalog.write().unwrap_or_else(|p| p.into_inner());
        Ok(compiled
            .into_iter()
            .map(|c| catalog.insert(c, Origin::Loaded))
            .collect())
    }

    /// The version of procedure `id` in force now (or, if none is, the one loaded last).
    pub fn procedure(&self, id: &str) -> Option<Arc<Compiled>> {
        self.catch_up_uploads();
        let day = self.calendar.local_date(self.now());
        let catalog = self.catalog.read().unwrap_or_else(|p| p.into_inner());
        catalog.in_force(id, day).or_else(|| catalog.latest(id))
    }

    /// The version of procedure `id` in force on local day `day`.
    pub fn procedure_in_force(&self, id: &str, day: jiff::civil::Date) -> Option<Arc<Compiled>> {
        self.catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .in_force(id, day)
    }

    /// Every version of procedure `id` the catalogue holds (loaded or restored), by
    /// `effective_from`.
    pub fn procedure_versions(&self, id: &str) -> Vec<Arc<Compiled>> {
        self.catch_up_uploads();
        let catalog = self.catalog.read().unwrap_or_else(|p| p.into_inner());
        let mut versions: Vec<Arc<Compiled>> = catalog
            .versions()
            .filter(|c| c.procedure.id == id)
            .cloned()
            .collect();
        versions.sort_by(|a, b| {
            (a.procedure.effective_from, &a.procedure.version)
                .cmp(&(b.procedure.effective_from, &b.procedure.version))
        });
        versions.dedup_by(|a, b| a.hash == b.hash);
        versions
    }

    /// For each procedure, the version in force now (or the one loaded last).
    pub fn procedures(&self) -> Vec<Arc<Compiled>> {
        self.catch_up_uploads();
        let day = self.calendar.local_date(self.now());
        self.catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .in_force_all(day)
    }

    /// Whether the catalogue holds the version with this content hash.
    pub fn knows_version(&self, hash: &str) -> bool {
        self.catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_hash(hash)
            .is_some()
    }

    /// Whether other processes write to this engine's store (several nodes on one
    /// database): what one node loads, the others must pick up from the store.
    pub fn store_is_shared(&self) -> bool {
        self.store.shared().is_some()
    }

    /// The procedure version dossier `d` is pinned to.
    pub fn pinned_procedure(&self, d: &Dossier) -> Result<Arc<Compiled>> {
        self.pinned(d)
    }

    fn pinned(&self, d: &Dossier) -> Result<Arc<Compiled>> {
        let known = self
            .catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_hash(&d.procedure_hash);
        if let Some(c) = known {
            return Ok(c);
        }
        // On a store several nodes share, another node may have pinned a version this one
        // has not loaded (an upload there): it is in the store, restored as at open.
        let missing = || Error::PinnedVersionMissing {
            code: d.code.clone(),
            hash: d.procedure_hash.clone(),
        };
        let Some((hash, source)) = self
            .store
            .procedures()?
            .into_iter()
            .find(|(h, _)| *h == d.procedure_hash)
        else {
            return Err(missing());
        };
        let store = &self.store;
        let fetch = |r: &crate::procedure::PluginRef| match store.plugin(&r.sha256) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(format!("sha256 {} is not in the store", r.sha256)),
            Err(e) => Err(e.to_string()),
        };
        let origin = format!("stored version {hash}");
        match Compiled::restore(&origin, source, &fetch, Some(&*self.runner)) {
            Ok(compiled) => {
                let mut catalog = self.catalog.write().unwrap_or_else(|p| p.into_inner());
                catalog.insert(compiled, Origin::Restored);
                catalog.by_hash(&d.procedure_hash).ok_or_else(missing)
            }
            Err(e) => {
                tracing::warn!("{origin} is not restored: {e}");
                Err(missing())
            }
        }
    }

    /// Receives a dossier under the version in force at this instant. Returns after it is
    /// durable, with its code and appointment.
    pub fn submit(&self, mut sub: Submission) -> Result<Receipt> {
        if sub.received_by.id == Actor::SYSTEM_ID {
            return Err(Error::ReservedActor(sub.received_by.id.clone()));
        }
        sub.check().map_err(transition::Error::from)?;
        self.take_brought(&mut sub)?;
        // On a shared store another node may have uploaded a version of this procedure a
        // moment ago: the next request uses it, told or not.
        if self.store_is_shared() {
            self.load_uploads_of(&sub.procedure)?;
        }
        let now = self.now();
        let day = self.calendar.local_date(now);
        let p = match self.procedure_in_force(&sub.procedure, day) {
            Some(p) => p,
            // Known, but no version receives today: the pure step explains which and when.
            None => self
                .procedure(&sub.procedure)
                .ok_or_else(|| Error::UnknownProcedure(sub.procedure.clone()))?,
        };
        let lookup = |id: &str| {
            self.procedure_in_force(id, day)
                .map(|c| c.definition.clone())
        };
        let env = Env::new(self.calendar.as_ref(), &lookup, now).with_rules(&self.rules);
        // The pure step first: a malformed form is refused before any plugin runs on it.
        let mut t = transition::submit(&p, &sub, &env)?;
        self.plugin_steps_on_submit(&p, &sub, &mut t, &env)?;
        match self.commit(t)? {
            Committed::Replayed(d) => Ok(Receipt {
                dossier: *d,
                children: vec![],
                replayed: true,
            }),
            Committed::Applied(mut ds) => {
                if ds.is_empty() {
                    return Err(store::Error::Corrupt("a commit returned no dossier".into()).into());
                }
                let dossier = ds.remove(0);
                Ok(Receipt {
                    dossier,
                    children: ds,
                    replayed: false,
                })
            }
        }
    }

    /// Performs an action. Returns the new version after it is durable.
    pub fn act(&self, req: ActionRequest) -> Result<Dossier> {
        req.check().map_err(transition::Error::from)?;
        if req.actor.id == Actor::SYSTEM_ID {
            return Err(Error::ReservedActor(req.actor.id.clone()));
        }
        self.decide_and_commit(&req.dossier, |p, d, env| {
            let mut t = transition::act(p, d, &req, env)?;
            self.plugin_steps_on_act(p, d, &req, &mut t, env)?;
            Ok(t)
        })
    }

    /// Decides a step on dossier `code` as stored (`decide`: the pinned version, the dossier,
    /// the environment) and commits it; the dossier as stored after. Another commit between
    /// reading and committing (an officer on the other branch) refuses this one before it
    /// writes anything, and the step is decided again on the dossier as it now is, where the
    /// pure step's version rules tell a move elsewhere from a real conflict.
    fn decide_and_commit(
        &self,
        code: &str,
        decide: impl Fn(&Compiled, &Dossier, &Env<'_>) -> Result<Transition>,
    ) -> Result<Dossier> {
        let mut raced = 0;
        loop {
            let d = self.dossier(code)?;
            let p = self.pinned(&d)?;
            let now = self.now();
            let day = self.calendar.local_date(now);
            let lookup = |id: &str| -> Option<Arc<Definition>> {
                self.procedure_in_force(id, day)
                    .map(|c| c.definition.clone())
            };
            let env = Env::new(self.calendar.as_ref(), &lookup, now).with_rules(&self.rules);
            let t = decide(&p, &d, &env)?;
            match self.commit(t) {
                Err(Error::Store(store::Error::VersionMoved { .. })) if raced < RACE_RETRIES => {
                    raced += 1;
                }
                committed => {
                    return match committed? {
                        Committed::Applied(ds) => ds.into_iter().next().ok_or_else(|| {
                            store::Error::Corrupt("a commit returned no dossier".into()).into()
                        }),
                        Committed::Replayed(d) => Ok(*d),
                    };
                }
            }
        }
    }

    /// Commits, then rings the scheduler's bell with the earliest timer the commit left.
    fn commit(&self, t: Transition) -> Result<Committed> {
        let committed = self.store.commit(t)?;
        if let Committed::Applied(ds) = &committed {
            self.offer_timers(ds);
        }
        Ok(committed)
    }

    fn offer_timers(&self, ds: &[Dossier]) {
        let earliest = ds
            .iter()
            .flat_map(transition::timers_of)
            .map(|t| t.at)
            .min();
        if let Some(at) = earliest {
            self.bell.offer(at);
        }
    }

    /// The bell a [`crate::scheduler::Scheduler`] sleeps on.
    pub(crate) fn bell(&self) -> Arc<Bell> {
        self.bell.clone()
    }

    /// The dossier's clocks now: the appointment and each active step's budget, with their
    /// state (`not_due`, `due_soon`, `overdue`, `paused`), and the classification once ended.
    pub fn clocks(&self, d: &Dossier) -> Result<Clocks> {
        let p = self.pinned(d)?;
        Ok(deadline::status::clocks(
            &p.procedure,
            d,
            self.calendar.as_ref(),
            &self.rules,
            self.now(),
        ))
    }

    /// The engine's clock, to the millisecond.
    fn now(&self) -> jiff::Timestamp {
        to_millisecond(self.clock.now())
    }

    /// The classification rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    pub fn dossier(&self, code: &str) -> Result<Dossier> {
        self.store
            .dossier(code)?
            .ok_or_else(|| Error::NotFound(code.to_string()))
    }

    /// The dossier's audit entries, oldest first.
    pub fn history(&self, code: &str) -> Result<Vec<audit::Entry>> {
        self.dossier(code)?;
        Ok(self.store.history(code)?)
    }

    /// The actions `actor` may take on the dossier now.
    pub fn available_actions(&self, code: &str, actor: &Actor) -> Result<Vec<Availability>> {
        let d = self.dossier(code)?;
        self.available_actions_of(&d, actor)
    }

    /// [`Engine::available_actions`] on a dossier the caller already holds (the one `act`
    /// returned), without reading it again.
    pub fn available_actions_of(&self, d: &Dossier, actor: &Actor) -> Result<Vec<Availability>> {
        let p = self.pinned(d)?;
        let none = |_: &str| -> Option<Arc<Definition>> { None };
        let env = Env::new(self.calendar.as_ref(), &none, self.now()).with_rules(&self.rules);
        Ok(transition::available(&p, d, actor, &env))
    }

    /// Dossiers matching `query`, at most `limit`, continuing after the cursor `after` that
    /// the previous page returned.
    pub fn list(&self, query: &Query, after: Option<&str>, limit: usize) -> Result<Listing> {
        let page = self.store.list(query, after, limit)?;
        let mut dossiers = Vec::with_capacity(page.codes.len());
        for code in page.codes {
            if let Some(d) = self.store.dossier(&code)? {
                dossiers.push(d);
            }
        }
        Ok(Listing {
            dossiers,
            next: page.next,
            truncated: page.truncated,
        })
    }

    /// The store, to read: dossiers, history, the audit log, lists, timers, the outbox.
    /// Writing goes through [`Engine::submit`] and [`Engine::act`] only, so every stored change
    /// is a checked transition with its audit entry.
    ///
    /// ```compile_fail
    /// # fn forge(engine: &motcua::Engine, t: motcua::dossier::transition::Transition) {
    /// // A `Reader` has no `commit`: nothing but a checked step reaches the audit log.
    /// engine.store().commit(t);
    /// # }
    /// ```
    /// Writes a backup of the store as it is at one instant, while commits go on.
    pub fn backup(
        &self,
        out: &mut dyn std::io::Write,
    ) -> std::result::Result<crate::store::backup::Summary, crate::store::backup::Error> {
        self.store.backup(out)
    }

    /// Plugin calls made and failed since the engine started (zeros in a build without plugins).
    pub fn plugin_calls(&self) -> (u64, u64) {
        self.runner.call_counts()
    }

    /// The lease of a mark (see [`store::Shared::lease`]): on a store several nodes share,
    /// `None` while another node holds it.
    #[allow(clippy::type_complexity)]
    pub fn lease_mark(
        &self,
        name: &str,
    ) -> Result<Option<(Box<dyn store::Lease>, Option<Vec<u8>>)>> {
        Ok(store::lease(self.store.as_ref(), name)?)
    }

    /// Bookkeeping outside the chain (webhook cursors, uploaded procedure sources).
    pub fn marks(&self) -> &dyn store::Marks {
        &*self.store
    }

    pub fn store(&self) -> &dyn Reader {
        &*self.store
    }
    /// The working-day calendar the engine decides on.
    pub fn calendar(&self) -> &Arc<dyn WorkingCalendar> {
        &self.calendar
    }

    pub fn clock(&self) -> &Arc<dyn TimeSource> {
        &self.clock
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}
