//! The dossiers' papers as bytes: each file stored once under its SHA-256, written and made
//! durable before the transition that names it is committed, so a committed entry never names
//! a file the store could lose. A file no entry names yet (an upload refused, or cut short
//! before its attach) is the garbage a grace period later removes.
//!
//! - [`MemoryFiles`]: in memory, for the in-memory store;
//! - [`DirFiles`]: one file per document in a folder beside sled's (`papers/ab/abcd…`),
//!   written to a temporary name, fsynced, renamed, and the folder fsynced;
//! - PostgreSQL keeps them in its own table (`pg::files`), so every node reads every file.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// A file as stored: what the attach entry records of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Lower-case hex.
    pub sha256: String,
    pub size: u64,
    /// The first bytes, for sniffing the media type without reading the file again.
    pub head: Vec<u8>,
    /// This put made the file: no copy was kept under the digest before (one that was may
    /// be named by a committed entry, and is never the put's to remove).
    pub fresh: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the file is over the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the file is empty")]
    Empty,
    #[error("reading the upload failed: {0}")]
    Upload(std::io::Error),
    #[error("storing the file failed: {0}")]
    Storage(String),
    #[error("'{0}' is not a SHA-256 in lower-case hex")]
    BadDigest(String),
}

/// How many leading bytes [`Stored::head`] keeps.
pub const HEAD: usize = 16;

/// Where a store keeps its files.
pub trait Files: Send + Sync {
    /// Reads `from` to its end (at most `limit` bytes, else [`Error::TooLarge`] and nothing
    /// kept), hashing as it goes, and keeps the bytes durably under their SHA-256. Storing
    /// the same bytes twice keeps one copy. Memory stays bounded: the bytes are streamed.
    fn put(&self, from: &mut dyn Read, limit: u64) -> Result<Stored, Error>;
    /// The bytes of a file, streamed, or `None` when the store has no such file.
    fn open(&self, sha256: &str) -> Result<Option<Box<dyn Read + Send>>, Error>;
    /// A file's size in bytes, or `None` when the store has no such file (a paper referenced
    /// by a submission takes its size from here, not from the request).
    fn size(&self, sha256: &str) -> Result<Option<u64>, Error>;
    /// Every file's digest (for checking them all and for collecting the unreferenced).
    fn list(&self) -> Result<Vec<String>, Error>;
    /// Removes a file (garbage collection of a file no committed entry names).
    fn remove(&self, sha256: &str) -> Result<(), Error>;
    /// The digests of the files kept longer ago than `age` (candidates for collection; the
    /// caller keeps those an entry names).
    fn older_than(&self, age: std::time::Duration) -> Result<Vec<String>, Error>;
    /// Removes what uploads cut short left (written under a temporary name) longer ago than
    /// `age`; how many.
    fn sweep_uploads(&self, age: std::time::Duration) -> Result<u64, Error>;
    /// Removes a file only if it is still older than `age` (a file kept again meanwhile is
    /// young again: its upload is on its way to an attach); whether it was removed.
    fn remove_if_older(&self, sha256: &str, age: std::time::Duration) -> Result<bool, Error>;
}

/// A digest as the store names files: 64 lower-case hex digits, nothing else (it becomes a
/// path on disk).
pub fn check_digest(sha256: &str) -> Result<(), Error> {
    let ok = sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::BadDigest(sha256.chars().take(80).collect()))
    }
}

/// Copies `from` into `to` up to `limit` bytes, hashing; the digest, size and head.
fn copy_hashing(from: &mut dyn Read, to: &mut dyn Write, limit: u64) -> Result<Stored, Error> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size: u64 = 0;
    let mut head = Vec::with_capacity(HEAD);
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Upload(e)),
        };
        size += n as u64;
        if size > limit {
            return Err(Error::TooLarge { limit });
        }
        if head.len() < HEAD {
            let take = (HEAD - head.len()).min(n);
            head.extend_from_slice(&buf[..take]);
        }
        hasher.update(&buf[..n]);
        to.write_all(&buf[..n])
            .map_err(|e| Error::Storage(e.to_string()))?;
    }
    if size == 0 {
        return Err(Error::Empty);
    }
    Ok(Stored {
        sha256: hex::encode(hasher.finalize()),
        size,
        head,
        fresh: true,
    })
}

/// One file in memory and when it was kept.
type Held = (std::sync::Arc<Vec<u8>>, std::time::Instant);

/// Files in memory (the in-memory store's), with when each was kept.
#[derive(Default)]
pub struct MemoryFiles {
    files: Mutex<HashMap<String, Held>>,
}

impl Files for MemoryFiles {
    fn put(&self, from: &mut dyn Read, limit: u64) -> Result<Stored, Error> {
        let mut bytes = Vec::new();
        let stored = copy_hashing(from, &mut bytes, limit)?;
        let mut files = self
            .files
            .lock()
            .map_err(|_| Error::Storage("poisoned".into()))?;
        // Kept again: young again, so a collection does not take it from the attach to come.
        let fresh = !files.contains_key(&stored.sha256);
        files
            .entry(stored.sha256.clone())
            .and_modify(|(_, at)| *at = std::time::Instant::now())
            .or_insert_with(|| (std::sync::Arc::new(bytes), std::time::Instant::now()));
        Ok(Stored { fresh, ..stored })
    }

