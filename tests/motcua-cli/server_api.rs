//! The HTTP API against the real binary on 127.0.0.1: a construction permit through its two
//! parallel checks, a supplement round trip and a late completion with an apology; racing
//! actions; every credential against every action of the procedure.

use crate::http;

use http::{ADMIN, ALL, AUDITOR, CITIZEN, Cred, DESK, HA_TANG, LEADER, OTHER_DEPT, PORTAL, Server};
use serde_json::{Value, json};

const MONDAY_MORNING: &str = "2026-12-07T08:30:00+07:00";

fn submit(s: &Server, who: Cred, key: &str) -> Value {
    let r = s.post(
        "/v1/dossiers",
        Some(who),
        &[("idempotency-key", key)],
        &http::house_permit(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

/// Takes `action` on `code` at `version` and returns the new dossier.
fn act(s: &Server, who: Cred, code: &str, version: u64, action: &str, input: Value) -> Value {
    let r = try_act(s, who, code, version, action, input);
    assert_eq!(r.status, 200, "{action} by {}: {}", who.subject, r.text());
    let v = r.json();
    assert_eq!(
        r.header("etag"),
        Some(format!("\"{}\"", v["version"]).as_str())
    );
    v
}

fn try_act(
    s: &Server,
    who: Cred,
    code: &str,
    version: u64,
    action: &str,
    input: Value,
) -> http::Response {
    let version = format!("\"{version}\"");
    s.post(
        &format!("/v1/dossiers/{code}/actions"),
        Some(who),
        &[("if-match", &version)],
        &json!({"action": action, "input": input, "comment": "Ghi chú của cán bộ"}),
    )
}

fn states(v: &Value) -> Vec<String> {
    let mut s: Vec<String> = v["states"]
        .as_array()
        .expect("states")
        .iter()
        .map(|t| t["state"].as_str().unwrap_or_default().to_string())
        .collect();
    s.sort();
    s
}

fn version(v: &Value) -> u64 {
    v["version"].as_u64().expect("version")
}

/// Polls the dossier (as the auditor) until `ok` holds.
fn wait_for(s: &Server, code: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let d = s.get(&format!("/v1/dossiers/{code}"), Some(AUDITOR)).json();
        if ok(&d) {
            return d;
        }
        assert!(std::time::Instant::now() < deadline, "never happened: {d}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn set_clock(s: &Server, now: &str) {
    let r = s.post("/v1/clock", Some(ADMIN), &[], &json!({"now": now}));
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn a_house_permit_through_two_checks_a_supplement_and_a_late_apology() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);

    // The desk receives; the slip carries the appointment and the citizen's secret.
    let received = submit(&s, DESK, "desk-2026-12-07-1");
    let code = received["code"].as_str().expect("code").to_string();
    assert_eq!(states(&received), ["tiep-nhan"]);
    assert_eq!(received["status"], 2);
    let secret = received["slip"]["status_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    let actions: Vec<&str> = received["available_actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert_eq!(actions, ["chuyen-kiem-tra", "tu-choi-tiep-nhan"]);

    // The automatic completeness check passes it on to the two parallel checks.
    let d = act(&s, DESK, &code, 1, "chuyen-kiem-tra", json!({}));
    assert_eq!(states(&d), ["kiem-tra-ket-cau", "kiem-tra-quy-hoach"]);
    let d = act(&s, HA_TANG, &code, version(&d), "xong-quy-hoach", json!({}));
    let d = act(&s, HA_TANG, &code, version(&d), "xong-ket-cau", json!({}));
    assert_eq!(states(&d), ["tong-hop"]);

    // A supplement round trip: the citizen's page says what is awaited, the citizen answers.
    let d = act(
        &s,
        HA_TANG,
        &code,
        version(&d),
        "yeu-cau-bo-sung-tham-dinh",
        json!({}),
    );
    assert_eq!(states(&d), ["cho-bo-sung-tham-dinh"]);
    assert_eq!(d["status"], 5);
    let page = s.get(&format!("/v1/status/{code}?secret={secret}"), None);
    assert_eq!(page.status, 200, "{}", page.text());
    let p = page.json();
    assert_eq!(p["status"], 5);
    assert_eq!(p["awaited"][0]["request"], "Ghi chú của cán bộ");
    assert!(
        !page.text().contains("Nguyễn Thị Mai"),
        "no personal data: {}",
        page.text()
    );
    assert!(!page.text().contains(HA_TANG.subject), "no officer's name");
    let d = act(
        &s,
        CITIZEN,
        &code,
        version(&d),
        "nop-bo-sung-tham-dinh",
        json!({}),
    );
    assert_eq!(states(&d), ["tong-hop"]);

    // Past the appointment: the head of division apologises with a new date, then it is
    // signed and returned, late.
    let appointment: jiff::Timestamp = d["appointment"]
        .as_str()
        .expect("appointment")
        .parse()
        .expect("instant");
    let late = appointment + jiff::SignedDuration::from_hours(26);
    set_clock(&s, &late.to_string());
    // The scheduler records the breach on its own; act on the version it leaves.
    let d = wait_for(&s, &code, |d| !d["clock"]["overdue_since"].is_null());
    let promised = motcua::report::local_day(late + jiff::SignedDuration::from_hours(24 * 7));
    let d = act(
        &s,
        HA_TANG,
        &code,
        version(&d),
        "xin-loi-tong-hop",
        json!({"promised": promised.to_string()}),
    );
    assert_eq!(d["clock"]["apologies"].as_array().map(Vec::len), Some(1));
    let d = act(&s, HA_TANG, &code, version(&d), "trinh-lanh-dao", json!({}));
    let d = act(&s, LEADER, &code, version(&d), "ky-giay-phep", json!({}));
    assert_eq!(d["status"], 9);
    let d = act(&s, DESK, &code, version(&d), "tra-giay-phep", json!({}));
    assert_eq!(states(&d), Vec::<String>::new());
    assert_eq!(d["clock"]["resolved"]["class"], "late", "{}", d["clock"]);

    // The inspector's view: the chain verifies, every step is in the history and the slip.
    let v = s.get("/v1/audit/verify", Some(AUDITOR)).json();
    assert_eq!(v["ok"], true, "{v}");
    let history = s
        .get(&format!("/v1/dossiers/{code}/audit"), Some(AUDITOR))
        .json();
    let by: Vec<&str> = history
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    for who in [DESK, HA_TANG, CITIZEN, LEADER] {
        assert!(by.contains(&who.subject), "{} acted: {by:?}", who.subject);
    }
    let slip = s.get(&format!("/v1/dossiers/{code}/slip"), Some(AUDITOR));
    assert_eq!(slip.status, 200, "{}", slip.text());
    assert_eq!(slip.json()["resolution"]["class"], "late");
    let report = s.get(
        "/v1/reports/on-time?from=2026-12-01&to=2026-12-31&by=procedure",
        Some(AUDITOR),
    );
    assert_eq!(report.status, 200, "{}", report.text());
    assert_eq!(report.json()["total"]["late"], 1);
    assert_eq!(s.terminate().code(), Some(0), "SIGTERM exits 0");
}

#[test]
fn racing_actions_one_wins_the_rest_are_told_the_current_version() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);
    let code = submit(&s, DESK, "race-1")["code"]
        .as_str()
        .expect("code")
        .to_string();
    let answers: Vec<http::Response> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| try_act(&s, DESK, &code, 1, "chuyen-kiem-tra", json!({}))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let won: Vec<&http::Response> = answers.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let current = version(&won[0].json());
    for r in answers.iter().filter(|r| r.status != 200) {
        assert_eq!(r.status, 409, "{}", r.text());
        assert_eq!(r.problem_code(), "conflict");
        assert_eq!(r.json()["current_version"], current);
    }
    let history = s
        .get(&format!("/v1/dossiers/{code}/audit"), Some(AUDITOR))
        .json();
    let took = history
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "chuyen-kiem-tra")
        .count();
    assert_eq!(took, 1, "exactly one action recorded");
}

/// Walks a fresh dossier to one of the stages the matrix tests.
fn walk_to(s: &Server, stage: usize, key: &str) -> (String, Value) {
    let d = submit(s, DESK, key);
    let code = d["code"].as_str().expect("code").to_string();
    let steps: [(Cred, &str); 5] = [
        (DESK, "chuyen-kiem-tra"),
        (HA_TANG, "xong-quy-hoach"),
        (HA_TANG, "xong-ket-cau"),
        (HA_TANG, "trinh-lanh-dao"),
        (LEADER, "ky-giay-phep"),
    ];
    // Stages: 0 receipt, 1 the parallel checks, 2 consolidation, 3 signature, 4 return.
    let upto = [0, 1, 3, 4, 5][stage];
    let mut d = d;
    for (who, action) in &steps[..upto] {
        d = act(s, *who, &code, version(&d), action, json!({}));
    }
    (code, d)
}

#[derive(Debug)]
struct Declared {
    id: String,
    from: String,
    roles: Vec<String>,
    by: Option<String>,
    apology: bool,
    /// A value for each declared input.
    input: Value,
}

fn declared() -> (
    Vec<Declared>,
    std::collections::HashMap<String, Option<String>>,
) {
    let text =
        std::fs::read_to_string(http::root().join("procedures/cap-phep-xay-dung-nha-o.yaml"))
            .expect("yaml");
    let y: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    let list = |v: &serde_yaml::Value| -> Vec<String> {
        v.as_sequence()
            .map(|s| {
                s.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let actions = y["actions"]
        .as_sequence()
        .expect("actions")
        .iter()
        .map(|a| Declared {
            id: a["id"].as_str().expect("id").into(),
            from: a["from"].as_str().expect("from").into(),
            roles: list(&a["roles"]),
            by: a["by"].as_str().map(String::from),
            apology: a["apology"].as_bool().unwrap_or(false),
            input: a["inputs"]
                .as_sequence()
                .map(|inputs| {
                    inputs
                        .iter()
                        .map(|i| {
                            let value = match i["kind"].as_str() {
                                Some("documents") => json!(["don-de-nghi"]),
                                Some("number") => json!(1),
                                Some("boolean") => json!(true),
                                _ => json!("Nội dung"),
                            };
                            (i["name"].as_str().unwrap_or_default().to_string(), value)
                        })
                        .collect::<serde_json::Map<String, Value>>()
                })
                .map(Value::Object)
                .unwrap_or_else(|| json!({})),
        })
        .collect();
    let departments = y["states"]
        .as_sequence()
        .expect("states")
        .iter()
        .map(|s| {
            (
                s["id"].as_str().expect("id").to_string(),
                s["department"].as_str().map(String::from),
            )
        })
        .collect();
    (actions, departments)
}

/// Whether `who` may take `a` on a dossier the desk received, with `active` states.
fn allowed(
    who: Cred,
    a: &Declared,
    active: &[String],
    departments: &std::collections::HashMap<String, Option<String>>,
) -> bool {
    if !active.contains(&a.from) {
        return false;
    }
    match a.by.as_deref() {
        Some("system") => false,
        Some("applicant") => who.subject == CITIZEN.subject,
        _ => {
            let dept = departments.get(&a.from).cloned().flatten();
            a.roles.iter().any(|r| who.roles.contains(&r.as_str()))
                && dept.is_some_and(|d| who.departments.contains(&d.as_str()))
        }
    }
}

#[test]
fn every_credential_against_every_action_exactly_the_allowed_pass() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);
    let (actions, departments) = declared();
    let mut fresh = 0;
    let mut passed = 0;
    for stage in 0..5 {
        fresh += 1;
        let (mut code, mut d) = walk_to(&s, stage, &format!("matrix-{stage}-{fresh}"));
        let active = states(&d);
        for who in ALL {
            // What the dossier offers each reader matches the rule.
            let view = s.get(&format!("/v1/dossiers/{code}"), Some(who));
            let may_read =
                ![OTHER_DEPT.subject, ADMIN.subject, PORTAL.subject].contains(&who.subject);
            assert_eq!(
                view.status == 200,
                may_read,
                "{} reading: {}",
                who.subject,
                view.text()
            );
            for a in &actions {
                let expect = allowed(who, a, &active, &departments);
                let input = if a.apology {
                    let appointment: jiff::Timestamp =
                        d["appointment"].as_str().expect("appt").parse().expect("t");
                    let day = motcua::report::local_day(
                        appointment + jiff::SignedDuration::from_hours(24 * 7),
                    );
                    json!({"promised": day.to_string()})
                } else {
                    a.input.clone()
                };
                let r = try_act(&s, who, &code, version(&d), &a.id, input);
                assert!(r.status < 500, "{} {}: {}", who.subject, a.id, r.text());
                if expect {
                    // Allowed: it passes (an apology before the appointment is refused by
                    // the deadline rules, not by who asks).
                    assert!(
                        r.status == 200 || (a.apology && r.status == 422),
                        "{} may take {} at {active:?}: {}",
                        who.subject,
                        a.id,
                        r.text()
                    );
                    if r.status == 200 {
                        passed += 1;
                        fresh += 1;
                        (code, d) = walk_to(&s, stage, &format!("matrix-{stage}-{fresh}"));
                    }
                } else {
                    assert_ne!(
                        r.status, 200,
                        "{} must not take {} at {active:?}",
                        who.subject, a.id
                    );
                    let by_role = active.contains(&a.from) && a.by.as_deref() != Some("applicant");
                    if by_role && may_read {
                        assert_eq!(r.status, 403, "{} {}: {}", who.subject, a.id, r.text());
                        assert_eq!(r.problem_code(), "forbidden");
                    }
                    let again = s.get(&format!("/v1/dossiers/{code}"), Some(AUDITOR)).json();
                    assert_eq!(version(&again), version(&d), "a refusal writes nothing");
                }
            }
        }
    }
    assert!(passed >= 8, "the allowed pairs were taken: {passed}");
    // Every refusal is logged with subject, route and reason.
    let log = s.stderr_text();
    assert!(log.contains("\"message\":\"refused\""), "{log}");
    assert!(log.contains(OTHER_DEPT.subject));
}
