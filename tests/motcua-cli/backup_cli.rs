//! `motcua backup` and `motcua restore` against the real binary: a running server's backup
//! taken through it, moved into PostgreSQL, where a server serves the same dossiers and
//! papers; a restore killed midway leaves nothing behind and can be run again.

use crate::cli::{run, text};
use crate::http::{ADMIN, AUDITOR, DESK, Server};
use crate::web_screens::{house_permit_in_review, start};
use serde_json::Value;

fn upload(s: &Server, code: &str, bytes: &[u8]) {
    let r = s.request(
        "POST",
        &format!("/v1/dossiers/{code}/documents?kind=giay-to-dat"),
        Some(DESK),
        &[
            ("content-type", "application/pdf"),
            ("content-disposition", "attachment; filename=\"gcn.pdf\""),
        ],
        Some(bytes),
    );
    assert_eq!(r.status, 201, "{}", r.text());
}

fn shown(s: &Server, code: &str) -> (Value, Value) {
    let d = s.get(&format!("/v1/dossiers/{code}"), Some(AUDITOR)).json();
    let papers = s
        .get(&format!("/v1/dossiers/{code}/documents"), Some(AUDITOR))
        .json();
    (d, papers)
}

#[test]
fn a_running_servers_backup_moves_to_postgresql_where_a_server_serves_it_unchanged() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let (first, _) = house_permit_in_review(&s, "backup-1");
    let (second, _) = house_permit_in_review(&s, "backup-2");
    upload(&s, &first, crate::papers::PDF);
    let before = [shown(&s, &first), shown(&s, &second)];
    let head = s.get("/v1/audit/verify", Some(AUDITOR)).json();

    // Taken through the server while it runs; an officer who is not an admin may not.
    let file = dir.path().join("store.backup");
    let file_s = file.to_str().expect("utf-8");
    let server = format!("http://{}", s.addr);
    let out = run(&[
        "backup", "--server", &server, "--token", DESK.token, "--out", file_s,
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("403"), "{}", text(&out.stderr));
    let out = run(&[
        "backup",
        "--server",
        &server,
        "--token",
        ADMIN.token,
        "--out",
        file_s,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("{} audit entries", head["count"])),
        "{}",
        text(&out.stdout)
    );
    // The folder itself is the server's while it runs: the command says how to go on.
    let data = dir.path().join("data");
    let out = run(&[
        "backup",
        "--data",
        data.to_str().expect("utf-8"),
        "--out",
        dir.path().join("other.backup").to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--server"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["restore", "--from", file_s, "--check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    s.terminate();
    // The inspectors' signed checkpoint, taken before the move.
    let key = dir.path().join("h17.key");
    let key_s = key.to_str().expect("utf-8");
    let data_s = data.to_str().expect("utf-8");
    let out = run(&[
        "audit",
        "keygen",
        "--out",
        key_s,
        "--agency",
        "000.17.22.H17",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["audit", "checkpoint", "--data", data_s, "--key", key_s]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let checkpoint = dir.path().join("checkpoint.json");
    std::fs::write(&checkpoint, &out.stdout).expect("kept");

    // Into PostgreSQL: the chain proves, and a server there serves the same dossiers.
    let url = crate::pg::cluster().fresh_database();
    let out = run(&["restore", "--from", file_s, "--store", &url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("status.key"),
        "reminds of the keys"
    );
    let out = run(&[
        "audit",
        "verify",
        "--store",
        &url,
        "--checkpoint",
        checkpoint.to_str().expect("utf-8"),
        "--pubkey",
        &format!("{key_s}.pub"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("extends the checkpoint"),
        "the checkpoint from before the move verifies after it: {}",
        text(&out.stdout)
    );
    let out = run(&["restore", "--from", file_s, "--store", &url]);
    assert!(!out.status.success(), "a second restore into it is refused");
    assert!(
        text(&out.stderr).contains("not empty"),
        "{}",
        text(&out.stderr)
    );

    let moved = dir.path().join("moved");
    std::fs::create_dir_all(moved.join("data")).expect("dir");
    // The slips' secrets stay good with the old status key.
    std::fs::copy(data.join("status.key"), moved.join("data/status.key")).expect("key");
    std::fs::copy(dir.path().join("tokens.yaml"), moved.join("tokens.yaml")).expect("tokens");
    let s = Server::start(
        &moved,
        &["--now", "2026-12-07T08:30:00+07:00", "--store", &url],
    );
    for (code, (d, papers)) in [&first, &second].into_iter().zip(before) {
        let (d2, papers2) = shown(&s, code);
        assert_eq!(d2, d, "{code} unchanged");
        assert_eq!(papers2, papers, "{code}'s papers unchanged");
    }
    let sha = {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(crate::papers::PDF))
    };
    let r = s.get(
        &format!("/v1/dossiers/{first}/documents/{sha}"),
        Some(AUDITOR),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, crate::papers::PDF);
    let v = s.get("/v1/audit/verify", Some(AUDITOR)).json();
    assert_eq!(
        (v["count"].clone(), v["ok"].clone()),
        (head["count"].clone(), true.into())
    );
    s.terminate();
}

#[test]
fn a_restore_killed_midway_leaves_no_store_and_runs_again() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    for n in 0..3 {
        let (code, _) = house_permit_in_review(&s, &format!("kill-{n}"));
        let mut bytes = crate::papers::PDF.to_vec();
        bytes.extend(std::iter::repeat_n(b'0', 4 << 20));
        bytes.extend_from_slice(format!("% {n}\n").as_bytes());
        upload(&s, &code, &bytes);
    }
    s.terminate();
    let data = dir.path().join("data");
    let file = dir.path().join("store.backup");
    let out = run(&[
        "backup",
        "--data",
        data.to_str().expect("utf-8"),
        "--out",
        file.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let target = dir.path().join("restored");
    // Killed at once, then a little later, then left to finish: never a store half there.
    for wait_ms in [0u64, 30, 120] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
            .args(["restore", "--from", file.to_str().expect("utf-8"), "--data"])
            .arg(&target)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("restore runs");
        std::thread::sleep(std::time::Duration::from_millis(wait_ms));
        let _ = child.kill();
        let status = child.wait().expect("waited");
        let left = target.exists() && std::fs::read_dir(&target).expect("dir").next().is_some();
        if status.success() || left {
            // Killed (or not) after the rename: complete, as the verification below shows.
            break;
        }
    }
    let out = run(&[
        "restore",
        "--from",
        file.to_str().expect("utf-8"),
        "--data",
        target.to_str().expect("utf-8"),
    ]);
    if !out.status.success() {
        // Already complete from a run that finished before the kill: not restored twice.
        assert!(
            text(&out.stderr).contains("not empty"),
            "{}",
            text(&out.stderr)
        );
    }
    let out = run(&["audit", "verify", "--data", target.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("papers: 3 checked"),
        "{}",
        text(&out.stdout)
    );
}

/// `motcua audit export --format jsonl` and the report by procedure, of a sled folder or a
/// PostgreSQL store.
fn exported(place: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let mut export = vec!["audit", "export", "--format", "jsonl"];
    export.extend_from_slice(place);
    let lines = run(&export);
    assert!(lines.status.success(), "{}", text(&lines.stderr));
    let mut report = vec![
        "report",
        "on-time",
        "--from",
        "2020-01-01",
        "--to",
        "2030-12-31",
        "--by",
        "procedure",
        "--format",
        "json",
    ];
    report.extend_from_slice(place);
    let figures = run(&report);
    assert!(figures.status.success(), "{}", text(&figures.stderr));
    (lines.stdout, figures.stdout)
}

#[test]
fn every_sample_procedure_walked_moves_to_postgresql_and_back_line_for_line() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let data_s = data.to_str().expect("utf-8");
    // Linked children, pauses, extensions, apologies, fired timers: the demo walks them all.
    let out = run(&[
        "demo",
        "--data",
        data_s,
        "--now",
        "2026-12-07T08:30:00+07:00",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let before = exported(&["--data", data_s]);
    assert!(before.0.len() > 10_000, "a walked catalogue");

    let file = dir.path().join("sled.backup");
    let out = run(&[
        "backup",
        "--data",
        data_s,
        "--out",
        file.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let url = crate::pg::cluster().fresh_database();
    let out = run(&[
        "restore",
        "--from",
        file.to_str().expect("utf-8"),
        "--store",
        &url,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        exported(&["--store", &url]),
        before,
        "the audit lines and the report, byte for byte on PostgreSQL"
    );

    let back_file = dir.path().join("pg.backup");
    let out = run(&[
        "backup",
        "--store",
        &url,
        "--out",
        back_file.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let back = dir.path().join("back");
    let back_s = back.to_str().expect("utf-8");
    let out = run(&[
        "restore",
        "--from",
        back_file.to_str().expect("utf-8"),
        "--data",
        back_s,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(exported(&["--data", back_s]), before, "and back on sled");
    let out = run(&["audit", "verify", "--data", back_s]);
    assert!(out.status.success(), "{}", text(&out.stdout));
}

#[test]
fn a_backup_killed_midway_leaves_the_source_untouched_and_no_backup_file() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let data_s = data.to_str().expect("utf-8");
    let out = run(&[
        "demo",
        "--data",
        data_s,
        "--now",
        "2026-12-07T08:30:00+07:00",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let before = exported(&["--data", data_s]);
    let file = dir.path().join("cut.backup");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args([
            "backup",
            "--data",
            data_s,
            "--out",
            file.to_str().expect("utf-8"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("backup runs");
    std::thread::sleep(std::time::Duration::from_millis(15));
    let _ = child.kill();
    let finished = child.wait().expect("waited").success();
    if !finished {
        assert!(!file.exists(), "only a complete backup takes the name");
        let part = dir.path().join("cut.backup.part");
        if part.exists() {
            let out = run(&[
                "restore",
                "--from",
                part.to_str().expect("utf-8"),
                "--check",
            ]);
            assert!(!out.status.success(), "a cut backup is refused");
        }
    }
    assert_eq!(
        exported(&["--data", data_s]),
        before,
        "the source untouched"
    );
    let out = run(&["audit", "verify", "--data", data_s]);
    assert!(out.status.success(), "{}", text(&out.stdout));
}
