//! A dossier's papers over HTTP against the real binary: the desk's scan attached at the
//! counter and read back byte for byte, a second version kept beside the first, the audit
//! entry naming the digest, and every hostile or out-of-turn upload refused with its code,
//! nothing attached.

use crate::cli::{run, text};
use crate::http::{AUDITOR, CITIZEN, Cred, DESK, HA_TANG, OTHER_DEPT, Server};
use crate::web_screens::{receive, start};
use serde_json::Value;

/// A small but real PDF (one empty A4 page).
pub(crate) const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/MediaBox[0 0 595 842]/Parent 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

fn upload(
    s: &Server,
    who: Cred,
    code: &str,
    kind: &str,
    name: &str,
    bytes: &[u8],
) -> crate::http::Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    s.request(
        "POST",
        &format!("/v1/dossiers/{code}/documents?kind={kind}"),
        Some(who),
        &[
            ("content-type", "application/pdf"),
            ("content-disposition", disposition.as_str()),
        ],
        Some(bytes),
    )
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

#[test]
fn the_desks_scan_is_kept_with_the_dossier_read_back_whole_and_named_in_the_audit_chain() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let (code, _) = receive(
        &s,
        "papers-1",
        crate::http::house_permit()["documents"].clone(),
    );

    let r = upload(&s, DESK, &code, "giay-to-dat", "giấy tờ đất.pdf", PDF);
    assert_eq!(r.status, 201, "{}", r.text());
    let first = r.json();
    assert_eq!(first["sha256"], sha256(PDF));
    assert_eq!(first["media_type"], "application/pdf");
    assert_eq!(first["source"], "desk");
    assert_eq!(first["version"], 1);
    assert_eq!(first["name"], "giấy tờ đất.pdf");
    assert_eq!(
        first["kind_name"],
        "Bản sao giấy tờ chứng minh quyền sử dụng đất"
    );

    // A clearer scan of the same paper is version 2; version 1 stays listed.
    let mut better = PDF.to_vec();
    better.extend_from_slice(b"% rescanned at 300 dpi\n");
    let r = s.request(
        "POST",
        &format!("/v1/dossiers/{code}/documents?kind=giay-to-dat"),
        Some(DESK),
        &[(
            "content-disposition",
            "attachment; filename*=UTF-8''gi%E1%BA%A5y%20t%E1%BB%9D%202.pdf",
        )],
        Some(&better),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let list = s
        .get(&format!("/v1/dossiers/{code}/documents"), Some(HA_TANG))
        .json();
    let papers = list["papers"].as_array().expect("papers");
    assert_eq!(papers.len(), 2);
    assert_eq!(papers[0]["current"], false);
    assert_eq!(papers[1]["current"], true);
    assert_eq!(papers[1]["version"], 2);
    assert_eq!(papers[1]["name"], "giấy tờ 2.pdf");

    // The bytes come back whole, as a download nothing will run.
    let r = s.get(
        &format!("/v1/dossiers/{code}/documents/{}", sha256(PDF)),
        Some(HA_TANG),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, PDF);
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    assert!(
        r.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment;"))
    );
    assert!(
        r.header("content-security-policy")
            .is_some_and(|c| c.contains("sandbox"))
    );

    // The chain names what was attached.
    let audit = s
        .get(&format!("/v1/dossiers/{code}/audit"), Some(HA_TANG))
        .json();
    let attached: Vec<&Value> = audit
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "attach")
        .collect();
    assert_eq!(attached.len(), 2, "{audit}");
    assert_eq!(attached[0]["input"]["sha256"], sha256(PDF));
    assert_eq!(attached[0]["input"]["kind"], "giay-to-dat");
    assert_eq!(attached[0]["input"]["size"], PDF.len());
}

