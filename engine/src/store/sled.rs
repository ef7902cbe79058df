//! The embedded default store: sled 0.34 in a local folder, written by one group-commit writer.
//!
//! Durability: callers hand their transitions to a single writer, a pipeline of two threads.
//! The *apply* thread drains every transition waiting (up to [`MAX_BATCH`]), applies the whole
//! batch as ONE `sled::Batch` on the store's single tree, syncs any blob file sled made for it
//! (see [`BlobSync`]) and calls `Db::flush`. The *sync* thread takes every flushed batch
//! waiting, calls `fdatasync` on sled's data file once for all of them, and only then answers
//! every caller in those batches. While one group is being synced and answered the next batch is already being
//! applied, so the disk's cache flush and the waking of callers are off the path that bounds
//! throughput.
//!
//! sled's own flush ends in `sync_file_range`, which survives a killed process but not a power
//! cut or a kernel crash; the extra `fdatasync` makes an acknowledged transition survive those
//! too. A transition refused inside a batch (a stale version, a reused idempotency key) writes
//! nothing and does not fail its batch mates; its refusal is answered after the sync like
//! everything else, because it was decided on state that is durable only then.
//!
//! A batch is applied on top of batches not yet synced. That is safe because sled's log is
//! replayed in order, so no batch survives a crash without every batch before it, and because
//! a failed apply, flush or sync stops the store: every batch still in the pipeline and every
//! later write is refused (after a failed fsync the kernel may have dropped dirty pages, so nothing
//! it says afterwards can be trusted). Readers may see a transition a moment before its
//! caller is answered; if the process dies in that moment the transition is lost, and it was
//! never acknowledged.
//!
//! Callers do the CPU work that does not need the store's order on their own threads (the
//! dossier's JSON, its index and timer keys, the audit entries without their place in the
//! chain: [`Prepared`]), so the apply thread mostly just writes.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use jiff::Timestamp;
use sled::{IVec, Tree};

use super::keys::{self, SEP};
use super::{Committed, Error, Page, Query, Reader, Store};
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

// Everything lives in ONE sled tree, each kind of record under its own first byte (the
// "spaces" below; their layouts are described in `keys`). One tree lets a commit batch be a
// `sled::Batch`, which sled applies atomically (recovery replays all of it or none) without
// the per-write read that sled's multi-tree transactions make to return old values.
const TREE: &str = "motcua";
const DOSSIERS: u8 = b'd';
const IDX: u8 = b'i';
const SEQ: u8 = b's';
const IDEM: u8 = b'k';
const AUDIT_LOG: u8 = b'a';
const STATE_DEPARTMENTS: u8 = b'x';
const TIMERS: u8 = b't';
const OUTBOX: u8 = b'o';
const META: u8 = b'm';
const PROCS: u8 = b'p';
const PLUGINS: u8 = b'g';
/// Spaces the writer reads back within a batch, so their pending writes are kept at hand.
const READ_BACK: [u8; 6] = [DOSSIERS, SEQ, IDEM, META, PROCS, PLUGINS];

type Reply = mpsc::SyncSender<Result<Committed, Error>>;

struct Job {
    transition: Transition,
    /// Computed on the caller's thread when the transition names no code still to assign.
    prepared: Option<Vec<Prepared>>,
    reply: Reply,
}

/// What one change writes, computed from its dossier alone (see the module docs).
struct Prepared {
    body: Vec<u8>,
    index: Vec<Vec<u8>>,
    timers: Vec<Vec<u8>>,
    audit: Vec<audit::Unsealed>,
    events: Vec<Vec<u8>>,
}

impl Prepared {
    fn of(change: &Change) -> Result<Prepared, Error> {
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
        })
    }

    /// For a transition whose codes are all known; `None` when the writer must assign some
    /// first (a submission, or a step that starts linked child dossiers).
    fn of_transition(tr: &Transition) -> Option<Result<Vec<Prepared>, Error>> {
        if tr.changes.iter().any(|c| c.code_prefix.is_some()) {
            return None;
        }
        Some(tr.changes.iter().map(Prepared::of).collect())
    }
}

/// How a transition in an applied batch came out.
enum Answer {
    /// Applied exactly as the caller sent it: the stored dossiers are the transition's own.
    AsSent,
    /// Applied with codes assigned by the store: the dossiers as stored.
    Assigned(Vec<Dossier>),
    Replayed(Box<Dossier>),
    Refused(Error),
}

/// An applied batch on its way to the sync thread.
struct Applied {
    jobs: Vec<Job>,
    outcomes: Vec<Answer>,
    /// The last audit and outbox sequence numbers once this batch is in.
    audit_seq: u64,
    outbox_seq: u64,
}

/// The last audit and outbox sequence numbers known durable. Readers of the audit log and the
/// outbox stop there: a consumer that acted on an event and kept its number as a cursor must
/// never see that number reused for another event after a crash.
#[derive(Default)]
struct Durable {
    audit_seq: AtomicU64,
    outbox_seq: AtomicU64,
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

/// A sled-backed [`Store`]. Cheap to share behind an `Arc`; dropping it stops the writer after
/// it has answered every queued transition.
pub struct SledStore {
    db: sled::Db,
    tree: Tree,
    cache: DossierCache,
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Vec<JoinHandle<()>>>,
    poisoned: Arc<AtomicBool>,
    stats: Arc<Stats>,
    durable: Arc<Durable>,
    path: PathBuf,
}

/// Parsed dossiers recently committed or read, so that the officer who acts next does not
/// wait for sled (whose readers queue behind the writer's batch) nor parse the JSON again.
///
/// It never serves a version older than one acknowledged: a commit puts the acknowledged
/// version (never an older over a newer) and bumps its shard's generation; a reader that
/// missed puts what it read from sled only if the generation has not moved since it looked,
/// so a slow reader cannot put back a version that a commit (or the clearing of a full shard)
/// has since superseded. Bounded by clearing a full shard.
#[derive(Default)]
struct DossierCache {
    shards: [Mutex<Shard>; CACHE_SHARDS],
}

#[derive(Default)]
struct Shard {
    dossiers: HashMap<String, Arc<Dossier>>,
    generation: u64,
}

const CACHE_SHARDS: usize = 16;
/// Dossiers per shard: 16 × 512 = 8,192 dossiers, a few tens of MiB.
const CACHE_PER_SHARD: usize = 512;

enum Lookup {
    Hit(Arc<Dossier>),
    /// Not cached; the shard's generation when it was looked at.
    Miss(u64),
}

impl DossierCache {
    fn shard(&self, code: &str) -> &Mutex<Shard> {
        // FNV-1a: cheap, and codes differ in their last digits.
        let h = code.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        &self.shards[(h % CACHE_SHARDS as u64) as usize]
    }

