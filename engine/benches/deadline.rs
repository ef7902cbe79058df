//! Deadline enforcement at scale, on a real sled store (flush + fdatasync per group).
//!
//! `cargo bench -p motcua --bench deadline` fills a store with open dossiers of the deadline
//! fixture (`MOTCUA_BENCH_DOSSIERS`, default 100,000; one million for the record), received
//! 1,000 at a time at distinct instants over working days, each holding timers (its desk
//! step's breach, the statutory warning, the appointment). Then, in the same run:
//! - burst: the 1,000 timers that come due together fire (`Engine::fire_due`), durably;
//!   baseline: 1,000 officers' actions on 1,000 other dossiers from 64 threads, durably;
//! - sustained: every timer due over the next working days fires in one `fire_due` call;
//! - idle: a running `Scheduler` with nothing due for `MOTCUA_BENCH_IDLE_SECS` (default 60),
//!   its thread's CPU time read from /proc.

#[path = "../../tests/support/calendar.rs"]
mod calendar;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use motcua::Engine;
use motcua::clock::ManualClock;
use motcua::dossier::transition::{ActionRequest, Submission};
use motcua::dossier::{Actor, Applicant, Channel};
use motcua::store::sled::{Options, SledStore};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const THREADS: usize = 64;
const BURST: u64 = 1_000;
/// Receipts per agency and day stay under the national code's 9,999.
const BATCHES_PER_DAY: u64 = 9;

fn desk() -> Actor {
    Actor {
        id: "mc01".into(),
        roles: vec!["mot_cua".into()],
        departments: vec!["mot_cua".into()],
    }
}

fn submission(n: u64) -> Submission {
    Submission {
        papers: vec![],
        procedure: "tham-dinh-co-han".into(),
        applicant: Applicant {
            id: format!("0480900{n:05}"),
            name: "Trần Thị Bình".into(),
            phone: None,
            email: None,
            notify_by: vec![],
            disadvantaged_area: false,
        },
        channel: Channel::Online,
        data: serde_json::json!({"ten": "Trần Thị Bình"}),
        documents: vec!["don".into()],
        idempotency_key: None,
        received_by: desk(),
        meta: Default::default(),
        comment: None,
    }
}

/// The instant batch `b` is received: 08:00, 08:10, ... on consecutive working days.
fn receipt(cal: &motcua::calendar::Calendar, b: u64) -> Timestamp {
    let mut day: jiff::civil::Date = "2027-03-01".parse().unwrap();
    let mut left = b / BATCHES_PER_DAY;
    loop {
        if cal.is_working_day(day).unwrap() {
            if left == 0 {
                break;
            }
            left -= 1;
        }
        day = day.tomorrow().unwrap();
    }
    let minute = (b % BATCHES_PER_DAY) as i64 * 10;
    let at = cal
        .time_zone()
        .to_ambiguous_timestamp(day.at(8, 0, 0, 0))
        .compatible()
        .unwrap();
    at + SignedDuration::from_mins(minute)
}

fn run_threads(n: u64, work: impl Fn(u64) + Send + Sync + 'static) -> Duration {
    let work = Arc::new(work);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let work = work.clone();
            let next = next.clone();
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    work(i);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    start.elapsed()
}

fn thread_cpu_ticks(name: &str) -> Option<u64> {
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).ok()?;
        // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
        let rest = stat.rsplit_once(')')?.1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        return Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?);
    }
    None
}

