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
use crate::batch::{
    Answer, BatchError, BatchOutcome, COUNTERS, DOSSIERS, IDEM, META, PLUGINS, PROCS, Pending,
    RECENT_MAX, Recent, SEQ, apply_batch,
};
use crate::{Committed, Error};
use motcua_core::transition::timers_of;

/// The most transitions one database transaction commits.
pub const MAX_BATCH: usize = 512;

/// The channel other nodes' schedulers listen on for earlier timers (payload: the instant
/// in Unix milliseconds).
pub(crate) const TIMER_CHANNEL: &str = "motcua_timers";

/// The key of the counters row is `m` `counters` ([`META`], [`COUNTERS`]).
const BEGIN_AND_LOCK: &str = "BEGIN ISOLATION LEVEL READ COMMITTED; \
     SELECT encode(v, 'hex') FROM motcua_kv WHERE k = '\\x6d636f756e74657273'::bytea FOR UPDATE";

/// Whatever the role's or database's defaults: an answer only after the WAL is flushed.
const SESSION: &str = "SET synchronous_commit = on";

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
    /// Time spent, in nanoseconds: waiting for the head's lock (BEGIN), reading what the
    /// group checks, the commit rules, sending the writes, and COMMIT.
    pub lock_nanos: AtomicU64,
    pub read_nanos: AtomicU64,
    pub rules_nanos: AtomicU64,
    pub write_nanos: AtomicU64,
    pub commit_nanos: AtomicU64,
}

fn since(t: &mut std::time::Instant) -> u64 {
    let now = std::time::Instant::now();
    let d = now.duration_since(*t).as_nanos() as u64;
    *t = now;
    d
}

pub(crate) struct Writer {
    pub(crate) stats: Arc<Stats>,
    pub(crate) config: postgres::Config,
    pub(crate) conn: Option<Conn>,
    /// `state_departments` keys known to be stored (they are never removed).
    pub(crate) known: HashSet<Vec<u8>>,
    pub(crate) report_counters: bool,
    /// What this writer last wrote per dossier, and the counters row its last commit left.
    /// The row changes with every commit of any node, so finding it unchanged under the
    /// head's lock proves nobody else wrote since: then `recent` is exact and spares reading
    /// those records. Otherwise it is forgotten.
    pub(crate) recent: Recent,
    pub(crate) last_counters: Option<Vec<u8>>,
}

fn space_key(space: u8, k: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(k.len() + 1);
    v.push(space);
    v.extend_from_slice(k);
    v
}

/// How long the writer waits for the next transition before it commits what it has, and the
/// most it waits in all. Callers answered by the previous commit come back within a moment
/// with their next transition; without the wait they would form a second, half-size group
/// behind the first, and every group costs a WAL flush under the head's lock.
const LINGER: std::time::Duration = std::time::Duration::from_micros(400);
const MAX_LINGER: std::time::Duration = std::time::Duration::from_millis(3);

