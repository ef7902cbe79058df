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

mod backup;
pub use backup::restore;
mod blobs;
mod cache;
mod kv;
mod migrate;
pub use migrate::{Migration, migrate};
mod writer;

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use jiff::Timestamp;
use sled::Tree;

use self::blobs::BlobSync;
use self::cache::{DossierCache, Lookup};
use self::writer::{Applied, Disk, Durable, Job, POISONED, Target, apply_loop, sync_loop};
pub use self::writer::{Fault, Faults};
pub use self::writer::{MAX_BATCH, Stats};
use super::batch::{META, Pending, STATE_DEPARTMENTS, read_counters};
use super::view::{Space, View, dossier_reads_through_view, reads_through_view};
use super::{Committed, DossierReader, Error, Marks, Page, Query, Store};
use kv::storage;
use motcua_core::dossier::Dossier;
use motcua_core::transition::{Event, Transition};

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
    /// Failures to inject, for tests (see [`Faults`]); `None` in production.
    pub faults: Option<Arc<Faults>>,
    /// Keep the report counters in each commit (default true). Only the benchmark that
    /// measures what they cost turns this off: a store without them reports nothing.
    #[doc(hidden)]
    pub report_counters: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cache_bytes: 64 * 1024 * 1024,
            fsync: true,
            faults: None,
            report_counters: true,
        }
    }
}

// Everything lives in ONE sled tree, each kind of record under its own first byte. One tree
// lets a commit batch be a `sled::Batch`, which sled applies atomically (recovery replays all
// of it or none) without the per-write read that sled's multi-tree transactions make to
// return old values.
const TREE: &str = "motcua";
/// Bookkeeping outside the dossiers and the chain ([`super::Marks`]): its own tree, so the
/// writer's batches and the proof's key spaces never meet it.
const MARKS: &str = "motcua-marks";

/// A tree this layout does not keep (older layouts had one tree per kind of record), so
/// such a store is recognised instead of misread.
fn foreign_tree(db: &sled::Db) -> Option<sled::IVec> {
    db.tree_names().into_iter().find(|n| {
        n.as_ref() != TREE.as_bytes()
            && n.as_ref() != MARKS.as_bytes()
            && n.as_ref() != b"__sled__default"
    })
}

/// A sled-backed [`Store`]. Cheap to share behind an `Arc`; dropping it stops the writer after
/// it has answered every queued transition.
pub struct SledStore {
    db: sled::Db,
    tree: Tree,
    marks: Tree,
    cache: DossierCache,
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Vec<JoinHandle<()>>>,
    poisoned: Arc<AtomicBool>,
    stats: Arc<Stats>,
    durable: Arc<Durable>,
    path: PathBuf,
    /// The papers, in `papers/` beside sled's own files.
    files: crate::files::DirFiles,
    journal: Arc<backup::Journal>,
}

