//! Webhooks from the durable outbox. Each subscriber has a delivery cursor kept in the store
//! (a mark), so deliveries resume after a restart; events go out one at a time in outbox
//! order, which is commit order, so they arrive in order per dossier. A failed delivery is
//! retried with exponential backoff; after the last try the event goes to the subscriber's
//! dead-letter list (marks too) and delivery goes on. At least once: an event whose 2xx was
//! received but whose cursor was not yet saved is delivered again.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use motcua::dossier::transition::Event;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::metrics::Metrics;

/// The event types a subscription names.
pub const TYPES: [&str; 7] = [
    "submitted",
    "state_changed",
    "supplement_requested",
    "due_soon",
    "overdue",
    "escalated",
    "ended",
];

/// The webhook type of an outbox event: `dossier.moved` into national status 5 is
/// `supplement_requested`, any other move (and a linked group starting) `state_changed`.
pub fn type_of(e: &Event) -> &'static str {
    use motcua::transition::EventKind as K;
    match e.kind {
        K::Received => "submitted",
        K::Moved if e.status == 5 => "supplement_requested",
        K::Ended => "ended",
        K::Warning => "due_soon",
        K::Overdue => "overdue",
        K::Escalated => "escalated",
        K::Moved | K::Linked | K::Extended | K::Apologised => "state_changed",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    Config { path: String, message: String },
}

/// The `--webhooks` file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksFile {
    /// Tries per event before it goes to the dead-letter list.
    #[serde(default = "default_tries")]
    pub max_tries: u32,
    /// The first retry's wait; each next one doubles, up to `max_backoff_ms`.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    #[serde(default = "default_max_backoff")]
    pub max_backoff_ms: u64,
    /// How long one delivery may take.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    pub subscriptions: Vec<Subscription>,
}

fn default_tries() -> u32 {
    8
}
fn default_backoff() -> u64 {
    500
}
fn default_max_backoff() -> u64 {
    60_000
}
fn default_timeout() -> u64 {
    10_000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// Names the subscriber's cursor and dead letters; keep it stable.
    pub name: String,
    /// An `http://` URL (put a TLS-terminating proxy in front for https).
    pub url: String,
    /// Event types (see [`TYPES`]), or `["*"]` for all.
    pub events: Vec<String>,
    /// The HMAC-SHA256 key of `X-Motcua-Signature`.
    pub secret: String,
}

impl Subscription {
    fn wants(&self, kind: &str) -> bool {
        self.events.iter().any(|e| e == "*" || e == kind)
    }
}

/// Reads and checks a webhooks file.
pub fn read(path: &Path) -> Result<WebhooksFile, Error> {
    let err = |m: String| Error::Config {
        path: path.display().to_string(),
        message: m,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let file: WebhooksFile = serde_yaml::from_str(&text).map_err(|e| err(e.to_string()))?;
    let mut names = std::collections::HashSet::new();
    for s in &file.subscriptions {
        if s.name.is_empty()
            || s.name.len() > 64
            || !s
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(err(format!(
                "subscription name '{}': use 1-64 letters, digits, - or _",
                s.name
            )));
        }
        if !names.insert(s.name.clone()) {
            return Err(err(format!("subscription '{}' appears twice", s.name)));
        }
        if !s.url.starts_with("http://") || s.url.parse::<hyper::Uri>().is_err() {
            return Err(err(format!(
                "subscription '{}': url '{}' must be an http:// URL (terminate TLS in a proxy)",
                s.name, s.url
            )));
        }
        if s.secret.len() < 16 {
            return Err(err(format!(
                "subscription '{}': the secret must be at least 16 bytes",
                s.name
            )));
        }
        for e in &s.events {
            if e != "*" && !TYPES.contains(&e.as_str()) {
                return Err(err(format!(
                    "subscription '{}': unknown event type '{e}' (one of {} or *)",
                    s.name,
                    TYPES.join(", ")
                )));
            }
        }
    }
    if file.max_tries == 0 {
        return Err(err("max_tries must be at least 1".into()));
    }
    Ok(file)
}

/// The most of a subscriber's answer read (it is only looked at for its status).
const MAX_ANSWER: usize = 64 * 1024;

/// What a subscriber receives as the body.
#[derive(Serialize)]
pub struct Delivery<'a> {
    /// The outbox sequence number: unique and increasing; deduplicate on it.
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The engine's event kind (`dossier.moved`, `deadline.overdue`, ...).
    pub event: &'a str,
    pub dossier: &'a str,
    pub at: String,
    /// The national status code (1–10).
    pub status: u8,
    pub data: &'a serde_json::Value,
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(m.finalize().into_bytes())
    )
}

/// The subscriber's delivery cursor as kept (0 before its first event).
pub fn cursor(engine: &motcua::Engine, name: &str) -> Result<u64, motcua::Error> {
    Ok(engine
        .marks()
        .mark(&cursor_mark(name))?
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0))
}