    fn get(&self, code: &str) -> Lookup {
        let Ok(shard) = self.shard(code).lock() else {
            return Lookup::Miss(u64::MAX);
        };
        match shard.dossiers.get(code) {
            Some(d) => Lookup::Hit(d.clone()),
            None => Lookup::Miss(shard.generation),
        }
    }

    /// An acknowledged version.
    fn put_committed(&self, d: &Dossier) {
        let Ok(mut shard) = self.shard(&d.code).lock() else {
            return;
        };
        shard.generation += 1;
        if shard
            .dossiers
            .get(&d.code)
            .is_some_and(|c| c.version >= d.version)
        {
            return;
        }
        if shard.dossiers.len() >= CACHE_PER_SHARD {
            shard.dossiers.clear();
        }
        shard.dossiers.insert(d.code.clone(), Arc::new(d.clone()));
    }

    /// A version read from sled after a miss at `generation`.
    fn put_read(&self, d: &Dossier, generation: u64) {
        let Ok(mut shard) = self.shard(&d.code).lock() else {
            return;
        };
        if shard.generation != generation || shard.dossiers.contains_key(&d.code) {
            return;
        }
        if shard.dossiers.len() >= CACHE_PER_SHARD {
            shard.generation += 1;
            shard.dossiers.clear();
        }
        shard.dossiers.insert(d.code.clone(), Arc::new(d.clone()));
    }

    fn evict(&self, code: &str) {
        if let Ok(mut shard) = self.shard(code).lock() {
            shard.generation += 1;
            shard.dossiers.remove(code);
        }
    }
}

/// A failed read or open. sled's corruption report becomes [`Error::Corrupt`], which names
/// what to do; anything else is an I/O problem of the moment.
fn storage(e: sled::Error) -> Error {
    match e {
        sled::Error::Corruption { .. } => {
            Error::Corrupt(format!("sled found corrupted data ({e})"))
        }
        other => Error::Read(other.to_string()),
    }
}

fn io(e: std::io::Error) -> Error {
    Error::Read(e.to_string())
}
fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(e.to_string())
}

const POISONED: &str = "the store stopped accepting writes after a failed flush or sync; reopen it";

impl SledStore {
    /// Opens an existing store in `path`, refusing a folder that holds none
    /// ([`Error::Unusable`]) instead of creating an empty store there: what a command that only
    /// reads wants, so a mistyped `--data` is an error, not an empty answer.
    pub fn open_existing(path: impl AsRef<Path>, options: Options) -> Result<SledStore, Error> {
        let path = path.as_ref();
        if !path.join("db").is_file() || !path.join("conf").is_file() {
            return Err(Error::Unusable {
                path: path.to_path_buf(),
                problem: "holds no motcua store (no sled database in it); check the path, \
                          or create a store with `motcua init`"
                    .into(),
            });
        }
        SledStore::open(path, options)
    }

