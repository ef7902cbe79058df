//! The web screens with 100,000 dossiers in the store (issue 13: every page renders on the
//! server in at most 50 ms).
//!
//! `cargo bench -p motcua-server --bench pages` receives `MOTCUA_BENCH_DOSSIERS` (100,000)
//! of the fixture house permit (`tests/fixtures/engine`) into a sled store in a temporary
//! folder, over as many receipt days as the daily sequence needs, sends half of them on to
//! the parallel checks, fires the timers the passing days left due (so the overdue index is
//! full), then starts `motcua_server::serve` in this process on 127.0.0.1 and asks each page
//! `MOTCUA_BENCH_REQUESTS` (200) times, one request at a time, over a fresh loopback
//! connection with a signed-in session cookie. Printed per page: p50, p99 and the worst
//! time from the request's first byte to the answer's last, and the page's size.
//!
//! The baseline, in the same run on the same store: the API's JSON for the same reads
//! (`GET /v1/dossiers?department=…` for a page of a department's work, `GET
//! /v1/dossiers/{code}` for one dossier), so the HTML's own cost shows apart from the
//! store's.
mod support;
use support::{fixture_dir, knob};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use motcua::Engine;
use motcua::clock::{ManualClock, TimeSource};
use motcua::dossier::transition::{ActionRequest, Submission};
use motcua::dossier::{Actor, Applicant, Channel};
use motcua::store::sled::{Options, SledStore};
use motcua_server::auth::{TokenEntry, token_sha256};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PROCEDURE: &str = "cap-phep-xay-dung-thu-nghiem";

fn actor(id: &str, role: &str, department: &str) -> Actor {
    Actor {
        id: id.into(),
        roles: vec![role.into()],
        departments: vec![department.into()],
    }
}

fn credential(subject: &str, roles: &[&str], departments: &[&str]) -> TokenEntry {
    TokenEntry {
        token_sha256: Some(token_sha256(&format!("bench-{subject}-0123456789abcdef"))),
        token: None,
        subject: subject.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        departments: departments.iter().map(|d| d.to_string()).collect(),
        name: None,
        title: None,
        away: None,
    }
}

fn submission(n: usize, receiver: &Actor) -> Submission {
    Submission {
        papers: vec![],
        procedure: PROCEDURE.into(),
        applicant: Applicant {
            id: format!("0790900{n:05}"),
            name: "Nguyễn Văn An".into(),
            phone: None,
            email: None,
            notify_by: vec![],
            disadvantaged_area: false,
        },
        channel: Channel::Desk,
        data: serde_json::json!({"chu_dau_tu": "Nguyễn Văn An", "dien_tich_san": 180.5, "so_tang": 3}),
        documents: vec!["don".into(), "ban_ve".into(), "gcn_qsdd".into()],
        idempotency_key: None,
        received_by: receiver.clone(),
        meta: Default::default(),
        comment: None,
    }
}

/// Receives `n` dossiers from `threads` threads; every second one is sent on to the parallel
/// checks. Returns the codes.
fn fill(engine: &Engine, clock: &ManualClock, n: usize, threads: usize) -> Vec<String> {
    let desk = actor("mc01", "mot_cua", "bo_phan_mot_cua");
    let day = Mutex::new(());
    let codes = Mutex::new(Vec::with_capacity(n));
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let d = loop {
                        let before = clock.now();
                        match engine.submit(submission(i, &desk)) {
                            Ok(r) => break r.dossier,
                            // 9,999 numbers per agency and day: the next receipt day.
                            Err(e) if e.code() == "sequence_exhausted" => {
                                let _one = day.lock().expect("day");
                                if clock.now() == before {
                                    clock.advance(jiff::SignedDuration::from_hours(24));
                                }
                            }
                            Err(e) => panic!("receiving a dossier: {e}"),
                        }
                    };
                    if i.is_multiple_of(2) {
                        let req = ActionRequest {
                            dossier: d.code.clone(),
                            action: "chuyen_tham_dinh".into(),
                            actor: desk.clone(),
                            input: serde_json::json!({}),
                            comment: None,
                            seen_version: d.version,
                            on_behalf: false,
                        };
                        // A day's timers may have moved it first: the next one goes instead.
                        let _ = engine.act(req);
                    }
                    codes.lock().expect("codes").push(d.code);
                }
            });
        }
    });
    let fired = engine.fire_due(clock.now()).expect("firing the due timers");
    println!("  {} timers fired after receipt", fired.len());
    codes.into_inner().expect("codes")
}

fn start_server(engine: Arc<Engine>, clock: Arc<ManualClock>, data: &Path) -> SocketAddr {
    support::serve(
        engine,
        clock,
        data,
        vec![
            credential("mc01", &["mot_cua"], &["bo_phan_mot_cua"]),
            credential("tnmt01", &["chuyen_vien"], &["phong_tnmt"]),
            credential(
                "lanh-dao",
                &["lanh_dao", "chuyen_vien", "mot_cua"],
                &["bo_phan_mot_cua", "phong_tnmt", "phong_qlxd"],
            ),
            credential("thanh-tra", &["auditor"], &[]),
            credential("quan-tri", &["admin"], &[]),
        ],
        0,
    )
}

/// One request over a fresh connection: status, headers and body.
fn request(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(body).expect("write");
    let mut out = vec![];
    s.read_to_end(&mut out).expect("read");
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let headers = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, headers, out[split + 4..].to_vec())
}