fn process_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|r| r.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let n: u64 = std::env::var("MOTCUA_BENCH_DOSSIERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let idle_secs: u64 = std::env::var("MOTCUA_BENCH_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let cal = calendar::test_calendar();
    let clock = Arc::new(ManualClock::new(receipt(&cal, 0)));
    let store = Arc::new(SledStore::open(dir.path(), Options::default()).unwrap());
    let engine =
        Arc::new(Engine::new(store.clone(), Arc::new(cal.clone()), clock.clone()).unwrap());
    engine
        .load_procedures_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/deadline"),
        )
        .unwrap();

    let batches = n.div_ceil(BURST);
    let start = Instant::now();
    let mut last_codes = vec![];
    for b in 0..batches {
        clock.set(receipt(&cal, b));
        let codes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = codes.clone();
        let engine2 = engine.clone();
        run_threads(BURST, move |i| {
            let d = engine2.submit(submission(b * BURST + i)).unwrap().dossier;
            if b + 1 == batches {
                sink.lock().unwrap().push((d.code, d.version));
            }
        });
        if b + 1 == batches {
            last_codes = codes.lock().unwrap().clone();
        }
    }
    println!(
        "filled {} open dossiers with timers in {:.1} s ({} timers indexed)",
        batches * BURST,
        start.elapsed().as_secs_f64(),
        engine
            .store()
            .due_timers(Timestamp::MAX, usize::MAX)
            .unwrap()
            .len()
    );

    // Burst: batch 0's desk steps (received 08:00) run out together at 12:00.
    let due = engine.next_timer().unwrap().unwrap();
    clock.set(due);
    let stats = store.stats();
    let counters = |s: &motcua::store::sled::Stats| {
        [
            s.syncs.load(Ordering::Relaxed),
            s.apply_nanos.load(Ordering::Relaxed),
            s.flush_nanos.load(Ordering::Relaxed),
            s.fsync_nanos.load(Ordering::Relaxed),
            s.answer_nanos.load(Ordering::Relaxed),
        ]
    };
    let before = counters(stats);
    let start = Instant::now();
    let fired = engine.fire_due(due).unwrap();
    let burst = start.elapsed();
    let after = counters(stats);
    let syncs = after[0] - before[0];
    let ms = |i: usize| (after[i] - before[i]) as f64 / 1e6;
    println!(
        "burst writer: apply {:.1} ms, flush {:.1} ms, fdatasync {:.1} ms, answering {:.1} ms",
        ms(1),
        ms(2),
        ms(3),
        ms(4)
    );
    assert_eq!(
        fired.len() as u64,
        BURST,
        "the burst is one batch's desk steps"
    );

    // Baseline in the same run: 1,000 durable officers' actions, 64 threads.
    let acts = Arc::new(last_codes);
    let engine2 = engine.clone();
    let baseline = run_threads(BURST, move |i| {
        let (code, version) = &acts[i as usize];
        engine2
            .act(ActionRequest {
                dossier: code.clone(),
                action: "chuyen".into(),
                actor: desk(),
                input: serde_json::json!({}),
                comment: None,
                seen_version: *version,
                on_behalf: false,
            })
            .unwrap();
    });
    println!(
        "burst: {BURST} timers due at {due} fired durably in {:.1} ms ({syncs} fdatasync rounds); \
         baseline {BURST} officers' actions from {THREADS} threads in {:.1} ms; firing/baseline time {:.0}%",
        burst.as_secs_f64() * 1e3,
        baseline.as_secs_f64() * 1e3,
        100.0 * burst.as_secs_f64() / baseline.as_secs_f64()
    );

    // Sustained: everything due over the next working days, in one call.
    let until = receipt(&cal, (batches - 1).min(5 * BATCHES_PER_DAY));
    clock.set(until);
    let start = Instant::now();
    let fired = engine.fire_due(until).unwrap();
    let took = start.elapsed();
    println!(
        "sustained: {} timers fired durably up to {until} in {:.2} s: {:.0} timers/s",
        fired.len(),
        took.as_secs_f64(),
        fired.len() as f64 / took.as_secs_f64()
    );

    // Idle: a scheduler with nothing due until the next timer, which is hours away.
    let scheduler = motcua::scheduler::Scheduler::start(engine.clone(), |_| {}).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let ticks_per_s = 100.0; // USER_HZ on Linux
    let thread_before = thread_cpu_ticks("motcua-schedule").unwrap_or(0);
    let process_before = process_cpu_ticks();
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(idle_secs));
    let wall = start.elapsed().as_secs_f64();
    let thread_used = thread_cpu_ticks("motcua-schedule").unwrap_or(0) - thread_before;
    let process_used = process_cpu_ticks() - process_before;
    println!(
        "idle: over {wall:.0} s the scheduler thread used {:.3}% of a core ({thread_used} ticks); \
         the whole process {:.3}% ({process_used} ticks); planned wake-up {:?}",
        100.0 * thread_used as f64 / ticks_per_s / wall,
        100.0 * process_used as f64 / ticks_per_s / wall,
        scheduler.planned()
    );
    scheduler.stop();
}
