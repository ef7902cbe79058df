//! `motcua audit list`, `export` and `slip`, run as the real binary on a data folder holding a
//! building permit received at the desk and sent to its parallel appraisals.

use crate::cli;

use std::path::{Path, PathBuf};
use std::process::Output;

use cli::{desk_officer, dossier, house_permit, run, text};

const CODE: &str = "000.17.22.H56-260601-0001";
const SUPPLEMENT: &str = "Thiếu bản vẽ, \"mặt cắt\" và\nmặt bằng tầng 2";

/// A permit received Monday 1 June 2026 at 09:00, sent to appraisal at 10:30, and its
/// structure appraisal asks for a supplement at 14:00.
fn permit_office() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let desk = desk_officer();
    let out = dossier(
        &data,
        "2026-06-01T09:00:00+07:00",
        "submit",
        house_permit("079090001234"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = dossier(
        &data,
        "2026-06-01T10:30:00+07:00",
        "act",
        serde_json::json!({
            "dossier": CODE, "action": "chuyen_tham_dinh", "seen_version": 1, "actor": desk,
        }),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = dossier(
        &data,
        "2026-06-01T14:00:00+07:00",
        "act",
        serde_json::json!({
            "dossier": CODE, "action": "yeu_cau_bo_sung_ket_cau", "seen_version": 2,
            "comment": SUPPLEMENT, "input": {"giay_to_can_bo_sung": ["ban_ve"]},
            "actor": {"id": "qlxd01", "roles": ["chuyen_vien"], "departments": ["phong_qlxd"]},
        }),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    (dir, data)
}

fn audit(data: &Path, args: &[&str]) -> Output {
    let mut all = vec![
        "audit",
        args[0],
        "--data",
        data.to_str().expect("UTF-8 path"),
    ];
    all.extend_from_slice(&args[1..]);
    run(&all)
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn audit_list_pages_with_the_cursor_it_prints_and_refuses_one_it_did_not() {
    let (_dir, data) = permit_office();
    let all = audit(&data, &["list"]);
    assert!(all.status.success(), "{}", text(&all.stderr));
    let all = json_lines(&all);
    let actions: Vec<&str> = all.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "submit",
            "chuyen_tham_dinh",
            "yeu_cau_bo_sung_ket_cau",
            "system:pause"
        ]
    );

    let mut seen = vec![];
    let mut after: Option<String> = None;
    loop {
        let mut args = vec!["list", "--limit", "3"];
        if let Some(a) = &after {
            args.extend(["--after", a.as_str()]);
        }
        let out = audit(&data, &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        seen.extend(json_lines(&out));
        match text(&out.stderr).trim().strip_prefix("next: ") {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, all, "two pages of three are the whole log");

    let desk = audit(
        &data,
        &["list", "--actor", "mc01", "--department", "bo_phan_mot_cua"],
    );
    assert_eq!(json_lines(&desk).len(), 2);
    let monday_morning = audit(
        &data,
        &[
            "list",
            "--from",
            "2026-06-01T09:30:00+07:00",
            "--to",
            "2026-06-01T12:00:00+07:00",
        ],
    );
    let got = json_lines(&monday_morning);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["action"], "chuyen_tham_dinh");
    let monday = audit(
        &data,
        &["list", "--from", "2026-06-01", "--to", "2026-06-01"],
    );
    assert_eq!(
        json_lines(&monday).len(),
        4,
        "a date is the whole local day"
    );

    let bad = audit(&data, &["list", "--after", "not-a-cursor"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).starts_with("error[bad_cursor]:"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn audit_export_streams_the_stored_lines_or_a_csv_an_inspector_can_open() {
    let (_dir, data) = permit_office();
    let out = audit(&data, &["export", "--format", "jsonl"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr).trim(), "exported: 4 entries");
    let mut prev = motcua::audit::GENESIS.to_string();
    for line in out.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let e = motcua::audit::Entry::from_line(line).expect("a stored line");
        assert_eq!(e.prev_hash, prev, "entry {}", e.seq);
        prev = e.hash;
    }
    let verified = run(&[
        "audit",
        "verify",
        "--data",
        data.to_str().expect("UTF-8 path"),
    ]);
    assert!(
        text(&verified.stdout).contains(&format!("head {prev}")),
        "{}",
        text(&verified.stdout)
    );

    let out = audit(
        &data,
        &[
            "export",
            "--format",
            "csv",
            "--action",
            "yeu_cau_bo_sung_ket_cau",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let records = crate::spreadsheets::excel_csv(&out.stdout);
    assert_eq!(records[0], motcua::messages::columns::AUDIT);
    assert_eq!(
        records[1][10], "Thiếu bản vẽ, \"mặt cắt\" và\nmặt bằng tầng 2",
        "a reason with a comma, quotes and a line break reads back whole"
    );
    // The local minute, the dossier, and the procedure and action by the names the stored
    // procedure gives them (the CLI has no catalogue but the store's).
    assert_eq!(
        records[1][..3],
        ["3", "01/06/2026 14:00", "000.17.22.H56-260601-0001"]
    );
    assert!(!records[1][3].is_ascii(), "{}", records[1][3]);
    assert!(!records[1][4].is_ascii(), "{}", records[1][4]);

    let xlsx = audit(
        &data,
        &[
            "export",
            "--format",
            "xlsx",
            "--action",
            "yeu_cau_bo_sung_ket_cau",
        ],
    );
    assert!(xlsx.status.success(), "{}", text(&xlsx.stderr));
    assert!(xlsx.stdout.starts_with(b"PK"), "a zip, as .xlsx files are");

    let bad = audit(&data, &["export", "--format", "xml"]);
    assert_eq!(bad.status.code(), Some(2), "a usage error");
}

#[test]
fn audit_slip_prints_the_handovers_as_a_table_and_as_json() {
    let (_dir, data) = permit_office();
    let out = audit(&data, &["slip", CODE]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for expected in [
        "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        "Bên giao",
        "Bên nhận",
        "Thời gian",
        "Thời hạn",
        "Kết quả",
        "01/06/2026 10:30",
        "Phòng Tài nguyên và Môi trường (Chuyên viên)",
        "Công dân (Chờ bổ sung hồ sơ kết cấu)",
        "chưa giải quyết xong",
    ] {
        assert!(table.contains(expected), "{expected} missing from\n{table}");
    }

    let out = audit(&data, &["slip", CODE, "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let slip: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let handovers = slip["handovers"].as_array().expect("handovers");
    assert_eq!(handovers.len(), 3, "the pause is not a handover");
    // Sent to appraisal: both parallel branches receive it, not the fork itself.
    let received: Vec<&str> = handovers[1]["receivers"]
        .as_array()
        .expect("receivers")
        .iter()
        .filter_map(|r| r["state"].as_str())
        .collect();
    assert_eq!(received, ["quy_hoach", "ket_cau"]);
    assert_eq!(handovers[1]["giver"]["actor"], "mc01");
    assert_eq!(handovers[1]["time"], "01/06/2026 10:30");
    assert_eq!(handovers[1]["ended"][0]["budget"], "0.5 working days");
    assert_eq!(handovers[1]["ended"][0]["class"], "on_time");

    let unknown = audit(&data, &["slip", "000.17.22.H56-260601-0099"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown.stderr).starts_with("error[not_found]:"),
        "{}",
        text(&unknown.stderr)
    );
}
