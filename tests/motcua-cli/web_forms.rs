//! The screens' forms against what a browser would never send: forged and cross-site posts,
//! broken bodies, double submissions, a stranger's cookie. Each gets its refusal page with the
//! API's status and code and leaves the store as it was. Real binary, plain HTTP.

use crate::http;

use http::{ADMIN, AUDITOR, DESK, Server};

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(pairs)
        .expect("form")
        .into_bytes()
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..at + 64].to_string()
}

fn audit_count(s: &Server) -> u64 {
    s.get("/v1/audit/verify", Some(AUDITOR)).json()["count"]
        .as_u64()
        .expect("count")
}

fn desk_form(s: &Server, cookie: &str) -> (String, String) {
    let r = s.request(
        "GET",
        "/tiep-nhan/cap-phep-xay-dung-nha-o",
        None,
        &[("cookie", cookie)],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.text();
    let at = page.find("name=\"form_key\" value=\"").expect("form key") + 23;
    (csrf_of(&page), page[at..at + 32].to_string())
}

fn house_permit_form<'a>(csrf: &'a str, key: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("form_key", key),
        ("applicant_id", "001090012345"),
        ("applicant_name", "Nguyễn Thị Mai"),
        ("channel", "desk"),
        ("f.ho_ten_chu_dau_tu", "Nguyễn Thị Mai"),
        ("f.so_cccd", "048090001234"),
        ("f.dia_chi_cong_trinh", "K12/5 Hoàng Diệu"),
        ("f.quan_huyen", "hai-chau"),
        ("f.dien_tich_san", "240"),
        ("f.so_tang", "3"),
        ("doc", "don-de-nghi"),
        ("doc", "giay-to-dat"),
        ("doc", "ban-ve-thiet-ke"),
    ]
}

fn post(
    s: &Server,
    path: &str,
    cookie: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> http::Response {
    let mut headers = vec![
        ("cookie", cookie),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    headers.extend_from_slice(extra);
    s.request("POST", path, None, &headers, Some(body))
}

#[test]
fn forged_cross_site_and_broken_desk_posts_are_refused_and_store_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path(), &[]);
    let cookie = s.sign_in(DESK.token);
    let (csrf, key) = desk_form(&s, &cookie);
    let before = audit_count(&s);
    let path = "/tiep-nhan/cap-phep-xay-dung-nha-o";
    let good = house_permit_form(&csrf, &key);

    // Without a session: to the sign-in page, nothing received.
    let r = s.request(
        "POST",
        path,
        None,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(&form(&good)),
    );
    assert_eq!(r.status, 303);
    assert!(
        r.header("location")
            .is_some_and(|l| l.starts_with("/dang-nhap"))
    );

    // A forged CSRF token, a missing one.
    let mut forged = good.clone();
    forged[0] = (
        "csrf",
        "0000000000000000000000000000000000000000000000000000000000000000",
    );
    let r = post(&s, path, &cookie, &[], &form(&forged));
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("forbidden"));
    let r = post(&s, path, &cookie, &[], &form(&good[1..]));
    assert_eq!(r.status, 403);

    // From another site, even with the right token.
    let r = post(
        &s,
        path,
        &cookie,
        &[("origin", "http://evil.example")],
        &form(&good),
    );
    assert_eq!(r.status, 403, "{}", r.text());

    // Another media type; a body over the limit; a body that is not a form.
    let r = s.request(
        "POST",
        path,
        None,
        &[("cookie", &cookie), ("content-type", "application/json")],
        Some(b"{}"),
    );
    assert_eq!(r.status, 415);
    let r = post(&s, path, &cookie, &[], &vec![b'a'; 2 * 1024 * 1024]);
    assert!(matches!(r.status, 413 | 400), "{}", r.status);
    let r = post(&s, path, &cookie, &[], b"%zz=%");
    assert!(r.status == 400 || r.status == 403, "{}", r.status);

    // A number box holding words is named; the form comes back with what was typed.
    let mut words = good.clone();
    words[10] = ("f.so_tang", "ba tầng");
    let r = post(&s, path, &cookie, &[], &form(&words));
    assert_eq!(r.status, 422);
    let page = r.text();
    assert!(
        page.contains("so_tang") && page.contains("K12/5 Hoàng Diệu"),
        "{page}"
    );

    // Invalid for the schema (the CCCD pattern): the engine's field error, nothing stored.
    let mut bad = good.clone();
    bad[6] = ("f.so_cccd", "123");
    let r = post(&s, path, &cookie, &[], &form(&bad));
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("so_cccd"), "{}", r.text());
    assert_eq!(audit_count(&s), before, "no refused post wrote anything");

    // A page that hides its referrer posts with `Origin: null`: another site too.
    let r = post(&s, path, &cookie, &[("origin", "null")], &form(&good));
    assert_eq!(r.status, 403, "{}", r.text());

    // Checked, not received: the confirmation step writes nothing.
    let r = post(&s, path, &cookie, &[], &form(&good));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(audit_count(&s), before, "a confirmation page wrote nothing");
    let page = r.text();
    let at = page
        .find("name=\"xac_nhan\" value=\"")
        .expect("a confirmation")
        + 23;
    let digest = page[at..at + 64].to_string();
    let mut confirmed = good.clone();
    confirmed.push(("buoc", "nhan"));
    confirmed.push(("xac_nhan", &digest));
    // Confirmed for other values than those posted: shown again, nothing received.
    let mut changed = confirmed.clone();
    changed[10] = ("f.so_tang", "4");
    let r = post(&s, path, &cookie, &[], &form(&changed));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Thông tin đã thay đổi"), "{}", r.text());
    assert_eq!(audit_count(&s), before);

    // The form posted twice (a double click, a resend): one dossier.
    let first = post(&s, path, &cookie, &[], &form(&confirmed));
    assert_eq!(first.status, 303, "{}", first.text());
    let second = post(&s, path, &cookie, &[], &form(&confirmed));
    assert_eq!(second.header("location"), first.header("location"));
    let r = s
        .get("/v1/dossiers?applicant=001090012345", Some(AUDITOR))
        .json();
    assert_eq!(r["dossiers"].as_array().map(Vec::len), Some(1), "{r}");
}

