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
    let r = s.post("/v1/dossiers", Some(DESK), &[("idempotency-key", key)], &body);
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
    b.click(&format!("#search-table a[href='/ho-so/{binh}']")).await;
    b.wait_path(|p| p == format!("/ho-so/{binh}")).await;
    // The list of everything handled or not, by receipt, with the filters kept in the link.
    b.goto("/tim-kiem?pham_vi=all&sap_xep=received").await;
    let table = b.wait_text("#search-table", "Lê Thị Hoa").await;
    assert!(table.contains("Trần Văn Bình"), "{table}");
    b.close().await;
}
