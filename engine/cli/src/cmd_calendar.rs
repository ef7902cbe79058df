//! `motcua calendar ...`: an exact contract, scripts depend on its output.

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the Vietnamese lunar date of a solar date.
    Lunar { date: String },
}

pub fn run(_c: Command) -> anyhow::Result<ExitCode> {
    anyhow::bail!("calendar is not built yet")
}
