//! Papers uploaded over HTTP against the raw cost of durable bytes on the same disk, and the
//! server's resident memory while one large scan streams in.
//!
//! `cargo bench -p motcua-server --bench papers` builds the engine as `http.rs` does (the
//! fixture procedures of `tests/fixtures/engine`, a sled store in a temporary folder, a manual
//! clock, mimalloc), starts `motcua_server::serve` on it on 127.0.0.1 in this process, and
//! receives one house-permit dossier per file at the desk (not timed). Then:
//!
//! 1. memory: the process's VmRSS (`/proc/self/status`) just before, and its peak (sampled
//!    every 5 ms by a thread of its own) while one 50 MiB scan is uploaded, sent in 64 KiB
//!    pieces generated as they go (so the client holds no copy): the rise is what the server
//!    holds of an upload in flight. Measured first, before the rounds have allocated and
//!    freed gigabytes that a later buffer could reuse unseen; twice, the larger rise judged.
//! 2. for each round, alternating, on the same 1,000 files of 1 MiB (random bytes behind
//!    `%PDF-1.4\n`, new ones each round, generated before the clock starts):
//!    - baseline: 16 threads writing each file to a folder beside the store, each write
//!      followed by an fsync of the file and of its folder: the raw cost of durable bytes;
//!    - http: 16 hyper HTTP/1.1 clients, one keep-alive connection each, uploading each file
//!      as the desk officer with `POST /v1/dossiers/{code}/documents?kind=…` (the raw body,
//!      `Content-Disposition` naming it), one dossier per file so no two commits meet on one
//!      dossier's version. The server streams each body to `data/papers` (fsynced, renamed,
//!      folder fsynced) and commits the `attach` entry before it answers 201. At most
//!      `UPLOADS_AT_ONCE` (8) uploads run at once; a client answered 503 `busy` waits
//!      `MOTCUA_BENCH_RETRY_MS` and sends the file again (counted). A file's latency runs
//!      from its first send to the 201, retries included.
//!
//!    Each round prints MiB/s, uploads/s, p50 / p99 per file for both sides, and
//!    http/baseline; then the medians and the targets: http at least half of the baseline,
//!    and a rise of a few MiB for the 50 MiB upload. After each round every dossier is read
//!    back: exactly one paper, with the digest of the bytes sent.
//!
//! Knobs: `MOTCUA_BENCH_FILES` (1000), `MOTCUA_BENCH_FILE_KIB` (1024), `MOTCUA_BENCH_CLIENTS`
//! (16: clients and baseline threads), `MOTCUA_BENCH_ROUNDS` (3), `MOTCUA_BENCH_BIG_MIB` (50),
//! `MOTCUA_BENCH_RETRY_MS` (5), `MOTCUA_BENCH_CLIENT_THREADS` (1: the load generator's tokio
//! workers), `MOTCUA_BENCH_ONLY=baseline|http|memory`.

mod support;
use support::{fixture_dir, knob, median};

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Frame};
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use motcua::Engine;
use motcua::clock::{ManualClock, TimeSource};
use motcua::dossier::transition::Submission;
use motcua::store::sled::{Options, SledStore};
use motcua_server::auth::{TokenEntry, token_sha256};
use sha2::Digest;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PROCEDURE: &str = "cap-phep-xay-dung-thu-nghiem";
/// The checklist items of the fixture's house permit: the desk may attach any of them to an
/// open dossier.
const KINDS: [&str; 3] = ["don", "ban_ve", "gcn_qsdd"];
/// The desk officer (`mot_cua` receives, so the desk attaches checklist papers).
const DESK: &str = "mc01";
const TOKEN: &str = "bench-mc01-papers-0123456789abcdef";
const PDF_HEAD: &[u8] = b"%PDF-1.4\n";
const MIB: f64 = (1 << 20) as f64;
/// "A few MiB": the most one upload in flight may add to the resident memory, judged strictly.
const FEW_MIB: f64 = 4.0;
/// The load generator's threads are named so their CPU can be told from the server's.
const CLIENT_THREAD: &str = "bench-client";

