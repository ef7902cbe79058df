//! motcua's HTTP/JSON API: a thin axum layer over [`motcua::Engine`].
//!
//! - [`auth`]: who is calling (tokens file, JWT); [`access`]: which dossiers they may see and
//!   which actor they act as (the engine decides whether that actor may take the action).
//! - `api`: the routes; `body`: strict JSON bodies and query strings; `problem`: every
//!   error as RFC 9457 problem+json with the engine's stable code.
//! - [`webhook`]: deliveries from the durable outbox with cursors kept in the store.
//! - [`metrics`]: the Prometheus exposition; `ratelimit`: a bucket per credential.
//! - `status`: the citizen's secret for the public status page; [`openapi`]: the API
//!   description, committed as `schemas/openapi.json`.
//!
//! Engine calls are synchronous (a commit waits for fsync) and run on tokio's blocking pool.

pub mod access;
mod api;
pub mod auth;
mod body;
pub mod cursor;
pub mod door;
pub mod feed;
pub mod forecast;
pub mod metrics;
pub mod notify;
pub mod openapi;
mod problem;
mod ratelimit;
pub mod status;
mod web;
pub mod webhook;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;

pub use problem::Problem;

/// The fuzz target's body (`fuzz/fuzz_targets/http_bodies.rs`, replayed in CI by
/// `engine/server/tests/fuzz_bodies.rs`): every request body type under the strict reader.
/// It must never panic, and a refusal must be a 4xx problem naming what is wrong.
#[doc(hidden)]
pub fn fuzz_request_body(bytes: &[u8]) {
    fn check<T: serde::de::DeserializeOwned>(bytes: &[u8]) {
        if let Err(p) = body::parse::<T>(bytes) {
            assert!(p.status.is_client_error(), "{p:?}");
            assert!(!p.detail.is_empty());
            let doc = p.body();
            assert_eq!(doc["status"], p.status.as_u16());
        }
    }
    check::<api::dossiers::SubmitBody>(bytes);
    check::<api::dossiers::ActionBody>(bytes);
    check::<api::ops::ClockBody>(bytes);
    check::<serde_json::Value>(bytes);
}