    fn open(&self, sha256: &str) -> Result<Option<Box<dyn Read + Send>>, Error> {
        check_digest(sha256)?;
        let files = self
            .files
            .lock()
            .map_err(|_| Error::Storage("poisoned".into()))?;
        Ok(files.get(sha256).map(|(b, _)| {
            let reader: Box<dyn Read + Send> =
                Box::new(std::io::Cursor::new(SharedBytes(b.clone())));
            reader
        }))
    }

    fn size(&self, sha256: &str) -> Result<Option<u64>, Error> {
        check_digest(sha256)?;
        let files = self
            .files
            .lock()
            .map_err(|_| Error::Storage("poisoned".into()))?;
        Ok(files.get(sha256).map(|(b, _)| b.len() as u64))
    }

    fn list(&self) -> Result<Vec<String>, Error> {
        let files = self
            .files
            .lock()
            .map_err(|_| Error::Storage("poisoned".into()))?;
        let mut all: Vec<String> = files.keys().cloned().collect();
        all.sort();
        Ok(all)
    }

    fn remove(&self, sha256: &str) -> Result<(), Error> {
        check_digest(sha256)?;
        self.files
            .lock()
            .map_err(|_| Error::Storage("poisoned".into()))?
            .remove(sha256);
        Ok(())
    }

    fn older_than(&self, age: std::time::Duration) -> Result<Vec<String>, Error> {
        let files = self
            .files
            .lock()
            .map_err(|_| Error::Storage("poisoned".into()))?;
        let mut old: Vec<String> = files
            .iter()
            .filter(|(_, (_, at))| at.elapsed() >= age)
            .map(|(sha, _)| sha.clone())
            .collect();
        old.sort();
        Ok(old)
    }

    fn sweep_uploads(&self, _age: std::time::Duration) -> Result<u64, Error> {
        // An upload in memory is kept whole or not at all.
        Ok(0)
    }

    fn remove_if_older(&self, sha256: &str, age: std::time::Duration) -> Result<bool, Error> {
        check_digest(sha256)?;
        let mut files = self
            .files
            .lock()
            .map_err(|_| Error::Storage("poisoned".into()))?;
        let old = files.get(sha256).is_some_and(|(_, at)| at.elapsed() >= age);
        if old {
            files.remove(sha256);
        }
        Ok(old)
    }
}

impl std::fmt::Debug for MemoryFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryFiles")
    }
}