#[test]
fn hostile_and_out_of_turn_uploads_are_refused_and_attach_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let (code, _) = receive(
        &s,
        "papers-2",
        crate::http::house_permit()["documents"].clone(),
    );
    let version = |s: &Server| {
        s.get(&format!("/v1/dossiers/{code}"), Some(DESK)).json()["version"]
            .as_u64()
            .expect("version")
    };
    let before = version(&s);
    // An SVG with a script, an HTML page and an executable, each claiming to be a PDF.
    for (bytes, what) in [
        (
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"[..],
            "svg",
        ),
        (&b"<!DOCTYPE html><html><body>hi</body></html>"[..], "html"),
        (&b"MZ\x90\x00\x03\x00\x00\x00"[..], "exe"),
    ] {
        let r = upload(&s, DESK, &code, "giay-to-dat", "scan.pdf", bytes);
        assert_eq!(r.status, 415, "{what}: {}", r.text());
        assert_eq!(r.problem_code(), "unsupported_file");
    }
    // A kind the procedure does not declare.
    let r = upload(&s, DESK, &code, "hoa-don-dien", "x.pdf", PDF);
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.problem_code(), "unknown_document");
    // An officer of another department, and the applicant while nothing is asked of them.
    let r = upload(&s, OTHER_DEPT, &code, "giay-to-dat", "x.pdf", PDF);
    assert_eq!(r.status, 403, "{}", r.text());
    let r = upload(&s, CITIZEN, &code, "giay-to-dat", "x.pdf", PDF);
    assert_eq!(r.status, 403, "{}", r.text());
    // An empty body.
    let r = upload(&s, DESK, &code, "giay-to-dat", "x.pdf", b"");
    assert_eq!(r.status, 400, "{}", r.text());
    // A digest that is not one, and one the dossier does not have.
    let r = s.get(
        &format!("/v1/dossiers/{code}/documents/..%2F..%2Fetc"),
        Some(DESK),
    );
    assert!(r.status == 404 || r.status == 400, "{}", r.status);
    let r = s.get(
        &format!("/v1/dossiers/{code}/documents/{}", sha256(b"elsewhere")),
        Some(DESK),
    );
    assert_eq!(r.status, 404);
    assert_eq!(version(&s), before, "nothing was attached");
    // Refused for who or what they are, before a byte was kept: the folder holds nothing
    // (the markup was read to be refused, and not kept either).
    let kept: usize = std::fs::read_dir(dir.path().join("data/papers"))
        .expect("papers folder")
        .flatten()
        .filter(|e| e.file_name() != "tmp")
        .map(|e| std::fs::read_dir(e.path()).map_or(0, |d| d.count()))
        .sum();
    assert_eq!(kept, 0, "no file kept for a refused upload");
    // A raw byte in an encoded name is read, not a panic.
    let r = s.request(
        "POST",
        &format!("/v1/dossiers/{code}/documents?kind=giay-to-dat"),
        Some(DESK),
        &[(
            "content-disposition",
            "attachment; filename*=UTF-8''%a\u{e9}x.pdf",
        )],
        Some(PDF),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let list = s
        .get(&format!("/v1/dossiers/{code}/documents"), Some(DESK))
        .json();
    assert_eq!(
        list["papers"].as_array().map(Vec::len),
        Some(1),
        "only the one with the odd name: {list}"
    );
}

#[test]
fn a_scan_altered_or_lost_on_disk_is_named_by_audit_verify() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let (code, _) = receive(
        &s,
        "papers-3",
        crate::http::house_permit()["documents"].clone(),
    );
    let r = upload(&s, DESK, &code, "giay-to-dat", "gcn.pdf", PDF);
    assert_eq!(r.status, 201, "{}", r.text());
    let v = s.get("/v1/audit/verify", Some(AUDITOR)).json();
    assert_eq!(
        (v["ok"].clone(), v["papers"].clone()),
        (true.into(), 1.into()),
        "{v}"
    );
    s.terminate();

    let data = dir.path().join("data");
    let data = data.to_str().expect("path");
    let out = run(&["audit", "verify", "--data", data]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("papers: 1 checked"),
        "{}",
        text(&out.stdout)
    );

    // One byte changed in the stored scan: the dossier and the paper are named.
    let sha = sha256(PDF);
    let stored = dir.path().join("data/papers").join(&sha[..2]).join(&sha);
    let mut bytes = std::fs::read(&stored).expect("the scan is a file in the data folder");
    bytes[10] ^= 1;
    std::fs::write(&stored, &bytes).expect("altered");
    let out = run(&["audit", "verify", "--data", data]);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    assert!(
        said.contains(&code) && said.contains(&sha) && said.contains("altered"),
        "{said}"
    );
    // Gone altogether.
    std::fs::remove_file(&stored).expect("removed");
    let out = run(&["audit", "verify", "--data", data]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("is missing"),
        "{}",
        text(&out.stdout)
    );
}

