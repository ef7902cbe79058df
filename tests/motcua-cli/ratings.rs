//! The citizen heard over HTTP, against the real binary: rating and feedback with the slip's
//! secret (a wrong secret answered as an unknown code, hostile bodies refused, nothing
//! written), a leader's answer with an officer's credential, the status page's truth (late,
//! paused, the office) and the satisfaction figures of the report.

use crate::http;

use http::{AUDITOR, CITIZEN, Cred, DESK, HA_TANG, LEADER, OTHER_DEPT, Server};
use serde_json::{Value, json};

const MONDAY_MORNING: &str = "2026-12-07T08:30:00+07:00";

fn act(s: &Server, who: Cred, code: &str, d: &Value, action: &str) -> Value {
    let version = format!("\"{}\"", d["version"]);
    let r = s.post(
        &format!("/v1/dossiers/{code}/actions"),
        Some(who),
        &[("if-match", &version)],
        &json!({"action": action, "input": {}, "comment": "Ghi chú của cán bộ"}),
    );
    assert_eq!(r.status, 200, "{action} by {}: {}", who.subject, r.text());
    r.json()
}

fn start(dir: &std::path::Path) -> Server {
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

/// A house permit received at the desk: its code and the slip's secret.
fn received(s: &Server) -> (String, String, Value) {
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "rating-1")],
        &http::house_permit(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let d = r.json();
    let code = d["code"].as_str().expect("code").to_string();
    let secret = d["slip"]["status_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    (code, secret, d)
}

fn history_len(s: &Server, code: &str) -> usize {
    s.get(&format!("/v1/dossiers/{code}/audit"), Some(AUDITOR))
        .json()
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn a_citizen_rates_once_sends_feedback_and_reads_the_leader_s_answer() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = start(dir.path());
    let (code, secret, d) = received(&s);

    // The status page says where the office is and that nothing is late.
    let page = s
        .get(&format!("/v1/status/{code}?secret={secret}"), None)
        .json();
    assert_eq!(page["late"], false);
    assert_eq!(page["paused"], false);
    assert_eq!(page["may_rate"], false);
    assert_eq!(page["may_send_feedback"], true);
    assert_eq!(
        page["office"]["name"],
        "Bộ phận Một cửa Ủy ban nhân dân phường Hải Châu"
    );
    assert_eq!(page["office"]["phone"], "0236 3 822 111");

    // No result yet: nothing to rate.
    let rate = |body: Value| s.post(&format!("/v1/status/{code}/rating"), None, &[], &body);
    let r = rate(json!({"secret": secret, "level": "satisfied"}));
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.problem_code(), "not_ratable");

    // Feedback at the desk goes to the desk's department.
    let r = s.post(
        &format!("/v1/status/{code}/feedback"),
        None,
        &[],
        &json!({"secret": secret, "text": "Tôi muốn hỏi thêm về bản vẽ."}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["feedback"][0]["number"], 1);
    assert!(r.json()["feedback"][0]["answer"].is_null());

    // Through both checks to the leader's signature: the result is issued.
    let d = act(&s, DESK, &code, &d, "chuyen-kiem-tra");
    let d = act(&s, HA_TANG, &code, &d, "xong-quy-hoach");
    let d = act(&s, HA_TANG, &code, &d, "xong-ket-cau");
    let d = act(&s, HA_TANG, &code, &d, "trinh-lanh-dao");
    let d = act(&s, LEADER, &code, &d, "ky-giay-phep");
    assert_eq!(d["status"], 9);

    let r = rate(json!({"secret": secret, "level": "very_satisfied", "comment": "Nhanh gọn"}));
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(v["rating"]["level"], "very_satisfied");
    assert_eq!(v["rating"]["level_label"], "Rất hài lòng");
    assert_eq!(v["may_rate"], false);
    let r = rate(json!({"secret": secret, "level": "not_satisfied"}));
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.problem_code(), "already_rated");
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("một lần")
    );

    // Feedback after the result goes to the department that signed it.
    let r = s.post(
        &format!("/v1/status/{code}/feedback"),
        None,
        &[],
        &json!({"secret": secret, "text": "Giấy phép ghi sai số tầng."}),
    );
    assert_eq!(r.status, 201, "{}", r.text());

    let answer = |who: Option<Cred>, number: u32, text: &str| {
        s.post(
            &format!("/v1/dossiers/{code}/feedback/{number}/answer"),
            who,
            &[],
            &json!({"text": text}),
        )
    };
    // Only a leader of that department: not the works office's head, not another
    // department's officer, not the applicant, not without a credential.
    for who in [HA_TANG, OTHER_DEPT, CITIZEN] {
        let r = answer(Some(who), 2, "Đã sửa");
        assert_eq!(r.status, 403, "{}: {}", who.subject, r.text());
    }
    assert_eq!(answer(None, 2, "Đã sửa").status, 401);
    let r = answer(Some(LEADER), 9, "Không có");
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.problem_code(), "unknown_feedback");
    let r = answer(Some(LEADER), 2, "Phường đã cấp lại giấy phép đúng số tầng.");
    assert_eq!(r.status, 200, "{}", r.text());
    let r = answer(Some(LEADER), 2, "Lần nữa");
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.problem_code(), "feedback_answered");

    // The citizen reads the answer, never the officer's name.
    let page = s.get(&format!("/v1/status/{code}?secret={secret}"), None);
    let v = page.json();
    assert_eq!(
        v["feedback"][1]["answer"]["text"],
        "Phường đã cấp lại giấy phép đúng số tầng."
    );
    assert!(!page.text().contains(LEADER.subject), "no officer's name");

    // Each step its own audited entry, labelled in the history.
    let history = s
        .get(&format!("/v1/dossiers/{code}/audit"), Some(AUDITOR))
        .json();
    let actions: Vec<&str> = history
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| ["rate", "feedback", "answer_feedback"].contains(a))
        .collect();
    assert_eq!(actions, ["feedback", "rate", "feedback", "answer_feedback"]);

    // The report counts it on the day of the result, with the share rated.
    let report = s
        .get(
            "/v1/reports/on-time?from=2026-12-01&to=2026-12-31&by=department",
            Some(AUDITOR),
        )
        .json();
    let t = &report["total"];
    assert_eq!(
        (
            &t["very_satisfied"],
            &t["satisfied"],
            &t["not_satisfied"],
            &t["rated"]
        ),
        (&json!(1), &json!(0), &json!(0), &json!(1))
    );
    assert_eq!(t["rated_share"], 1.0);
    let csv = s.get(
        "/v1/reports/on-time?from=2026-12-01&to=2026-12-31&by=department&format=csv",
        Some(AUDITOR),
    );
    assert_eq!(csv.status, 200);
    let text = csv.text();
    assert!(
        text.contains("Rất hài lòng;Hài lòng;Không hài lòng")
            || text.contains("Rất hài lòng,Hài lòng,Không hài lòng"),
        "{text}"
    );
    assert!(text.contains("Tỷ lệ được đánh giá (%)"), "{text}");
    assert_eq!(s.terminate().code(), Some(0));
}

