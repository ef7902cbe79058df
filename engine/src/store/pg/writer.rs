//! The node's group-commit writer: one thread and one connection. It drains every transition
//! waiting (up to [`MAX_BATCH`]) and commits them in ONE PostgreSQL transaction:
//!
//! 1. `SELECT … FOR UPDATE` of the counters row, which holds the audit chain's head. Every
//!    node's writer takes this row lock first, so committing transactions are serialised
//!    across nodes and each extends the chain from the head the previous one left: the
//!    chain cannot fork, codes are numbered from the latest counter rows, and a version check
//!    reads the dossier as last committed by any node.
//! 2. One round trip reads the stored records and idempotency keys the batch checks.
//! 3. The commit rules (`batch::apply_batch`, the same code as sled's and memory's) build
//!    the batch's writes; two statements send them.
//! 4. `pg_notify` tells the other nodes' schedulers of the earliest timer the batch set.
//! 5. COMMIT, with `synchronous_commit` on: callers are answered only after it returns.
//!
//! A failure before COMMIT rolls the transaction back: [`Error::NotWritten`]. A failure of
//! COMMIT itself (the connection lost while committing) leaves the outcome unknown:
//! [`Error::OutcomeUnknown`]. Either way the connection is dropped and the next batch opens
//! a new one, because a database server comes back, unlike a disk that lost pages.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use jiff::Timestamp;

use super::conn::Conn;
use super::kv::{TxKv, send_writes};
use crate::dossier::transition::timers_of;
use crate::store::batch::{
    Answer, BatchError, BatchOutcome, COUNTERS, DOSSIERS, IDEM, META, Pending, Recent, apply_batch,
};
use crate::store::{Committed, Error};

/// The most transitions one database transaction commits.
pub const MAX_BATCH: usize = 512;

/// The channel other nodes' schedulers listen on for earlier timers (payload: the instant
/// in Unix milliseconds).
pub(crate) const TIMER_CHANNEL: &str = "motcua_timers";

/// The key of the counters row is `m` `counters` ([`META`], [`COUNTERS`]).
const BEGIN_AND_LOCK: &str =
    "BEGIN; SELECT 1 FROM motcua_kv WHERE k = '\\x6d636f756e74657273'::bytea FOR UPDATE";

pub(crate) struct Job {
    pub(crate) pending: Pending,
    pub(crate) answer: mpsc::SyncSender<Result<Committed, Error>>,
}

/// What the writer did, for benchmarks and metrics.
#[derive(Debug, Default)]
pub struct Stats {
    /// Database transactions committed.
    pub batches: AtomicU64,
    /// Transitions answered from those (applied, replayed or refused).
    pub transitions: AtomicU64,
    /// Statements sent (each a round trip to the server), BEGIN and COMMIT included.
    pub round_trips: AtomicU64,
}

pub(crate) struct Writer {
    pub(crate) stats: Arc<Stats>,
    pub(crate) config: postgres::Config,
    pub(crate) conn: Option<Conn>,
    /// `state_departments` keys known to be stored (they are never removed).
    pub(crate) known: HashSet<Vec<u8>>,
    pub(crate) report_counters: bool,
}

fn space_key(space: u8, k: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(k.len() + 1);
    v.push(space);
    v.extend_from_slice(k);
    v
}

pub(crate) fn run(mut w: Writer, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let answers = w.commit(&batch);
        for (job, answer) in batch.into_iter().zip(answers) {
            // A caller that gave up waiting is no reason to stop.
            let _ = job.answer.send(answer);
        }
    }
}

enum Failed {
    NotWritten(String),
    Unknown(String),
}

impl Writer {
    fn connection(&mut self) -> Result<&mut Conn, Error> {
        if self.conn.as_ref().is_none_or(|c| c.client.is_closed()) {
            let c = Conn::connect(&self.config).map_err(|e| Error::NotWritten(e.to_string()))?;
            self.conn = Some(c);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| Error::NotWritten("no connection".into()))
    }

    /// Commits one batch; one answer per job, in order.
    fn commit(&mut self, batch: &[Job]) -> Vec<Result<Committed, Error>> {
        let pendings: Vec<&Pending> = batch.iter().map(|j| &j.pending).collect();
        match self.try_commit(&pendings) {
            Ok(outcome) => {
                self.known.extend(outcome.novel);
                outcome
                    .outcomes
                    .into_iter()
                    .zip(&pendings)
                    .map(|(answer, p)| answered(answer, p))
                    .collect()
            }
            Err(failed) => {
                self.conn = None;
                let e = |m: &str| match &failed {
                    Failed::NotWritten(_) => Error::NotWritten(m.to_string()),
                    Failed::Unknown(_) => Error::OutcomeUnknown(m.to_string()),
                };
                let msg = match &failed {
                    Failed::NotWritten(m) | Failed::Unknown(m) => m.clone(),
                };
                tracing::warn!("PostgreSQL commit failed: {msg}");
                pendings.iter().map(|_| Err(e(&msg))).collect()
            }
        }
    }