pub(crate) fn run(mut w: Writer, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let started = std::time::Instant::now();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(mpsc::TryRecvError::Disconnected) => break,
                Err(mpsc::TryRecvError::Empty) => {
                    let left = MAX_LINGER.saturating_sub(started.elapsed());
                    if left.is_zero() {
                        break;
                    }
                    match jobs.recv_timeout(LINGER.min(left)) {
                        Ok(j) => batch.push(j),
                        Err(_) => break,
                    }
                }
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
                self.recent.clear();
                self.last_counters = None;
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
        let mut conn = match self.conn.take() {
            Some(c) if !c.client.is_closed() => c,
            _ => {
                let mut c =
                    Conn::connect(&self.config).map_err(|e| Failed::NotWritten(e.to_string()))?;
                c.client
                    .batch_execute(SESSION)
                    .map_err(|e| Failed::NotWritten(format!("PostgreSQL: {e}")))?;
                c
            }
        };
        let done = self.commit_on(&mut conn, pendings);
        if done.is_ok() {
            self.conn = Some(conn);
        }
        done
    }

    fn commit_on(
        &mut self,
        conn: &mut Conn,
        pendings: &[&Pending],
    ) -> Result<BatchOutcome, Failed> {
        let report_counters = self.report_counters;
        let known = std::mem::take(&mut self.known);
        let done = self.commit_with(conn, pendings, &known, report_counters);
        self.known = known;
        let mut outcome = done?;
        self.last_counters = Some(outcome.counters.encode());
        let written = std::mem::take(&mut outcome.written);
        if self.recent.len() + written.len() > RECENT_MAX {
            self.recent.clear();
        }
        self.recent.extend(written);
        Ok(outcome)
    }

    fn commit_with(
        &mut self,
        conn: &mut Conn,
        pendings: &[&Pending],
        known: &HashSet<Vec<u8>>,
        report_counters: bool,
    ) -> Result<BatchOutcome, Failed> {
        let pg = |e: postgres::Error| Failed::NotWritten(format!("PostgreSQL: {e}"));
        let st = &conn.st;
        let mut clock = std::time::Instant::now();
        let mut spent = [0u64; 5];
        // BEGIN and the head's lock in one round trip (the simple protocol takes both), with
        // the counters row as it is now.
        let head = conn.client.simple_query(BEGIN_AND_LOCK).map_err(pg)?;
        let now_counters = head.iter().find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).and_then(|h| hex::decode(h).ok()),
            _ => None,
        });
        // Without the row nothing was locked, and two nodes could fork the chain.
        if now_counters.is_none() {
            return Err(Failed::NotWritten(
                "the counters row is missing from motcua_kv: the schema is not migrated \
                 (`motcua migrate --store …`)"
                    .into(),
            ));
        }
        if now_counters != self.last_counters {
            self.recent.clear();
        }
        let tx = &mut conn.client;
        spent[0] = since(&mut clock);
        let mut trips: u64 = 1;
        let counters_key = space_key(META, COUNTERS);
        // What the checks read, fetched together: the records of dossiers that move, the
        // idempotency keys and code counters of submissions, the pinned versions.
        let mut ahead: Vec<Vec<u8>> = vec![counters_key];
        for p in pendings {
            if let Some((key, _)) = &p.transition.idempotency {
                ahead.push(space_key(IDEM, key.as_bytes()));
            }
            for c in &p.transition.changes {
                if c.expected_version.is_some() && !self.recent.contains_key(&c.dossier.code) {
                    ahead.push(space_key(DOSSIERS, c.dossier.code.as_bytes()));
                }
                // The day's counter of a new dossier's code.
                if let (None, Some(prefix)) = (c.expected_version, &c.code_prefix) {
                    ahead.push(space_key(SEQ, prefix.as_bytes()));
                }
            }
            // Whether the versions a submission pins are stored already.
            for (hash, _) in &p.transition.procedures {
                ahead.push(space_key(PROCS, hash.as_bytes()));
            }
            for (sha, _) in &p.transition.plugins {
                ahead.push(space_key(PLUGINS, sha.as_bytes()));
            }
        }
        ahead.sort();
        ahead.dedup();
        let (outcome, writes) = {
            let mut kv = TxKv::new(tx, st);
            kv.prefetch(ahead)
                .map_err(|e| Failed::NotWritten(e.to_string()))?;
            spent[1] = since(&mut clock);
            let outcome = match apply_batch(&kv, pendings, &self.recent, known, report_counters) {
                Ok(o) => o,
                Err(BatchError::Building(e) | BatchError::Applying(e)) => {
                    return Err(Failed::NotWritten(e.to_string()));
                }
            };
            trips += kv.reads();
            spent[2] = since(&mut clock);
            (outcome, kv.take_writes().unwrap_or_default())
        };
        trips += send_writes(tx, st, writes).map_err(pg)?;
        spent[3] = since(&mut clock);
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
        spent[4] = since(&mut clock);
        for (counter, nanos) in [
            &self.stats.lock_nanos,
            &self.stats.read_nanos,
            &self.stats.rules_nanos,
            &self.stats.write_nanos,
            &self.stats.commit_nanos,
        ]
        .into_iter()
        .zip(spent)
        {
            counter.fetch_add(nanos, Ordering::Relaxed);
        }
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
    let mut see = |d: &motcua_core::dossier::Dossier| {
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
