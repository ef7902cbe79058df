//! Building one commit batch, whatever the medium: the checks a transition must pass
//! (idempotency, versions), gap-free daily codes, the placeholder codes resolved, the index
//! and timer keys that changed, the audit chain sealed in commit order, the outbox, and the
//! counters, all as one set of writes to a [`Kv`]. The sled store applies it as one
//! `sled::Batch` behind its group-commit writer; the in-memory store applies it under a lock.
//! One implementation, so every store refuses, numbers and chains exactly alike.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;

use super::Error;
use super::keys;
use super::kv::{Kv, Writes};
use super::view::{Space, be_u64};
use motcua_core::audit;
use motcua_core::dossier::Dossier;
use motcua_core::transition::{Change, Transition};

mod check;
mod codes;
use check::{Checked, IdempotencyRecord, check};
use codes::resolve;

// Every kind of record lives under its own first byte (the "spaces" below; their layouts are
// described in `keys`), in one ordered key space, so a commit is one set of writes.
pub(crate) const DOSSIERS: u8 = b'd';
pub(crate) const IDX: u8 = b'i';
pub(crate) const SEQ: u8 = b's';
pub(crate) const IDEM: u8 = b'k';
pub(crate) const AUDIT_LOG: u8 = b'a';
pub(crate) const STATE_DEPARTMENTS: u8 = b'x';
pub(crate) const TIMERS: u8 = b't';
pub(crate) const OUTBOX: u8 = b'o';
pub(crate) const META: u8 = b'm';
pub(crate) const PROCS: u8 = b'p';
pub(crate) const PLUGINS: u8 = b'g';
pub(crate) const AUDIT_INDEX: u8 = b'q';
pub(crate) const REPORT: u8 = b'r';
/// Spaces the writer reads back within a batch, so their pending writes are kept at hand.
pub(crate) const READ_BACK: [u8; 7] = [DOSSIERS, SEQ, IDEM, META, PROCS, PLUGINS, REPORT];

/// What one change writes, computed from its dossier alone (see the module docs).
pub(crate) struct Prepared {
    body: Vec<u8>,
    index: Vec<Vec<u8>>,
    timers: Vec<Vec<u8>>,
    audit: Vec<audit::Unsealed>,
    events: Vec<Vec<u8>>,
    /// What the service report counts of the dossier (None for a linked child).
    facts: Option<motcua_core::report::Facts>,
}

impl Prepared {
    pub(crate) fn of(change: &Change) -> Result<Prepared, Error> {
        let d = &change.dossier;
        Ok(Prepared {
            body: serde_json::to_vec(d).map_err(corrupt)?,
            index: keys::index_keys(d),
            timers: keys::timer_keys(d),
            audit: change
                .audit
                .iter()
                .map(|e| e.unsealed().map_err(corrupt))
                .collect::<Result<_, _>>()?,
            events: change
                .events
                .iter()
                .map(|e| serde_json::to_vec(e).map_err(corrupt))
                .collect::<Result<_, _>>()?,
            facts: motcua_core::report::Facts::of(d),
        })
    }

    /// For a transition whose codes are all known; `None` when the writer must assign some
    /// first (a submission, or a step that starts linked child dossiers).
    pub(crate) fn of_transition(tr: &Transition) -> Option<Result<Vec<Prepared>, Error>> {
        if tr.changes.iter().any(|c| c.code_prefix.is_some()) {
            return None;
        }
        Some(tr.changes.iter().map(Prepared::of).collect())
    }
}

/// How a transition in an applied batch came out.
pub(crate) enum Answer {
    /// Applied exactly as the caller sent it: the stored dossiers are the transition's own.
    AsSent,
    /// Applied with codes assigned by the store: the dossiers as stored.
    Assigned(Vec<Dossier>),
    Replayed(Box<Dossier>),
    Refused(Error),
}

pub(crate) fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(e.to_string())
}

/// What the store last wrote for a dossier: its version, the `idx` and `timers` keys that
/// version owns and its audit sequence numbers. The apply thread is the only writer, so this is exact, and a hit spares
/// reading and parsing the old dossier JSON inside the transaction.
#[derive(Clone, Debug)]
pub(crate) struct Prev {
    version: u64,
    index: Vec<Vec<u8>>,
    timers: Vec<Vec<u8>>,
    /// The dossier's audit sequence numbers, kept in its record.
    audit: Vec<u64>,
    /// [`audit::record_digest`] of its stored record, which the next entry `replaces`.
    digest: [u8; 32],
    /// What the report counters hold of it, so a change moves exactly its own counts.
    facts: Option<motcua_core::report::Facts>,
}