    /// Opens (creating if needed) the store in `path`. Recovery of a store left by a killed
    /// process happens here: sled replays its log up to the last complete flush. A store sled
    /// finds corrupt, or one in an older layout, is refused untouched ([`Error::Unusable`]).
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<SledStore, Error> {
        let path = path.as_ref().to_path_buf();
        let unusable = |e: sled::Error| match e {
            sled::Error::Corruption { .. } => Error::CorruptStore {
                path: path.clone(),
                detail: e.to_string(),
            },
            other => Error::Unusable {
                path: path.clone(),
                problem: format!("cannot open the store: {other}"),
            },
        };
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(options.cache_bytes)
            .mode(sled::Mode::HighThroughput)
            // We flush (and sync) after every batch ourselves; sled's background flusher would
            // only contend with the writer for the log.
            .flush_every_ms(None)
            .open()
            .map_err(unusable)?;
        // Older layouts kept one sled tree per kind of record; such a store is recognised
        // instead of misread.
        if let Some(old) = db
            .tree_names()
            .iter()
            .find(|n| n.as_ref() != TREE.as_bytes() && n.as_ref() != b"__sled__default")
        {
            return Err(Error::Unusable {
                problem: format!(
                    "was written by an older motcua (it has the tree '{}'); this version \
                     reads only the single-tree layout",
                    String::from_utf8_lossy(old)
                ),
                path,
            });
        }
        let tree = db.open_tree(TREE).map_err(unusable)?;
        // sled keeps everything in one data file; a handle on it lets us fdatasync it.
        let data_file = if options.fsync {
            let f = File::open(path.join("db")).map_err(io)?;
            File::open(&path)
                .and_then(|dir| dir.sync_all())
                .map_err(io)?;
            Some(f)
        } else {
            None
        };
        let (sender, receiver) = mpsc::channel::<Job>();
        let (to_sync, applied) = mpsc::channel::<Applied>();
        let poisoned = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Stats::default());
        // Whatever sled recovered at open is on disk.
        let counters = read_counters(Space::of(&tree, META))?;
        let durable = Arc::new(Durable {
            audit_seq: AtomicU64::new(counters.audit_seq),
            outbox_seq: AtomicU64::new(counters.outbox_seq),
        });
        let blobs = data_file
            .is_some()
            .then(|| Arc::new(Mutex::new(BlobSync::new(path.join("blobs")))));
        let known: HashSet<Vec<u8>> = Space::of(&tree, STATE_DEPARTMENTS)
            .range(b"", None)
            .map(|item| item.map(|(k, _)| k.to_vec()))
            .collect::<Result<_, _>>()?;
        let apply = {
            let target = Target {
                db: db.clone(),
                tree: tree.clone(),
                blobs: blobs.clone(),
            };
            let poisoned = poisoned.clone();
            let stats = stats.clone();
            std::thread::Builder::new()
                .name("motcua-apply".into())
                .spawn(move || apply_loop(target, known, receiver, to_sync, &poisoned, &stats))
                .map_err(io)?
        };
        let sync = {
            let poisoned = poisoned.clone();
            let stats = stats.clone();
            let durable = durable.clone();
            let disk = Disk { data_file, blobs };
            std::thread::Builder::new()
                .name("motcua-sync".into())
                .spawn(move || sync_loop(disk, applied, &poisoned, &stats, &durable))
                .map_err(io)?
        };
        Ok(SledStore {
            db,
            tree,
            cache: DossierCache::default(),
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(vec![apply, sync]),
            poisoned,
            stats,
            durable,
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

    /// The writer's counters since the store was opened.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    fn space(&self, id: u8) -> Space<'_> {
        Space::of(&self.tree, id)
    }

    /// Stops the writer after the queued transitions are answered.
    pub fn shutdown(&self) {
        if let Ok(mut s) = self.sender.lock() {
            s.take();
        }
        if let Ok(mut w) = self.writer.lock() {
            // The apply thread ends when the callers' channel closes, which closes the sync
            // thread's channel in turn.
            for handle in w.drain(..) {
                let _ = handle.join();
            }
        }
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What the apply thread writes to.
struct Target {
    db: sled::Db,
    tree: Tree,
    /// `None` when the store does not sync (benchmarks of the difference).
    blobs: Option<Arc<Mutex<BlobSync>>>,
}

fn apply_loop(
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
        let applied = apply_batch(&target.tree, &jobs, &recent, &known);
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
                    _ => target.db.flush().map_err(|e| format!("flush failed: {e}")),
                };
                add_elapsed(&stats.flush_nanos, started);
                if let Err(e) = flushed {
                    poisoned.store(true, Ordering::SeqCst);
                    answer_all(jobs, Error::OutcomeUnknown, &e);
                    continue;
                }
                let applied = Applied {
                    jobs,
                    outcomes,
                    audit_seq: counters.audit_seq,
                    outbox_seq: counters.outbox_seq,
                };
                if let Err(mpsc::SendError(a)) = to_sync.send(applied) {
                    // Applied and flushed but never to be answered: nothing later can be told
                    // truthfully whether it is stored.
                    poisoned.store(true, Ordering::SeqCst);
                    answer_all(
                        a.jobs,
                        Error::OutcomeUnknown,
                        "the store's sync thread has stopped",
                    );
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

/// sled 0.34 writes a record bigger than a quarter of a segment (128 KiB: a leaf of large
/// values, a WASM plugin) to its own file under `blobs/`, while it builds the log, and never
/// syncs it; the log then holds only a pointer. The apply thread syncs every blob file not yet
/// synced, and the folder, right after the batch that made it and before the flush that
/// writes the pointer, so a stored pointer never outlives its blob.
struct BlobSync {
    dir: PathBuf,
    synced: HashSet<std::ffi::OsString>,
}

impl BlobSync {
    fn new(dir: PathBuf) -> BlobSync {
        BlobSync {
            dir,
            synced: HashSet::new(),
        }
    }

    fn sync_new(&mut self) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut present = HashSet::new();
        let mut new = false;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            if !self.synced.contains(&name) {
                match File::open(entry.path()) {
                    Ok(f) => f.sync_all()?,
                    // sled removed it (its segment was cleaned) since the listing.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
                new = true;
            }
            present.insert(name);
        }
        if new {
            File::open(&self.dir)?.sync_all()?;
        }
        self.synced = present;
        Ok(())
    }
}

/// Answers every job with the same failure: [`Error::NotWritten`] when nothing of theirs was
/// applied, [`Error::OutcomeUnknown`] when it was applied but may not be durable.
fn answer_all(jobs: Vec<Job>, kind: fn(String) -> Error, message: &str) {
    for job in jobs {
        let _ = job.reply.send(Err(kind(message.to_string())));
    }
}

/// What the sync thread makes durable: sled's data file, and the blob files (again: a reader
/// can make sled write one when its lookup splits a leaf).
struct Disk {
    data_file: Option<File>,
    blobs: Option<Arc<Mutex<BlobSync>>>,
}

fn sync_blobs(blobs: &Mutex<BlobSync>) -> Result<(), String> {
    let mut blobs = blobs
        .lock()
        .map_err(|_| "the blob sync state is poisoned".to_string())?;
    blobs
        .sync_new()
        .map_err(|e| format!("syncing sled's blob files failed: {e}"))
}

fn sync_loop(
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
                                job.transition
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
                Err(message) => answer_all(applied.jobs, Error::OutcomeUnknown, message),
            }
        }
        add_elapsed(&stats.answer_nanos, started);
    }
}

/// What the store last wrote for a dossier: its version, the `idx` and `timers` keys that
/// version owns and its audit sequence numbers. The apply thread is the only writer, so this is exact, and a hit spares
/// reading and parsing the old dossier JSON inside the transaction.
#[derive(Clone)]
struct Prev {
    version: u64,
    index: Vec<Vec<u8>>,
    timers: Vec<Vec<u8>>,
    /// The dossier's audit sequence numbers, kept in its record.
    audit: Vec<u64>,
}