fn sign_in(addr: SocketAddr, subject: &str) -> String {
    let body = format!("token=bench-{subject}-0123456789abcdef&next=");
    let head = format!(
        "POST /dang-nhap HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let (status, headers, _) = request(addr, &head, body.as_bytes());
    assert_eq!(status, 303, "signing in {subject}");
    headers
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string()
}

struct Timed {
    p50: f64,
    p99: f64,
    worst: f64,
    bytes: usize,
}

fn time(addr: SocketAddr, path: &str, auth: &str, n: usize) -> Timed {
    let head = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n{auth}\r\n");
    let mut ms = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let start = Instant::now();
        let (status, _, body) = request(addr, &head, b"");
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        bytes = body.len();
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() as f64 * q) as usize).min(ms.len() - 1)];
    Timed {
        p50: at(0.5),
        p99: at(0.99),
        worst: ms[ms.len() - 1],
        bytes,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let n: usize = knob("MOTCUA_BENCH_DOSSIERS", 100_000);
    let requests: usize = knob("MOTCUA_BENCH_REQUESTS", 200);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let clock = Arc::new(ManualClock::new(
        "2026-06-01T09:00:00+07:00".parse().expect("an instant"),
    ));
    let store = Arc::new(
        SledStore::open(dir.path().join("store"), Options::default()).expect("the sled store"),
    );
    let engine = Engine::new(
        store,
        Arc::new(motcua::calendar::Calendar::vietnam_default()),
        clock.clone(),
    )
    .expect("the engine");
    engine
        .load_procedures_dir(&fixture_dir())
        .expect("the fixture procedures");
    let engine = Arc::new(engine);
    let started = Instant::now();
    println!("receiving {n} dossiers…");
    let codes = fill(&engine, &clock, n, 64);
    println!(
        "  {} dossiers in the store after {:.1} s",
        motcua::store::DossierReader::dossier_count(engine.store()).expect("count"),
        started.elapsed().as_secs_f64()
    );
    let addr = start_server(engine.clone(), clock.clone(), dir.path());
    let key = motcua_server::status::load_key(dir.path()).expect("the status key");
    let one = &codes[codes.len() / 2];
    let secret = motcua_server::status::secret(&key, one);
    let cookie = |subject: &str| format!("cookie: {}\r\n", sign_in(addr, subject));
    let bearer =
        |subject: &str| format!("authorization: Bearer bench-{subject}-0123456789abcdef\r\n");
    let (desk, office, leader, auditor, admin) = (
        cookie("mc01"),
        cookie("tnmt01"),
        cookie("lanh-dao"),
        cookie("thanh-tra"),
        cookie("quan-tri"),
    );
    let today = motcua::report::local_day(clock.now());
    let pages: Vec<(&str, String, String)> = vec![
        (
            "baseline: API department page (JSON)",
            "/v1/dossiers?department=phong_tnmt&limit=50".into(),
            bearer("tnmt01"),
        ),
        (
            "baseline: API one dossier (JSON)",
            format!("/v1/dossiers/{one}"),
            bearer("tnmt01"),
        ),
        (
            "desk: choose a procedure",
            "/tiep-nhan".into(),
            desk.clone(),
        ),
        (
            "desk: the form",
            format!("/tiep-nhan/{PROCEDURE}"),
            desk.clone(),
        ),
        ("officer: inbox, desk", "/viec-cua-toi".into(), desk.clone()),
        (
            "officer: inbox, zoning office",
            "/viec-cua-toi".into(),
            office.clone(),
        ),
        (
            "officer: one dossier",
            format!("/ho-so/{one}"),
            office.clone(),
        ),
        (
            "form 01: slip with QR",
            format!("/ho-so/{one}/mau/01"),
            desk.clone(),
        ),
        (
            "form 06: control slip",
            format!("/ho-so/{one}/mau/06"),
            desk.clone(),
        ),
        ("leader: overdue and due soon", "/lanh-dao".into(), leader),
        ("auditor: audit search", "/kiem-tra".into(), auditor.clone()),
        (
            "auditor: one dossier's entries",
            format!("/kiem-tra?ho_so={one}"),
            auditor.clone(),
        ),
        (
            "auditor: on-time report + chart",
            format!("/bao-cao?tu=2026-06-01&den={today}&theo=department"),
            auditor,
        ),
        ("author: catalogue", "/thu-tuc".into(), admin.clone()),
        (
            "author: procedure with diagram",
            format!("/thu-tuc/{PROCEDURE}"),
            admin,
        ),
        (
            "citizen: status",
            format!("/tra-cuu/{one}?secret={secret}"),
            String::new(),
        ),
    ];
    println!(
        "{requests} requests per page, one at a time, fresh connection each ({} dossiers):",
        n
    );
    let mut worst_p99 = 0.0f64;
    for (name, path, auth) in &pages {
        let t = time(addr, path, auth, requests);
        if !name.starts_with("baseline") {
            worst_p99 = worst_p99.max(t.p99);
        }
        println!(
            "  {name:<36} p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  {:>7} bytes",
            t.p50, t.p99, t.worst, t.bytes
        );
    }
    println!(
        "slowest page's p99: {worst_p99:.2} ms (target: every page at most 50 ms): {}",
        if worst_p99 <= 50.0 { "met" } else { "NOT met" }
    );
}
