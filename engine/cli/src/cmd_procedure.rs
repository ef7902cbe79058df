//! `motcua validate`, `motcua schema`, `motcua graph`.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ValidateArgs {
    /// Procedure files, or folders searched recursively for .yaml/.yml.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

#[derive(clap::Args)]
pub struct SchemaArgs {}

#[derive(clap::Args)]
pub struct GraphArgs {
    pub file: PathBuf,
}

pub fn validate(_a: ValidateArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("validate is not built yet")
}
pub fn schema(_a: SchemaArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("schema is not built yet")
}
pub fn graph(_a: GraphArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("graph is not built yet")
}
