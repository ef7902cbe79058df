//! `motcua report on-time`: the service report of Decision 766 over a data folder, read from
//! the per-day counters the store keeps (see `motcua::report` for what each figure counts).
//! `table` is for the terminal, `json` for programs (every figure exact); `csv` and `xlsx` are
//! for Excel (`motcua::sheet`: Vietnamese headers, rows named from the procedures the store
//! keeps, percentages with a decimal comma), written to stdout.

use std::io::Write;

use std::path::PathBuf;
use std::process::ExitCode;

use jiff::civil::Date;
use motcua::report::{self, By, Format, Query};
use motcua::sheet::{self, Names};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Received, ended early / on time / late, open (not due, overdue), paused, share online,
    /// average working days and the on-time rate over a period of local days.
    OnTime(OnTimeArgs),
}

#[derive(clap::Args)]
pub struct OnTimeArgs {
    /// The data folder (a store created by `motcua init` or the dossier commands).
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// A PostgreSQL store (postgres://user@host:port/db) instead of the sled store in --data.
    #[arg(long)]
    pub store: Option<String>,
    /// The first day of the period (YYYY-MM-DD, local day in Vietnam).
    #[arg(long)]
    pub from: Date,
    /// The last day of the period, included.
    #[arg(long)]
    pub to: Date,
    /// One row per agency, department, procedure or channel.
    #[arg(long, value_enum)]
    pub by: ByArg,
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
}

// The library has no clap: these mirror its enums for the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ByArg {
    Agency,
    Department,
    Procedure,
    Channel,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Table,
    Csv,
    Xlsx,
    Json,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::OnTime(args) => on_time(args),
    }
}

fn on_time(args: OnTimeArgs) -> anyhow::Result<ExitCode> {
    let by = match args.by {
        ByArg::Agency => By::Agency,
        ByArg::Department => By::Department,
        ByArg::Procedure => By::Procedure,
        ByArg::Channel => By::Channel,
    };
    let query = Query {
        from: args.from,
        to: args.to,
        by,
    };
    if query.from > query.to {
        anyhow::bail!("--from {} is after --to {}", query.from, query.to);
    }
    // A report only reads: nothing to sync, and a mistyped folder is an error naming it.
    let store = crate::cmd_audit::open_reading(&args.data, args.store.as_deref())?;
    let report = report::on_time(&*store, &query)?;
    let bytes = match args.format {
        FormatArg::Table => report.render(Format::Table)?.into_bytes(),
        FormatArg::Json => report.render(Format::Json)?.into_bytes(),
        FormatArg::Csv => {
            sheet::csv::write(&sheet::report::sheet(&report, &Names::from_store(&*store)?))
        }
        FormatArg::Xlsx => {
            sheet::xlsx::write(&sheet::report::sheet(&report, &Names::from_store(&*store)?))?
        }
    };
    let mut out = std::io::stdout().lock();
    out.write_all(&bytes)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
