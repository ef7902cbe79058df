//! The embedded default store: sled 0.34 in a local folder, written by one group-commit writer.
//!
//! Durability: callers hand their transitions to a single writer thread. The writer drains
//! every transition waiting (up to [`MAX_BATCH`]), applies the whole batch in ONE cross-tree
//! sled transaction, calls `Db::flush` and then `fdatasync` on sled's data file, and only then
//! answers every caller in the batch. sled's own flush ends in `sync_file_range`, which
//! survives a killed process but not a power cut or a kernel crash; the extra `fdatasync`
//! makes an acknowledged transition survive those too. A transition refused inside a batch
//! (a stale version, a reused idempotency key) writes nothing and does not fail its batch
//! mates. If the sync itself fails the store refuses every later write: after a failed fsync
//! the kernel may have dropped dirty pages, so nothing it says afterwards can be trusted.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use jiff::Timestamp;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::{Transactional, Tree};

use super::keys::{self, SEP};
use super::{Committed, Error, Query, Store};
use crate::audit;
use crate::dossier::Dossier;
use crate::dossier::transition::{Change, Event, NEW_CODE_PREFIX, Timer, Transition, timers_of};

/// The most transitions one sled transaction carries.
pub const MAX_BATCH: usize = 256;

/// Options for opening a sled store.
#[derive(Debug, Clone)]
pub struct Options {
    /// sled's page cache in bytes. sled's default is 1 GiB; ours is 64 MiB so an embedded
    /// engine stays small. The OS page cache still holds the rest of the file.
    pub cache_bytes: u64,
    /// Sync to stable storage before acknowledging (default true). Turning it off keeps
    /// crash-of-process safety (sled's flush) but loses power-cut safety; only for benchmarks
    /// that measure the difference.
    pub fsync: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cache_bytes: 64 * 1024 * 1024,
            fsync: true,
        }
    }
}

const DOSSIERS: usize = 0;
const IDX: usize = 1;
const SEQ: usize = 2;
const IDEM: usize = 3;
const AUDIT_ORDER: usize = 4;
const AUDIT_ENTRIES: usize = 5;
const TIMERS: usize = 6;
const OUTBOX: usize = 7;
const META: usize = 8;
const PROCS: usize = 9;
const PLUGINS: usize = 10;
// New names for the batch-chunked layout of the audit log and outbox (see `keys`), so that a
// store written with the older one-key-per-entry layout is recognised instead of misread.
const TREE_NAMES: [&str; 11] = [
    "dossiers",
    "idx",
    "seq",
    "idempotency",
    "audit_order",
    "audit_entries",
    "timers",
    "outbox_batches",
    "meta",
    "procedures",
    "plugins",
];
/// Trees of the older layout; a store holding them was written by an incompatible version.
const OLD_TREE_NAMES: [&str; 3] = ["audit", "audit_by_dossier", "outbox"];

struct Job {
    transition: Transition,
    reply: mpsc::SyncSender<Result<Committed, Error>>,
}

/// A sled-backed [`Store`]. Cheap to share behind an `Arc`; dropping it stops the writer after
/// it has answered every queued transition.
pub struct SledStore {
    db: sled::Db,
    trees: Arc<Vec<Tree>>,
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    poisoned: Arc<AtomicBool>,
    path: PathBuf,
}

fn storage(e: impl std::fmt::Display) -> Error {
    Error::Storage(e.to_string())
}
fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(e.to_string())
}

