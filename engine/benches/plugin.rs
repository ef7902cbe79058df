//! Plugin call latency: a warm call (component compiled and pre-linked, cached by hash) that
//! instantiates a fresh sandboxed instance per call. Target (issue 5): median ≤ 50 µs.
//!
//! Needs `plugins/dist/` (run `plugins/build.sh`). Run: `cargo bench -p motcua --bench plugin`.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
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

criterion_group!(benches, bench);
criterion_main!(benches);
