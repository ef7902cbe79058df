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

/// A second officer of the infrastructure office, on the other check.
const HA_TANG_2: http::Cred = http::Cred {
    subject: "ha-tang-2",
    token: "tok-ha-tang-000002",
    roles: &["chuyen-vien-ha-tang"],
    departments: &["ha-tang"],
};

fn act(s: &Server, who: http::Cred, code: &str, action: &str) -> serde_json::Value {
    let v = dossier(s, code)["version"].as_u64().expect("version");
    let r = s.post(
        &format!("/v1/dossiers/{code}/actions"),
        Some(who),
        &[("if-match", &format!("\"{v}\""))],
        &json!({"action": action, "input": {}, "comment": "Đã kiểm tra"}),
    );
    assert_eq!(r.status, 200, "{action}: {}", r.text());
    r.json()
}

/// Two officers on the two parallel checks of one dossier at once: the one who loaded the
/// page first and decides second is accepted, with their comment; an officer whose own step
/// moved meanwhile is refused, and the page keeps what they typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_officers_on_two_branches_at_once_are_both_accepted() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::create_dir_all(dir.path()).expect("dir");
    let mut creds = http::ALL.to_vec();
    creds.push(HA_TANG_2);
    http::write_tokens(&dir.path().join("tokens.yaml"), &creds);
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);
    let code = receive(&s, "b1", "Trần Văn Bình");
    forward(&s, &code);
    wait_for(&s, &code, |d| in_state(d, "kiem-tra-ket-cau"));

    let b = Browser::start(&format!("http://{}", s.addr), 1280, 1000).await;
    b.sign_in(http::HA_TANG.token).await;
    b.goto(&format!("/ho-so/{code}")).await;
    b.fill("#comment-xong-ket-cau", "Kết cấu đạt, đủ hồ sơ khảo sát")
        .await;
    // Meanwhile the colleague finishes the zoning check over the API.
    act(&s, HA_TANG_2, &code, "xong-quy-hoach");
    b.click("#do-xong-ket-cau").await;
    // The zoning branch already waits at the join: wait for the structure check to leave.
    let d = wait_for(&s, &code, |d| !in_state(d, "kiem-tra-ket-cau"));
    assert!(
        in_state(&d, "tong-hop"),
        "both branches met at the consolidation: {d}"
    );
    let history = s
        .get(&format!("/v1/dossiers/{code}/audit"), Some(AUDITOR))
        .json();
    let mine = history
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["action"] == "xong-ket-cau")
        .expect("the structure check's entry")
        .clone();
    assert_eq!(mine["actor"], http::HA_TANG.subject);
    assert_eq!(mine["comment"], "Kết cấu đạt, đủ hồ sơ khảo sát");

    // A real conflict: the colleague sends the consolidated dossier back to the applicant
    // after this page was loaded. The refusal says so and keeps the comment typed.
    b.goto(&format!("/ho-so/{code}")).await;
    b.fill("#comment-trinh-lanh-dao", "Hồ sơ đủ điều kiện, trình ký")
        .await;
    act(&s, HA_TANG_2, &code, "yeu-cau-bo-sung-tham-dinh");
    b.click("#do-trinh-lanh-dao").await;
    b.wait_for("#action-errors").await;
    let errors = b.text("#action-errors").await;
    assert!(errors.contains("vừa được người khác cập nhật"), "{errors}");
    assert!(errors.contains("Hồ sơ đủ điều kiện, trình ký"), "{errors}");
    assert!(in_state(&dossier(&s, &code), "cho-bo-sung-tham-dinh"));
    b.shot("branch-conflict-kept").await;
    b.close().await;
}

