//! The audit log and the reports at scale, each beside a baseline doing the same kind of work
//! in the same run (the machine is shared and noisy: compare ratios).
//!
//! `cargo bench -p motcua --bench audit` (`MOTCUA_BENCH_DOSSIERS`, default 1,000,000):
//! 1. fills a store through the engine: that many dossiers received by 64 threads over the
//!    days of 2026 (one audit entry each), every tenth then walked to its result;
//! 2. in a fresh process each (so resident memory is the measurement's own):
//!    - raw: read every audit chunk and sha256 it (the floor of any verification);
//!    - verify the chain, then the chain and every dossier record;
//!    - export the whole log as JSONL to a sink, beside raw: copy every chunk to a sink;
//!    - the on-time report for the year by procedure, beside counting the same year's receipts
//!      by reading every dossier record;
//! 3. durable transitions per second with and without the report counters, alternating for
//!    three rounds of three seconds.

#[path = "../../tests/support/calendar.rs"]
mod calendar;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use motcua::Engine;
use motcua::clock::ManualClock;
use motcua::dossier::transition::{ActionRequest, Submission};
use motcua::dossier::{Actor, Applicant, Channel};
use motcua::store::sled::{Options, SledStore};
use motcua::store::{AuditReader, DossierReader};
use sha2::{Digest, Sha256};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const THREADS: u64 = 64;

fn fixture_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/engine")
}

fn actor(id: &str, role: &str, department: &str) -> Actor {
    Actor {
        id: id.into(),
        roles: vec![role.into()],
        departments: vec![department.into()],
    }
}

fn submission(n: u64) -> Submission {
    Submission {
        papers: vec![],
        procedure: "cap-phep-xay-dung-thu-nghiem".into(),
        applicant: Applicant {
            id: format!("079{n:09}"),
            name: "Nguyễn Văn An".into(),
            phone: None,
            email: None,
            notify_by: vec![],
            disadvantaged_area: false,
        },
        channel: [Channel::Desk, Channel::Online, Channel::Post][(n % 3) as usize],
        data: serde_json::json!({"chu_dau_tu": "Nguyễn Văn An", "dien_tich_san": 180.5, "so_tang": 3}),
        documents: vec!["don".into(), "ban_ve".into(), "gcn_qsdd".into()],
        idempotency_key: None,
        received_by: actor("mc01", "mot_cua", "bo_phan_mot_cua"),
        meta: Default::default(),
        comment: None,
    }
}

const STEPS: [(&str, &str, &str, &str); 6] = [
    ("chuyen_tham_dinh", "mc01", "mot_cua", "bo_phan_mot_cua"),
    ("dat_quy_hoach", "tnmt01", "chuyen_vien", "phong_tnmt"),
    ("dat_ket_cau", "qlxd01", "chuyen_vien", "phong_qlxd"),
    ("trinh_ky", "qlxd01", "chuyen_vien", "phong_qlxd"),
    ("ky", "qlxd00", "lanh_dao", "phong_qlxd"),
    ("tra", "mc01", "mot_cua", "bo_phan_mot_cua"),
];

fn open(path: &Path, options: Options, clock: Arc<ManualClock>) -> Engine {
    let store = Arc::new(SledStore::open(path, options).unwrap());
    let engine = Engine::new(store, Arc::new(calendar::test_calendar()), clock).unwrap();
    engine.load_procedures_dir(&fixture_dir()).unwrap();
    engine
}

fn walk(engine: &Engine, code: &str) {
    for (action, id, role, dept) in STEPS {
        let d = engine.dossier(code).unwrap();
        engine
            .act(ActionRequest {
                dossier: code.into(),
                action: action.into(),
                actor: actor(id, role, dept),
                input: serde_json::json!({}),
                comment: None,
                seen_version: d.version,
                on_behalf: false,
            })
            .unwrap();
    }
}

