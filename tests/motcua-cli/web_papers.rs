//! A dossier's papers in a real browser (headless Chromium against the real binary): the desk
//! scans the land-use certificate into the receiving form, the slip counts it, an officer
//! previews it on the dossier page, the leader attaches the signed permit, and the citizen
//! downloads it from the status page on a phone.

use crate::http::{AUDITOR, DESK, HA_TANG, LEADER, Server};
use crate::web::Browser;
use crate::web_screens::{act, in_state, start, wait_for};
use serde_json::{Value, json};

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// Runs `script` in the page (a promise is awaited) and returns its string.
async fn eval(b: &Browser, script: &str) -> String {
    b.client
        .execute(script, vec![])
        .await
        .expect("script")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn dossier(s: &Server, code: &str) -> Value {
    s.get(&format!("/v1/dossiers/{code}"), Some(AUDITOR)).json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_goes_from_the_desk_to_the_officer_and_the_permit_to_the_citizens_phone() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let scan = dir.path().join("giay-chung-nhan.pdf");
    std::fs::write(&scan, crate::papers::PDF).expect("the scan");

    // The desk: the form, a scanned certificate on its checklist line, the confirmation.
    let b = Browser::start(&format!("http://{}", s.addr), 1280, 1200).await;
    b.sign_in(DESK.token).await;
    b.goto("/tiep-nhan/cap-phep-xay-dung-nha-o").await;
    b.fill("#applicant_id", "048090001234").await;
    b.fill("#applicant_name", "Võ Thị Lan").await;
    b.fill("#f\\.dia_chi_cong_trinh", "12 Lê Lợi").await;
    b.select("#f\\.quan_huyen", "hai-chau").await;
    b.fill("#f\\.dien_tich_san", "180").await;
    b.fill("#f\\.so_tang", "2").await;
    b.click("#doc-don-de-nghi").await;
    b.click("#doc-ban-ve-thiet-ke").await;
    b.client
        .find(fantoccini::Locator::Css("#tep-giay-to-dat"))
        .await
        .expect("the certificate's file input")
        .send_keys(scan.to_str().expect("utf-8"))
        .await
        .expect("chosen");
    b.click("#submit-dossier").await;
    b.wait_for("#confirm").await;
    let confirm = b.text("#confirm").await;
    assert!(
        confirm.contains("Bản sao giấy tờ chứng minh quyền sử dụng đất (1 tệp)"),
        "the scanned item counts as received: {confirm}"
    );
    assert!(
        b.text("#muc-giay-to-dat")
            .await
            .contains("Đã quét: giay-chung-nhan.pdf")
    );
    b.click("#confirm-receive").await;
    let path = b.wait_path(|p| p.ends_with("/mau/01")).await;
    let code = path
        .strip_prefix("/ho-so/")
        .and_then(|p| p.strip_suffix("/mau/01"))
        .expect("the slip")
        .to_string();
    let listed = b.text("#slip-documents").await;
    assert!(
        listed.contains("1 tệp: giay-chung-nhan.pdf"),
        "the slip lists the scan: {listed}"
    );
    let secret = b.text("#slip-secret").await;
    b.shot("papers-slip").await;
    let d = dossier(&s, &code);
    assert_eq!(
        d["documents"],
        json!(["don-de-nghi", "giay-to-dat", "ban-ve-thiet-ke"]),
        "in the checklist's order"
    );
    b.sign_out().await;

    // The infrastructure office previews the scan on the dossier page.
    act(&s, DESK, &code, "chuyen-kiem-tra", json!({}));
    wait_for(&s, &code, |d| in_state(d, "kiem-tra-quy-hoach"));
    b.sign_in(HA_TANG.token).await;
    b.goto(&format!("/ho-so/{code}")).await;
    b.click("#xem-1 summary").await;
    let framed = eval(
        &b,
        "const f = document.querySelector('#xem-1 iframe'); \
         return fetch(f.src).then(r => r.headers.get('content-type') + '|' + \
           r.headers.get('content-disposition').split(';')[0] + '|' + f.getBoundingClientRect().height)",
    )
    .await;
    let parts: Vec<&str> = framed.split('|').collect();
    assert_eq!(parts[..2], ["application/pdf", "inline"], "{framed}");
    assert!(
        parts[2].parse::<f64>().is_ok_and(|h| h > 300.0),
        "shown in the page: {framed}"
    );
    b.shot("papers-preview").await;
    b.sign_out().await;

    // The leader attaches the signed permit on the page; the desk returns it.
    act(&s, HA_TANG, &code, "xong-quy-hoach", json!({}));
    act(&s, HA_TANG, &code, "xong-ket-cau", json!({}));
    wait_for(&s, &code, |d| in_state(d, "tong-hop"));
    act(&s, HA_TANG, &code, "trinh-lanh-dao", json!({}));
    let permit_bytes = b"%PDF-1.7\n% giay phep xay dung so 12/GPXD, da ky so\n%%EOF\n";
    let permit = dir.path().join("giay-phep.pdf");
    std::fs::write(&permit, permit_bytes).expect("the permit");
    b.sign_in(LEADER.token).await;
    b.goto(&format!("/ho-so/{code}")).await;
    b.select("#attach-kind", "giay-phep").await;
    b.client
        .find(fantoccini::Locator::Css("#attach-file"))
        .await
        .expect("the file input")
        .send_keys(permit.to_str().expect("utf-8"))
        .await
        .expect("chosen");
    b.click("#attach").await;
    b.wait_text("#papers", "giay-phep.pdf").await;
    b.close().await;
    act(&s, LEADER, &code, "ky-giay-phep", json!({}));
    act(&s, DESK, &code, "tra-giay-phep", json!({}));

    // The citizen, on a phone, with the slip's code and secret.
    let phone = Browser::start(&format!("http://{}", s.addr), 390, 844).await;
    let public = dossier(&s, &code)["public_code"]
        .as_str()
        .unwrap_or(&code)
        .to_string();
    phone
        .goto(&format!("/tra-cuu/{public}?secret={secret}"))
        .await;
    phone.wait_for("#results").await;
    let results = phone.text("#results").await;
    assert!(
        results.contains("Giấy phép xây dựng (có giá trị đến hết ngày"),
        "the permit with the last day it is valid: {results}"
    );
    let fetched = eval(
        &phone,
        "const a = document.querySelector('#results a'); \
         return fetch(a.href).then(async r => r.headers.get('content-disposition').split(';')[0] + '|' + \
           Array.from(new Uint8Array(await r.arrayBuffer())).map(b => b.toString(16).padStart(2, '0')).join(''))",
    )
    .await;
    let (disposition, hex) = fetched.split_once('|').expect("two parts");
    assert_eq!(disposition, "attachment");
    let mut got = Vec::new();
    for i in (0..hex.len()).step_by(2) {
        got.push(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"));
    }
    assert_eq!(got, permit_bytes, "the permit, byte for byte");
    assert_eq!(sha256(&got), sha256(permit_bytes));
    let wide: bool = phone
        .client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            vec![],
        )
        .await
        .expect("script")
        .as_bool()
        .expect("bool");
    assert!(wide, "the status page fits the phone's width");
    phone.shot("papers-citizen-phone").await;
    phone.close().await;
}
