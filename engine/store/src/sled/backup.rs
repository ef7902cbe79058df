//! A point-in-time backup of a running sled store, and restoring one into a new folder.
//!
//! sled has no snapshots, so the writer keeps a journal while a backup runs: before the first
//! write to a key after the backup began, it records what the key held (or that it did not
//! exist). The backup scans the tree and, for every key in the journal, writes what it held
//! when the backup began instead of what it holds now; keys deleted before the scan reached
//! them are written from the journal at the end. The result is the store exactly as it was
//! between two commit batches, while commits go on (they pay one read per key written).
//! The journal holds only the keys written during the backup's scan and what they held, up
//! to [`MAX_JOURNAL`] keys and [`MAX_JOURNAL_BYTES`]; past that the backup, not the writes,
//! fails, before it writes its end. The journal ends with the scan: the papers that follow
//! are immutable files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;

use super::{MARKS, SledStore, TREE, storage};
use crate::backup::{Error, LAYOUT, Manifest, Record, Summary};
use crate::batch::{META, read_counters};
use crate::kv::{Entries, Kv, Writes};
use crate::view::Space;

/// Keys a backup may see written while it scans before it gives up.
pub const MAX_JOURNAL: usize = 2_000_000;
/// Bytes of earlier values and keys the journal may hold.
pub const MAX_JOURNAL_BYTES: usize = 512 << 20;

#[derive(Default)]
struct Noted {
    /// What the key held when the backup began.
    before: Option<Bytes>,
    /// The scan had passed the key when it was first written (it wrote the old value).
    passed: bool,
    /// The scan wrote `before` in the key's place.
    written: bool,
}

#[derive(Default)]
struct State {
    keys: BTreeMap<Vec<u8>, Noted>,
    /// The last key the scan reached.
    cursor: Option<Vec<u8>>,
    bytes: usize,
    overflowed: bool,
}

/// The writer's journal: `None` while no backup runs.
#[derive(Default)]
pub(crate) struct Journal(Mutex<Option<State>>);

/// The tree as the writer sees it: writes are journaled first while a backup runs.
pub(crate) struct Journaled<'a> {
    pub(crate) tree: &'a sled::Tree,
    pub(crate) journal: &'a Journal,
}

impl Kv for Journaled<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, crate::Error> {
        Kv::get(self.tree, key)
    }
    fn get_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Bytes>>, crate::Error> {
        Kv::get_many(self.tree, keys)
    }
    fn range(&self, lower: Vec<u8>, upper: Vec<u8>) -> Entries<'_> {
        Kv::range(self.tree, lower, upper)
    }
    fn apply(&self, writes: Writes) -> Result<(), crate::Error> {
        // Held through the write, so a backup begins between two batches, never inside one.
        let mut journal = self.journal.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(state) = journal.as_mut() {
            for (k, _) in &writes {
                if state.keys.contains_key(k) || state.overflowed {
                    continue;
                }
                let before = Kv::get(self.tree, k)?;
                state.bytes += k.len() + before.as_ref().map_or(0, |b| b.len());
                if state.keys.len() >= MAX_JOURNAL || state.bytes > MAX_JOURNAL_BYTES {
                    state.overflowed = true;
                    continue;
                }
                let passed = state.cursor.as_deref().is_some_and(|c| k.as_slice() <= c);
                state.keys.insert(
                    k.clone(),
                    Noted {
                        before,
                        passed,
                        written: false,
                    },
                );
            }
        }
        Kv::apply(self.tree, writes)
    }
}

/// Ends the journal however the backup ends.
struct Ending<'a>(&'a Journal);

impl Drop for Ending<'_> {
    fn drop(&mut self) {
        *self.0.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// The tree as it was when the backup began, in key order, then the keys deleted since.
struct Scan<'a> {
    iter: sled::Iter,
    journal: &'a Journal,
    tail: Option<std::vec::IntoIter<(Bytes, Bytes)>>,
}

impl Iterator for Scan<'_> {
    type Item = Result<(Bytes, Bytes), crate::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(tail) = &mut self.tail {
            return tail.next().map(Ok);
        }
        loop {
            match self.iter.next() {
                Some(Err(e)) => return Some(Err(storage(e))),
                Some(Ok((k, v))) => {
                    let mut journal = self.journal.0.lock().unwrap_or_else(|p| p.into_inner());
                    let Some(state) = journal.as_mut() else {
                        return Some(Err(crate::Error::Read("the backup's journal ended".into())));
                    };
                    state.cursor = Some(k.to_vec());
                    match state.keys.get_mut(k.as_ref()) {
                        Some(noted) => {
                            noted.written = true;
                            if let Some(before) = noted.before.clone() {
                                return Some(Ok((Bytes::from_owner(k), before)));
                            }
                            // Made after the backup began: not in it.
                        }
                        None => return Some(Ok((Bytes::from_owner(k), Bytes::from_owner(v)))),
                    }
                }
                None => {
                    // The scan is over: the journal ends here, and an overflow fails the
                    // backup before anything after the key space is written.
                    let state = self
                        .journal
                        .0
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .take();
                    let Some(state) = state else {
                        return Some(Err(crate::Error::Read("the backup's journal ended".into())));
                    };
                    if state.overflowed {
                        return Some(Err(crate::Error::Read(format!(
                            "too many writes while the backup ran (over {} keys or {} MiB \
                             changed); take it at a quieter moment",
                            MAX_JOURNAL,
                            MAX_JOURNAL_BYTES >> 20
                        ))));
                    }
                    let tail: Vec<(Bytes, Bytes)> = state
                        .keys
                        .into_iter()
                        .filter(|(_, n)| !n.passed && !n.written)
                        .filter_map(|(k, n)| n.before.map(|b| (Bytes::from(k), b)))
                        .collect();
                    self.tail = Some(tail.into_iter());
                    return self.tail.as_mut().and_then(|t| t.next()).map(Ok);
                }
            }
        }
    }
}

