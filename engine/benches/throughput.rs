//! Engine throughput and latency, with a raw-sled baseline measured in the same run.
//!
//! `cargo bench -p motcua --bench throughput` prints (raw and engine alternating for three rounds
//! of three seconds each, then the medians):
//! - raw sled: the same kind of write the engine's store makes (one tree, one `sled::Batch` per
//!   64 transitions of a 1.5 KB dossier, index and timer keys, chunked audit and outbox lines,
//!   a counters key), flushed and fdatasynced;
//! - the engine: 64 threads submitting and acting concurrently, every transition durable;
//! - one in-memory state-machine step (no storage);
//! - with `MOTCUA_BENCH_MILLION=1`: a store of one million dossiers: disk used, time to open
//!   and serve the first read, resident memory.

#[path = "../../tests/support/calendar.rs"]
mod calendar;
mod support;

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use motcua::Engine;
use motcua::catalog::Compiled;
use motcua::clock::ManualClock;
use motcua::dossier::transition::{self, ActionRequest, Env};
use motcua::store::sled::{Options, SledStore};

use support::walk::{self, THREADS, fixture_dir, officer, submission};

// The shipped binary uses mimalloc: sled allocates per write and glibc's malloc was a quarter
// of the profile under 64 threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Length of one measurement; raw and engine alternate for [`ROUNDS`] rounds so that both
/// see the same load on a shared machine, and each round's ratio is printed.
const RUN: Duration = Duration::from_secs(3);
const ROUNDS: usize = 3;

