//! The group-commit writer: an apply thread and a sync thread (see the module docs of
//! [`super`]), and the answers they give.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use super::blobs::{BlobSync, sync_blobs};
use crate::batch::{Answer, BatchError, BatchOutcome, Pending, RECENT_MAX, Recent, apply_batch};
use crate::{Committed, Error};

/// The most transitions one sled transaction carries.
pub const MAX_BATCH: usize = 256;

pub(super) type Reply = mpsc::SyncSender<Result<Committed, Error>>;

pub(super) struct Job {
    pub(super) pending: Pending,
    pub(super) reply: Reply,
}

/// A stage of the writer that a test can make fail (see [`Faults`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Applying a batch to sled.
    Apply,
    /// sled's flush of its log.
    Flush,
    /// The fdatasync of the data file.
    Sync,
}

/// Failures to inject into a store's writer, for tests of what callers are told and of what a
/// reopened store holds. Each stage fails once, on its Nth call from when the store opened.
/// Production stores have none ([`super::Options::faults`] is `None`).
#[derive(Debug, Default)]
pub struct Faults {
    countdown: [AtomicU64; 3],
}

impl Faults {
    /// Makes `stage` fail on its `nth` call (1 = the first).
    pub fn fail_on(stage: Fault, nth: u64) -> Arc<Faults> {
        let f = Faults::default();
        f.countdown[stage as usize].store(nth, Ordering::SeqCst);
        Arc::new(f)
    }

    fn hit(faults: &Option<Arc<Faults>>, stage: Fault) -> bool {
        let Some(f) = faults else { return false };
        let c = &f.countdown[stage as usize];
        c.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)) == Ok(1)
    }
}

/// An applied batch on its way to the sync thread.
pub(super) struct Applied {
    jobs: Vec<Job>,
    outcomes: Vec<Answer>,
    /// The last audit and outbox sequence numbers once this batch is in.
    audit_seq: u64,
    outbox_seq: u64,
    audit_head: String,
}

/// The last audit and outbox sequence numbers known durable. Readers of the audit log and the
/// outbox stop there: a consumer that acted on an event and kept its number as a cursor must
/// never see that number reused for another event after a crash.
#[derive(Default)]
pub(super) struct Durable {
    pub(super) audit_seq: AtomicU64,
    pub(super) outbox_seq: AtomicU64,
    /// `audit_seq` and the chain's head there, read together by verification.
    pub(super) audit_head: Mutex<(u64, String)>,
}

/// Counters of the writer's work, for benchmarks and operators.
#[derive(Debug, Default)]
pub struct Stats {
    /// Batches applied (one `sled::Batch` and one flush each).
    pub batches: AtomicU64,
    /// Transitions those batches carried, refused ones included.
    pub transitions: AtomicU64,
    /// fdatasync rounds (each covers every flushed batch waiting).
    pub syncs: AtomicU64,
    /// Time spent applying batches, flushing, syncing and answering callers, in nanoseconds.
    pub apply_nanos: AtomicU64,
    pub flush_nanos: AtomicU64,
    pub fsync_nanos: AtomicU64,
    pub answer_nanos: AtomicU64,
}

fn add_elapsed(counter: &AtomicU64, since: std::time::Instant) {
    counter.fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
}

pub(super) const POISONED: &str =
    "the store stopped accepting writes after a failed flush or sync; reopen it";

/// What the apply thread writes to.
pub(super) struct Target {
    pub(super) db: sled::Db,
    pub(super) tree: sled::Tree,
    /// While a backup runs, what each key held before the first write after it began.
    pub(super) journal: Arc<super::backup::Journal>,
    /// `None` when the store does not sync (benchmarks of the difference).
    pub(super) blobs: Option<Arc<Mutex<BlobSync>>>,
    pub(super) faults: Option<Arc<Faults>>,
    pub(super) report_counters: bool,
}

pub(super) fn apply_loop(
    target: Target,
    mut known: HashSet<Vec<u8>>,
    receiver: mpsc::Receiver<Job>,
    to_sync: mpsc::Sender<Applied>,
    poisoned: &AtomicBool,
    stats: &Stats,
) {
    let mut recent: Recent = HashMap::new();
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if poisoned.load(Ordering::SeqCst) {
            answer_all(jobs, Error::NotWritten, POISONED);
            continue;
        }
        let started = std::time::Instant::now();
        let applied = if Faults::hit(&target.faults, Fault::Apply) {
            Err(BatchError::Applying(Error::OutcomeUnknown(
                "injected fault: applying the batch failed".into(),
            )))
        } else {
            let pendings: Vec<&Pending> = jobs.iter().map(|j| &j.pending).collect();
            let journaled = super::backup::Journaled {
                tree: &target.tree,
                journal: &target.journal,
            };
            apply_batch(
                &journaled,
                &pendings,
                &recent,
                &known,
                target.report_counters,
            )
        };
        add_elapsed(&stats.apply_nanos, started);
        match applied {
            Ok(BatchOutcome {
                outcomes,
                written,
                novel,
                counters,
            }) => {
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats
                    .transitions
                    .fetch_add(jobs.len() as u64, Ordering::Relaxed);
                // sled now holds these versions, synced or not; the next batch builds on them.
                if recent.len() + written.len() > RECENT_MAX {
                    recent.clear();
                }
                recent.extend(written);
                known.extend(novel);
                // Blob files the batch made are synced before sled's flush writes the log that
                // points at them. sled's flush writes the log from this thread; running it here
                // rather than beside the next batch's writes keeps the two from contending.
                let started = std::time::Instant::now();
                let flushed = match target.blobs.as_deref().map(sync_blobs) {
                    Some(Err(e)) => Err(e),
                    _ if Faults::hit(&target.faults, Fault::Flush) => {
                        Err("injected fault: flush failed".to_string())
                    }
                    _ => target.db.flush().map_err(|e| format!("flush failed: {e}")),
                };
                add_elapsed(&stats.flush_nanos, started);
                if let Err(e) = flushed {
                    poisoned.store(true, Ordering::SeqCst);
                    answer_unsynced(jobs, &outcomes, &e);
                    continue;
                }
                let applied = Applied {
                    jobs,
                    outcomes,
                    audit_seq: counters.audit_seq,
                    outbox_seq: counters.outbox_seq,
                    audit_head: counters.audit_head,
                };
                if let Err(mpsc::SendError(a)) = to_sync.send(applied) {
                    // Applied and flushed but never to be answered: nothing later can be told
                    // truthfully whether it is stored.
                    poisoned.store(true, Ordering::SeqCst);
                    answer_unsynced(a.jobs, &a.outcomes, "the store's sync thread has stopped");
                }
            }
            Err(BatchError::Building(e)) => {
                // The batch was not applied: nothing of it is in sled.
                answer_all(jobs, Error::NotWritten, &e.to_string());
            }
            Err(BatchError::Applying(e)) => {
                poisoned.store(true, Ordering::SeqCst);
                answer_all(jobs, Error::OutcomeUnknown, &e.to_string());
            }
        }
    }
}

