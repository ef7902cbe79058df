//! Reading the durable outbox for one consumer (a webhook subscriber, a notice channel): a
//! cursor kept in the store (a mark), leased to one node at a time, events handed over one at
//! a time in outbox order (commit order), each retried with back-off and dead-lettered after
//! the last try. At least once: an event whose delivery succeeded but whose cursor was not
//! yet saved goes out again after a restart, with the same outbox sequence number for the
//! receiver to drop the repeat by. Consumers never hold up a commit: they read what is
//! already durable.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use motcua::dossier::transition::Event;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::metrics::{Metrics, Tally};

/// Where a consumer without a kept cursor begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The outbox's first event.
    Beginning,
    /// The outbox's head when it first runs: only what is committed from then on.
    Head,
}

/// How one event's handling ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Done {
    Delivered,
    /// Given up after the last try and kept in the dead-letter list.
    DeadLetter,
    /// Nothing to send for this consumer; the cursor passes it.
    Skipped,
    /// Neither: stopping, or the dead letter could not be kept. The cursor stays before it.
    Stopped,
}

/// What a consumer does with each event.
pub trait Handler: Send + Sync + 'static {
    fn handle<'a>(
        &'a self,
        seq: u64,
        event: Event,
        stop: &'a mut watch::Receiver<bool>,
    ) -> Pin<Box<dyn Future<Output = Done> + Send + 'a>>;
}

/// Tries and waits, as the webhooks and notices files give them.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Tries per event before it goes to the dead-letter list.
    #[serde(default = "default_tries")]
    pub max_tries: u32,
    /// The first retry's wait; each next one doubles, up to `max_backoff_ms`.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    #[serde(default = "default_max_backoff")]
    pub max_backoff_ms: u64,
    /// How long one try may take.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            max_tries: default_tries(),
            backoff_ms: default_backoff(),
            max_backoff_ms: default_max_backoff(),
            timeout_ms: default_timeout(),
        }
    }
}

pub(crate) fn default_tries() -> u32 {
    8
}
pub(crate) fn default_backoff() -> u64 {
    500
}
pub(crate) fn default_max_backoff() -> u64 {
    60_000
}
pub(crate) fn default_timeout() -> u64 {
    10_000
}

/// Why a try failed: worth another try (a timeout, a 5xx, a refused connection), or not
/// (the receiver refused this one for good: an SMTP 5xx, an HTTP 4xx other than 408 and 429),
/// which goes to the dead letters at once so one bad address does not hold the channel.
#[derive(Debug)]
pub enum Failure {
    Again(String),
    Permanent(String),
}

impl Failure {
    pub fn message(self) -> String {
        match self {
            Failure::Again(m) | Failure::Permanent(m) => m,
        }
    }
}

/// How a delivery with retries ended.
pub enum Tried {
    Delivered,
    /// Every try failed; the last error.
    Failed(String),
    Stopped,
}

/// Runs `attempt` until it succeeds, each try within the timeout, waiting with doubling
/// back-off between tries, at most `retry.max_tries` times; gives up at once when stopping.
pub async fn with_retries<F, Fut>(
    retry: &Retry,
    tally: &Tally,
    stop: &mut watch::Receiver<bool>,
    mut attempt: F,
) -> Tried
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
{
    let mut last_error = String::new();
    for n in 1..=retry.max_tries.max(1) {
        let outcome = tokio::select! {
            r = tokio::time::timeout(Duration::from_millis(retry.timeout_ms), attempt()) => {
                r.unwrap_or_else(|_| Err(Failure::Again(
                    format!("no whole answer in {} ms", retry.timeout_ms),
                )))
            }
            _ = stop.changed() => return Tried::Stopped,
        };
        match outcome {
            Ok(()) => {
                tally.delivered.fetch_add(1, Ordering::Relaxed);
                return Tried::Delivered;
            }
            Err(Failure::Permanent(e)) => {
                tally.failed_attempts.fetch_add(1, Ordering::Relaxed);
                return Tried::Failed(e);
            }
            Err(Failure::Again(e)) => {
                tally.failed_attempts.fetch_add(1, Ordering::Relaxed);
                last_error = e;
            }
        }
        if n < retry.max_tries {
            let wait = retry
                .backoff_ms
                .saturating_mul(1u64 << (n - 1).min(20))
                .min(retry.max_backoff_ms);
            sleep_or_stop(Duration::from_millis(wait), stop).await;
            if *stop.borrow() {
                return Tried::Stopped;
            }
        }
    }
    Tried::Failed(last_error)
}

/// A dead letter as kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: u64,
    pub tries: u32,
    pub last_error: String,
    pub at: String,
    /// What was sent: the webhook's JSON body, or the notice as JSON.
    pub body: String,
}