impl Prev {
    fn of(d: &Dossier, audit: Vec<u64>, digest: [u8; 32]) -> Prev {
        Prev {
            version: d.version,
            index: keys::index_keys(d),
            timers: keys::timer_keys(d),
            audit,
            digest,
            facts: motcua_core::report::Facts::of(d),
        }
    }
}

/// Recently written dossiers by code. Bounded by clearing: an emptied cache only costs reads.
/// An entry is well under 1 KiB, so the cache stays under ~16 MiB; dossiers in active work at
/// one time are far fewer than this.
pub(crate) type Recent = HashMap<String, Prev>;
pub(crate) const RECENT_MAX: usize = 16_384;

/// Counters the batch advances, loaded once and written back once, and the batch's chunks of
/// the audit log and of the outbox: a few keys per batch instead of one per entry, because
/// every key written costs a copy of a sled leaf.
struct Heads {
    counters: Counters,
    audit: Chunker,
    outbox: Chunker,
    postings: super::audit_index::Postings,
    report: motcua_core::report::Deltas,
    /// Whether the report counters are kept (off only in the benchmark of their cost).
    counting: bool,
}

/// The key in space `m` of the store's counters, one key so a batch writes them once.
pub(crate) const COUNTERS: &[u8] = b"counters";

/// The last audit and outbox sequence numbers, the hash at the head of the audit chain and the
/// number of stored dossiers (a counter because counting sled's tree walks every key).
#[derive(Clone, PartialEq)]
pub(crate) struct Counters {
    pub(crate) audit_seq: u64,
    pub(crate) outbox_seq: u64,
    pub(crate) dossiers: u64,
    pub(crate) audit_head: String,
}

impl Counters {
    /// Three big-endian u64s, then the head hash.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(24 + self.audit_head.len());
        v.extend_from_slice(&self.audit_seq.to_be_bytes());
        v.extend_from_slice(&self.outbox_seq.to_be_bytes());
        v.extend_from_slice(&self.dossiers.to_be_bytes());
        v.extend_from_slice(self.audit_head.as_bytes());
        v
    }

    fn decode(v: &[u8]) -> Option<Counters> {
        Some(Counters {
            audit_seq: be_u64(v.get(0..8)?)?,
            outbox_seq: be_u64(v.get(8..16)?)?,
            dossiers: be_u64(v.get(16..24)?)?,
            audit_head: String::from_utf8(v.get(24..)?.to_vec()).ok()?,
        })
    }
}

pub(crate) fn read_counters(meta: Space) -> Result<Counters, Error> {
    match meta.get(COUNTERS)? {
        None => Ok(Counters {
            audit_seq: 0,
            outbox_seq: 0,
            dossiers: 0,
            audit_head: audit::GENESIS.to_string(),
        }),
        Some(v) => Counters::decode(&v).ok_or_else(|| corrupt("the store's counters are corrupt")),
    }
}

/// Bytes of JSON lines one chunk key holds before the next begins. sled 0.34 writes a page
/// bigger than a quarter of its 512 KiB segment to a separate blob file, which costs a file
/// creation; a leaf holds up to 17 entries, so chunks of this size keep log leaves inline.
pub(crate) const CHUNK_BYTES: usize = 6 * 1024;

/// Lines of JSON (audit entries, outbox events) numbered by sequence, grouped into keys of
/// about [`CHUNK_BYTES`], each keyed by its first line's number.
pub(crate) struct Chunker {
    space: u8,
    first: u64,
    lines: Vec<u8>,
}