impl SledStore {
    /// Opens (creating if needed) the store in `path`. Recovery of a store left by a killed
    /// process happens here: sled replays its log up to the last complete flush.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<SledStore, Error> {
        let path = path.as_ref().to_path_buf();
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(options.cache_bytes)
            .mode(sled::Mode::HighThroughput)
            // We flush (and sync) after every batch ourselves; sled's background flusher would
            // only contend with the writer for the log.
            .flush_every_ms(None)
            .open()
            .map_err(storage)?;
        for old in OLD_TREE_NAMES {
            if db.tree_names().iter().any(|n| n.as_ref() == old.as_bytes()) {
                return Err(Error::Corrupt(format!(
                    "{} was written by an older motcua with tree '{old}'; this version \
                     reads only the batch-chunked audit and outbox layout",
                    path.display()
                )));
            }
        }
        let trees: Vec<Tree> = TREE_NAMES
            .iter()
            .map(|n| db.open_tree(n))
            .collect::<Result<_, _>>()
            .map_err(storage)?;
        let trees = Arc::new(trees);
        // sled keeps everything in one data file; a handle on it lets us fdatasync it.
        let data_file = if options.fsync {
            let f = File::open(path.join("db")).map_err(storage)?;
            File::open(&path)
                .and_then(|dir| dir.sync_all())
                .map_err(storage)?;
            Some(f)
        } else {
            None
        };
        let (sender, receiver) = mpsc::channel::<Job>();
        let poisoned = Arc::new(AtomicBool::new(false));
        let writer = {
            let db = db.clone();
            let trees = trees.clone();
            let poisoned = poisoned.clone();
            std::thread::Builder::new()
                .name("motcua-writer".into())
                .spawn(move || write_loop(db, trees, data_file, receiver, poisoned))
                .map_err(storage)?
        };
        Ok(SledStore {
            db,
            trees,
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            poisoned,
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes sled reports on disk.
    pub fn size_on_disk(&self) -> Result<u64, Error> {
        self.db.size_on_disk().map_err(storage)
    }

    fn tree(&self, i: usize) -> &Tree {
        &self.trees[i]
    }

    /// Stops the writer after the queued transitions are answered.
    pub fn shutdown(&self) {
        if let Ok(mut s) = self.sender.lock() {
            s.take();
        }
        if let Ok(mut w) = self.writer.lock()
            && let Some(handle) = w.take()
        {
            let _ = handle.join();
        }
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn write_loop(
    db: sled::Db,
    trees: Arc<Vec<Tree>>,
    data_file: Option<File>,
    receiver: mpsc::Receiver<Job>,
    poisoned: Arc<AtomicBool>,
) {
    let mut recent: Recent = HashMap::new();
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if poisoned.load(Ordering::SeqCst) {
            for job in batch {
                let _ = job.reply.send(Err(Error::Storage(
                    "the store stopped accepting writes after a failed sync; reopen it".into(),
                )));
            }
            continue;
        }
        let transitions: Vec<&Transition> = batch.iter().map(|j| &j.transition).collect();
        let outcome = apply_batch(&trees, &transitions, &recent).and_then(|(results, written)| {
            db.flush().map_err(storage)?;
            if let Some(f) = &data_file
                && let Err(e) = f.sync_data()
            {
                poisoned.store(true, Ordering::SeqCst);
                return Err(storage(format!("fdatasync failed: {e}")));
            }
            Ok((results, written))
        });
        match outcome {
            Ok((results, written)) => {
                if recent.len() + written.len() > RECENT_MAX {
                    recent.clear();
                }
                recent.extend(written);
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                // The transaction may have committed before the flush or sync failed; the
                // cache no longer knows what is stored.
                recent.clear();
                let message = e.to_string();
                for job in batch {
                    let _ = job.reply.send(Err(Error::Storage(message.clone())));
                }
            }
        }
    }
}

/// What the store last wrote for a dossier: its version and the `idx` and `timers` entries
/// that version owns. The writer is the only writer, so this is exact, and a hit spares
/// reading and parsing the old dossier JSON inside the transaction.
#[derive(Clone)]
struct Prev {
    version: u64,
    index: Vec<Vec<u8>>,
    timers: Vec<(Vec<u8>, Timer)>,
}

impl Prev {
    fn of(d: &Dossier) -> Prev {
        Prev {
            version: d.version,
            index: keys::index_keys(d),
            timers: keys::timer_entries(d),
        }
    }
}

/// Recently written dossiers by code. Bounded by clearing: an emptied cache only costs reads.
/// An entry is well under 1 KiB, so the cache stays under ~16 MiB; dossiers in active work at
/// one time are far fewer than this.
type Recent = HashMap<String, Prev>;
const RECENT_MAX: usize = 16_384;

/// Counters the batch advances, loaded once and written back once, and the batch's chunks of
/// the global audit order and of the outbox: one key each per batch instead of one per entry,
/// because every key written costs a copy of a sled leaf.
struct Heads {
    audit_seq: u64,
    audit_head: String,
    outbox_seq: u64,
    /// Stored dossiers, kept as a counter because counting sled's tree walks every key
    /// (seconds for a million).
    dossiers: u64,
    /// Codes of the batch's audit entries in seq order, separated by `SEP`.
    audit_order: Vec<u8>,
    /// The batch's outbox events as one JSON array (without the closing bracket).
    outbox_events: Vec<u8>,
}

type TxResult<T> = Result<T, ConflictableTransactionError<Error>>;

/// The batch's results, and what it wrote per dossier (for the writer's cache).
type BatchOutcome = (Vec<Result<Committed, Error>>, Recent);

fn apply_batch(
    trees: &[Tree],
    transitions: &[&Transition],
    recent: &Recent,
) -> Result<BatchOutcome, Error> {
    let refs: Vec<&Tree> = trees.iter().collect();
    let result = refs.as_slice().transaction(|t: &Vec<TransactionalTree>| {
        // Written by this batch so far; consulted before `recent`, which holds only what
        // earlier batches committed.
        let mut written: Recent = HashMap::new();
        let mut heads = Heads {
            audit_seq: read_u64(&t[META], b"audit_seq")?,
            audit_head: match t[META].get(b"audit_head")? {
                Some(v) => String::from_utf8_lossy(&v).into_owned(),
                None => audit::GENESIS.to_string(),
            },
            outbox_seq: read_u64(&t[META], b"outbox_seq")?,
            dossiers: read_u64(&t[META], b"dossier_count")?,
            audit_order: Vec::new(),
            outbox_events: Vec::new(),
        };
        let first_audit = heads.audit_seq + 1;
        let first_event = heads.outbox_seq + 1;
        let dossiers_before = heads.dossiers;
        let mut results = Vec::with_capacity(transitions.len());
        for tr in transitions {
            results.push(apply_one(t, tr, &mut heads, recent, &mut written)?);
        }
        if !heads.audit_order.is_empty() {
            t[AUDIT_ORDER].insert(&first_audit.to_be_bytes(), heads.audit_order.as_slice())?;
        }
        if !heads.outbox_events.is_empty() {
            heads.outbox_events.push(b']');
            t[OUTBOX].insert(&first_event.to_be_bytes(), heads.outbox_events.as_slice())?;
        }
        t[META].insert(b"audit_seq".as_slice(), &heads.audit_seq.to_be_bytes())?;
        t[META].insert(b"audit_head".as_slice(), heads.audit_head.as_bytes())?;
        t[META].insert(b"outbox_seq".as_slice(), &heads.outbox_seq.to_be_bytes())?;
        if heads.dossiers != dossiers_before {
            t[META].insert(b"dossier_count".as_slice(), &heads.dossiers.to_be_bytes())?;
        }
        Ok((results, written))
    });
    match result {
        Ok(r) => Ok(r),
        Err(TransactionError::Abort(e)) => Err(e),
        Err(TransactionError::Storage(e)) => Err(storage(e)),
    }
}

fn read_u64(tree: &TransactionalTree, key: &[u8]) -> TxResult<u64> {
    match tree.get(key)? {
        None => Ok(0),
        Some(v) => {
            let bytes: [u8; 8] = v
                .as_ref()
                .try_into()
                .map_err(|_| abort(corrupt("a counter is not 8 bytes")))?;
            Ok(u64::from_be_bytes(bytes))
        }
    }
}

fn abort(e: Error) -> ConflictableTransactionError<Error> {
    ConflictableTransactionError::Abort(e)
}

fn read_dossier(t: &[TransactionalTree], code: &str) -> TxResult<Option<Dossier>> {
    match t[DOSSIERS].get(code.as_bytes())? {
        None => Ok(None),
        Some(v) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| abort(corrupt(format!("dossier {code}: {e}")))),
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct IdempotencyRecord {
    code: String,
    request: String,
}

/// Applies one transition inside the batch's transaction. The outer `Err` aborts the whole
/// batch (storage trouble); the inner `Err` refuses just this transition, before it wrote
/// anything.
fn apply_one(
    t: &[TransactionalTree],
    tr: &Transition,
    heads: &mut Heads,
    recent: &Recent,
    written: &mut Recent,
) -> TxResult<Result<Committed, Error>> {
    // 1. Checks, reads only.
    if let Some((key, request)) = &tr.idempotency
        && let Some(v) = t[IDEM].get(key.as_bytes())?
    {
        let rec: IdempotencyRecord = serde_json::from_slice(&v).map_err(|e| abort(corrupt(e)))?;
        if &rec.request != request {
            return Ok(Err(Error::IdempotencyMismatch {
                key: key.clone(),
                code: rec.code,
            }));
        }
        return match read_dossier(t, &rec.code)? {
            Some(d) => Ok(Ok(Committed::Replayed(Box::new(d)))),
            None => Err(abort(corrupt(format!(
                "idempotency key {key} names missing dossier {}",
                rec.code
            )))),
        };
    }
    let mut olds: Vec<Option<Prev>> = Vec::with_capacity(tr.changes.len());
    for change in &tr.changes {
        match change.expected_version {
            None => olds.push(None),
            Some(expected) => {
                let code = &change.dossier.code;
                let cached = written.get(code).or_else(|| recent.get(code)).cloned();
                let old = match cached {
                    Some(p) => p,
                    None => match read_dossier(t, code)? {
                        Some(d) => Prev::of(&d),
                        None => return Ok(Err(Error::NotFound(code.clone()))),
                    },
                };
                if old.version != expected {
                    return Ok(Err(Error::Conflict {
                        code: code.clone(),
                        expected,
                        current: old.version,
                    }));
                }
                olds.push(Some(old));
            }
        }
    }
    // 2. Codes for new dossiers: the day's next numbers, gap-free because a refused
    //    transition never reaches this point and the counter moves in the same transaction.
    let mut codes: HashMap<String, String> = HashMap::new();
    let mut counters: HashMap<String, u64> = HashMap::new();
    for change in &tr.changes {
        if let (None, Some(prefix)) = (change.expected_version, &change.code_prefix) {
            let next = match counters.get(prefix) {
                Some(n) => n + 1,
                None => read_u64(&t[SEQ], prefix.as_bytes())? + 1,
            };
            if next > 9999 {
                let (agency, day) = prefix.rsplit_once('-').unwrap_or((prefix.as_str(), ""));
                return Ok(Err(Error::SequenceExhausted {
                    agency: agency.into(),
                    day: day.into(),
                }));
            }
            counters.insert(prefix.clone(), next);
            codes.insert(change.dossier.code.clone(), format!("{prefix}-{next:04}"));
        }
    }
    // 3. Writes.
    for (prefix, n) in &counters {
        t[SEQ].insert(prefix.as_bytes(), &n.to_be_bytes())?;
    }
    heads.dossiers += tr
        .changes
        .iter()
        .filter(|c| c.expected_version.is_none())
        .count() as u64;
    let mut stored = Vec::with_capacity(tr.changes.len());
    for (change, old) in tr.changes.iter().zip(olds) {
        let change = resolve(change, &codes);
        let d = &change.dossier;
        // Only keys that changed are written: every write copies a sled leaf, so unchanged
        // index entries (applicant, receipt day, a steady appointment) cost nothing.
        let (old_index, old_timers) = match old {
            Some(p) => (p.index, p.timers),
            None => (vec![], vec![]),
        };
        let new_index = keys::index_keys(d);
        for k in old_index.iter().filter(|k| !new_index.contains(k)) {
            t[IDX].remove(k.as_slice())?;
        }
        for k in new_index.iter().filter(|k| !old_index.contains(k)) {
            t[IDX].insert(k.as_slice(), &[])?;
        }
        let new_timers = keys::timer_entries(d);
        for (k, timer) in &old_timers {
            if !new_timers.iter().any(|(nk, nt)| nk == k && nt == timer) {
                t[TIMERS].remove(k.as_slice())?;
            }
        }
        for (k, timer) in &new_timers {
            if !old_timers.iter().any(|(ok, ot)| ok == k && ot == timer) {
                let v = serde_json::to_vec(timer).map_err(|e| abort(corrupt(e)))?;
                t[TIMERS].insert(k.as_slice(), v)?;
            }
        }
        let body = serde_json::to_vec(d).map_err(|e| abort(corrupt(e)))?;
        t[DOSSIERS].insert(d.code.as_bytes(), body)?;
        written.insert(
            d.code.clone(),
            Prev {
                version: d.version,
                index: new_index,
                timers: new_timers,
            },
        );
        for mut entry in change.audit {
            heads.audit_seq += 1;
            entry.seal(heads.audit_seq, &heads.audit_head);
            heads.audit_head = entry.hash.clone();
            let v = serde_json::to_vec(&entry).map_err(|e| abort(corrupt(e)))?;
            t[AUDIT_ENTRIES].insert(
                keys::join(&[d.code.as_bytes(), &heads.audit_seq.to_be_bytes()]),
                v,
            )?;
            if !heads.audit_order.is_empty() {
                heads.audit_order.push(SEP);
            }
            heads.audit_order.extend_from_slice(d.code.as_bytes());
        }
        for event in &change.events {
            heads.outbox_seq += 1;
            heads.outbox_events.push(if heads.outbox_events.is_empty() {
                b'['
            } else {
                b','
            });
            serde_json::to_writer(&mut heads.outbox_events, event)
                .map_err(|e| abort(corrupt(e)))?;
        }
        stored.push(change.dossier);
    }
    for (hash, source) in &tr.procedures {
        if t[PROCS].get(hash.as_bytes())?.is_none() {
            t[PROCS].insert(hash.as_bytes(), source.as_bytes())?;
        }
    }
    for (sha, bytes) in &tr.plugins {
        if t[PLUGINS].get(sha.as_bytes())?.is_none() {
            t[PLUGINS].insert(sha.as_bytes(), bytes.as_slice())?;
        }
    }
    if let (Some((key, request)), Some(primary)) = (&tr.idempotency, stored.first()) {
        let rec = IdempotencyRecord {
            code: primary.code.clone(),
            request: request.clone(),
        };
        let v = serde_json::to_vec(&rec).map_err(|e| abort(corrupt(e)))?;
        t[IDEM].insert(key.as_bytes(), v)?;
    }
    Ok(Ok(Committed::Applied(stored)))
}

/// Replaces placeholder codes with the codes just assigned, everywhere they appear.
fn resolve(change: &Change, codes: &HashMap<String, String>) -> Change {
    let mut c = change.clone();
    if codes.is_empty() {
        return c;
    }
    let fix = |s: &mut String| {
        if s.starts_with(NEW_CODE_PREFIX)
            && let Some(real) = codes.get(s.as_str())
        {
            *s = real.clone();
        }
    };
    fix(&mut c.dossier.code);
    if let Some(p) = c.dossier.parent.as_mut() {
        fix(p);
    }
    c.dossier.children.iter_mut().for_each(fix);
    for e in c.audit.iter_mut() {
        fix(&mut e.dossier);
    }
    for e in c.events.iter_mut() {
        fix(&mut e.dossier);
        fix_json(&mut e.payload, codes);
    }
    c.timers = timers_of(&c.dossier);
    c
}

fn fix_json(v: &mut serde_json::Value, codes: &HashMap<String, String>) {
    match v {
        serde_json::Value::String(s) => {
            if let Some(real) = codes.get(s.as_str()) {
                *s = real.clone();
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|i| fix_json(i, codes)),
        serde_json::Value::Object(m) => m.values_mut().for_each(|i| fix_json(i, codes)),
        _ => {}
    }
}

impl Store for SledStore {
    fn commit(&self, transition: Transition) -> Result<Committed, Error> {
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(Error::Storage(
                "the store stopped accepting writes after a failed sync; reopen it".into(),
            ));
        }
        let (reply, answer) = mpsc::sync_channel(1);
        {
            let guard = self.sender.lock().map_err(|_| Error::Closed)?;
            let sender = guard.as_ref().ok_or(Error::Closed)?;
            sender
                .send(Job { transition, reply })
                .map_err(|_| Error::Closed)?;
        }
        answer.recv().map_err(|_| Error::Closed)?
    }

    fn dossier(&self, code: &str) -> Result<Option<Dossier>, Error> {
        match self.tree(DOSSIERS).get(code.as_bytes()).map_err(storage)? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| corrupt(format!("dossier {code}: {e}"))),
        }
    }

    fn history(&self, code: &str) -> Result<Vec<audit::Entry>, Error> {
        let prefix = keys::prefix(&[code.as_bytes()]);
        self.tree(AUDIT_ENTRIES)
            .scan_prefix(&prefix)
            .map(|item| {
                let (_, v) = item.map_err(storage)?;
                serde_json::from_slice(&v).map_err(corrupt)
            })
            .collect()
    }

    fn audit(&self, from: u64, limit: usize) -> Result<Vec<audit::Entry>, Error> {
        let mut out = vec![];
        if limit == 0 {
            return Ok(out);
        }
        let order = self.tree(AUDIT_ORDER);
        for item in order.range(chunk_start(order, from)?..) {
            let (k, v) = item.map_err(storage)?;
            let first = be_u64(&k).ok_or_else(|| corrupt("audit order key is not 8 bytes"))?;
            for (i, code) in v.split(|b| *b == SEP).enumerate() {
                let seq = first + i as u64;
                if seq < from {
                    continue;
                }
                let key = keys::join(&[code, &seq.to_be_bytes()]);
                let entry = self
                    .tree(AUDIT_ENTRIES)
                    .get(&key)
                    .map_err(storage)?
                    .ok_or_else(|| corrupt(format!("audit entry {seq} is missing")))?;
                out.push(serde_json::from_slice(&entry).map_err(corrupt)?);
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }

    fn list(&self, query: &Query, after: Option<&str>, limit: usize) -> Result<Vec<String>, Error> {
        let (prefix, upper): (Vec<u8>, Option<Vec<u8>>) = match query {
            Query::State { procedure, state } => (
                keys::prefix(&[b"st", procedure.as_bytes(), state.as_bytes()]),
                None,
            ),
            Query::Department {
                department,
                state: Some(state),
            } => (
                keys::prefix(&[b"dp", department.as_bytes(), state.as_bytes()]),
                None,
            ),
            Query::Department {
                department,
                state: None,
            } => (keys::prefix(&[b"dp", department.as_bytes()]), None),
            Query::Applicant { applicant } => (keys::prefix(&[b"ap", applicant.as_bytes()]), None),
            Query::Overdue { now } => {
                let p = keys::prefix(&[b"du"]);
                let mut upper = p.clone();
                upper.extend_from_slice(&keys::time_key(*now));
                (p, Some(upper))
            }
            Query::Received { agency, from, to } => {
                let p = keys::prefix(&[b"rc", agency.as_bytes()]);
                let mut start = p.clone();
                start.extend_from_slice(from.as_bytes());
                let mut upper = p.clone();
                upper.extend_from_slice(to.as_bytes());
                upper.push(SEP + 1);
                return self.collect_codes(
                    self.tree(IDX).range(start..upper),
                    &p,
                    None,
                    after,
                    limit,
                );
            }
        };
        self.collect_codes(
            self.tree(IDX).scan_prefix(&prefix),
            &prefix,
            upper.as_deref(),
            after,
            limit,
        )
    }

    fn due_timers(&self, until: Timestamp, limit: usize) -> Result<Vec<Timer>, Error> {
        let mut upper = keys::time_key(until).to_vec();
        upper.push(SEP + 1);
        self.tree(TIMERS)
            .range(..upper)
            .take(limit)
            .map(|item| {
                let (_, v) = item.map_err(storage)?;
                serde_json::from_slice(&v).map_err(corrupt)
            })
            .collect()
    }

    fn outbox(&self, after: u64, limit: usize) -> Result<Vec<(u64, Event)>, Error> {
        let mut out = vec![];
        if limit == 0 {
            return Ok(out);
        }
        let from = after.saturating_add(1);
        let batches = self.tree(OUTBOX);
        for item in batches.range(chunk_start(batches, from)?..) {
            let (k, v) = item.map_err(storage)?;
            let first = be_u64(&k).ok_or_else(|| corrupt("outbox key is not 8 bytes"))?;
            let events: Vec<Event> = serde_json::from_slice(&v).map_err(corrupt)?;
            for (i, event) in events.into_iter().enumerate() {
                let seq = first + i as u64;
                if seq < from {
                    continue;
                }
                out.push((seq, event));
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }

    fn procedures(&self) -> Result<Vec<(String, String)>, Error> {
        self.tree(PROCS)
            .iter()
            .map(|item| {
                let (k, v) = item.map_err(storage)?;
                Ok((
                    String::from_utf8_lossy(&k).into_owned(),
                    String::from_utf8(v.to_vec()).map_err(corrupt)?,
                ))
            })
            .collect()
    }

    fn plugin(&self, sha256: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self
            .tree(PLUGINS)
            .get(sha256.as_bytes())
            .map_err(storage)?
            .map(|v| v.to_vec()))
    }

    fn dossier_count(&self) -> Result<u64, Error> {
        match self.tree(META).get(b"dossier_count").map_err(storage)? {
            None => Ok(0),
            Some(v) => be_u64(&v).ok_or_else(|| corrupt("the dossier count is not 8 bytes")),
        }
    }
}

fn be_u64(k: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(k.try_into().ok()?))
}

/// The key of the chunk that holds sequence number `seq`: the last chunk starting at or before
/// it (chunks are keyed by their first sequence number), or `seq` itself if none does.
fn chunk_start(tree: &Tree, seq: u64) -> Result<[u8; 8], Error> {
    match tree.range(..=seq.to_be_bytes()).next_back() {
        Some(item) => {
            let (k, _) = item.map_err(storage)?;
            let first = be_u64(&k).ok_or_else(|| corrupt("a chunk key is not 8 bytes"))?;
            Ok(first.to_be_bytes())
        }
        None => Ok(seq.to_be_bytes()),
    }
}

impl SledStore {
    fn collect_codes(
        &self,
        iter: sled::Iter,
        prefix: &[u8],
        upper: Option<&[u8]>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, Error> {
        let mut out = vec![];
        for item in iter {
            let (k, _) = item.map_err(storage)?;
            if !k.starts_with(prefix) {
                break;
            }
            if let Some(u) = upper
                && k.as_ref() > u
            {
                break;
            }
            let Some(code) = keys::code_of(&k) else {
                continue;
            };
            if after.is_some_and(|a| code <= a) {
                continue;
            }
            out.push(code.to_string());
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }
}
