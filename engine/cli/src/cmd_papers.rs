//! `motcua documents`: the papers' files. `gc` removes the files no `attach` entry names
//! (uploads refused or abandoned) once they are older than the grace period, and what
//! uploads cut short left behind. The running server does the same every hour; this is for
//! a store at rest (sled: the server stopped) or a PostgreSQL store any time.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum Command {
    /// Remove files no audit entry names, older than --grace.
    Gc(GcArgs),
}

#[derive(Args)]
pub struct GcArgs {
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// A PostgreSQL store (postgres://…) instead of the sled store in --data.
    #[arg(long)]
    pub store: Option<String>,
    /// How old an unreferenced file must be (a file kept but not yet attached is younger):
    /// `90s`, `30m`, `24h`.
    #[arg(long, default_value = "24h", value_parser = grace)]
    pub grace: std::time::Duration,
}

fn grace(text: &str) -> Result<std::time::Duration, String> {
    let (n, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let bad = || format!("'{text}' is not like 90s, 30m or 24h");
    let n: u64 = n.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" | "" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => None,
    }
    .ok_or_else(bad)?;
    Ok(std::time::Duration::from_secs(seconds))
}

pub fn run(c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::Gc(a) => gc(a),
    }
}

fn gc(a: GcArgs) -> anyhow::Result<ExitCode> {
    let failed = |e: motcua::store::Error| {
        let e = motcua::Error::from(e);
        anyhow::anyhow!("error[{}]: {e}", e.code())
    };
    let collected = match a.store.as_deref() {
        // A shared store keeps receiving uploads while this runs: a file kept minutes ago may
        // be on its way to its attach.
        Some(_) if a.grace < std::time::Duration::from_secs(600) => {
            anyhow::bail!("--grace must be at least 10m on a PostgreSQL store that nodes use")
        }
        Some(url) => {
            let reader = super::cmd_audit::open_reading(&a.data, Some(url))?;
            let files = motcua::store::pg::PgFiles::open(url).map_err(failed)?;
            motcua::audit::papers::collect(&*reader, &files, a.grace).map_err(failed)?
        }
        None => {
            let reader = super::cmd_audit::open_reading(&a.data, None)?;
            let files = motcua::store::files::DirFiles::existing(a.data.join("papers"));
            motcua::audit::papers::collect(&*reader, &files, a.grace).map_err(failed)?
        }
    };
    println!(
        "removed {} unreferenced files, {} unfinished uploads",
        collected.removed.len(),
        collected.uploads_swept
    );
    for sha in &collected.removed {
        println!("  {sha}");
    }
    Ok(ExitCode::SUCCESS)
}
