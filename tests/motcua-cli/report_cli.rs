//! `motcua report on-time`, run as the real binary on a data folder the dossier commands
//! wrote: the same report as a table, as CSV and as JSON, and its refusals.

use crate::cli;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cli::{house_permit, root, text};

/// A dossier command at 2026-06-01 `time` (Monday, Vietnam) with the engine fixtures.
fn dossier(data: &Path, time: &str, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .current_dir(root())
        .arg("dossier")
        .args(["--data", data.to_str().unwrap_or_default()])
        .args(["--procedures", "tests/fixtures/engine"])
        .args(["--now", &format!("2026-06-01T{time}:00+07:00")])
        .args(args)
        .output()
        .expect("motcua runs");
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    out
}

fn report(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_motcua"))
        .current_dir(root())
        .args([
            "report",
            "on-time",
            "--data",
            data.to_str().unwrap_or_default(),
        ])
        .args(args)
        .output()
        .expect("motcua runs")
}

fn request(dir: &Path, name: &str, json: serde_json::Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, json.to_string()).expect("request written");
    p.display().to_string()
}

/// A house permit handed in at the desk at 09:00 and still open; a same-day birth
/// registration received online at 09:00 and returned at 10:00, on time.
fn june_first(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let permit = request(dir, "permit.json", house_permit("079090001234"));
    let birth = request(
        dir,
        "birth.json",
        serde_json::json!({
            "procedure": "khai-sinh-trong-ngay-thu-nghiem",
            "applicant": {"id": "048090001234", "name": "Trần Thị Bình"},
            "channel": "online",
            "data": {"ho_ten_tre": "Lê Minh Khang"},
            "documents": [],
            "received_by": {"id": "tp01", "roles": ["tu_phap"], "departments": ["tu_phap_ho_tich"]}
        }),
    );
    dossier(&data, "09:00", &["submit", &permit]);
    dossier(&data, "09:00", &["submit", &birth]);
    let returned = request(
        dir,
        "return.json",
        serde_json::json!({
            "dossier": "000.00.31.H56-260601-0001",
            "action": "tra_ket_qua",
            "actor": {"id": "tp01", "roles": ["tu_phap"], "departments": ["tu_phap_ho_tich"]},
            "input": {},
            "seen_version": 1
        }),
    );
    dossier(&data, "10:00", &["act", &returned]);
    data
}

const JUNE: [&str; 4] = ["--from", "2026-06-01", "--to", "2026-06-30"];

