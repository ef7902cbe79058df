//! `motcua audit list | export | slip`: reading the log.
//!
//! `list` prints one entry per line as JSON on stdout, so it pipes into `jq`; when more pages
//! remain it prints `next: CURSOR` on stderr, to pass as `--after` for the next page. `export`
//! writes the whole selection to stdout and `exported: N entries` on stderr. Refusals (a bad
//! cursor, an unknown dossier) exit 1 with `error[code]: …`, like the dossier commands.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use jiff::Timestamp;
use motcua::audit::{export, query, slip};

use crate::cmd_audit::open_reading;

#[derive(clap::Subcommand)]
pub enum Command {
    /// List audit entries matching every filter given, oldest first, a page at a time: one
    /// JSON entry per line on stdout, then `next: CURSOR` on stderr if more may remain. A page
    /// reads a bounded part of the log, so a narrow filter over a long log may print a short
    /// or empty page with a `next:`: go on while one is printed.
    List(ListArgs),
    /// Stream every matching entry to stdout: jsonl (the stored lines byte for byte; whole,
    /// sha256 of each line is the next line's `prev`), csv (RFC 4180 for Excel: a UTF-8
    /// byte-order mark, Vietnamese headers, local times, names) or xlsx (an Excel workbook,
    /// at most 100,000 entries).
    Export(ExportArgs),
    /// The process-control slip (phiếu kiểm soát quá trình, form 06) of one dossier: every
    /// handover with giver, receiver, minute, the step's budget and whether it ended early,
    /// on time or late.
    Slip(SlipArgs),
}

#[derive(clap::Args)]
pub struct FilterArgs {
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// A PostgreSQL store (postgres://user@host:port/db) instead of the sled store in --data.
    #[arg(long)]
    pub store: Option<String>,
    /// The dossier's code: its full history.
    #[arg(long)]
    pub dossier: Option<String>,
    /// The actor's id (`system` for the engine's own steps).
    #[arg(long)]
    pub actor: Option<String>,
    /// One of the acting officer's departments.
    #[arg(long)]
    pub department: Option<String>,
    /// The procedure's id.
    #[arg(long)]
    pub procedure: Option<String>,
    /// `submit`, an action id, or `system:<what>`.
    #[arg(long)]
    pub action: Option<String>,
    /// From this instant (RFC 3339), or from the start of this local day (YYYY-MM-DD);
    /// inclusive.
    #[arg(long)]
    pub from: Option<String>,
    /// Before this instant (RFC 3339, exclusive), or through the end of this local day
    /// (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// The cursor a previous page printed as `next:`.
    #[arg(long)]
    pub after: Option<String>,
    /// Entries per page (at most 1000).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
    Xlsx,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    #[arg(long, value_enum)]
    pub format: ExportFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SlipFormat {
    Table,
    Json,
}

#[derive(clap::Args)]
pub struct SlipArgs {
    pub code: String,
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// A PostgreSQL store (postgres://user@host:port/db) instead of the sled store in --data.
    #[arg(long)]
    pub store: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: SlipFormat,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List(a) => list(a),
        Command::Export(a) => export(a),
        Command::Slip(a) => slip(a),
    }
}

fn list(a: ListArgs) -> anyhow::Result<ExitCode> {
    let filter = filter_of(&a.filter)?;
    let store = open_reading(&a.filter.data, a.filter.store.as_deref())?;
    let page = match query::list(&*store, &filter, a.after.as_deref(), a.limit) {
        Ok(p) => p,
        Err(e) => return refused(motcua::Error::from(e)),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for e in &page.entries {
        serde_json::to_writer(&mut out, e)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    if let Some(next) = &page.next {
        eprintln!("next: {next}");
    }
    Ok(ExitCode::SUCCESS)
}

fn export(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let filter = filter_of(&a.filter)?;
    let store = open_reading(&a.filter.data, a.filter.store.as_deref())?;
    let format = match a.format {
        ExportFormat::Jsonl => export::Format::Jsonl,
        ExportFormat::Csv => export::Format::Csv,
        ExportFormat::Xlsx => export::Format::Xlsx,
    };
    // Only the people formats print names; the stored procedures hold them.
    let names = match format {
        export::Format::Jsonl => motcua::sheet::Names::default(),
        _ => match motcua::sheet::Names::from_store(&*store) {
            Ok(n) => n,
            Err(e) => return refused(motcua::Error::from(e)),
        },
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match export::export(&*store, &filter, format, &names, &mut out) {
        Ok(n) => {
            eprintln!("exported: {n} entries");
            Ok(ExitCode::SUCCESS)
        }
        Err(export::Error::Store(e)) => refused(motcua::Error::from(e)),
        Err(e) => Err(e.into()),
    }
}

fn slip(a: SlipArgs) -> anyhow::Result<ExitCode> {
    let store = open_reading(&a.data, a.store.as_deref())?;
    let slip = match slip::for_dossier(&*store, &a.code) {
        Ok(s) => s,
        Err(slip::Error::Store(e)) => return refused(motcua::Error::from(e)),
        Err(e @ slip::Error::NotFound(_)) => {
            eprintln!("error[not_found]: {e}");
            return Ok(ExitCode::from(1));
        }
        Err(e @ slip::Error::PinnedVersionMissing { .. }) => {
            eprintln!("error[pinned_version_missing]: {e}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => {
            eprintln!("error[procedure_defect]: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    match a.format {
        SlipFormat::Table => print!("{}", slip.table()),
        SlipFormat::Json => println!("{}", serde_json::to_string_pretty(&slip)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// A refusal or a storage failure, with its stable code: exit 1, like the dossier commands.
fn refused(e: motcua::Error) -> anyhow::Result<ExitCode> {
    eprintln!("error[{}]: {e}", e.code());
    Ok(ExitCode::from(1))
}

fn filter_of(a: &FilterArgs) -> anyhow::Result<query::Filter> {
    Ok(query::Filter {
        dossier: a.dossier.clone(),
        actor: a.actor.clone(),
        department: a.department.clone(),
        procedure: a.procedure.clone(),
        action: a.action.clone(),
        from: a.from.as_deref().map(|s| instant(s, false)).transpose()?,
        to: a.to.as_deref().map(|s| instant(s, true)).transpose()?,
    })
}

/// An RFC 3339 instant, or a local day: its start, or (`end`) the start of the next, so that
/// `--from D --to D` is the whole day D.
fn instant(s: &str, end: bool) -> anyhow::Result<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let day: jiff::civil::Date = s
        .parse()
        .with_context(|| format!("'{s}' is neither an RFC 3339 instant nor a date YYYY-MM-DD"))?;
    let day = if end { day.tomorrow()? } else { day };
    Ok(day.in_tz("Asia/Ho_Chi_Minh")?.timestamp())
}
