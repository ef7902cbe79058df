//! Notices to applicants: what sending them costs the durable write path, and how fast they
//! reach a real SMTP server.
//!
//! `cargo bench -p motcua-server --bench notices` starts Debian's aiosmtpd on 127.0.0.1 (its
//! `Sink` handler: every message accepted over SMTP, then dropped), and two servers in this
//! process, each on its own sled store (flush + fdatasync) with the fixture procedures and a
//! manual clock: one with notices by e-mail to that SMTP server, one without. Every applicant
//! agrees to e-mail. Then, alternating for `MOTCUA_BENCH_ROUNDS` rounds:
//!
//! - off / on: `MOTCUA_BENCH_CLIENTS` threads walk received house permits from the desk to the
//!   return by the fixture's six officer actions (`Engine::act`, each acknowledged only once
//!   durable) for `MOTCUA_BENCH_SECONDS`; on the "on" server the e-mail channel reads the
//!   outbox and sends the receipts' and results' notices meanwhile. Actions/s of each, and
//!   on/off: the target is at least 95%.
//! - delivery: on the "on" server, once its backlog is sent, `MOTCUA_BENCH_NOTICES` (10,000)
//!   dossiers are received by as many threads; the time from the first receipt until the
//!   server's `motcua_notice_deliveries_total` has grown by as many: notices/s, end to end.
//!
//! Knobs: `MOTCUA_BENCH_ROUNDS` (3), `MOTCUA_BENCH_SECONDS` (3), `MOTCUA_BENCH_CLIENTS` (16),
//! `MOTCUA_BENCH_NOTICES` (10000).

mod support;
use support::{fixture_dir, knob, median};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use motcua::Engine;
use motcua::clock::{ManualClock, TimeSource};
use motcua::dossier::transition::{ActionRequest, Submission};
use motcua::dossier::{Actor, Applicant, Channel, NoticeChannel};
use motcua::store::sled::{Options, SledStore};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PROCEDURE: &str = "cap-phep-xay-dung-thu-nghiem";

fn officer(id: &str, role: &str, department: &str) -> Actor {
    Actor {
        id: id.into(),
        roles: vec![role.into()],
        departments: vec![department.into()],
    }
}

fn steps() -> Vec<(&'static str, Actor)> {
    vec![
        (
            "chuyen_tham_dinh",
            officer("mc01", "mot_cua", "bo_phan_mot_cua"),
        ),
        (
            "dat_quy_hoach",
            officer("tnmt01", "chuyen_vien", "phong_tnmt"),
        ),
        (
            "dat_ket_cau",
            officer("qlxd01", "chuyen_vien", "phong_qlxd"),
        ),
        ("trinh_ky", officer("qlxd01", "chuyen_vien", "phong_qlxd")),
        ("ky", officer("qlxd00", "lanh_dao", "phong_qlxd")),
        ("tra", officer("mc01", "mot_cua", "bo_phan_mot_cua")),
    ]
}

fn submission(n: usize) -> Submission {
    Submission {
        papers: vec![],
        procedure: PROCEDURE.into(),
        applicant: Applicant {
            id: format!("0790900{n:05}"),
            name: "Nguyễn Văn An".into(),
            phone: None,
            email: Some(format!("cong-dan-{n}@example.vn")),
            notify_by: vec![NoticeChannel::Email],
            disadvantaged_area: false,
        },
        channel: Channel::Online,
        data: serde_json::json!({"chu_dau_tu": "Nguyễn Văn An", "dien_tich_san": 180.5, "so_tang": 3}),
        documents: vec!["don".into(), "ban_ve".into(), "gcn_qsdd".into()],
        idempotency_key: None,
        received_by: officer("mc01", "mot_cua", "bo_phan_mot_cua"),
        meta: Default::default(),
        comment: None,
    }
}

struct Side {
    name: &'static str,
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    addr: SocketAddr,
    received: AtomicUsize,
    _dir: tempfile::TempDir,
}

fn side(name: &'static str, notices: Option<motcua_server::notify::NoticesFile>) -> Side {
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
    let addr = support::serve_with(
        engine.clone(),
        clock.clone(),
        dir.path(),
        vec![],
        50,
        notices,
    );
    Side {
        name,
        engine,
        clock,
        addr,
        received: AtomicUsize::new(0),
        _dir: dir,
    }
}

/// Receives `n` dossiers from `threads` threads; their codes and versions.
fn receive(s: &Side, n: usize, threads: usize) -> Vec<(String, u64)> {
    let left = AtomicUsize::new(n);
    let out = std::sync::Mutex::new(Vec::with_capacity(n));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(1))
                    .is_ok()
                {
                    let sub = submission(s.received.fetch_add(1, Ordering::Relaxed));
                    loop {
                        match s.engine.submit(sub.clone()) {
                            Ok(r) => {
                                out.lock()
                                    .expect("codes")
                                    .push((r.dossier.code, r.dossier.version));
                                break;
                            }
                            // 9,999 numbers per agency and day: the next receipt day.
                            Err(e) if e.code() == "sequence_exhausted" => {
                                s.clock.advance(jiff::SignedDuration::from_hours(24));
                            }
                            Err(e) => panic!("receiving a dossier: {e}"),
                        }
                    }
                }
            });
        }
    });
    let mut codes = out.into_inner().expect("codes");
    // A new receipt day can leave earlier dossiers overdue: fired now, not while measured.
    if !s.engine.fire_due(s.clock.now()).expect("firing").is_empty() {
        for (code, version) in &mut codes {
            *version = s.engine.dossier(code).expect("received").version;
        }
    }
    codes
}

