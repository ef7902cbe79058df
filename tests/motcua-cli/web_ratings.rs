//! The citizen heard, in a real browser (headless Chromium against the real binary): on a
//! phone, from the slip's link, the citizen rates the result and sends feedback; the leader
//! sees it on their screen and answers on the dossier page; the citizen reads the answer; the
//! report screen shows the satisfaction column.

use crate::http::{self, LEADER, Server};
use crate::web::Browser;
use crate::web_screens::{act, house_permit_in_review};
use serde_json::json;

const MONDAY_MORNING: &str = "2026-12-07T08:30:00+07:00";

fn start(dir: &std::path::Path) -> Server {
    http::write_tokens(&dir.join("tokens.yaml"), &http::ALL);
    let offices = http::root().join("config/offices.yaml");
    Server::start(
        dir,
        &[
            "--now",
            MONDAY_MORNING,
            "--offices",
            offices.to_str().expect("utf8"),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizen_rates_and_leader_answers_feedback_from_a_phone() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let (code, status_path) = house_permit_in_review(&s, "rate-1");
    act(&s, http::HA_TANG, &code, "xong-quy-hoach", json!({}));
    act(&s, http::HA_TANG, &code, "xong-ket-cau", json!({}));
    act(&s, http::HA_TANG, &code, "trinh-lanh-dao", json!({}));
    act(&s, LEADER, &code, "ky-giay-phep", json!({}));

    // The citizen, on a phone, from the slip's link.
    let base = format!("http://{}", s.addr);
    let phone = Browser::start(&base, 390, 844).await;
    // The slip's QR code opens the page at `/tra-cuu/` with the code and secret the API's
    // status path holds.
    let slip_link = status_path.replacen("/v1/status/", "/tra-cuu/", 1);
    phone.goto(&slip_link).await;
    phone.wait_for("#rating").await;
    let office = phone.text("#office").await;
    assert!(office.contains("270 Trưng Nữ Vương"), "{office}");
    assert!(office.contains("0236 3 822 111"), "{office}");
    phone.click("#level-very-satisfied").await;
    phone
        .fill("#rating-comment", "Cán bộ hướng dẫn tận tình")
        .await;
    phone.click("#rating-send").await;
    let rated = phone.wait_text("#rated", "Rất hài lòng").await;
    assert!(rated.contains("Cán bộ hướng dẫn tận tình"), "{rated}");
    assert!(
        !phone.has("#rating-send").await,
        "rated once: the form is gone"
    );
    phone
        .fill(
            "#feedback-text",
            "Giấy phép ghi sai số tầng, xin kiểm tra lại.",
        )
        .await;
    phone.click("#feedback-send").await;
    let sent = phone.wait_text("#feedback-1", "sai số tầng").await;
    assert!(sent.contains("Đang chờ lãnh đạo đơn vị trả lời"), "{sent}");
    let fits: bool = phone
        .client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            vec![],
        )
        .await
        .expect("script")
        .as_bool()
        .expect("bool");
    assert!(fits, "the status page fits the phone's width");
    phone.shot("citizen-rates-phone").await;

    // The leader: the feedback on their screen, answered on the dossier page.
    let b = Browser::start(&base, 1280, 1000).await;
    b.sign_in(LEADER.token).await;
    b.goto("/lanh-dao").await;
    let open = b.wait_text("#open-feedback", "sai số tầng").await;
    assert!(open.contains(&code), "{open}");
    b.click(&format!("#open-feedback a[href='/ho-so/{code}']"))
        .await;
    b.wait_for("#dossier-feedback").await;
    assert!(b.text("#dossier-rating").await.contains("Rất hài lòng"));
    b.fill("#answer-1", "Phường đã cấp lại giấy phép đúng số tầng.")
        .await;
    b.click("#answer-send-1").await;
    let answered = b.wait_text("#dossier-feedback-1", "đúng số tầng").await;
    assert!(answered.contains("Trả lời"), "{answered}");
    let timeline = b.text("#timeline").await;
    for label in [
        "Đánh giá mức độ hài lòng",
        "Phản ánh, kiến nghị",
        "Trả lời phản ánh, kiến nghị",
    ] {
        assert!(timeline.contains(label), "{label}: {timeline}");
    }
    b.goto("/lanh-dao").await;
    b.wait_text("#open-feedback", "Không có phản ánh").await;

    // The citizen reads the answer.
    phone.goto(&slip_link).await;
    let read = phone.wait_text("#feedback-1", "đúng số tầng").await;
    assert!(!read.contains(LEADER.subject), "no officer's name: {read}");
    phone.shot("citizen-reads-answer-phone").await;
    phone.close().await;

    // The report's satisfaction column.
    b.goto("/bao-cao?tu=2026-12-01&den=2026-12-31&theo=department")
        .await;
    b.wait_for("#report-table").await;
    assert_eq!(b.text("#total-very-satisfied").await, "1");
    assert_eq!(b.text("#total-not-satisfied").await, "0");
    assert!(b.text("#total-rated-share").await.starts_with("100"));
    b.shot("report-satisfaction").await;
    b.close().await;
}