fn multipart(boundary: &str, csrf: &str, kind: &str, name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, value) in [("csrf", csrf), ("kind", kind)] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..at + 64].to_string()
}

#[test]
fn the_desk_attaches_a_scan_on_the_dossier_page_and_an_officer_downloads_it() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let (code, _) = receive(
        &s,
        "papers-4",
        crate::http::house_permit()["documents"].clone(),
    );
    let desk = s.sign_in(DESK.token);
    let page = s
        .request(
            "GET",
            &format!("/ho-so/{code}"),
            None,
            &[("cookie", &desk)],
            None,
        )
        .text();
    assert!(page.contains("id=\"attach-form\""), "the desk may attach");
    assert!(page.contains("Bản sao giấy tờ chứng minh quyền sử dụng đất"));
    let csrf = csrf_of(&page);
    let boundary = "----motcua-test-7f3a";
    let content_type = format!("multipart/form-data; boundary={boundary}");

    // A post without this session's token stores nothing.
    let forged = multipart(boundary, &"0".repeat(64), "giay-to-dat", "x.pdf", PDF);
    let r = s.request(
        "POST",
        &format!("/ho-so/{code}/giay-to"),
        None,
        &[("cookie", &desk), ("content-type", &content_type)],
        Some(&forged),
    );
    assert_eq!(r.status, 403, "{}", r.text());

    let body = multipart(boundary, &csrf, "giay-to-dat", "giấy tờ đất.pdf", PDF);
    let r = s.request(
        "POST",
        &format!("/ho-so/{code}/giay-to"),
        None,
        &[("cookie", &desk), ("content-type", &content_type)],
        Some(&body),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let officer = s.sign_in(HA_TANG.token);
    let page = s
        .request(
            "GET",
            &format!("/ho-so/{code}"),
            None,
            &[("cookie", &officer)],
            None,
        )
        .text();
    let href = format!("/ho-so/{code}/giay-to/{}", sha256(PDF));
    assert!(page.contains(&href), "listed with its download link");
    assert!(
        page.contains("giấy tờ đất.pdf") && page.contains("(PDF, 1 KB; 1 trang)"),
        "{page}"
    );
    assert!(
        !page.contains("id=\"attach-form\""),
        "no step of theirs yet: nothing to attach"
    );
    let r = s.request("GET", &href, None, &[("cookie", &officer)], None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, PDF);
    // Another department's officer reads neither the dossier nor its papers.
    let other = s.sign_in(OTHER_DEPT.token);
    let r = s.request("GET", &href, None, &[("cookie", &other)], None);
    assert_eq!(r.status, 403);
    let list = s
        .get(&format!("/v1/dossiers/{code}/documents"), Some(DESK))
        .json();
    assert_eq!(list["papers"].as_array().map(Vec::len), Some(1), "{list}");
}

#[test]
fn documents_gc_removes_what_no_entry_names_and_verify_still_holds() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let (code, _) = receive(
        &s,
        "papers-5",
        crate::http::house_permit()["documents"].clone(),
    );
    assert_eq!(
        upload(&s, DESK, &code, "giay-to-dat", "gcn.pdf", PDF).status,
        201
    );
    // Refused for its kind before a byte is kept.
    let mut other = PDF.to_vec();
    other.extend_from_slice(b"% refused\n");
    assert_eq!(
        upload(&s, DESK, &code, "hoa-don", "x.pdf", &other).status,
        422
    );
    s.terminate();
    // A file whose attach never came (the server killed between keeping and committing).
    let sha = sha256(&other);
    let orphan = dir.path().join("data/papers").join(&sha[..2]);
    std::fs::create_dir_all(&orphan).expect("folder");
    std::fs::write(orphan.join(&sha), &other).expect("orphan");
    let data = dir.path().join("data");
    let data = data.to_str().expect("path");
    let out = run(&["documents", "gc", "--data", data, "--grace", "0s"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.starts_with("removed 1 unreferenced files"), "{said}");
    assert!(said.contains(&sha256(&other)), "{said}");
    let out = run(&["audit", "verify", "--data", data]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("papers: 1 checked"));
}

