//! `motcua validate`, `motcua schema`, `motcua graph`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use motcua::procedure::{self, Diagnostic, Loaded};

#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// `file:line:col: error[E011]: message` lines and a summary.
    #[default]
    Text,
    /// One JSON object with every diagnostic and the counts.
    Json,
}

#[derive(clap::Args)]
pub struct ValidateArgs {
    /// Procedure files, or folders searched recursively for .yaml/.yml.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Text lines for people and editors, or JSON for tools.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

#[derive(clap::Args)]
pub struct SchemaArgs {}

#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum GraphFormat {
    /// A Mermaid flowchart.
    #[default]
    Mermaid,
    /// A Graphviz digraph.
    Dot,
}

/// Draws the procedure even when it has semantic errors (they go to stderr and the exit code
/// is 1), since a picture often shows what is wrong; a file that does not parse draws nothing.
#[derive(clap::Args)]
pub struct GraphArgs {
    /// The procedure file.
    pub file: PathBuf,
    /// Mermaid (Markdown, the portal) or Graphviz dot.
    #[arg(long, value_enum, default_value_t)]
    pub format: GraphFormat,
}

pub fn validate(a: ValidateArgs) -> anyhow::Result<ExitCode> {
    let files = collect_files(&a.paths)?;
    let loaded: Vec<Loaded> =
        procedure::load_and_check_files(&files).context("cannot read the procedure files")?;
    let diagnostics: Vec<Diagnostic> = loaded.into_iter().flat_map(|l| l.diagnostics).collect();
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    match a.format {
        OutputFormat::Text => {
            for d in &diagnostics {
                println!("{d}");
            }
            println!(
                "checked {}: {}, {}{}",
                plural(files.len(), "file"),
                plural(errors, "error"),
                plural(warnings, "warning"),
                if a.deny_warnings && warnings > 0 {
                    " (warnings denied)"
                } else {
                    ""
                }
            );
        }
        OutputFormat::Json => {
            let report = serde_json::json!({
                "files": files.len(),
                "errors": errors,
                "warnings": warnings,
                "diagnostics": diagnostics,
            });
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
    }
    let failed = errors > 0 || (a.deny_warnings && warnings > 0);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Files as given, and the .yaml/.yml files under folders (recursively, sorted).
fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read '{}'", path.display()))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list '{}'", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list '{}'", dir.display()))?
            .path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

pub fn schema(_a: SchemaArgs) -> anyhow::Result<ExitCode> {
    print!("{}", procedure::json_schema_text());
    Ok(ExitCode::SUCCESS)
}

pub fn graph(a: GraphArgs) -> anyhow::Result<ExitCode> {
    let loaded = procedure::load_and_check_file(&a.file)
        .with_context(|| format!("cannot read '{}'", a.file.display()))?;
    for d in &loaded.diagnostics {
        eprintln!("{d}");
    }
    let Some(p) = &loaded.procedure else {
        eprintln!(
            "motcua: '{}' is not a well-formed procedure; fix the errors above first",
            a.file.display()
        );
        return Ok(ExitCode::from(1));
    };
    match a.format {
        GraphFormat::Mermaid => print!("{}", procedure::render::mermaid(p)),
        GraphFormat::Dot => print!("{}", procedure::render::dot(p)),
    }
    Ok(if loaded.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
