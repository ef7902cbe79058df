//! A crash loop: `motcua serve` is killed with SIGKILL under HTTP load at random moments,
//! then restarted on the same data. After each restart:
//!
//! - every acknowledged (2xx) answer is present: each dossier is readable with at least the
//!   version it was answered with, and what was acknowledged shows (refused → status 3, sent
//!   on → no longer at the desk);
//! - every submission whose answer never came is retried with the same Idempotency-Key: it
//!   returns the dossier received before the kill (`replayed`) or receives it now; a sample of
//!   acknowledged keys replays to the same code;
//! - codes are gap-free: the day's codes are exactly `0001..=N`, N the number of distinct keys
//!   sent (one dossier per key, none lost, none twice);
//! - the audit chain verifies (GET /v1/audit/verify) and counts one entry per version;
//! - after the last round the manual clock (`--now`, not persisted, so moved only after the
//!   final restart) jumps 31 days: every open dossier's steps get `overdue_since` and its
//!   appointment breach is recorded, i.e. timers written before any of the kills still fire;
//! - a webhook subscriber to every event, killed along with the server each round, ends up
//!   with every outbox id from 1 to the last, each id always the same event (the outbox is
//!   served only once durable, so no number is handed out twice), in order per dossier, one
//!   `submitted` per stored dossier.
//!
//! Rounds: 5 by default (CI, about 12 s), `MOTCUA_CRASH_ROUNDS=50` for the full run (about
//! 70 s). The kill moments and the clients' choices come from a xorshift seeded from the time
//! (printed); `MOTCUA_CRASH_SEED=<seed>` reuses one (thread timing still varies).
//!
//! Longer than 600 lines: the crash loop, its load generator and the three-node run on
//! PostgreSQL share the acknowledged-answer bookkeeping.

use crate::http;

use crate::pg;

use crate::receiver;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http::{ADMIN, AUDITOR, Cred, DESK, HA_TANG, Response, Server};
use receiver::Receiver;
use serde_json::{Value, json};