#[test]
fn the_citizen_uploads_a_requested_supplement_and_downloads_the_permit_with_the_slips_secret() {
    use crate::http::LEADER;
    use crate::web_screens::{act, house_permit_in_review, in_state, wait_for};
    use serde_json::json;
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let (code, status_path) = house_permit_in_review(&s, "papers-6");
    let page_path = status_path.replace("/v1/status/", "/tra-cuu/");
    let secret = page_path
        .split("secret=")
        .nth(1)
        .expect("secret")
        .to_string();
    let page = s.get(&page_path, None).text();
    assert!(!page.contains("supplement-online"), "nothing asked yet");
    // Nor may the secret upload anything now.
    let boundary = "----motcua-test-c1t1";
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let body = multipart(boundary, "", "ban-ve-thiet-ke", "mat-cat.pdf", PDF);
    let upload_to = format!("/tra-cuu/{code}/giay-to?secret={secret}");
    let r = s.request(
        "POST",
        &upload_to,
        None,
        &[("content-type", &content_type)],
        Some(&body),
    );
    assert_eq!(r.status, 403, "{}", r.text());

    act(&s, HA_TANG, &code, "xong-quy-hoach", json!({}));
    act(&s, HA_TANG, &code, "xong-ket-cau", json!({}));
    act(&s, HA_TANG, &code, "yeu-cau-bo-sung-tham-dinh", json!({}));
    wait_for(&s, &code, |d| in_state(d, "cho-bo-sung-tham-dinh"));
    let page = s.get(&page_path, None).text();
    assert!(
        page.contains("id=\"supplement-online\""),
        "the form is offered"
    );
    // A wrong secret stores nothing.
    let wrong = format!(
        "/tra-cuu/{code}/giay-to?secret={}",
        "0".repeat(secret.len())
    );
    let r = s.request(
        "POST",
        &wrong,
        None,
        &[("content-type", &content_type)],
        Some(&body),
    );
    assert_eq!(r.status, 404);
    let r = s.request(
        "POST",
        &upload_to,
        None,
        &[("content-type", &content_type)],
        Some(&body),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let list = s
        .get(&format!("/v1/dossiers/{code}/documents"), Some(HA_TANG))
        .json();
    assert_eq!(list["papers"][0]["source"], "applicant", "{list}");
    assert_eq!(list["papers"][0]["kind"], "ban-ve-thiet-ke");

    // The office goes on; the leader attaches the signed permit; the desk returns it.
    act(&s, CITIZEN, &code, "nop-bo-sung-tham-dinh", json!({}));
    wait_for(&s, &code, |d| in_state(d, "tong-hop"));
    act(&s, HA_TANG, &code, "trinh-lanh-dao", json!({}));
    let permit = b"%PDF-1.7\n% giay phep xay dung, da ky\n%%EOF\n";
    let r = upload(&s, LEADER, &code, "giay-phep", "giay-phep.pdf", permit);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["source"], "officer");
    let page = s.get(&page_path, None).text();
    assert!(
        !page.contains("id=\"results\""),
        "not released before it is returned"
    );
    act(&s, LEADER, &code, "ky-giay-phep", json!({}));
    act(&s, DESK, &code, "tra-giay-phep", json!({}));
    let page = s.get(&page_path, None).text();
    let href = format!("/tra-cuu/{code}/giay-to/{}?secret={secret}", sha256(permit));
    assert!(
        page.contains(&href.replace('&', "&amp;")) || page.contains(&href),
        "{page}"
    );
    let r = s.get(&href, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, permit);
    // The applicant's own supplement is not a result: not served on the public page.
    let other = format!("/tra-cuu/{code}/giay-to/{}?secret={secret}", sha256(PDF));
    assert_eq!(s.get(&other, None).status, 404);
}

/// A scan of several MiB: a PDF header, then pages of bytes.
fn big_scan(mib: usize, seed: u8) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..mib * 1024 * 1024).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    bytes
}

