//! Procedures: the YAML model, loading with diagnostics, checks and diagrams.
//!
//! The usual entry is [`load_and_check_file`]: it reads one file and returns the procedure (if it
//! is well-typed) with every diagnostic, syntax, type and semantic, sorted by position.

pub mod check;
pub mod diagnostic;
pub mod load;
pub mod model;
pub mod papers;
pub mod render;
pub mod source_map;

use std::collections::{BTreeSet, HashSet};
use std::io;
use std::path::{Path, PathBuf};

pub use check::{NoPlugins, PluginInspector, check, check_links, check_with};
pub use diagnostic::{Code, Diagnostic, Pos, Severity};
pub use load::{
    Loaded, MAX_PLUGIN_BYTES, content_hash, load_bytes, load_file, load_str, read_plugin_file,
    read_source,
};
pub use model::*;
pub use papers::{PaperPolicy, Validity};
pub use source_map::SourceMap;

/// Loads `path` and, when it deserialized, runs every check on it. Only I/O failures are
/// errors; problems in the file are diagnostics (see [`Loaded::has_errors`]).
pub fn load_and_check_file(path: &Path) -> io::Result<Loaded> {
    let mut loaded = load_file(path)?;
    run_checks(&mut loaded, &NoPlugins);
    Ok(loaded)
}

/// Loads and checks several files as one catalogue, in the given order. Besides each file's
/// own checks, every linked child procedure (`starts:`) must be one of the files or sit next
/// to its parent as `<id>.yaml` / `<id>.yml` (E018). Plugins are inspected by `plugins`
/// (`motcua::procedure::load_and_check_files` passes the WASM inspector).
pub fn load_and_check_files_with(
    paths: &[PathBuf],
    plugins: &dyn PluginInspector,
) -> io::Result<Vec<Loaded>> {
    let mut all = Vec::with_capacity(paths.len());
    for path in paths {
        all.push(load_file(path)?);
    }
    let linking = all.iter().filter(|l| {
        l.procedure
            .as_ref()
            .is_some_and(|p| p.states.iter().any(|s| !s.starts.is_empty()))
    });
    let mut folders: BTreeSet<PathBuf> = BTreeSet::new();
    for l in linking {
        let dir = l.file.parent().map_or_else(PathBuf::new, Path::to_path_buf);
        folders.insert(dir);
    }
    let mut known = HashSet::new();
    for dir in &folders {
        known.extend(load::procedure_files_in(dir)?);
    }
    check_catalogue(&mut all, plugins, &known);
    Ok(all)
}

/// **The validation pipeline**: every check `motcua validate` runs, on a batch of loaded files.
/// `motcua validate`, `Engine::load_procedure*` (and so the server's upload) all go through
/// it, so the engine never runs a definition the validator refuses.
///
/// Runs the semantic checks and `plugins`' own on each file, then checks that every linked
/// child procedure (`starts:`) is one of the batch or among `known` (E018), and sorts each
/// file's diagnostics. Pure except for what `plugins` reads.
pub fn check_catalogue(
    batch: &mut [Loaded],
    plugins: &dyn PluginInspector,
    known: &HashSet<String>,
) {
    for loaded in batch.iter_mut() {
        run_checks(loaded, plugins);
    }
    let mut known = known.clone();
    known.extend(
        batch
            .iter()
            .filter_map(|l| l.procedure.as_ref().map(|p| p.id.clone())),
    );
    for l in batch.iter_mut() {
        if let Some(p) = &l.procedure {
            let found = check_links(p, &l.source_map, &l.file, &known);
            if !found.is_empty() {
                l.diagnostics.extend(found);
                l.sort();
            }
        }
    }
}

/// [`load_and_check_file`] for text already in memory; `file` names it in diagnostics. Like
/// [`load_and_check_file`] it checks one file alone, without plugins or linked procedures; a
/// catalogue goes through [`check_catalogue`].
pub fn load_and_check_str(text: &str, file: impl Into<PathBuf>) -> Loaded {
    let mut loaded = load_str(text, file);
    run_checks(&mut loaded, &NoPlugins);
    loaded
}

/// Runs the semantic checks (and `plugins`' own) on an already loaded file, then sorts its
/// diagnostics. Does nothing beyond sorting when the file did not deserialize.
pub fn run_checks(loaded: &mut Loaded, plugins: &dyn PluginInspector) {
    if let Some(procedure) = &loaded.procedure {
        let found = check_with(procedure, &loaded.source_map, &loaded.file, plugins);
        loaded.diagnostics.extend(found);
    }
    loaded.sort();
}

/// The JSON Schema of procedure files, as `motcua schema` prints it and
/// `schemas/procedure.schema.json` holds it: pretty JSON ending in a newline.
pub fn json_schema_text() -> String {
    let schema = schemars::schema_for!(Procedure);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