fn desk() -> serde_json::Value {
    serde_json::json!({"id": DESK, "roles": ["mot_cua"], "departments": ["bo_phan_mot_cua"]})
}

/// A dossier handed in at the desk (built from JSON, as a portal sends it).
fn submission(n: usize) -> Submission {
    serde_json::from_value(serde_json::json!({
        "procedure": PROCEDURE,
        "applicant": {"id": format!("0790911{n:05}"), "name": "Trần Thị Bình"},
        "channel": "desk",
        "data": {"chu_dau_tu": "Trần Thị Bình", "dien_tich_san": 96.0, "so_tang": 2},
        "documents": ["don", "ban_ve", "gcn_qsdd"],
        "received_by": desk(),
    }))
    .expect("a submission")
}

/// splitmix64: a different stream of bytes for every file of every round.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let w = self.next().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }
}

/// One file to upload: the bytes and their SHA-256 (computed before the clock starts).
struct Scan {
    bytes: Bytes,
    sha256: String,
}

fn scans(n: usize, size: usize, seed: u64) -> Vec<Scan> {
    (0..n)
        .map(|i| {
            let mut bytes = vec![0u8; size];
            bytes[..PDF_HEAD.len()].copy_from_slice(PDF_HEAD);
            Rng(seed ^ (i as u64).wrapping_mul(0xA076_1D64_78BD_642F))
                .fill(&mut bytes[PDF_HEAD.len()..]);
            let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
            Scan {
                bytes: Bytes::from(bytes),
                sha256,
            }
        })
        .collect()
}

struct Bench {
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    clients: usize,
    retry: Duration,
    received: AtomicUsize,
}

/// Receives `n` dossiers at the desk from as many threads as there are clients (not timed).
fn receive(b: &Bench, n: usize) -> Vec<String> {
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
                    let sub = submission(b.received.fetch_add(1, Ordering::Relaxed));
                    loop {
                        let before = b.clock.now();
                        match b.engine.submit(sub.clone()) {
                            Ok(r) => {
                                codes.lock().expect("codes").push(r.dossier.code);
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
    codes.into_inner().expect("codes")
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    /// Answers 503 `busy`, each followed by the same file again.
    busy: u64,
    /// Connections the server closed under a client (after a 503 left a body unread).
    reconnects: u64,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.busy += other.busy;
        self.reconnects += other.reconnects;
    }
}

struct Measured {
    mib_s: f64,
    files_s: f64,
    p50: f64,
    p99: f64,
}

fn measured(t: &mut Tally, bytes: u64, elapsed: f64) -> Measured {
    let lat = &mut t.latencies;
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        let i = ((p * lat.len() as f64).ceil() as usize).clamp(1, lat.len().max(1)) - 1;
        lat.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    Measured {
        mib_s: bytes as f64 / MIB / elapsed,
        files_s: lat.len() as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
    }
}

/// The baseline: each file written to `dir`, then the file and the folder fsynced.
fn baseline(b: &Bench, files: &[Scan], dir: &Path) -> Measured {
    std::fs::create_dir_all(dir).expect("the baseline's folder");
    let next = AtomicUsize::new(0);
    let mut tally = Tally::default();
    let start = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..b.clients)
            .map(|_| {
                scope.spawn(|| {
                    let mut t = Tally::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(scan) = files.get(i) else { return t };
                        let began = Instant::now();
                        let path = dir.join(format!("{i:05}.pdf"));
                        let mut f = std::fs::File::create(&path).expect("a baseline file");
                        f.write_all(&scan.bytes).expect("written");
                        f.sync_all().expect("the file fsynced");
                        std::fs::File::open(dir)
                            .and_then(|d| d.sync_all())
                            .expect("the folder fsynced");
                        t.latencies.push(began.elapsed());
                    }
                })
            })
            .collect();
        for w in workers {
            tally.merge(w.join().expect("a baseline thread"));
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let bytes: u64 = files.iter().map(|s| s.bytes.len() as u64).sum();
    let m = measured(&mut tally, bytes, elapsed);
    println!(
        "  baseline {} threads: {:>6.1} MiB/s, {:>5.1} files/s, p50 {:.1} ms, p99 {:.1} ms \
         (write + fsync of file and folder)",
        b.clients, m.mib_s, m.files_s, m.p50, m.p99
    );
    // Not timed: the baseline's gigabyte leaves the disk before the next side writes.
    std::fs::remove_dir_all(dir).expect("the baseline's files removed");
    m
}

type Sender<B> = hyper::client::conn::http1::SendRequest<B>;

async fn connect<B>(addr: SocketAddr) -> Sender<B>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connecting to the server");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("the HTTP/1.1 handshake");
    tokio::spawn(async move {
        // A connection the server closes after a 503 (its body unread) ends here: the
        // client reconnects.
        let _ = conn.await;
    });
    sender
}

