//! The `motcua` command. Each subcommand lives in its own module; this file only dispatches.
//! Exit codes: 0 success, 1 the input has errors (e.g. a procedure with diagnostics), 2 usage or
//! I/O problems.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// The store's writer allocates for every sled write and the engine runs many threads; glibc's
// malloc was about a quarter of the throughput profile, mimalloc much less.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cmd_calendar;
mod cmd_dossier;
mod cmd_procedure;

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
    let result = match cli.command {
        Command::Validate(a) => cmd_procedure::validate(a),
        Command::Schema(a) => cmd_procedure::schema(a),
        Command::Graph(a) => cmd_procedure::graph(a),
        Command::Calendar(c) => cmd_calendar::run(c),
        Command::Dossier { engine, command } => cmd_dossier::run(engine, command),
        Command::Init(a) => cmd_dossier::init(a),
        Command::Demo(engine) => cmd_dossier::demo(engine),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("motcua: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