/// Receives `total` dossiers over the 365 days of 2026, walking every tenth to its result.
fn fill(path: &Path, total: u64) {
    let clock = Arc::new(ManualClock::new(
        "2026-01-01T08:00:00+07:00".parse().unwrap(),
    ));
    let options = Options {
        fsync: false,
        ..Options::default()
    };
    let engine = Arc::new(open(path, options, clock.clone()));
    let per_day = total.div_ceil(365);
    let start = Instant::now();
    for day in 0..365u64 {
        let first = day * per_day;
        let last = ((day + 1) * per_day).min(total);
        if first >= last {
            break;
        }
        let next = Arc::new(AtomicU64::new(first));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let engine = engine.clone();
                let next = next.clone();
                std::thread::spawn(move || {
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= last {
                            break;
                        }
                        let d = engine.submit(submission(n)).unwrap().dossier;
                        if n.is_multiple_of(10) {
                            walk(&engine, &d.code);
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        clock.advance(jiff::SignedDuration::from_hours(24));
    }
    println!(
        "fill: {total} dossiers in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One measurement in this (fresh) process: prints its time and memory.
fn measure(phase: &str, path: &Path) {
    let store = SledStore::open_existing(
        path,
        Options {
            fsync: false,
            // As `motcua audit verify` opens it.
            cache_bytes: std::env::var("MOTCUA_BENCH_CACHE_MB")
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(16)
                << 20,
            ..Options::default()
        },
    )
    .unwrap();
    let rss_open = status_kib("VmRSS:");
    let start = Instant::now();
    let what = match phase {
        "raw-hash" => {
            let mut n = 0u64;
            let mut h = Sha256::new();
            store
                .audit_lines(1, &mut |_, line| {
                    h.update(line);
                    n += 1;
                    true
                })
                .unwrap();
            std::hint::black_box(h.finalize());
            format!("{n} lines read and hashed")
        }
        "verify-chain" | "verify-records" => {
            let options = motcua::audit::VerifyOptions {
                records: phase == "verify-records",
                checkpoint: None,
                live: false,
                ..Default::default()
            };
            let v = motcua::audit::verify_store(&store, &options).unwrap();
            format!("{} entries verified", v.count)
        }
        "raw-copy" => {
            let mut sink = std::io::BufWriter::new(std::io::sink());
            let mut n = 0u64;
            store
                .audit_lines(1, &mut |_, line| {
                    n += 1;
                    sink.write_all(line).is_ok() && sink.write_all(b"\n").is_ok()
                })
                .unwrap();
            format!("{n} lines copied")
        }
        "export" => {
            let mut sink = std::io::BufWriter::new(std::io::sink());
            let n = motcua::audit::export::export(
                &store,
                &Default::default(),
                motcua::audit::export::Format::Jsonl,
                &motcua::sheet::Names::default(),
                &mut sink,
            )
            .unwrap();
            format!("{n} entries exported")
        }
        "report" => {
            let q = motcua::report::Query {
                from: jiff::civil::date(2026, 1, 1),
                to: jiff::civil::date(2026, 12, 31),
                by: motcua::report::By::Procedure,
            };
            let r = motcua::report::on_time(&store, &q).unwrap();
            format!("report: {} received", r.total.received)
        }
        "scan-dossiers" => {
            let mut received = 0u64;
            store
                .dossier_records(&mut |_, record| {
                    // What a report without counters does: read each dossier.
                    received += u64::from(record.windows(12).any(|w| w == b"\"received_at"));
                    true
                })
                .unwrap();
            format!("scan: {received} dossiers read")
        }
        other => panic!("unknown phase {other}"),
    };
    let took = start.elapsed();
    println!(
        "{phase:>15}: {:>9.1} ms  ({what}; RSS {} MiB after open, peak {} MiB)",
        took.as_secs_f64() * 1e3,
        rss_open / 1024,
        status_kib("VmHWM:") / 1024,
    );
}

/// Durable transitions per second for three seconds, with or without the report counters.
fn throughput(counters: bool) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        "2026-06-01T09:00:00+07:00".parse().unwrap(),
    ));
    let options = Options {
        report_counters: counters,
        ..Options::default()
    };
    let engine = Arc::new(open(dir.path(), options, clock));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let engine = engine.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut i = 0;
                while start.elapsed() < Duration::from_secs(3) {
                    let d = engine
                        .submit(submission(t * 1_000_000 + i))
                        .unwrap()
                        .dossier;
                    walk(&engine, &d.code);
                    done.fetch_add(7, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    if let (Ok(phase), Ok(dir)) = (
        std::env::var("MOTCUA_BENCH_PHASE"),
        std::env::var("MOTCUA_BENCH_DIR"),
    ) {
        measure(&phase, Path::new(&dir));
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let total: u64 = std::env::var("MOTCUA_BENCH_DOSSIERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // MOTCUA_BENCH_STORE=DIR keeps the filled store there and reuses it on the next run.
    let kept = std::env::var("MOTCUA_BENCH_STORE")
        .ok()
        .map(std::path::PathBuf::from);
    let temp = tempfile::tempdir().unwrap();
    let path = kept.clone().unwrap_or_else(|| temp.path().to_path_buf());
    if !path.join("db").is_file() {
        fill(&path, total);
    }
    let exe = std::env::current_exe().unwrap();
    for phase in [
        "raw-hash",
        "verify-chain",
        "verify-records",
        "raw-copy",
        "export",
        "scan-dossiers",
        "report",
    ] {
        let status = std::process::Command::new(&exe)
            .env("MOTCUA_BENCH_PHASE", phase)
            .env("MOTCUA_BENCH_DIR", &path)
            .status()
            .unwrap();
        assert!(status.success(), "{phase} failed");
    }
    let mut ratios = vec![];
    for round in 1..=3 {
        let with = throughput(true);
        let without = throughput(false);
        println!(
            "round {round}: {with:.0}/s with report counters, {without:.0}/s without ({:.1}%)",
            100.0 * with / without
        );
        ratios.push(with / without);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "median: counters keep {:.1}% of durable throughput",
        100.0 * ratios[1]
    );
}