#[test]
fn a_scan_of_several_megabytes_streams_in_and_out_through_the_api_and_the_page() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let (code, _) = receive(
        &s,
        "papers-7",
        crate::http::house_permit()["documents"].clone(),
    );
    let scan = big_scan(3, 1);
    let r = upload(&s, DESK, &code, "giay-to-dat", "gcn.pdf", &scan);
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s.get(
        &format!("/v1/dossiers/{code}/documents/{}", sha256(&scan)),
        Some(HA_TANG),
    );
    assert_eq!((r.status, r.body.len()), (200, scan.len()));
    assert_eq!(sha256(&r.body), sha256(&scan));

    // The same through the dossier page's form (multipart, past the door's 1 MiB).
    let desk = s.sign_in(DESK.token);
    let page = s
        .request(
            "GET",
            &format!("/ho-so/{code}"),
            None,
            &[("cookie", &desk)],
            None,
        )
        .text();
    let boundary = "----motcua-test-big";
    let second = big_scan(2, 7);
    let body = multipart(
        boundary,
        &csrf_of(&page),
        "ban-ve-thiet-ke",
        "ban-ve.pdf",
        &second,
    );
    let r = s.request(
        "POST",
        &format!("/ho-so/{code}/giay-to"),
        None,
        &[
            ("cookie", &desk),
            (
                "content-type",
                &format!("multipart/form-data; boundary={boundary}"),
            ),
        ],
        Some(&body),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let r = s.request(
        "GET",
        &format!("/ho-so/{code}/giay-to/{}", sha256(&second)),
        None,
        &[("cookie", &desk)],
        None,
    );
    assert_eq!(sha256(&r.body), sha256(&second));
}

/// A second portal: submits for any applicant, reads only what it sent.
const OTHER_PORTAL: Cred = Cred {
    subject: "cong-khac",
    token: "tok-portal-0000002",
    roles: &["portal"],
    departments: &[],
};