impl SledStore {
    /// Writes a backup of the store as it is now (between two commit batches) to `out`,
    /// while commits go on.
    pub fn backup(&self, out: &mut dyn Write) -> Result<Summary, Error> {
        let (counters, marks) = {
            let mut journal = self.journal.0.lock().unwrap_or_else(|p| p.into_inner());
            if journal.is_some() {
                return Err(Error::Unsupported("another backup is running".into()));
            }
            *journal = Some(State::default());
            // The marks as of the same instant (webhook cursors resume where the outbox was).
            let marks: Result<Vec<(Vec<u8>, Bytes)>, sled::Error> = self
                .marks
                .iter()
                .map(|r| r.map(|(k, v)| (k.to_vec(), Bytes::from_owner(v))))
                .collect();
            (read_counters(Space::of(&self.tree, META)), marks)
        };
        let ending = Ending(&self.journal);
        let counters = counters?;
        let marks = marks.map_err(storage)?;
        let manifest = Manifest {
            format: crate::backup::FORMAT,
            layout: LAYOUT.into(),
            created_at: jiff::Timestamp::now(),
            source: "sled".into(),
            audit_count: counters.audit_seq,
            audit_head: counters.audit_head.clone(),
            outbox_seq: counters.outbox_seq,
            dossiers: counters.dossiers,
        };
        let mut scan = Scan {
            iter: self.tree.iter(),
            journal: &self.journal,
            tail: None,
        };
        let summary = crate::backup::write(out, manifest, &mut scan, marks, &self.files)?;
        drop(ending);
        Ok(summary)
    }
}

/// Restores the backup at `from` into the data folder `data`, which must not exist or be
/// empty. The backup is checked whole first ([`crate::backup::check`]); then it is written
/// into a folder beside `data`, opened as a store, and only then renamed to `data`, so an
/// interrupted restore leaves no store behind, never half of one.
pub fn restore(data: &Path, from: &Path) -> Result<Summary, Error> {
    if data.exists() && std::fs::read_dir(data)?.next().is_some() {
        return Err(Error::NotEmpty(data.display().to_string()));
    }
    let checked = crate::backup::check(std::fs::File::open(from)?)?;
    let name = data
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    let parent = data
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&parent)?;
    let work = parent.join(format!(".{name}.restoring"));
    if work.exists() {
        // An earlier restore was interrupted: what it left is not a store.
        std::fs::remove_dir_all(&work)?;
    }
    load(&work, from, &checked)?;
    if data.exists() {
        std::fs::remove_dir(data)?;
    }
    std::fs::rename(&work, data)?;
    std::fs::File::open(&parent)?.sync_all()?;
    Ok(checked)
}

/// Writes every record of the backup into a new sled store in `work`, and checks it reads
/// as a store whose chain ends where the backup's does.
fn load(work: &Path, from: &Path, checked: &Summary) -> Result<(), Error> {
    let manifest = &checked.manifest;
    // Written once, front to back: a small cache.
    let db = sled::Config::new()
        .path(work)
        .cache_capacity(64 << 20)
        .open()
        .map_err(storage)?;
    let tree = db.open_tree(TREE).map_err(storage)?;
    let marks = db.open_tree(MARKS).map_err(storage)?;
    let files = crate::files::DirFiles::open(work.join("papers"))?;
    let mut reader =
        crate::backup::Reader::open(std::io::BufReader::new(std::fs::File::open(from)?))?;
    let mut pending = 0usize;
    while reader.next(&mut |r| {
        match r {
            Record::Key(k, v) => {
                // One key at a time: sled's batches hold their pages past its cache limit.
                tree.insert(k, v).map_err(storage)?;
                pending += 1;
                if pending.is_multiple_of(100_000) {
                    db.flush().map_err(storage)?;
                }
            }
            Record::Mark(k, v) => {
                marks.insert(k, v).map_err(storage)?;
            }
            Record::File {
                sha256,
                size,
                reader,
            } => {
                let kept = crate::files::Files::put(&files, reader, size)?;
                if kept.sha256 != sha256 {
                    return Err(Error::Damaged(format!("the file {sha256} changed")));
                }
            }
        }
        Ok(())
    })? {}
    // The file read now is the one checked (not swapped in between).
    if reader.checksum() != checked.checksum {
        return Err(Error::Altered {
            expected: checked.checksum.clone(),
            found: reader.checksum(),
        });
    }
    super::migrate::mark_layout(&tree)?;
    super::migrate::check_layout(&db, &tree, work)?;
    let counters = read_counters(Space::of(&tree, META))?;
    if counters.audit_seq != manifest.audit_count || counters.audit_head != manifest.audit_head {
        return Err(Error::Chain(format!(
            "the restored store ends at entry {}, the backup at {}",
            counters.audit_seq, manifest.audit_count
        )));
    }
    db.flush().map_err(storage)?;
    drop((tree, marks));
    drop(db);
    Ok(())
}
