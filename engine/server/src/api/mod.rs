//! The routes under `/v1` and the operational ones, over one shared [`State`].

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::{Auth, Principal};
use crate::metrics::Metrics;
use crate::problem::Problem;
use crate::ratelimit::RateLimit;

pub mod assignments;
pub mod audit;
pub mod book;
pub mod contact;
pub mod dossiers;
pub mod feedback;
pub mod notices;
pub mod ops;
pub mod papers;
pub mod papers_ahead;
pub mod procedures;
pub mod simulations;
pub mod status;
pub mod views;

/// What every handler shares.
pub struct State {
    pub engine: Arc<motcua::Engine>,
    pub auth: Auth,
    pub metrics: Arc<Metrics>,
    pub limit: RateLimit,
    /// A bucket per address for the unauthenticated citizen status page.
    pub public_limit: RateLimit,
    /// The key citizens' status secrets are derived from.
    pub status_key: [u8; 32],
    /// The procedures folder: uploaded versions read their plugins from here.
    pub procedures_dir: PathBuf,
    /// The key that signs published checkpoints, if one was given.
    pub checkpoint_key: Option<motcua::audit::checkpoint::KeyFile>,
    /// Set while the scheduler thread runs.
    pub scheduler_running: Arc<AtomicBool>,
    /// Rung after each commit so webhook deliveries look at the outbox at once.
    pub outbox_bell: Arc<tokio::sync::Notify>,
    /// The manual clock, when the server runs on one.
    pub manual_clock: Option<Arc<motcua::clock::ManualClock>>,
    /// The webhook subscriptions, if any.
    pub webhooks: Option<Arc<crate::webhook::WebhooksFile>>,
    /// The running scheduler (taken out to stop it).
    pub scheduler: Arc<std::sync::Mutex<Option<motcua::scheduler::Scheduler>>>,
    /// The web screens' sign-in sessions.
    pub sessions: crate::web::session::Sessions,
    /// Session cookies carry `Secure` (off only on a loopback address).
    pub secure_cookies: bool,
    /// Demo mode: the desk's form starts filled with the procedure's example.
    pub dev: bool,
    /// The base of links printed on paper (the slip's QR code), if configured.
    pub public_url: Option<String>,
    /// Where each agency's office is and when it opens (`--offices`).
    pub offices: Arc<motcua::office::Offices>,
    /// Notices to applicants, when configured (`--notices`).
    pub notices: Option<Arc<crate::notify::Notices>>,
    /// What a client may hold (the body timeout is applied per request).
    pub limits: crate::door::Limits,
    /// Failed authentications per address: past the burst, 429 before any check.
    pub failures: RateLimit,
    /// Sign-ins per principal, so one credential cannot churn sessions.
    pub sign_ins: RateLimit,
    /// Refusal log lines per second.
    pub log_budget: crate::ratelimit::LogBudget,
    /// Seals the list cursors handed to callers.
    pub cursors: crate::cursor::Cursors,
    /// The scenarios forecasts run (`--scenarios`).
    pub scenarios: crate::forecast::Scenarios,
}

/// Failed authentications one address may make at once, and how fast they come back.
pub const AUTH_FAILURE_BURST: u32 = 1000;
pub const AUTH_FAILURES_PER_SECOND: u32 = 1;
/// Sign-ins one principal may make at once, and how fast they come back.
pub const SIGN_IN_BURST: u32 = 30;
pub const SIGN_INS_PER_SECOND: u32 = 1;
/// Refusal lines written per second at most (the rest counted in the next line).
pub const REFUSAL_LINES_PER_SECOND: u32 = 20;

pub type Shared = Arc<State>;

impl State {
    /// Counts a refusal and logs it (subject, route, status, reason) through `tracing`, at
    /// most [`REFUSAL_LINES_PER_SECOND`] lines a second.
    pub fn refused(&self, subject: Option<&str>, route: &str, status: StatusCode, reason: &str) {
        self.metrics
            .refusals
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(suppressed) = self.log_budget.allow() {
            tracing::warn!(
                target: "motcua::refused",
                subject = subject.unwrap_or("-"),
                route,
                status = status.as_u16(),
                reason,
                suppressed,
                "refused"
            );
        }
    }