fn cursor_mark(name: &str) -> String {
    format!("webhook/{name}/cursor")
}

/// The mark holding a dead letter.
pub fn dead_prefix(name: &str) -> String {
    format!("webhook/{name}/dead/")
}

/// A dead letter as kept.
#[derive(Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: u64,
    pub tries: u32,
    pub last_error: String,
    pub at: String,
    pub body: String,
}

/// Runs one subscriber's deliveries until `stop` turns true.
pub async fn run(
    engine: Arc<motcua::Engine>,
    file: Arc<WebhooksFile>,
    index: usize,
    metrics: Arc<Metrics>,
    bell: Arc<tokio::sync::Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let sub = &file.subscriptions[index];
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let name = sub.name.clone();
    let mark = cursor_mark(&name);
    // The subscriber's cursor is leased: on a store several nodes share, one node at a time
    // delivers to a subscriber, in order; the others wait for the lease.
    'lease: while !*stop.borrow() {
        let leased = {
            let (engine, mark) = (engine.clone(), mark.clone());
            tokio::task::spawn_blocking(move || engine.lease_mark(&mark)).await
        };
        let (mut lease, mut cursor) = match leased {
            Ok(Ok(Some((lease, value)))) => (lease, parse_cursor(value)),
            // Another node delivers to this subscriber now, or the store is unreachable:
            // the backlog shown is the one after the cursor that node keeps.
            _ => {
                let (engine2, name2) = (engine.clone(), name.clone());
                if let Ok((Ok(head), Ok(at))) = tokio::task::spawn_blocking(move || {
                    (engine2.store().outbox_head(), cursor(&engine2, &name2))
                })
                .await
                {
                    metrics.set_backlog(&name, head.saturating_sub(at));
                }
                sleep_or_stop(Duration::from_secs(1), &mut stop).await;
                continue;
            }
        };
        while !*stop.borrow() {
            let page = {
                let engine = engine.clone();
                tokio::task::spawn_blocking(move || {
                    let head = engine.store().outbox_head().unwrap_or(0);
                    (head, engine.store().outbox(cursor, 256))
                })
                .await
            };
            let (head, events) = match page {
                Ok((head, Ok(events))) => (head, events),
                _ => {
                    sleep_or_stop(Duration::from_secs(1), &mut stop).await;
                    continue;
                }
            };
            metrics.set_backlog(&name, head.saturating_sub(cursor));
            if events.is_empty() {
                // Idle: the lease is given back while waiting, so no transaction stays open
                // and another node may take over.
                drop(lease);
                tokio::select! {
                    _ = bell.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = stop.changed() => {}
                }
                continue 'lease;
            }
            let mut saved = cursor;
            for (seq, event) in events {
                if *stop.borrow() {
                    break;
                }
                let kind = type_of(&event);
                if sub.wants(kind) {
                    let done = deliver(
                        &client, &file, sub, seq, kind, &event, &metrics, &engine, &mut stop,
                    )
                    .await;
                    if done == Done::Stopped {
                        // The event goes out again after the restart (or after the pause).
                        if !*stop.borrow() {
                            sleep_or_stop(Duration::from_secs(1), &mut stop).await;
                        }
                        break;
                    }
                    cursor = seq;
                    // Saved after every event sent, so a kill repeats at most the one in
                    // flight.
                    let (back, kept) = save_cursor(&engine, lease, cursor).await;
                    match (back, kept) {
                        (Some(l), Saved::Kept) => {
                            lease = l;
                            saved = cursor;
                        }
                        // Lost, or a failed save (which may have lost the row's lock with its
                        // connection): lease again and go on from the cursor as stored, so no
                        // two nodes deliver at once.
                        _ => continue 'lease,
                    }
                } else {
                    cursor = seq;
                }
                metrics.set_backlog(&name, head.saturating_sub(cursor));
            }
            // Events this subscriber does not take are passed with one write per page.
            if cursor != saved {
                match save_cursor(&engine, lease, cursor).await {
                    (Some(l), Saved::Kept) => lease = l,
                    _ => continue 'lease,
                }
            }
        }
    }
}

fn parse_cursor(value: Option<Vec<u8>>) -> u64 {
    value
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0)
}

enum Saved {
    Kept,
    Failed,
    Lost,
}

/// Saves the cursor under the lease; the lease comes back unless it was lost.
async fn save_cursor(
    engine: &Arc<motcua::Engine>,
    mut lease: Box<dyn motcua::store::Lease>,
    seq: u64,
) -> (Option<Box<dyn motcua::store::Lease>>, Saved) {
    let engine = engine.clone();
    let done = tokio::task::spawn_blocking(move || {
        let r = lease.set(engine.marks(), seq.to_string().as_bytes());
        (lease, r)
    })
    .await;
    match done {
        Ok((lease, Ok(true))) => (Some(lease), Saved::Kept),
        Ok((_, Ok(false))) => (None, Saved::Lost),
        Ok((_, Err(_))) => (None, Saved::Failed),
        Err(_) => (None, Saved::Lost),
    }
}

