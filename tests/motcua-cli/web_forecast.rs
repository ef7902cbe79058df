//! Forecasts on the screens and over the API (issue 30), against the real binary on
//! 127.0.0.1 with the repository's scenarios (`--scenarios`): the author's what-if before a
//! version takes effect, the leader's charts and the diagram coloured by the waits of dossiers
//! really moved, the API's answer equal to `motcua simulate --json`, and its refusals.

use crate::http;
use crate::web;
use crate::web_screens::{act, house_permit_in_review, in_state, wait_for};

use http::{ADMIN, AUDITOR, CITIZEN, HA_TANG, LEADER, PORTAL, Server};
use serde_json::{Value, json};
use web::Browser;

const MONDAY_MORNING: &str = "2026-12-07T08:30:00+07:00";
const SCENARIO: &str = "cap-phep-xay-dung";
const PROCEDURE: &str = "cap-phep-xay-dung-nha-o";

fn start(dir: &std::path::Path) -> Server {
    let scenarios = http::root().join("scenarios");
    Server::start(
        dir,
        &[
            "--now",
            MONDAY_MORNING,
            "--scenarios",
            &scenarios.display().to_string(),
        ],
    )
}

fn base(s: &Server) -> String {
    format!("http://{}", s.addr)
}

/// The construction permit with its steps' budgets cut (the checks from 7 to 2 working days,
/// the rest to half a day) and its statutory limit with them, from 15 to 6 days (the validator
/// keeps the budgets within the limit): a proposal that must show as a lower on-time rate.
fn cut_budgets() -> String {
    let source = std::fs::read_to_string(http::root().join(format!("procedures/{PROCEDURE}.yaml")))
        .expect("the sample procedure");
    assert!(
        source.contains("  duration: 15 days\n"),
        "the sample's limit moved"
    );
    assert_eq!(source.matches("budget: 7 working days").count(), 2);
    source
        .replacen("  duration: 15 days\n", "  duration: 6 days\n", 1)
        .replace("budget: 2 working days", "budget: 1 working day")
        .replace("budget: 1 working day\n", "budget: 0.5 working days\n")
        .replace("budget: 7 working days", "budget: 2 working days")
}

/// `motcua simulate --json` of the repository's scenario, as the CLI prints it.
fn cli_outcome() -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args(["simulate", "--json"])
        .arg(http::root().join(format!("scenarios/{SCENARIO}.yaml")))
        .output()
        .expect("running motcua simulate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the CLI's JSON")
}