const NOW: &str = "2026-12-01T08:00:00+07:00";
const LATER: &str = "2027-01-01T08:00:00+07:00";
const CLIENTS: usize = 3;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Uploads the sample procedure `sample` as `id`, its line starting with `key` replaced by `line`.
fn upload_edited(node: &Server, sample: &str, id: &str, key: &str, line: &str) -> Response {
    let source = std::fs::read_to_string(http::root().join(format!("procedures/{sample}.yaml")))
        .expect("sample");
    let edited: String = source
        .lines()
        .map(|l| if l.starts_with(key) { line } else { l })
        .flat_map(|l| [l, "\n"])
        .collect();
    node.request(
        "PUT",
        &format!("/v1/procedures/{id}"),
        Some(ADMIN),
        &[("content-type", "application/yaml")],
        Some(edited.as_bytes()),
    )
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

/// One request; `None` when no complete answer came (the server was killed).
fn try_request(
    s: &Server,
    method: &str,
    path: &str,
    who: Cred,
    headers: &[(&str, &str)],
    body: &Value,
) -> Option<Response> {
    let bytes = serde_json::to_vec(body).expect("json");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\
         authorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        s.addr,
        who.token,
        bytes.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut raw = head.into_bytes();
    raw.extend_from_slice(&bytes);
    let r = s.raw(&raw).ok()?;
    // A body cut short by the kill is no answer.
    let complete = match r.header("content-length").map(|v| v.parse::<usize>()) {
        Some(Ok(n)) => n == r.body.len(),
        Some(Err(_)) => false,
        None => true,
    };
    complete.then_some(r)
}

/// What the clients were told, across rounds.
#[derive(Default)]
struct Ledger {
    /// Every Idempotency-Key sent, acknowledged or not.
    keys: Vec<String>,
    /// Key → code, for the submissions answered 201.
    codes: BTreeMap<String, String>,
    /// Code → the highest version acknowledged.
    versions: BTreeMap<String, u64>,
    /// Refusals at the desk acknowledged.
    refused: BTreeSet<String>,
    /// Dossiers acknowledged as sent on from the desk.
    sent_on: BTreeSet<String>,
    /// Answers that were complete but not what the request deserved.
    unexpected: Vec<String>,
    /// Acknowledged keys of the current round (replayed and read after the restart).
    this_round: Vec<String>,
    acts: u64,
}

impl Ledger {
    fn ack(&mut self, code: &str, version: u64) {
        let v = self.versions.entry(code.to_string()).or_insert(0);
        *v = (*v).max(version);
    }
}

fn act(
    s: &Server,
    ledger: &Mutex<Ledger>,
    who: Cred,
    code: &str,
    version: u64,
    action: &str,
) -> Option<Value> {
    let etag = format!("\"{version}\"");
    let comment = (action == "tu-choi-tiep-nhan").then_some("hồ sơ không đúng thẩm quyền");
    let r = try_request(
        s,
        "POST",
        &format!("/v1/dossiers/{code}/actions"),
        who,
        &[("if-match", &etag)],
        &json!({"action": action, "input": {}, "comment": comment}),
    )?;
    let mut l = ledger.lock().unwrap();
    if r.status != 200 {
        l.unexpected
            .push(format!("{code} {action}: {} {}", r.status, r.text()));
        return None;
    }
    let v = r.json();
    let version = v["version"].as_u64().unwrap_or(0);
    l.ack(code, version);
    l.acts += 1;
    match action {
        "tu-choi-tiep-nhan" => {
            l.refused.insert(code.to_string());
        }
        "chuyen-kiem-tra" => {
            l.sent_on.insert(code.to_string());
        }
        _ => {}
    }
    Some(v)
}

/// A client: submits dossiers with fresh keys and takes their first steps until the server
/// stops answering.
fn client(s: &Server, ledger: &Mutex<Ledger>, round: u32, t: usize, seed: u64, dead: &AtomicBool) {
    let mut rng = XorShift(seed | 1);
    let mut n = 0;
    while !dead.load(Ordering::Relaxed) {
        let (key, body) = (format!("r{round}-c{t}-{n}"), permit());
        n += 1;
        ledger.lock().unwrap().keys.push(key.clone());
        let Some(r) = try_request(
            s,
            "POST",
            "/v1/dossiers",
            DESK,
            &[("idempotency-key", &key)],
            &body,
        ) else {
            break;
        };
        if r.status != 201 {
            ledger.lock().unwrap().unexpected.push(format!(
                "submit {key}: {} {}",
                r.status,
                r.text()
            ));
            break;
        }
        let d = r.json();
        let code = d["code"].as_str().unwrap_or_default().to_string();
        let version = d["version"].as_u64().unwrap_or(0);
        {
            let mut l = ledger.lock().unwrap();
            l.codes.insert(key.clone(), code.clone());
            l.this_round.push(key.clone());
            l.ack(&code, version);
        }
        let step = match rng.below(4) {
            0 => None,
            1 => act(s, ledger, DESK, &code, version, "tu-choi-tiep-nhan"),
            _ => act(s, ledger, DESK, &code, version, "chuyen-kiem-tra"),
        };
        if let Some(d) = step
            && rng.below(2) == 0
            && d["status"] == 4
        {
            let v = d["version"].as_u64().unwrap_or(0);
            let a = ["xong-quy-hoach", "xong-ket-cau"][rng.below(2) as usize];
            act(s, ledger, HA_TANG, &code, v, a);
        }
    }
    dead.store(true, Ordering::Relaxed);
}

fn backlog(s: &Server) -> Option<u64> {
    let r = s.get("/metrics", None);
    r.text().lines().find_map(|l| {
        l.strip_prefix("motcua_webhook_backlog{subscriber=\"all\"} ")
            .and_then(|n| n.trim().parse::<f64>().ok())
            .map(|n| n as u64)
    })
}

/// After the last round: every event from 1 to the last delivered, each id always with the
/// same body, in order per dossier, one `submitted` per dossier.
fn check_deliveries(
    nodes: &[&Server],
    rx: &Receiver,
    dossiers: &BTreeSet<String>,
    full: bool,
) -> usize {
    let deadline = Instant::now() + Duration::from_secs(if full { 300 } else { 60 });
    let mut last = (usize::MAX, Instant::now());
    loop {
        let n = rx.all_arrivals().len();
        if n != last.0 {
            last = (n, Instant::now());
        }
        let backlogs: Vec<Option<u64>> = nodes.iter().map(|s| backlog(s)).collect();
        if backlogs.iter().all(|b| *b == Some(0)) && last.1.elapsed() > Duration::from_millis(1500)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "webhook deliveries did not catch up: backlog {backlogs:?}, {n} received"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The shared receiver answers 200 to everything by default and keeps every arrival.
    let got: Vec<(u64, String, String, Vec<u8>)> = rx
        .all_arrivals()
        .into_iter()
        .map(|a| (a.id, a.kind, a.dossier, a.body))
        .collect();
    let mut bodies: HashMap<u64, &[u8]> = HashMap::new();
    let mut first: Vec<&(u64, String, String, Vec<u8>)> = vec![];
    for g in &got {
        match bodies.get(&g.0) {
            Some(b) => assert_eq!(
                String::from_utf8_lossy(b),
                String::from_utf8_lossy(&g.3),
                "outbox event {} delivered as two different events (a number given out \
                 before it was durable, then again after the kill)",
                g.0
            ),
            None => {
                bodies.insert(g.0, &g.3);
                first.push(g);
            }
        }
    }
    let max = bodies.keys().max().copied().unwrap_or(0);
    let missing: Vec<u64> = (1..=max).filter(|i| !bodies.contains_key(i)).collect();
    assert!(missing.is_empty(), "events never delivered: {missing:?}");
    let mut per: HashMap<&str, (u64, &str)> = HashMap::new();
    let mut submitted: BTreeMap<&str, u32> = BTreeMap::new();
    for (id, kind, dossier, _) in first {
        if let Some((prev, _)) = per.get(dossier.as_str()) {
            assert!(id > prev, "{dossier}: event {id} after {prev}");
        } else {
            assert_eq!(kind, "submitted", "{dossier}: the first event");
        }
        per.insert(dossier, (*id, kind));
        if kind == "submitted" {
            *submitted.entry(dossier).or_default() += 1;
        }
    }
    let told: BTreeSet<String> = submitted.keys().map(|k| k.to_string()).collect();
    assert_eq!(&told, dossiers, "one `submitted` per stored dossier");
    assert!(
        submitted.values().all(|n| *n == 1),
        "a dossier submitted twice"
    );
    max as usize
}

fn get(s: &Server, path: &str, who: Cred) -> Value {
    let r = s.get(path, Some(who));
    assert_eq!(r.status, 200, "GET {path}: {}", r.text());
    r.json()
}

/// Every dossier stored, from the listing by applicant (all samples share one applicant).
fn stored(s: &Server) -> Vec<Value> {
    let applicant = permit()["applicant"]["id"].as_str().unwrap().to_string();
    let mut out = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/dossiers?applicant={applicant}&limit=200");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = get(s, &path, AUDITOR);
        out.extend(
            page["dossiers"]
                .as_array()
                .expect("dossiers")
                .iter()
                .cloned(),
        );
        match page["next"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => return out,
        }
    }
}

/// The checks after a restart; returns the number of dossiers.
fn check_after_restart(s: &Server, ledger: &Mutex<Ledger>, rng: &mut XorShift) -> Stats {
    let mut stats = Stats::default();
    let mut l = ledger.lock().unwrap();
    assert!(
        l.unexpected.is_empty(),
        "answers the load did not expect: {:#?}",
        l.unexpected
    );
    // 1. Every acknowledged answer is there: all of them in the listing (which reads the
    //    applicant index and the records), this round's and a few older ones read directly.
    let listed: BTreeMap<String, Value> = stored(s)
        .into_iter()
        .map(|d| (d["code"].as_str().unwrap_or_default().to_string(), d))
        .collect();
    let check = |code: &str, d: &Value, acked: u64| {
        let stored = d["version"].as_u64().unwrap_or(0);
        assert!(
            stored >= acked,
            "{code}: acknowledged version {acked}, stored {stored}"
        );
        if l.refused.contains(code) {
            assert_eq!(d["status"], 3, "{code} was refused: {d}");
        }
        if l.sent_on.contains(code) {
            assert!(
                d["states"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|st| st["state"] != "tiep-nhan"),
                "{code} was sent on from the desk: {}",
                d["states"]
            );
        }
    };
    for (code, version) in &l.versions {
        let d = listed
            .get(code)
            .unwrap_or_else(|| panic!("acknowledged dossier {code} is not listed"));
        check(code, d, *version);
    }
    let mut direct: BTreeSet<String> = l
        .this_round
        .iter()
        .filter_map(|k| l.codes.get(k).cloned())
        .collect();
    let older: Vec<&String> = l.versions.keys().collect();
    for _ in 0..older.len().min(20) {
        direct.insert(older[rng.below(older.len() as u64) as usize].clone());
    }
    for code in &direct {
        let d = get(s, &format!("/v1/dossiers/{code}"), AUDITOR);
        check(code, &d, l.versions[code]);
        assert_eq!(
            d["version"], listed[code]["version"],
            "{code}: read vs listed"
        );
    }
    // 2. Submissions never answered: the same key gives the dossier received before the kill,
    //    or receives it now.
    let unanswered: Vec<String> = l
        .keys
        .iter()
        .filter(|k| !l.codes.contains_key(*k))
        .cloned()
        .collect();
    for key in unanswered {
        let r = s.post(
            "/v1/dossiers",
            Some(DESK),
            &[("idempotency-key", &key)],
            &permit(),
        );
        assert_eq!(r.status, 201, "retrying {key}: {}", r.text());
        let d = r.json();
        let code = d["code"].as_str().unwrap().to_string();
        if d["replayed"] == true {
            stats.replayed += 1;
            assert_eq!(r.header("idempotent-replayed"), Some("true"));
        } else {
            stats.created_on_retry += 1;
        }
        let version = d["version"].as_u64().unwrap();
        l.codes.insert(key, code.clone());
        l.ack(&code, version);
    }
    // Acknowledged keys replay to the same dossier.
    let mut sample = std::mem::take(&mut l.this_round);
    while sample.len() > 12 {
        let i = rng.below(sample.len() as u64) as usize;
        sample.swap_remove(i);
    }
    for key in sample {
        let r = s.post(
            "/v1/dossiers",
            Some(DESK),
            &[("idempotency-key", &key)],
            &permit(),
        );
        assert_eq!(r.status, 201, "replaying {key}: {}", r.text());
        let d = r.json();
        assert_eq!(d["replayed"], true, "{key} replayed");
        assert_eq!(d["code"].as_str(), l.codes.get(&key).map(String::as_str));
    }
    // 3. Gap-free codes: one dossier per key, numbered 1..=N on the day.
    let all = stored(s);
    let codes: Vec<String> = all
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect();
    let distinct_keys: BTreeSet<&String> = l.keys.iter().collect();
    let answered: BTreeSet<&String> = l.codes.values().collect();
    assert_eq!(
        answered.len(),
        l.codes.len(),
        "two idempotency keys answered with one code"
    );
    let prefix = codes
        .first()
        .and_then(|c| c.rsplit_once('-'))
        .map(|(p, _)| p.to_string())
        .expect("dossiers");
    let expected: BTreeSet<String> = (1..=distinct_keys.len())
        .map(|n| format!("{prefix}-{n:04}"))
        .collect();
    let got: BTreeSet<String> = codes.iter().cloned().collect();
    assert_eq!(got.len(), codes.len(), "a code listed twice");
    if got != expected {
        let missing: Vec<_> = expected.difference(&got).collect();
        let extra: Vec<_> = got.difference(&expected).collect();
        panic!(
            "codes are not 0001..={:04} ({} keys): missing {missing:?}, unexpected {extra:?}",
            distinct_keys.len(),
            distinct_keys.len()
        );
    }
    assert_eq!(
        answered,
        got.iter().collect(),
        "the codes answered are the codes stored"
    );
    // 4. The chain verifies, one audit entry per version.
    let v = get(s, "/v1/audit/verify", AUDITOR);
    assert_eq!(v["ok"], true, "{v}");
    let versions: u64 = all.iter().map(|d| d["version"].as_u64().unwrap()).sum();
    assert_eq!(
        v["count"].as_u64(),
        Some(versions),
        "audit entries vs versions: {v}"
    );
    stats.dossiers = all.len();
    stats.audit = versions;
    stats
}

#[derive(Default, Debug)]
struct Stats {
    dossiers: usize,
    audit: u64,
    replayed: usize,
    created_on_retry: usize,
}

fn kill9(s: &Server) {
    let ok = std::process::Command::new("kill")
        .args(["-KILL", &s.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success(), "kill -KILL");
}

#[test]
fn sigkill_under_load_loses_nothing_acknowledged() {
    let started = Instant::now();
    let rounds: u32 = std::env::var("MOTCUA_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let full = rounds > 5;
    let seed: u64 = std::env::var("MOTCUA_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("crash loop: {rounds} rounds, seed {seed} (MOTCUA_CRASH_SEED={seed} replays it)");
    let mut rng = XorShift(seed | 1);
    let tmp = tempfile::tempdir().expect("tempdir");
    let rx = Receiver::start();
    let hooks = tmp.path().join("webhooks.yaml");
    std::fs::write(
        &hooks,
        format!(
            "max_tries: 1000\nbackoff_ms: 50\nmax_backoff_ms: 500\nsubscriptions:\n\
             - name: all\n  url: http://{}/hook\n  events: [\"*\"]\n  secret: crash-loop-secret-0001\n",
            rx.addr
        ),
    )
    .expect("webhooks file");
    let hooks = hooks.display().to_string();
    let mut server = Server::start(tmp.path(), &["--now", NOW, "--webhooks", &hooks]);
    let ledger = Mutex::new(Ledger::default());
    for round in 1..=rounds {
        // Up to 1.2 s of load (0.6 s in the full run), at least 50 ms.
        let kill_after = Duration::from_millis(50 + rng.below(if full { 550 } else { 1150 }));
        let seeds: Vec<u64> = (0..CLIENTS).map(|_| rng.next()).collect();
        let dead = AtomicBool::new(false);
        let load_started = Instant::now();
        std::thread::scope(|scope| {
            for (t, seed) in seeds.iter().enumerate() {
                let (s, ledger, dead) = (&server, &ledger, &dead);
                scope.spawn(move || client(s, ledger, round, t, *seed, dead));
            }
            std::thread::sleep(kill_after);
            kill9(&server);
            dead.store(true, Ordering::Relaxed);
        });
        let load = load_started.elapsed();
        server = server.kill_and_restart();
        let stats = check_after_restart(&server, &ledger, &mut rng);
        let l = ledger.lock().unwrap();
        println!(
            "round {round}: killed after {kill_after:?} (load {load:?}); {} keys, {} actions \
             acknowledged in all; after restart {stats:?}",
            l.keys.len(),
            l.acts
        );
    }
    // Timers written before any of the kills still fire: jump a month.
    let r = server.post("/v1/clock", Some(ADMIN), &[], &json!({"now": LATER}));
    assert_eq!(r.status, 200, "moving the clock: {}", r.text());
    let moved = Instant::now();
    let deadline = moved + Duration::from_secs(if full { 120 } else { 30 });
    let open = loop {
        let all = stored(&server);
        let pending: Vec<String> = all
            .iter()
            .filter(|d| d["open"] == true)
            .flat_map(|d| {
                d["states"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|st| st["waiting"] != true && st["overdue_since"].is_null())
                    .map(|st| format!("{} {}", d["code"], st["state"]))
                    .collect::<Vec<_>>()
            })
            .collect();
        if pending.is_empty() {
            break all.iter().filter(|d| d["open"] == true).count();
        }
        assert!(
            Instant::now() < deadline,
            "{} steps still not overdue {:?} after the clock moved to {LATER}: {:?}",
            pending.len(),
            moved.elapsed(),
            &pending[..pending.len().min(10)]
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let fired_in = moved.elapsed();
    // Every open dossier: each step's breach at its due instant, the appointment's, and no
    // warning or escalation left to fire (the scheduler fires in due order, so the
    // appointments, due last, may still be on their way: each dossier is polled).
    let l = ledger.lock().unwrap();
    for code in l.versions.keys() {
        loop {
            let d = get(&server, &format!("/v1/dossiers/{code}"), AUDITOR);
            if !d["ending"].is_null() {
                assert_eq!(d["status"], 3, "{code}: only refusals end here: {d}");
                break;
            }
            for st in d["states"].as_array().unwrap() {
                if st["waiting"] != true {
                    assert_eq!(st["overdue_since"], st["due_at"], "{code}: {st}");
                }
            }
            let clock = &d["clock"];
            if !clock["overdue_since"].is_null() && clock["alarms"].is_null() {
                assert_eq!(clock["overdue_since"], clock["due_at"], "{code}: {clock}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{code}: the appointment's breach and alarms {:?} after the clock moved: \
                 {clock}",
                moved.elapsed()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let all_fired_in = moved.elapsed();
    let v = get(&server, "/v1/audit/verify", AUDITOR);
    assert_eq!(v["ok"], true, "{v}");
    let codes: BTreeSet<String> = l.versions.keys().cloned().collect();
    let caught_up = Instant::now();
    let events = check_deliveries(&[&server], &rx, &codes, full);
    println!(
        "{open} open dossiers: steps overdue {fired_in:?}, appointments {all_fired_in:?} after \
         the clock moved; audit {} entries; {events} webhook events, caught up {:?} later; \
         {:?} in all",
        v["count"],
        caught_up.elapsed(),
        started.elapsed()
    );
}

/// Every system entry (a timer's firing) in the log, by dossier, action, state and input: a
/// timer fired twice would give the same key twice. Read with `motcua audit export` against
/// the database.
fn system_firings(url: &str) -> (usize, Vec<String>) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args(["audit", "export", "--store", url, "--format", "jsonl"])
        .output()
        .expect("motcua audit export");
    assert!(
        out.status.success(),
        "audit export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).expect("an exported line");
        let body = &v["body"];
        let action = body["action"].as_str().unwrap_or_default();
        if !action.starts_with("system:") {
            continue;
        }
        let key = format!(
            "{} {action} {} {} {}",
            v["dossier"], body["from"], body["to"], body["input"]
        );
        *seen.entry(key).or_default() += 1;
    }
    let twice = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, n)| format!("{k} ×{n}"))
        .collect();
    (seen.len(), twice)
}

/// Three `motcua serve` nodes on one PostgreSQL database, clients spread across them; each
/// round one node is killed with SIGKILL mid-load while the others keep serving, then it is
/// restarted. Afterwards every acknowledged answer is present, codes are gap-free for the
/// agency and day across nodes, the chain verifies (over HTTP and with `motcua audit verify
/// --store`), the timers of every dossier fire exactly once whichever node runs them, and the
/// webhook subscriber got every event at least once, in order per dossier.
#[test]
fn three_nodes_on_postgresql_survive_a_node_killed_under_load() {
    let started = Instant::now();
    let seed: u64 = std::env::var("MOTCUA_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("three nodes: seed {seed} (MOTCUA_CRASH_SEED={seed} replays it)");
    let mut rng = XorShift(seed | 1);
    let url = pg::cluster().fresh_database();
    let tmp = tempfile::tempdir().expect("tempdir");
    let rx = Receiver::start();
    let hooks = tmp.path().join("webhooks.yaml");
    std::fs::write(
        &hooks,
        format!(
            "max_tries: 1000\nbackoff_ms: 50\nmax_backoff_ms: 500\nsubscriptions:\n\
             - name: all\n  url: http://{}/hook\n  events: [\"*\"]\n  secret: three-nodes-secret-0001\n",
            rx.addr
        ),
    )
    .expect("webhooks file");
    let hooks = hooks.display().to_string();
    let mut nodes: Vec<Server> = (0..3)
        .map(|i| {
            let dir = tmp.path().join(format!("node{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            Server::start(&dir, &["--now", NOW, "--webhooks", &hooks, "--store", &url])
        })
        .collect();
    let ledger = Mutex::new(Ledger::default());
    const PER_NODE: usize = 2;
    for round in 1..=3u32 {
        let victim = (round as usize - 1) % nodes.len();
        let kill_after = Duration::from_millis(300 + rng.below(700));
        let seeds: Vec<u64> = (0..nodes.len() * PER_NODE).map(|_| rng.next()).collect();
        let dead: Vec<AtomicBool> = nodes.iter().map(|_| AtomicBool::new(false)).collect();
        std::thread::scope(|scope| {
            for (t, seed) in seeds.iter().enumerate() {
                let node = t % nodes.len();
                let (s, ledger, dead) = (&nodes[node], &ledger, &dead[node]);
                scope.spawn(move || client(s, ledger, round, t, *seed, dead));
            }
            std::thread::sleep(kill_after);
            kill9(&nodes[victim]);
            // The other nodes go on serving their clients a while after the kill.
            std::thread::sleep(Duration::from_millis(400));
            for d in &dead {
                d.store(true, Ordering::Relaxed);
            }
        });
        let restarted = nodes.remove(victim).kill_and_restart();
        nodes.insert(victim, restarted);
        let other = &nodes[(victim + 1) % nodes.len()];
        let stats = check_after_restart(other, &ledger, &mut rng);
        let l = ledger.lock().unwrap();
        println!(
            "round {round}: node {victim} killed after {kill_after:?}; {} keys, {} actions \
             acknowledged in all; checked on node {} after the restart: {stats:?}",
            l.keys.len(),
            l.acts,
            (victim + 1) % nodes.len()
        );
    }
    // Each node's manual clock jumps a month; all three schedulers race for the same timers.
    for s in &nodes {
        let r = s.post("/v1/clock", Some(ADMIN), &[], &json!({"now": LATER}));
        assert_eq!(r.status, 200, "moving the clock: {}", r.text());
    }
    let moved = Instant::now();
    let deadline = moved + Duration::from_secs(60);
    let l = ledger.lock().unwrap();
    for (i, code) in l.versions.keys().enumerate() {
        // Read from every node in turn: they serve the same database.
        let s = &nodes[i % nodes.len()];
        loop {
            let d = get(s, &format!("/v1/dossiers/{code}"), AUDITOR);
            if !d["ending"].is_null() {
                assert_eq!(d["status"], 3, "{code}: only refusals end here: {d}");
                break;
            }
            let steps_due = d["states"]
                .as_array()
                .unwrap()
                .iter()
                .all(|st| st["waiting"] == true || st["overdue_since"] == st["due_at"]);
            let clock = &d["clock"];
            if steps_due && !clock["overdue_since"].is_null() && clock["alarms"].is_null() {
                assert_eq!(clock["overdue_since"], clock["due_at"], "{code}: {clock}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{code}: not every timer fired {:?} after the clock moved: {d}",
                moved.elapsed()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let fired_in = moved.elapsed();
    let (firings, twice) = system_firings(&url);
    assert!(twice.is_empty(), "timers fired more than once: {twice:?}");
    assert!(firings > l.versions.len(), "{firings} firings");
    // The chain, over HTTP from each node and by the command against the database.
    for s in &nodes {
        let v = get(s, "/v1/audit/verify", AUDITOR);
        assert_eq!(v["ok"], true, "{v}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args(["audit", "verify", "--store", &url])
        .output()
        .expect("motcua audit verify");
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success() && said.starts_with("ok: "),
        "audit verify --store: {said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let codes: BTreeSet<String> = l.versions.keys().cloned().collect();
    let refs: Vec<&Server> = nodes.iter().collect();
    let events = check_deliveries(&refs, &rx, &codes, false);
    // A new version uploaded on one node is used by another for the very next request (it
    // looks among the stored uploads of the procedure before receiving), and a third, told
    // by NOTIFY, lists it well before its 5 s fallback look.
    let r = upload_edited(
        &nodes[0],
        "cap-phep-xay-dung-nha-o",
        "cap-phep-xay-dung-nha-o",
        "version:",
        "version: \"2027.9\"",
    );
    assert_eq!(r.status, 201, "upload on node 0: {}", r.text());
    let told = Instant::now();
    let r = nodes[1].post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "new-version-then-submit-on-another-node")],
        &permit(),
    );
    assert_eq!(r.status, 201, "submitted on node 1 at once: {}", r.text());
    assert_eq!(
        r.json()["procedure_version"],
        "2027.9",
        "node 1 received under the version uploaded on node 0 a moment ago"
    );
    loop {
        let p = get(&nodes[2], "/v1/procedures/cap-phep-xay-dung-nha-o", AUDITOR);
        if p.to_string().contains("2027.9") {
            break;
        }
        assert!(
            told.elapsed() < Duration::from_secs(4),
            "node 2 was not told of the version uploaded on node 0: {p}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A procedure uploaded on one node receives dossiers on another at once: the engine
    // looks among the stored uploads before it answers unknown_procedure (regression: the
    // HTTP layer's 5 s poll left a 404 for whoever came first behind a load balancer).
    let r = upload_edited(
        &nodes[0],
        "cap-phep-xay-dung-nha-o",
        "cap-phep-xay-dung-nha-o-thu-nghiem",
        "id:",
        "id: cap-phep-xay-dung-nha-o-thu-nghiem",
    );
    assert_eq!(r.status, 201, "upload on node 0: {}", r.text());
    let mut body = permit();
    body["procedure"] = json!("cap-phep-xay-dung-nha-o-thu-nghiem");
    let r = nodes[1].post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "upload-then-submit-on-another-node")],
        &body,
    );
    assert_eq!(r.status, 201, "submitted on node 1 at once: {}", r.text());
    println!(
        "three nodes: {} dossiers, {firings} timer firings (each once) within {fired_in:?}; \
         {}; {events} webhook events; {:?} in all",
        codes.len(),
        said.trim(),
        started.elapsed()
    );
    // SIGTERM stops each node cleanly on PostgreSQL too (drained, store closed, exit 0).
    drop(l);
    for (i, s) in nodes.into_iter().enumerate() {
        let status = s.terminate();
        assert!(status.success(), "node {i} after SIGTERM: {status:?}");
    }
}