fn io(e: std::io::Error) -> Error {
    Error::Read(e.to_string())
}

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
    /// finds corrupt ([`Error::CorruptStore`]) or one in an older layout ([`Error::Unusable`])
    /// is refused untouched.
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
        if let Some(old) = foreign_tree(&db) {
            return Err(Error::Unusable {
                problem: format!(
                    "was written by an older motcua (it has the tree '{}'); this version \
                     reads only the single-tree layout",
                    String::from_utf8_lossy(&old)
                ),
                path,
            });
        }
        let tree = db.open_tree(TREE).map_err(unusable)?;
        let marks = db.open_tree(MARKS).map_err(unusable)?;
        migrate::check_layout(&db, &tree, &path)?;
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
            audit_head: Mutex::new((counters.audit_seq, counters.audit_head.clone())),
        });
        let blobs = data_file
            .is_some()
            .then(|| Arc::new(Mutex::new(BlobSync::new(path.join("blobs")))));
        let known: HashSet<Vec<u8>> = Space::of(&tree, STATE_DEPARTMENTS)
            .range(b"", None)
            .map(|item| item.map(|(k, _)| k.to_vec()))
            .collect::<Result<_, _>>()?;
        let journal = Arc::new(backup::Journal::default());
        let apply = {
            let target = Target {
                journal: journal.clone(),
                db: db.clone(),
                tree: tree.clone(),
                blobs: blobs.clone(),
                faults: options.faults.clone(),
                report_counters: options.report_counters,
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
            let disk = Disk {
                data_file,
                blobs,
                faults: options.faults.clone(),
            };
            std::thread::Builder::new()
                .name("motcua-sync".into())
                .spawn(move || sync_loop(disk, applied, &poisoned, &stats, &durable))
                .map_err(io)?
        };
        let files =
            crate::files::DirFiles::open(path.join("papers")).map_err(|e| Error::Unusable {
                path: path.clone(),
                problem: format!("cannot open the folder of papers: {e}"),
            })?;
        Ok(SledStore {
            journal,
            files,
            db,
            tree,
            marks,
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

    fn view(&self) -> View<'_> {
        // The number and its head together, so verification compares like with like.
        let (audit_through, audit_head) = self
            .durable
            .audit_head
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        View {
            kv: &self.tree,
            audit_through,
            audit_head,
            outbox_through: self.durable.outbox_seq.load(Ordering::SeqCst),
        }
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

impl SledStore {
    /// Hands a transition to the writer; the receiver gets its answer.
    fn send(
        &self,
        transition: Transition,
    ) -> Result<mpsc::Receiver<Result<Committed, Error>>, Error> {
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(Error::NotWritten(POISONED.into()));
        }
        let pending = Pending::new(transition)?;
        let (reply, answer) = mpsc::sync_channel(1);
        let guard = self.sender.lock().map_err(|_| Error::Closed)?;
        // Not yet handed over: a closed store wrote nothing of it.
        let sender = guard.as_ref().ok_or(Error::Closed)?;
        sender
            .send(Job { pending, reply })
            .map_err(|_| Error::Closed)?;
        Ok(answer)
    }

    /// Waits for the writer's answer and keeps the cache in step with it.
    fn answered(
        &self,
        answer: mpsc::Receiver<Result<Committed, Error>>,
    ) -> Result<Committed, Error> {
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

impl Store for SledStore {
    fn files(&self) -> &dyn crate::files::Files {
        &self.files
    }

    fn backup(
        &self,
        out: &mut dyn std::io::Write,
    ) -> Result<crate::backup::Summary, crate::backup::Error> {
        SledStore::backup(self, out)
    }

    fn commit(&self, transition: Transition) -> Result<Committed, Error> {
        let answer = self.send(transition)?;
        self.answered(answer)
    }

    /// Every transition is handed to the writer before waiting for the first answer, so the
    /// group commit applies them in as few batches, and syncs them in as few rounds, as it can.
    fn commit_all(
        &self,
        transitions: &mut dyn Iterator<Item = Transition>,
    ) -> Vec<Result<Committed, Error>> {
        let sent: Vec<_> = transitions.map(|t| self.send(t)).collect();
        sent.into_iter()
            .map(|s| s.and_then(|answer| self.answered(answer)))
            .collect()
    }
}

impl Marks for SledStore {
    fn mark(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self
            .marks
            .get(name.as_bytes())
            .map_err(storage)?
            .map(|v| v.to_vec()))
    }

    fn marks(&self, prefix: &str, f: &mut dyn FnMut(&str, &[u8]) -> bool) -> Result<(), Error> {
        for item in self.marks.scan_prefix(prefix.as_bytes()) {
            let (k, v) = item.map_err(storage)?;
            let name = std::str::from_utf8(&k)
                .map_err(|_| Error::Corrupt(format!("mark key {k:?} is not UTF-8")))?;
            if !f(name, &v) {
                break;
            }
        }
        Ok(())
    }

    fn set_mark(&self, name: &str, value: Option<&[u8]>) -> Result<(), Error> {
        let written = match value {
            Some(v) => self.marks.insert(name.as_bytes(), v).map(|_| ()),
            None => self.marks.remove(name.as_bytes()).map(|_| ()),
        };
        // Answered once sled has flushed (and synced) its log.
        written
            .and_then(|()| self.marks.flush().map(|_| ()))
            .map_err(|e| Error::NotWritten(format!("mark {name}: {e}")))
    }
}

impl DossierReader for SledStore {
    fn dossier(&self, code: &str) -> Result<Option<Dossier>, Error> {
        let generation = match self.cache.get(code) {
            Lookup::Hit(d) => return Ok(Some(Dossier::clone(&d))),
            Lookup::Miss(generation) => generation,
        };
        let read = self.view().dossier(code)?;
        if let Some(d) = &read {
            self.cache.put_read(d, generation);
        }
        Ok(read)
    }

    dossier_reads_through_view!();
}

reads_through_view!(SledStore);