/// Uploads `bytes` ahead of a submission: the answer's JSON (`sha256`, `upload`).
fn stage(s: &Server, who: Cred, name: &str, bytes: &[u8]) -> Value {
    let disposition = format!("attachment; filename=\"{name}\"");
    let r = s.request(
        "POST",
        "/v1/documents",
        Some(who),
        &[
            ("content-type", "application/pdf"),
            ("content-disposition", disposition.as_str()),
        ],
        Some(bytes),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

#[test]
fn a_portal_submits_with_papers_uploaded_ahead_and_the_applicant_reuses_them_later() {
    let dir = tempfile::tempdir().expect("dir");
    let mut creds = crate::http::ALL.to_vec();
    creds.push(OTHER_PORTAL);
    crate::http::write_tokens(&dir.path().join("tokens.yaml"), &creds);
    let s = Server::start(dir.path(), &["--now", "2026-12-07T08:30:00+07:00"]);
    let staged = stage(&s, crate::http::PORTAL, "so-do.pdf", PDF);
    assert_eq!(staged["sha256"], sha256(PDF).as_str());
    assert_eq!(staged["media_type"], "application/pdf");
    let ticket = staged["upload"].as_str().expect("a ticket").to_string();

    let mut body = crate::http::house_permit();
    body["channel"] = "online".into();
    body["papers"] = serde_json::json!([
        {"kind": "giay-to-dat", "sha256": sha256(PDF), "upload": ticket}
    ]);
    // Another caller cannot name the portal's upload, ticket or not.
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "ahead-0")],
        &body,
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["code"], "unknown_file");
    let r = s.post(
        "/v1/dossiers",
        Some(crate::http::PORTAL),
        &[("idempotency-key", "ahead-1")],
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let first = r.json()["code"].as_str().expect("code").to_string();
    let list = s
        .get(&format!("/v1/dossiers/{first}/documents"), Some(DESK))
        .json();
    let p = &list["papers"][0];
    assert_eq!(
        (p["kind"].as_str(), p["source"].as_str(), p["name"].as_str()),
        (Some("giay-to-dat"), Some("applicant"), Some("so-do.pdf")),
        "{list}"
    );
    let history = s
        .get(&format!("/v1/dossiers/{first}/audit"), Some(AUDITOR))
        .json();
    let actions: Vec<&str> = history
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.starts_with(&["submit", "attach"]), "{actions:?}");

    // The applicant's store: the desk sees the certificate the applicant already gave.
    let held = s
        .get("/v1/applicants/001090012345/documents", Some(DESK))
        .json();
    assert_eq!(held["papers"][0]["dossier"], first.as_str(), "{held}");
    assert_eq!(
        held["papers"][0]["kind_name"],
        "Bản sao giấy tờ chứng minh quyền sử dụng đất"
    );
    let mut again = crate::http::house_permit();
    again["papers"] = serde_json::json!([
        {"kind": "giay-to-dat", "sha256": sha256(PDF), "from": first}
    ]);
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "reuse-1")],
        &again,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let second = r.json()["code"].as_str().expect("code").to_string();
    let list = s
        .get(&format!("/v1/dossiers/{second}/documents"), Some(DESK))
        .json();
    assert_eq!(list["papers"][0]["sha256"], sha256(PDF).as_str(), "{list}");
    assert_eq!(list["papers"][0]["source"], "desk");
    // Another portal, which may submit for the same applicant but not read the dossier it
    // did not send, cannot lift the paper out of it by naming it.
    let mut lifted = crate::http::house_permit();
    lifted["channel"] = "online".into();
    lifted["papers"] = serde_json::json!([
        {"kind": "giay-to-dat", "sha256": sha256(PDF), "from": first}
    ]);
    let r = s.post(
        "/v1/dossiers",
        Some(OTHER_PORTAL),
        &[("idempotency-key", "lift-1")],
        &lifted,
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["code"], "unknown_file");
    // Another applicant naming that dossier's paper gets nothing.
    again["applicant"]["id"] = "001090099999".into();
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "reuse-2")],
        &again,
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["code"], "unknown_file");
    // A browser's multipart form works too, named by its part.
    let boundary = "----motcua-api-part";
    let mut drawing = PDF.to_vec();
    drawing.extend_from_slice(b"% ban ve mat bang\n");
    let r = s.request(
        "POST",
        "/v1/documents",
        Some(crate::http::PORTAL),
        &[(
            "content-type",
            &format!("multipart/form-data; boundary={boundary}"),
        )],
        Some(&multipart(
            boundary,
            "",
            "ban-ve-thiet-ke",
            "mat-bang.pdf",
            &drawing,
        )),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["name"], "mat-bang.pdf");
    assert_eq!(r.json()["sha256"], sha256(&drawing).as_str());
    // An HTML page dressed as a PDF is refused at the upload, nothing kept.
    let r = s.request(
        "POST",
        "/v1/documents",
        Some(crate::http::PORTAL),
        &[("content-type", "application/pdf")],
        Some(b"<!DOCTYPE html><script>alert(1)</script>"),
    );
    assert_eq!(r.status, 415, "{}", r.text());
    // Someone with no role that receives dossiers uploads nothing.
    let r = s.request(
        "POST",
        "/v1/documents",
        Some(AUDITOR),
        &[("content-type", "application/pdf")],
        Some(PDF),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    // The chain proves the papers handed in with a receipt too.
    let v = s.get("/v1/audit/verify", Some(AUDITOR)).json();
    assert_eq!(
        (v["ok"].clone(), v["papers"].clone()),
        (true.into(), 1.into()),
        "{v}"
    );
    s.terminate();
    let data = dir.path().join("data");
    let out = run(&["audit", "verify", "--data", data.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("papers: 1 checked"),
        "{}",
        text(&out.stdout)
    );
}

/// The desk's receiving form as a browser sends it with scans: the fields, then the files.
fn desk_multipart(
    boundary: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (field, name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

fn hidden(page: &str, name: &str) -> Vec<String> {
    let needle = format!("name=\"{name}\" value=\"");
    page.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &page[at + needle.len()..];
            rest[..rest.find('"').expect("closing quote")].to_string()
        })
        .collect()
}

#[test]
fn the_desk_scans_papers_into_the_receiving_form_and_the_slip_counts_them() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let desk = s.sign_in(DESK.token);
    let path = "/tiep-nhan/cap-phep-xay-dung-nha-o";
    let page = s
        .request("GET", path, None, &[("cookie", &desk)], None)
        .text();
    assert!(page.contains("enctype=\"multipart/form-data\""));
    assert!(
        page.contains("name=\"tep.giay-to-dat\""),
        "a file input per item"
    );
    let csrf = csrf_of(&page);
    let key = hidden(&page, "form_key").remove(0);
    let mut fields: Vec<(String, String)> = [
        ("csrf", csrf.as_str()),
        ("form_key", key.as_str()),
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
        ("doc", "ban-ve-thiet-ke"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    fields.push(("buoc".into(), "kiem-tra".into()));
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let boundary = "----motcua-desk-scan";
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let mut page2 = PDF.to_vec();
    page2.extend_from_slice(b"% trang 2\n");
    let body = desk_multipart(
        boundary,
        &borrowed,
        &[
            ("tep.giay-to-dat", "gcn-trang-1.pdf", PDF),
            ("tep.giay-to-dat", "gcn-trang-2.pdf", &page2),
        ],
    );
    let r = s.request(
        "POST",
        path,
        None,
        &[("cookie", &desk), ("content-type", &content_type)],
        Some(&body),
    );
    let confirm = r.text();
    assert_eq!(r.status, 200, "{confirm}");
    assert!(
        confirm.contains("id=\"confirm\""),
        "the confirmation: {confirm}"
    );
    assert!(confirm.contains("Đã quét: gcn-trang-1.pdf"), "{confirm}");
    assert!(
        confirm.contains("Bản sao giấy tờ chứng minh quyền sử dụng đất (2 tệp)"),
        "an item with scans counts as received, with its count"
    );
    // Confirm: the scans ride along as the hidden tickets the page carries, no bytes again.
    let kept = hidden(&confirm, "giu.giay-to-dat");
    assert_eq!(kept.len(), 2);
    let digest = hidden(&confirm, "xac_nhan").remove(0);
    let mut fields2: Vec<(String, String)> =
        fields.into_iter().filter(|(k, _)| k != "buoc").collect();
    fields2.push(("buoc".into(), "nhan".into()));
    fields2.push(("xac_nhan".into(), digest));
    fields2.push(("doc".into(), "giay-to-dat".into()));
    for k in &kept {
        fields2.push(("giu.giay-to-dat".into(), k.replace("&#x2f;", "/")));
    }
    let borrowed: Vec<(&str, &str)> = fields2
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let body = desk_multipart(boundary, &borrowed, &[]);
    let r = s.request(
        "POST",
        path,
        None,
        &[("cookie", &desk), ("content-type", &content_type)],
        Some(&body),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let slip = r.header("location").expect("to the slip");
    let code = slip
        .strip_prefix("/ho-so/")
        .and_then(|r| r.strip_suffix("/mau/01"))
        .expect("a slip path")
        .to_string();
    let form = s
        .request("GET", slip, None, &[("cookie", &desk)], None)
        .text();
    assert!(
        form.contains("2 tệp: gcn-trang-1.pdf, gcn-trang-2.pdf"),
        "form 01 lists the scans received: {form}"
    );
    let list = s
        .get(&format!("/v1/dossiers/{code}/documents"), Some(DESK))
        .json();
    let sources: Vec<&str> = list["papers"]
        .as_array()
        .expect("papers")
        .iter()
        .filter_map(|p| p["source"].as_str())
        .collect();
    assert_eq!(sources, ["desk", "desk"], "{list}");
    let r = s.request(
        "GET",
        &format!("/ho-so/{code}/giay-to/{}?xem=1", sha256(PDF)),
        None,
        &[("cookie", &desk)],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    assert!(
        r.header("content-disposition")
            .is_some_and(|d| d.starts_with("inline"))
    );
    assert_eq!(r.body, PDF);
}

#[test]
fn uploads_past_the_servers_slots_are_told_to_come_back_in_a_moment() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    // Uploads that stall after their first bytes hold their slots; each new one takes a free
    // slot or is told to come back. None gives its slot back, so within nine the slots are
    // all held, however slowly the server gets to each.
    let stalled = |s: &Server| {
        let mut c = std::net::TcpStream::connect(s.addr).expect("connect");
        write!(
            c,
            "POST /v1/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/pdf\r\nContent-Length: 1048576\r\n\r\n%PDF-1.7\n",
            crate::http::PORTAL.token
        )
        .expect("sent");
        c.set_read_timeout(Some(std::time::Duration::from_millis(100)))
            .expect("timeout");
        c
    };
    let mut held = vec![];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(25);
    let answer = 'found: loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no upload was told the slots are taken"
        );
        if held.len() < 16 {
            held.push(stalled(&s));
        }
        for c in &mut held {
            let mut buf = vec![0u8; 2048];
            if let Ok(n) = c.read(&mut buf)
                && n > 0
            {
                break 'found String::from_utf8_lossy(&buf[..n]).into_owned();
            }
        }
    };
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
    assert!(answer.contains("\"code\":\"busy\""), "{answer}");
    drop(held);
}
