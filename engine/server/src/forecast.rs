//! Forecasts on the server (issue 30): the scenarios it knows (`--scenarios DIR`, read and
//! checked at start), the catalogue a forecast runs on (the engine's versions in force, or
//! those with a proposed version in place of its id), the bound on the work one request may
//! ask, and the waits observed in the store's own audit log. The screens (`web::forecast`)
//! and the API (`api::simulations`) share all of it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use motcua::dossier::definition::Definition;
use motcua::messages::simulate::refusal;
use motcua::simulate::{self, Plan, PlanError, Scenario, plan};

/// Dossiers (replications × expected arrivals) one forecast may simulate on the server; a
/// larger one is refused with [`refusal::too_big`] and belongs to `motcua simulate`.
pub const MAX_DOSSIERS: f64 = 200_000.0;
/// Audit entries the observed waits read at most (from a month before the period, a page at
/// a time).
pub const MAX_ENTRIES: u64 = 1_000_000;
const PAGE: usize = 10_000;

/// A scenario the server knows, by its file's name without `.yaml`.
#[derive(Debug, Clone)]
pub struct Named {
    pub name: String,
    pub scenario: Scenario,
    /// The ids of the procedures it runs, in its catalogue's order.
    pub procedures: Vec<String>,
    /// The procedures' names, for the screens' lists.
    pub procedure_names: Vec<String>,
}

/// The scenarios folder, read once at start.
#[derive(Debug, Clone, Default)]
pub struct Scenarios(pub Arc<Vec<Named>>);

impl Scenarios {
    pub fn get(&self, name: &str) -> Option<&Named> {
        self.0.iter().find(|n| n.name == name)
    }
}

