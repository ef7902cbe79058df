//! The `motcua dossier` and `motcua demo` commands, run as the real binary on a data folder.

use crate::cli;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cli::{house_permit, root, text};

fn motcua(data: &Path, args: &[&str]) -> Output {
    motcua_at(data, "2026-06-01T09:00:00+07:00", args)
}

fn write(dir: &Path, name: &str, json: serde_json::Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string(&json).unwrap()).unwrap();
    p.display().to_string()
}

fn submission() -> serde_json::Value {
    let mut permit = house_permit("079090001234");
    permit["idempotency_key"] = "quay-1-0001".into();
    permit
}

#[test]
fn a_dossier_is_received_moved_listed_and_audited_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sub = write(dir.path(), "submit.json", submission());
    let out = motcua(&data, &["dossier", "submit", &sub]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let receipt: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let code = receipt["dossier"]["code"].as_str().unwrap().to_string();
    assert_eq!(code, "000.17.22.H56-260601-0001");
    assert_eq!(
        receipt["dossier"]["clock"]["due_at"],
        "2026-06-22T02:00:00Z"
    );

    // A retry with the same idempotency key returns the same dossier and writes nothing.
    let again = motcua(&data, &["dossier", "submit", &sub]);
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["replayed"], true);
    assert_eq!(again["dossier"]["code"], code.as_str());

    let act = write(
        dir.path(),
        "act.json",
        serde_json::json!({
            "dossier": code, "action": "chuyen_tham_dinh", "seen_version": 1,
            "actor": {"id": "mc01", "roles": ["mot_cua"], "departments": ["bo_phan_mot_cua"]}
        }),
    );
    let out = motcua(&data, &["dossier", "act", &act]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let moved: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(moved["version"], 2);

    // The same request again is stale now: refused with its stable code, exit 1.
    let out = motcua(&data, &["dossier", "act", &act]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error[conflict]:"),
        "{}",
        text(&out.stderr)
    );

    let out = motcua(&data, &["dossier", "list", "--department", "phong_tnmt"]);
    assert!(
        text(&out.stdout).starts_with(&format!("{code}\tcap-phep-xay-dung-thu-nghiem\tquy_hoach")),
        "{}",
        text(&out.stdout)
    );

    let out = motcua(
        &data,
        &[
            "dossier",
            "actions",
            &code,
            "--actor",
            "qlxd01:chuyen_vien:phong_qlxd",
        ],
    );
    let offered: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = offered
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "dat_ket_cau",
            "yeu_cau_bo_sung_ket_cau",
            "khong_dat_ket_cau"
        ]
    );

    let out = motcua(&data, &["dossier", "history", &code]);
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["action"], "chuyen_tham_dinh");

    let out = motcua(&data, &["dossier", "audit-verify"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).trim(), "audit chain verified: 2 entries");
}