#[test]
fn a_wrong_token_a_stolen_looking_cookie_and_a_signed_out_session_open_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path(), &[]);
    let r = s.request(
        "POST",
        "/dang-nhap",
        None,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(&form(&[("token", "not-a-token")])),
    );
    assert_eq!(r.status, 401);
    assert!(r.header("set-cookie").is_none());
    assert!(
        s.stderr_text().contains("POST /dang-nhap"),
        "the refusal is logged"
    );

    let made_up = format!("motcua_session={}", "ab".repeat(32));
    let r = s.request("GET", "/viec-cua-toi", None, &[("cookie", &made_up)], None);
    assert_eq!(r.status, 303, "an unknown session signs in again");

    // Sign-in from another site (login CSRF) is refused before the token is looked at.
    let r = s.request(
        "POST",
        "/dang-nhap",
        None,
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", "null"),
        ],
        Some(&form(&[("token", DESK.token)])),
    );
    assert_eq!(r.status, 403);
    assert!(r.header("set-cookie").is_none());

    let cookie = s.sign_in(DESK.token);
    let r = s.request("GET", "/viec-cua-toi", None, &[("cookie", &cookie)], None);
    assert_eq!(r.status, 200);
    let csrf = csrf_of(&r.text());
    // A sign-out without the session's token (another site's form) ends nothing.
    let r = post(&s, "/dang-xuat", &cookie, &[], &form(&[("csrf", "x")]));
    assert!(r.header("set-cookie").is_none());
    let r = s.request("GET", "/viec-cua-toi", None, &[("cookie", &cookie)], None);
    assert_eq!(r.status, 200, "still signed in");
    let r = post(&s, "/dang-xuat", &cookie, &[], &form(&[("csrf", &csrf)]));
    assert_eq!(r.status, 303);
    let r = s.request("GET", "/viec-cua-toi", None, &[("cookie", &cookie)], None);
    assert_eq!(r.status, 303, "signed out, the old cookie opens nothing");

    // The desk may not open the inspector's or the author's screens.
    let cookie = s.sign_in(DESK.token);
    for path in [
        "/kiem-tra",
        "/kiem-tra/xac-minh",
        "/thu-tuc",
        "/thu-tuc/tai-len",
    ] {
        let r = s.request("GET", path, None, &[("cookie", &cookie)], None);
        assert_eq!(r.status, 403, "{path}");
    }
    // A form that does not exist, a citizen's guess.
    let r = s.request(
        "GET",
        "/ho-so/X-1/mau/09",
        None,
        &[("cookie", &cookie)],
        None,
    );
    assert_eq!(r.status, 404);
    let r = s.get("/tra-cuu/000.17.22.H17-261207-0001?secret=abc", None);
    assert_eq!(r.status, 404);
}