struct SharedBytes(std::sync::Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Files in a folder: `<root>/ab/abcdef…` by digest, written through `<root>/tmp`.
pub struct DirFiles {
    root: PathBuf,
}

impl DirFiles {
    /// The folder `root` (created if absent).
    pub fn open(root: impl Into<PathBuf>) -> Result<DirFiles, Error> {
        let root = root.into();
        std::fs::create_dir_all(root.join("tmp")).map_err(|e| Error::Storage(e.to_string()))?;
        if let Some(parent) = root.parent() {
            sync_dir(parent)?;
        }
        sync_dir(&root)?;
        Ok(DirFiles { root })
    }

    /// The folder `root` as it is, creating nothing (a reader's view: verification). A
    /// folder that does not exist holds no files.
    pub fn existing(root: impl Into<PathBuf>) -> DirFiles {
        DirFiles { root: root.into() }
    }

    fn path_of(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::Storage(e.to_string()))
}

impl Files for DirFiles {
    fn put(&self, from: &mut dyn Read, limit: u64) -> Result<Stored, Error> {
        let mut name = [0u8; 16];
        getrandom::fill(&mut name).map_err(|e| Error::Storage(e.to_string()))?;
        let tmp = self.root.join("tmp").join(hex::encode(name));
        let stored = (|| {
            let mut file =
                std::fs::File::create(&tmp).map_err(|e| Error::Storage(e.to_string()))?;
            let stored = {
                let mut out = std::io::BufWriter::new(&mut file);
                let s = copy_hashing(from, &mut out, limit)?;
                out.flush().map_err(|e| Error::Storage(e.to_string()))?;
                s
            };
            file.sync_all().map_err(|e| Error::Storage(e.to_string()))?;
            Ok::<_, Error>(stored)
        })();
        let stored = match stored {
            Ok(s) => s,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let dest = self.path_of(&stored.sha256);
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        if !dir.is_dir() {
            std::fs::create_dir_all(&dir).map_err(|e| Error::Storage(e.to_string()))?;
            // A new `ab/` folder is itself a name in the root, durable once the root is synced.
            sync_dir(&self.root)?;
        }
        // Renamed over any copy already there: the same bytes (content-addressed), and fresh
        // ones repair a copy damaged on disk; the new mtime makes the file young again, so a
        // collection does not take it from the attach to come.
        let fresh = !dest.exists();
        std::fs::rename(&tmp, &dest).map_err(|e| Error::Storage(e.to_string()))?;
        // The rename is durable only once the folder holding the name is synced.
        sync_dir(&dir)?;
        Ok(Stored { fresh, ..stored })
    }

    fn open(&self, sha256: &str) -> Result<Option<Box<dyn Read + Send>>, Error> {
        check_digest(sha256)?;
        match std::fs::File::open(self.path_of(sha256)) {
            Ok(f) => Ok(Some(Box::new(std::io::BufReader::new(f)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Storage(e.to_string())),
        }
    }

    fn size(&self, sha256: &str) -> Result<Option<u64>, Error> {
        check_digest(sha256)?;
        match std::fs::metadata(self.path_of(sha256)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Storage(e.to_string())),
        }
    }

    fn list(&self) -> Result<Vec<String>, Error> {
        let mut all = vec![];
        let dirs = match std::fs::read_dir(&self.root) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(all),
            Err(e) => return Err(Error::Storage(e.to_string())),
        };
        for dir in dirs.flatten() {
            let name = dir.file_name().to_string_lossy().into_owned();
            if name.len() != 2 || !dir.path().is_dir() {
                continue;
            }
            let files = std::fs::read_dir(dir.path()).map_err(|e| Error::Storage(e.to_string()))?;
            for f in files.flatten() {
                let sha = f.file_name().to_string_lossy().into_owned();
                if check_digest(&sha).is_ok() {
                    all.push(sha);
                }
            }
        }
        all.sort();
        Ok(all)
    }

    fn remove(&self, sha256: &str) -> Result<(), Error> {
        check_digest(sha256)?;
        match std::fs::remove_file(self.path_of(sha256)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Storage(e.to_string())),
        }
    }

    fn remove_if_older(&self, sha256: &str, age: std::time::Duration) -> Result<bool, Error> {
        check_digest(sha256)?;
        if !modified_before(&self.path_of(sha256), age)? {
            return Ok(false);
        }
        self.remove(sha256)?;
        Ok(true)
    }

    fn older_than(&self, age: std::time::Duration) -> Result<Vec<String>, Error> {
        let mut old = vec![];
        for sha in self.list()? {
            if modified_before(&self.path_of(&sha), age)? {
                old.push(sha);
            }
        }
        Ok(old)
    }

    fn sweep_uploads(&self, age: std::time::Duration) -> Result<u64, Error> {
        let tmp = self.root.join("tmp");
        let entries = match std::fs::read_dir(&tmp) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(Error::Storage(e.to_string())),
        };
        let mut swept = 0;
        for e in entries.flatten() {
            if modified_before(&e.path(), age)? && std::fs::remove_file(e.path()).is_ok() {
                swept += 1;
            }
        }
        Ok(swept)
    }
}

/// Whether the file at `path` was last written longer ago than `age` (a file gone meanwhile
/// is not).
fn modified_before(path: &Path, age: std::time::Duration) -> Result<bool, Error> {
    match std::fs::metadata(path).and_then(|m| m.modified()) {
        Ok(at) => Ok(at.elapsed().is_ok_and(|e| e >= age)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::Storage(e.to_string())),
    }
}

/// The SHA-256 of everything `from` yields (checking a stored file against its name).
pub fn digest_of(from: &mut dyn Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn each(check: impl Fn(&dyn Files)) {
        check(&MemoryFiles::default());
        let dir = tempfile::tempdir().expect("dir");
        check(&DirFiles::open(dir.path().join("papers")).expect("files"));
    }

    #[test]
    fn a_file_is_kept_once_under_its_digest_and_read_back_whole() {
        each(|files| {
            let scan = b"%PDF-1.7 a scanned land-use certificate".to_vec();
            let a = files.put(&mut scan.as_slice(), 1 << 20).expect("stored");
            let b = files
                .put(&mut scan.as_slice(), 1 << 20)
                .expect("stored again");
            assert_eq!((&a.sha256, a.size), (&b.sha256, b.size));
            // The second put found the file there: it did not make it.
            assert!(a.fresh && !b.fresh);
            assert_eq!(a.size, scan.len() as u64);
            assert_eq!(&a.head[..5], b"%PDF-");
            assert_eq!(files.list().expect("list"), vec![a.sha256.clone()]);
            let mut back = vec![];
            files
                .open(&a.sha256)
                .expect("read")
                .expect("present")
                .read_to_end(&mut back)
                .expect("bytes");
            assert_eq!(back, scan);
            assert_eq!(digest_of(&mut back.as_slice()).expect("digest"), a.sha256);
            files.remove(&a.sha256).expect("removed");
            assert!(files.open(&a.sha256).expect("read").is_none());
        });
    }

    #[test]
    fn an_oversized_or_empty_upload_keeps_nothing_and_a_path_is_no_digest() {
        each(|files| {
            let big = vec![7u8; 4096];
            assert!(matches!(
                files.put(&mut big.as_slice(), 1000),
                Err(Error::TooLarge { limit: 1000 })
            ));
            assert!(matches!(
                files.put(&mut [].as_slice(), 1000),
                Err(Error::Empty)
            ));
            assert!(files.list().expect("list").is_empty());
            assert!(matches!(
                files.open("../../etc/passwd"),
                Err(Error::BadDigest(_))
            ));
        });
    }
}