fn upload_request<B>(code: &str, kind: &str, name: &str, body: B) -> Request<B> {
    Request::post(format!("/v1/dossiers/{code}/documents?kind={kind}"))
        .header(header::HOST, "127.0.0.1")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/pdf")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
        .body(body)
        .expect("a request")
}

/// What one upload's answer was, read whole.
enum Answer {
    Created(serde_json::Value),
    Busy,
    /// The connection went away before a whole answer came.
    Closed,
}

async fn send<B>(sender: &mut Sender<B>, req: Request<B>) -> Answer
where
    B: hyper::body::Body + Send + 'static,
{
    if sender.ready().await.is_err() {
        return Answer::Closed;
    }
    let Ok(res) = sender.send_request(req).await else {
        return Answer::Closed;
    };
    let status = res.status();
    let Ok(body) = res.into_body().collect().await else {
        return Answer::Closed;
    };
    let body = body.to_bytes();
    match status {
        StatusCode::CREATED => {
            Answer::Created(serde_json::from_slice(&body).expect("the paper's record"))
        }
        StatusCode::SERVICE_UNAVAILABLE => Answer::Busy,
        s => panic!("an upload answered {s}: {}", String::from_utf8_lossy(&body)),
    }
}

async fn http_worker(
    b: Arc<Bench>,
    files: Arc<Vec<Scan>>,
    codes: Arc<Vec<String>>,
    next: Arc<AtomicUsize>,
    addr: SocketAddr,
) -> Tally {
    let mut t = Tally::default();
    let mut sender = connect::<Full<Bytes>>(addr).await;
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let (Some(scan), Some(code)) = (files.get(i), codes.get(i)) else {
            return t;
        };
        let kind = KINDS[i % KINDS.len()];
        let name = format!("scan-{i:05}.pdf");
        let began = Instant::now();
        loop {
            if sender.is_closed() {
                t.reconnects += 1;
                sender = connect(addr).await;
            }
            let req = upload_request(code, kind, &name, Full::new(scan.bytes.clone()));
            match send(&mut sender, req).await {
                Answer::Created(paper) => {
                    t.latencies.push(began.elapsed());
                    assert_eq!(paper["sha256"], scan.sha256.as_str(), "{paper}");
                    break;
                }
                Answer::Busy => {
                    t.busy += 1;
                    tokio::time::sleep(b.retry).await;
                }
                Answer::Closed => {
                    t.reconnects += 1;
                    sender = connect(addr).await;
                }
            }
        }
    }
}