impl Prev {
    fn of(d: &Dossier, audit: Vec<u64>) -> Prev {
        Prev {
            version: d.version,
            index: keys::index_keys(d),
            timers: keys::timer_keys(d),
            audit,
        }
    }
}

/// Recently written dossiers by code. Bounded by clearing: an emptied cache only costs reads.
/// An entry is well under 1 KiB, so the cache stays under ~16 MiB; dossiers in active work at
/// one time are far fewer than this.
type Recent = HashMap<String, Prev>;
const RECENT_MAX: usize = 16_384;

/// Counters the batch advances, loaded once and written back once, and the batch's chunks of
/// the audit log and of the outbox: a few keys per batch instead of one per entry, because
/// every key written costs a copy of a sled leaf.
struct Heads {
    counters: Counters,
    audit: Chunker,
    outbox: Chunker,
}

/// The key in space `m` of the store's counters, one key so a batch writes them once.
const COUNTERS: &[u8] = b"counters";

/// The last audit and outbox sequence numbers, the hash at the head of the audit chain and the
/// number of stored dossiers (a counter because counting sled's tree walks every key).
#[derive(Clone, PartialEq)]
struct Counters {
    audit_seq: u64,
    outbox_seq: u64,
    dossiers: u64,
    audit_head: String,
}

