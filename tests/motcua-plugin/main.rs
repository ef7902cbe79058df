//! The plugin host against real components built from `plugins/` (see `plugins/build.sh`).
//!
//! Every test name contains `plugin` so that `cargo test -p motcua-plugin` selects them.
//!
//! Longer than 600 lines: this is the crate's one test binary (each binary links wasmtime), so
//! the host's limits, the example plugins and the static checks all live here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use motcua_core::procedure::PluginRef;
use motcua_plugin::{Capability, Error, Limits, Plugin, PluginHost, WasmInspector};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn dist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/dist")
}

/// `dist/SHA256SUMS` as name → hash. Panics with the fix when the plugins were not built.
fn sums() -> &'static BTreeMap<String, String> {
    static SUMS: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    SUMS.get_or_init(|| {
        let path = dist_dir().join("SHA256SUMS");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{} is missing ({e}): build the plugins first with `plugins/build.sh` \
                 (needs `rustup target add wasm32-wasip2`)",
                path.display()
            )
        });
        text.lines()
            .filter_map(|l| l.split_once("  "))
            .map(|(hash, name)| (name.to_owned(), hash.to_owned()))
            .collect()
    })
}

fn dist(name: &str) -> (PathBuf, String) {
    let file = format!("{name}.wasm");
    let path = dist_dir().join(&file);
    assert!(
        path.exists(),
        "{} is missing: build the plugins first with `plugins/build.sh`",
        path.display()
    );
    let hash = sums()
        .get(&file)
        .unwrap_or_else(|| panic!("{file} is not in plugins/dist/SHA256SUMS: run plugins/build.sh"))
        .clone();
    (path, hash)
}

fn host() -> &'static PluginHost {
    static HOST: OnceLock<PluginHost> = OnceLock::new();
    HOST.get_or_init(|| PluginHost::new(Limits::default()).unwrap())
}

fn load(host: &PluginHost, name: &str) -> Plugin {
    let (path, hash) = dist(name);
    host.load(path, &hash).unwrap()
}

/// A real call that must work after any hostile failure: the host keeps serving.
fn assert_host_serves(host: &PluginHost) {
    let cccd = load(host, "cccd");
    let errors = cccd
        .validate(&json!({"cccd": "048095001234"}), &json!({}))
        .unwrap();
    assert_eq!(errors, vec![]);
}

fn codes(errors: &[motcua_plugin::FieldError]) -> Vec<&str> {
    errors.iter().map(|e| e.code.as_str()).collect()
}

// ---- real plugins ----

#[test]
fn plugin_cccd_describe() {
    let info = load(host(), "cccd").describe().unwrap();
    assert_eq!(info.name, "cccd");
    assert_eq!(info.capabilities, vec![Capability::Validate]);
    assert_eq!(info.config_schema["type"], "object");
}

#[test]
fn plugin_cccd_validates_structure() {
    let p = load(host(), "cccd");
    let cfg = json!({});
    let check = |n: Value| codes(&p.validate(&json!({ "cccd": n }), &cfg).unwrap()).join(",");
    // Đà Nẵng (048), male born 1995; Hà Nội (001), female born 2001; Cà Mau (096).
    assert_eq!(check(json!("048095001234")), "");
    assert_eq!(check(json!("001301012345")), "");
    assert_eq!(check(json!(" 096188000001 ")), "");
    assert_eq!(check(json!("04809500123")), "cccd.format");
    assert_eq!(check(json!("04809500123a")), "cccd.format");
    assert_eq!(check(json!(48095001234u64)), "cccd.type");
    // 003 and 097 are not province codes (the list has gaps and ends at 096).
    assert_eq!(check(json!("003095001234")), "cccd.province");
    assert_eq!(check(json!("097095001234")), "cccd.province");
    assert_eq!(
        codes(&p.validate(&json!({}), &cfg).unwrap()),
        vec!["cccd.missing"]
    );
    assert_eq!(
        p.validate(&json!({}), &json!({"required": false})).unwrap(),
        vec![]
    );
}

