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

/// The marks holding uploaded sources: `procedure/<id>/<order>/<sha256>`, where `order`
/// (20 digits) is the upload's instant in Unix milliseconds, or one past the procedure's last
/// upload if that is later, so every node loads a procedure's uploads in the order they were
/// made and the last one wins a tie of `effective_from` everywhere. Names written before the
/// order existed (`procedure/<id>/<sha256>`) count as order 0.
pub const MARK_PREFIX: &str = "procedure/";

/// One stored upload, from its mark's name.
struct Upload {
    name: String,
    id: String,
    order: u64,
    hash: String,
}

impl Upload {
    fn of(name: &str) -> Option<Upload> {
        let rest = name.strip_prefix(MARK_PREFIX)?;
        let mut parts = rest.split('/');
        let id = parts.next()?.to_string();
        let (order, hash) = match (parts.next()?, parts.next(), parts.next()) {
            (hash, None, None) => (0, hash),
            (order, Some(hash), None) => (order.parse().ok()?, hash),
            _ => return None,
        };
        Some(Upload {
            name: name.to_string(),
            id,
            order,
            hash: hash.to_string(),
        })
    }
}

/// Whether the catalogue may lack other nodes' uploads, and which it holds.
#[derive(Debug, Default)]
pub(crate) struct Freshness {
    told: AtomicBool,
    last_look: Mutex<Option<Instant>>,
    /// The names of the upload marks this engine has loaded.
    loaded: Mutex<std::collections::HashSet<String>>,
}

impl Freshness {
    /// The store says another node set mark `name`.
    pub(crate) fn told(&self, name: &str) {
        if name.starts_with(MARK_PREFIX) {
            self.told.store(true, Ordering::SeqCst);
        }
    }

    fn remember(&self, name: &str) {
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string());
    }

    fn has(&self, name: &str) -> bool {
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(name)
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
        self.confine_plugins(&origin, &source)?;
        let compiled = self.load_procedure(&origin, source.clone())?;
        let prefix = format!("{MARK_PREFIX}{id}/");
        let mut last = 0;
        let mut earlier = vec![];
        self.marks().marks(&prefix, &mut |name, _| {
            if let Some(u) = Upload::of(name) {
                last = last.max(u.order);
                if u.hash == compiled.hash {
                    earlier.push(u.name);
                }
            }
            true
        })?;
        let now = u64::try_from(self.now().as_millisecond()).unwrap_or(0);
        let order = now.max(last + 1);
        let name = format!("{prefix}{order:020}/{}", compiled.hash);
        self.marks()
            .set_mark(&name, Some(source.as_bytes()))
            .map_err(Error::from)?;
        self.uploads.remember(&name);
        // The same source uploaded again is that version made the latest again: one mark.
        for old in earlier {
            self.marks().set_mark(&old, None).map_err(Error::from)?;
        }
        Ok(compiled)
    }

    /// Where uploaded procedures are said to live (their plugin files are read relative to
    /// it): the procedures folder the server was started with.
    pub fn set_uploads_dir(&self, dir: &Path) {
        *self.uploads_dir.write().unwrap_or_else(|p| p.into_inner()) = dir.to_path_buf();
    }

    /// Lets uploaded procedures read plugin files from `dir` too (besides the uploads folder):
    /// the server allows its plugins folder. Nothing outside these folders is read for an
    /// upload, however its `file:` is spelled.
    pub fn allow_plugin_dir(&self, dir: &Path) {
        self.plugin_dirs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(dir.to_path_buf());
    }

    /// Refuses an upload whose plugin files lie outside the folders uploads may read: the
    /// uploads folder and [`Engine::allow_plugin_dir`]'s. Checked on the path as written
    /// (`..` resolved without touching the disk, so a path outside says nothing of what is
    /// there) and again on the real path (a link inside a folder may point out of it). The
    /// one diagnostic, E060 at the `file:` value, names neither what was found nor why.
    fn confine_plugins(&self, origin: &str, source: &str) -> Result<()> {
        let loaded = crate::procedure::load_str(source, origin);
        let Some(procedure) = &loaded.procedure else {
            return Ok(()); // the pipeline reports what is wrong with it
        };
        let base = self
            .uploads_dir
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut roots = vec![base.clone()];
        roots.extend(
            self.plugin_dirs
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned(),
        );
        let roots: Vec<PathBuf> = roots.iter().map(|r| absolute(r)).collect();
        let mut diagnostics = vec![];
        for (i, plugin) in procedure.plugins.iter().enumerate() {
            let raw = base.join(&plugin.file);
            if !confined(&absolute(&raw), &raw, &roots) {
                diagnostics.push(
                    crate::procedure::Diagnostic::new(
                        crate::procedure::Code::PluginUnreadable,
                        origin,
                        loaded.source_map.value(&format!("/plugins/{i}/file")),
                        format!(
                            "plugin '{}': an uploaded procedure reads plugin files only from the procedures folder and the plugins folder",
                            plugin.id
                        ),
                    )
                    .with_hint("name the .wasm relative to the procedures folder, e.g. ../plugins/dist/cccd.wasm")
                    .with_arg("plugin", &plugin.id)
                    .with_arg("reason", "confined"),
                );
            }
        }
        if diagnostics.is_empty() {
            Ok(())
        } else {
            Err(Error::Catalog(crate::catalog::Error::Invalid {
                origin: origin.to_string(),
                diagnostics,
            }))
        }
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
        let mut found = vec![];
        self.marks().marks(prefix, &mut |name, value| {
            if let Some(u) = Upload::of(name)
                && !(only_new && self.uploads.has(&u.name))
            {
                found.push((u, String::from_utf8_lossy(value).into_owned()));
            }
            true
        })?;
        // In upload order: the last upload wins a tie, on every node.
        found.sort_by(|(a, _), (b, _)| (a.order, &a.name).cmp(&(b.order, &b.name)));
        for (u, source) in &found {
            let origin = self.upload_origin(&u.id);
            let loaded = self
                .confine_plugins(&origin, source)
                .and_then(|()| self.load_procedure(&origin, source.clone()));
            match loaded {
                Ok(_) => {}
                // Another node's upload this build refuses (a check it added, a plugin it
                // cannot compile) must not keep the others from loading, nor be retried on
                // every request; the start-up restore reports it instead.
                Err(e) if only_new => tracing::warn!("upload {} is not loaded: {e}", u.name),
                Err(e) => return Err(e),
            }
            self.uploads.remember(&u.name);
        }
        Ok(found.len())
    }
}