#[test]
fn an_upload_shows_each_diagnostic_under_its_line_and_stores_only_a_clean_file() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path(), &[]);
    let cookie = s.sign_in(ADMIN.token);
    let r = s.request(
        "GET",
        "/thu-tuc/tai-len",
        None,
        &[("cookie", &cookie)],
        None,
    );
    let csrf = csrf_of(&r.text());
    let source = std::fs::read_to_string(http::root().join("procedures/dang-ky-khai-sinh.yaml"))
        .expect("sample");
    // A typo in a state a transition goes to.
    let broken = source.replacen("to: da-tra-ket-qua", "to: da-tra-ket-qa", 1);
    assert_ne!(broken, source, "the sample has the line this test breaks");
    let line = broken
        .lines()
        .position(|l| l.contains("da-tra-ket-qa"))
        .expect("line")
        + 1;
    let versions = |s: &Server| {
        s.get("/v1/procedures/dang-ky-khai-sinh", Some(ADMIN))
            .json()["versions"]
            .as_array()
            .map(Vec::len)
    };
    let before = versions(&s);
    let r = post(
        &s,
        "/thu-tuc/tai-len",
        &cookie,
        &[],
        &form(&[("csrf", &csrf), ("source", &broken), ("store", "1")]),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let page = r.text();
    assert!(
        page.contains(&format!("Dòng {line}, cột ")),
        "the diagnostic names line {line}: {page}"
    );
    assert!(page.contains("da-tra-ket-qa"));
    assert_eq!(versions(&s), before, "a file with errors is not stored");
}

/// Regression: the receiving form read every checkbox of the form data as ticked (the
/// confirmation said "Không", the stored value was true).
#[test]
fn an_unticked_checkbox_is_received_as_false() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path(), &[]);
    let cookie = s.sign_in(DESK.token);
    let path = "/tiep-nhan/cap-giay-chung-nhan-dat-lan-dau";
    let r = s.request("GET", path, None, &[("cookie", &cookie)], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.text();
    let csrf = csrf_of(&page);
    let at = page.find("name=\"form_key\" value=\"").expect("form key") + 23;
    let key = page[at..at + 32].to_string();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("form_key", key.as_str()),
        ("applicant_id", "048085001234"),
        ("applicant_name", "Trần Văn Bình"),
        ("channel", "desk"),
        ("f.ho_ten", "Trần Văn Bình"),
        ("f.so_cccd", "048085001234"),
        ("f.dia_chi_thua_dat", "Tổ 12, phường Hòa Khánh Bắc"),
        ("f.dien_tich", "120,5"),
        ("f.muc_dich_su_dung", "Đất ở"),
        ("doc", "don-dang-ky"),
        ("doc", "giay-to-nguon-goc"),
        ("doc", "ban-do-thua-dat"),
        ("doc", "chung-tu-tai-chinh"),
    ];
    let r = post(&s, path, &cookie, &[], &form(&fields));
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.text();
    let at = page
        .find("name=\"xac_nhan\" value=\"")
        .expect("a confirmation")
        + 23;
    let digest = page[at..at + 64].to_string();
    fields.push(("buoc", "nhan"));
    fields.push(("xac_nhan", &digest));
    fields.push(("ly_do_thieu", "Giấy tờ khác nộp sau"));
    let r = post(&s, path, &cookie, &[], &form(&fields));
    assert_eq!(r.status, 303, "{}", r.text());
    let location = r.header("location").expect("the slip").to_string();
    let code = location
        .strip_prefix("/ho-so/")
        .and_then(|p| p.strip_suffix("/mau/01"))
        .expect("a slip path");
    let d = s.get(&format!("/v1/dossiers/{code}"), Some(AUDITOR)).json();
    assert_eq!(d["data"]["vung_kho_khan"], false, "{d}");
}

/// The opening tag of the form control with `id` in `page`.
fn control<'a>(page: &'a str, id: &str) -> &'a str {
    let at = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    let start = page[..at].rfind('<').expect("a tag");
    let end = at + page[at..].find('>').expect("a tag's end");
    &page[start..=end]
}