#[test]
fn plugin_cccd_checks_birth_date_and_gender_from_configured_fields() {
    let p = load(host(), "cccd");
    let cfg = json!({
        "field": "/nguoi_nop/so_cccd",
        "birth_date_field": "/nguoi_nop/ngay_sinh",
        "gender_field": "/nguoi_nop/gioi_tinh",
        "male": "Nam",
        "female": "Nữ"
    });
    let person = |n: &str, born: &str, g: &str| json!({"nguoi_nop": {"so_cccd": n, "ngay_sinh": born, "gioi_tinh": g}});
    let v = |d: Value| codes(&p.validate(&d, &cfg).unwrap()).join(",");
    assert_eq!(v(person("048095001234", "1995-03-12", "Nam")), "");
    assert_eq!(v(person("001301012345", "12/05/2001", "Nữ")), "");
    assert_eq!(
        v(person("048095001234", "1996-03-12", "Nam")),
        "cccd.birth_year"
    );
    assert_eq!(v(person("048095001234", "1995-03-12", "Nữ")), "cccd.gender");
    // Century digit 2 = 21st century: "95" means 2095, not 1995.
    assert_eq!(
        v(person("048295001234", "1995-03-12", "Nam")),
        "cccd.birth_year"
    );
    let errors = p
        .validate(&person("048195001234", "1996-01-01", "Nam"), &cfg)
        .unwrap();
    assert_eq!(codes(&errors), vec!["cccd.birth_year", "cccd.gender"]);
    assert_eq!(errors[0].field, "/nguoi_nop/so_cccd");
}

#[test]
fn plugin_unsupported_function_is_a_plugin_error_not_a_trap() {
    let p = load(host(), "cccd");
    let err = p.decide(&json!({}), &json!({})).unwrap_err();
    assert!(
        matches!(&err, Error::Plugin(m) if m.contains("not supported")),
        "{err}"
    );
}

fn fee_config() -> Value {
    json!({
        "label": "Lệ phí cấp giấy phép xây dựng",
        "districts": {
            "hai_chau": {"name": "Quận Hải Châu", "bands": [
                {"up_to_m2": 100, "amount": 50000},
                {"up_to_m2": 250, "amount": 75000},
                {"amount": 100000}
            ]},
            "hoa_vang": {"name": "Huyện Hòa Vang", "per_m2": 100, "bands": [
                {"amount": 30000}
            ]}
        }
    })
}

#[test]
fn plugin_fee_by_area_and_district() {
    let p = load(host(), "phi-xay-dung");
    let fee = |area: f64, district: &str| {
        p.compute_fee(
            &json!({"dien_tich_san": area, "quan_huyen": district}),
            &fee_config(),
        )
    };
    assert_eq!(fee(80.0, "hai_chau").unwrap().amount, 50_000);
    assert_eq!(fee(100.0, "hai_chau").unwrap().amount, 50_000);
    assert_eq!(fee(120.5, "hai_chau").unwrap().amount, 75_000);
    assert_eq!(fee(900.0, "hai_chau").unwrap().amount, 100_000);
    let hv = fee(120.2, "hoa_vang").unwrap();
    assert_eq!(hv.amount, 30_000 + 121 * 100);
    assert_eq!(hv.breakdown.len(), 2);
    assert!(hv.breakdown[0].label.contains("Huyện Hòa Vang"));
    assert!(matches!(fee(80.0, "son_tra"), Err(Error::Plugin(m)) if m.contains("son_tra")));
    assert!(matches!(fee(0.0, "hai_chau"), Err(Error::Plugin(_))));
}

fn checklist_config() -> Value {
    json!({
        "required": ["don_de_nghi", "ban_ve"],
        "any_of": [["gcn_qsdd", "giay_to_dat_khac"]],
        "complete_action": "du_ho_so",
        "incomplete_action": "thieu_ho_so"
    })
}

