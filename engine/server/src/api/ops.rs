//! Liveness, readiness, metrics and the API description.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Shared, blocking};
use crate::metrics::Gauges;

/// Where to start: the API description and the catalogue.
pub async fn index() -> Response {
    super::json(
        StatusCode::OK,
        &json!({
            "name": "motcua",
            "version": env!("CARGO_PKG_VERSION"),
            "openapi": "/openapi.json",
            "procedures": "/v1/procedures",
            "citizen_status": "/v1/status/{code}?secret=…",
            "health": "/healthz",
            "ready": "/readyz",
            "metrics": "/metrics",
        }),
    )
}

/// The process is alive and answering.
pub async fn healthz() -> Response {
    super::json(StatusCode::OK, &json!({"status": "alive"}))
}

/// The store answers, procedures are loaded and the scheduler runs.
pub async fn readyz(State(s): State<Shared>) -> Response {
    let state = s.clone();
    let store = blocking(move || state.engine.store().dossier_count().map(|_| ()))
        .await
        .ok()
        .and_then(|r| r.err().map(|e| e.to_string()));
    let procedures = s.engine.procedures().len();
    let scheduler = s.scheduler_running();
    let ready = store.is_none() && procedures > 0 && scheduler;
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "store": store.unwrap_or_else(|| "open".into()),
        "procedures": procedures,
        "scheduler": if scheduler { "running" } else { "stopped" },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    super::json(status, &body)
}

pub async fn metrics(State(s): State<Shared>) -> Response {
    let state = s.clone();
    let gauges = blocking(move || {
        let mut g = Gauges::default();
        let engine = &state.engine;
        g.dossiers = engine.store().dossier_count().unwrap_or(0);
        (g.plugin_calls, g.plugin_failures) = engine.plugin_calls();
        // Every day the counters can hold: open dossiers are counted on their receipt day.
        let all = motcua::report::Query {
            from: jiff::civil::date(1900, 1, 1),
            to: jiff::civil::date(2100, 12, 31),
            by: motcua::report::By::Agency,
        };
        if let Ok(r) = motcua::report::on_time(engine.store(), &all) {
            g.open = r.total.open_not_due + r.total.open_overdue + r.total.paused;
            g.overdue = r.total.open_overdue;
        }
        g
    })
    .await
    .unwrap_or_default();
    let mut res = s.metrics.render(&gauges).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

pub async fn openapi() -> Response {
    let mut res = crate::openapi::json().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockBody {
    /// The new instant (RFC 3339); it may not go back.
    pub now: String,
}

/// Moves a manual clock (a server started with `--now`) and wakes the scheduler: for tests
/// and rehearsals. Admin only; refused on the system clock.
pub async fn set_clock(
    State(s): State<Shared>,
    caller: super::Caller,
    crate::body::Json(body): crate::body::Json<ClockBody>,
) -> Result<Response, crate::Problem> {
    caller.require(&s, &[crate::auth::ADMIN], "moving the clock")?;
    let Some(clock) = &s.manual_clock else {
        return Err(crate::Problem::said(
            StatusCode::NOT_FOUND,
            "not_found",
            "this server runs on the system clock",
        ));
    };
    let t: jiff::Timestamp = body.now.parse().map_err(|e| {
        crate::Problem::bad_request("invalid_request", format!("now '{}': {e}", body.now))
    })?;
    if t < motcua::clock::TimeSource::now(clock.as_ref()) {
        return Err(crate::Problem::bad_request(
            "invalid_request",
            "the clock does not go back",
        ));
    }
    clock.set(t);
    if let Some(sched) = s
        .scheduler
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
    {
        sched.wake();
    }
    Ok(super::json(StatusCode::OK, &json!({"now": t.to_string()})))
}

/// One subscription's delivery state.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Subscriber {
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    /// The last outbox event passed (delivered, dead-lettered or not subscribed).
    pub cursor: u64,
    /// Outbox events after the cursor.
    pub backlog: u64,
    /// Events given up after the last try, oldest first (at most 1,000).
    #[schema(value_type = Vec<Object>)]
    pub dead_letters: Vec<crate::webhook::DeadLetter>,
}

#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", operation_id = "list_webhooks",
    responses((status = 200, description = "Each subscription's cursor, backlog and dead letters", body = [Subscriber]),
        (status = 403, description = "Neither an admin nor an auditor")),
    security(("bearer" = [])))]
pub async fn webhooks(
    State(s): State<Shared>,
    caller: super::Caller,
) -> Result<Response, crate::Problem> {
    caller.require(
        &s,
        &[crate::auth::ADMIN, crate::auth::AUDITOR],
        "reading webhook deliveries",
    )?;
    let state = s.clone();
    let list = blocking(move || {
        let Some(file) = &state.webhooks else {
            return Ok(vec![]);
        };
        let head = state
            .engine
            .store()
            .outbox_head()
            .map_err(motcua::Error::from)?;
        let mut out = vec![];
        for sub in &file.subscriptions {
            let cursor = crate::webhook::cursor(&state.engine, &sub.name)?;
            let mut dead = vec![];
            state
                .engine
                .marks()
                .marks(&crate::webhook::dead_prefix(&sub.name), &mut |_, v| {
                    if let Ok(letter) = serde_json::from_slice(v) {
                        dead.push(letter);
                    }
                    dead.len() < 1000
                })
                .map_err(motcua::Error::from)?;
            out.push(Subscriber {
                name: sub.name.clone(),
                url: sub.url.clone(),
                events: sub.events.clone(),
                cursor,
                backlog: head.saturating_sub(cursor),
                dead_letters: dead,
            });
        }
        Ok::<_, motcua::Error>(out)
    })
    .await?
    .map_err(crate::Problem::from)?;
    Ok(super::json(StatusCode::OK, &list))
}

/// Writes into the response body as the backup is made, a piece at a time.
struct Sending(tokio::sync::mpsc::Sender<std::io::Result<axum::body::Bytes>>);

impl std::io::Write for Sending {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(axum::body::Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::other("the client went away"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[utoipa::path(get, path = "/v1/backup", tag = "operations", operation_id = "backup",
    responses((status = 200, description = "A backup of the store as it was at one instant, taken while the server keeps working (docs/operations.md); `motcua restore --check` verifies it", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, description = "Not an admin")),
    security(("bearer" = [])))]
pub async fn backup(
    State(s): State<Shared>,
    caller: super::Caller,
) -> Result<Response, crate::Problem> {
    caller.require(&s, &[crate::auth::ADMIN], "taking a backup")?;
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let state = s.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::with_capacity(256 << 10, Sending(tx.clone()));
        let done = state
            .engine
            .backup(&mut out)
            .map_err(|e| e.to_string())
            .and_then(|summary| {
                std::io::Write::flush(&mut out)
                    .map(|_| summary)
                    .map_err(|e| e.to_string())
            });
        match done {
            Ok(summary) => tracing::info!(
                audit = summary.manifest.audit_count,
                files = summary.files,
                "backup written"
            ),
            // The body breaks off without its trailer: the client's check refuses it.
            Err(e) => {
                tracing::error!(error = %e, "backup failed");
                let _ = tx.blocking_send(Err(std::io::Error::other(e)));
            }
        }
    });
    let mut res = Response::new(axum::body::Body::new(super::papers::Pieces(rx)));
    let h = res.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/octet-stream"),
    );
    let name = format!(
        "attachment; filename=\"motcua-{}.backup\"",
        jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ")
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&name) {
        h.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
