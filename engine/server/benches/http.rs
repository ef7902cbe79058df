//! Durable actions through the HTTP API (issue 12), with the engine alone measured in the same
//! run on the same store.
//!
//! `cargo bench -p motcua-server --bench http` builds the engine as `engine/benches/throughput.rs`
//! does (the fixture procedures of `tests/fixtures/engine`, a sled store in a temporary folder
//! with flush + fdatasync, a manual clock, mimalloc), starts `motcua_server::serve` on it on
//! 127.0.0.1 in this process, then alternates for three rounds of three seconds:
//! - engine: 64 threads calling `Engine::act` directly;
//! - http: 64 hyper HTTP/1.1 clients on a tokio runtime in this process, one keep-alive
//!   connection each, sending `POST /v1/dossiers/{code}/actions` with `If-Match` and a bearer
//!   token, and taking the next action on the version the answer's ETag names.
//!
//! Both sides do the same work: the fixture's house permit walked from the desk to the return
//! by its six officer actions (to the parallel checks, zoning, structure, consolidation,
//! signature, return), each by the officer the step needs. The dossiers are received before
//! each measurement (not timed) and handed out one at a time, so no two workers touch the same
//! dossier: no conflicts by construction (one is counted and retried if a timer moves one).
//! Each round prints actions/s, p50 / p99 / p99.9 of the per-action latency (client side for
//! http), the CPU the process used and the load generator's share of it, the writer's batch
//! size, and http/engine; then the medians and the issue's targets: 64 clients, at least
//! 10,000 durable actions/s, p99 at most 20 ms, at least half of the engine alone.
//! The baseline is the engine alone, measured in the same run. On 2026-12-01 (BENCHMARKS.md,
//! "HTTP server"): engine alone 8.3k–10.4k actions/s, HTTP 3.9k–5.5k/s (47–50% of it), HTTP
//! p99 22–36 ms, the process CPU-bound on the two shared cores.
//!
//! Knobs: `MOTCUA_BENCH_SECONDS` (3), `MOTCUA_BENCH_ROUNDS` (3), `MOTCUA_BENCH_CLIENTS` (64:
//! clients and engine threads), `MOTCUA_BENCH_CLIENT_THREADS` (1: the load generator's tokio
//! workers), `MOTCUA_BENCH_EXPECT` (20000: the actions/s the first measurement receives
//! dossiers for, twice over; later ones use the best rate seen), `MOTCUA_BENCH_ONLY=engine|http`.
//!
//! Longer than 600 lines: the load generator, the engine-alone baseline and the report are one
//! measurement, kept together so both sides do the same kind of work.

mod support;
use support::{fixture_dir, knob, median};

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use motcua::Engine;
use motcua::clock::{ManualClock, TimeSource};
use motcua::dossier::transition::{ActionRequest, Submission};
use motcua::dossier::{Actor, Applicant, Channel};
use motcua::store::sled::{Options, SledStore};
use motcua_server::auth::{TokenEntry, token_sha256};

// As in the engine's benches and the shipped binary: glibc's malloc was a quarter of the
// profile under 64 threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PROCEDURE: &str = "cap-phep-xay-dung-thu-nghiem";
/// The load generator's threads are named so their CPU can be told from the server's.
const CLIENT_THREAD: &str = "bench-client";

/// One of the six actions from receipt to return, with the officer who takes it.
struct Step {
    action: &'static str,
    actor: Actor,
    bearer: String,
    body: Bytes,
}

