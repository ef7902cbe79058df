//! A year of 100,000 dossiers of a five-step procedure with parallel branches, one
//! replication (issue 30: at most 10 s on the developer machine), and the share of the time
//! spent in the pure transition functions, measured inside the same run.
//!
//! `cargo bench -p motcua-simulate --bench simulate` (MOTCUA_BENCH_ROUNDS, default 3).

use std::path::Path;
use std::time::Instant;

use motcua_simulate::{Plan, Scenario, plan, run};

const SCENARIO: &str = "procedures: [procedures/five-steps.yaml]
start: 2027-01-04T08:00:00+07:00
duration: 365 days
replications: 1
seed: 1
arrivals:
  - procedure: nam-buoc
    per_working_day: 400
staff:
  - {role: mot-cua, department: bo-phan-mot-cua, officers: 20}
  - {role: chuyen-vien, department: phong, officers: 60}
  - {role: lanh-dao, department: phong, officers: 6}
service:
  - {state: tiep-nhan, distribution: lognormal, median: 0.15 working hours, p90: 0.4 working hours}
  - {state: kiem-tra-a, distribution: exponential, mean: 0.5 working hours}
  - {state: kiem-tra-b, distribution: lognormal, median: 0.4 working hours, p90: 1 working hours}
  - {state: tong-hop, distribution: fixed, value: 0.1 working hours}
  - {state: tra-ket-qua, distribution: fixed, value: 0.1 working hours}
";

fn main() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/simulate");
    let scenario = Scenario::parse(SCENARIO, &base.join("bench.yaml")).expect("scenario");
    let files = plan::procedure_files(&scenario, &base).expect("files");
    let plan =
        Plan::new(&scenario, plan::load_catalogue(&files).expect("catalogue")).expect("plan");
    let cal = motcua_simulate::calendar_of(&plan);
    let rounds: usize = std::env::var("MOTCUA_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let mut times = vec![];
    for round in 0..rounds {
        let clock = Instant::now();
        let m = run::replicate(&plan, cal.as_ref(), 0);
        let elapsed = clock.elapsed();
        let received: u64 = m.procedures.iter().map(|p| p.received).sum();
        let ended: u64 = m.procedures.iter().map(|p| p.ended()).sum();
        let share = m.transition_time.as_secs_f64() / elapsed.as_secs_f64();
        println!(
            "round {}: {received} dossiers received, {ended} resolved, {} transitions in {:.2} s ({:.1} µs per transition); {:.0}% of the time in the pure transition",
            round + 1,
            m.transitions,
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e6 / m.transitions as f64,
            share * 100.0
        );
        times.push(elapsed.as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "median of {rounds}: {:.2} s (target: at most 10 s)",
        times[times.len() / 2]
    );
}
