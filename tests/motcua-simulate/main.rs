//! The simulator's tests: against queueing theory, not against itself (`queueing`), and as
//! an author would use it (`scenarios`). Fixtures are procedures and scenarios in
//! tests/fixtures/simulate.

mod queueing;
mod scenarios;

use std::path::{Path, PathBuf};

use motcua_simulate::{Outcome, Plan, Scenario, plan};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/simulate")
}

/// The plan of scenario text whose procedure paths are relative to the fixtures folder.
pub fn plan_of(text: &str) -> Result<Plan, String> {
    let base = fixtures();
    let scenario = Scenario::parse(text, &base.join("scenario.yaml")).map_err(|e| e.to_string())?;
    let files = plan::procedure_files(&scenario, &base).map_err(|e| e.to_string())?;
    let definitions = plan::load_catalogue(&files).map_err(|e| e.to_string())?;
    Plan::new(&scenario, definitions).map_err(|e| e.to_string())
}

pub fn simulate(text: &str) -> Outcome {
    let plan = plan_of(text).unwrap_or_else(|e| panic!("the scenario does not plan: {e}"));
    motcua_simulate::simulate(&plan)
}