impl Counters {
    /// Three big-endian u64s, then the head hash.
    fn encode(&self) -> Vec<u8> {
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

fn read_counters(meta: Space) -> Result<Counters, Error> {
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
const CHUNK_BYTES: usize = 6 * 1024;

/// Lines of JSON (audit entries, outbox events) numbered by sequence, grouped into keys of
/// about [`CHUNK_BYTES`], each keyed by its first line's number.
struct Chunker {
    space: u8,
    first: u64,
    lines: Vec<u8>,
}

impl Chunker {
    fn new(space: u8) -> Chunker {
        Chunker {
            space,
            first: 0,
            lines: Vec::new(),
        }
    }

    fn push(&mut self, t: &mut Tx, seq: u64, line: &[u8]) {
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

    fn finish(&mut self, t: &mut Tx) {
        if !self.lines.is_empty() {
            t.insert(self.space, &self.first.to_be_bytes(), &self.lines);
            self.lines.clear();
        }
    }
}

/// The batch's outcomes, what it wrote per dossier (for the apply thread's cache) and the
/// `state_departments` keys it added.
struct BatchOutcome {
    outcomes: Vec<Answer>,
    written: Recent,
    novel: HashSet<Vec<u8>>,
    counters: Counters,
}

fn apply_batch(
    tree: &Tree,
    jobs: &[Job],
    recent: &Recent,
    known: &HashSet<Vec<u8>>,
) -> Result<BatchOutcome, BatchError> {
    let mut t = Tx::new(tree);
    // Written by this batch so far; consulted before `recent`, which holds only what earlier
    // batches committed.
    let mut written: Recent = HashMap::new();
    let mut novel: HashSet<Vec<u8>> = HashSet::new();
    let mut heads = Heads {
        counters: read_counters(Space::of(tree, META))?,
        audit: Chunker::new(AUDIT_LOG),
        outbox: Chunker::new(OUTBOX),
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
    if heads.counters != before {
        t.insert(META, COUNTERS, &heads.counters.encode());
    }
    if let Err(e) = tree.apply_batch(t.batch) {
        // sled may have applied part of the batch in memory: nothing it holds can be trusted
        // to match what the callers are told.
        return Err(BatchError::Applying(storage(e)));
    }
    Ok(BatchOutcome {
        outcomes,
        written,
        novel,
        counters: heads.counters,
    })
}

enum BatchError {
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

/// One commit batch being built: a `sled::Batch`, and the batch's own writes to the spaces it
/// reads back, because reads go to the tree, which does not hold them yet. The apply thread is
/// the only writer, so nothing else changes the tree under it.
struct Tx<'a> {
    tree: &'a Tree,
    batch: sled::Batch,
    pending: HashMap<Vec<u8>, Option<IVec>>,
}

impl<'a> Tx<'a> {
    fn new(tree: &'a Tree) -> Tx<'a> {
        Tx {
            tree,
            batch: sled::Batch::default(),
            pending: HashMap::new(),
        }
    }

    fn get(&self, space: u8, key: &[u8]) -> Result<Option<IVec>, Error> {
        let k = Space::of(self.tree, space).key(key);
        match self.pending.get(&k) {
            Some(v) => Ok(v.clone()),
            None => self.tree.get(&k).map_err(storage),
        }
    }

    fn insert(&mut self, space: u8, key: &[u8], value: &[u8]) {
        let k = Space::of(self.tree, space).key(key);
        let v = IVec::from(value);
        if READ_BACK.contains(&space) {
            self.pending.insert(k.clone(), Some(v.clone()));
        }
        self.batch.insert(k, v);
    }

    fn remove(&mut self, space: u8, key: &[u8]) {
        let k = Space::of(self.tree, space).key(key);
        if READ_BACK.contains(&space) {
            self.pending.insert(k.clone(), None);
        }
        self.batch.remove(k);
    }
}

/// The records of one kind: the keys in the tree that start with the space's byte, seen
/// without it.
#[derive(Clone, Copy)]
struct Space<'a> {
    tree: &'a Tree,
    id: u8,
}

type Entry = (IVec, IVec);

impl<'a> Space<'a> {
    fn of(tree: &'a Tree, id: u8) -> Space<'a> {
        Space { tree, id }
    }

    fn key(&self, k: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(k.len() + 1);
        v.push(self.id);
        v.extend_from_slice(k);
        v
    }

    fn get(&self, k: &[u8]) -> Result<Option<IVec>, Error> {
        self.tree.get(self.key(k)).map_err(storage)
    }

    /// Entries with keys in `lower..upper` (`None`: to the end of the space), in key order.
    fn range(
        &self,
        lower: &[u8],
        upper: Option<&[u8]>,
    ) -> impl DoubleEndedIterator<Item = Result<Entry, Error>> + 'a {
        let lower = self.key(lower);
        let upper = match upper {
            Some(u) => self.key(u),
            None => vec![self.id + 1],
        };
        // An empty range rather than an inverted one (a cursor past the end).
        let upper = upper.max(lower.clone());
        self.tree.range(lower..upper).map(|item| {
            let (k, v) = item.map_err(storage)?;
            Ok((k.subslice(1, k.len() - 1), v))
        })
    }

    /// The last entry with a key at or before `k`.
    fn last_at_or_before(&self, k: &[u8]) -> Result<Option<Entry>, Error> {
        let mut upper = k.to_vec();
        upper.push(0);
        self.range(b"", Some(&upper)).next_back().transpose()
    }
}

fn read_u64(t: &Tx, space: u8, key: &[u8]) -> Result<u64, Error> {
    match t.get(space, key)? {
        None => Ok(0),
        Some(v) => be_u64(&v).ok_or_else(|| corrupt("a counter is not 8 bytes")),
    }
}

fn read_dossier(t: &Tx, code: &str) -> Result<Option<(Dossier, Vec<u64>)>, Error> {
    match t.get(DOSSIERS, code.as_bytes())? {
        None => Ok(None),
        Some(v) => parse_record(code, &v).map(Some),
    }
}

fn parse_record(code: &str, v: &[u8]) -> Result<(Dossier, Vec<u64>), Error> {
    let (seqs, json) = keys::parse_dossier_record(v)
        .ok_or_else(|| corrupt(format!("dossier {code}: the record is truncated")))?;
    let d = serde_json::from_slice(json).map_err(|e| corrupt(format!("dossier {code}: {e}")))?;
    Ok((d, seqs))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct IdempotencyRecord {
    code: String,
    request: String,
}

/// What the read-only checks of a transition decided.
enum Checked {
    /// Go on and write: the old state of each changed dossier, the codes assigned and the
    /// day counters they advance.
    Proceed {
        olds: Vec<Option<Prev>>,
        codes: HashMap<String, String>,
        counters: HashMap<String, u64>,
    },
    /// Answered without writing: a replay or a refusal.
    Done(Answer),
}

/// Steps 1 and 2 of [`apply_one`]: reads only, so an error here (a corrupt record) concerns
/// this transition alone.
fn check(t: &Tx, tr: &Transition, recent: &Recent, written: &Recent) -> Result<Checked, Error> {
    // 1. Checks, reads only.
    if let Some((key, request)) = &tr.idempotency
        && let Some(v) = t.get(IDEM, key.as_bytes())?
    {
        let rec: IdempotencyRecord = serde_json::from_slice(&v).map_err(corrupt)?;
        if &rec.request != request {
            return Ok(Checked::Done(Answer::Refused(Error::IdempotencyMismatch {
                key: key.clone(),
                code: rec.code,
            })));
        }
        return match read_dossier(t, &rec.code)? {
            Some((d, _)) => Ok(Checked::Done(Answer::Replayed(Box::new(d)))),
            None => Err(corrupt(format!(
                "idempotency key {key} names missing dossier {}",
                rec.code
            ))),
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
                        Some((d, seqs)) => Prev::of(&d, seqs),
                        None => {
                            return Ok(Checked::Done(Answer::Refused(Error::NotFound(
                                code.clone(),
                            ))));
                        }
                    },
                };
                if old.version != expected {
                    return Ok(Checked::Done(Answer::Refused(Error::VersionMoved {
                        code: code.clone(),
                        expected,
                        current: old.version,
                    })));
                }
                olds.push(Some(old));
            }
        }
    }
    // 2. Codes for new dossiers: the day's next numbers, gap-free because a refused
    //    transition never reaches this point and the counter moves in the same batch.
    let mut codes: HashMap<String, String> = HashMap::new();
    let mut counters: HashMap<String, u64> = HashMap::new();
    for change in &tr.changes {
        if let (None, Some(prefix)) = (change.expected_version, &change.code_prefix) {
            let next = match counters.get(prefix) {
                Some(n) => n + 1,
                None => read_u64(t, SEQ, prefix.as_bytes())?.saturating_add(1),
            };
            if next > 9999 {
                let (agency, day) = prefix.rsplit_once('-').unwrap_or((prefix.as_str(), ""));
                return Ok(Checked::Done(Answer::Refused(Error::SequenceExhausted {
                    agency: agency.into(),
                    day: day.into(),
                })));
            }
            counters.insert(prefix.clone(), next);
            codes.insert(change.dossier.code.clone(), format!("{prefix}-{next:04}"));
        }
    }
    Ok(Checked::Proceed {
        olds,
        codes,
        counters,
    })
}

/// Adds one transition to the batch. An `Err` abandons the whole batch (storage trouble); a
/// refusal is an [`Answer::Refused`], decided before the transition wrote anything.
fn apply_one(
    t: &mut Tx,
    job: &Job,
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
        let (old_index, old_timers, mut seqs) = match old {
            Some(p) => (p.index, p.timers, p.audit),
            None => (vec![], vec![], vec![]),
        };
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
        for entry in &p.audit {
            heads.counters.audit_seq += 1;
            let (bytes, hash) = entry
                .seal(heads.counters.audit_seq, &heads.counters.audit_head)
                .ok_or_else(|| corrupt("an audit entry did not serialise as expected"))?;
            heads.counters.audit_head = hash;
            heads.audit.push(t, heads.counters.audit_seq, &bytes);
            seqs.push(heads.counters.audit_seq);
        }
        t.insert(DOSSIERS, code, &keys::dossier_record(&seqs, &p.body));
        written.insert(
            change.dossier.code.clone(),
            Prev {
                version: change.dossier.version,
                index: p.index.clone(),
                timers: p.timers.clone(),
                audit: seqs,
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
            return Err(Error::NotWritten(POISONED.into()));
        }
        let prepared = Prepared::of_transition(&transition).transpose()?;
        let (reply, answer) = mpsc::sync_channel(1);
        {
            let guard = self.sender.lock().map_err(|_| Error::Closed)?;
            // Not yet handed over: a closed store wrote nothing of it.
            let sender = guard.as_ref().ok_or(Error::Closed)?;
            sender
                .send(Job {
                    transition,
                    prepared,
                    reply,
                })
                .map_err(|_| Error::Closed)?;
        }
        // Handed over but never answered: the writer died with it, applied or not.
        let answered = answer.recv().map_err(|_| {
            Error::OutcomeUnknown("the store's writer stopped before answering".into())
        })?;
        let committed = match answered {
            Ok(c) => c,
            Err(e) => {
                // The caller decided on a version the store no longer has: whatever the cache
                // holds for it is not to be trusted either.
                if let Error::VersionMoved { code, .. } = &e {
                    self.cache.evict(code);
                }
                return Err(e);
            }
        };
        match &committed {
            Committed::Applied(ds) => ds.iter().for_each(|d| self.cache.put_committed(d)),
            Committed::Replayed(d) => self.cache.put_committed(d),
        }
        Ok(committed)
    }
}

impl Reader for SledStore {
    fn dossier(&self, code: &str) -> Result<Option<Dossier>, Error> {
        let generation = match self.cache.get(code) {
            Lookup::Hit(d) => return Ok(Some(Dossier::clone(&d))),
            Lookup::Miss(generation) => generation,
        };
        match self.space(DOSSIERS).get(code.as_bytes())? {
            None => Ok(None),
            Some(v) => {
                let (d, _) = parse_record(code, &v)?;
                self.cache.put_read(&d, generation);
                Ok(Some(d))
            }
        }
    }

    fn history(&self, code: &str) -> Result<Vec<audit::Entry>, Error> {
        let Some(v) = self.space(DOSSIERS).get(code.as_bytes())? else {
            return Ok(vec![]);
        };
        let (seqs, _) = keys::parse_dossier_record(&v)
            .ok_or_else(|| corrupt(format!("dossier {code}: the record is truncated")))?;
        // Like `audit`, only what is durable: an entry a crash could still take back must not
        // be shown (or exported) as history.
        let through = self.durable.audit_seq.load(Ordering::SeqCst);
        let log = self.space(AUDIT_LOG);
        seqs.into_iter()
            .filter(|seq| *seq <= through)
            .map(|seq| {
                let (first, chunk) = chunk_holding(log, seq)?
                    .ok_or_else(|| corrupt(format!("audit entry {seq} is missing")))?;
                let line = chunk
                    .split(|b| *b == b'\n')
                    .nth((seq - first) as usize)
                    .ok_or_else(|| corrupt(format!("audit entry {seq} is missing")))?;
                serde_json::from_slice(line).map_err(corrupt)
            })
            .collect()
    }

    fn audit(&self, from: u64, limit: usize) -> Result<Vec<audit::Entry>, Error> {
        let through = self.durable.audit_seq.load(Ordering::SeqCst);
        let lines = chunk_lines(self.space(AUDIT_LOG), from, through, limit)?;
        Ok(lines.into_iter().map(|(_, entry)| entry).collect())
    }

    fn list(&self, query: &Query, after: Option<&str>, limit: usize) -> Result<Page, Error> {
        let after = match after {
            None => None,
            Some(c) => Some(hex::decode(c).map_err(|_| Error::BadCursor(c.to_string()))?),
        };
        let idx = self.space(IDX);
        match query {
            Query::State { procedure, state } => {
                // One `wk` prefix per department the state was ever owned by (usually one),
                // each in code order; merged by code.
                let sd = keys::prefix(&[procedure.as_bytes(), state.as_bytes()]);
                let mut scans = vec![];
                for item in self.space(STATE_DEPARTMENTS).range(&sd, None) {
                    let (k, _) = item?;
                    let Some(department) = k.strip_prefix(sd.as_slice()) else {
                        break;
                    };
                    // `department` is cut from a stored key, already escaped.
                    let mut scan = keys::join_escaped(&[
                        &keys::join(&[b"wk"]),
                        department,
                        &keys::join(&[state.as_bytes()]),
                        &keys::join(&[procedure.as_bytes()]),
                    ]);
                    scan.push(SEP);
                    scans.push(scan);
                }
                // A cursor of this listing is a `wk` key of this procedure and state.
                let after_code = match &after {
                    Some(k) => {
                        let own = keys::state_department_of(k).is_some_and(|x| x.starts_with(&sd));
                        if !own {
                            return Err(bad_cursor(k));
                        }
                        Some(keys::code_of(k).ok_or_else(|| bad_cursor(k))?.to_string())
                    }
                    None => None,
                };
                let mut found: Vec<(String, Vec<u8>)> = vec![];
                for prefix in scans {
                    let mut start = prefix.clone();
                    if let Some(code) = &after_code {
                        start.extend_from_slice(code.as_bytes());
                        start.push(0);
                    }
                    for item in idx.range(&start, None).take(limit.saturating_add(1)) {
                        let (k, _) = item?;
                        if !k.starts_with(&prefix) {
                            break;
                        }
                        if let Some(code) = keys::code_of(&k) {
                            found.push((code.to_string(), k.to_vec()));
                        }
                    }
                }
                found.sort();
                Ok(page(found, limit))
            }
            Query::Department { department, state } => {
                let prefix = match state {
                    Some(state) => keys::prefix(&[b"wk", department.as_bytes(), state.as_bytes()]),
                    None => keys::prefix(&[b"wk", department.as_bytes()]),
                };
                scan(idx, &prefix, &prefix, after, None, limit, keys::code_of)
            }
            Query::Applicant { applicant } => {
                let prefix = keys::prefix(&[b"ap", applicant.as_bytes()]);
                scan(idx, &prefix, &prefix, after, None, limit, keys::code_of)
            }
            Query::Received { agency, from, to } => {
                let prefix = keys::prefix(&[b"rc", agency.as_bytes()]);
                let mut start = prefix.clone();
                start.extend_from_slice(from.as_bytes());
                let mut upper = prefix.clone();
                upper.extend_from_slice(to.as_bytes());
                upper.push(SEP + 1);
                scan(
                    idx,
                    &prefix,
                    &start,
                    after,
                    Some(upper),
                    limit,
                    keys::code_of,
                )
            }
            Query::Overdue { now } => {
                // Appointment timers before `now`: exactly the open dossiers whose clock runs.
                if let Some(k) = &after
                    && keys::appointment_code_of(k).is_none()
                {
                    return Err(bad_cursor(k));
                }
                let upper = keys::time_key(*now).to_vec();
                scan(
                    self.space(TIMERS),
                    b"",
                    b"",
                    after,
                    Some(upper),
                    limit,
                    keys::appointment_code_of,
                )
            }
        }
    }

    fn due_timers(&self, until: Timestamp, limit: usize) -> Result<Vec<Timer>, Error> {
        let mut upper = keys::time_key(until).to_vec();
        upper.push(SEP + 1);
        self.space(TIMERS)
            .range(b"", Some(&upper))
            .take(limit)
            .map(|item| {
                let (k, _) = item?;
                keys::timer_of_key(&k).ok_or_else(|| corrupt("a timer key does not parse"))
            })
            .collect()
    }

    fn outbox(&self, after: u64, limit: usize) -> Result<Vec<(u64, Event)>, Error> {
        let through = self.durable.outbox_seq.load(Ordering::SeqCst);
        chunk_lines(self.space(OUTBOX), after.saturating_add(1), through, limit)
    }

    fn procedures(&self) -> Result<Vec<(String, String)>, Error> {
        self.space(PROCS)
            .range(b"", None)
            .map(|item| {
                let (k, v) = item?;
                Ok((
                    String::from_utf8_lossy(&k).into_owned(),
                    String::from_utf8(v.to_vec()).map_err(corrupt)?,
                ))
            })
            .collect()
    }

    fn plugin(&self, sha256: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self
            .space(PLUGINS)
            .get(sha256.as_bytes())?
            .map(|v| v.to_vec()))
    }

    fn dossier_count(&self) -> Result<u64, Error> {
        Ok(read_counters(self.space(META))?.dossiers)
    }
}

fn be_u64(k: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(k.try_into().ok()?))
}

/// The lines numbered `from..=through` of a chunked space (the audit log, the outbox), at most
/// `limit`, parsed.
fn chunk_lines<T: serde::de::DeserializeOwned>(
    space: Space,
    from: u64,
    through: u64,
    limit: usize,
) -> Result<Vec<(u64, T)>, Error> {
    let mut out = vec![];
    if limit == 0 || from > through {
        return Ok(out);
    }
    for item in space.range(&chunk_start(space, from)?, None) {
        let (k, v) = item?;
        let first = be_u64(&k).ok_or_else(|| corrupt("a chunk key is not 8 bytes"))?;
        for (i, line) in v.split(|b| *b == b'\n').enumerate() {
            let seq = first
                .checked_add(i as u64)
                .ok_or_else(|| corrupt("a chunk's sequence numbers overflow"))?;
            if seq < from {
                continue;
            }
            if seq > through {
                return Ok(out);
            }
            out.push((seq, serde_json::from_slice(line).map_err(corrupt)?));
            if out.len() >= limit {
                return Ok(out);
            }
        }
    }
    Ok(out)
}

/// The chunk that holds sequence number `seq`, with its first sequence number.
fn chunk_holding(space: Space, seq: u64) -> Result<Option<(u64, IVec)>, Error> {
    match space.last_at_or_before(&seq.to_be_bytes())? {
        Some((k, v)) => {
            let first = be_u64(&k).ok_or_else(|| corrupt("a chunk key is not 8 bytes"))?;
            Ok(Some((first, v)))
        }
        None => Ok(None),
    }
}

/// The key of the chunk that holds sequence number `seq`: the last chunk starting at or before
/// it (chunks are keyed by their first sequence number), or `seq` itself if none does.
fn chunk_start(space: Space, seq: u64) -> Result<[u8; 8], Error> {
    Ok(match chunk_holding(space, seq)? {
        Some((first, _)) => first.to_be_bytes(),
        None => seq.to_be_bytes(),
    })
}

fn bad_cursor(key: &[u8]) -> Error {
    Error::BadCursor(hex::encode(key))
}

/// A page of the codes `code` finds in the keys of `space` that start with `prefix`, from
/// `start` on, after the key `after` and before `upper`.
fn scan(
    space: Space,
    prefix: &[u8],
    start: &[u8],
    after: Option<Vec<u8>>,
    upper: Option<Vec<u8>>,
    limit: usize,
    code: impl Fn(&[u8]) -> Option<&str>,
) -> Result<Page, Error> {
    let mut lower = start.to_vec();
    if let Some(mut a) = after {
        if !a.starts_with(prefix) {
            return Err(bad_cursor(&a));
        }
        // The smallest key after `a`.
        a.push(0);
        lower = lower.max(a);
    }
    let mut found = vec![];
    if limit == 0 {
        return Ok(Page::default());
    }
    for item in space.range(&lower, upper.as_deref()) {
        let (k, _) = item?;
        if !k.starts_with(prefix) {
            break;
        }
        if let Some(c) = code(&k) {
            found.push((c.to_string(), k.to_vec()));
            // One more than the page, to know whether another page follows.
            if found.len() > limit {
                break;
            }
        }
    }
    Ok(page(found, limit))
}

/// The first `limit` of `found` (in key order), with a cursor only if more were found.
fn page(mut found: Vec<(String, Vec<u8>)>, limit: usize) -> Page {
    let next = if found.len() > limit {
        found.truncate(limit);
        found.last().map(|(_, k)| hex::encode(k))
    } else {
        None
    };
    Page {
        codes: found.into_iter().map(|(c, _)| c).collect(),
        next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines pushed past the chunk size start new chunks, and every sequence number is found in
    /// the chunk that holds it, at its line.
    #[test]
    fn chunks_split_at_the_size_and_every_line_is_found_by_its_sequence_number() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let tree = db.open_tree(TREE).unwrap();
        let mut t = Tx::new(&tree);
        let mut chunker = Chunker::new(AUDIT_LOG);
        let line = |seq: u64| format!("{{\"seq\":{seq},\"pad\":\"{}\"}}", "x".repeat(1000));
        for seq in 7..=26 {
            chunker.push(&mut t, seq, line(seq).as_bytes());
        }
        chunker.finish(&mut t);
        tree.apply_batch(t.batch).unwrap();
        let log = Space::of(&tree, AUDIT_LOG);
        let chunks: Vec<Entry> = log.range(b"", None).collect::<Result<_, _>>().unwrap();
        assert!(chunks.len() >= 4, "20 lines of 1 KiB make several chunks");
        assert!(chunks.iter().all(|(_, v)| v.len() <= CHUNK_BYTES));
        for seq in 7..=26 {
            let (first, chunk) = chunk_holding(log, seq).unwrap().unwrap();
            let found = chunk.split(|b| *b == b'\n').nth((seq - first) as usize);
            assert_eq!(found, Some(line(seq).as_bytes()), "seq {seq}");
        }
        assert_eq!(chunk_holding(log, 6).unwrap(), None);
        assert_eq!(chunk_start(log, 6).unwrap(), 6u64.to_be_bytes());
    }

    /// Every blob file present is synced once, a file sled removed is forgotten, and a store
    /// that never made a blob has no folder to sync.
    #[test]
    fn blob_files_are_synced_once_each_and_a_missing_folder_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = dir.path().join("blobs");
        let mut sync = BlobSync::new(blobs.clone());
        sync.sync_new().unwrap();
        assert!(sync.synced.is_empty());
        std::fs::create_dir(&blobs).unwrap();
        std::fs::write(blobs.join("1048576"), b"leaf").unwrap();
        std::fs::write(blobs.join("2097152"), b"plugin").unwrap();
        sync.sync_new().unwrap();
        assert_eq!(sync.synced.len(), 2);
        std::fs::remove_file(blobs.join("1048576")).unwrap();
        std::fs::write(blobs.join("3145728"), b"leaf").unwrap();
        sync.sync_new().unwrap();
        let mut names: Vec<_> = sync.synced.iter().cloned().collect();
        names.sort();
        assert_eq!(names, ["2097152", "3145728"]);
    }