fn http(
    b: &Arc<Bench>,
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    files: &Arc<Vec<Scan>>,
    codes: &Arc<Vec<String>>,
) -> Measured {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tally = Tally::default();
    let start = Instant::now();
    let tasks: Vec<_> = (0..b.clients)
        .map(|_| {
            runtime.spawn(http_worker(
                b.clone(),
                files.clone(),
                codes.clone(),
                next.clone(),
                addr,
            ))
        })
        .collect();
    for task in tasks {
        tally.merge(runtime.block_on(task).expect("a client task"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    let bytes: u64 = files.iter().map(|s| s.bytes.len() as u64).sum();
    let m = measured(&mut tally, bytes, elapsed);
    println!(
        "  http     {} clients: {:>6.1} MiB/s, {:>5.1} uploads/s, p50 {:.1} ms, p99 {:.1} ms \
         (first send to 201); {} answered 503 busy and sent again, {} reconnections",
        b.clients, m.mib_s, m.files_s, m.p50, m.p99, tally.busy, tally.reconnects
    );
    // Not timed: each dossier holds exactly the one paper sent to it, the digest of its bytes.
    for (code, scan) in codes.iter().zip(files.iter()) {
        let d = b.engine.dossier(code).expect("an uploaded dossier");
        assert_eq!(d.papers.len(), 1, "{code}: {:?}", d.papers);
        assert_eq!(d.papers[0].sha256, scan.sha256, "{code}");
    }
    m
}

/// VmRSS of this process, in KiB.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A large scan sent in 64 KiB pieces made as they are sent: the client holds one piece.
struct Streamed {
    rng: Rng,
    left: usize,
    first: bool,
}

const PIECE: usize = 64 * 1024;

impl Streamed {
    fn new(seed: u64, size: usize) -> Streamed {
        Streamed {
            rng: Rng(seed),
            left: size,
            first: true,
        }
    }

    fn piece(&mut self) -> Option<Bytes> {
        if self.left == 0 {
            return None;
        }
        let n = self.left.min(PIECE);
        let mut buf = vec![0u8; n];
        let from = if self.first {
            buf[..PDF_HEAD.len()].copy_from_slice(PDF_HEAD);
            PDF_HEAD.len()
        } else {
            0
        };
        self.first = false;
        self.rng.fill(&mut buf[from..]);
        self.left -= n;
        Some(Bytes::from(buf))
    }
}

impl hyper::body::Body for Streamed {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.piece().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.left as u64)
    }
}

/// Resident memory before and at the peak of one large upload, in KiB; and its rate.
fn memory(
    b: &Arc<Bench>,
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    mib: usize,
    seed: u64,
) -> (u64, u64, f64) {
    let size = mib << 20;
    // The digest, from the same pieces made once more (not timed, one piece at a time).
    let mut hasher = sha2::Sha256::new();
    let mut pieces = Streamed::new(seed, size);
    while let Some(p) = pieces.piece() {
        hasher.update(&p);
    }
    let sha256 = hex::encode(hasher.finalize());
    let code = receive(b, 1).pop().expect("a dossier for the large scan");
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let before = resident_kib();
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::Builder::new()
            .name("bench-rss".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(resident_kib(), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
                peak.fetch_max(resident_kib(), Ordering::Relaxed);
            })
            .expect("the sampler's thread")
    };
    let start = Instant::now();
    let paper = runtime.block_on(async {
        let mut sender = connect::<Streamed>(addr).await;
        loop {
            let req = upload_request(&code, "ban_ve", "ban-ve-a0.pdf", Streamed::new(seed, size));
            match send(&mut sender, req).await {
                Answer::Created(paper) => return paper,
                Answer::Busy => tokio::time::sleep(b.retry).await,
                Answer::Closed => sender = connect(addr).await,
            }
        }
    });
    let took = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    sampler.join().expect("the sampler");
    assert_eq!(paper["sha256"], sha256.as_str(), "{paper}");
    assert_eq!(paper["size"], size as u64, "{paper}");
    (
        before,
        peak.load(Ordering::Relaxed),
        size as f64 / MIB / took,
    )
}

/// Starts the server on a free port of 127.0.0.1 and waits until it accepts (as `http.rs`).
fn start_server(b: &Bench, data: &Path) -> SocketAddr {
    support::serve(
        b.engine.clone(),
        b.clock.clone(),
        data,
        vec![TokenEntry {
            token_sha256: Some(token_sha256(TOKEN)),
            token: None,
            subject: DESK.into(),
            roles: vec!["mot_cua".into()],
            departments: vec!["bo_phan_mot_cua".into()],
            name: None,
            title: None,
            away: None,
        }],
        50,
    )
}