/// Answers every job with the same failure: [`Error::NotWritten`] when nothing of theirs was
/// applied, [`Error::OutcomeUnknown`] when it was applied but may not be durable.
fn answer_all(jobs: Vec<Job>, kind: fn(String) -> Error, message: &str) {
    for job in jobs {
        let _ = job.reply.send(Err(kind(message.to_string())));
    }
}

/// Answers the jobs of a batch that was applied but not made durable: a transition that wrote
/// something may or may not survive ([`Error::OutcomeUnknown`]); one that was refused or
/// replayed wrote nothing ([`Error::NotWritten`]), though its answer could not be confirmed.
fn answer_unsynced(jobs: Vec<Job>, outcomes: &[Answer], message: &str) {
    for (job, outcome) in jobs.into_iter().zip(outcomes) {
        let kind = match outcome {
            Answer::AsSent | Answer::Assigned(_) => Error::OutcomeUnknown,
            Answer::Replayed(_) | Answer::Refused(_) => Error::NotWritten,
        };
        let _ = job.reply.send(Err(kind(message.to_string())));
    }
}

/// What the sync thread makes durable: sled's data file, and the blob files (again: a reader
/// can make sled write one when its lookup splits a leaf).
pub(super) struct Disk {
    pub(super) data_file: Option<File>,
    pub(super) blobs: Option<Arc<Mutex<BlobSync>>>,
    pub(super) faults: Option<Arc<Faults>>,
}

pub(super) fn sync_loop(
    disk: Disk,
    receiver: mpsc::Receiver<Applied>,
    poisoned: &AtomicBool,
    stats: &Stats,
    durable: &Durable,
) {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while let Ok(next) = receiver.try_recv() {
            group.push(next);
        }
        let synced = if poisoned.load(Ordering::SeqCst) {
            Err(POISONED.to_string())
        } else {
            // Every batch in the group was flushed before it was handed over, so one
            // fdatasync makes them all durable.
            let started = std::time::Instant::now();
            let r = match (&disk.data_file, &disk.blobs) {
                _ if Faults::hit(&disk.faults, Fault::Sync) => {
                    Err("injected fault: fdatasync failed".to_string())
                }
                (Some(f), Some(blobs)) => sync_blobs(blobs)
                    .and_then(|_| f.sync_data().map_err(|e| format!("fdatasync failed: {e}"))),
                _ => Ok(()),
            };
            add_elapsed(&stats.fsync_nanos, started);
            if r.is_err() {
                poisoned.store(true, Ordering::SeqCst);
            }
            stats.syncs.fetch_add(1, Ordering::Relaxed);
            r
        };
        if synced.is_ok()
            && let Some(last) = group.last()
        {
            *durable
                .audit_head
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                (last.audit_seq, last.audit_head.clone());
            durable.audit_seq.store(last.audit_seq, Ordering::SeqCst);
            durable.outbox_seq.store(last.outbox_seq, Ordering::SeqCst);
        }
        let started = std::time::Instant::now();
        for applied in group {
            match &synced {
                Ok(()) => {
                    for (job, outcome) in applied.jobs.into_iter().zip(applied.outcomes) {
                        let result = match outcome {
                            Answer::AsSent => Ok(Committed::Applied(
                                job.pending
                                    .transition
                                    .changes
                                    .into_iter()
                                    .map(|c| c.dossier)
                                    .collect(),
                            )),
                            Answer::Assigned(ds) => Ok(Committed::Applied(ds)),
                            Answer::Replayed(d) => Ok(Committed::Replayed(d)),
                            Answer::Refused(e) => Err(e),
                        };
                        let _ = job.reply.send(result);
                    }
                }
                // Applied and flushed, but the sync that would make it durable failed (or an
                // earlier one did): it may or may not survive a crash.
                Err(message) => answer_unsynced(applied.jobs, &applied.outcomes, message),
            }
        }
        add_elapsed(&stats.answer_nanos, started);
    }
}
