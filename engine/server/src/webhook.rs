//! Webhooks from the durable outbox: each subscriber is a consumer of [`crate::feed`] (its
//! own cursor, leased, in order, retried, dead-lettered, at least once); each event it takes
//! is posted as JSON signed with the subscriber's secret.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use motcua::dossier::transition::Event;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::feed;
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
    #[serde(default = "feed::default_tries")]
    pub max_tries: u32,
    /// The first retry's wait; each next one doubles, up to `max_backoff_ms`.
    #[serde(default = "feed::default_backoff")]
    pub backoff_ms: u64,
    #[serde(default = "feed::default_max_backoff")]
    pub max_backoff_ms: u64,
    /// How long one delivery may take.
    #[serde(default = "feed::default_timeout")]
    pub timeout_ms: u64,
    pub subscriptions: Vec<Subscription>,
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
    feed::cursor(engine, &cursor_mark(name))
}

fn cursor_mark(name: &str) -> String {
    format!("webhook/{name}/cursor")
}

/// The mark holding a dead letter.
pub fn dead_prefix(name: &str) -> String {
    format!("webhook/{name}/dead/")
}

pub use crate::feed::DeadLetter;

impl WebhooksFile {
    fn retry(&self) -> feed::Retry {
        feed::Retry {
            max_tries: self.max_tries,
            backoff_ms: self.backoff_ms,
            max_backoff_ms: self.max_backoff_ms,
            timeout_ms: self.timeout_ms,
        }
    }
}

/// One subscriber's deliveries: each event it takes, signed and posted.
struct Subscriber {
    engine: Arc<motcua::Engine>,
    file: Arc<WebhooksFile>,
    index: usize,
    metrics: Arc<Metrics>,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// Runs one subscriber's deliveries until `stop` turns true.
pub async fn run(
    engine: Arc<motcua::Engine>,
    file: Arc<WebhooksFile>,
    index: usize,
    metrics: Arc<Metrics>,
    bell: Arc<tokio::sync::Notify>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let name = file.subscriptions[index].name.clone();
    let handler = Arc::new(Subscriber {
        engine: engine.clone(),
        file,
        index,
        metrics: metrics.clone(),
        client: Client::builder(TokioExecutor::new()).build_http(),
    });
    feed::run(
        engine,
        cursor_mark(&name),
        feed::Start::Beginning,
        "webhook",
        name,
        metrics,
        bell,
        stop,
        handler,
    )
    .await;
}

impl feed::Handler for Subscriber {
    fn handle<'a>(
        &'a self,
        seq: u64,
        event: Event,
        stop: &'a mut tokio::sync::watch::Receiver<bool>,
    ) -> Pin<Box<dyn Future<Output = feed::Done> + Send + 'a>> {
        Box::pin(async move {
            let sub = &self.file.subscriptions[self.index];
            let kind = type_of(&event);
            if !sub.wants(kind) {
                return feed::Done::Skipped;
            }
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
            let retry = self.file.retry();
            // A subscriber's refusal is retried whatever its status: its endpoint may be
            // mid-deploy, and its events wait in order behind it anyway.
            let tried = feed::with_retries(&retry, &self.metrics.webhooks, stop, || async {
                post(&self.client, sub, seq, kind, &body)
                    .await
                    .map_err(feed::Failure::Again)
            })
            .await;
            match tried {
                feed::Tried::Delivered => feed::Done::Delivered,
                feed::Tried::Stopped => feed::Done::Stopped,
                feed::Tried::Failed(last_error) => {
                    let letter = DeadLetter {
                        id: seq,
                        tries: retry.max_tries,
                        last_error,
                        at: jiff::Timestamp::now().to_string(),
                        body: String::from_utf8_lossy(&body).into_owned(),
                    };
                    feed::keep_dead(
                        &self.engine,
                        &self.metrics.webhooks,
                        dead_prefix(&sub.name),
                        letter,
                    )
                    .await
                }
            }
        })
    }
}

/// One try: the signed POST, its answer read up to a bound.
async fn post(
    client: &Client<HttpConnector, Full<Bytes>>,
    sub: &Subscription,
    seq: u64,
    kind: &'static str,
    body: &[u8],
) -> Result<(), String> {
    let now = jiff::Timestamp::now().as_second();
    let req = hyper::Request::post(sub.url.as_str())
        .header("content-type", "application/json")
        .header("x-motcua-event", kind)
        .header("x-motcua-delivery", seq.to_string())
        .header("x-motcua-signature", signature(&sub.secret, now, body))
        .body(Full::new(Bytes::from(body.to_vec())))
        .map_err(|e| e.to_string())?;
    answered(client.request(req).await.map_err(|e| e.to_string())?).await
}

/// A receiver's answer: success on 2xx. The body is read so the connection can be reused,
/// but only so much of it: past the bound the connection is dropped, the status still counts.
pub(crate) async fn answered(res: hyper::Response<hyper::body::Incoming>) -> Result<(), String> {
    let status = res.status();
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