/// Actions/s of `threads` threads walking received dossiers for `run`.
fn walk(s: &Side, threads: usize, run: Duration) -> f64 {
    let pool = receive(s, threads * 400, threads);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let steps = steps();
    let start = Instant::now();
    let until = start + run;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                'dossiers: while let Some((code, v)) =
                    pool.get(next.fetch_add(1, Ordering::Relaxed))
                {
                    let mut version = *v;
                    for (action, actor) in &steps {
                        loop {
                            if Instant::now() >= until {
                                break 'dossiers;
                            }
                            match s.engine.act(ActionRequest {
                                dossier: code.clone(),
                                action: (*action).into(),
                                actor: actor.clone(),
                                input: serde_json::json!({}),
                                comment: None,
                                seen_version: version,
                                on_behalf: false,
                            }) {
                                Ok(d) => {
                                    version = d.version;
                                    done.fetch_add(1, Ordering::Relaxed);
                                    break;
                                }
                                Err(e) if e.code() == "conflict" => {
                                    version = s.engine.dossier(code).expect("dossier").version;
                                }
                                Err(e) => panic!("{code} {action}: {e}"),
                            }
                        }
                    }
                }
            });
        }
    });
    let rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    assert!(
        next.load(Ordering::Relaxed) < pool.len(),
        "{}: ran out of dossiers; raise the pool",
        s.name
    );
    rate
}

/// A counter from the server's `/metrics`.
fn metric(addr: SocketAddr, name: &str) -> u64 {
    let mut c = TcpStream::connect(addr).expect("the server");
    c.write_all(b"GET /metrics HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n")
        .expect("asking for metrics");
    let mut text = String::new();
    c.read_to_string(&mut text).expect("the metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
        .map_or(0, |n| n as u64)
}

fn wait_sent(s: &Side, target: u64, timeout: Duration) -> Duration {
    let start = Instant::now();
    while metric(s.addr, "motcua_notice_deliveries_total ") < target {
        assert!(
            start.elapsed() < timeout,
            "{} notices not sent in {timeout:?} ({} sent)",
            target,
            metric(s.addr, "motcua_notice_deliveries_total ")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

struct Smtp(Child);

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let rounds: usize = knob("MOTCUA_BENCH_ROUNDS", 3);
    let run = Duration::from_secs_f64(knob("MOTCUA_BENCH_SECONDS", 3.0));
    let threads: usize = knob("MOTCUA_BENCH_CLIENTS", 16);
    let notices: usize = knob("MOTCUA_BENCH_NOTICES", 10_000);
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let _smtp = Smtp(
        Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-u", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Sink"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd (Debian's python3-aiosmtpd)"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    let file: motcua_server::notify::NoticesFile = serde_yaml::from_str(&format!(
        "email:\n  host: 127.0.0.1\n  port: {port}\n  security: none\n  from: \"Một cửa <motcua@example.vn>\"\n"
    ))
    .expect("the notices file");
    let off = side("off", None);
    let on = side("on", Some(file));
    let (mut offs, mut ons) = (vec![], vec![]);
    for round in 1..=rounds {
        let a = walk(&off, threads, run);
        let b = walk(&on, threads, run);
        println!(
            "round {round}: off {a:.0} actions/s, on {b:.0} actions/s, on/off {:.1}%",
            b * 100.0 / a
        );
        offs.push(a);
        ons.push(b);
    }
    let (a, b) = (median(&offs), median(&ons));
    println!(
        "median: off {a:.0} actions/s, on {b:.0} actions/s, on/off {:.1}% (target at least 95%)",
        b * 100.0 / a
    );
    // Everything the rounds made goes out first (the channel's backlog read as 0 twice, a
    // second apart); then the timed batch.
    let start = Instant::now();
    let backlog = "motcua_notice_backlog{channel=\"email\"} ";
    loop {
        let before = metric(on.addr, "motcua_notice_deliveries_total ");
        std::thread::sleep(Duration::from_secs(1));
        if metric(on.addr, backlog) == 0
            && metric(on.addr, "motcua_notice_deliveries_total ") == before
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(900),
            "the rounds' notices never went out"
        );
    }
    let before = start.elapsed();
    let sent = metric(on.addr, "motcua_notice_deliveries_total ");
    println!("backlog of the rounds sent {before:?} after the last round ({sent} notices)");
    let start = Instant::now();
    receive(&on, notices, threads);
    let received = start.elapsed();
    wait_sent(&on, sent + notices as u64, Duration::from_secs(1200));
    let took = start.elapsed();
    println!(
        "{notices} receipts in {received:.1?}; their {notices} notices sent by {took:.1?}: {:.0} notices/s end to end",
        notices as f64 / took.as_secs_f64()
    );
}