#[test]
fn plugin_completeness_decides_complete_or_missing() {
    let p = load(host(), "kiem-tra-thanh-phan");
    let d = p
        .decide(
            &json!({"giay_to_da_nop": ["don_de_nghi", "ban_ve", "gcn_qsdd"]}),
            &checklist_config(),
        )
        .unwrap();
    assert_eq!(d.action, "du_ho_so");
    assert_eq!(d.patch, Some(json!({"giay_to_thieu": []})));

    let d = p
        .decide(
            &json!({"giay_to_da_nop": {"don_de_nghi": true, "ban_ve": false}}),
            &checklist_config(),
        )
        .unwrap();
    assert_eq!(d.action, "thieu_ho_so");
    assert_eq!(
        d.patch,
        Some(json!({"giay_to_thieu": ["ban_ve", "gcn_qsdd|giay_to_dat_khac"]}))
    );
    assert!(d.note.contains("ban_ve"), "{}", d.note);
}

// ---- hostile plugins: each stopped with its typed error, then the host serves ----

#[test]
fn plugin_hostile_infinite_loop_hits_time_limit() {
    let host = host();
    let p = load(host, "hostile-infinite-loop");
    let start = Instant::now();
    let err = p.decide(&json!({}), &json!({})).unwrap_err();
    let took = start.elapsed();
    assert!(matches!(err, Error::TimeLimit { limit_ms: 10 }), "{err:?}");
    // The budget is fuel (deterministic), about 10 ms of busy loop on the reference machine;
    // generous bound for a loaded CI machine and the debug build.
    assert!(took < Duration::from_secs(2), "stopped late: {took:?}");

    let p = p.with_limits(Some(50), None);
    let err = p.decide(&json!({}), &json!({})).unwrap_err();
    assert!(matches!(err, Error::TimeLimit { limit_ms: 50 }), "{err:?}");

    assert_eq!(p.describe().unwrap().name, "infinite-loop");
    assert_host_serves(host);
}

#[test]
fn plugin_hostile_memory_bomb_hits_memory_limit() {
    let host = host();
    // A long time limit, so that the memory cap (not the clock) is what stops it.
    let p = load(host, "hostile-memory-bomb").with_limits(Some(5_000), None);
    let err = p.decide(&json!({}), &json!({})).unwrap_err();
    assert!(
        matches!(err, Error::MemoryLimit { limit_mib: 64 }),
        "{err:?}"
    );
    let small = p.clone().with_limits(None, Some(8));
    let err = small.decide(&json!({}), &json!({})).unwrap_err();
    assert!(
        matches!(err, Error::MemoryLimit { limit_mib: 8 }),
        "{err:?}"
    );
    assert_eq!(p.describe().unwrap().name, "memory-bomb");
    assert_host_serves(host);
}

#[test]
fn plugin_hostile_deep_recursion_hits_stack_limit() {
    let host = host();
    let p = load(host, "hostile-deep-recursion").with_limits(Some(5_000), None);
    let err = p.decide(&json!({}), &json!({})).unwrap_err();
    assert!(matches!(err, Error::StackOverflow), "{err:?}");
    assert_eq!(p.describe().unwrap().name, "deep-recursion");
    assert_host_serves(host);
}

#[test]
fn plugin_hostile_giant_output_hits_output_cap() {
    let host = host();
    let p = load(host, "hostile-giant-output").with_limits(Some(5_000), None);
    let err = p.decide(&json!({}), &json!({})).unwrap_err();
    assert!(
        matches!(err, Error::OutputTooLarge { size, limit: 1_048_576 } if size >= 8 << 20),
        "{err:?}"
    );
    assert_host_serves(host);
}

#[test]
fn plugin_hostile_trap_and_panic_are_traps() {
    let host = host();
    let p = load(host, "hostile-trap");
    let err = p.decide(&json!({}), &json!({})).unwrap_err();
    assert!(
        matches!(&err, Error::Trap(m) if m.contains("unreachable")),
        "{err:?}"
    );
    let err = p.validate(&json!({}), &json!({})).unwrap_err();
    assert!(
        matches!(&err, Error::Trap(m) if m.contains("unreachable")),
        "{err:?}"
    );
    assert_eq!(p.describe().unwrap().name, "trap");
    assert_host_serves(host);
}

