//! Plugin call latency: a warm call (component compiled and pre-linked, cached by hash) that
//! instantiates a fresh sandboxed instance per call. Target (issue 5): median ≤ 50 µs.
//!
//! Needs `plugins/dist/` (run `plugins/build.sh`). Run: `cargo bench -p motcua --bench plugin`.
//!
//! With `MOTCUA_PLUGIN_SUSTAINED_SECS=60` the same binary instead runs the sustained test: 1,000
//! calls per second, paced, for that many seconds, reporting latency and resident memory (RSS)
//! after warm-up and at the end; it exits non-zero if RSS grew by more than 16 MiB.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use motcua::plugin::{Limits, Plugin, PluginHost};
use serde_json::json;

fn load(host: &PluginHost, name: &str) -> Plugin {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/dist");
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS"))
        .unwrap_or_else(|e| panic!("plugins/dist/SHA256SUMS: {e}: run plugins/build.sh first"));
    let file = format!("{name}.wasm");
    let hash = sums
        .lines()
        .find_map(|l| l.strip_suffix(&format!("  {file}")))
        .unwrap_or_else(|| panic!("{file} not in SHA256SUMS: run plugins/build.sh"));
    host.load(dist.join(file), hash).unwrap()
}

fn bench(c: &mut Criterion) {
    let host = PluginHost::new(Limits::default()).unwrap();
    let cccd = load(&host, "cccd");
    let completeness = load(&host, "kiem-tra-thanh-phan");
    let data = json!({"cccd": "048095001234", "ngay_sinh": "1995-03-12", "gioi_tinh": "nam"});
    let config = json!({"birth_date_field": "ngay_sinh", "gender_field": "gioi_tinh"});
    let docs = json!({"giay_to_da_nop": ["don_de_nghi", "ban_ve", "gcn_qsdd"]});
    let checklist = json!({
        "required": ["don_de_nghi", "ban_ve"],
        "any_of": [["gcn_qsdd", "giay_to_dat_khac"]],
        "complete_action": "du_ho_so",
        "incomplete_action": "thieu_ho_so"
    });

    c.bench_function("plugin/cccd/describe (fresh instance)", |b| {
        b.iter(|| cccd.describe().unwrap())
    });
    c.bench_function("plugin/cccd/validate (fresh instance)", |b| {
        b.iter(|| cccd.validate(&data, &config).unwrap())
    });
    c.bench_function("plugin/kiem-tra-thanh-phan/decide (fresh instance)", |b| {
        b.iter(|| completeness.decide(&docs, &checklist).unwrap())
    });
}

/// Resident set size in KiB, from /proc (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn sustained(secs: u64) {
    const RATE: u64 = 1_000;
    let host = PluginHost::new(Limits::default()).unwrap();
    let cccd = load(&host, "cccd");
    let config = json!({"birth_date_field": "ngay_sinh", "gender_field": "gioi_tinh"});
    let call = |i: u64| {
        let data = json!({
            "cccd": format!("048095{:06}", i % 1_000_000),
            "ngay_sinh": "1995-03-12",
            "gioi_tinh": "nam"
        });
        let errors = cccd.validate(&data, &config).unwrap();
        assert!(errors.is_empty());
    };
    for i in 0..5_000 {
        call(i);
    }
    let total = secs * RATE;
    // Allocated and touched before the "before" reading, so its pages do not count as growth.
    let mut latencies = vec![Duration::ZERO; total as usize];
    let rss_before = rss_kib();
    println!("warm-up done: 5000 calls, RSS {rss_before} KiB");
    let start = Instant::now();
    for i in 0..total {
        // Paced: call i is due at i ms; never faster than the target rate.
        let due = start + Duration::from_micros(i * 1_000_000 / RATE);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let t = Instant::now();
        call(i);
        latencies[i as usize] = t.elapsed();
        if (i + 1) % (10 * RATE) == 0 {
            println!(
                "{:>3} s: {} calls, RSS {} KiB",
                (i + 1) / RATE,
                i + 1,
                rss_kib()
            );
        }
    }
    let elapsed = start.elapsed();
    let rss_after = rss_kib();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    println!(
        "{total} calls in {:.2} s = {:.0} calls/s; latency p50 {:?}, p99 {:?}, max {:?}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    let growth = rss_after as i64 - rss_before as i64;
    println!("RSS before {rss_before} KiB, after {rss_after} KiB, growth {growth} KiB");
    if growth > 16 * 1024 {
        eprintln!("RSS grew by more than 16 MiB");
        std::process::exit(1);
    }
}

criterion_group!(benches, bench);

fn main() {
    if let Some(secs) = std::env::var("MOTCUA_PLUGIN_SUSTAINED_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        sustained(secs);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