impl Chunker {
    pub(crate) fn new(space: u8) -> Chunker {
        Chunker {
            space,
            first: 0,
            lines: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, t: &mut Tx, seq: u64, line: &[u8]) {
        if !self.lines.is_empty() && self.lines.len() + line.len() >= CHUNK_BYTES {
            self.finish(t);
        }
        if self.lines.is_empty() {
            self.first = seq;
        } else {
            self.lines.push(b'\n');
        }
        self.lines.extend_from_slice(line);
    }

    pub(crate) fn finish(&mut self, t: &mut Tx) {
        if !self.lines.is_empty() {
            t.insert(self.space, &self.first.to_be_bytes(), &self.lines);
            self.lines.clear();
        }
    }
}

/// The batch's outcomes, what it wrote per dossier (for the apply thread's cache) and the
/// `state_departments` keys it added.
pub(crate) struct BatchOutcome {
    pub(crate) outcomes: Vec<Answer>,
    pub(crate) written: Recent,
    pub(crate) novel: HashSet<Vec<u8>>,
    pub(crate) counters: Counters,
}

/// A transition waiting to be committed, with what its caller prepared (see [`Prepared`]).
pub(crate) struct Pending {
    pub(crate) transition: Transition,
    /// Computed on the caller's thread when the transition names no code still to assign.
    pub(crate) prepared: Option<Vec<Prepared>>,
}

impl Pending {
    pub(crate) fn new(transition: Transition) -> Result<Pending, Error> {
        let prepared = Prepared::of_transition(&transition).transpose()?;
        Ok(Pending {
            transition,
            prepared,
        })
    }
}

/// Builds and applies one batch of transitions on `kv`. `recent` holds what earlier batches
/// wrote (exact, because the caller is the only writer); `known` the `state_departments`
/// keys already stored.
pub(crate) fn apply_batch(
    kv: &dyn Kv,
    jobs: &[&Pending],
    recent: &Recent,
    known: &HashSet<Vec<u8>>,
    report_counters: bool,
) -> Result<BatchOutcome, BatchError> {
    let mut t = Tx::new(kv);
    // Written by this batch so far; consulted before `recent`, which holds only what earlier
    // batches committed.
    let mut written: Recent = HashMap::new();
    let mut novel: HashSet<Vec<u8>> = HashSet::new();
    let mut heads = Heads {
        counters: read_counters(Space::of(kv, META))?,
        audit: Chunker::new(AUDIT_LOG),
        outbox: Chunker::new(OUTBOX),
        postings: Default::default(),
        report: Default::default(),
        counting: report_counters,
    };
    let before = heads.counters.clone();
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        outcomes.push(apply_one(&mut t, job, &mut heads, recent, &mut written)?);
    }
    // A `wk` key with a department never seen for its procedure and state: remember it, so
    // that lists by state scan that department's prefix too.
    for prev in written.values() {
        for k in &prev.index {
            if let Some(sd) = keys::state_department_of(k)
                && !known.contains(&sd)
                && novel.insert(sd.clone())
            {
                t.insert(STATE_DEPARTMENTS, &sd, &[]);
            }
        }
    }
    heads.audit.finish(&mut t);
    heads.outbox.finish(&mut t);
    for (k, v) in std::mem::take(&mut heads.postings).into_writes() {
        t.insert(AUDIT_INDEX, &k, &v);
    }
    // Each counter key the batch moved is read (all in one request), added to and written
    // once.
    let moved: Vec<_> = std::mem::take(&mut heads.report).into_iter().collect();
    let olds = t.get_many(REPORT, moved.iter().map(|(k, _)| k.as_slice()))?;
    for ((k, delta), old) in moved.into_iter().zip(olds) {
        let mut v = match old {
            Some(old) => motcua_core::report::decode_value(&old)
                .ok_or_else(|| corrupt("a report counter is corrupt"))?,
            None => [0; motcua_core::report::SLOTS],
        };
        for (slot, d) in v.iter_mut().zip(delta) {
            *slot = slot.saturating_add(d);
        }
        // A row back to zero (a dossier moved on from a department) is not kept.
        if v == [0; motcua_core::report::SLOTS] {
            t.remove(REPORT, &k);
        } else {
            t.insert(REPORT, &k, &motcua_core::report::encode_value(&v));
        }
    }
    if heads.counters != before {
        t.insert(META, COUNTERS, &heads.counters.encode());
    }
    if let Err(e) = kv.apply(t.writes) {
        // sled may have applied part of the batch in memory: nothing it holds can be trusted
        // to match what the callers are told.
        return Err(BatchError::Applying(e));
    }
    Ok(BatchOutcome {
        outcomes,
        written,
        novel,
        counters: heads.counters,
    })
}

pub(crate) enum BatchError {
    /// Found while building the batch: nothing was written.
    Building(Error),
    /// sled failed while applying it.
    Applying(Error),
}

impl From<Error> for BatchError {
    fn from(e: Error) -> Self {
        BatchError::Building(e)
    }
}

/// One commit batch being built: its writes, and the batch's own writes to the spaces it
/// reads back, because reads go to the key space, which does not hold them yet. The builder is
/// the only writer, so nothing else changes the space under it.
pub(crate) struct Tx<'a> {
    kv: &'a dyn Kv,
    writes: Writes,
    pending: HashMap<Vec<u8>, Option<Bytes>>,
}