#[test]
fn plugin_hostile_escape_is_denied_files_env_and_stdio() {
    let host = host();
    let p = load(host, "hostile-escape");
    for err in [
        p.decide(&json!({}), &json!({})).unwrap_err(),
        p.validate(&json!({}), &json!({})).unwrap_err(),
        p.compute_fee(&json!({}), &json!({})).unwrap_err(),
    ] {
        assert!(
            matches!(&err, Error::Denied(name) if name.contains("wasi:")),
            "{err:?}"
        );
    }
    assert_host_serves(host);
}

#[test]
fn plugin_hostile_malformed_output_is_rejected() {
    let host = host();
    let p = load(host, "hostile-malformed-output");
    for err in [
        p.describe().unwrap_err(),
        p.decide(&json!({}), &json!({})).unwrap_err(),
        p.compute_fee(&json!({}), &json!({})).unwrap_err(),
    ] {
        assert!(matches!(err, Error::MalformedOutput(_)), "{err:?}");
    }
    assert_host_serves(host);
}

#[test]
fn plugin_hostile_missing_export_is_refused_at_load() {
    let host = host();
    let (path, hash) = dist("hostile-missing-export");
    let err = host.load(path, &hash).err().unwrap();
    assert!(matches!(err, Error::MissingExport(_)), "{err:?}");
    assert_host_serves(host);
}

#[test]
fn plugin_core_module_and_garbage_do_not_compile() {
    let host = host();
    // The smallest core module: magic and version 1.
    let core = b"\0asm\x01\0\0\0";
    let err = host.load_bytes(core, &sha256(core)).err().unwrap();
    assert!(
        matches!(&err, Error::Compile(m) if m.contains("core")),
        "{err:?}"
    );
    let garbage = b"definitely not wasm";
    let err = host.load_bytes(garbage, &sha256(garbage)).err().unwrap();
    assert!(matches!(err, Error::Compile(_)), "{err:?}");
    assert_host_serves(host);
}