fn steps() -> Vec<Step> {
    [
        ("chuyen_tham_dinh", "mc01", "mot_cua", "bo_phan_mot_cua"),
        ("dat_quy_hoach", "tnmt01", "chuyen_vien", "phong_tnmt"),
        ("dat_ket_cau", "qlxd01", "chuyen_vien", "phong_qlxd"),
        ("trinh_ky", "qlxd01", "chuyen_vien", "phong_qlxd"),
        ("ky", "qlxd00", "lanh_dao", "phong_qlxd"),
        ("tra", "mc01", "mot_cua", "bo_phan_mot_cua"),
    ]
    .into_iter()
    .map(|(action, id, role, department)| Step {
        action,
        actor: Actor {
            id: id.into(),
            roles: vec![role.into()],
            departments: vec![department.into()],
        },
        bearer: format!("Bearer {}", token_of(id)),
        body: Bytes::from(format!(r#"{{"action":"{action}"}}"#)),
    })
    .collect()
}

fn token_of(officer: &str) -> String {
    format!("bench-{officer}-0123456789abcdef")
}

/// One credential per officer (the server refuses the same token twice).
fn tokens(steps: &[Step]) -> Vec<TokenEntry> {
    let mut out: Vec<TokenEntry> = vec![];
    for s in steps {
        if out.iter().all(|t| t.subject != s.actor.id) {
            out.push(TokenEntry {
                token_sha256: Some(token_sha256(&token_of(&s.actor.id))),
                token: None,
                subject: s.actor.id.clone(),
                roles: s.actor.roles.clone(),
                departments: s.actor.departments.clone(),
                name: None,
                title: None,
                away: None,
            });
        }
    }
    out
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
        channel: Channel::Online,
        data: serde_json::json!({"chu_dau_tu": "Nguyễn Văn An", "dien_tich_san": 180.5, "so_tang": 3}),
        documents: vec!["don".into(), "ban_ve".into(), "gcn_qsdd".into()],
        idempotency_key: None,
        received_by: receiver.clone(),
        meta: Default::default(),
        comment: None,
    }
}

struct Bench {
    engine: Arc<Engine>,
    store: Arc<SledStore>,
    clock: Arc<ManualClock>,
    steps: Vec<Step>,
    clients: usize,
    run: Duration,
    /// Applicant numbers handed out so far.
    received: AtomicUsize,
}

impl Bench {
    /// The version a dossier is at, after a conflict (a timer fired on it).
    fn current(&self, code: &str) -> u64 {
        self.engine
            .dossier(code)
            .expect("a received dossier")
            .version
    }
}

/// Dossiers ready for their first action, handed out one at a time.
struct Pool {
    dossiers: Vec<(String, u64)>,
    next: AtomicUsize,
}

impl Pool {
    fn take(&self) -> Option<(String, u64)> {
        self.dossiers
            .get(self.next.fetch_add(1, Ordering::Relaxed))
            .cloned()
    }
}

/// Receives `n` dossiers from as many threads as there are clients (not timed).
fn receive(b: &Bench, n: usize) -> Pool {
    let day = Mutex::new(());
    let codes = Mutex::new(Vec::with_capacity(n));
    let left = AtomicUsize::new(n);
    std::thread::scope(|scope| {
        for _ in 0..b.clients {
            scope.spawn(|| {
                while left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(1))
                    .is_ok()
                {
                    let sub = submission(
                        b.received.fetch_add(1, Ordering::Relaxed),
                        &b.steps[0].actor,
                    );
                    loop {
                        let before = b.clock.now();
                        match b.engine.submit(sub.clone()) {
                            Ok(r) => {
                                codes
                                    .lock()
                                    .expect("codes")
                                    .push((r.dossier.code, r.dossier.version));
                                break;
                            }
                            // 9,999 numbers per agency and day: the next receipt day, once.
                            Err(e) if e.code() == "sequence_exhausted" => {
                                let _one = day.lock().expect("day");
                                if b.clock.now() == before {
                                    b.clock.advance(jiff::SignedDuration::from_hours(24));
                                }
                            }
                            Err(e) => panic!("receiving a dossier: {e}"),
                        }
                    }
                }
            });
        }
    });
    let mut dossiers = codes.into_inner().expect("codes");
    // A new receipt day leaves earlier dossiers overdue: fire those timers now, not in the
    // measurement, and act on the versions they leave.
    if !b.engine.fire_due(b.clock.now()).expect("firing").is_empty() {
        for (code, version) in &mut dossiers {
            *version = b.current(code);
        }
    }
    Pool {
        dossiers,
        next: AtomicUsize::new(0),
    }
}

#[derive(Default)]
struct Tally {
    done: u64,
    conflicts: u64,
    latencies: Vec<Duration>,
    ran_out: bool,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.done += other.done;
        self.conflicts += other.conflicts;
        self.latencies.extend(other.latencies);
        self.ran_out |= other.ran_out;
    }
}

fn engine_worker(b: &Bench, pool: &Pool, until: Instant) -> Tally {
    let mut t = Tally::default();
    while let Some((code, mut version)) = pool.take() {
        for step in b.steps.iter() {
            loop {
                if Instant::now() >= until {
                    return t;
                }
                let start = Instant::now();
                let answer = b.engine.act(ActionRequest {
                    dossier: code.clone(),
                    action: step.action.into(),
                    actor: step.actor.clone(),
                    input: serde_json::json!({}),
                    comment: None,
                    seen_version: version,
                    on_behalf: false,
                });
                match answer {
                    Ok(d) => {
                        t.latencies.push(start.elapsed());
                        t.done += 1;
                        version = d.version;
                        break;
                    }
                    Err(e) if e.code() == "conflict" => {
                        t.conflicts += 1;
                        version = b.current(&code);
                    }
                    Err(e) => panic!("{code} {}: {e}", step.action),
                }
            }
        }
    }
    t.ran_out = true;
    t
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Sender {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connecting to the server");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("the HTTP/1.1 handshake");
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("client connection: {e}");
        }
    });
    sender
}