/// The same kind of write the engine's store makes, without the engine: ONE tree, one
/// `sled::Batch` per group of 64 transitions, then `Db::flush` and `fdatasync`. Per transition
/// a 1.5 KB dossier record and the index and timer keys a move changes (two removed, two
/// written, each kind); per batch the audit entries (400 B each) and outbox events (200 B) in
/// chunks of about 6 KiB, and one counters key.
fn raw_baseline() -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new()
        .path(dir.path())
        .cache_capacity(64 << 20)
        .mode(sled::Mode::HighThroughput)
        .flush_every_ms(None)
        .open()
        .unwrap();
    let tree = db.open_tree("motcua").unwrap();
    let file = File::open(dir.path().join("db")).unwrap();
    let dossier = vec![b'd'; 1500];
    let entry = vec![b'a'; 400];
    let event = vec![b'o'; 200];
    let key = |space: u8, n: u64, step: u64| {
        let mut k = vec![space; 40];
        k.extend_from_slice(&n.to_be_bytes());
        k.extend_from_slice(&step.to_be_bytes());
        k
    };
    let mut n: u64 = 0;
    let start = Instant::now();
    while start.elapsed() < RUN {
        let mut batch = sled::Batch::default();
        let mut audit = Vec::with_capacity(7 * 1024);
        let mut outbox = Vec::with_capacity(7 * 1024);
        for i in 0..64u64 {
            // 1024 dossiers in turn, each moving one step further per visit.
            let d = (n + i) % 1024;
            let step = (n + i) / 1024;
            let mut code = vec![b'd'];
            code.extend_from_slice(&d.to_be_bytes());
            batch.insert(code, dossier.as_slice());
            for space in [b'i', b't'] {
                for j in 0..2 {
                    batch.remove(key(space + j, d, step.wrapping_sub(1)));
                    batch.insert(key(space + j, d, step), &[][..]);
                }
            }
            for (lines, line, prefix) in [(&mut audit, &entry, b'a'), (&mut outbox, &event, b'o')] {
                if lines.len() + line.len() >= 6 * 1024 {
                    let mut k = vec![prefix];
                    k.extend_from_slice(&(n + i).to_be_bytes());
                    batch.insert(k, lines.as_slice());
                    lines.clear();
                }
                lines.extend_from_slice(line);
                lines.push(b'\n');
            }
        }
        for (lines, prefix) in [(&audit, b'a'), (&outbox, b'o')] {
            let mut k = vec![prefix];
            k.extend_from_slice(&n.to_be_bytes());
            batch.insert(k, lines.as_slice());
        }
        batch.insert(&b"mcounters"[..], &[7u8; 88][..]);
        tree.apply_batch(batch).unwrap();
        db.flush().unwrap();
        file.sync_data().unwrap();
        n += 64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn open_engine(path: &Path) -> Engine {
    open_engine_at(
        path,
        Arc::new(ManualClock::new(
            "2026-06-01T09:00:00+07:00".parse().unwrap(),
        )),
    )
}

fn open_engine_at(path: &Path, clock: Arc<ManualClock>) -> Engine {
    open_engine_with_store(path, clock).0
}

fn open_engine_with_store(path: &Path, clock: Arc<ManualClock>) -> (Engine, Arc<SledStore>) {
    let store = Arc::new(SledStore::open(path, Options::default()).unwrap());
    let engine = Engine::new(store.clone(), Arc::new(calendar::test_calendar()), clock).unwrap();
    engine.load_procedures_dir(&fixture_dir()).unwrap();
    (engine, store)
}

/// 64 threads, each walking dossiers through their whole life: receipt, parallel appraisal
/// (two branches), consolidation, signature, return: 7 durable transitions per dossier.
fn engine_throughput() -> (f64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        "2026-06-01T09:00:00+07:00".parse().unwrap(),
    ));
    let (engine, store) = open_engine_with_store(dir.path(), clock.clone());
    let (n, took) = walk::walk(&[Arc::new(engine)], &clock, RUN);
    let rate = n as f64 / took.as_secs_f64();
    let stats = store.stats();
    let written = stats.transitions.load(Ordering::Relaxed).max(1);
    let per = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64 / 1e3 / written as f64;
    println!(
        "  writer: {} batches ({:.1} transitions each), {} syncs; per transition: apply {:.1} µs, \
         flush {:.1} µs, fdatasync {:.1} µs, answering {:.1} µs",
        stats.batches.load(Ordering::Relaxed),
        written as f64 / stats.batches.load(Ordering::Relaxed).max(1) as f64,
        stats.syncs.load(Ordering::Relaxed),
        per(&stats.apply_nanos),
        per(&stats.flush_nanos),
        per(&stats.fsync_nanos),
        per(&stats.answer_nanos),
    );
    let disk = dir_size(dir.path());
    (rate, disk * 1_000_000 / n.max(1))
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    let m = e.metadata().unwrap();
                    if m.is_dir() {
                        dir_size(&e.path())
                    } else {
                        m.len()
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn in_memory_step() -> f64 {
    let source = std::fs::read_to_string(fixture_dir().join("xay-dung.yaml")).unwrap();
    let mut batch = vec![motcua::procedure::load_str(&source, "bench")];
    motcua::procedure::check_catalogue(
        &mut batch,
        &motcua::procedure::NoPlugins,
        &Default::default(),
    );
    let p = Compiled::from_checked(batch.remove(0), source, &|_| Err("no plugins".into()), None)
        .unwrap();
    let cal = calendar::test_calendar();
    let lookup = |_: &str| None;
    let env = Env::new(&cal, &lookup, "2026-06-01T09:00:00+07:00".parse().unwrap());
    let t = transition::submit(&p, &submission(1), &env).unwrap();
    let mut d = t.changes[0].dossier.clone();
    d.code = "000.17.22.H56-260601-0001".into();
    let req = ActionRequest {
        dossier: d.code.clone(),
        action: "chuyen_tham_dinh".into(),
        actor: officer(),
        input: serde_json::json!({}),
        comment: None,
        seen_version: 1,
        on_behalf: false,
    };
    let iterations = 200_000;
    let start = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(transition::act(&p, std::hint::black_box(&d), &req, &env).unwrap());
    }
    start.elapsed().as_secs_f64() * 1e6 / iterations as f64
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn million() {
    let dir = std::env::var("MOTCUA_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("motcua-million"));
    let clock = Arc::new(ManualClock::new(
        "2026-06-01T09:00:00+07:00".parse().unwrap(),
    ));
    let start = Instant::now();
    let engine = Arc::new(open_engine_at(&dir, clock.clone()));
    // The first open in this process is the honest one: it replays whatever log the previous
    // process left (a filled store reopened by a fresh process, or after a crash).
    println!(
        "first open in this process: {:.3} s",
        start.elapsed().as_secs_f64()
    );
    let have = engine.store().dossier_count().unwrap();
    let target = 1_000_000u64;
    const PER_DAY: u64 = 9_000;
    if have < target {
        let start = Instant::now();
        let mut filled = have;
        // One receiving day at a time: a day's sequence stops at 9999.
        clock.advance(jiff::SignedDuration::from_hours(
            24 * (have / PER_DAY + 1) as i64,
        ));
        while filled < target {
            let today = PER_DAY.min(target - filled);
            let next = Arc::new(AtomicU64::new(0));
            let threads: Vec<_> = (0..THREADS)
                .map(|_| {
                    let engine = engine.clone();
                    let next = next.clone();
                    std::thread::spawn(move || {
                        while next.fetch_add(1, Ordering::Relaxed) < today {
                            engine.submit(submission(filled)).unwrap();
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            filled += today;
            clock.advance(jiff::SignedDuration::from_hours(24));
        }
        println!(
            "filled to {target} dossiers in {:.1} s",
            start.elapsed().as_secs_f64()
        );
    }
    drop(engine);
    let before = rss_mib();
    let start = Instant::now();
    let engine = open_engine(&dir);
    let opened = start.elapsed();
    // The first day filled is the day after the clock's start (see above).
    let first = engine
        .dossier("000.17.22.H56-260602-0001")
        .map(|d| d.version);
    let open = start.elapsed();
    let count = engine.store().dossier_count().unwrap();
    println!(
        "million: {count} dossiers, open {:.3} s, open+first read {:.3} s ({first:?}), disk {:.0} MiB, RSS {:.0} MiB (before open {:.0} MiB)",
        opened.as_secs_f64(),
        open.as_secs_f64(),
        dir_size(&dir) as f64 / 1048576.0,
        rss_mib(),
        before
    );
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing else we need.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    if std::env::var("MOTCUA_BENCH_MILLION").is_ok() {
        million();
        return;
    }
    // For profiling one side alone: `MOTCUA_BENCH_ONLY=engine` or `=raw`.
    match std::env::var("MOTCUA_BENCH_ONLY").as_deref() {
        Ok("engine") => {
            let (rate, disk) = engine_throughput();
            println!(
                "engine alone: {rate:.0}/s, {:.0} MiB per million",
                disk as f64 / 1048576.0
            );
            return;
        }
        Ok("raw") => {
            println!("raw alone: {:.0}/s", raw_baseline());
            return;
        }
        _ => {}
    }
    let step = in_memory_step();
    println!("in-memory step (act, fork into 2 branches): {step:.2} µs");
    let (mut raws, mut engines, mut disks) = (vec![], vec![], vec![]);
    for round in 1..=ROUNDS {
        let raw = raw_baseline();
        let (engine, disk_per_million) = engine_throughput();
        println!(
            "round {round}: raw sled baseline (1 tree, one Batch of 64, flush+fdatasync) {raw:.0}/s; \
             engine, {THREADS} concurrent submitters, durable {engine:.0}/s ({:.0}% of raw)",
            engine * 100.0 / raw
        );
        raws.push(raw);
        engines.push(engine);
        disks.push(disk_per_million as f64);
    }
    let (raw, engine) = (median(&mut raws), median(&mut engines));
    println!(
        "raw sled baseline (1 tree, one Batch of 64, flush+fdatasync): {raw:.0} transitions/s (median)"
    );
    println!(
        "engine, {THREADS} concurrent submitters, durable: {engine:.0} transitions/s (median; {:.0}% of the raw median)",
        engine * 100.0 / raw
    );
    println!(
        "disk per million transitions: {:.0} MiB",
        median(&mut disks) / 1048576.0
    );
}
