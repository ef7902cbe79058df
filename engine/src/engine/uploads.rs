//! Procedure versions uploaded at run time (an author's `PUT /v1/procedures/{id}`, the author's
//! screen): kept in the store as marks, so every engine sharing the store runs the same
//! catalogue. The engine, not the HTTP layer, keeps its catalogue in step: an unknown
//! procedure is looked up among the stored uploads before it is refused, and
//! [`Engine::refresh_uploads`] loads what other nodes uploaded since.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Engine, Error, Result};
use crate::catalog::Compiled;

/// The marks holding uploaded sources: `procedure/<id>/<sha256>`.
pub const MARK_PREFIX: &str = "procedure/";

impl Engine {
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
        self.load_uploads(false)
    }

    /// Loads the uploads this engine does not hold yet (another node's). Returns how many.
    pub fn refresh_uploads(&self) -> Result<usize> {
        self.load_uploads(true)
    }

    fn upload_origin(&self, id: &str) -> String {
        let dir: PathBuf = self
            .uploads_dir
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        dir.join(format!("{id}.yaml")).display().to_string()
    }

    fn load_uploads(&self, only_new: bool) -> Result<usize> {
        let mut sources = vec![];
        self.marks().marks(MARK_PREFIX, &mut |name, value| {
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