    fn try_commit(&mut self, pendings: &[&Pending]) -> Result<BatchOutcome, Failed> {
        let report_counters = self.report_counters;
        let known = self.known.clone();
        let conn = self
            .connection()
            .map_err(|e| Failed::NotWritten(e.to_string()))?;
        let pg = |e: postgres::Error| Failed::NotWritten(format!("PostgreSQL: {e}"));
        let st = &conn.st;
        // BEGIN and the head's lock in one round trip (the simple protocol takes both).
        conn.client.batch_execute(BEGIN_AND_LOCK).map_err(pg)?;
        let tx = &mut conn.client;
        let mut trips: u64 = 1;
        let counters_key = space_key(META, COUNTERS);
        // What the checks read, fetched together: the records of dossiers that move and the
        // idempotency keys of submissions.
        let mut ahead: Vec<Vec<u8>> = vec![counters_key];
        for p in pendings {
            if let Some((key, _)) = &p.transition.idempotency {
                ahead.push(space_key(IDEM, key.as_bytes()));
            }
            for c in &p.transition.changes {
                if c.expected_version.is_some() {
                    ahead.push(space_key(DOSSIERS, c.dossier.code.as_bytes()));
                }
            }
        }
        ahead.sort();
        ahead.dedup();
        let (outcome, writes) = {
            let mut kv = TxKv::new(tx, st);
            kv.prefetch(ahead)
                .map_err(|e| Failed::NotWritten(e.to_string()))?;
            // Another node may have written any dossier since: nothing remembered from earlier
            // batches is trusted, only what this transaction reads.
            let recent = Recent::new();
            let outcome = match apply_batch(&kv, pendings, &recent, &known, report_counters) {
                Ok(o) => o,
                Err(BatchError::Building(e) | BatchError::Applying(e)) => {
                    return Err(Failed::NotWritten(e.to_string()));
                }
            };
            trips += kv.reads();
            (outcome, kv.take_writes().unwrap_or_default())
        };
        trips += send_writes(tx, st, writes).map_err(pg)?;
        // NOTIFY rides with COMMIT: other nodes hear of it only once it is committed.
        let commit = match earliest_timer(&outcome, pendings) {
            Some(at) => format!(
                "SELECT pg_notify('{TIMER_CHANNEL}', '{}'); COMMIT",
                at.as_millisecond()
            ),
            None => "COMMIT".to_string(),
        };
        tx.batch_execute(&commit)
            .map_err(|e| Failed::Unknown(format!("PostgreSQL COMMIT: {e}")))?;
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        self.stats
            .transitions
            .fetch_add(pendings.len() as u64, Ordering::Relaxed);
        self.stats
            .round_trips
            .fetch_add(trips + 1, Ordering::Relaxed);
        Ok(outcome)
    }
}

/// The earliest timer any applied transition of the batch left.
fn earliest_timer(outcome: &BatchOutcome, pendings: &[&Pending]) -> Option<Timestamp> {
    let mut earliest: Option<Timestamp> = None;
    let mut see = |d: &crate::dossier::Dossier| {
        for t in timers_of(d) {
            earliest = Some(earliest.map_or(t.at, |e| e.min(t.at)));
        }
    };
    for (answer, p) in outcome.outcomes.iter().zip(pendings) {
        match answer {
            Answer::AsSent => p.transition.changes.iter().for_each(|c| see(&c.dossier)),
            Answer::Assigned(ds) => ds.iter().for_each(&mut see),
            Answer::Replayed(_) | Answer::Refused(_) => {}
        }
    }
    earliest
}

fn answered(answer: Answer, p: &Pending) -> Result<Committed, Error> {
    match answer {
        Answer::AsSent => Ok(Committed::Applied(
            p.transition
                .changes
                .iter()
                .map(|c| c.dossier.clone())
                .collect(),
        )),
        Answer::Assigned(ds) => Ok(Committed::Applied(ds)),
        Answer::Replayed(d) => Ok(Committed::Replayed(d)),
        Answer::Refused(e) => Err(e),
    }
}