fn main() {
    // `cargo test --benches` runs this with --test or --list: nothing to do then.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let only = std::env::var("MOTCUA_BENCH_ONLY").ok();
    let runs = |side: &str| only.as_deref().is_none_or(|o| o == side);
    let n: usize = knob("MOTCUA_BENCH_FILES", 1000);
    let size: usize = knob::<usize>("MOTCUA_BENCH_FILE_KIB", 1024) << 10;
    let rounds: usize = knob("MOTCUA_BENCH_ROUNDS", 3);
    let big: usize = knob("MOTCUA_BENCH_BIG_MIB", 50);
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
    let b = Arc::new(Bench {
        engine: Arc::new(engine),
        clock,
        clients: knob("MOTCUA_BENCH_CLIENTS", 16),
        retry: Duration::from_millis(knob("MOTCUA_BENCH_RETRY_MS", 5)),
        received: AtomicUsize::new(0),
    });
    let addr = start_server(&b, dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(knob("MOTCUA_BENCH_CLIENT_THREADS", 1))
        .thread_name(CLIENT_THREAD)
        .enable_all()
        .build()
        .expect("the load generator's runtime");
    println!(
        "{n} files of {} KiB, {} clients, {rounds} rounds; store and baseline in {}",
        size >> 10,
        b.clients,
        dir.path().display()
    );

    let mut rise_mib = None;
    if runs("memory") {
        // A first small upload, so the blocking pool, the connection's buffers and the
        // papers folder exist before the measurement.
        let warm = Arc::new(scans(1, 1 << 20, 7));
        let code = Arc::new(receive(&b, 1));
        let _ = runtime.block_on(http_worker(
            b.clone(),
            warm,
            code,
            Arc::new(AtomicUsize::new(0)),
            addr,
        ));
        // Twice: the first upload may also fault in the allocator's first pages for the
        // threads it wakes; the second shows what an upload in flight holds on a warm server.
        for run in 1..=2u64 {
            let (before, peak, rate) = memory(&b, &runtime, addr, big, 0x5CA7_2026 + run);
            let rise = peak.saturating_sub(before) as f64 / 1024.0;
            println!(
                "memory {run}: one {big} MiB upload in 64 KiB pieces ({rate:.0} MiB/s): VmRSS \
                 {:.1} MiB before, {:.1} MiB at the peak: +{rise:.1} MiB",
                before as f64 / 1024.0,
                peak as f64 / 1024.0
            );
            rise_mib = Some(rise_mib.unwrap_or(0.0f64).max(rise));
        }
    }

    let (mut bases, mut https) = (vec![], vec![]);
    if runs("baseline") || runs("http") {
        for round in 1..=rounds {
            println!("round {round}:");
            let files = Arc::new(scans(n, size, 0x2026_1207 + round as u64));
            if runs("baseline") {
                bases.push(baseline(&b, &files, &dir.path().join("baseline")));
            }
            if runs("http") {
                let codes = Arc::new(receive(&b, n));
                let m = http(&b, &runtime, addr, &files, &codes);
                if let Some(base) = bases.last() {
                    println!("  http/baseline: {:.1}%", m.mib_s * 100.0 / base.mib_s);
                }
                https.push(m);
            }
        }
    }
    let med =
        |v: &[Measured], f: fn(&Measured) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    let line = |side: &str, v: &[Measured]| {
        if !v.is_empty() {
            println!(
                "{side}: {:.1} MiB/s, {:.1} files/s, p50 {:.1} ms, p99 {:.1} ms (medians of {} rounds)",
                med(v, |m| m.mib_s),
                med(v, |m| m.files_s),
                med(v, |m| m.p50),
                med(v, |m| m.p99),
                v.len()
            );
        }
    };
    line("baseline", &bases);
    line("http", &https);
    let ok = |met: bool| if met { "met" } else { "NOT met" };
    if !bases.is_empty() && !https.is_empty() {
        let ratios: Vec<f64> = https
            .iter()
            .zip(&bases)
            .map(|(h, b)| h.mib_s / b.mib_s)
            .collect();
        let r = median(&ratios);
        println!(
            "target http ≥ 50% of the baseline: {} ({:.1}% by the median of the rounds' ratios)",
            ok(r >= 0.5),
            r * 100.0
        );
    }
    if let Some(rise) = rise_mib {
        println!(
            "target: a {big} MiB upload raises resident memory by a few MiB (≤ {FEW_MIB}): {} \
             (+{rise:.1} MiB, the larger of the two)",
            ok(rise <= FEW_MIB)
        );
    }
}
