//! `motcua simulate`: forecast a catalogue under a scenario's load, compare it with a
//! proposed one, or write a scenario calibrated from a store's audit log.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use motcua::messages::simulate as words;
use motcua::simulate::{self, Plan, Scenario, plan};

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// The scenario file (schemas/scenario.schema.json).
    pub scenario: Option<PathBuf>,
    /// Print the report as JSON (field names in docs/simulate.md) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also run the proposed versions (a folder, or one procedure file), each in place of the
    /// current version with its id, on the same scenario and random streams, and report the
    /// difference.
    #[arg(long, value_name = "PROCEDURES")]
    pub compare: Option<PathBuf>,
    /// Run the first replication into a new sled store in this folder (every step committed
    /// as the engine would, at its simulated time): a workload of known parameters for
    /// calibration, training or a demonstration.
    #[arg(long, value_name = "DIR", conflicts_with = "compare")]
    pub record: Option<PathBuf>,
    /// Print the JSON Schema of scenario files.
    #[arg(long, conflicts_with_all = ["json", "compare", "calibrate"])]
    pub schema: bool,
    /// Write a scenario from a store's audit log instead of simulating.
    #[arg(long, requires = "from", requires = "to")]
    pub calibrate: bool,
    /// The agency's working-day calendar file (as `motcua serve --calendar`): a `national`
    /// scenario runs on it, and --calibrate counts working time on it. The built-in national
    /// calendar when absent.
    #[arg(long, value_name = "FILE")]
    pub calendar: Option<PathBuf>,
    /// The store's data folder (sled), for --calibrate.
    #[arg(long, conflicts_with = "store")]
    pub data: Option<PathBuf>,
    /// The PostgreSQL store (postgres://…), for --calibrate.
    #[arg(long)]
    pub store: Option<String>,
    /// The procedures the calibrated scenario runs (written into it as given).
    #[arg(long, default_value = "procedures")]
    pub procedures: String,
    /// First day of the calibration period (YYYY-MM-DD, local).
    #[arg(long)]
    pub from: Option<jiff::civil::Date>,
    /// Last day of the calibration period (inclusive).
    #[arg(long)]
    pub to: Option<jiff::civil::Date>,
}

/// The procedure files of a folder, or the one file given.
fn files_in(path: &std::path::Path) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let s = Scenario {
        procedures: simulate::scenario::Procedures::Folder(path.display().to_string()),
        ..crate::cmd_simulate_calibrate::placeholder()
    };
    plan::procedure_files(&s, std::path::Path::new(""))
        .with_context(|| format!("cannot list the procedures in '{}'", path.display()))
}

pub fn run(a: SimulateArgs) -> anyhow::Result<ExitCode> {
    if a.schema {
        print!("{}", simulate::scenario::json_schema_text());
        return Ok(ExitCode::SUCCESS);
    }
    if a.calibrate {
        return crate::cmd_simulate_calibrate::calibrate(&a);
    }
    let Some(path) = &a.scenario else {
        bail!("name a scenario file (or --schema, or --calibrate)");
    };
    let scenario = Scenario::read(path)?;
    let base = path.parent().map(PathBuf::from).unwrap_or_default();
    let files = plan::procedure_files(&scenario, &base).context("cannot list the procedures")?;
    let catalogue = plan::load_catalogue(&files)?;
    let national: std::sync::Arc<dyn motcua::deadline::WorkingCalendar> =
        std::sync::Arc::new(crate::cmd_calendar::load(a.calendar.as_deref())?);
    let current = Plan::on(&scenario, catalogue.clone(), Some(national.clone()))?;
    match &a.compare {
        None => {
            let outcome = match &a.record {
                Some(dir) => crate::cmd_simulate_calibrate::record(&current, dir)?,
                None => simulate::simulate(&current),
            };
            if a.json {
                println!("{}", serde_json::to_string_pretty(&outcome)?);
            } else {
                print!("{}", words::table(&outcome));
            }
        }
        Some(other) => {
            // The proposed versions take the place of the current ones with their ids.
            let changed = plan::load_catalogue(&files_in(other)?)?;
            let proposed = Plan::on(
                &scenario,
                plan::with_proposed(&catalogue, changed),
                Some(national),
            )?;
            let c = simulate::compare(&current, &proposed);
            if a.json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                print!("{}", words::comparison(&c));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