/// Keeps a dead letter under `prefix` (ordered by sequence number); whether it was kept.
pub async fn keep_dead(
    engine: &Arc<motcua::Engine>,
    tally: &Tally,
    prefix: String,
    letter: DeadLetter,
) -> Done {
    tally.dead_letters.fetch_add(1, Ordering::Relaxed);
    let name = format!("{prefix}{:020}", letter.id);
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

/// The dead letters under `prefix`, oldest first, at most `limit`.
pub fn dead_letters(
    engine: &motcua::Engine,
    prefix: &str,
    limit: usize,
) -> Result<Vec<DeadLetter>, motcua::Error> {
    let mut out = vec![];
    engine
        .marks()
        .marks(prefix, &mut |_, v| {
            if let Ok(letter) = serde_json::from_slice(v) {
                out.push(letter);
            }
            out.len() < limit
        })
        .map_err(motcua::Error::from)?;
    Ok(out)
}

/// A consumer's cursor as kept (0 before its first event).
pub fn cursor(engine: &motcua::Engine, mark: &str) -> Result<u64, motcua::Error> {
    Ok(parse_cursor(engine.marks().mark(mark)?))
}

fn parse_cursor(value: Option<Vec<u8>>) -> u64 {
    value
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0)
}

/// Feeds the outbox after the cursor kept in `mark` to `handler` until `stop` turns true.
/// `family` and `label` name the consumer's backlog gauge (`webhook`, the subscriber).
/// A consumer that has never kept a cursor starts at the outbox's head when `start` says
/// [`Start::Head`] (notices: turning a channel on must not send years of old news), else at
/// its first event (webhooks: a subscriber gets the history).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    engine: Arc<motcua::Engine>,
    mark: String,
    start: Start,
    family: &'static str,
    label: String,
    metrics: Arc<Metrics>,
    bell: Arc<tokio::sync::Notify>,
    mut stop: watch::Receiver<bool>,
    handler: Arc<dyn Handler>,
) {
    // The cursor is leased: on a store several nodes share, one node at a time feeds a
    // consumer, in order; the others wait for the lease.
    'lease: while !*stop.borrow() {
        let leased = {
            let (engine, mark) = (engine.clone(), mark.clone());
            tokio::task::spawn_blocking(move || engine.lease_mark(&mark)).await
        };
        let (mut lease, mut cursor) = match leased {
            Ok(Ok(Some((lease, None)))) if start == Start::Head => {
                let engine2 = engine.clone();
                let Ok(Ok(head)) =
                    tokio::task::spawn_blocking(move || engine2.store().outbox_head()).await
                else {
                    sleep_or_stop(Duration::from_secs(1), &mut stop).await;
                    continue;
                };
                // Kept at once, so a restart does not look for the head again.
                match save_cursor(&engine, lease, head).await {
                    (Some(lease), Saved::Kept) => (lease, head),
                    _ => continue,
                }
            }
            Ok(Ok(Some((lease, value)))) => (lease, parse_cursor(value)),
            // Another node feeds this consumer now, or the store is unreachable: the backlog
            // shown is the one after the cursor that node keeps.
            _ => {
                let (engine2, mark2) = (engine.clone(), mark.clone());
                if let Ok((Ok(head), Ok(at))) = tokio::task::spawn_blocking(move || {
                    (engine2.store().outbox_head(), cursor(&engine2, &mark2))
                })
                .await
                {
                    metrics.set_backlog(family, &label, head.saturating_sub(at));
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
            metrics.set_backlog(family, &label, head.saturating_sub(cursor));
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
                match handler.handle(seq, event, &mut stop).await {
                    Done::Stopped => {
                        // The event goes out again after the restart (or after the pause).
                        if !*stop.borrow() {
                            sleep_or_stop(Duration::from_secs(1), &mut stop).await;
                        }
                        break;
                    }
                    Done::Skipped => cursor = seq,
                    Done::Delivered | Done::DeadLetter => {
                        cursor = seq;
                        // Saved after every event sent, so a kill repeats at most the one in
                        // flight.
                        match save_cursor(&engine, lease, cursor).await {
                            (Some(l), Saved::Kept) => {
                                lease = l;
                                saved = cursor;
                            }
                            // Lost, or a failed save (which may have lost the row's lock with
                            // its connection): lease again and go on from the cursor as
                            // stored, so no two nodes deliver at once.
                            _ => continue 'lease,
                        }
                    }
                }
                metrics.set_backlog(family, &label, head.saturating_sub(cursor));
            }
            // Events this consumer passes are saved with one write per page.
            if cursor != saved {
                match save_cursor(&engine, lease, cursor).await {
                    (Some(l), Saved::Kept) => lease = l,
                    _ => continue 'lease,
                }
            }
        }
    }
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

pub async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.changed() => {}
    }
}