#[test]
fn a_wrong_secret_is_an_unknown_code_and_hostile_bodies_write_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = start(dir.path());
    let (code, secret, _) = received(&s);
    let before = history_len(&s, &code);
    let post = |path: &str, body: &[u8]| {
        s.request(
            "POST",
            path,
            None,
            &[("content-type", "application/json")],
            Some(body),
        )
    };
    let rating = format!("/v1/status/{code}/rating");
    let feedback = format!("/v1/status/{code}/feedback");

    // A wrong secret and an unknown code get the same answer.
    let wrong = post(
        &feedback,
        json!({"secret": "KHONG-DUNG", "text": "x"})
            .to_string()
            .as_bytes(),
    );
    let unknown = post(
        "/v1/status/000.17.22.H17-261207-9999/feedback",
        json!({"secret": secret, "text": "x"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(wrong.status, 404, "{}", wrong.text());
    assert_eq!(unknown.status, 404, "{}", unknown.text());
    assert_eq!(wrong.json()["code"], unknown.json()["code"]);
    assert_eq!(wrong.json()["detail"], unknown.json()["detail"]);

    let long = "ư".repeat(2001);
    let nested = format!("{}{}", "[".repeat(64), "]".repeat(64));
    let hostile: Vec<(String, Vec<u8>)> = vec![
        (
            rating.clone(),
            json!({"secret": secret, "level": "tuyet-voi"})
                .to_string()
                .into_bytes(),
        ),
        (
            rating.clone(),
            json!({"secret": secret, "level": "satisfied", "by": "x"})
                .to_string()
                .into_bytes(),
        ),
        (
            rating.clone(),
            json!({"level": "satisfied"}).to_string().into_bytes(),
        ),
        (rating.clone(), b"{\"secret\": ".to_vec()),
        (rating.clone(), nested.clone().into_bytes()),
        (
            feedback.clone(),
            json!({"secret": secret, "text": long})
                .to_string()
                .into_bytes(),
        ),
        (
            feedback.clone(),
            json!({"secret": secret, "text": "   "})
                .to_string()
                .into_bytes(),
        ),
        (
            feedback.clone(),
            json!({"secret": secret, "text": "a\u{7}b"})
                .to_string()
                .into_bytes(),
        ),
        (
            feedback.clone(),
            json!({"secret": secret, "text": 7})
                .to_string()
                .into_bytes(),
        ),
        (feedback.clone(), nested.into_bytes()),
    ];
    for (path, body) in &hostile {
        let r = post(path, body);
        assert!(
            (400..500).contains(&r.status),
            "{path} {}: {} {}",
            String::from_utf8_lossy(body)
                .chars()
                .take(80)
                .collect::<String>(),
            r.status,
            r.text()
        );
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    // An officer's answer to nothing, and a hostile answer body.
    let r = s.post(
        &format!("/v1/dossiers/{code}/feedback/1/answer"),
        Some(DESK),
        &[],
        &json!({"text": "x", "officer": "someone-else"}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = s.post(
        &format!("/v1/dossiers/{code}/feedback/abc/answer"),
        Some(DESK),
        &[],
        &json!({"text": "x"}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.problem_code(), "invalid_request");
    assert_eq!(history_len(&s, &code), before, "nothing written");
    assert_eq!(s.terminate().code(), Some(0));
}

#[test]
fn the_status_page_says_a_paused_clock_a_late_dossier_and_the_apology_s_new_date() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = start(dir.path());
    let (code, secret, d) = received(&s);
    let status = || {
        s.get(&format!("/v1/status/{code}?secret={secret}"), None)
            .json()
    };
    let page = || {
        s.get(&format!("/tra-cuu/{code}?secret={secret}"), None)
            .text()
    };
    let d = act(&s, DESK, &code, &d, "chuyen-kiem-tra");
    let d = act(&s, HA_TANG, &code, &d, "xong-quy-hoach");
    let d = act(&s, HA_TANG, &code, &d, "xong-ket-cau");

    // Waiting on the citizen: the clock is paused, nothing is late.
    let d = act(&s, HA_TANG, &code, &d, "yeu-cau-bo-sung-tham-dinh");
    let v = status();
    assert_eq!(
        (v["paused"].clone(), v["late"].clone()),
        (json!(true), json!(false))
    );
    let d = act(&s, CITIZEN, &code, &d, "nop-bo-sung-tham-dinh");
    assert_eq!(status()["paused"], false);

    // A legal extension: its reason and new date, on the page and in the JSON.
    let d = act(&s, HA_TANG, &code, &d, "gia-han");
    let v = status();
    let extended: jiff::Timestamp = v["extensions"][0]["new_appointment"]
        .as_str()
        .expect("the new appointment")
        .parse()
        .expect("instant");
    assert_eq!(v["extensions"][0]["reason"], "Ghi chú của cán bộ");
    assert_eq!(
        extended.to_string(),
        d["appointment"].as_str().unwrap_or_default()
    );
    let html = page();
    assert!(
        html.contains("Lý do: Ghi chú của cán bộ"),
        "the extension's reason: {html}"
    );

    // A day past the (extended) appointment: late, said on the page before any apology.
    let appointment: jiff::Timestamp = d["appointment"]
        .as_str()
        .expect("appointment")
        .parse()
        .expect("instant");
    let late = appointment + jiff::SignedDuration::from_hours(26);
    let r = s.post(
        "/v1/clock",
        Some(http::ADMIN),
        &[],
        &json!({"now": late.to_string()}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(status()["late"], true);
    assert!(page().contains("Hồ sơ đã quá hạn trả kết quả."));

    // The apology: its reason and the new date, on the page and in the JSON.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let d = loop {
        let d = s.get(&format!("/v1/dossiers/{code}"), Some(AUDITOR)).json();
        if !d["clock"]["overdue_since"].is_null() {
            break d;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the breach never came"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let promised = motcua::report::local_day(late + jiff::SignedDuration::from_hours(24 * 7));
    let version = format!("\"{}\"", d["version"]);
    let r = s.post(
        &format!("/v1/dossiers/{code}/actions"),
        Some(HA_TANG),
        &[("if-match", &version)],
        &json!({"action": "xin-loi-tong-hop", "input": {"promised": promised.to_string()},
                "comment": "Chờ ý kiến của Sở Xây dựng"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = status();
    assert_eq!(v["late"], true);
    assert!(!v["apology"]["promised"].is_null(), "{v}");
    let html = page();
    assert!(html.contains("Cơ quan xin lỗi anh/chị"), "{html}");
    let day = format!(
        "{:02}/{:02}/{}",
        promised.day(),
        promised.month(),
        promised.year()
    );
    assert!(html.contains(&day), "the new date {day}: {html}");
    assert_eq!(s.terminate().code(), Some(0));
}