impl<'a> Tx<'a> {
    pub(crate) fn new(kv: &'a dyn Kv) -> Tx<'a> {
        Tx {
            kv,
            writes: Writes::new(),
            pending: HashMap::new(),
        }
    }

    fn get(&self, space: u8, key: &[u8]) -> Result<Option<Bytes>, Error> {
        let k = Space::of(self.kv, space).key(key);
        match self.pending.get(&k) {
            Some(v) => Ok(v.clone()),
            None => self.kv.get(&k),
        }
    }

    /// [`Tx::get`] of several keys of one space, reading what the batch has not written in
    /// one request.
    fn get_many<'k>(
        &self,
        space: u8,
        keys: impl Iterator<Item = &'k [u8]>,
    ) -> Result<Vec<Option<Bytes>>, Error> {
        let full: Vec<Vec<u8>> = keys.map(|k| Space::of(self.kv, space).key(k)).collect();
        let unread: Vec<Vec<u8>> = full
            .iter()
            .filter(|k| !self.pending.contains_key(*k))
            .cloned()
            .collect();
        let mut read = self.kv.get_many(&unread)?.into_iter();
        Ok(full
            .iter()
            .map(|k| match self.pending.get(k) {
                Some(v) => v.clone(),
                None => read.next().flatten(),
            })
            .collect())
    }

    pub(crate) fn insert(&mut self, space: u8, key: &[u8], value: &[u8]) {
        let k = Space::of(self.kv, space).key(key);
        let v = Bytes::copy_from_slice(value);
        if READ_BACK.contains(&space) {
            self.pending.insert(k.clone(), Some(v.clone()));
        }
        self.writes.push((k, Some(v)));
    }

    fn remove(&mut self, space: u8, key: &[u8]) {
        let k = Space::of(self.kv, space).key(key);
        if READ_BACK.contains(&space) {
            self.pending.insert(k.clone(), None);
        }
        self.writes.push((k, None));
    }

    /// The writes built so far.
    #[cfg(test)]
    pub(crate) fn into_writes(self) -> Writes {
        self.writes
    }
}

fn read_u64(t: &Tx, space: u8, key: &[u8]) -> Result<u64, Error> {
    match t.get(space, key)? {
        None => Ok(0),
        Some(v) => be_u64(&v).ok_or_else(|| corrupt("a counter is not 8 bytes")),
    }
}

/// A stored dossier, its audit numbers and its record's digest.
type Stored = (Dossier, Vec<u64>, [u8; 32]);

fn read_dossier(t: &Tx, code: &str) -> Result<Option<Stored>, Error> {
    match t.get(DOSSIERS, code.as_bytes())? {
        None => Ok(None),
        Some(v) => {
            let (d, seqs) = parse_record(code, &v)?;
            Ok(Some((d, seqs, audit::record_digest(code, &v))))
        }
    }
}

pub(crate) fn parse_record(code: &str, v: &[u8]) -> Result<(Dossier, Vec<u64>), Error> {
    let (seqs, json) = keys::parse_dossier_record(v)
        .ok_or_else(|| corrupt(format!("dossier {code}: the record is truncated")))?;
    let d = serde_json::from_slice(json).map_err(|e| corrupt(format!("dossier {code}: {e}")))?;
    Ok((d, seqs))
}

