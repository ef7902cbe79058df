//! Webhooks of `motcua serve`, end to end: the real binary delivers to a receiver on loopback
//! (a plain `TcpListener` speaking HTTP/1.1 with keep-alive, as hyper's pooled client expects).
//!
//! - every delivery is signed (`x-motcua-signature: t=<unix>,v1=<hex HMAC-SHA256>` over
//!   `"<t>.<body>"`, recomputed here), and its headers agree with its body;
//! - events arrive in order per dossier (ids strictly increasing), and a dossier walked
//!   through the construction permit arrives as `submitted`, one `state_changed` per move
//!   (with the actions taken, in order), `ended`;
//! - a subscription to some types receives exactly the events of those types;
//! - after SIGKILL while the receiver fails, the restarted server resumes from its stored
//!   cursor: every event from the first to the last id arrives at least once, none that was
//!   acknowledged before is sent again, and an id always carries the same body;
//! - a receiver failing the first two tries of each event still gets each one, on the third
//!   try, after the configured backoff (50 ms, then 100 ms);
//! - with `max_tries: 2`, a receiver that always fails (or refuses connections) gets each
//!   event twice, then delivery moves on (dead letters counted in /metrics), and it gets new
//!   events once it recovers;
//! - SIGTERM while an event is retried stops the server promptly; the event goes out after
//!   the next start;
//! - timers fired by the scheduler on the manual clock (`--now`, `POST /v1/clock`) go out as
//!   `due_soon`, `overdue` and `escalated`; a supplement request as `supplement_requested`,
//!   and nothing fires while the applicant has the dossier;
//! - a try that gets no answer, or a head without its body, within `timeout_ms` is a failed
//!   try, and does not keep SIGTERM from stopping the server.
//!
//! Longer than 600 lines: the receiver, the signature check and each delivery rule above share
//! one loopback harness; each rule is one test.

use crate::http;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use http::{Cred, DESK, HA_TANG, LEADER, Server};
use serde_json::{Value, json};

use crate::receiver;

use receiver::*;

fn webhooks_file(dir: &std::path::Path, yaml: &str) -> String {
    let path = dir.join("webhooks.yaml");
    std::fs::write(&path, yaml).expect("webhooks file");
    path.display().to_string()
}

/// The construction-permit submission with its required documents.
fn permit() -> Value {
    let body = http::house_permit();
    assert_eq!(
        body["documents"],
        json!(["don-de-nghi", "giay-to-dat", "ban-ve-thiet-ke"])
    );
    body
}

fn submit(s: &Server, key: &str) -> Value {
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", key)],
        &permit(),
    );
    assert_eq!(r.status, 201, "submit {key}: {}", r.text());
    r.json()
}

fn act(s: &Server, who: Cred, code: &str, version: u64, action: &str) -> Value {
    let comment = match action {
        "tu-choi-tiep-nhan" => Some("thiếu chữ ký trên đơn"),
        _ => None,
    };
    let etag = format!("\"{version}\"");
    let r = s.post(
        &format!("/v1/dossiers/{code}/actions"),
        Some(who),
        &[("if-match", &etag)],
        &json!({"action": action, "input": {}, "comment": comment}),
    );
    assert_eq!(r.status, 200, "{code} {action} at v{version}: {}", r.text());
    let v = r.json();
    assert_eq!(
        r.header("etag"),
        Some(format!("\"{}\"", v["version"]).as_str()),
        "{code}: ETag vs version"
    );
    v
}

fn version(v: &Value) -> u64 {
    v["version"].as_u64().expect("version")
}

