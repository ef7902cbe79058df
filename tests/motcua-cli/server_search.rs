//! Staff search over HTTP (`GET /v1/dossiers?q=…`) against the real binary: the desk finds a
//! dossier forwarded to another department by an unaccented partial name, a phone or part of
//! its code; an officer of an unrelated department finds nothing of it; citizens and portals
//! may not search; cursors and bad filters are refused as the document says.

use crate::http;

use http::{AUDITOR, CITIZEN, DESK, OTHER_DEPT, PORTAL, Server};
use serde_json::{Value, json};

const MONDAY_MORNING: &str = "2026-12-07T08:30:00+07:00";

fn receive(s: &Server, key: &str, name: &str, phone: &str) -> String {
    let mut body = http::house_permit();
    body["applicant"]["name"] = json!(name);
    body["applicant"]["phone"] = json!(phone);
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", key)],
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["code"].as_str().expect("code").to_string()
}

fn codes(page: &Value) -> Vec<String> {
    page["dossiers"]
        .as_array()
        .expect("dossiers")
        .iter()
        .map(|d| d["code"].as_str().expect("code").to_string())
        .collect()
}

fn search(s: &Server, who: http::Cred, query: &str) -> http::Response {
    s.get(&format!("/v1/dossiers?{query}"), Some(who))
}

#[test]
fn the_desk_finds_a_forwarded_dossier_by_a_partial_unaccented_name_phone_or_code() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);
    let binh = receive(&s, "k1", "Trần Văn Bình", "0905 123 456");
    let hoa = receive(&s, "k2", "Lê Thị Hoa", "+84 912 000 111");
    // Forwarded: the automatic check hands it to the infrastructure office.
    let d = s.get(&format!("/v1/dossiers/{binh}"), Some(DESK)).json();
    let v = d["version"].as_u64().expect("version");
    let r = s.post(
        &format!("/v1/dossiers/{binh}/actions"),
        Some(DESK),
        &[("if-match", &format!("\"{v}\""))],
        &json!({"action": "chuyen-kiem-tra", "input": {}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !s
        .get(&format!("/v1/dossiers/{binh}"), Some(AUDITOR))
        .text()
        .contains("\"kiem-tra-quy-hoach\"")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "never reached the check"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    for q in [
        "q=tran%20van%20binh",
        "q=van%20binh",
        "q=BINH",
        "q=0905123456",
    ] {
        let r = search(&s, DESK, q);
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        assert_eq!(codes(&r.json()), vec![binh.clone()], "{q}");
    }
    let r = search(&s, DESK, "q=%2B84%20912%20000%20111");
    assert_eq!(codes(&r.json()), vec![hoa.clone()]);
    let number = hoa.rsplit('-').next().expect("number");
    let r = search(&s, DESK, &format!("q={number}"));
    assert_eq!(codes(&r.json()), vec![hoa.clone()]);
    let page = search(&s, AUDITOR, "q=tran").json();
    assert_eq!(page["truncated"], false);
    assert_eq!(page["dossiers"][0]["applicant_name"], "Trần Văn Bình");

    // The all-dossiers list: both, by appointment; latest receipt first; by channel.
    let r = search(&s, DESK, "limit=1");
    assert_eq!(r.status, 200, "{}", r.text());
    let first = r.json();
    assert_eq!(codes(&first), vec![binh.clone()]);
    let next = first["next"].as_str().expect("a second page");
    let r = search(&s, DESK, &format!("limit=1&cursor={next}"));
    assert_eq!(codes(&r.json()), vec![hoa.clone()]);
    // A cursor is sealed to its filters.
    let r = search(&s, DESK, &format!("limit=1&sort=received&cursor={next}"));
    assert_eq!(r.status, 400, "{}", r.text());
    let r = search(&s, DESK, "sort=received");
    assert_eq!(codes(&r.json()), [hoa.clone(), binh.clone()]);
    let r = search(&s, DESK, "channel=post");
    assert!(codes(&r.json()).is_empty());
    let r = search(
        &s,
        DESK,
        "received_from=2026-12-07&received_to=2026-12-07&status=2",
    );
    assert_eq!(
        codes(&r.json()),
        vec![hoa.clone()],
        "received today, still at receipt"
    );
    let r = search(&s, DESK, "scope=closed");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(codes(&r.json()).is_empty());

    // Refusals the document lists.
    let r = search(&s, DESK, "scope=closed&sort=due");
    assert_eq!(r.status, 400, "{}", r.text());
    let r = search(&s, DESK, "received_from=07/12/2026");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["field"], "received_from");
    let r = search(&s, DESK, "status=11");
    assert_eq!(r.status, 400, "{}", r.text());

    // Only what the caller may read: the tax office has no step in this procedure.
    let r = search(&s, OTHER_DEPT, "q=binh");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(codes(&r.json()).is_empty());
    // Citizens and portals list their own, and do not search.
    assert_eq!(search(&s, CITIZEN, "q=binh").status, 403);
    assert_eq!(search(&s, PORTAL, "q=binh").status, 403);
}