/// Why the scenarios folder cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the scenarios folder {dir}: {source}")]
    Folder {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Read(#[from] simulate::scenario::ReadError),
    #[error("{file}: {source}")]
    Plan { file: PathBuf, source: PlanError },
    #[error("{file}: its procedures cannot be listed: {source}")]
    Procedures {
        file: PathBuf,
        source: std::io::Error,
    },
}

/// Reads every `*.yaml` scenario of `dir` and checks each against its own catalogue, as
/// `motcua simulate` would; any error refuses the server's start.
pub fn read_dir(dir: &Path) -> Result<Scenarios, Error> {
    let folder = |source| Error::Folder {
        dir: dir.to_path_buf(),
        source,
    };
    let mut files = vec![];
    for entry in std::fs::read_dir(dir).map_err(folder)? {
        let path = entry.map_err(folder)?.path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    let mut out = vec![];
    for file in files {
        let scenario = Scenario::read(&file)?;
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let listed =
            plan::procedure_files(&scenario, &base).map_err(|source| Error::Procedures {
                file: file.clone(),
                source,
            })?;
        let plan_error = |source| Error::Plan {
            file: file.clone(),
            source,
        };
        let definitions = plan::load_catalogue(&listed).map_err(plan_error)?;
        Plan::new(&scenario, definitions.clone()).map_err(plan_error)?;
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(Named {
            name,
            scenario,
            procedures: definitions.iter().map(|d| d.procedure.id.clone()).collect(),
            procedure_names: definitions
                .iter()
                .map(|d| d.procedure.name.clone())
                .collect(),
        });
    }
    Ok(Scenarios(Arc::new(out)))
}

/// A forecast the server will not run, for people (`detail`) and integrators (`cause`).
#[derive(Debug, Clone)]
pub struct Refused {
    pub detail: String,
    pub cause: String,
}

impl Refused {
    pub fn said(detail: String, cause: impl Into<String>) -> Refused {
        Refused {
            detail,
            cause: cause.into(),
        }
    }

    pub fn of_plan(e: &PlanError) -> Refused {
        let detail = match e {
            PlanError::Field { at, problem } => refusal::field(at, problem),
            PlanError::Procedures(_) => refusal::PROCEDURES.to_string(),
        };
        Refused::said(detail, e.to_string())
    }

    pub fn of_read(e: &simulate::scenario::ReadError) -> Refused {
        let detail = match e {
            simulate::scenario::ReadError::Yaml { line, col, .. } => {
                refusal::unreadable(*line, *col)
            }
            simulate::scenario::ReadError::Io { .. } => refusal::unreadable(1, 1),
        };
        Refused::said(detail, e.to_string())
    }
}

/// The ids an inline scenario runs: those its arrivals name, in order, once each.
pub fn ids_of(scenario: &Scenario) -> Vec<String> {
    let mut ids: Vec<String> = vec![];
    for a in &scenario.arrivals {
        if !ids.contains(&a.procedure) {
            ids.push(a.procedure.clone());
        }
    }
    ids
}

/// The engine's versions in force of `ids`, in that order.
pub fn in_force(engine: &motcua::Engine, ids: &[String]) -> Result<Vec<Arc<Definition>>, Refused> {
    ids.iter()
        .map(|id| {
            engine
                .procedure(id)
                .map(|c| c.definition.clone())
                .ok_or_else(|| {
                    Refused::said(
                        refusal::missing_procedure(id),
                        format!("no procedure '{id}' in force"),
                    )
                })
        })
        .collect()
}

/// A proposed version from its YAML source, checked as an upload is (no plugin run).
pub fn proposed(source: &str) -> Result<Arc<Definition>, Refused> {
    let loaded = motcua::procedure::load_and_check_str(source, "upload.yaml");
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    let procedure = match loaded.procedure {
        Some(p) if errors.is_empty() => p,
        _ => {
            return Err(Refused::said(
                refusal::proposed_invalid(errors.len().max(1)),
                format!("the proposed procedure has errors: {}", errors.join("; ")),
            ));
        }
    };
    Definition::compile(procedure, loaded.content_hash, source.to_string(), vec![])
        .map(Arc::new)
        .map_err(|e| Refused::said(refusal::proposed_invalid(1), e.to_string()))
}

/// `current` with `proposed` in place of the version of its id; refused when the scenario
/// does not run that procedure.
pub fn with_proposed(
    current: &[Arc<Definition>],
    proposed: Arc<Definition>,
) -> Result<Vec<Arc<Definition>>, Refused> {
    let id = &proposed.procedure.id;
    if !current.iter().any(|d| &d.procedure.id == id) {
        return Err(Refused::said(
            refusal::not_in_scenario(&proposed.procedure.name),
            format!("the scenario does not run procedure '{id}'"),
        ));
    }
    Ok(motcua::simulate::plan::with_proposed(
        current,
        vec![proposed],
    ))
}

/// The dossiers a plan simulates, roughly: replications × each procedure's mean arrivals over
/// the run (a rate per working day counted on every day, at the profile's peak: it errs high).
pub fn dossiers(plan: &Plan) -> f64 {
    let span_hours = (plan.end.as_second() - plan.start.as_second()).max(0) as f64 / 3600.0;
    let days = span_hours / 24.0;
    let per_run: f64 = plan
        .arrivals
        .iter()
        // At the profile's peak rate everywhere: an arrival profile can only thin it.
        .map(|a| {
            let rate = a.per_hour * a.peak;
            if a.working {
                rate * days * plan.working_day_hours
            } else {
                rate * span_hours
            }
        })
        .sum();
    per_run * f64::from(plan.replications)
}

/// A plan of `scenario` on `definitions`, within the server's bound.
/// The engine's own working-day calendar is the one a `national` scenario runs on.
pub fn plan_of(
    engine: &motcua::Engine,
    scenario: &Scenario,
    definitions: Vec<Arc<Definition>>,
) -> Result<Plan, Refused> {
    let national = Some(engine.calendar().clone());
    let mut plan = Plan::on(scenario, definitions, national).map_err(|e| Refused::of_plan(&e))?;
    let n = dossiers(&plan);
    if n > MAX_DOSSIERS {
        return Err(Refused::said(
            refusal::too_big(n, MAX_DOSSIERS),
            format!("about {n:.0} dossiers, over the server's {MAX_DOSSIERS}"),
        ));
    }
    // Work, not only dossiers, is bounded: a branch that loops (a supplement asked again and
    // again) multiplies the steps of each dossier.
    let per_replication = MAX_DOSSIERS / f64::from(plan.replications.max(1));
    plan.max_transitions = Some((per_replication * STEPS_PER_DOSSIER) as u64);
    Ok(plan)
}

/// Transitions a forecast may take per dossier it may simulate, on average: a real dossier
/// has a dozen or two.
const STEPS_PER_DOSSIER: f64 = 40.0;

/// How long a forecast waits for the one running before it is answered "busy".
const WAIT_FOR_GATE: std::time::Duration = std::time::Duration::from_secs(20);

/// One forecast at a time: each already uses every core (`simulate::replications`).
pub fn gate() -> &'static tokio::sync::Semaphore {
    static GATE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
    &GATE
}

/// Runs `f` on the blocking pool once no other forecast runs.
pub async fn run<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, crate::Problem> {
    let permit = match tokio::time::timeout(WAIT_FOR_GATE, gate().acquire()).await {
        Ok(Ok(permit)) => permit,
        Ok(Err(e)) => return Err(crate::Problem::internal(format!("the forecast gate: {e}"))),
        Err(_) => {
            return Err(crate::Problem::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                refusal::BUSY,
            ));
        }
    };
    // The permit goes with the work: a client that gives up does not free the gate while its
    // forecast still runs on the blocking pool.
    crate::api::blocking(move || {
        let _permit = permit;
        f()
    })
    .await
}