fn active(v: &Value) -> BTreeSet<String> {
    v["states"]
        .as_array()
        .expect("states")
        .iter()
        .map(|s| s["state"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Walks one construction permit from the desk to the result handed over; returns its code
/// and the actions its `dossier.moved` events must name, in order (the automatic completeness
/// check's `du` included).
fn walk(s: &Server, key: &str, zoning_first: bool) -> (String, Vec<String>) {
    let d = submit(s, key);
    let code = d["code"].as_str().expect("code").to_string();
    let mut moves = vec![];
    let d = act(s, DESK, &code, version(&d), "chuyen-kiem-tra");
    moves.push("chuyen-kiem-tra".to_string());
    moves.push("du".to_string());
    assert_eq!(
        active(&d),
        BTreeSet::from(["kiem-tra-quy-hoach".into(), "kiem-tra-ket-cau".into()]),
        "{code} after the completeness check: {}",
        d["states"]
    );
    let branches = if zoning_first {
        ["xong-quy-hoach", "xong-ket-cau"]
    } else {
        ["xong-ket-cau", "xong-quy-hoach"]
    };
    let mut d = d;
    for a in branches {
        d = act(s, HA_TANG, &code, version(&d), a);
        moves.push(a.to_string());
    }
    assert_eq!(active(&d), BTreeSet::from(["tong-hop".into()]), "{code}");
    for (who, a) in [
        (HA_TANG, "trinh-lanh-dao"),
        (LEADER, "ky-giay-phep"),
        (DESK, "tra-giay-phep"),
    ] {
        d = act(s, who, &code, version(&d), a);
        moves.push(a.to_string());
    }
    assert_eq!(d["status"], 10, "{code} handed over: {d}");
    (code, moves)
}

/// Submits and refuses at the desk: submitted, one move, ended.
fn refuse(s: &Server, key: &str) -> (String, Vec<String>) {
    let d = submit(s, key);
    let code = d["code"].as_str().expect("code").to_string();
    let d = act(s, DESK, &code, version(&d), "tu-choi-tiep-nhan");
    assert_eq!(d["status"], 3, "{code} refused: {d}");
    (code, vec!["tu-choi-tiep-nhan".to_string()])
}

fn metric(s: &Server, line_prefix: &str) -> Option<u64> {
    let r = s.get("/metrics", None);
    assert_eq!(r.status, 200);
    r.text().lines().find_map(|l| {
        l.strip_prefix(line_prefix)
            .and_then(|rest| rest.trim().parse::<f64>().ok())
            .map(|n| n as u64)
    })
}

fn backlog(s: &Server, subscriber: &str) -> Option<u64> {
    metric(
        s,
        &format!("motcua_webhook_backlog{{subscriber=\"{subscriber}\"}} "),
    )
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until each subscriber's backlog is 0 and nothing new arrived for a while.
fn wait_quiet(s: &Server, rx: &Receiver, subscribers: &[&str], what: &str) {
    wait_quiet_and(
        s,
        rx,
        subscribers,
        Duration::from_secs(60),
        what,
        &mut || true,
    );
}

/// Waits until each subscriber's backlog is 0, `also` holds and nothing new arrived for a
/// while (a backlog read just before a commit can be a stale 0).
fn wait_quiet_and(
    s: &Server,
    rx: &Receiver,
    subscribers: &[&str],
    timeout: Duration,
    what: &str,
    also: &mut dyn FnMut() -> bool,
) {
    let deadline = Instant::now() + timeout;
    let mut last = (usize::MAX, Instant::now());
    loop {
        let n = rx.all_arrivals().len();
        if n != last.0 {
            last = (n, Instant::now());
        }
        let drained = subscribers.iter().all(|sub| backlog(s, sub) == Some(0));
        if drained && also() && last.1.elapsed() > Duration::from_millis(800) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: backlogs {:?}, {} arrivals; server stderr:\n{}",
            subscribers
                .iter()
                .map(|sub| (sub, backlog(s, sub)))
                .collect::<Vec<_>>(),
            n,
            s.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The first 2xx arrival of each id, in arrival order.
fn first_successes(arrivals: &[Arrival]) -> Vec<Arrival> {
    let mut seen = BTreeSet::new();
    arrivals
        .iter()
        .filter(|a| a.answered == 200 && seen.insert(a.id))
        .cloned()
        .collect()
}

/// Ids strictly increase per dossier in `seq` (arrival order).
fn check_order_per_dossier(seq: &[Arrival], what: &str) {
    let mut last: HashMap<&str, u64> = HashMap::new();
    for a in seq {
        if let Some(prev) = last.get(a.dossier.as_str()) {
            assert!(
                a.id > *prev,
                "{what}: dossier {} got event {} after event {prev}",
                a.dossier,
                a.id
            );
        }
        last.insert(&a.dossier, a.id);
    }
}

/// Every arrival of an id carries the same body (on every path too).
fn check_same_body_per_id(arrivals: &[Arrival]) {
    let mut bodies: HashMap<u64, &[u8]> = HashMap::new();
    for a in arrivals {
        let b = bodies.entry(a.id).or_insert(&a.body);
        assert_eq!(
            String::from_utf8_lossy(b),
            String::from_utf8_lossy(&a.body),
            "event {} delivered with two different bodies",
            a.id
        );
    }
}

/// The types and moves delivered for `code` match the walk that produced them.
fn check_story(seq: &[Arrival], code: &str, moves: &[String]) {
    let mine: Vec<&Arrival> = seq.iter().filter(|a| a.dossier == code).collect();
    let kinds: Vec<&str> = mine.iter().map(|a| a.kind.as_str()).collect();
    let mut expected = vec!["submitted"];
    expected.extend(moves.iter().map(|_| "state_changed"));
    expected.push("ended");
    assert_eq!(kinds, expected, "{code}: the types delivered");
    let actions: Vec<&str> = mine
        .iter()
        .filter(|a| a.kind == "state_changed")
        .map(|a| a.json["data"]["action"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(actions, moves, "{code}: the moves delivered");
    assert_eq!(mine[0].json["event"], "dossier.received", "{code}");
    assert_eq!(
        mine.last().unwrap().json["event"],
        "dossier.ended",
        "{code}"
    );
}

const SECRET_ALL: &str = "secret-of-all-0123456789";
const SECRET_LIFE: &str = "secret-of-life-0123456789";

// ---------------------------------------------------------------------------------------------
// The tests

#[test]
fn deliveries_are_signed_in_order_and_resume_after_a_kill() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("tempdir");
    let rx = Receiver::start();
    let hooks = webhooks_file(
        tmp.path(),
        &format!(
            "max_tries: 1000\nbackoff_ms: 50\nmax_backoff_ms: 200\ntimeout_ms: 5000\n\
             subscriptions:\n\
             - name: all\n  url: {}\n  events: [\"*\"]\n  secret: {SECRET_ALL}\n\
             - name: life\n  url: {}\n  events: [submitted, ended]\n  secret: {SECRET_LIFE}\n",
            rx.url("all"),
            rx.url("life")
        ),
    );
    let mut server = Server::start(tmp.path(), &["--webhooks", &hooks]);

    // Phase 1: three officers' desks at once, two permits walked through each between
    // refusals (over 256 events in all: more than one page of the outbox), and one left
    // waiting at the desk.
    let stories: Vec<(String, Vec<String>)> = std::thread::scope(|scope| {
        let s = &server;
        let handles: Vec<_> = (0..3)
            .map(|t| {
                scope.spawn(move || {
                    let mut mine = vec![];
                    for n in 0..2 {
                        mine.push(walk(s, &format!("p1-{t}-{n}"), (t + n) % 2 == 0));
                        for r in 0..15 {
                            mine.push(refuse(s, &format!("p1-{t}-{n}-r{r}")));
                        }
                    }
                    if t == 0 {
                        mine.push(refuse(s, "p1-refused"));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client thread"))
            .collect()
    });
    let waiting = submit(&server, "p1-waiting")["code"]
        .as_str()
        .unwrap()
        .to_string();
    let ends: BTreeSet<String> = stories.iter().map(|(c, _)| c.clone()).collect();
    wait_quiet_and(
        &server,
        &rx,
        &["all", "life"],
        Duration::from_secs(60),
        "phase 1 deliveries",
        &mut || {
            let got: BTreeSet<String> = rx
                .arrivals("all")
                .iter()
                .filter(|a| a.kind == "ended")
                .map(|a| a.dossier.clone())
                .collect();
            ends.is_subset(&got)
        },
    );
    assert!(rx.malformed().is_empty(), "{:?}", rx.malformed());
    let all1 = rx.arrivals("all");
    let life1 = rx.arrivals("life");
    for a in &all1 {
        check_signed(a, SECRET_ALL);
    }
    for a in &life1 {
        check_signed(a, SECRET_LIFE);
    }
    // Nothing failed, so each event arrived once, and the outbox numbers are 1..=M.
    let ids1: Vec<u64> = all1.iter().map(|a| a.id).collect();
    let m1 = *ids1.iter().max().expect("events delivered");
    assert_eq!(
        ids1.iter().copied().collect::<BTreeSet<_>>(),
        (1..=m1).collect::<BTreeSet<_>>(),
        "every event from 1 to {m1}, once: {ids1:?}"
    );
    assert_eq!(ids1.len() as u64, m1, "no event twice: {ids1:?}");
    check_order_per_dossier(&all1, "all");
    check_order_per_dossier(&life1, "life");
    for (code, moves) in &stories {
        check_story(&all1, code, moves);
    }
    let w: Vec<&str> = all1
        .iter()
        .filter(|a| a.dossier == waiting)
        .map(|a| a.kind.as_str())
        .collect();
    assert_eq!(w, ["submitted"], "{waiting} waits at the desk");
    // The subscription to two types got exactly those, the same bodies.
    let want: Vec<u64> = all1
        .iter()
        .filter(|a| a.kind == "submitted" || a.kind == "ended")
        .map(|a| a.id)
        .collect();
    let got: Vec<u64> = life1.iter().map(|a| a.id).collect();
    assert_eq!(got, want, "life: submitted and ended only, in order");
    check_same_body_per_id(&rx.all_arrivals());
    let n1 = rx.all_arrivals().len();
    println!(
        "phase 1: {} events, {} dossiers, {:?}",
        m1,
        stories.len() + 1,
        started.elapsed()
    );

    // Phase 2: the receiver fails; more dossiers move; SIGKILL while deliveries are retried.
    rx.set_mode("all", Mode::FailAll);
    rx.set_mode("life", Mode::FailAll);
    let mut stories2: Vec<(String, Vec<String>)> = std::thread::scope(|scope| {
        let s = &server;
        let handles: Vec<_> = (0..3)
            .map(|t| scope.spawn(move || walk(s, &format!("p2-{t}"), t % 2 == 1)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .collect()
    });
    wait_for(
        "failing tries on both subscriptions",
        Duration::from_secs(30),
        || {
            let a = rx.arrivals("all");
            let l = rx.arrivals("life");
            a.iter().filter(|x| x.answered == 500).count() >= 3
                && l.iter().any(|x| x.answered == 500)
        },
    );
    std::thread::sleep(Duration::from_millis(300));
    let before_kill = rx.all_arrivals().len();
    server = server.kill_and_restart();
    let restarted_at = before_kill;
    // Still failing for a moment after the restart, then the receiver recovers.
    wait_for(
        "a failing try after the restart",
        Duration::from_secs(30),
        || {
            rx.all_arrivals()[restarted_at..]
                .iter()
                .any(|a| a.answered == 500)
        },
    );
    rx.set_mode("all", Mode::Ok);
    rx.set_mode("life", Mode::Ok);
    stories2.push(walk(&server, "p3-after-restart", true));
    let ends2: BTreeSet<String> = stories2.iter().map(|(c, _)| c.clone()).collect();
    wait_quiet_and(
        &server,
        &rx,
        &["all", "life"],
        Duration::from_secs(60),
        "deliveries after the restart",
        &mut || {
            let got: BTreeSet<String> = rx
                .arrivals("all")
                .iter()
                .filter(|a| a.kind == "ended" && a.answered == 200)
                .map(|a| a.dossier.clone())
                .collect();
            ends2.is_subset(&got)
        },
    );
    assert!(rx.malformed().is_empty(), "{:?}", rx.malformed());
    let every = rx.all_arrivals();
    for a in &every {
        check_signed(
            a,
            if a.path == "/all" {
                SECRET_ALL
            } else {
                SECRET_LIFE
            },
        );
    }
    check_same_body_per_id(&every);
    let all = rx.arrivals("all");
    let life = rx.arrivals("life");
    let ok_all = first_successes(&all);
    let m2 = ok_all.iter().map(|a| a.id).max().unwrap();
    assert!(m2 > m1);
    assert_eq!(
        ok_all.iter().map(|a| a.id).collect::<BTreeSet<_>>(),
        (1..=m2).collect::<BTreeSet<_>>(),
        "every event from 1 to {m2} delivered at least once"
    );
    check_order_per_dossier(&ok_all, "all (first successes)");
    check_order_per_dossier(&first_successes(&life), "life (first successes)");
    for (code, moves) in &stories2 {
        check_story(&ok_all, code, moves);
    }
    // The cursor was kept: nothing acknowledged before phase 2 was sent again.
    let again: Vec<u64> = every[n1..]
        .iter()
        .filter(|a| a.id <= m1)
        .map(|a| a.id)
        .collect();
    assert!(
        again.is_empty(),
        "events acknowledged before the kill were delivered again: {again:?}"
    );
    // The retries did happen, before and after the kill.
    assert!(all.iter().any(|a| a.answered == 500 && a.nth >= 2));
    let want: BTreeSet<u64> = ok_all
        .iter()
        .filter(|a| a.kind == "submitted" || a.kind == "ended")
        .map(|a| a.id)
        .collect();
    let got: BTreeSet<u64> = first_successes(&life).iter().map(|a| a.id).collect();
    assert_eq!(got, want, "life after the restart: exactly its types");
    assert!(
        life.iter()
            .all(|a| a.kind == "submitted" || a.kind == "ended"),
        "life got a type it did not subscribe to"
    );
    println!(
        "phase 2: {} events, {} arrivals ({} failed), {:?} in all",
        m2,
        every.len(),
        every.iter().filter(|a| a.answered != 200).count(),
        started.elapsed()
    );

    // Phase 3: SIGTERM while an event is being retried (max_tries 1000): the server stops at
    // once, cleanly, and the event goes out after the next start.
    let n2 = rx.all_arrivals().len();
    rx.set_mode("all", Mode::FailAll);
    rx.set_mode("life", Mode::FailAll);
    let last = refuse(&server, "p4-refused");
    wait_for(
        "failing tries before SIGTERM",
        Duration::from_secs(30),
        || {
            rx.all_arrivals()[n2..]
                .iter()
                .filter(|a| a.answered == 500)
                .count()
                >= 2
        },
    );
    let t0 = Instant::now();
    let status = server.terminate();
    assert!(status.success(), "SIGTERM: {status:?}");
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "stopping took {:?} with a delivery being retried",
        t0.elapsed()
    );
    rx.set_mode("all", Mode::Ok);
    rx.set_mode("life", Mode::Ok);
    let server = Server::start(tmp.path(), &["--webhooks", &hooks]);
    wait_quiet_and(
        &server,
        &rx,
        &["all", "life"],
        Duration::from_secs(60),
        "deliveries after SIGTERM",
        &mut || {
            rx.arrivals("all")
                .iter()
                .any(|a| a.dossier == last.0 && a.kind == "ended" && a.answered == 200)
        },
    );
    let every = rx.all_arrivals();
    check_same_body_per_id(&every);
    let ok_all = first_successes(&rx.arrivals("all"));
    let m3 = ok_all.iter().map(|a| a.id).max().unwrap();
    assert_eq!(m3, m2 + 3, "three events for the last refusal");
    assert_eq!(
        ok_all.iter().map(|a| a.id).collect::<BTreeSet<_>>(),
        (1..=m3).collect::<BTreeSet<_>>()
    );
    check_story(&ok_all, &last.0, &last.1);
    let again: Vec<u64> = every[n2..]
        .iter()
        .filter(|a| a.id <= m2)
        .map(|a| a.id)
        .collect();
    assert!(
        again.is_empty(),
        "delivered before SIGTERM and again after: {again:?}"
    );
    println!(
        "phase 3: stopped in {:?}; {:?} in all",
        t0.elapsed(),
        started.elapsed()
    );
}

#[test]
fn a_failing_receiver_gets_each_event_on_the_third_try_after_backoff() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("tempdir");
    let rx = Receiver::start();
    rx.set_mode("flaky", Mode::FailFirst(2));
    let hooks = webhooks_file(
        tmp.path(),
        &format!(
            "max_tries: 3\nbackoff_ms: 50\nmax_backoff_ms: 1000\ntimeout_ms: 5000\n\
             subscriptions:\n\
             - name: flaky\n  url: {}\n  events: [\"*\"]\n  secret: {SECRET_ALL}\n\
             - name: steady\n  url: {}\n  events: [\"*\"]\n  secret: {SECRET_LIFE}\n",
            rx.url("flaky"),
            rx.url("steady")
        ),
    );
    let server = Server::start(tmp.path(), &["--webhooks", &hooks]);
    let stories: Vec<(String, Vec<String>)> = std::thread::scope(|scope| {
        let s = &server;
        let a = scope.spawn(move || walk(s, "flaky-a", true));
        let b = scope.spawn(move || refuse(s, "flaky-b"));
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    let ends: BTreeSet<String> = stories.iter().map(|(c, _)| c.clone()).collect();
    wait_quiet_and(
        &server,
        &rx,
        &["flaky", "steady"],
        Duration::from_secs(60),
        "deliveries to the flaky receiver",
        &mut || {
            let got: BTreeSet<String> = rx
                .arrivals("flaky")
                .iter()
                .filter(|a| a.kind == "ended" && a.answered == 200)
                .map(|a| a.dossier.clone())
                .collect();
            ends.is_subset(&got)
        },
    );
    let steady = rx.arrivals("steady");
    let flaky = rx.arrivals("flaky");
    for a in &steady {
        check_signed(a, SECRET_LIFE);
    }
    for a in &flaky {
        check_signed(a, SECRET_ALL);
    }
    check_same_body_per_id(&rx.all_arrivals());
    let ids: Vec<u64> = steady.iter().map(|a| a.id).collect();
    let m = ids.len() as u64;
    assert_eq!(ids, (1..=m).collect::<Vec<_>>(), "steady: each event once");
    let mut by_id: BTreeMap<u64, Vec<&Arrival>> = BTreeMap::new();
    for a in &flaky {
        by_id.entry(a.id).or_default().push(a);
    }
    assert_eq!(
        by_id.keys().copied().collect::<Vec<_>>(),
        ids,
        "flaky: every event"
    );
    for (id, tries) in &by_id {
        let answers: Vec<u16> = tries.iter().map(|a| a.answered).collect();
        assert_eq!(answers, [500, 500, 200], "event {id}: three tries");
        let gap1 = tries[1].at - tries[0].at;
        let gap2 = tries[2].at - tries[1].at;
        // backoff_ms 50, doubling: at least 50 ms, then at least 100 ms (a little slack for
        // the receiver's own timing of the arrivals).
        assert!(gap1 >= Duration::from_millis(45), "event {id}: {gap1:?}");
        assert!(gap2 >= Duration::from_millis(95), "event {id}: {gap2:?}");
    }
    // One at a time, in outbox order: the flaky tries never interleave events.
    let order: Vec<u64> = flaky.iter().map(|a| a.id).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "flaky: events one after another");
    for (code, moves) in &stories {
        check_story(&first_successes(&flaky), code, moves);
    }
    assert_eq!(
        metric(&server, "motcua_webhook_dead_letters_total "),
        Some(0)
    );
    println!("{m} events, three tries each, in {:?}", started.elapsed());
}

#[test]
fn after_max_tries_an_event_is_a_dead_letter_and_delivery_goes_on() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("tempdir");
    let rx = Receiver::start();
    rx.set_mode("down", Mode::FailAll);
    // A port nobody listens on: each try is refused at connect.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().expect("address")
    };
    let hooks = webhooks_file(
        tmp.path(),
        &format!(
            "max_tries: 2\nbackoff_ms: 50\nmax_backoff_ms: 1000\ntimeout_ms: 5000\n\
             subscriptions:\n\
             - name: down\n  url: {}\n  events: [\"*\"]\n  secret: {SECRET_ALL}\n\
             - name: up\n  url: {}\n  events: [\"*\"]\n  secret: {SECRET_LIFE}\n\
             - name: nobody\n  url: http://{closed}/hook\n  events: [submitted]\n  secret: {SECRET_LIFE}\n",
            rx.url("down"),
            rx.url("up")
        ),
    );
    let server = Server::start(tmp.path(), &["--webhooks", &hooks]);
    let (code, moves) = walk(&server, "dead-a", false);
    let refused = refuse(&server, "dead-b");
    wait_quiet_and(
        &server,
        &rx,
        &["down", "up", "nobody"],
        Duration::from_secs(60),
        "dead letters",
        &mut || {
            rx.arrivals("down")
                .iter()
                .any(|a| a.dossier == refused.0 && a.kind == "ended" && a.nth == 2)
        },
    );
    let up = rx.arrivals("up");
    let down = rx.arrivals("down");
    for a in &up {
        check_signed(a, SECRET_LIFE);
    }
    for a in &down {
        check_signed(a, SECRET_ALL);
    }
    let ids: Vec<u64> = up.iter().map(|a| a.id).collect();
    let m = ids.len() as u64;
    assert_eq!(ids, (1..=m).collect::<Vec<_>>(), "up: each event once");
    check_story(&up, &code, &moves);
    check_story(&up, &refused.0, &refused.1);
    // Each event tried twice (max_tries), 50 ms apart at least, then the next one.
    let mut expected = vec![];
    for id in 1..=m {
        expected.push((id, 1));
        expected.push((id, 2));
    }
    let got: Vec<(u64, u32)> = down.iter().map(|a| (a.id, a.nth)).collect();
    assert_eq!(got, expected, "down: two tries of each event, in order");
    for pair in down.chunks(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(45),
            "event {}: {gap:?}",
            pair[0].id
        );
    }
    // One dead letter per event for `down`, one per submission for `nobody`.
    let submitted = up.iter().filter(|a| a.kind == "submitted").count() as u64;
    assert_eq!(
        metric(&server, "motcua_webhook_dead_letters_total "),
        Some(m + submitted),
        "dead letters"
    );
    assert_eq!(backlog(&server, "down"), Some(0));
    assert_eq!(backlog(&server, "nobody"), Some(0));
    // The dead-letter list is there for the admin to read, one letter per event given up.
    let hooks = server.get("/v1/webhooks", Some(http::ADMIN));
    assert_eq!(hooks.status, 200, "{}", hooks.text());
    let hooks = hooks.json();
    let letters = |name: &str| {
        hooks
            .as_array()
            .expect("subscribers")
            .iter()
            .find(|h| h["name"] == name)
            .map(|h| h["dead_letters"].as_array().map_or(0, Vec::len) as u64)
    };
    assert_eq!(letters("down"), Some(m));
    assert_eq!(letters("nobody"), Some(submitted));
    assert_eq!(letters("up"), Some(0));
    assert_eq!(server.get("/v1/webhooks", Some(DESK)).status, 403);
    // The receiver comes back: new events reach it at the first try, promptly.
    rx.set_mode("down", Mode::Ok);
    let t0 = Instant::now();
    let back = submit(&server, "dead-c")["code"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(
        "the event after the dead letters",
        Duration::from_secs(10),
        || {
            rx.arrivals("down")
                .iter()
                .any(|a| a.dossier == back && a.answered == 200)
        },
    );
    let last = rx.arrivals("down").last().cloned().unwrap();
    assert_eq!(
        (last.id, last.nth, last.kind.as_str()),
        (m + 1, 1, "submitted")
    );
    println!(
        "{m} dead letters, the next event delivered {:?} after its submission; {:?} in all",
        t0.elapsed(),
        started.elapsed()
    );
}

#[test]
fn deadline_timers_fired_by_the_scheduler_are_delivered() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rx = Receiver::start();
    let hooks = webhooks_file(
        tmp.path(),
        &format!(
            "max_tries: 3\nbackoff_ms: 50\n\
             subscriptions:\n\
             - name: all\n  url: {}\n  events: [\"*\"]\n  secret: {SECRET_ALL}\n\
             - name: deadlines\n  url: {}\n  events: [due_soon, overdue, escalated]\n  secret: {SECRET_LIFE}\n",
            rx.url("all"),
            rx.url("deadlines")
        ),
    );
    let server = Server::start(
        tmp.path(),
        &["--webhooks", &hooks, "--now", "2026-12-01T08:00:00+07:00"],
    );
    let d = submit(&server, "timers-a");
    let code = d["code"].as_str().unwrap().to_string();
    let d = act(&server, DESK, &code, version(&d), "chuyen-kiem-tra");
    let at_desk = submit(&server, "timers-b")["code"]
        .as_str()
        .unwrap()
        .to_string();
    // A dossier missing a document: the automatic check asks the applicant for it (national
    // status 5), which is a `supplement_requested`, and the clock waits for the applicant.
    let mut short = http::house_permit();
    short["documents"] = json!(["don-de-nghi"]);
    let r = server.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "timers-c")],
        &short,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let waiting = r.json();
    let supplement = waiting["code"].as_str().unwrap().to_string();
    let w = act(
        &server,
        DESK,
        &supplement,
        version(&waiting),
        "chuyen-kiem-tra",
    );
    assert_eq!(w["status"], 5, "{w}");
    assert_eq!(active(&w), BTreeSet::from(["cho-bo-sung".to_string()]));
    wait_quiet(&server, &rx, &["all", "deadlines"], "the moves");
    assert!(rx.arrivals("deadlines").is_empty());
    let told: Vec<(String, String)> = rx
        .arrivals("all")
        .iter()
        .filter(|a| a.dossier == supplement)
        .map(|a| {
            (
                a.kind.clone(),
                a.json["data"]["action"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        told,
        [
            ("submitted".to_string(), String::new()),
            ("state_changed".to_string(), "chuyen-kiem-tra".to_string()),
            ("supplement_requested".to_string(), "thieu".to_string()),
        ],
        "{supplement}"
    );
    let r = server.post(
        "/v1/clock",
        Some(http::ADMIN),
        &[],
        &json!({"now": "2027-01-01T08:00:00+07:00"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    wait_for("the overdue events", Duration::from_secs(30), || {
        let got: BTreeSet<(String, String)> = rx
            .arrivals("deadlines")
            .iter()
            .filter(|a| a.kind == "overdue" && a.json["data"]["clock"] == "step")
            .map(|a| {
                (
                    a.dossier.clone(),
                    a.json["data"]["state"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        got.contains(&(code.clone(), "kiem-tra-quy-hoach".into()))
            && got.contains(&(code.clone(), "kiem-tra-ket-cau".into()))
            && got.contains(&(at_desk.clone(), "tiep-nhan".into()))
    });
    wait_quiet(&server, &rx, &["all", "deadlines"], "the deadline events");
    let all = rx.arrivals("all");
    let deadlines = rx.arrivals("deadlines");
    for a in &all {
        check_signed(a, SECRET_ALL);
    }
    for a in &deadlines {
        check_signed(a, SECRET_LIFE);
    }
    check_same_body_per_id(&rx.all_arrivals());
    let ids: Vec<u64> = all.iter().map(|a| a.id).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    check_order_per_dossier(&all, "all");
    let want: Vec<u64> = all
        .iter()
        .filter(|a| ["due_soon", "overdue", "escalated"].contains(&a.kind.as_str()))
        .map(|a| a.id)
        .collect();
    assert_eq!(
        deadlines.iter().map(|a| a.id).collect::<Vec<_>>(),
        want,
        "deadlines: exactly the timer events"
    );
    let kinds: BTreeSet<&str> = deadlines.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["due_soon", "overdue", "escalated"]),
        "{:?}",
        deadlines.iter().map(|a| &a.json).collect::<Vec<_>>()
    );
    // Each dossier's appointment passed too (15 days).
    for c in [&code, &at_desk] {
        assert!(
            deadlines.iter().any(|a| &a.dossier == c
                && a.kind == "overdue"
                && a.json["data"]["clock"] == "appointment"),
            "{c}: no appointment overdue"
        );
    }
    // Nothing fires while the applicant has the dossier.
    let paused: Vec<&Value> = deadlines
        .iter()
        .filter(|a| a.dossier == supplement)
        .map(|a| &a.json)
        .collect();
    assert!(
        paused.is_empty(),
        "{supplement} waits on the applicant: {paused:?}"
    );
    // The server agrees: the step is marked overdue.
    let now = server.get(&format!("/v1/dossiers/{code}"), Some(http::AUDITOR));
    assert_eq!(now.status, 200);
    let v = now.json();
    assert!(v["version"].as_u64().unwrap() > version(&d));
    for s in v["states"].as_array().unwrap() {
        assert!(!s["overdue_since"].is_null(), "{code}: {s}");
    }
    for a in &deadlines {
        println!("{} {} {} {}", a.id, a.kind, a.dossier, a.json["data"]);
    }
}

/// SIGTERM and whether the process ended within `within` (then killed either way).
fn terminate_within(server: &mut Server, within: Duration) -> Option<std::process::ExitStatus> {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status();
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = server.child.try_wait().expect("wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// `timeout_ms` is "how long one delivery may take": a receiver that never answers, or that
/// answers 200 and then never sends the body it announced, has failed that try, which is
/// retried; and such a receiver must not keep SIGTERM from stopping the server.
///
/// Regression: only the answer's head was under `timeout_ms`, so a receiver that sent its
/// headers and stalled held the subscription forever (no retry, no dead letter) and, because
/// a try in flight did not watch for the stop, kept SIGTERM from finishing.
#[test]
fn a_receiver_that_stalls_is_timed_out_and_retried_and_does_not_block_shutdown() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rx = Receiver::start();
    rx.set_mode("silent", Mode::SilentFirst(1));
    rx.set_mode("stall", Mode::StallBodyFirst(1));
    let hooks = webhooks_file(
        tmp.path(),
        &format!(
            "max_tries: 3\nbackoff_ms: 50\nmax_backoff_ms: 1000\ntimeout_ms: 500\n\
             subscriptions:\n\
             - name: silent\n  url: {}\n  events: [\"*\"]\n  secret: {SECRET_ALL}\n\
             - name: stall\n  url: {}\n  events: [\"*\"]\n  secret: {SECRET_ALL}\n",
            rx.url("silent"),
            rx.url("stall")
        ),
    );
    let mut server = Server::start(tmp.path(), &["--webhooks", &hooks]);
    let (code, moves) = refuse(&server, "stall-a");
    let mut failures = vec![];
    // Each of the three events: the first try gets no answer (or no body) within
    // timeout_ms, so it is a failed try; the second is answered.
    for path in ["silent", "stall"] {
        let deadline = Instant::now() + Duration::from_secs(10);
        let done = || {
            let ok: BTreeSet<u64> = rx
                .arrivals(path)
                .iter()
                .filter(|a| a.answered == 200)
                .map(|a| a.id)
                .collect();
            ok == BTreeSet::from([1, 2, 3])
        };
        while !done() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let got: Vec<(u64, u32, u16)> = rx
            .arrivals(path)
            .iter()
            .map(|a| (a.id, a.nth, a.answered))
            .collect();
        let first = if path == "silent" { SILENT } else { STALLED };
        let want: Vec<(u64, u32, u16)> = (1..=3)
            .flat_map(|id| [(id, 1, first), (id, 2, 200)])
            .collect();
        if got != want {
            failures.push(format!(
                "{path}: tries (id, nth, answer) {got:?}, want {want:?} within 10 s"
            ));
        } else {
            let a = rx.arrivals(path);
            check_story(&first_successes(&a), &code, &moves);
            for pair in a.chunks(2) {
                let gap = pair[1].at - pair[0].at;
                if gap < Duration::from_millis(500) {
                    failures.push(format!("{path}: retried after {gap:?}, before timeout_ms"));
                }
            }
        }
    }
    // A delivery whose answer never ends must not hold up SIGTERM.
    rx.set_mode("stall", Mode::StallBodyFirst(1000));
    let before = rx.arrivals("stall").len();
    submit(&server, "stall-b");
    let deadline = Instant::now() + Duration::from_secs(5);
    while rx.arrivals("stall").len() == before && Instant::now() < deadline {
        // (When the first part failed, the subscription may already hang on a stalled try.)
        std::thread::sleep(Duration::from_millis(50));
    }
    let t0 = Instant::now();
    match terminate_within(&mut server, Duration::from_secs(10)) {
        Some(status) if status.success() => {}
        Some(status) => failures.push(format!("SIGTERM with a stalled delivery: {status:?}")),
        None => failures.push(format!(
            "SIGTERM with a delivery whose body never comes: still running after {:?}",
            t0.elapsed()
        )),
    }
    assert!(
        failures.is_empty(),
        "webhook timeouts:\n{}\nserver stderr:\n{}",
        failures.join("\n"),
        server.stderr_text()
    );
}

/// Regression (issue 24): a subscriber's answer was read whole, so a receiver answering
/// 256 MiB cost the server 314 MiB. Now at most 64 KiB of it is read: the status alone counts
/// (the event is delivered, not retried) and the server's memory stays flat.
#[test]
fn a_receiver_answering_256_mib_costs_the_server_no_memory_and_its_delivery_counts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rx = Receiver::start();
    rx.set_mode("huge", Mode::HugeAnswer);
    let hooks = webhooks_file(
        tmp.path(),
        &format!(
            "max_tries: 3\nbackoff_ms: 50\nmax_backoff_ms: 1000\ntimeout_ms: 10000\n\
             subscriptions:\n\
             - name: huge\n  url: {}\n  events: [\"*\"]\n  secret: {SECRET_ALL}\n",
            rx.url("huge")
        ),
    );
    let server = Server::start(tmp.path(), &["--webhooks", &hooks]);
    let before = server.resident_kib();
    refuse(&server, "huge-a");
    refuse(&server, "huge-b");
    wait_for("every event delivered", Duration::from_secs(30), || {
        backlog(&server, "huge") == Some(0) && !rx.arrivals("huge").is_empty()
    });
    let arrivals = rx.arrivals("huge");
    assert!(arrivals.len() >= 4, "{}", arrivals.len());
    assert!(
        arrivals
            .iter()
            .all(|a| a.nth == 1 && a.answered == receiver::HUGE),
        "each event once, none retried: {arrivals:?}"
    );
    let after = server.resident_kib();
    assert!(
        after < before + 64 * 1024,
        "the server grew from {before} KiB to {after} KiB"
    );
}