/// How to run the server (the CLI's `motcua serve` builds it from its flags).
pub struct Config {
    pub listen: SocketAddr,
    /// The data folder (the status key lives beside the store).
    pub data: PathBuf,
    pub procedures: PathBuf,
    /// Besides the procedures folder, the one folder an uploaded procedure may read plugin
    /// files from.
    pub plugins: Option<PathBuf>,
    pub tokens: Vec<auth::TokenEntry>,
    /// Plain tokens allowed (demo credentials).
    pub dev: bool,
    pub jwt: Option<(auth::JwtConfig, PathBuf)>,
    pub webhooks: Option<webhook::WebhooksFile>,
    pub checkpoint_key: Option<motcua::audit::checkpoint::KeyFile>,
    /// Requests per second per credential (0: no limit) and the burst allowed.
    pub rate_per_second: u32,
    pub rate_burst: u32,
    /// Requests per second to the public status page from one address.
    pub public_rate_per_second: u32,
    /// The engine's clock when it is a manual one (`--now`): an admin may move it with
    /// `POST /v1/clock`, for tests and rehearsals.
    pub manual_clock: Option<Arc<motcua::clock::ManualClock>>,
    /// What a client may hold: the head and body timeouts, connections per address.
    pub limits: door::Limits,
    /// The base URL printed on paper (the slip's QR code opens `<public_url>/tra-cuu/...`);
    /// without it, the address the desk's browser used.
    pub public_url: Option<String>,
    /// The agencies' one-stop offices (`--offices`).
    pub offices: motcua::office::Offices,
    /// Notices to applicants by e-mail and text message (`--notices`).
    pub notices: Option<notify::NoticesFile>,
    /// The scenarios forecasts run (`--scenarios`), read and checked at start.
    pub scenarios: forecast::Scenarios,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Auth(#[from] auth::Error),
    #[error("loading the procedures uploaded earlier: {0}")]
    Uploaded(motcua::Error),
    #[error("the notices: {0}")]
    Notices(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

/// The router over `state`.
fn router(state: api::Shared) -> Router {
    use api::{
        assignments, audit, contact, dossiers, notices, ops, papers, papers_ahead, procedures,
        status,
    };
    let v1 = Router::new()
        .route("/v1/procedures", get(procedures::list))
        .route(
            "/v1/procedures/{id}",
            get(procedures::get).put(procedures::put),
        )
        .route("/v1/procedures/{id}/graph", get(procedures::graph))
        .route(
            "/v1/procedures/{procedure}/waits",
            get(api::simulations::waits),
        )
        .route(
            "/v1/simulations",
            axum::routing::post(api::simulations::create),
        )
        .route("/v1/dossiers", get(dossiers::list).post(dossiers::submit))
        .route("/v1/dossiers/{code}", get(dossiers::get))
        .route(
            "/v1/dossiers/{code}/actions",
            axum::routing::post(dossiers::act),
        )
        .route(
            "/v1/dossiers/{code}/assignments",
            axum::routing::post(assignments::assign),
        )
        .route(
            "/v1/dossiers/{code}/contact",
            axum::routing::post(contact::change),
        )
        .route(
            "/v1/dossiers/{code}/documents",
            get(papers::list)
                .post(papers::attach)
                .layer(DefaultBodyLimit::max(web::papers::UPLOAD_BODY)),
        )
        .route("/v1/dossiers/{code}/documents/{sha256}", get(papers::get))
        .route(
            "/v1/documents",
            axum::routing::post(papers_ahead::stage)
                .layer(DefaultBodyLimit::max(web::papers::UPLOAD_BODY)),
        )
        .route("/v1/applicants/{id}/documents", get(papers_ahead::held))
        .route("/v1/dossiers/{code}/audit", get(dossiers::audit))
        .route("/v1/dossiers/{code}/slip", get(dossiers::slip))
        .route("/v1/audit", get(audit::list))
        .route("/v1/audit/verify", get(audit::verify))
        .route("/v1/audit/checkpoint", get(audit::checkpoint))
        .route("/v1/reports/on-time", get(audit::on_time))
        .route("/v1/reports/tracking-book", get(api::book::tracking_book))
        .route("/v1/status/{public_code}", get(status::status))
        .route(
            "/v1/status/{public_code}/rating",
            axum::routing::post(api::feedback::rate),
        )
        .route(
            "/v1/status/{public_code}/feedback",
            axum::routing::post(api::feedback::send),
        )
        .route(
            "/v1/dossiers/{code}/feedback/{number}/answer",
            axum::routing::post(api::feedback::answer),
        )
        .route("/v1/webhooks", get(ops::webhooks))
        .route("/v1/notices", get(notices::list))
        .route(
            "/v1/notices/{channel}/dead-letters/{seq}/replay",
            axum::routing::post(notices::replay),
        )
        .route("/v1/backup", get(ops::backup))
        .route("/v1", get(ops::index))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .route("/v1/clock", axum::routing::post(ops::set_clock));
    v1.merge(web::routes())
        .fallback(dossiers::not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body::MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            door::read_body,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .layer(axum::middleware::from_fn(door::headers))
        .with_state(state)
}

async fn method_not_allowed() -> Response {
    use axum::response::IntoResponse;
    Problem::said(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
    .into_response()
}

/// Counts every request by route template and status, with its latency.
async fn track(State(s): State<api::Shared>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    // Any other method is one label: a client inventing methods must not grow the map.
    let method: &'static str = match req.method().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        _ => "OTHER",
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    let res = problem::from_plain(next.run(req).await).await;
    s.metrics.observe(
        method,
        &route,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}

/// Serves until SIGTERM or Ctrl-C: then stops accepting, drains the requests in flight,
/// stops webhook deliveries and the scheduler, and returns (the engine's store flushes as
/// it is dropped). Prints `listening on http://ADDR` once the port is bound.
pub fn serve(engine: Arc<motcua::Engine>, config: Config) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("motcua-http")
        .build()
        .map_err(io("starting the runtime"))?;
    runtime.block_on(serve_async(engine, config))
}

async fn serve_async(engine: Arc<motcua::Engine>, config: Config) -> Result<(), Error> {
    engine.set_uploads_dir(&config.procedures);
    if let Some(dir) = &config.plugins {
        engine.allow_plugin_dir(dir);
    }
    let restored = engine.restore_uploads().map_err(Error::Uploaded)?;
    if restored > 0 {
        eprintln!("loaded {restored} procedure versions uploaded earlier");
    }
    let auth = match &config.jwt {
        Some((jwt, dir)) => auth::Auth::new(
            config.tokens.clone(),
            Some(jwt.clone()),
            dir,
            config.dev,
            &config.data,
        )?,
        None => auth::Auth::new(
            config.tokens.clone(),
            None,
            &config.data,
            config.dev,
            &config.data,
        )?,
    };
    let status_key = status::load_key(&config.data).map_err(io("the status key"))?;
    let metrics = Arc::new(metrics::Metrics::default());
    let scheduler_running = Arc::new(AtomicBool::new(false));
    let outbox_bell = Arc::new(tokio::sync::Notify::new());
    let scheduler = {
        let metrics = metrics.clone();
        let clock = engine.clock().clone();
        let bell = outbox_bell.clone();
        motcua::scheduler::Scheduler::start(engine.clone(), move |fired| {
            metrics.timers_fired.fetch_add(1, Ordering::Relaxed);
            // A firing commits outbox events too: deliveries look at once.
            bell.notify_waiters();
            let lag = clock.now().as_millisecond() - fired.due.as_millisecond();
            metrics.scheduler_lag_ms.store(lag, Ordering::Relaxed);
        })
        .map_err(io("starting the scheduler"))?
    };
    scheduler_running.store(true, Ordering::Relaxed);
    let scheduler = Arc::new(std::sync::Mutex::new(Some(scheduler)));
    let offices = Arc::new(config.offices.clone());
    let notices = match &config.notices {
        Some(file) => {
            let base = config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", config.listen));
            Some(Arc::new(
                notify::Notices::new(file, offices.clone(), &base, status_key)
                    .map_err(Error::Notices)?,
            ))
        }
        None => None,
    };
    let state = Arc::new(api::State {
        engine: engine.clone(),
        auth,
        metrics: metrics.clone(),
        limit: ratelimit::RateLimit::new(config.rate_per_second, config.rate_burst),
        public_limit: ratelimit::RateLimit::new(
            config.public_rate_per_second,
            config.public_rate_per_second.saturating_mul(2),
        ),
        status_key,
        procedures_dir: config.procedures.clone(),
        checkpoint_key: config.checkpoint_key.clone(),
        scheduler_running: scheduler_running.clone(),
        outbox_bell: outbox_bell.clone(),
        manual_clock: config.manual_clock.clone(),
        scheduler: scheduler.clone(),
        webhooks: config.webhooks.clone().map(Arc::new),
        sessions: web::session::Sessions::default(),
        // A loopback server is reached by a developer's browser over plain HTTP, or by a
        // TLS proxy: `--public-url https://…` says which. Anywhere else the cookie never
        // travels without TLS.
        secure_cookies: !config.listen.ip().is_loopback()
            || config
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
        dev: config.dev,
        public_url: config.public_url.clone(),
        offices,
        notices: notices.clone(),
        limits: config.limits,
        failures: ratelimit::RateLimit::new(api::AUTH_FAILURES_PER_SECOND, api::AUTH_FAILURE_BURST),
        sign_ins: ratelimit::RateLimit::new(api::SIGN_INS_PER_SECOND, api::SIGN_IN_BURST),
        log_budget: ratelimit::LogBudget::new(api::REFUSAL_LINES_PER_SECOND),
        cursors: cursor::Cursors::new(&status_key),
        scenarios: config.scenarios.clone(),
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut deliveries = vec![];
    if let Some(file) = state.webhooks.clone() {
        for i in 0..file.subscriptions.len() {
            deliveries.push(tokio::spawn(webhook::run(
                engine.clone(),
                file.clone(),
                i,
                metrics.clone(),
                outbox_bell.clone(),
                stop_rx.clone(),
            )));
        }
    }
    if let Some(n) = &notices {
        for (channel, _) in &n.senders {
            deliveries.push(tokio::spawn(notify::run(
                engine.clone(),
                n.clone(),
                *channel,
                metrics.clone(),
                outbox_bell.clone(),
                stop_rx.clone(),
            )));
        }
    }
    deliveries.push(tokio::spawn(collect_papers(
        engine.clone(),
        stop_rx.clone(),
    )));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(io(format!("binding {}", config.listen)))?;
    let addr = listener.local_addr().map_err(io("the bound address"))?;
    println!("listening on http://{addr}");
    let app = router(state.clone());
    let served = accept_loop(listener, app, config.limits).await;
    eprintln!("stopping: requests drained");
    let _ = stop_tx.send(true);
    for d in deliveries {
        let _ = d.await;
    }
    scheduler_running.store(false, Ordering::Relaxed);
    let sched = tokio::task::spawn_blocking(move || {
        let taken = scheduler.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(s) = taken {
            s.stop();
        }
    })
    .await;
    drop(state);
    if sched.is_err() {
        eprintln!("the scheduler thread failed while stopping");
    }
    served
}

/// Connections served at once; past it, accepting waits (the kernel's backlog queues them).
const MAX_CONNECTIONS: usize = 4096;
/// How long SIGTERM waits for requests in flight before exiting anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Accepts until SIGTERM, then lets every connection finish the request it is in.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: door::Limits,
) -> Result<(), Error> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let addresses = door::Addresses::new(limits.connections_per_address);
    let signal = shutdown_signal();
    tokio::pin!(signal);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut signal => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut signal => break,
        };
        // An address at its cap is closed at once: it cannot queue for the slots others need.
        let Some(admitted) = addresses.admit(peer.ip()) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        // The peer's address reaches handlers as axum's ConnectInfo (the public status
        // page limits each address on its own).
        let service =
            hyper_util::service::TowerToHyperService::new(tower::ServiceExt::map_request(
                app.clone(),
                move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    req
                },
            ));
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(admitted);
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!("stopping: requests still in flight after {DRAIN_TIMEOUT:?}");
    }
    Ok(())
}

/// How long a kept file may wait for the transition that names it before it is garbage.
const PAPER_GRACE: Duration = Duration::from_secs(24 * 3600);

/// Every hour, the files no `attach` entry names and older than [`PAPER_GRACE`] are removed
/// (uploads refused, or abandoned before their attach), with what uploads cut short left.
async fn collect_papers(engine: Arc<motcua::Engine>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
        let engine = engine.clone();
        let done = tokio::task::spawn_blocking(move || {
            motcua::audit::papers::collect(engine.store(), engine.files(), PAPER_GRACE)
        })
        .await;
        match done {
            Ok(Ok(c)) if !c.removed.is_empty() || c.uploads_swept > 0 => tracing::info!(
                removed = c.removed.len(),
                uploads = c.uploads_swept,
                "collected papers no entry names"
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("collecting papers: {e}"),
            Err(e) => tracing::warn!("collecting papers: {e}"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
