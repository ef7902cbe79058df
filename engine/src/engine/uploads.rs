//! Procedure versions uploaded at run time (an author's `PUT /v1/procedures/{id}`, the author's
//! screen): kept in the store as marks, so every engine sharing the store runs the same
//! catalogue. The engine, not the HTTP layer, keeps its catalogue in step:
//! - a submission on a shared store first loads the stored uploads of its procedure this
//!   engine lacks, so a version uploaded on another node is used by the next request;
//! - the store tells the engine of other nodes' uploads ([`crate::store::Shared::on_remote_mark`],
//!   PostgreSQL's `NOTIFY`), and the procedure listings load them before answering;
//! - a notification can be missed (a dropped connection), so the listings also look at the
//!   stored uploads once per [`crate::store::Shared::poll_interval`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::{Engine, Error, Result};
use crate::catalog::Compiled;

/// The marks holding uploaded sources: `procedure/<id>/<sha256>`.
pub const MARK_PREFIX: &str = "procedure/";

/// Whether the catalogue may lack other nodes' uploads.
#[derive(Debug, Default)]
pub(crate) struct Freshness {
    told: AtomicBool,
    last_look: Mutex<Option<Instant>>,
}

impl Freshness {
    /// The store says another node set mark `name`.
    pub(crate) fn told(&self, name: &str) {
        if name.starts_with(MARK_PREFIX) {
            self.told.store(true, Ordering::SeqCst);
        }
    }

    /// Whether to look at the stored uploads now: told of one, or not looked for `every`.
    fn due(&self, every: std::time::Duration) -> bool {
        let told = self.told.swap(false, Ordering::SeqCst);
        let mut last = self.last_look.lock().unwrap_or_else(|p| p.into_inner());
        if told || last.is_none_or(|t| t.elapsed() >= every) {
            *last = Some(Instant::now());
            return true;
        }
        false
    }
}

impl Engine {
    /// On a shared store, loads the uploads other nodes made that this engine was told of
    /// (or has not looked for in a poll interval). A failure is logged and looked at again
    /// next time: the listing answers with what the catalogue holds.
    pub(crate) fn catch_up_uploads(&self) {
        let Some(shared) = self.store.shared() else {
            return;
        };
        if !self.uploads.due(shared.poll_interval()) {
            return;
        }
        if let Err(e) = self.refresh_uploads() {
            tracing::warn!("loading procedure versions uploaded on another node: {e}");
            self.uploads.told.store(true, Ordering::SeqCst);
        }
    }

    /// Loads the stored uploads of procedure `id` this engine lacks. Returns how many.
    pub(crate) fn load_uploads_of(&self, id: &str) -> Result<usize> {
        self.load_uploads(&format!("{MARK_PREFIX}{id}/"), true)
    }

    /// Loads an uploaded procedure source through the validation pipeline and stores it, so
    /// every node (and this one after a restart) loads the same version. The procedure is
    /// named as if it were `<dir>/<id>.yaml` of the uploads folder ([`Engine::set_uploads_dir`]).
    pub fn upload_procedure(&self, id: &str, source: String) -> Result<Arc<Compiled>> {
        let origin = self.upload_origin(id);
        let compiled = self.load_procedure(&origin, source.clone())?;
        let name = format!("{MARK_PREFIX}{id}/{}", compiled.hash);
        self.marks()
            .set_mark(&name, Some(source.as_bytes()))
            .map_err(Error::from)?;
        Ok(compiled)
    }

    /// Where uploaded procedures are said to live (their plugin files are read relative to
    /// it): the procedures folder the server was started with.
    pub fn set_uploads_dir(&self, dir: &Path) {
        *self.uploads_dir.write().unwrap_or_else(|p| p.into_inner()) = dir.to_path_buf();
    }

    /// Loads every stored upload (at start, after the procedures folder). Returns how many.
    pub fn restore_uploads(&self) -> Result<usize> {
        self.load_uploads(MARK_PREFIX, false)
    }

    /// Loads the uploads this engine does not hold yet (another node's). Returns how many.
    pub fn refresh_uploads(&self) -> Result<usize> {
        self.load_uploads(MARK_PREFIX, true)
    }

    fn upload_origin(&self, id: &str) -> String {
        let dir: PathBuf = self
            .uploads_dir
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        dir.join(format!("{id}.yaml")).display().to_string()
    }

    fn load_uploads(&self, prefix: &str, only_new: bool) -> Result<usize> {
        let mut sources = vec![];
        self.marks().marks(prefix, &mut |name, value| {
            let known = name
                .rsplit('/')
                .next()
                .is_some_and(|hash| self.knows_version(hash));
            if !(only_new && known) {
                sources.push((
                    name.to_string(),
                    String::from_utf8_lossy(value).into_owned(),
                ));
            }
            true
        })?;
        for (name, source) in &sources {
            let id = name
                .strip_prefix(MARK_PREFIX)
                .and_then(|rest| rest.split('/').next())
                .unwrap_or("uploaded");
            self.load_procedure(&self.upload_origin(id), source.clone())?;
        }
        Ok(sources.len())
    }
}