/// Adds one transition to the batch. An `Err` abandons the whole batch (storage trouble); a
/// refusal is an [`Answer::Refused`], decided before the transition wrote anything.
fn apply_one(
    t: &mut Tx,
    job: &Pending,
    heads: &mut Heads,
    recent: &Recent,
    written: &mut Recent,
) -> Result<Answer, Error> {
    let tr = &job.transition;
    let (olds, codes, counters) = match check(t, tr, recent, written) {
        Ok(Checked::Proceed {
            olds,
            codes,
            counters,
        }) => (olds, codes, counters),
        Ok(Checked::Done(outcome)) => return Ok(outcome),
        // A corrupt record refuses the transition that reads it, not its batch mates.
        Err(e @ Error::Corrupt(_)) => return Ok(Answer::Refused(e)),
        Err(e) => return Err(e),
    };
    // 3. What to write: prepared by the caller, or here once the codes are known.
    let resolved: Option<(Vec<Change>, Vec<Prepared>)> = match &job.prepared {
        Some(_) => None,
        None => {
            let changes: Vec<Change> = tr.changes.iter().map(|c| resolve(c, &codes)).collect();
            let prepared = changes
                .iter()
                .map(Prepared::of)
                .collect::<Result<Vec<_>, _>>()?;
            Some((changes, prepared))
        }
    };
    let (changes, prepared): (&[Change], &[Prepared]) = match (&resolved, &job.prepared) {
        (Some((c, p)), _) => (c, p),
        (None, Some(p)) => (&tr.changes, p),
        (None, None) => return Err(corrupt("a transition was neither prepared nor resolved")),
    };
    // 4. Writes.
    for (prefix, n) in &counters {
        t.insert(SEQ, prefix.as_bytes(), &n.to_be_bytes());
    }
    heads.counters.dossiers += changes
        .iter()
        .filter(|c| c.expected_version.is_none())
        .count() as u64;
    for ((change, p), old) in changes.iter().zip(prepared).zip(olds) {
        let code = change.dossier.code.as_bytes();
        // Only keys that changed are written: every write copies a sled leaf, so unchanged
        // index entries (applicant, receipt day, a steady appointment) cost nothing.
        let (old_index, old_timers, mut seqs, replaces, old_facts) = match old {
            Some(p) => (
                p.index,
                p.timers,
                p.audit,
                Some(hex::encode(p.digest)),
                p.facts,
            ),
            None => (vec![], vec![], vec![], None, None),
        };
        if heads.counting && old_facts != p.facts {
            motcua_core::report::deltas(old_facts.as_ref(), p.facts.as_ref(), &mut heads.report);
        }
        for k in old_index.iter().filter(|k| !p.index.contains(k)) {
            t.remove(IDX, k);
        }
        for k in p.index.iter().filter(|k| !old_index.contains(k)) {
            t.insert(IDX, k, &[]);
        }
        for k in old_timers.iter().filter(|k| !p.timers.contains(k)) {
            t.remove(TIMERS, k);
        }
        for k in p.timers.iter().filter(|k| !old_timers.contains(k)) {
            t.insert(TIMERS, k, &[]);
        }
        // The record names its entries' numbers and its last entry names the record's digest:
        // numbers first, then the record, then the seals.
        let first = heads.counters.audit_seq + 1;
        heads.counters.audit_seq += p.audit.len() as u64;
        seqs.extend(first..=heads.counters.audit_seq);
        let record = keys::dossier_record(&seqs, &p.body);
        let digest = audit::record_digest(&change.dossier.code, &record);
        let digest_hex = hex::encode(digest);
        for (i, entry) in p.audit.iter().enumerate() {
            let last = i + 1 == p.audit.len();
            let seq = first + i as u64;
            let (bytes, hash) = entry.seal(&audit::Place {
                seq,
                prev: &heads.counters.audit_head,
                record: last.then_some(digest_hex.as_str()),
                replaces: if last { replaces.as_deref() } else { None },
                migrated: None,
            });
            heads.counters.audit_head = hash;
            heads.audit.push(t, seq, &bytes);
            if let Some(e) = change.audit.get(i) {
                heads.postings.add(seq, e);
            }
        }
        t.insert(DOSSIERS, code, &record);
        written.insert(
            change.dossier.code.clone(),
            Prev {
                version: change.dossier.version,
                index: p.index.clone(),
                timers: p.timers.clone(),
                audit: seqs,
                digest,
                facts: p.facts.clone(),
            },
        );
        for event in &p.events {
            heads.counters.outbox_seq += 1;
            heads.outbox.push(t, heads.counters.outbox_seq, event);
        }
    }
    for (hash, source) in &tr.procedures {
        if t.get(PROCS, hash.as_bytes())?.is_none() {
            t.insert(PROCS, hash.as_bytes(), source.as_bytes());
        }
    }
    for (sha, bytes) in &tr.plugins {
        if t.get(PLUGINS, sha.as_bytes())?.is_none() {
            t.insert(PLUGINS, sha.as_bytes(), bytes);
        }
    }
    if let (Some((key, request)), Some(primary)) = (&tr.idempotency, changes.first()) {
        let rec = IdempotencyRecord {
            code: primary.dossier.code.clone(),
            request: request.clone(),
        };
        let v = serde_json::to_vec(&rec).map_err(corrupt)?;
        t.insert(IDEM, key.as_bytes(), &v);
    }
    Ok(match resolved {
        Some((changes, _)) => Answer::Assigned(changes.into_iter().map(|c| c.dossier).collect()),
        None => Answer::AsSent,
    })
}