async fn sleep_or_stop(d: Duration, stop: &mut tokio::sync::watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.changed() => {}
    }
}

#[allow(clippy::too_many_arguments)]
async fn deliver(
    client: &Client<HttpConnector, Full<Bytes>>,
    file: &WebhooksFile,
    sub: &Subscription,
    seq: u64,
    kind: &'static str,
    event: &Event,
    metrics: &Metrics,
    engine: &Arc<motcua::Engine>,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Done {
    let body = serde_json::to_vec(&Delivery {
        id: seq,
        kind,
        event: event.kind.as_str(),
        dossier: &event.dossier,
        at: event.at.to_string(),
        status: event.status,
        data: &event.payload,
    })
    .unwrap_or_default();
    let mut last_error = String::new();
    for attempt in 1..=file.max_tries {
        let now = jiff::Timestamp::now().as_second();
        let request = hyper::Request::post(sub.url.as_str())
            .header("content-type", "application/json")
            .header("x-motcua-event", kind)
            .header("x-motcua-delivery", seq.to_string())
            .header("x-motcua-signature", signature(&sub.secret, now, &body))
            .body(Full::new(Bytes::from(body.clone())));
        let outcome = match request {
            Err(e) => Err(e.to_string()),
            Ok(req) => {
                // One limit over the answer's head and body: a receiver that sends its
                // headers and then stalls must not hold the subscription.
                let attempt = async {
                    let res = client.request(req).await.map_err(|e| e.to_string())?;
                    let status = res.status();
                    // Read the answer so the connection can be reused, but only so much of
                    // it: past the bound the connection is dropped, the status still counts.
                    let read = http_body_util::Limited::new(res.into_body(), MAX_ANSWER)
                        .collect()
                        .await;
                    if let Err(e) = read
                        && !e.is::<http_body_util::LengthLimitError>()
                    {
                        return Err(format!("reading the answer: {e}"));
                    }
                    if status.is_success() {
                        Ok(())
                    } else {
                        Err(format!("answered {status}"))
                    }
                };
                tokio::select! {
                    r = tokio::time::timeout(Duration::from_millis(file.timeout_ms), attempt) => {
                        r.unwrap_or_else(|_| Err(format!("no whole answer in {} ms", file.timeout_ms)))
                    }
                    // Stopping: the cursor has not moved, so the event goes out after the
                    // restart.
                    _ = stop.changed() => return Done::Stopped,
                }
            }
        };
        match outcome {
            Ok(()) => {
                metrics.webhook_delivered.fetch_add(1, Ordering::Relaxed);
                return Done::Delivered;
            }
            Err(e) => {
                metrics
                    .webhook_failed_attempts
                    .fetch_add(1, Ordering::Relaxed);
                last_error = e;
            }
        }
        if attempt < file.max_tries {
            let wait = file
                .backoff_ms
                .saturating_mul(1u64 << (attempt - 1).min(20))
                .min(file.max_backoff_ms);
            sleep_or_stop(Duration::from_millis(wait), stop).await;
            if *stop.borrow() {
                return Done::Stopped;
            }
        }
    }
    metrics.webhook_dead_letters.fetch_add(1, Ordering::Relaxed);
    let letter = DeadLetter {
        id: seq,
        tries: file.max_tries,
        last_error,
        at: jiff::Timestamp::now().to_string(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let name = format!("{}{seq:020}", dead_prefix(&sub.name));
    let engine = engine.clone();
    let kept = tokio::task::spawn_blocking(move || {
        let bytes = serde_json::to_vec(&letter).unwrap_or_default();
        engine.marks().set_mark(&name, Some(&bytes))
    })
    .await;
    match kept {
        Ok(Ok(())) => Done::DeadLetter,
        // Not kept: the cursor must not pass an event that is neither delivered nor listed.
        _ => Done::Stopped,
    }
}

/// How one event's delivery ended.
#[derive(Debug, PartialEq, Eq)]
enum Done {
    Delivered,
    /// Given up after the last try and kept in the dead-letter list.
    DeadLetter,
    /// Neither: stopping, or the dead letter could not be kept. The cursor stays before it.
    Stopped,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        let a = signature("0123456789abcdef", 1_700_000_000, b"{}");
        assert!(a.starts_with("t=1700000000,v1="));
        assert_ne!(a, signature("0123456789abcdef", 1_700_000_001, b"{}"));
        assert_ne!(a, signature("0123456789abcdef", 1_700_000_000, b"{ }"));
        assert_ne!(a, signature("fedcba9876543210", 1_700_000_000, b"{}"));
    }
}