/// Extensions and apologies sit apart from the work's own actions; an apology is not offered
/// while the dossier is on time; an extension prints its notice to the applicant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_prints_its_notice_and_an_apology_waits_for_lateness() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);
    let code = receive(&s, "e1", "Phạm Văn Cường");
    forward(&s, &code);
    wait_for(&s, &code, |d| in_state(d, "kiem-tra-ket-cau"));
    act(&s, http::HA_TANG, &code, "xong-quy-hoach");
    act(&s, http::HA_TANG, &code, "xong-ket-cau");
    let before = dossier(&s, &code)["appointment"].clone();

    let b = Browser::start(&format!("http://{}", s.addr), 1280, 1000).await;
    b.sign_in(http::HA_TANG.token).await;
    b.goto(&format!("/ho-so/{code}")).await;
    assert!(
        !b.text("#actions > form:first-of-type")
            .await
            .contains("Gia hạn"),
        "the main actions come first, without the exceptional ones"
    );
    b.click("#exceptional summary").await;
    let apology = b.text("#action-xin-loi-tong-hop").await;
    assert!(apology.contains("Chưa thực hiện được"), "{apology}");
    assert!(
        !b.has("#do-xin-loi-tong-hop").await,
        "no apology while on time"
    );
    b.fill("#comment-gia-han", "Chờ ý kiến của Sở Xây dựng về kết cấu")
        .await;
    b.click("#do-gia-han").await;
    b.wait_path(|p| p.ends_with("/mau/gia-han")).await;
    let sheet = b.text("#sheet").await;
    assert!(sheet.contains("THÔNG BÁO GIA HẠN"), "{sheet}");
    assert!(sheet.contains("10 ngày"), "{sheet}");
    assert!(sheet.contains("Chờ ý kiến của Sở Xây dựng"), "{sheet}");
    let after = dossier(&s, &code)["appointment"].clone();
    assert_ne!(before, after, "the appointment moved");
    b.shot("extension-notice").await;
    b.close().await;
}

/// The receiving form cannot misfire: it opens blank, Enter in a field receives nothing, the
/// applicant's identity is typed once, districts read as names, and a missing required
/// document is either ticked or received with a reason the audit log keeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiving_form_cannot_misfire() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);
    let b = Browser::start(&format!("http://{}", s.addr), 1280, 1200).await;
    b.sign_in(DESK.token).await;
    b.goto("/tiep-nhan/cap-phep-xay-dung-nha-o").await;
    let blank: bool = b
        .client
        .execute(
            "return [...document.querySelectorAll('#desk-form input[type=text], #desk-form input[type=number]')].every(i => i.value === '') \
             && [...document.querySelectorAll('#desk-form input[type=checkbox]')].every(i => !i.checked)",
            vec![],
        )
        .await
        .expect("script")
        .as_bool()
        .expect("bool");
    assert!(blank, "nothing typed, nothing ticked");
    let district = b.text("#f\\.quan_huyen").await;
    assert!(
        district.contains("Quận Hải Châu"),
        "labels, not codes: {district}"
    );
    b.fill("#applicant_id", "048090001234").await;
    b.fill("#applicant_name", "Võ Thị Lan").await;
    b.fill("#f\\.dia_chi_cong_trinh", "12 Lê Lợi").await;
    b.select("#f\\.quan_huyen", "hai-chau").await;
    b.fill("#f\\.dien_tich_san", "180").await;
    // Enter in a field: nothing happens, nothing is received.
    b.fill("#f\\.so_tang", "2\n").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(b.path().await, "/tiep-nhan/cap-phep-xay-dung-nha-o");
    assert!(!b.has("#confirm").await);
    let none = s
        .get("/v1/dossiers?applicant=048090001234", Some(AUDITOR))
        .json();
    assert_eq!(none["dossiers"].as_array().map(Vec::len), Some(0), "{none}");

    // Two documents ticked, the drawing missing: the confirmation says so and asks why.
    b.click("#doc-don-de-nghi").await;
    b.click("#doc-giay-to-dat").await;
    b.click("#submit-dossier").await;
    b.wait_for("#confirm").await;
    let confirm = b.text("#confirm").await;
    assert!(confirm.contains("Võ Thị Lan"), "{confirm}");
    assert!(confirm.contains("Quận Hải Châu"), "{confirm}");
    assert!(
        confirm.contains("Bản vẽ"),
        "the missing drawing is named: {confirm}"
    );
    b.shot("desk-confirm").await;
    b.click("#confirm-receive").await;
    b.wait_for("#form-errors").await;
    assert!(b.text("#form-errors").await.contains("lý do"));
    b.fill("#ly_do_thieu", "Công dân nộp bản vẽ trong ngày mai")
        .await;
    b.click("#confirm-receive").await;
    let path = b.wait_path(|p| p.ends_with("/mau/01")).await;
    let code = path
        .strip_prefix("/ho-so/")
        .and_then(|p| p.strip_suffix("/mau/01"))
        .expect("the slip")
        .to_string();
    let d = dossier(&s, &code);
    // Typed once: the owner's name and id come from the applicant.
    assert_eq!(d["data"]["ho_ten_chu_dau_tu"], "Võ Thị Lan");
    assert_eq!(d["data"]["so_cccd"], "048090001234");
    assert_eq!(
        d["data"]["quan_huyen"], "hai-chau",
        "the code is what is stored"
    );
    let history = s
        .get(&format!("/v1/dossiers/{code}/audit"), Some(AUDITOR))
        .json();
    let receipt = &history[0];
    assert_eq!(receipt["action"], "submit");
    assert!(
        receipt["comment"]
            .as_str()
            .is_some_and(|c| c.contains("nộp bản vẽ trong ngày mai")),
        "{receipt}"
    );
    b.close().await;
}

