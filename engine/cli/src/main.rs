//! The `motcua` command. Each subcommand lives in its own module; this file only dispatches.
//! Exit codes: 0 success, 1 the input has errors (e.g. a procedure with diagnostics), 2 usage or
//! I/O problems.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// The store's writer allocates for every sled write and the engine runs many threads; glibc's
// malloc was about a quarter of the throughput profile, mimalloc much less.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cmd_audit;
mod cmd_audit_read;
mod cmd_backup;
mod cmd_calendar;
mod cmd_dossier;
mod cmd_papers;
mod cmd_procedure;
mod cmd_report;
mod cmd_serve;
mod cmd_simulate;
mod cmd_simulate_calibrate;

#[derive(Parser)]
#[command(name = "motcua", version, about = "One-stop-shop procedure engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check procedure files and report every problem with file:line:col.
    Validate(cmd_procedure::ValidateArgs),
    /// Print the JSON Schema of procedure files.
    Schema(cmd_procedure::SchemaArgs),
    /// Draw a procedure's graph as Mermaid or Graphviz dot.
    Graph(cmd_procedure::GraphArgs),
    /// Working-day calendar: lunar dates, holidays, deadline arithmetic.
    #[command(subcommand)]
    Calendar(cmd_calendar::Command),
    /// Dossiers in a data folder: submit, act, show, history, actions, list, audit-verify.
    Dossier {
        #[command(flatten)]
        engine: cmd_dossier::EngineArgs,
        #[command(subcommand)]
        command: cmd_dossier::Command,
    },
    /// Create an empty store in a data folder.
    Init(cmd_dossier::InitArgs),
    /// Receive every sample procedure's example dossier and walk it to its result.
    Demo(cmd_dossier::EngineArgs),
    /// Bring a store written by an older motcua to this version's layout (re-seals the audit
    /// chain; the old head is recorded in the first new entry).
    Migrate {
        #[arg(long, default_value = "data")]
        data: std::path::PathBuf,
        /// Apply the PostgreSQL store's schema migrations (postgres://…) instead.
        #[arg(long)]
        store: Option<String>,
    },
    /// The papers' files: gc (remove files no audit entry names, after a grace period).
    #[command(subcommand)]
    Documents(cmd_papers::Command),
    /// Write a backup of a store (sled at rest, a running server's, or PostgreSQL) to one checksummed file
    Backup(cmd_backup::BackupArgs),
    /// Restore a backup into an empty data folder or database (of either kind), checked first
    Restore(cmd_backup::RestoreArgs),
    /// The audit log: verify, keygen, checkpoint, list, export, slip.
    #[command(subcommand)]
    Audit(cmd_audit::Command),
    /// The HTTP/JSON API (OpenAPI at /openapi.json) with the deadline scheduler and webhooks.
    Serve(cmd_serve::ServeArgs),
    /// Print the OpenAPI description of the HTTP API.
    Openapi,
    /// Forecast a catalogue under a scenario's load (on-time rate, waits, utilisation), compare
    /// it with a proposed one, or calibrate a scenario from the audit log.
    Simulate(cmd_simulate::SimulateArgs),
    /// Service reports over a data folder: on-time (Decision 766).
    #[command(subcommand)]
    Report(cmd_report::Command),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // Warnings and refusals of the libraries (rate-bounded where a client can provoke them),
    // one JSON line each on stderr for a log collector; stdout stays the command's output.
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .try_init();
    let result = match cli.command {
        Command::Validate(a) => cmd_procedure::validate(a),
        Command::Schema(a) => cmd_procedure::schema(a),
        Command::Graph(a) => cmd_procedure::graph(a),
        Command::Calendar(c) => cmd_calendar::run(c),
        Command::Dossier { engine, command } => cmd_dossier::run(engine, command),
        Command::Init(a) => cmd_dossier::init(a),
        Command::Demo(engine) => cmd_dossier::demo(engine),
        Command::Report(c) => cmd_report::run(c),
        Command::Audit(c) => cmd_audit::run(c),
        Command::Documents(c) => cmd_papers::run(c),
        Command::Backup(a) => cmd_backup::backup(a),
        Command::Restore(a) => cmd_backup::restore(a),
        Command::Migrate { data, store } => cmd_audit::migrate(&data, store.as_deref()),
        Command::Serve(a) => cmd_serve::serve(a),
        Command::Simulate(a) => cmd_simulate::run(a),
        Command::Openapi => {
            print!("{}", motcua_server::openapi::json());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("motcua: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
