//! `motcua simulate` as an author and a leader use it, run as the real binary: a forecast
//! in Vietnamese and the same run as JSON, a what-if with a cut limit on the same random
//! streams, the scenario schema committed, refusals that say where, and the calibration
//! round trip: a store filled by a simulated workload of known parameters (`--record`) is
//! calibrated back (`--calibrate`) to those parameters.

use std::path::Path;

use crate::cli::{root, run, text};

const PERMIT: &str = "scenarios/cap-phep-xay-dung.yaml";

fn json(args: &[&str]) -> serde_json::Value {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn a_forecast_reads_in_vietnamese_and_its_json_is_the_same_run() {
    let out = run(&["simulate", PERMIT]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for words in [
        "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
        "Đúng hạn",
        "Chờ cán bộ",
        "Kiểm tra sự phù hợp quy hoạch",
        "Giả định:",
        "không chạy plugin",
    ] {
        assert!(table.contains(words), "{words:?} missing from:\n{table}");
    }
    assert!(
        !table.contains("kiem-tra-quy-hoach"),
        "an id where a label belongs:\n{table}"
    );
    let o = json(&["simulate", PERMIT, "--json"]);
    assert_eq!(o["replications"], 10);
    let rate = &o["total"]["on_time_rate"];
    let (low, mean, high) = (
        rate["low"].as_f64().unwrap(),
        rate["mean"].as_f64().unwrap(),
        rate["high"].as_f64().unwrap(),
    );
    assert!(low <= mean && mean <= high && high <= 1.0, "{rate}");
    // The table prints the JSON's figure, with a decimal comma.
    let percent = format!("{:.1}%", mean * 100.0).replace('.', ",");
    assert!(table.contains(&percent), "{percent} not in:\n{table}");
    // Same seed, same bytes.
    assert_eq!(o, json(&["simulate", PERMIT, "--json"]));
}

#[test]
fn a_what_if_with_a_cut_limit_is_later_on_the_same_streams() {
    let dir = tempfile::tempdir().unwrap();
    let source =
        std::fs::read_to_string(root().join("tests/fixtures/simulate/procedures/tham-dinh.yaml"))
            .unwrap();
    let cut = source.replace("duration: 5 working days", "duration: 1 working day");
    assert_ne!(source, cut);
    std::fs::write(dir.path().join("tham-dinh.yaml"), cut).unwrap();
    let scenario = "tests/fixtures/simulate/tham-dinh-scenario.yaml";
    let c = json(&[
        "simulate",
        scenario,
        "--json",
        "--compare",
        dir.path().to_str().unwrap(),
    ]);
    let total = &c["difference"][0];
    assert!(
        total["on_time_rate"]["mean"].as_f64().unwrap() < -0.05,
        "{total}"
    );
    assert_eq!(
        c["current"]["total"]["received"],
        c["proposed"]["total"]["received"]
    );
    let out = run(&[
        "simulate",
        scenario,
        "--compare",
        dir.path().to_str().unwrap(),
    ]);
    let words = text(&out.stdout);
    assert!(
        words.contains("CHÊNH LỆCH") && words.contains("điểm %"),
        "{words}"
    );
}

#[test]
fn the_scenario_schema_is_committed_and_bad_scenarios_are_refused_where_they_are_wrong() {
    let out = run(&["simulate", "--schema"]);
    let committed = std::fs::read_to_string(root().join("schemas/scenario.schema.json")).unwrap();
    assert_eq!(
        text(&out.stdout),
        committed,
        "schemas/scenario.schema.json is stale; regenerate it with\n    cargo run -p motcua-cli -- simulate --schema > schemas/scenario.schema.json"
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "procedures: [x.yaml]\nstart: 2027-01-04T08:00:00+07:00\nduration: 10 days\narivals: []\n",
    )
    .unwrap();
    let out = run(&["simulate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let e = text(&out.stderr);
    assert!(
        e.contains("bad.yaml:4:10") && e.contains("unknown field `arivals`"),
        "{e}"
    );
}

fn record(scenario: &str, data: &Path) {
    let out = run(&["simulate", scenario, "--record", data.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn a_store_filled_by_a_known_workload_calibrates_back_to_its_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    record("tests/fixtures/simulate/tham-dinh-scenario.yaml", &data);
    // The recorded store is a real store: its audit chain verifies.
    let out = run(&["audit", "verify", "--data", data.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // A second recording into the same folder is refused: nothing is overwritten.
    let again = run(&[
        "simulate",
        "tests/fixtures/simulate/tham-dinh-scenario.yaml",
        "--record",
        data.to_str().unwrap(),
    ]);
    assert!(!again.status.success());

    let calibrated = json(&[
        "simulate",
        "--calibrate",
        "--json",
        "--data",
        data.to_str().unwrap(),
        "--procedures",
        "tests/fixtures/simulate/procedures",
        "--from",
        "2027-03-06",
        "--to",
        "2027-05-09",
    ]);
    let s = &calibrated["scenario"];
    // Arrivals: 20 a working day.
    let rate = s["arrivals"][0]["per_working_day"].as_f64().unwrap();
    assert!((rate - 20.0).abs() < 2.0, "arrivals {rate}");
    // Officers: 4 appraisers, 1 at the desk.
    let officers = |role: &str| {
        s["staff"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["role"] == role)
            .unwrap()["officers"]
            .clone()
    };
    assert_eq!(officers("chuyen-vien"), 4);
    assert_eq!(officers("mot-cua"), 1);
    // Branching out of the appraisal: 0.7 / 0.2 / 0.1.
    let branch = |state: &str| {
        s["branching"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["state"] == state)
            .unwrap()
            .clone()
    };
    let shares = &branch("tham-dinh")["actions"];
    for (action, p) in [("duyet", 0.7), ("bo-sung", 0.2), ("tu-choi", 0.1)] {
        let got = shares[action].as_f64().unwrap();
        assert!((got - p).abs() < 0.04, "{action}: {got} for {p}");
    }
    // Service: a fixed 0.1 working hour at the desk, a mean of 1.2 in the appraisal (an
    // officer who idles before a step makes it look a little longer: within 15%).
    let mean_of = |state: &str| {
        let service = s["service"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["state"] == state)
            .unwrap();
        let xs: Vec<f64> = service["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        xs.windows(2).map(|w| (w[0] + w[1]) / 2.0).sum::<f64>() / (xs.len() - 1) as f64
    };
    assert!(
        (mean_of("tiep-nhan") - 0.1).abs() < 0.005,
        "{}",
        mean_of("tiep-nhan")
    );
    assert!(
        (mean_of("tham-dinh") - 1.2).abs() < 0.18,
        "{}",
        mean_of("tham-dinh")
    );
    // The applicant's response: median 2 days = 48 hours.
    let response = &branch("cho-bo-sung")["response"]["samples"];
    let xs = response.as_array().unwrap();
    let median = xs[xs.len() / 2].as_f64().unwrap();
    assert!((median - 48.0).abs() < 8.0, "response median {median} h");
    // Where dossiers wait, for the leader's diagram.
    let observed = calibrated["observed"].as_array().unwrap();
    let appraisal = observed.iter().find(|o| o["state"] == "tham-dinh").unwrap();
    assert_eq!(appraisal["label"], "Thẩm định");
    assert!(appraisal["steps"].as_u64().unwrap() > 500);

    // The same log moved into PostgreSQL calibrates to the same scenario, byte for byte.
    let file = dir.path().join("recorded.backup");
    let out = run(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let url = crate::pg::cluster().fresh_database();
    let out = run(&["restore", "--from", file.to_str().unwrap(), "--store", &url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let from_pg = json(&[
        "simulate",
        "--calibrate",
        "--json",
        "--store",
        &url,
        "--procedures",
        "tests/fixtures/simulate/procedures",
        "--from",
        "2027-03-06",
        "--to",
        "2027-05-09",
    ]);
    assert_eq!(from_pg, calibrated);

    // The calibrated scenario runs as it is written.
    let written = run(&[
        "simulate",
        "--calibrate",
        "--data",
        data.to_str().unwrap(),
        "--procedures",
        root()
            .join("tests/fixtures/simulate/procedures")
            .to_str()
            .unwrap(),
        "--from",
        "2027-03-06",
        "--to",
        "2027-05-09",
    ]);
    assert!(written.status.success(), "{}", text(&written.stderr));
    let file = dir.path().join("as-is.yaml");
    std::fs::write(&file, &written.stdout).unwrap();
    let o = json(&["simulate", file.to_str().unwrap(), "--json"]);
    let rate = o["total"]["on_time_rate"]["mean"].as_f64().unwrap();
    assert!(rate > 0.8, "as is: {rate}");
}