    /// Counts a failed authentication from `address`: a 429 instead of the 401 once the
    /// address has failed too often. A good credential is never refused for its address's
    /// failures: behind a proxy or an office NAT, one address is many people.
    pub fn failed(&self, address: &str, route: &str) -> Result<(), Problem> {
        self.failures.take(address).map_err(|wait| {
            self.metrics
                .rate_limited
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.refused(
                None,
                route,
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed authentications from this address",
            );
            Problem::too_many(wait).with(
                "reason",
                serde_json::json!("too many failed authentications from this address"),
            )
        })
    }

    /// Counts a commit and rings the webhook deliveries.
    pub fn committed(&self) {
        self.metrics
            .transitions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.outbox_bell.notify_waiters();
    }

    /// Whether the scheduler was started and its thread still runs.
    pub fn scheduler_running(&self) -> bool {
        self.scheduler_running.load(Ordering::Relaxed)
            && self
                .scheduler
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .is_some_and(|s| s.is_running())
    }
}

fn route_of(parts: &Parts) -> String {
    let path = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string());
    format!("{} {path}", parts.method)
}

/// The peer's address as text (the key of its failure bucket; an IPv6 peer by its /64).
pub fn address_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(
            || "unknown".to_string(),
            |c| crate::door::network_of(c.0.ip()).to_string(),
        )
}

/// An authenticated caller (the extractor checks the credential and the rate limit).
#[derive(Clone)]
pub struct Caller {
    pub who: Principal,
    pub route: String,
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Caller, Problem> {
        let route = route_of(parts);
        let auth = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("\u{fffd}"));
        let who = match state.auth.verify(auth) {
            Ok(who) => who,
            Err(reason) => {
                state.failed(&address_of(parts), &route)?;
                state.refused(None, &route, StatusCode::UNAUTHORIZED, &reason);
                return Err(Problem::unauthorized(reason));
            }
        };
        if let Err(wait) = state.limit.take(&who.subject) {
            state
                .metrics
                .rate_limited
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err(Problem::too_many(wait).with(
                "reason",
                serde_json::json!(format!("{} is over its request rate", who.subject)),
            ));
        }
        Ok(Caller { who, route })
    }
}

impl Caller {
    /// Refuses with 403, logging subject, route and reason.
    pub fn forbid(&self, state: &State, reason: String) -> Problem {
        state.refused(
            Some(&self.who.subject),
            &self.route,
            StatusCode::FORBIDDEN,
            &reason,
        );
        Problem::forbidden(reason)
    }

    /// Requires one of `roles`.
    pub fn require(&self, state: &State, roles: &[&str], what: &str) -> Result<(), Problem> {
        if roles.iter().any(|r| self.who.has(r)) {
            Ok(())
        } else {
            Err(self.forbid(
                state,
                format!("{what} needs the role {}", roles.join(" or ")),
            ))
        }
    }

    /// Logs an engine refusal of this caller's request when it is a 403; the detail names
    /// what `names` (the dossier's procedure) labels.
    pub fn engine_error(
        &self,
        state: &State,
        e: motcua::Error,
        names: &dyn motcua::messages::errors::Names,
    ) -> Problem {
        let p = Problem::of(e, names);
        if p.status == StatusCode::FORBIDDEN {
            state.refused(Some(&self.who.subject), &self.route, p.status, &p.detail);
        }
        p
    }
}

/// Runs engine work (synchronous, possibly waiting on fsync) on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Problem::internal(format!("the request's worker failed: {e}")))
}

/// A JSON response with a status.
pub fn json(status: StatusCode, value: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut res = (status, body).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            res
        }
        Err(e) => Problem::internal(format!("writing the answer: {e}")).into_response(),
    }
}