#[test]
fn plugin_load_checks_hash_and_file() {
    let host = host();
    let (path, hash) = dist("cccd");
    let wrong = format!("{}0", &hash[..63]);
    let wrong = if wrong == hash {
        format!("{}1", &hash[..63])
    } else {
        wrong
    };
    let err = host.load(&path, &wrong).err().unwrap();
    assert!(
        matches!(&err, Error::HashMismatch { expected, actual, .. } if *expected == wrong && *actual == hash),
        "{err:?}"
    );
    let err = host.load(&path, "ABC").err().unwrap();
    assert!(matches!(err, Error::BadHash(_)), "{err:?}");
    let err = host
        .load(dist_dir().join("nope.wasm"), &hash)
        .err()
        .unwrap();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

#[test]
fn plugin_output_cap_applies_to_ordinary_output() {
    let host = PluginHost::new(Limits {
        output_limit: 64,
        max_concurrent_calls: 4,
        ..Limits::default()
    })
    .unwrap();
    let p = load(&host, "kiem-tra-thanh-phan");
    let err = p
        .decide(&json!({"giay_to_da_nop": []}), &checklist_config())
        .unwrap_err();
    assert!(
        matches!(err, Error::OutputTooLarge { limit: 64, .. }),
        "{err:?}"
    );
}

#[test]
fn plugin_host_and_handles_are_send_and_sync() {
    fn check<T: Send + Sync + Clone>() {}
    check::<PluginHost>();
    check::<Plugin>();
}

#[test]
fn plugin_calls_run_concurrently_from_many_threads() {
    let host = host();
    let p = load(host, "cccd");
    std::thread::scope(|s| {
        for t in 0..4 {
            let p = p.clone();
            s.spawn(move || {
                for i in 0..50 {
                    let n = format!("0480950{:05}", t * 100 + i);
                    assert_eq!(p.validate(&json!({"cccd": n}), &json!({})).unwrap(), vec![]);
                }
            });
        }
    });
}

#[test]
fn plugin_pool_exhaustion_is_busy_not_a_hang() {
    let host = PluginHost::new(Limits {
        max_concurrent_calls: 1,
        ..Limits::default()
    })
    .unwrap();
    let spinner = load(&host, "hostile-infinite-loop").with_limits(Some(500), None);
    let cccd = load(&host, "cccd");
    let busy_seen = std::thread::scope(|s| {
        // The poller below may hold the only slot at the moment the spinner starts; the spinner
        // retries until it holds the slot itself (regression: this raced on a loaded machine).
        let running = s.spawn(|| {
            loop {
                match spinner.decide(&json!({}), &json!({})) {
                    Err(Error::Busy(_)) => std::thread::sleep(Duration::from_micros(200)),
                    other => return other,
                }
            }
        });
        let mut busy = false;
        while !running.is_finished() {
            match cccd.validate(&json!({"cccd": "048095001234"}), &json!({})) {
                Err(Error::Busy(1)) => {
                    busy = true;
                    break;
                }
                Ok(_) => std::thread::sleep(Duration::from_millis(1)),
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        let spun = running.join().unwrap();
        assert!(matches!(spun, Err(Error::TimeLimit { .. })), "{spun:?}");
        busy
    });
    assert!(busy_seen, "the only pool slot was never seen taken");
    assert_host_serves(&host);
}

// ---- inspection for `motcua validate` ----

fn plugin_ref(name: &str, config: Value) -> PluginRef {
    let (_, hash) = dist(name);
    PluginRef {
        id: name.to_owned(),
        file: format!("{name}.wasm"),
        sha256: hash,
        config,
        time_limit_ms: None,
        memory_limit_mib: None,
    }
}

/// The plugin findings the checks make of a procedure written in `plugins/dist/` (so plugin
/// files resolve there): the sandbox's (E060–E067) and an undeclared plugin (E015), as
/// (code, line) in file order. The fixtures below are minimal, so other findings are left out.
fn diagnostics(yaml: &str) -> Vec<(&'static str, u32)> {
    let file = dist_dir().join("thu-tuc.yaml");
    let loaded = motcua_core::procedure::load_str(yaml, &file);
    let procedure = loaded
        .procedure
        .as_ref()
        .unwrap_or_else(|| panic!("{:#?}", loaded.diagnostics));
    let inspector = WasmInspector::with_host(host().clone());
    let mut found: Vec<(&'static str, u32)> =
        motcua_core::procedure::check_with(procedure, &loaded.source_map, &file, &inspector)
            .iter()
            .map(|d| (d.code.as_str(), d.line))
            .filter(|(code, _)| code.starts_with("E06") || *code == "E015")
            .collect();
    found.sort_by_key(|&(code, line)| (line, code));
    found
}

/// A procedure pinning `r` (written as JSON, which is YAML), called once for each capability
/// in `uses`: a validator, an automatic state's decision, a computed fee.
fn pinning(r: &PluginRef, uses: &[Capability]) -> String {
    let id = &r.id;
    let mut yaml = format!(
        r#"id: thu-tuc
version: "1"
code: "1.000001"
name: Thủ tục thử
agency: {{ id: "000.00.12.H17", name: UBND quận Hải Châu }}
effective_from: 2025-07-01
limit: {{ duration: 15 days }}
documents:
  - {{ id: don_de_nghi, name: Đơn đề nghị }}
  - {{ id: ban_ve, name: Bản vẽ }}
  - {{ id: gcn_qsdd, name: Giấy chứng nhận quyền sử dụng đất }}
  - {{ id: giay_to_dat_khac, name: Giấy tờ đất khác }}
plugins:
  - {plugin}
"#,
        plugin = serde_json::to_string(r).unwrap(),
    );
    if uses.contains(&Capability::Validate) {
        yaml += &format!("validators:\n  - plugin: {id}\n");
    }
    if uses.contains(&Capability::ComputeFee) {
        yaml += &format!("fees:\n  - {{ id: le_phi, name: Lệ phí, plugin: {{ plugin: {id} }} }}\n");
    }
    let start = if uses.contains(&Capability::Decide) {
        format!("kind: automatic, plugin: {{ plugin: {id} }}, on_error: thieu_ho_so")
    } else {
        "kind: task".to_string()
    };
    yaml += &format!(
        r#"states:
  - {{ id: tiep_nhan, label: Tiếp nhận, start: true, status: 2, budget: 1 working day, {start} }}
  - {{ id: xong, label: Xong, kind: terminal, status: 10, outcome: result_issued }}
actions:
  - {{ id: du_ho_so, label: Đủ, from: tiep_nhan, to: xong, by: system }}
  - {{ id: thieu_ho_so, label: Thiếu, from: tiep_nhan, to: xong, by: system }}
"#
    );
    yaml
}

fn diagnostic_codes(yaml: &str) -> Vec<&'static str> {
    diagnostics(yaml)
        .into_iter()
        .map(|(code, _)| code)
        .collect()
}

#[test]
fn plugin_inspect_accepts_a_good_reference() {
    let r = plugin_ref("kiem-tra-thanh-phan", checklist_config());
    assert_eq!(diagnostics(&pinning(&r, &[Capability::Decide])), vec![]);
    let r = plugin_ref("phi-xay-dung", fee_config());
    assert_eq!(diagnostics(&pinning(&r, &[Capability::ComputeFee])), vec![]);
}

#[test]
fn plugin_inspect_reports_capability_config_hash_and_file_problems() {
    let r = plugin_ref("cccd", json!({"field": 5, "nonsense": true}));
    assert_eq!(
        diagnostic_codes(&pinning(&r, &[Capability::Validate, Capability::Decide])),
        vec!["E064", "E064", "E063"],
    );

    let mut r = plugin_ref("cccd", json!({}));
    r.sha256 = "0".repeat(64);
    assert_eq!(diagnostic_codes(&pinning(&r, &[])), vec!["E061"]);
    let mut r = plugin_ref("cccd", json!({}));
    r.file = "missing.wasm".into();
    assert_eq!(diagnostic_codes(&pinning(&r, &[])), vec!["E060"]);
    // Its `describe` returns a config schema that is not JSON: the one malformed output
    // `describe` can have, named for what the author can fix.
    let r = plugin_ref("hostile-malformed-output", json!({}));
    assert_eq!(diagnostic_codes(&pinning(&r, &[])), vec!["E065"]);
    let r = plugin_ref("hostile-missing-export", json!({}));
    assert_eq!(diagnostic_codes(&pinning(&r, &[])), vec!["E062"]);
}

#[test]
fn plugin_inspect_procedure_checks_every_use() {
    let sums = sums();
    let hash = |f: &str| sums[f].clone();
    // Paths are relative to the procedure file's folder: a procedure in procedures/ names
    // `../plugins/dist/x.wasm`; here the folder is dist/ itself.
    let yaml = format!(
        r#"
id: cap-phep-xay-dung
version: "2025.1"
code: "1.009994"
name: Cấp giấy phép xây dựng nhà ở riêng lẻ
agency: {{ id: "000.00.12.H17", name: UBND quận Hải Châu }}
effective_from: 2025-07-01
limit: {{ duration: 15 days }}
plugins:
  - id: thanh-phan
    file: kiem-tra-thanh-phan.wasm
    sha256: {tp}
    config:
      required: [don_de_nghi, ban_ve]
      complete_action: du_ho_so
      incomplete_action: thieu_ho_so
  - id: cccd
    file: cccd.wasm
    sha256: {cccd}
    time_limit_ms: 20
  - id: phi
    file: phi-xay-dung.wasm
    sha256: {phi}
    config:
      districts: {{ hai_chau: {{ bands: [{{ amount: 75000 }}] }} }}
validators:
  - plugin: cccd
    config: {{ field: /chu_dau_tu/cccd }}
  - plugin: cccd
    config: {{ field: 12 }}
fees:
  - id: le_phi
    name: Lệ phí cấp giấy phép xây dựng
    plugin: {{ plugin: phi }}
  - id: le_phi_2
    name: Lệ phí sai
    plugin: {{ plugin: cccd }}
states:
  - {{ id: tiep_nhan, label: Tiếp nhận, kind: automatic, start: true, status: 2,
       plugin: {{ plugin: thanh-phan }}, on_error: thieu_ho_so }}
  - {{ id: ghost, label: Ma, kind: automatic, status: 4, plugin: {{ plugin: khong-co }} }}
  - {{ id: xong, label: Xong, kind: terminal, status: 10 }}
actions:
  - {{ id: du_ho_so, label: Đủ, from: tiep_nhan, to: xong }}
  - {{ id: thieu_ho_so, label: Thiếu, from: tiep_nhan, to: xong }}
"#,
        tp = hash("kiem-tra-thanh-phan.wasm"),
        cccd = hash("cccd.wasm"),
        phi = hash("phi-xay-dung.wasm"),
    );
    let procedure: motcua_core::procedure::Procedure = serde_yaml::from_str(&yaml).unwrap();
    let uses = motcua_plugin::uses(&procedure);
    assert_eq!(uses.len(), 6);
    // The plugin findings, each at the line an author edits: the checklist plugin names
    // papers this procedure has no checklist for (line 14, twice), the second validator's
    // merged config gives `field` a number (30), cccd cannot compute a fee (37), and the
    // automatic state `ghost` calls an undeclared plugin (41).
    assert_eq!(
        diagnostics(&yaml),
        vec![
            ("E067", 14),
            ("E067", 14),
            ("E064", 30),
            ("E063", 37),
            ("E015", 41)
        ]
    );
}

#[test]
fn plugin_effective_config_is_a_merge_patch() {
    let r = PluginRef {
        id: "x".into(),
        file: "x.wasm".into(),
        sha256: "0".repeat(64),
        config: json!({"a": 1, "b": {"c": 2, "d": 3}, "e": 4}),
        time_limit_ms: None,
        memory_limit_mib: None,
    };
    let call = motcua_core::procedure::PluginCall {
        plugin: "x".into(),
        config: Some(json!({"b": {"c": 20, "d": null}, "e": null, "f": 5})),
    };
    assert_eq!(
        motcua_plugin::effective_config(&r, &call),
        json!({"a": 1, "b": {"c": 20}, "f": 5})
    );
}

// ---- reproducibility ----

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// dist/ holds exactly the files SHA256SUMS lists, with those hashes. Rebuilding from source
/// and comparing is `plugins/build.sh --check` (CI), and `plugin_rebuild_matches_dist` below.
#[test]
fn plugin_dist_matches_sha256sums() {
    let mut on_disk: Vec<String> = std::fs::read_dir(dist_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".wasm"))
        .collect();
    on_disk.sort();
    let listed: Vec<String> = sums().keys().cloned().collect();
    assert_eq!(
        on_disk, listed,
        "dist/*.wasm and SHA256SUMS disagree: run plugins/build.sh"
    );
    for (name, hash) in sums() {
        let bytes = std::fs::read(dist_dir().join(name)).unwrap();
        assert_eq!(&sha256(&bytes), hash, "{name}: run plugins/build.sh");
    }
    for name in ["cccd", "phi-xay-dung", "kiem-tra-thanh-phan"] {
        assert!(
            sums().contains_key(&format!("{name}.wasm")),
            "{name} not built"
        );
    }
}

/// Rebuilds every plugin from source and compares with the committed bytes. Needs the pinned
/// toolchain and the wasm32-wasip2 target; slow, so run on demand:
/// `cargo test -p motcua-plugin --test motcua-plugin -- --ignored plugin_rebuild`.
#[test]
#[ignore]
fn plugin_rebuild_matches_dist() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/build.sh");
    let status = std::process::Command::new("bash")
        .arg(script)
        .arg("--check")
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .unwrap();
    assert!(status.success(), "rebuilt plugins differ from plugins/dist");
}
