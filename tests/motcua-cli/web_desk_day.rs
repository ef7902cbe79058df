//! A desk's and an officer's day in a real browser (headless Chromium over WebDriver against
//! the real binary): finding a dossier that has moved on by a name typed without accents.

use crate::http;
use crate::web;

use http::{AUDITOR, DESK, Server};
use serde_json::json;
use web::Browser;

const MONDAY_MORNING: &str = "2026-12-07T08:30:00+07:00";

fn receive(s: &Server, key: &str, name: &str) -> String {
    let mut body = http::house_permit();
    body["applicant"]["name"] = json!(name);
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", key)],
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["code"].as_str().expect("code").to_string()
}

fn forward(s: &Server, code: &str) {
    let d = s.get(&format!("/v1/dossiers/{code}"), Some(AUDITOR)).json();
    let v = d["version"].as_u64().expect("version");
    let r = s.post(
        &format!("/v1/dossiers/{code}/actions"),
        Some(DESK),
        &[("if-match", &format!("\"{v}\""))],
        &json!({"action": "chuyen-kiem-tra", "input": {}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_finds_a_forwarded_dossier_by_an_unaccented_partial_name() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);
    let binh = receive(&s, "k1", "Trần Văn Bình");
    let _other = receive(&s, "k2", "Lê Thị Hoa");
    forward(&s, &binh);
    let b = Browser::start(&format!("http://{}", s.addr), 1280, 900).await;
    b.sign_in(DESK.token).await;
    b.click("nav.menu a[href='/tim-kiem']").await;
    b.wait_path(|p| p == "/tim-kiem").await;
    b.fill("#q", "van binh").await;
    b.click("#search-submit").await;
    let table = b.wait_text("#search-table", &binh).await;
    assert!(table.contains("Trần Văn Bình"), "{table}");
    assert!(!table.contains("Lê Thị Hoa"), "{table}");
    b.shot("staff-search").await;
    b.click(&format!("#search-table a[href='/ho-so/{binh}']"))
        .await;
    b.wait_path(|p| p == format!("/ho-so/{binh}")).await;
    // The list of everything handled or not, by receipt, with the filters kept in the link.
    b.goto("/tim-kiem?pham_vi=all&sap_xep=received").await;
    let table = b.wait_text("#search-table", "Lê Thị Hoa").await;
    assert!(table.contains("Trần Văn Bình"), "{table}");
    b.close().await;
}

fn dossier(s: &Server, code: &str) -> serde_json::Value {
    s.get(&format!("/v1/dossiers/{code}"), Some(AUDITOR)).json()
}

fn wait_for(s: &Server, code: &str, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let d = dossier(s, code);
        if ok(&d) {
            return d;
        }
        assert!(std::time::Instant::now() < deadline, "never got there: {d}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn in_state(d: &serde_json::Value, state: &str) -> bool {
    d["states"]
        .as_array()
        .is_some_and(|s| s.iter().any(|x| x["state"] == state))
}

/// The applicant brings the missing drawing to the counter on paper: the desk records it for
/// them, ticking it off against what was asked for, and the dossier resumes with its clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_records_a_supplement_handed_in_on_paper_and_the_dossier_resumes() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);
    let mut body = http::house_permit();
    body["documents"] = json!(["don-de-nghi", "giay-to-dat"]);
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "p1")],
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let code = r.json()["code"].as_str().expect("code").to_string();
    forward(&s, &code);
    // The completeness check finds the drawing missing and asks the applicant for it.
    let waiting = wait_for(&s, &code, |d| in_state(d, "cho-bo-sung"));
    assert!(
        waiting["clock"]["paused_since"].is_string(),
        "the clock waits on the applicant"
    );

    let b = Browser::start(&format!("http://{}", s.addr), 1280, 1000).await;
    b.sign_in(DESK.token).await;
    b.goto(&format!("/ho-so/{code}")).await;
    assert!(
        !b.has("#no-actions").await,
        "the desk can act for the applicant"
    );
    let form = b.text("#action-nop-bo-sung").await;
    assert!(form.contains("Ghi nhận thay công dân"), "{form}");
    b.shot("desk-on-behalf-supplement").await;
    b.click("#i\\.giay-to-bo-sung-ban-ve-thiet-ke").await;
    b.fill(
        "#comment-nop-bo-sung",
        "Công dân nộp bản vẽ thiết kế tại quầy",
    )
    .await;
    b.click("#do-nop-bo-sung").await;
    let d = wait_for(&s, &code, |d| !in_state(d, "cho-bo-sung"));
    assert!(d["clock"]["paused_since"].is_null(), "the clock runs again");
    assert_eq!(d["clock"]["supplements"], 1);
    let history = s
        .get(&format!("/v1/dossiers/{code}/audit"), Some(AUDITOR))
        .json();
    let taken = history
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["action"] == "nop-bo-sung")
        .expect("the supplement's entry")
        .clone();
    assert_eq!(taken["actor"], DESK.subject);
    assert_eq!(taken["on_behalf"], "001090012345");
    assert_eq!(
        taken["input"]["giay-to-bo-sung"],
        json!(["ban-ve-thiet-ke"])
    );
    b.goto(&format!("/ho-so/{code}")).await;
    let timeline = b.text("#timeline").await;
    assert!(
        timeline.contains("ghi nhận thay công dân 001090012345"),
        "{timeline}"
    );
    b.close().await;
}