#[test]
fn the_on_time_report_prints_as_a_table_as_csv_and_as_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = june_first(dir.path());

    let table = report(&data, &[&JUNE[..], &["--by", "agency"]].concat());
    assert!(table.status.success(), "{}", text(&table.stderr));
    let table = text(&table.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "On-time report 2026-06-01 to 2026-06-30, by agency"
    );
    let words = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert_eq!(
        words(lines[1]),
        [
            "agency", "received", "online", "early", "on", "time", "late", "ended", "on-time",
            "rate", "avg", "days", "open", "not", "due", "open", "overdue", "paused"
        ]
    );
    assert_eq!(
        words(lines[2]),
        [
            "000.00.31.H56",
            "1",
            "100.0%",
            "0",
            "1",
            "0",
            "1",
            "100.0%",
            "0.12",
            "0",
            "0",
            "0"
        ]
    );
    assert_eq!(
        words(lines[3]),
        [
            "000.17.22.H56",
            "1",
            "0.0%",
            "0",
            "0",
            "0",
            "0",
            "-",
            "-",
            "1",
            "0",
            "0"
        ]
    );
    assert!(lines[4].chars().all(|c| c == '-'));
    assert_eq!(
        words(lines[5]),
        [
            "(total)", "2", "50.0%", "0", "1", "0", "1", "100.0%", "0.12", "1", "0", "0"
        ]
    );

    let csv = report(
        &data,
        &[&JUNE[..], &["--by", "channel", "--format", "csv"]].concat(),
    );
    assert!(csv.status.success(), "{}", text(&csv.stderr));
    let records = crate::spreadsheets::excel_csv(&csv.stdout);
    let mut header = vec!["Kênh tiếp nhận".to_string()];
    header.extend(
        motcua::messages::columns::REPORT
            .iter()
            .map(|h| h.to_string()),
    );
    assert_eq!(records[0], header);
    // Channels by name, counts, working hours and percentages with a decimal comma, an
    // average in working days; empty where nothing ended.
    assert_eq!(
        records[1..],
        [
            [
                "Trực tiếp",
                "1",
                "0",
                "0",
                "0",
                "0",
                "0",
                "1",
                "0",
                "0",
                "0,00",
                "0,0",
                "",
                "",
                // No rating yet: counts of each level and the share of those ended.
                "0",
                "0",
                "0",
                "0",
                ""
            ],
            [
                "Trực tuyến",
                "1",
                "1",
                "0",
                "1",
                "0",
                "1",
                "0",
                "0",
                "0",
                "1,00",
                "100,0",
                "0,13",
                "100,0",
                "0",
                "0",
                "0",
                "0",
                "0,0"
            ],
            [
                "Tổng cộng",
                "2",
                "1",
                "0",
                "1",
                "0",
                "1",
                "1",
                "0",
                "0",
                "1,00",
                "50,0",
                "0,13",
                "100,0",
                "0",
                "0",
                "0",
                "0",
                "0,0"
            ],
        ]
    );

    let json = report(
        &data,
        &[&JUNE[..], &["--by", "department", "--format", "json"]].concat(),
    );
    assert!(json.status.success(), "{}", text(&json.stderr));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(v["query"]["by"], "department");
    assert_eq!(v["query"]["from"], "2026-06-01");
    let keys: Vec<&str> = v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    assert_eq!(keys, ["bo_phan_mot_cua", "tu_phap_ho_tich"]);
    assert_eq!(v["rows"][1]["on_time"], 1);
    assert_eq!(v["rows"][1]["average_working_days"], 0.125);
    assert_eq!(v["rows"][0]["on_time_rate"], serde_json::Value::Null);
    assert_eq!(v["total"]["received"], 2);

    // Another month received and ended nothing.
    let july = report(
        &data,
        &[
            "--from",
            "2026-07-01",
            "--to",
            "2026-07-31",
            "--by",
            "procedure",
            "--format",
            "csv",
        ],
    );
    assert!(july.status.success(), "{}", text(&july.stderr));
    assert_eq!(
        crate::spreadsheets::excel_csv(&july.stdout)[1],
        [
            "Tổng cộng",
            "0",
            "0",
            "0",
            "0",
            "0",
            "0",
            "0",
            "0",
            "0",
            "0,00",
            "",
            "",
            "",
            "0",
            "0",
            "0",
            "0",
            ""
        ]
    );
}

#[test]
fn a_backward_period_a_missing_store_and_an_unknown_grouping_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = june_first(dir.path());
    let backward = report(
        &data,
        &[
            "--from",
            "2026-06-30",
            "--to",
            "2026-06-01",
            "--by",
            "agency",
        ],
    );
    assert_eq!(backward.status.code(), Some(2));
    assert!(
        text(&backward.stderr).contains("after"),
        "{}",
        text(&backward.stderr)
    );

    let missing = dir.path().join("nowhere");
    let out = report(&missing, &[&JUNE[..], &["--by", "agency"]].concat());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("nowhere"),
        "{}",
        text(&out.stderr)
    );
    assert!(!missing.exists(), "a report creates no store");

    let by_room = report(&data, &[&JUNE[..], &["--by", "room"]].concat());
    assert_eq!(by_room.status.code(), Some(2));
    let bad_day = report(
        &data,
        &[
            "--from",
            "2026-02-30",
            "--to",
            "2026-06-01",
            "--by",
            "agency",
        ],
    );
    assert_eq!(bad_day.status.code(), Some(2));
}