async fn http_worker(b: Arc<Bench>, pool: Arc<Pool>, mut sender: Sender, until: Instant) -> Tally {
    let mut t = Tally::default();
    while let Some((code, mut version)) = pool.take() {
        let uri = format!("/v1/dossiers/{code}/actions");
        for step in b.steps.iter() {
            loop {
                if Instant::now() >= until {
                    return t;
                }
                let req = Request::post(uri.as_str())
                    .header(header::HOST, "127.0.0.1")
                    .header(header::AUTHORIZATION, step.bearer.as_str())
                    .header(header::IF_MATCH, format!("\"{version}\""))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Full::new(step.body.clone()))
                    .expect("a request");
                sender.ready().await.expect("the connection stays open");
                let start = Instant::now();
                let res = sender.send_request(req).await.expect("the server answers");
                let status = res.status();
                let etag = res
                    .headers()
                    .get(header::ETAG)
                    .and_then(|v| v.to_str().ok());
                let etag = etag.and_then(|v| v.trim_matches('"').parse::<u64>().ok());
                let body = res
                    .into_body()
                    .collect()
                    .await
                    .expect("the answer's body")
                    .to_bytes();
                let took = start.elapsed();
                match status {
                    StatusCode::OK => {
                        t.latencies.push(took);
                        t.done += 1;
                        version = etag.expect("an ETag on the answer");
                        break;
                    }
                    StatusCode::CONFLICT => {
                        t.conflicts += 1;
                        version = b.current(&code);
                    }
                    s => panic!(
                        "{code} {}: {s} {}",
                        step.action,
                        String::from_utf8_lossy(&body)
                    ),
                }
            }
        }
    }
    t.ran_out = true;
    t
}

/// CPU seconds (user + system) of the whole process, and of the load generator's threads.
fn cpu() -> (f64, f64) {
    let ticks = |stat: &str| -> f64 {
        // Fields after the command name, which ends at the last ')': utime and stime are the
        // 12th and 13th; clock ticks are 1/100 s on Linux.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        let n = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
        (n(11) + n(12)) / 100.0
    };
    let process = std::fs::read_to_string("/proc/self/stat")
        .map(|s| ticks(&s))
        .unwrap_or(0.0);
    let mut client = 0.0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim() == CLIENT_THREAD {
                client += std::fs::read_to_string(task.path().join("stat"))
                    .map(|s| ticks(&s))
                    .unwrap_or(0.0);
            }
        }
    }
    (process, client)
}

struct Measured {
    rate: f64,
    p50: f64,
    p99: f64,
    p999: f64,
}

