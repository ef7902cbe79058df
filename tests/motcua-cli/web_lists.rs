//! The lists and clocks people read, over plain HTTP against the real binary: the leader's
//! three lists kept apart with counts per department, lateness in working days and hours, an
//! appointment counted in calendar days as the end of its last day, and a paused clock on the
//! citizen's page as paused with the time left, not the old date.

use crate::http::{ADMIN, AUDITOR, HA_TANG, Server};
use crate::web_screens::{act, house_permit_in_review, in_state, start, wait_for};
use serde_json::json;

fn page(s: &Server, cookie: &str, path: &str) -> String {
    let r = s.request("GET", path, None, &[("cookie", cookie)], None);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.text()
}

/// The part of `html` from the element with `id` to the next heading (the lists are
/// sections under `<h2>`s).
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let end = html[at..].find("<h2").map_or(html.len(), |e| at + e);
    &html[at..end]
}

fn set_clock(s: &Server, now: &str) {
    let r = s.post("/v1/clock", Some(ADMIN), &[], &json!({"now": now}));
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn a_late_step_is_listed_once_as_late_in_working_time_with_its_departments_count() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let (code, _) = house_permit_in_review(&s, "lists-1");
    let cookie = s.sign_in(HA_TANG.token);

    // Received Monday 07/12 at 08:30 for 15 calendar days: due at the end of 22/12.
    let shown = page(&s, &cookie, &format!("/ho-so/{code}"));
    assert!(
        shown.contains("trước 24:00 ngày 22/12/2026"),
        "a calendar-day appointment ends at midnight of its last day"
    );
    assert!(!shown.contains("23/12/2026 00:00"));

    // Thursday 17/12 at 10:30: both checks (7 working days each, due Wednesday 16/12 08:30)
    // are one working day and two hours late; the dossier is still within its appointment.
    set_clock(&s, "2026-12-17T10:30:00+07:00");
    // The scheduler fires the six timers due by then (two warnings, two step breaches, two
    // reports to the head) after the clock moves: wait for its entries, not the clock's view.
    let fired = |s: &Server| {
        let audit = s
            .get(&format!("/v1/dossiers/{code}/audit"), Some(AUDITOR))
            .json();
        audit.as_array().map_or(0, |entries| {
            entries
                .iter()
                .filter(|e| {
                    ["system:warning", "system:overdue", "system:escalation"]
                        .contains(&e["action"].as_str().unwrap_or_default())
                })
                .count()
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while fired(&s) < 6 {
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduler never fired"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let leader = page(&s, &cookie, "/lanh-dao");
    let late = section(&leader, "late-steps");
    let row = format!("href=\"/ho-so/{code}\"");
    assert_eq!(late.matches(&row).count(), 2, "two late steps: {late}");
    assert!(late.contains("Trễ 1 ngày 2 giờ làm việc"), "{late}");
    // Bars are drawn with a width in percent; no share is written out.
    assert!(!late.contains("%</td>"), "lateness is not a share: {late}");
    assert!(!section(&leader, "due-soon").contains(code.as_str()));
    assert!(!section(&leader, "overdue").contains(code.as_str()));
    // The escalations the scheduler recorded, once for the dossier, by role names.
    // Two warnings, two step breaches, two reports to the head: each line once.
    assert_eq!(late.matches("class=\"escalation\"").count(), 6, "{late}");
    assert_eq!(late.matches("Báo cáo lãnh đạo").count(), 2, "{late}");
    assert!(
        late.contains("Trưởng phòng Kinh tế, Hạ tầng và Đô thị"),
        "{late}"
    );
    assert!(!late.contains("truong-phong-ha-tang"), "{late}");
    let counts = section(&leader, "counts");
    assert!(
        counts.contains("<td>Phòng Kinh tế, Hạ tầng và Đô thị</td><td class=\"num\">0</td><td class=\"num\">2</td><td class=\"num\">0</td>"),
        "{counts}"
    );

    // Past the appointment the dossier moves to the first list, and only there.
    set_clock(&s, "2026-12-23T09:00:00+07:00");
    wait_for(&s, &code, |d| !d["clock"]["overdue_since"].is_null());
    let leader = page(&s, &cookie, "/lanh-dao");
    assert!(section(&leader, "overdue").contains(code.as_str()));
    assert!(!section(&leader, "late-steps").contains(code.as_str()));
    let counts = section(&leader, "counts");
    assert!(
        counts.contains("<td class=\"num\">1</td><td class=\"num\">0</td>"),
        "one dossier past its appointment, counted once: {counts}"
    );
    // A department filter the leader does not belong to is refused.
    let other = s.request(
        "GET",
        "/lanh-dao?phong=mot-cua",
        None,
        &[("cookie", &cookie)],
        None,
    );
    assert_eq!(other.status, 403);
}

#[test]
fn a_paused_clock_shows_on_the_citizens_page_as_paused_with_the_time_left() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let (code, status_path) = house_permit_in_review(&s, "paused-1");
    act(&s, HA_TANG, &code, "xong-quy-hoach", json!({}));
    act(&s, HA_TANG, &code, "xong-ket-cau", json!({}));
    act(&s, HA_TANG, &code, "yeu-cau-bo-sung-tham-dinh", json!({}));
    wait_for(&s, &code, |d| in_state(d, "cho-bo-sung-tham-dinh"));
    let web = status_path.replace("/v1/status/", "/tra-cuu/");
    let r = s.get(&web, None);
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let at = text
        .find("id=\"citizen-appointment\"")
        .expect("appointment");
    let shown = &text[at..at + text[at..].find("</dd>").expect("end")];
    assert!(
        shown.contains("Tạm dừng: còn") && shown.contains("khi tiếp tục"),
        "{shown}"
    );
    assert!(
        !shown.contains("/2026"),
        "no stale date while paused: {shown}"
    );
}