#[test]
fn bad_requests_get_a_clear_error_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut bad = submission();
    bad["data"]["so_tang"] = serde_json::json!("ba");
    let sub = write(dir.path(), "bad.json", bad);
    let out = motcua(&data, &["dossier", "submit", &sub]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("error[invalid_form]"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("/so_tang"),
        "{}",
        text(&out.stderr)
    );

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{not json").unwrap();
    let out = motcua(&data, &["dossier", "submit", garbage.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unreadable request is a usage error"
    );
    assert!(
        text(&out.stderr).contains("not a valid request"),
        "{}",
        text(&out.stderr)
    );

    let out = motcua(&data, &["dossier", "show", "000.17.22.H56-260601-0001"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[not_found]"));
}

#[test]
fn the_demo_walks_every_sample_procedure_to_its_result_on_time() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .current_dir(root())
        .args([
            "demo",
            "--data",
            dir.path().join("data").to_str().unwrap(),
            "--now",
            "2026-12-01T08:00:00+07:00",
        ])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}\n{}", stdout, text(&out.stderr));
    let samples = std::fs::read_dir(root().join("procedures"))
        .unwrap()
        .count();
    // Early or on time, as the national index counts them.
    assert_eq!(
        stdout.matches("kết quả: ResultIssued, sớm hạn").count()
            + stdout.matches("kết quả: ResultIssued, đúng hạn").count(),
        samples,
        "{stdout}"
    );
    assert!(stdout.contains("Giấy tiếp nhận và hẹn trả kết quả"));
    assert!(stdout.contains("audit chain verified"), "{stdout}");
}

#[test]
fn a_long_list_prints_a_cursor_and_the_next_page_continues_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for key in ["quay-1-0001", "quay-1-0002"] {
        let mut s = submission();
        s["idempotency_key"] = key.into();
        let sub = write(dir.path(), &format!("{key}.json"), s);
        let out = motcua(&data, &["dossier", "submit", &sub]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let list = |extra: &[&str]| {
        let mut args = vec![
            "dossier",
            "list",
            "--applicant",
            "079090001234",
            "--limit",
            "1",
        ];
        args.extend_from_slice(extra);
        let out = motcua(&data, &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let first = list(&[]);
    let mut lines = first.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("000.17.22.H56-260601-0001\t")
    );
    let cursor = lines
        .next()
        .and_then(|l| l.strip_prefix("more: --after "))
        .unwrap_or_else(|| panic!("no cursor in {first}"))
        .to_string();
    let second = list(&["--after", &cursor]);
    assert!(
        second.starts_with("000.17.22.H56-260601-0002\t"),
        "{second}"
    );
    let out = motcua(
        &data,
        &[
            "dossier",
            "list",
            "--applicant",
            "079090001234",
            "--after",
            "xyz",
        ],
    );
    assert!(
        text(&out.stderr).starts_with("error[bad_cursor]:"),
        "{}",
        text(&out.stderr)
    );
}

/// Regression (hardening review): `motcua dossier --data typo audit-verify` created an empty
/// store and printed "audit chain verified: 0 entries" with exit 0; `show` and `list` did the
/// same. Commands that only read refuse a folder without a store, naming it, and create
/// nothing; `motcua init` creates one.
#[test]
fn a_read_on_a_folder_without_a_store_exits_2_naming_it_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("dta");
    for args in [
        vec!["dossier", "audit-verify"],
        vec!["dossier", "show", "000.17.22.H56-260601-0001"],
        vec!["dossier", "list", "--overdue"],
        vec!["dossier", "history", "000.17.22.H56-260601-0001"],
    ] {
        let out = motcua(&typo, &args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stdout)
        );
        let err = text(&out.stderr);
        assert!(err.contains(&typo.display().to_string()), "{args:?}: {err}");
        assert!(err.contains("holds no motcua store"), "{err}");
        assert!(err.contains("error[store_unusable]"), "{err}");
        assert!(!typo.exists(), "{args:?} created the folder");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args(["init", "--data", typo.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = motcua(&typo, &["dossier", "audit-verify"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "audit chain verified: 0 entries\n");
}

/// Regression (hardening review): a misspelt `idempotency_key` was silently dropped.
#[test]
fn a_request_with_a_misspelt_field_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut sub = submission();
    let key = sub
        .as_object_mut()
        .unwrap()
        .remove("idempotency_key")
        .unwrap();
    sub["idempotencyKey"] = key;
    let path = write(dir.path(), "submit.json", sub);
    let out = motcua(&data, &["dossier", "submit", &path]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("unknown field `idempotencyKey`"), "{err}");
}

/// Regression (hardening review): every CLI call compiled the pinned plugins again with
/// Cranelift. The compiled plugins are kept in the data folder, keyed by sha256 and wasmtime's
/// compatibility hash, and a damaged cache file is compiled again and replaced.
#[test]
fn compiled_plugins_are_cached_beside_the_store_and_a_damaged_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_motcua"))
            .current_dir(root())
            .args(["dossier", "--data", data.to_str().unwrap()])
            .args(["--procedures", "tests/fixtures/plugin-engine"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["list", "--overdue"]);
    assert_eq!(out.status.code(), Some(2), "no store yet");
    assert!(!data.exists());
    let out = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args(["init", "--data", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    // A command that writes loads the procedures folder, so every pinned plugin is compiled.
    let permit = write(
        dir.path(),
        "permit.json",
        serde_json::json!({
            "procedure": "xay-dung-tu-dong",
            "applicant": {"id": "048090001234", "name": "Nguyễn Văn An"},
            "channel": "desk",
            "data": {"so_cccd": "048090001234", "nam_sinh": 1990, "gioi_tinh": "nam",
                     "dien_tich_san": 180.0, "quan": "hai_chau"},
            "documents": ["don", "ban_ve", "gcn_qsdd"],
            "received_by": {"id": "mc01", "roles": ["mot_cua"], "departments": ["bo_phan_mot_cua"]}
        }),
    );
    let out = run(&["submit", &permit]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cache = data.join("plugin-cache");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    // One artifact per plugin the fixtures pin, named by its sha256.
    let mut pinned: Vec<String> = std::fs::read_dir(root().join("tests/fixtures/plugin-engine"))
        .unwrap()
        .flat_map(|e| {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            text.lines()
                .filter_map(|l| l.trim().strip_prefix("sha256: ").map(String::from))
                .collect::<Vec<_>>()
        })
        .collect();
    pinned.sort();
    pinned.dedup();
    let named: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy()[..64].to_string())
        .collect();
    assert_eq!(named, pinned, "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| f.extension().is_some_and(|e| e == "cwasm"))
    );
    std::fs::write(&files[0], b"not a compiled component").unwrap();
    let out = run(&["submit", &permit]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let repaired = std::fs::read(&files[0]).unwrap();
    assert!(
        repaired.len() > 1000,
        "the damaged artifact was compiled again"
    );
}

fn motcua_at(data: &Path, now: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_motcua"));
    cmd.current_dir(root());
    cmd.args(args.iter().take(1));
    cmd.args([
        "--data",
        data.to_str().unwrap(),
        "--procedures",
        "tests/fixtures/engine",
        "--now",
        now,
    ]);
    cmd.args(args.iter().skip(1));
    cmd.output().unwrap()
}

#[test]
fn tick_fires_what_is_due_once_and_show_reports_each_clock() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sub = write(dir.path(), "submit.json", submission());
    // Received Monday 09:00: the desk's half day runs out at 14:00 (lunch is not counted).
    let out = motcua(&data, &["dossier", "submit", &sub]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let code = "000.17.22.H56-260601-0001";

    let early = motcua_at(&data, "2026-06-01T13:59:00+07:00", &["dossier", "tick"]);
    assert!(early.status.success(), "{}", text(&early.stderr));
    assert_eq!(text(&early.stdout).trim(), "", "nothing is due at 13:59");

    let due = motcua_at(&data, "2026-06-01T14:00:00+07:00", &["dossier", "tick"]);
    assert!(due.status.success(), "{}", text(&due.stderr));
    let lines: Vec<serde_json::Value> = text(&due.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["dossier"], code);
    assert_eq!(lines[0]["kind"], "step_due");
    assert_eq!(lines[0]["state"], "tiep_nhan");
    assert_eq!(lines[0]["due"], "2026-06-01T07:00:00Z");
    assert_eq!(lines[0]["did"][0], "marked the step overdue");

    // The options may also follow the subcommand, as in `dossier tick --now T`.
    let again = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .current_dir(root())
        .args(["dossier", "--data", data.to_str().unwrap(), "tick"])
        .args(["--now", "2026-06-01T15:00:00+07:00"])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(text(&again.stdout).trim(), "", "a timer fires once");

    let show = motcua_at(
        &data,
        "2026-06-01T15:00:00+07:00",
        &["dossier", "show", code],
    );
    assert!(show.status.success(), "{}", text(&show.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    let step = &shown["clocks"]["steps"][0];
    assert_eq!(step["state"], "tiep_nhan");
    assert_eq!(step["clock"], "overdue");
    assert_eq!(step["due_at"], "2026-06-01T07:00:00Z");
    assert_eq!(step["overdue_since"], "2026-06-01T07:00:00Z");
    assert_eq!(shown["clocks"]["statutory"]["state"], "not_due");
    assert_eq!(
        shown["clocks"]["statutory"]["due_at"],
        "2026-06-22T02:00:00Z"
    );
    // The breach is an audit entry by the system.
    let history = motcua_at(
        &data,
        "2026-06-01T15:00:00+07:00",
        &["dossier", "history", code],
    );
    let last: serde_json::Value =
        serde_json::from_str(text(&history.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["action"], "system:overdue");
    assert_eq!(last["actor"], "system");
}

#[test]
fn tick_on_a_folder_without_a_store_exits_2_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("missing");
    let out = motcua(&data, &["dossier", "tick"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("store_unusable"),
        "{}",
        text(&out.stderr)
    );
    assert!(!data.exists());
}

#[test]
fn classification_rules_from_a_file_change_what_counts_as_early_and_a_bad_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, "early: never\n").unwrap();
    let demo = |rules: &Path, data: &str| {
        Command::new(env!("CARGO_BIN_EXE_motcua"))
            .current_dir(root())
            .args(["demo", "--data", dir.path().join(data).to_str().unwrap()])
            .args([
                "--now",
                "2026-12-01T08:00:00+07:00",
                "--rules",
                rules.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let out = demo(&rules, "a");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}\n{}", stdout, text(&out.stderr));
    assert_eq!(stdout.matches("sớm hạn").count(), 0, "{stdout}");
    assert!(
        stdout.contains("kết quả: ResultIssued, đúng hạn"),
        "{stdout}"
    );

    std::fs::write(&rules, "early: never\napology_late: false\n").unwrap();
    let out = demo(&rules, "b");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("apology_late"),
        "{}",
        text(&out.stderr)
    );
}