#[test]
fn the_api_forecasts_as_the_cli_does_compares_a_proposal_and_refuses_in_vietnamese() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = start(dir.path());

    // Same scenario, same seed: the same figures, byte for byte.
    let r = s.post(
        "/v1/simulations",
        Some(LEADER),
        &[],
        &json!({"scenario": SCENARIO}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let api = r.json();
    let cli = cli_outcome();
    assert_eq!(
        serde_json::to_string(&api).expect("json"),
        serde_json::to_string(&cli).expect("json")
    );

    // A proposal runs on the same streams: its "current" is the plain forecast, and cutting the
    // budgets lowers the on-time rate, with an interval entirely below zero.
    let r = s.post(
        "/v1/simulations",
        Some(ADMIN),
        &[],
        &json!({"scenario": SCENARIO, "proposed": cut_budgets()}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let c = r.json();
    assert_eq!(c["current"], cli);
    let total = &c["difference"][0];
    assert!(total["procedure"].is_null(), "{total}");
    let high = total["on_time_rate"]["high"].as_f64().expect("an interval");
    assert!(high < 0.0, "the cut must lower the rate: {total}");

    // An inline scenario runs the versions in force of the procedures its arrivals name.
    let inline = std::fs::read_to_string(http::root().join(format!("scenarios/{SCENARIO}.yaml")))
        .expect("scenario")
        .replace("replications: 10", "replications: 2");
    let r = s.post(
        "/v1/simulations",
        Some(LEADER),
        &[],
        &json!({"scenario_yaml": inline}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["replications"], 2);

    // Refusals: a Vietnamese detail, a stable code, the technical cause beside it.
    let refused = |body: Value, status: u16, code: &str, words: &str| {
        let r = s.post("/v1/simulations", Some(LEADER), &[], &body);
        assert_eq!(r.status, status, "{body}: {}", r.text());
        let p = r.json();
        assert_eq!(p["code"], code, "{p}");
        let detail = p["detail"].as_str().expect("detail");
        assert!(detail.contains(words), "{detail}");
    };
    refused(
        json!({"scenario_yaml": "start: không phải ngày\n"}),
        422,
        "invalid_scenario",
        "Kịch bản không đọc được ở dòng 1",
    );
    refused(
        json!({"scenario_yaml": inline.replace("{du: 0.9, thieu: 0.1}", "{du: 0.9, thieu: 0.3}")}),
        422,
        "invalid_scenario",
        "các tỉ lệ cộng lại bằng 1,2, không phải 1",
    );
    refused(
        json!({"scenario_yaml": inline
            .replace("replications: 2", "replications: 1000")
            .replace("per_working_day: 3", "per_working_day: 400")}),
        422,
        "invalid_scenario",
        "Kịch bản quá lớn để chạy trên máy chủ",
    );
    refused(
        json!({"scenario": SCENARIO, "proposed": "id: [\n"}),
        422,
        "invalid_scenario",
        "Phiên bản đề xuất có",
    );
    refused(
        json!({"scenario": "khong-co"}),
        404,
        "unknown_scenario",
        "Máy chủ không có kịch bản “khong-co”",
    );
    refused(
        json!({"scenario": SCENARIO, "scenario_yaml": inline}),
        400,
        "invalid_request",
        "Nêu đúng một kịch bản",
    );

    // Forecasts are the authors' and the officers': not a citizen's, a portal's or an auditor's.
    for who in [CITIZEN, PORTAL, AUDITOR] {
        let r = s.post(
            "/v1/simulations",
            Some(who),
            &[],
            &json!({"scenario": SCENARIO}),
        );
        assert_eq!(r.status, 403, "{}: {}", who.subject, r.text());
        let r = s.get(&format!("/v1/procedures/{PROCEDURE}/waits"), Some(who));
        assert_eq!(r.status, 403, "{}: {}", who.subject, r.text());
    }
    let r = s.get(
        &format!("/v1/procedures/{PROCEDURE}/waits?from=2026-12-07&to=2026-12-01"),
        Some(LEADER),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Khoảng thời gian"))
    );
    let r = s.get(
        &format!("/v1/procedures/{PROCEDURE}/waits?to="),
        Some(LEADER),
    );
    assert_eq!(r.status, 400, "an empty day is no day: {}", r.text());
    let r = s.get("/v1/procedures/khong-co/waits", Some(LEADER));
    assert_eq!(r.status, 404, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_author_forecasts_cut_budgets_before_it_takes_effect_and_sees_the_difference() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = start(dir.path());
    let b = Browser::start(&base(&s), 1280, 2600).await;
    b.sign_in(ADMIN.token).await;
    b.goto("/thu-tuc/tai-len").await;
    // The source is pasted whole (typing 17 kB key by key would only slow the test).
    b.client
        .execute(
            "document.getElementById('source').value = arguments[0]",
            vec![json!(cut_budgets())],
        )
        .await
        .expect("paste");
    b.select("#scenario", SCENARIO).await;
    b.click("#forecast").await;
    b.wait_for("#forecast-result").await;
    assert_eq!(b.path().await, "/thu-tuc/du-bao");
    let difference = b.text("#forecast-difference").await;
    assert!(difference.contains("Tổng cộng"), "{difference}");
    // Percentage points, negative, with the interval: "-5,3 điểm % (-9,6 đến -1,0)".
    let total = difference
        .lines()
        .find(|l| l.starts_with("Tổng cộng"))
        .expect("the total's row");
    assert!(
        total.contains("điểm %") && total.contains(" đến "),
        "{total}"
    );
    assert!(
        total.contains("Tổng cộng -"),
        "the cut must lower the rate: {total}"
    );
    // Both forecasts with their intervals, the chart with its whiskers, the waits side by side.
    let current = b.text("#forecast-current").await;
    let proposed = b.text("#forecast-proposed").await;
    for t in [&current, &proposed] {
        assert!(t.contains("Cấp giấy phép xây dựng mới"), "{t}");
        assert!(t.contains("Kiểm tra sự phù hợp quy hoạch"), "{t}");
    }
    let chart = b.client.source().await.expect("source");
    assert!(
        chart.contains("class=\"whisker\""),
        "the rate chart draws intervals"
    );
    let waits = b.text("#forecast-waits").await;
    assert!(waits.contains("Kiểm tra an toàn kết cấu"), "{waits}");
    // Nothing was stored: the version in force is still the only one.
    let p = s
        .get(&format!("/v1/procedures/{PROCEDURE}"), Some(ADMIN))
        .json();
    assert_eq!(p["versions"].as_array().map(Vec::len), Some(1), "{p}");
    b.shot("forecast-what-if").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_sees_the_forecast_charts_and_where_real_dossiers_waited() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = start(dir.path());
    // A dossier really moved: both checks start at 08:30; one officer finishes the planning
    // check at 11:30 and only then the structure check, at 14:30. The structure check waited
    // three working hours for him; the planning check none.
    let (code, _) = house_permit_in_review(&s, "forecast-1");
    let at = |t: &str| {
        let r = s.post("/v1/clock", Some(ADMIN), &[], &json!({"now": t}));
        assert_eq!(r.status, 200, "{}", r.text());
    };
    at("2026-12-07T11:30:00+07:00");
    act(&s, HA_TANG, &code, "xong-quy-hoach", json!({}));
    at("2026-12-07T14:30:00+07:00");
    act(&s, HA_TANG, &code, "xong-ket-cau", json!({}));
    wait_for(&s, &code, |d| in_state(d, "tong-hop"));

    let r = s.get(&format!("/v1/procedures/{PROCEDURE}/waits"), Some(LEADER));
    assert_eq!(r.status, 200, "{}", r.text());
    let w = r.json();
    assert_eq!(w["from"], "2026-09-09");
    assert_eq!(w["to"], "2026-12-07");
    let state = |id: &str| {
        w["states"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["state"] == id))
            .unwrap_or_else(|| panic!("{id} in {w}"))
            .clone()
    };
    let ket_cau = state("kiem-tra-ket-cau");
    assert_eq!(ket_cau["steps"], 1);
    assert_eq!(ket_cau["wait_hours"]["p50"], 3.0, "{ket_cau}");
    assert_eq!(state("kiem-tra-quy-hoach")["wait_hours"]["p50"], 0.0);

    let b = Browser::start(&base(&s), 1280, 2400).await;
    b.sign_in(LEADER.token).await;
    b.goto("/lanh-dao").await;
    b.click("#leader-forecast a[href='/lanh-dao/cho-doi']")
        .await;
    b.wait_for("#thu-tuc").await;
    b.select("#thu-tuc", PROCEDURE).await;
    b.click("#show").await;
    b.wait_for("#waits-table").await;
    let table = b.text("#waits-table").await;
    assert!(table.contains("Kiểm tra an toàn kết cấu"), "{table}");
    let page = b.client.source().await.expect("source");
    // The diagram's boxes of the steps seen are filled by their median wait, the line in the
    // box says it; 3 working hours is the 1–4 hour colour. Labels only: no officer's id.
    let waited: Vec<&str> = page
        .split("<g class=\"")
        .skip(1)
        .filter(|g| g.split('"').next().is_some_and(|c| c.contains("waited")))
        .collect();
    assert!(waited.len() >= 3, "{} boxes coloured", waited.len());
    let box_of = waited
        .iter()
        .find(|g| g.contains("Chờ trung vị: 3,0 giờ"))
        .expect("the structure check's box says its wait");
    assert!(box_of.contains("#fef9c3"), "{box_of}");
    assert!(
        !page.contains(HA_TANG.subject),
        "people by labels, never ids"
    );
    b.shot("leader-waits").await;

    b.goto("/lanh-dao/du-bao").await;
    b.wait_for("#forecast-figures").await;
    let page = b.client.source().await.expect("source");
    for chart in [
        "forecast-rate-chart",
        "forecast-queue-chart",
        "forecast-utilisation-chart",
    ] {
        assert!(page.contains(&format!("id=\"{chart}\"")), "{chart}");
    }
    assert!(page.contains("class=\"whisker\""), "rates with intervals");
    assert!(
        page.matches("<polyline class=\"queue\"").count() >= 2,
        "queues per step"
    );
    let figures = b.text("#forecast-figures").await;
    assert!(
        figures.contains("Chuyên viên") || figures.contains("%"),
        "{figures}"
    );
    b.shot("leader-forecast").await;
    b.close().await;
}