    fn dossier(version: u64) -> Dossier {
        serde_json::from_value(serde_json::json!({
            "code": "000.17.22.H56-260601-0001",
            "procedure": "cap-phep-xay-dung-thu-nghiem",
            "procedure_version": "1",
            "procedure_hash": "ab",
            "agency": "000.17.22.H56",
            "applicant": {"id": "079090001234", "name": "Nguyễn Văn An", "disadvantaged_area": false},
            "channel": "desk",
            "data": {},
            "documents": [],
            "tokens": [],
            "clock": {"received_at": "2026-06-01T02:00:00Z", "due_at": "2026-06-22T02:00:00Z",
                      "supplements": 0, "extensions": 0},
            "status": 2,
            "version": version,
            "created_at": "2026-06-01T02:00:00Z",
            "updated_at": "2026-06-01T02:00:00Z"
        }))
        .unwrap()
    }

    fn cached_version(cache: &DossierCache) -> Option<u64> {
        match cache.get("000.17.22.H56-260601-0001") {
            Lookup::Hit(d) => Some(d.version),
            Lookup::Miss(_) => None,
        }
    }

    /// Regression (review): a reader that read version 1 from sled, then was descheduled while
    /// version 2 was committed and its shard cleared, put version 1 back, and every officer
    /// acting on it got a conflict until the shard was cleared again.
    #[test]
    fn a_slow_reader_never_puts_back_a_version_a_commit_superseded() {
        let cache = DossierCache::default();
        let Lookup::Miss(seen) = cache.get("000.17.22.H56-260601-0001") else {
            panic!("empty cache");
        };
        // Version 2 is acknowledged while the reader parses version 1.
        cache.put_committed(&dossier(2));
        cache.put_read(&dossier(1), seen);
        assert_eq!(cached_version(&cache), Some(2));
        // The same, with the shard cleared in between.
        cache.evict("000.17.22.H56-260601-0001");
        let Lookup::Miss(seen) = cache.get("000.17.22.H56-260601-0001") else {
            panic!("evicted");
        };
        cache.put_committed(&dossier(3));
        cache.evict("000.17.22.H56-260601-0001");
        cache.put_read(&dossier(2), seen);
        assert_eq!(cached_version(&cache), None);
        // An undisturbed reader fills the cache; an older commit never replaces a newer one.
        let Lookup::Miss(seen) = cache.get("000.17.22.H56-260601-0001") else {
            panic!("evicted");
        };
        cache.put_read(&dossier(3), seen);
        assert_eq!(cached_version(&cache), Some(3));
        cache.put_committed(&dossier(2));
        assert_eq!(cached_version(&cache), Some(3));
    }
}