/// Runs one side for one round and prints its line.
fn measure(
    b: &Arc<Bench>,
    side: &str,
    http: Option<(&tokio::runtime::Runtime, SocketAddr)>,
    expect: f64,
) -> Measured {
    // Twice what the expected rate needs: rounds on this host swing by half from one to the
    // next, and a worker that runs out would understate the rate.
    let wanted = (expect * b.run.as_secs_f64() * 2.0 / b.steps.len() as f64).ceil() as usize;
    let pool = Arc::new(receive(b, wanted.max(b.clients)));
    let stats = b.store.stats();
    let (batches, written) = (
        stats.batches.load(Ordering::Relaxed),
        stats.transitions.load(Ordering::Relaxed),
    );
    let (cpu0, client0) = cpu();
    let mut tally = Tally::default();
    let start;
    match http {
        None => {
            start = Instant::now();
            let until = start + b.run;
            std::thread::scope(|scope| {
                let workers: Vec<_> = (0..b.clients)
                    .map(|_| scope.spawn(|| engine_worker(b, &pool, until)))
                    .collect();
                for w in workers {
                    tally.merge(w.join().expect("an engine thread"));
                }
            });
        }
        Some((runtime, addr)) => {
            // Connections are opened before the clock starts: the measurement is of requests
            // on open keep-alive connections.
            let mut senders = Vec::with_capacity(b.clients);
            for _ in 0..b.clients {
                senders.push(runtime.block_on(connect(addr)));
            }
            start = Instant::now();
            let until = start + b.run;
            let tasks: Vec<_> = senders
                .into_iter()
                .map(|s| runtime.spawn(http_worker(b.clone(), pool.clone(), s, until)))
                .collect();
            for task in tasks {
                tally.merge(runtime.block_on(task).expect("a client task"));
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (cpu1, client1) = cpu();
    let lat = &mut tally.latencies;
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        let i = ((p * lat.len() as f64).ceil() as usize).clamp(1, lat.len().max(1)) - 1;
        lat.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    let m = Measured {
        rate: tally.done as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        p999: pct(0.999),
    };
    let batches = stats.batches.load(Ordering::Relaxed) - batches;
    let written = stats.transitions.load(Ordering::Relaxed) - written;
    println!(
        "  {side:<6} {} {}: {:>6.0} actions/s, p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms; \
         CPU {:.2} cores, {:.0} µs per action (load generator {:.2} cores); \
         {:.1} transitions per batch{}{}",
        b.clients,
        if http.is_some() { "clients" } else { "threads" },
        m.rate,
        m.p50,
        m.p99,
        m.p999,
        (cpu1 - cpu0) / elapsed,
        (cpu1 - cpu0) * 1e6 / tally.done.max(1) as f64,
        (client1 - client0) / elapsed,
        written as f64 / batches.max(1) as f64,
        if tally.conflicts > 0 {
            format!("; {} conflicts retried", tally.conflicts)
        } else {
            String::new()
        },
        if tally.ran_out {
            " (RAN OUT OF DOSSIERS: rate understated, raise MOTCUA_BENCH_EXPECT)"
        } else {
            ""
        },
    );
    m
}

/// Starts the server on a free port of 127.0.0.1 and waits until it accepts. `serve` binds
/// the address itself and blocks until SIGTERM or Ctrl-C, so it runs on its own thread for
/// the rest of the process, and the port is found by binding port 0 and letting it go.
fn start_server(b: &Bench, data: &Path) -> SocketAddr {
    support::serve(
        b.engine.clone(),
        b.clock.clone(),
        data,
        tokens(&b.steps),
        50,
    )
}

fn main() {
    // `cargo test --benches` runs this with --test or --list: nothing to do then.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let only = std::env::var("MOTCUA_BENCH_ONLY").ok();
    let rounds: usize = knob("MOTCUA_BENCH_ROUNDS", 3);
    let mut expect: f64 = knob("MOTCUA_BENCH_EXPECT", 20_000.0);
    let mut best = 0.0f64;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let clock = Arc::new(ManualClock::new(
        "2026-06-01T09:00:00+07:00".parse().expect("an instant"),
    ));
    let store = Arc::new(
        SledStore::open(dir.path().join("store"), Options::default()).expect("the sled store"),
    );
    let engine = Engine::new(
        store.clone(),
        Arc::new(motcua::calendar::Calendar::vietnam_default()),
        clock.clone(),
    )
    .expect("the engine");
    engine
        .load_procedures_dir(&fixture_dir())
        .expect("the fixture procedures");
    let b = Arc::new(Bench {
        engine: Arc::new(engine),
        store,
        clock,
        steps: steps(),
        clients: knob("MOTCUA_BENCH_CLIENTS", 64),
        run: Duration::from_secs_f64(knob("MOTCUA_BENCH_SECONDS", 3.0)),
        received: AtomicUsize::new(0),
    });
    let addr = start_server(&b, dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(knob("MOTCUA_BENCH_CLIENT_THREADS", 1))
        .thread_name(CLIENT_THREAD)
        .enable_all()
        .build()
        .expect("the load generator's runtime");
    let (mut engines, mut https) = (vec![], vec![]);
    for round in 1..=rounds {
        println!("round {round}:");
        if only.as_deref() != Some("http") {
            let m = measure(&b, "engine", None, expect);
            best = best.max(m.rate);
            expect = best;
            engines.push(m);
        }
        if only.as_deref() != Some("engine") {
            let m = measure(&b, "http", Some((&runtime, addr)), expect);
            best = best.max(m.rate);
            expect = best;
            if let Some(e) = engines.last() {
                println!("  http/engine: {:.1}%", m.rate * 100.0 / e.rate);
            }
            https.push(m);
        }
    }
    let med =
        |v: &[Measured], f: fn(&Measured) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    let line = |side: &str, v: &[Measured]| {
        if !v.is_empty() {
            println!(
                "{side}: {:.0} actions/s, p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms (medians of {} rounds)",
                med(v, |m| m.rate),
                med(v, |m| m.p50),
                med(v, |m| m.p99),
                med(v, |m| m.p999),
                v.len()
            );
        }
    };
    line("engine alone", &engines);
    line("http", &https);
    if https.is_empty() {
        return;
    }
    let ok = |met: bool| if met { "met" } else { "NOT met" };
    let (rate, p99) = (med(&https, |m| m.rate), med(&https, |m| m.p99));
    println!(
        "target ≥ 10,000 durable actions/s over HTTP: {} ({rate:.0}/s)",
        ok(rate >= 10_000.0)
    );
    println!("target p99 ≤ 20 ms: {} ({p99:.2} ms)", ok(p99 <= 20.0));
    if !engines.is_empty() {
        let ratios: Vec<f64> = https
            .iter()
            .zip(&engines)
            .map(|(h, e)| h.rate / e.rate)
            .collect();
        let r = median(&ratios);
        println!(
            "target http ≥ 50% of the engine alone: {} ({:.1}% by the median of the rounds' ratios)",
            ok(r >= 0.5),
            r * 100.0
        );
    }
}
