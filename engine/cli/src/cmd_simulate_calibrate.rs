//! `motcua simulate --calibrate` (a scenario from a store's audit log) and
//! `motcua simulate --record` (a store filled by a simulated workload).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use motcua::dossier::Dossier;
use motcua::simulate::{self, Plan, plan, run};
use motcua::store::sled::{Options, SledStore};
use motcua::store::{Committed, Store};
use motcua::transition::Transition;

use crate::cmd_simulate::SimulateArgs;

/// Entries read from the store at a time.
const PAGE: usize = 10_000;

pub fn calibrate(a: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let (Some(from), Some(to)) = (a.from, a.to) else {
        bail!("--calibrate needs --from and --to");
    };
    if to < from {
        bail!("--to ({to}) is before --from ({from})");
    }
    let data = a.data.clone().unwrap_or_else(|| "data".into());
    let reader = crate::cmd_audit::open_reading(&data, a.store.as_deref())?;
    let procedures = simulate::scenario::Procedures::Folder(a.procedures.clone());
    let files = plan::procedure_files(
        &simulate::Scenario {
            procedures: procedures.clone(),
            ..placeholder()
        },
        Path::new(""),
    )
    .with_context(|| format!("cannot list the procedures in '{}'", a.procedures))?;
    let definitions = plan::load_catalogue(&files)?;
    // The log is read a page at a time; only the period's entries and the open steps'
    // arrivals are kept by the calibration.
    let mut next = 1;
    let mut failed = None;
    let pages = std::iter::from_fn(|| {
        let page = match reader.audit(next, PAGE) {
            Ok(page) => page,
            Err(e) => {
                failed = Some(e);
                return None;
            }
        };
        let last = page.last()?.seq;
        next = last + 1;
        Some(page)
    });
    let calendar = crate::cmd_calendar::load(a.calendar.as_deref())?;
    let c = simulate::calibrate::calibrate(
        pages.flatten(),
        &definitions,
        &calendar,
        from,
        to,
        procedures,
    );
    // A log that could not be read to its end calibrates nothing: a partial scenario would
    // look like a quiet period.
    if let Some(e) = failed {
        let e = motcua::Error::from(e);
        bail!("error[{}]: reading the audit log: {e}", e.code());
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        println!(
            "# Calibrated by `motcua simulate --calibrate` from {} audit entries, {from} to {to}.",
            c.entries
        );
        print!("{}", c.scenario.to_yaml());
    }
    Ok(ExitCode::SUCCESS)
}

/// A scenario with nothing in it, to name a procedures folder.
pub fn placeholder() -> simulate::Scenario {
    simulate::Scenario {
        name: None,
        procedures: simulate::scenario::Procedures::Files(vec![]),
        start: jiff::Timestamp::UNIX_EPOCH,
        duration: simulate::span::Span::new(1.0, simulate::span::Unit::Days),
        warmup: None,
        replications: 1,
        seed: 0,
        calendar: Default::default(),
        discipline: Default::default(),
        arrivals: vec![],
        staff: vec![],
        service: vec![],
        branching: vec![],
    }
}

struct StoreSink<'s>(&'s SledStore);

impl run::Sink for StoreSink<'_> {
    fn record(&mut self, t: &Transition) -> Result<Vec<Dossier>, String> {
        match self.0.commit(t.clone()) {
            Ok(Committed::Applied(ds)) => Ok(ds),
            Ok(Committed::Replayed(d)) => Ok(vec![*d]),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Runs the plan's first replication into a new sled store in `dir`.
pub fn record(current: &Plan, dir: &Path) -> anyhow::Result<simulate::Outcome> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!(
            "'{}' is not empty: --record fills a new store",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // A workload for calibration and training: written in bulk, not synced step by step.
    let store = SledStore::open(
        dir,
        Options {
            fsync: false,
            ..Options::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let cal = simulate::calendar_of(current);
    let measured = run::replicate_into(current, cal.as_ref(), 0, &mut StoreSink(&store))
        .map_err(|e| anyhow::anyhow!("the store refused a simulated step: {e}"))?;
    // Written without a sync per step (a workload, not a store of record); sled writes its
    // log out when the store is dropped.
    drop(store);
    let one = Plan {
        replications: 1,
        ..current.clone()
    };
    Ok(simulate::figures::outcome(&one, &[measured]))
}
