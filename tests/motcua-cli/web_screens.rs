//! The web screens in a real browser: headless Chromium over WebDriver against the real
//! binary on 127.0.0.1. Each test saves screenshots under target/screenshots (with
//! `MOTCUA_SCREENSHOTS=docs`, also the README's under docs/screenshots).

use crate::http;
use crate::web;

use http::{ADMIN, AUDITOR, CITIZEN, Cred, DESK, HA_TANG, LEADER, OTHER_DEPT, Server};
use serde_json::{Value, json};
use web::Browser;

const MONDAY_MORNING: &str = "2026-12-07T08:30:00+07:00";

/// The judicial-record procedure's two parallel checks belong to two departments.
const LLTP: Cred = Cred {
    subject: "lltp-1",
    token: "tok-lltp-000000001",
    roles: &["chuyen-vien-lltp"],
    departments: &["lltp"],
};
const CONG_AN: Cred = Cred {
    subject: "cong-an-1",
    token: "tok-cong-an-000001",
    roles: &["can-bo-cong-an"],
    departments: &["cong-an"],
};

pub(crate) fn start(dir: &std::path::Path) -> Server {
    std::fs::create_dir_all(dir).expect("dir");
    let mut creds = http::ALL.to_vec();
    creds.extend([LLTP, CONG_AN]);
    http::write_tokens(&dir.join("tokens.yaml"), &creds);
    Server::start(dir, &["--now", MONDAY_MORNING])
}

fn base(s: &Server) -> String {
    format!("http://{}", s.addr)
}

pub(crate) fn dossier(s: &Server, code: &str) -> Value {
    s.get(&format!("/v1/dossiers/{code}"), Some(AUDITOR)).json()
}

