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
use std::sync::mpsc;

use jiff::Timestamp;
use postgres::Statement;

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

pub(crate) struct Job {
    pub(crate) pending: Pending,
    pub(crate) answer: mpsc::SyncSender<Result<Committed, Error>>,
}

pub(crate) struct Writer {
    pub(crate) config: postgres::Config,
    pub(crate) conn: Option<(Conn, Statement, Statement)>,
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
    fn connection(&mut self) -> Result<&mut (Conn, Statement, Statement), Error> {
        if self
            .conn
            .as_ref()
            .is_none_or(|(c, _, _)| c.client.is_closed())
        {
            let mut c =
                Conn::connect(&self.config).map_err(|e| Error::NotWritten(e.to_string()))?;
            let lock = c
                .client
                .prepare("SELECT v FROM motcua_kv WHERE k = $1 FOR UPDATE")
                .map_err(|e| Error::NotWritten(format!("PostgreSQL: {e}")))?;
            let notify = c
                .client
                .prepare("SELECT pg_notify($1, $2)")
                .map_err(|e| Error::NotWritten(format!("PostgreSQL: {e}")))?;
            self.conn = Some((c, lock, notify));
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
        let (conn, lock, notify) = self
            .connection()
            .map_err(|e| Failed::NotWritten(e.to_string()))?;
        let pg = |e: postgres::Error| Failed::NotWritten(format!("PostgreSQL: {e}"));
        let st = &conn.st;
        let mut tx = conn.client.transaction().map_err(pg)?;
        let counters_key = space_key(META, COUNTERS);
        tx.query(&*lock, &[&counters_key]).map_err(pg)?;
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
            let mut kv = TxKv::new(&mut tx, st);
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
            (outcome, kv.take_writes().unwrap_or_default())
        };
        send_writes(&mut tx, st, writes).map_err(pg)?;
        if let Some(at) = earliest_timer(&outcome, pendings) {
            let payload = at.as_millisecond().to_string();
            tx.query(&*notify, &[&TIMER_CHANNEL, &payload])
                .map_err(pg)?;
        }
        tx.commit()
            .map_err(|e| Failed::Unknown(format!("PostgreSQL COMMIT: {e}")))?;
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