/// `path` made absolute (against the working folder) with `.` and `..` resolved by name only.
fn absolute(path: &Path) -> PathBuf {
    use std::path::Component;
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Whether a plugin file lies inside one of `roots`: first `by_name` (absolute, `..` resolved
/// by name: nothing on disk is asked about a path outside), then the real path of `raw`, the
/// path the loader opens (links followed as the OS follows them), which must exist.
fn confined(by_name: &Path, raw: &Path, roots: &[PathBuf]) -> bool {
    if !roots.iter().any(|r| by_name.starts_with(r)) {
        return false;
    }
    match std::fs::canonicalize(raw) {
        Err(_) => false,
        Ok(real) => roots
            .iter()
            .filter_map(|r| std::fs::canonicalize(r).ok())
            .any(|r| real.starts_with(r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_path_is_confined_by_name_before_the_disk_is_asked() {
        let dir = tempfile::tempdir().expect("tmp");
        let procedures = dir.path().join("procedures");
        let plugins = dir.path().join("plugins/dist");
        std::fs::create_dir_all(&procedures).expect("dir");
        std::fs::create_dir_all(&plugins).expect("dir");
        std::fs::write(plugins.join("cccd.wasm"), b"\0asm").expect("file");
        let roots = [absolute(&procedures), absolute(&plugins)];
        let ok = |file: &str| {
            let raw = procedures.join(file);
            confined(&absolute(&raw), &raw, &roots)
        };
        assert!(ok("../plugins/dist/cccd.wasm"));
        assert!(!ok("missing.wasm"), "nothing to read");
        assert!(!ok("/etc/hostname"));
        assert!(!ok("../../../../etc/hostname"));
        assert!(!ok("../plugins-other/x.wasm"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/hostname", procedures.join("link.wasm"))
                .expect("link");
            assert!(!ok("link.wasm"), "a link out of the folder");
            // By name `out/../hostname` is the procedures folder's; the OS reads /etc/hostname.
            std::os::unix::fs::symlink("/etc/ssl", procedures.join("out")).expect("link");
            std::fs::write(procedures.join("hostname"), b"x").expect("file");
            assert!(!ok("out/../hostname"), "a link to a folder, then ..");
            assert!(ok("hostname"));
        }
    }
}