/// A negative area and a CCCD of a province that does not exist (the schema's pattern
/// passes, the `cccd` plugin refuses): both said in Vietnamese under their own boxes, at
/// once, before any confirmation, the boxes marked and what was typed kept; the API says the
/// same with codes and arguments.
#[test]
fn a_refused_receiving_form_speaks_vietnamese_at_each_field() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path(), &[]);
    let cookie = s.sign_in(DESK.token);
    let (csrf, key) = desk_form(&s, &cookie);
    let before = audit_count(&s);
    let path = "/tiep-nhan/cap-phep-xay-dung-nha-o";
    let mut bad = house_permit_form(&csrf, &key);
    bad[6] = ("f.so_cccd", "999090001234");
    bad[9] = ("f.dien_tich_san", "-5");
    let r = post(&s, path, &cookie, &[], &form(&bad));
    assert_eq!(r.status, 422, "{}", r.text());
    let page = r.text();

    let area = control(&page, "f.dien_tich_san");
    assert!(
        area.contains("aria-invalid=\"true\"")
            && area.contains("aria-describedby=\"f.dien_tich_san-error\"")
            && area.contains("value=\"-5\""),
        "{area}"
    );
    let said = |id: &str| {
        let tag = control(&page, &format!("{id}-error"));
        let at = page.find(tag).expect("the sentence") + tag.len();
        page[at..at + page[at..].find("</p>").expect("its end")].to_string()
    };
    assert_eq!(
        said("f.dien_tich_san"),
        "Tổng diện tích sàn xây dựng (m²) phải lớn hơn 0"
    );
    let cccd = control(&page, "f.so_cccd");
    assert!(
        cccd.contains("aria-invalid=\"true\"") && cccd.contains("value=\"999090001234\""),
        "{cccd}"
    );
    assert_eq!(
        said("f.so_cccd"),
        "Mã tỉnh 999 trong số CCCD không tồn tại",
        "the plugin's own sentence, once"
    );
    // The fields that were right are not marked, and keep what was typed.
    let address = control(&page, "f.dia_chi_cong_trinh");
    assert!(
        !address.contains("aria-invalid") && address.contains("value=\"K12/5 Hoàng Diệu\""),
        "{address}"
    );
    assert!(
        page.contains("Hồ sơ chưa hợp lệ: 2 trường cần sửa")
            && page.contains("<a href=\"#f.dien_tich_san\">"),
        "a summary linking to the fields: {page}"
    );
    // The HTML bounds let the browser refuse first.
    assert!(area.contains("min=\"0\""), "{area}");
    assert!(cccd.contains("pattern=\"^[0-9]{12}$\""), "{cccd}");
    for english in [
        "is less than",
        "minimum",
        "refused the data",
        "plugin",
        "[cccd.",
        "/dien_tich_san",
        "/so_cccd",
        "invalid",
    ] {
        // `invalid` only marks a field, for CSS and screen readers.
        let text = page
            .replace("class=\"field invalid\"", "")
            .replace("aria-invalid", "");
        assert!(!text.contains(english), "{english:?} in {page}");
    }
    assert!(
        !page.contains("confirm-receive"),
        "no confirmation while wrong"
    );
    assert_eq!(audit_count(&s), before, "nothing received");

    // The API: 422 with a code and the data to word it, per field.
    let mut body = http::house_permit();
    body["data"]["dien_tich_san"] = serde_json::json!(-5.0);
    body["data"]
        .as_object_mut()
        .expect("data")
        .remove("so_tang");
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "field-errors-1")],
        &body,
    );
    assert_eq!(
        (r.status, r.problem_code()),
        (422, "invalid_form".into()),
        "{}",
        r.text()
    );
    let errors = r.json()["errors"].as_array().cloned().expect("errors");
    let at = |field: &str| {
        errors
            .iter()
            .find(|e| e["field"] == field)
            .unwrap_or_else(|| panic!("no error at {field}: {errors:?}"))
            .clone()
    };
    let area = at("/dien_tich_san");
    assert_eq!(area["code"], "exclusive_minimum");
    assert_eq!(area["args"], serde_json::json!({"limit": 0}));
    assert!(area["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(at("/so_tang")["code"], "required", "at the missing field");

    let mut body = http::house_permit();
    body["data"]["so_cccd"] = serde_json::json!("999090001234");
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "field-errors-2")],
        &body,
    );
    assert_eq!(
        (r.status, r.problem_code()),
        (422, "validation_failed".into()),
        "{}",
        r.text()
    );
    let e = &r.json()["errors"][0];
    assert_eq!(e["field"], "/so_cccd");
    assert_eq!(e["code"], "cccd.province");
    assert_eq!(e["args"]["plugin"], "cccd");
    assert_eq!(e["message"], "Mã tỉnh 999 trong số CCCD không tồn tại");
    assert_eq!(audit_count(&s), before);
}
