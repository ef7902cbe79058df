//! The catalogue a scenario runs: its procedure files, loaded, checked and compiled.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use motcua_core::dossier::definition::Definition;

use super::PlanError;
use crate::scenario::{Procedures, Scenario};

/// The procedures a scenario names, resolved against the scenario file's folder.
pub fn procedure_files(scenario: &Scenario, base: &Path) -> std::io::Result<Vec<PathBuf>> {
    match &scenario.procedures {
        Procedures::Files(files) => Ok(files.iter().map(|f| base.join(f)).collect()),
        Procedures::Folder(dir) => {
            let dir = base.join(dir);
            if dir.is_file() {
                return Ok(vec![dir]);
            }
            let mut files = vec![];
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    files.push(path);
                }
            }
            files.sort();
            Ok(files)
        }
    }
}

/// Loads and checks procedure files as one catalogue (no plugin is inspected or run) and
/// compiles them for the pure step.
pub fn load_catalogue(files: &[PathBuf]) -> Result<Vec<Arc<Definition>>, PlanError> {
    let loaded = motcua_core::procedure::load_and_check_files_with(
        files,
        &motcua_core::procedure::NoPlugins,
    )
    .map_err(|e| PlanError::Procedures(e.to_string()))?;
    let mut problems = vec![];
    let mut out = vec![];
    for l in loaded {
        if l.has_errors() {
            problems.extend(
                l.diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| d.to_string()),
            );
            continue;
        }
        let Some(procedure) = l.procedure else {
            continue;
        };
        let source = std::fs::read_to_string(&l.file).unwrap_or_default();
        // The plugins' bytes are not run here, but a store the simulation records into
        // keeps them with the versions it pins, as the engine's would.
        let dir = l.file.parent().map(Path::to_path_buf).unwrap_or_default();
        let blobs = procedure
            .plugins
            .iter()
            .filter_map(|r| {
                let bytes = motcua_core::procedure::read_plugin_file(&dir.join(&r.file)).ok()?;
                (motcua_core::procedure::content_hash(&bytes) == r.sha256)
                    .then(|| (r.sha256.clone(), Arc::new(bytes)))
            })
            .collect();
        match Definition::compile(procedure, l.content_hash, source, blobs) {
            Ok(d) => out.push(Arc::new(d)),
            Err(e) => problems.push(format!("{}: {e}", l.file.display())),
        }
    }
    if !problems.is_empty() {
        return Err(PlanError::Procedures(problems.join("\n")));
    }
    Ok(out)
}

/// The proposed catalogue: `current` with each version in `proposed` in place of the one
/// with its id, in the same position (any new procedure after them), so a what-if names only
/// what changes.
pub fn with_proposed(
    current: &[Arc<Definition>],
    proposed: Vec<Arc<Definition>>,
) -> Vec<Arc<Definition>> {
    let mut out: Vec<Arc<Definition>> = current.to_vec();
    for p in proposed {
        match out.iter_mut().find(|c| c.procedure.id == p.procedure.id) {
            Some(slot) => *slot = p,
            None => out.push(p),
        }
    }
    out
}