/// Named officers: the head of the infrastructure office assigns a check to a named officer,
/// reassigns it, and the officer finds it under "Giao cho tôi"; every change is on the
/// timeline with the people's names from the credentials, not their login ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_assign_and_reassign_show_in_the_inbox_and_the_timeline() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::create_dir_all(dir.path()).expect("dir");
    let mut creds = http::ALL.to_vec();
    creds.push(HA_TANG_2);
    http::write_tokens(&dir.path().join("tokens.yaml"), &creds);
    // Names and titles, as a province's tokens file gives them.
    let mut tokens = std::fs::read_to_string(dir.path().join("tokens.yaml")).expect("tokens");
    for (subject, name, title) in [
        ("ha-tang-1", "Trần Quốc Bảo", "Trưởng phòng Hạ tầng"),
        ("ha-tang-2", "Lê Minh Tuấn", "Chuyên viên phòng Hạ tầng"),
    ] {
        tokens = tokens.replace(
            &format!("  subject: \"{subject}\"\n"),
            &format!("  subject: \"{subject}\"\n  name: \"{name}\"\n  title: \"{title}\"\n"),
        );
    }
    std::fs::write(dir.path().join("tokens.yaml"), tokens).expect("tokens");
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);
    let code = receive(&s, "n1", "Phạm Thị Hoa");
    forward(&s, &code);
    wait_for(&s, &code, |d| in_state(d, "kiem-tra-ket-cau"));

    let b = Browser::start(&format!("http://{}", s.addr), 1280, 1200).await;
    // The head (truong-phong-ha-tang: the procedure's extension approver) assigns the check.
    b.sign_in(http::HA_TANG.token).await;
    assert!(
        b.text("form.who").await.contains("Trần Quốc Bảo"),
        "the name, not the id"
    );
    b.goto(&format!("/ho-so/{code}")).await;
    b.fill("#to-kiem-tra-ket-cau", "ha-tang-2").await;
    b.click("#assign-to-kiem-tra-ket-cau").await;
    b.wait_text("#assignee-kiem-tra-ket-cau", "Lê Minh Tuấn")
        .await;
    // Reassigned to the head himself (he claims it), then back to the colleague.
    b.click("#claim-kiem-tra-ket-cau").await;
    b.wait_text("#assignee-kiem-tra-ket-cau", "Trần Quốc Bảo")
        .await;
    b.fill("#to-kiem-tra-ket-cau", "ha-tang-2").await;
    b.click("#assign-to-kiem-tra-ket-cau").await;
    b.wait_text("#assignee-kiem-tra-ket-cau", "Lê Minh Tuấn")
        .await;
    let timeline = b.text("#timeline").await;
    assert!(
        timeline.contains("Giao bước “Kiểm tra an toàn kết cấu, phòng cháy và công trình liền kề” cho Lê Minh Tuấn"),
        "{timeline}"
    );
    assert!(timeline.contains("Trần Quốc Bảo"), "{timeline}");
    b.shot("assignment").await;
    b.sign_out().await;

    // The colleague sees it under "Giao cho tôi"; the zoning check still waits for anyone.
    b.sign_in(HA_TANG_2.token).await;
    b.goto("/viec-cua-toi").await;
    let mine = b.text("#mine-table").await;
    assert!(mine.contains(&code) && mine.contains("kết cấu"), "{mine}");
    let pool = b.text("#inbox-table").await;
    assert!(pool.contains("quy hoạch"), "{pool}");
    assert!(
        !pool.contains("kết cấu"),
        "an assigned step leaves the pool: {pool}"
    );
    b.sign_out().await;
    drop(s);

    // The colleague is away this week: the head covers, and sees the step as theirs to do.
    let tokens = std::fs::read_to_string(dir.path().join("tokens.yaml")).expect("tokens");
    let tokens = tokens.replace(
        "  name: \"Lê Minh Tuấn\"\n",
        "  name: \"Lê Minh Tuấn\"\n  away: {from: 2026-12-07, until: 2026-12-11, delegate: ha-tang-1}\n",
    );
    std::fs::write(dir.path().join("tokens.yaml"), tokens).expect("tokens");
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);
    b.close().await;
    let b = Browser::start(&format!("http://{}", s.addr), 1280, 1200).await;
    b.sign_in(http::HA_TANG.token).await;
    b.goto("/viec-cua-toi").await;
    let mine = b.text("#mine-table").await;
    assert!(mine.contains(&code), "{mine}");
    assert!(
        mine.contains("Thay Lê Minh Tuấn (vắng đến 11/12/2026)"),
        "{mine}"
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_takes_the_applicants_email_and_consent_and_changes_them_when_asked() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);
    let b = Browser::start(&format!("http://{}", s.addr), 1280, 1200).await;
    b.sign_in(DESK.token).await;
    b.goto("/tiep-nhan/cap-phep-xay-dung-nha-o").await;
    b.fill("#applicant_id", "048090001234").await;
    b.fill("#applicant_name", "Võ Thị Lan").await;
    b.fill("#applicant_phone", "0905 123 456").await;
    b.fill("#applicant_email", "lan.vo@example.vn").await;
    b.click("#notify_email").await;
    b.fill("#f\\.dia_chi_cong_trinh", "12 Lê Lợi").await;
    b.select("#f\\.quan_huyen", "hai-chau").await;
    b.fill("#f\\.dien_tich_san", "180").await;
    b.fill("#f\\.so_tang", "2").await;
    for doc in ["don-de-nghi", "giay-to-dat", "ban-ve-thiet-ke"] {
        b.click(&format!("#doc-{doc}")).await;
    }
    b.click("#submit-dossier").await;
    b.wait_for("#confirm").await;
    let confirm = b.text("#confirm").await;
    assert!(confirm.contains("lan.vo@example.vn"), "{confirm}");
    assert!(
        confirm.contains("Qua thư điện tử"),
        "the consent is shown: {confirm}"
    );
    b.click("#confirm-receive").await;
    let path = b.wait_path(|p| p.ends_with("/mau/01")).await;
    let code = path
        .strip_prefix("/ho-so/")
        .and_then(|p| p.strip_suffix("/mau/01"))
        .expect("the slip's path")
        .to_string();
    let d = s.get(&format!("/v1/dossiers/{code}"), Some(AUDITOR)).json();
    assert_eq!(d["applicant"]["email"], "lan.vo@example.vn");
    assert_eq!(d["applicant"]["notify_by"], json!(["email"]));

    // The applicant asks at the counter for text messages too, at a new address.
    b.goto(&format!("/ho-so/{code}")).await;
    assert_eq!(b.text("#contact-consent").await, "Qua thư điện tử");
    b.click("#lien-he summary").await;
    b.fill("#contact-email-input", "lan.vo.moi@example.vn")
        .await;
    b.click("#contact-notify-sms").await;
    b.fill("#contact-comment", "Công dân đề nghị tại quầy")
        .await;
    b.click("#contact-save").await;
    b.wait_path(|p| p == format!("/ho-so/{code}")).await;
    b.wait_for("#contact-email").await;
    assert_eq!(b.text("#contact-email").await, "lan.vo.moi@example.vn");
    assert_eq!(
        b.text("#contact-consent").await,
        "Qua thư điện tử và tin nhắn"
    );
    let timeline = b.text("#timeline").await;
    assert!(
        timeline.contains("Cập nhật liên hệ nhận thông báo"),
        "the change is in the timeline, in words: {timeline}"
    );
    b.shot("desk-contact-changed").await;

    // An inspector sees the contact, not the form.
    let other = Browser::start(&format!("http://{}", s.addr), 1280, 1000).await;
    other.sign_in(AUDITOR.token).await;
    other.goto(&format!("/ho-so/{code}")).await;
    assert!(other.has("#contact-consent").await);
    assert!(!other.has("#contact-form").await);
}