/// What the audit log says of procedure `id`'s states over the local days `from ..= to`.
pub struct Waits {
    pub observed: Vec<simulate::calibrate::Observed>,
    /// Entries in the period.
    pub entries: u64,
    /// The log was longer than [`MAX_ENTRIES`]: only its beginning was read.
    pub cut: bool,
}

/// Days read before the period's first day.
const LEAD_DAYS: i64 = 31;

/// The first audit position whose entry is at or after `t` (entries are in commit order,
/// which is time order on one clock): a binary search over the served log.
fn first_at(
    reader: &dyn motcua::store::Reader,
    t: jiff::Timestamp,
) -> Result<u64, motcua::store::Error> {
    let (count, _) = reader.audit_head()?;
    let (mut lo, mut hi) = (1u64, count + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match reader.audit_entry(mid)? {
            Some(e) if e.at < t => lo = mid + 1,
            _ => hi = mid,
        }
    }
    Ok(lo)
}

/// Calibrates from the store's audit log (read a page at a time from a month before the
/// period to its end) and keeps procedure `id`'s states.
pub fn waits(
    engine: &motcua::Engine,
    id: &str,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> Result<Waits, motcua::store::Error> {
    let definitions: Vec<Arc<Definition>> = engine
        .procedures()
        .iter()
        .map(|c| c.definition.clone())
        .collect();
    let reader = engine.store();
    let calendar = engine.calendar();
    // Reading starts a month before the period (a step waiting when it began entered its
    // state before it) and stops after it, so a long log costs the period, not its age.
    let lead = jiff::Span::new().days(LEAD_DAYS);
    let begin_at = from
        .checked_sub(lead)
        .ok()
        .and_then(|d| calendar.start_of_day(d).ok());
    let end_at = to
        .tomorrow()
        .ok()
        .and_then(|d| calendar.start_of_day(d).ok());
    let mut next = match begin_at {
        Some(t) => first_at(reader, t)?,
        None => 1,
    };
    let mut read = 0u64;
    let mut cut = false;
    let mut failed = None;
    let pages = std::iter::from_fn(|| {
        if read >= MAX_ENTRIES {
            cut = true;
            return None;
        }
        let page = match reader.audit(next, PAGE) {
            Ok(p) => p,
            Err(e) => {
                failed = Some(e);
                return None;
            }
        };
        if end_at.is_some_and(|end| page.first().is_some_and(|e| e.at >= end)) {
            return None;
        }
        let last = page.last()?.seq;
        next = last + 1;
        read += page.len() as u64;
        Some(page)
    });
    let c = simulate::calibrate::calibrate(
        pages.flatten(),
        &definitions,
        engine.calendar().as_ref(),
        from,
        to,
        simulate::scenario::Procedures::Files(vec![]),
    );
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(Waits {
        observed: c
            .observed
            .into_iter()
            .filter(|o| o.procedure == id)
            .collect(),
        entries: c.entries,
        cut,
    })
}