/// Waits until the dossier's state satisfies `ok` (the automatic step runs after the commit).
pub(crate) fn wait_for(s: &Server, code: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let d = dossier(s, code);
        if ok(&d) {
            return d;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "dossier {code} never got there: {d}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

pub(crate) fn in_state(d: &Value, state: &str) -> bool {
    d["states"].as_array().is_some_and(|s| {
        s.iter()
            .any(|x| x["state"] == state && !x["waiting"].as_bool().unwrap_or(false))
    })
}

/// The desk's whole visit in the browser: the construction permit's form, every required
/// document ticked, received; the slip comes back. Returns the dossier code.
async fn desk_receives_house_permit(b: &Browser) -> String {
    b.goto("/tiep-nhan").await;
    b.click("#receive-cap-phep-xay-dung-nha-o").await;
    b.fill("#applicant_id", CITIZEN.subject).await;
    b.fill("#applicant_name", "Nguyễn Thị Mai").await;
    b.fill("#f\\.ho_ten_chu_dau_tu", "Nguyễn Thị Mai").await;
    b.fill("#f\\.so_cccd", "048090001234").await;
    b.fill(
        "#f\\.dia_chi_cong_trinh",
        "K12/5 Hoàng Diệu, phường Hải Châu",
    )
    .await;
    b.select("#f\\.quan_huyen", "hai-chau").await;
    b.fill("#f\\.dien_tich_san", "240").await;
    b.fill("#f\\.so_tang", "3").await;
    for doc in ["don-de-nghi", "giay-to-dat", "ban-ve-thiet-ke"] {
        b.click(&format!("#doc-{doc}")).await;
    }
    b.click("#submit-dossier").await;
    // The confirmation: what will be received, before anything is written.
    b.wait_for("#confirm").await;
    b.click("#confirm-receive").await;
    let path = b.wait_path(|p| p.ends_with("/mau/01")).await;
    path.strip_prefix("/ho-so/")
        .and_then(|p| p.strip_suffix("/mau/01"))
        .unwrap_or_else(|| panic!("the desk lands on the slip, not {path}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_receives_a_construction_permit_and_the_slips_qr_code_opens_the_citizen_page() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let b = Browser::start(&base(&s), 1280, 1000).await;
    b.sign_in(DESK.token).await;
    assert_eq!(
        b.path().await,
        "/tiep-nhan",
        "the desk's day starts at receipt"
    );
    b.shot("desk-choose").await;
    b.goto("/tiep-nhan/cap-phep-xay-dung-nha-o").await;
    b.shot("desk-form").await;
    let code = desk_receives_house_permit(&b).await;

    // The slip: the dossier's code, the appointment the engine computed, the fee.
    let d = dossier(&s, &code);
    assert_eq!(d["procedure"], "cap-phep-xay-dung-nha-o");
    assert_eq!(d["applicant"]["name"], "Nguyễn Thị Mai");
    let sheet = b.text("#sheet").await;
    assert!(sheet.contains(&code), "{sheet}");
    assert!(sheet.contains("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"));
    let appointment: jiff::Timestamp = d["appointment"]
        .as_str()
        .expect("appointment")
        .parse()
        .expect("instant");
    // Fifteen calendar days end at midnight of the last: the slip says so as a citizen
    // reads it, not as the engine's next-day 00:00.
    let last_day = (appointment - jiff::SignedDuration::from_secs(1))
        .to_zoned_datetime(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").expect("zone"))
        .strftime("%d/%m/%Y")
        .to_string();
    assert_eq!(
        b.text("#slip-appointment").await,
        format!("trước 24:00 ngày {last_day}")
    );
    assert!(sheet.contains("75.000 đ"), "the fee in đồng: {sheet}");
    b.shot("slip-form-01").await;

    // The QR code, read back from the browser's own drawing of it, is the citizen's link.
    // Drawn larger on the screen than on paper, so each module covers whole pixels.
    b.client
        .execute("const q = document.querySelector('#slip-qr svg'); q.style.width = q.style.height = '480px';", vec![])
        .await
        .expect("script");
    let png = b.element_png("#slip-qr svg").await;
    std::fs::write(web::screenshots_dir().join("slip-qr.png"), &png).expect("qr png");
    let url = web::decode_qr(&png);
    let secret = b.text("#slip-secret").await;
    assert_eq!(url, format!("{}/tra-cuu/{code}?secret={secret}", base(&s)));

    // The slip prints on one A4 page.
    let (pages, a4) = web::pdf_pages(&b.print_a4().await);
    assert_eq!((pages, a4), (1, true), "form 01 is one A4 page");

    // The citizen, signed out, on a phone: the QR code's link shows the dossier's state.
    b.sign_out().await;
    b.client
        .set_window_size(360, 740)
        .await
        .expect("phone size");
    b.goto(&url).await;
    assert_eq!(b.text("#public-code").await, code);
    let page = b.body().await;
    assert!(
        page.contains("Đang xử lý") || page.contains("Được tiếp nhận"),
        "{page}"
    );
    assert!(
        !page.contains("048090001234") && !page.contains(DESK.subject),
        "no personal data, no officer: {page}"
    );
    b.shot("citizen-status").await;

    // A wrong secret tells nothing.
    b.goto(&format!("/tra-cuu/{code}?secret=00000000000000000000"))
        .await;
    assert!(b.has("#lookup-error").await);
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_officers_in_two_departments_complete_the_parallel_checks_and_another_department_sees_nothing()
 {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    // The judicial-record request goes to the records office and the police in parallel.
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "lltp-1")],
        &json!({
            "procedure": "cap-phieu-ly-lich-tu-phap",
            "applicant": {"id": CITIZEN.subject, "name": "Trần Văn Bình"},
            "data": example("cap-phieu-ly-lich-tu-phap"),
            "documents": ["to-khai", "can-cuoc"],
        }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let code = r.json()["code"].as_str().expect("code").to_string();

    let b = Browser::start(&base(&s), 1280, 1000).await;
    b.sign_in(DESK.token).await;
    b.goto(&format!("/ho-so/{code}")).await;
    b.click("#do-chuyen-tra-cuu").await;
    wait_for(&s, &code, |d| {
        in_state(d, "tra-cuu-csdl") && in_state(d, "xac-minh-cong-an")
    });
    b.sign_out().await;

    // The records officer's list has the dossier; they finish their branch.
    b.sign_in(LLTP.token).await;
    // Receipt belongs to the desk (the start state's department), so the records officer
    // starts at their own work, not at receipt.
    let start = b.wait_path(|p| !p.starts_with("/dang-nhap")).await;
    assert_ne!(start, "/tiep-nhan");
    b.goto("/viec-cua-toi").await;
    assert!(b.text("#inbox-table").await.contains(&code));
    b.shot("officer-inbox").await;
    b.goto(&format!("/ho-so/{code}")).await;
    assert!(
        !b.has("#do-xong-xac-minh").await,
        "the police's branch is not theirs"
    );
    b.shot("officer-dossier").await;
    b.click("#do-xong-tra-cuu").await;
    wait_for(&s, &code, |d| !in_state(d, "tra-cuu-csdl"));
    b.sign_out().await;

    // The police officer finishes the other branch; the join is reached.
    b.sign_in(CONG_AN.token).await;
    b.goto("/viec-cua-toi").await;
    assert!(b.text("#inbox-table").await.contains(&code));
    b.goto(&format!("/ho-so/{code}")).await;
    b.click("#do-xong-xac-minh").await;
    wait_for(&s, &code, |d| in_state(d, "lap-phieu"));
    b.wait_text("#timeline", "Có kết quả xác minh của Công an")
        .await;
    b.sign_out().await;

    // An officer of another department sees none of it: not in a list, not by its code.
    b.sign_in(OTHER_DEPT.token).await;
    b.goto("/viec-cua-toi").await;
    assert!(b.has("#inbox-empty").await, "{}", b.body().await);
    b.goto(&format!("/ho-so/{code}")).await;
    assert_eq!(b.text("#problem-code").await, "forbidden");
    b.goto(&format!("/ho-so/{code}/mau/06")).await;
    assert_eq!(b.text("#problem-code").await, "forbidden");
    b.shot("other-department-refused").await;
    // The refusal was logged with the subject and the route.
    let log = s.stderr_text();
    assert!(
        log.contains("\"subject\":\"thue-1\"") && log.contains(&format!("GET /ho-so/{code}")),
        "{log}"
    );
    b.close().await;
}

fn example(procedure: &str) -> Value {
    let text = std::fs::read_to_string(http::root().join(format!("procedures/{procedure}.yaml")))
        .expect("sample");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    serde_json::to_value(doc["form"]["examples"][0].clone()).expect("example")
}

/// Receives a house permit over the API: its code and the citizen's status path.
pub(crate) fn receive(s: &Server, key: &str, documents: Value) -> (String, String) {
    let mut body = http::house_permit();
    body["documents"] = documents;
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", key)],
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let j = r.json();
    (
        j["code"].as_str().expect("code").to_string(),
        j["slip"]["status_path"]
            .as_str()
            .expect("status path")
            .to_string(),
    )
}

/// A house permit the desk sent on, which the automatic check handed to the infrastructure
/// office (for tests about later steps).
pub(crate) fn house_permit_in_review(s: &Server, key: &str) -> (String, String) {
    let (code, status) = receive(s, key, http::house_permit()["documents"].clone());
    act(s, DESK, &code, "chuyen-kiem-tra", json!({}));
    wait_for(s, &code, |d| in_state(d, "kiem-tra-quy-hoach"));
    (code, status)
}

pub(crate) fn act(s: &Server, who: Cred, code: &str, action: &str, input: Value) -> Value {
    let v = dossier(s, code)["version"]
        .as_u64()
        .expect("version")
        .to_string();
    let r = s.post(
        &format!("/v1/dossiers/{code}/actions"),
        Some(who),
        &[("if-match", &format!("\"{v}\""))],
        &json!({"action": action, "input": input, "comment": "Đã xem xét"}),
    );
    assert_eq!(r.status, 200, "{action}: {}", r.text());
    r.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplement_round_trip_prints_form_02_and_the_citizen_sees_what_is_awaited() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let (code, status_path) = house_permit_in_review(&s, "sup-1");
    act(&s, HA_TANG, &code, "xong-quy-hoach", json!({}));
    act(&s, HA_TANG, &code, "xong-ket-cau", json!({}));

    let b = Browser::start(&base(&s), 1280, 1000).await;
    b.sign_in(HA_TANG.token).await;
    b.goto(&format!("/ho-so/{code}")).await;
    // The request needs its written reason: without it the engine refuses and the page says so.
    b.client
        .execute("document.getElementById('comment-yeu-cau-bo-sung-tham-dinh').removeAttribute('required')", vec![])
        .await
        .expect("script");
    let before = dossier(&s, &code)["version"].clone();
    b.click("#do-yeu-cau-bo-sung-tham-dinh").await;
    b.wait_for("#action-errors").await;
    assert_eq!(
        dossier(&s, &code)["version"],
        before,
        "a refused action changes nothing"
    );
    b.fill(
        "#comment-yeu-cau-bo-sung-tham-dinh",
        "Bổ sung bản vẽ mặt cắt có kích thước chiều cao tầng",
    )
    .await;
    b.click("#do-yeu-cau-bo-sung-tham-dinh").await;
    b.wait_path(|p| p.ends_with("/mau/02")).await;
    let sheet = b.text("#sheet").await;
    assert!(sheet.contains("Bổ sung bản vẽ mặt cắt"), "{sheet}");
    assert!(sheet.contains("hướng dẫn một lần"), "{sheet}");
    b.shot("supplement-form-02").await;
    let (pages, a4) = web::pdf_pages(&b.print_a4().await);
    assert_eq!((pages, a4), (1, true), "form 02 is one A4 page");
    b.sign_out().await;

    // The citizen's phone shows the waiting state and the request.
    assert_eq!(dossier(&s, &code)["status"], 5);
    b.client
        .set_window_size(360, 740)
        .await
        .expect("phone size");
    let web_path = status_path.replace("/v1/status/", "/tra-cuu/");
    b.goto(&web_path).await;
    assert_eq!(b.text("#citizen-status").await, "Yêu cầu bổ sung giấy tờ");
    assert!(b.text("#awaited").await.contains("Bổ sung bản vẽ mặt cắt"));
    b.shot("citizen-waiting-phone").await;
    let wide: i64 = b
        .client
        .execute("return document.documentElement.scrollWidth", vec![])
        .await
        .expect("script")
        .as_i64()
        .expect("width");
    assert!(
        wide <= 360,
        "the citizen's page fits a 360 px screen (scrolls {wide} px wide)"
    );

    // The citizen hands the supplement in from their own sign-in; the office continues.
    b.client.set_window_size(1280, 1000).await.expect("size");
    b.sign_in(CITIZEN.token).await;
    b.goto(&format!("/ho-so/{code}")).await;
    b.click("#do-nop-bo-sung-tham-dinh").await;
    let d = wait_for(&s, &code, |d| in_state(d, "tong-hop"));
    assert_eq!(d["clock"]["supplements"], 1);
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_verifies_the_chain_opens_the_report_chart_and_every_form_prints_on_one_a4_page()
{
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    // One dossier late with an apology (04), then returned; one refused at the desk (03);
    // one missing documents, asked for them (02), then withdrawn by the citizen (05).
    let (late, _) = house_permit_in_review(&s, "late-1");
    let (refused, _) = receive(&s, "refuse-1", http::house_permit()["documents"].clone());
    act(&s, DESK, &refused, "tu-choi-tiep-nhan", json!({}));
    let (withdrawn, _) = receive(&s, "withdraw-1", json!(["don-de-nghi"]));
    act(&s, DESK, &withdrawn, "chuyen-kiem-tra", json!({}));
    wait_for(&s, &withdrawn, |d| in_state(d, "cho-bo-sung"));
    act(&s, CITIZEN, &withdrawn, "rut-ho-so", json!({}));
    act(&s, HA_TANG, &late, "xong-quy-hoach", json!({}));
    act(&s, HA_TANG, &late, "xong-ket-cau", json!({}));
    // Past the appointment: the scheduler records the breach, the head apologises.
    let appointment: jiff::Timestamp = dossier(&s, &late)["appointment"]
        .as_str()
        .expect("a")
        .parse()
        .expect("t");
    let after = appointment + jiff::SignedDuration::from_hours(2);
    assert_eq!(
        s.post(
            "/v1/clock",
            Some(ADMIN),
            &[],
            &json!({"now": after.to_string()})
        )
        .status,
        200
    );
    wait_for(&s, &late, |d| !d["clock"]["overdue_since"].is_null());
    let promised = (after + jiff::SignedDuration::from_hours(24 * 7))
        .to_zoned_datetime(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").expect("zone"))
        .date();
    let promised = next_weekday(promised);
    act(
        &s,
        HA_TANG,
        &late,
        "xin-loi-tong-hop",
        json!({"promised": promised.to_string()}),
    );
    act(&s, HA_TANG, &late, "trinh-lanh-dao", json!({}));
    act(&s, LEADER, &late, "ky-giay-phep", json!({}));
    act(&s, DESK, &late, "tra-giay-phep", json!({}));

    let b = Browser::start(&base(&s), 1280, 1000).await;
    b.sign_in(AUDITOR.token).await;
    b.wait_path(|p| p == "/kiem-tra").await;
    b.fill("#ho_so", &late).await;
    b.click("#search").await;
    b.wait_path(|p| p.contains("ho_so=")).await;
    let entries = b.text("#entries").await;
    // The inspector reads labels: the apology by its label, the engine's step in words.
    assert!(
        entries.contains("Xin lỗi và hẹn lại ngày trả kết quả (mẫu 04)")
            && entries.contains("Quá hạn trả kết quả"),
        "{entries}"
    );
    assert!(
        !entries.contains("xin-loi-tong-hop") && !entries.contains("system:"),
        "{entries}"
    );
    b.shot("auditor-search").await;
    b.click("#verify-chain").await;
    b.wait_path(|p| p == "/kiem-tra/xac-minh").await;
    let api = s.get("/v1/audit/verify", Some(AUDITOR)).json();
    assert!(b.text("#verify-result").await.contains("toàn vẹn"));
    assert_eq!(
        b.text("#verify-count").await,
        api["count"].as_u64().expect("count").to_string()
    );
    b.shot("auditor-verify").await;

    let today = after
        .to_zoned_datetime(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").expect("zone"))
        .date();
    b.goto(&format!(
        "/bao-cao?tu=2026-12-01&den={today}&theo=department"
    ))
    .await;
    let chart = b
        .client
        .find(fantoccini::Locator::Css("#report-chart svg"))
        .await
        .expect("an SVG chart");
    assert!(
        chart
            .find_all(fantoccini::Locator::Css("rect"))
            .await
            .expect("bars")
            .len()
            > 3
    );
    assert_eq!(
        b.text("#total-late").await,
        "1",
        "the late dossier counts late"
    );
    b.shot("auditor-report").await;

    // Every form of these dossiers is one A4 page.
    for (code, form) in [
        (&late, "01"),
        (&late, "04"),
        (&late, "06"),
        (&refused, "03"),
        (&withdrawn, "02"),
        (&withdrawn, "05"),
    ] {
        b.goto(&format!("/ho-so/{code}/mau/{form}")).await;
        assert!(b.has("#sheet").await, "form {form}: {}", b.body().await);
        let (pages, a4) = web::pdf_pages(&b.print_a4().await);
        assert_eq!(
            (pages, a4),
            (1, true),
            "form {form} of {code} is one A4 page"
        );
    }
    b.goto(&format!("/ho-so/{late}/mau/04")).await;
    assert!(
        b.text("#sheet")
            .await
            .contains(&promised.strftime("%d/%m/%Y").to_string())
    );
    b.shot("apology-form-04").await;
    b.goto(&format!("/ho-so/{late}/mau/06")).await;
    assert!(b.text("#slip-result").await.contains("Trễ hạn"));
    b.shot("control-slip-form-06").await;
    b.close().await;
}

fn next_weekday(mut d: jiff::civil::Date) -> jiff::civil::Date {
    while matches!(
        d.weekday(),
        jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
    ) {
        d = d.tomorrow().expect("date");
    }
    d
}
