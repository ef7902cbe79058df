//! Backups: a store's whole state in one portable, checksummed file that any backend restores
//! (so a restore from sled into PostgreSQL is how a province moves), written and read as a
//! stream with bounded memory.
//!
//! The file: [`MAGIC`], a length-prefixed JSON [`Manifest`] (format, layout, when, from what,
//! the audit chain's count and head, the outbox's last number, dossiers), then records in
//! this order: `K` the key space (every record, index, timer, audit chunk, counter, pinned
//! procedure and plugin, under the same keys on every backend), `M` the marks (webhook
//! cursors, leases), `F` the papers' files (digest, size, bytes), and `E` (the count of
//! records and the SHA-256 of every byte before it). A file that ends early, was altered, or
//! whose audit chain does not end at the manifest's count and head is refused by [`check`]
//! before anything is written anywhere.

// Written and read by the backends, each a feature; the format alone serves nothing.
#![cfg_attr(not(any(feature = "sled", feature = "postgres")), allow(dead_code))]

use std::io::{Read, Write};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::batch::AUDIT_LOG;
use crate::files::Files;

pub const MAGIC: &[u8] = b"MOTCUA-BACKUP\n";
/// The key layout the records are in: one for every backend (sled also keeps it as its
/// layout marker).
pub const LAYOUT: &str = "2";
/// The version of this file format.
pub const FORMAT: u32 = 1;
/// The longest key, mark or value a record may carry (a pinned plugin is the largest value).
const MAX_RECORD: u32 = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading or writing the backup: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a motcua backup (it does not start with the motcua backup header)")]
    NotABackup,
    #[error("backup format {0} is not one this version reads (it reads format {FORMAT})")]
    Format(u32),
    #[error(
        "the backup ends early, after {records} records: it is incomplete (copied or written only in part)"
    )]
    Truncated { records: u64 },
    #[error("the backup is damaged: {0}")]
    Damaged(String),
    #[error("the backup was altered: its checksum is {found}, the file says {expected}")]
    Altered { expected: String, found: String },
    #[error("the backup's audit chain is broken: {0}")]
    Chain(String),
    #[error("the target is not empty ({0}); restore only into an empty data folder or database")]
    NotEmpty(String),
    #[error("this store cannot be backed up this way: {0}")]
    Unsupported(String),
    #[error(transparent)]
    Store(#[from] crate::Error),
    #[error(transparent)]
    Files(#[from] crate::files::Error),
}

/// What a backup holds, written first so a reader knows before restoring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The key layout of the records (the stores' `LAYOUT`).
    pub layout: String,
    pub created_at: jiff::Timestamp,
    /// `sled` or `postgres`.
    pub source: String,
    /// Audit entries in the chain and the hash of the last.
    pub audit_count: u64,
    pub audit_head: String,
    pub outbox_seq: u64,
    pub dossiers: u64,
}

/// What was written or read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub manifest: Manifest,
    pub keys: u64,
    pub marks: u64,
    pub files: u64,
    pub file_bytes: u64,
    /// The SHA-256 of the file (before its trailer).
    pub checksum: String,
}

/// A writer that hashes what passes.
struct Hashing<'a> {
    out: &'a mut dyn Write,
    hasher: Sha256,
}

impl Write for Hashing<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn put_bytes(w: &mut dyn Write, b: &[u8]) -> std::io::Result<()> {
    w.write_all(&(b.len() as u32).to_be_bytes())?;
    w.write_all(b)
}

/// Writes a backup: the manifest, every entry `kv` yields (a consistent view of the key
/// space), the marks, then every file `files` keeps, streamed.
pub(crate) fn write(
    out: &mut dyn Write,
    manifest: Manifest,
    kv: &mut dyn Iterator<Item = Result<(Bytes, Bytes), crate::Error>>,
    marks: Vec<(Vec<u8>, Bytes)>,
    files: &dyn Files,
) -> Result<Summary, Error> {
    let mut w = Hashing {
        out,
        hasher: Sha256::new(),
    };
    w.write_all(MAGIC)?;
    let head = serde_json::to_vec(&manifest).map_err(|e| Error::Damaged(e.to_string()))?;
    put_bytes(&mut w, &head)?;
    let (mut keys, mut n_marks, mut n_files, mut file_bytes) = (0u64, 0u64, 0u64, 0u64);
    for entry in kv {
        let (k, v) = entry?;
        w.write_all(b"K")?;
        put_bytes(&mut w, &k)?;
        put_bytes(&mut w, &v)?;
        keys += 1;
    }
    for (name, v) in &marks {
        w.write_all(b"M")?;
        put_bytes(&mut w, name)?;
        put_bytes(&mut w, v)?;
        n_marks += 1;
    }
    for sha in files.list()? {
        let (Some(size), Some(mut bytes)) = (files.size(&sha)?, files.open(&sha)?) else {
            // Removed since it was listed: no entry names it (the collector keeps named ones).
            continue;
        };
        w.write_all(b"F")?;
        w.write_all(sha.as_bytes())?;
        w.write_all(&size.to_be_bytes())?;
        let copied = std::io::copy(&mut (&mut bytes).take(size), &mut w)?;
        if copied != size {
            return Err(Error::Damaged(format!(
                "the file {sha} is shorter than the store says ({copied} of {size} bytes)"
            )));
        }
        n_files += 1;
        file_bytes += size;
    }
    let records = keys + n_marks + n_files;
    w.write_all(b"E")?;
    w.write_all(&records.to_be_bytes())?;
    let checksum = w.hasher.clone().finalize();
    w.out.write_all(&checksum)?;
    w.out.flush()?;
    Ok(Summary {
        manifest,
        keys,
        marks: n_marks,
        files: n_files,
        file_bytes,
        checksum: hex::encode(checksum),
    })
}

/// One record read from a backup.
pub(crate) enum Record<'r> {
    Key(Vec<u8>, Vec<u8>),
    Mark(Vec<u8>, Vec<u8>),
    /// A file's digest and size; its bytes are read from `reader` (exactly `size`).
    File {
        sha256: String,
        size: u64,
        reader: &'r mut dyn Read,
    },
}

/// Reads a backup front to back, hashing as it goes.
pub(crate) struct Reader<R: Read> {
    input: R,
    hasher: Sha256,
    records: u64,
    pub manifest: Manifest,
}

/// Hashes what is read through it.
struct Tee<'a, R: Read> {
    input: &'a mut R,
    hasher: &'a mut Sha256,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.input.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

impl<R: Read> Reader<R> {
    pub(crate) fn open(mut input: R) -> Result<Reader<R>, Error> {
        let mut hasher = Sha256::new();
        let mut magic = vec![0u8; MAGIC.len()];
        // Shorter than the header is no backup at all.
        read_exact(&mut input, &mut hasher, &mut magic, 0).map_err(|e| match e {
            Error::Truncated { .. } => Error::NotABackup,
            e => e,
        })?;
        if magic != MAGIC {
            return Err(Error::NotABackup);
        }
        let head = read_sized(&mut input, &mut hasher, 0)?;
        let manifest: Manifest = serde_json::from_slice(&head)
            .map_err(|e| Error::Damaged(format!("its manifest does not read: {e}")))?;
        if manifest.format != FORMAT {
            return Err(Error::Format(manifest.format));
        }
        Ok(Reader {
            input,
            hasher,
            records: 0,
            manifest,
        })
    }

    /// The next record, `None` at the (checked) end; `each` gets it.
    pub(crate) fn next(
        &mut self,
        each: &mut dyn FnMut(Record<'_>) -> Result<(), Error>,
    ) -> Result<bool, Error> {
        let mut tag = [0u8; 1];
        read_exact(&mut self.input, &mut self.hasher, &mut tag, self.records)?;
        match tag[0] {
            b'K' | b'M' => {
                let k = read_sized(&mut self.input, &mut self.hasher, self.records)?;
                let v = read_sized(&mut self.input, &mut self.hasher, self.records)?;
                self.records += 1;
                each(if tag[0] == b'K' {
                    Record::Key(k, v)
                } else {
                    Record::Mark(k, v)
                })?;
                Ok(true)
            }
            b'F' => {
                let mut sha = [0u8; 64];
                read_exact(&mut self.input, &mut self.hasher, &mut sha, self.records)?;
                let sha256 = String::from_utf8(sha.to_vec())
                    .ok()
                    .filter(|s| crate::files::check_digest(s).is_ok())
                    .ok_or_else(|| Error::Damaged("a file record names no digest".into()))?;
                let mut size = [0u8; 8];
                read_exact(&mut self.input, &mut self.hasher, &mut size, self.records)?;
                let size = u64::from_be_bytes(size);
                let records = self.records;
                let mut tee = Tee {
                    input: &mut self.input,
                    hasher: &mut self.hasher,
                };
                let mut limited = (&mut tee).take(size);
                each(Record::File {
                    sha256,
                    size,
                    reader: &mut limited,
                })?;
                // Whatever the consumer left unread is still part of the file.
                let rest = std::io::copy(&mut limited, &mut std::io::sink())?;
                let _ = rest;
                if limited.limit() != 0 {
                    return Err(Error::Truncated { records });
                }
                self.records += 1;
                Ok(true)
            }
            b'E' => {
                let mut count = [0u8; 8];
                read_exact(&mut self.input, &mut self.hasher, &mut count, self.records)?;
                let expected_sum = self.hasher.clone().finalize();
                let mut sum = [0u8; 32];
                self.input
                    .read_exact(&mut sum)
                    .map_err(|_| Error::Truncated {
                        records: self.records,
                    })?;
                if sum[..] != expected_sum[..] {
                    return Err(Error::Altered {
                        expected: hex::encode(sum),
                        found: hex::encode(expected_sum),
                    });
                }
                if u64::from_be_bytes(count) != self.records {
                    return Err(Error::Damaged(format!(
                        "it says {} records and holds {}",
                        u64::from_be_bytes(count),
                        self.records
                    )));
                }
                let mut extra = [0u8; 1];
                if self.input.read(&mut extra)? != 0 {
                    return Err(Error::Damaged("bytes follow its end".into()));
                }
                Ok(false)
            }
            other => Err(Error::Damaged(format!(
                "an unknown record type {other:#04x} after {} records",
                self.records
            ))),
        }
    }

    pub(crate) fn checksum(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

fn read_exact(
    input: &mut dyn Read,
    hasher: &mut Sha256,
    buf: &mut [u8],
    records: u64,
) -> Result<(), Error> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => Error::Truncated { records },
        _ => Error::Io(e),
    })?;
    hasher.update(&*buf);
    Ok(())
}

fn read_sized(input: &mut dyn Read, hasher: &mut Sha256, records: u64) -> Result<Vec<u8>, Error> {
    let mut len = [0u8; 4];
    read_exact(input, hasher, &mut len, records)?;
    let len = u32::from_be_bytes(len);
    if len > MAX_RECORD {
        return Err(Error::Damaged(format!(
            "a record of {len} bytes, over the {MAX_RECORD} a record may be"
        )));
    }
    // Grown as the bytes arrive: a length a damaged file claims allocates nothing ahead.
    let mut buf = Vec::with_capacity((len as usize).min(1 << 20));
    input.take(u64::from(len)).read_to_end(&mut buf)?;
    if buf.len() != len as usize {
        return Err(Error::Truncated { records });
    }
    hasher.update(&buf);
    Ok(buf)
}

/// Reads a whole backup without writing anything: its checksum, its structure, every file's
/// digest, its audit chain from the first entry to the manifest's count and head, and that
/// every paper an entry names is in it. A
/// restore runs this first, so a damaged backup is refused before the target is touched.
pub fn check(input: impl Read) -> Result<Summary, Error> {
    let mut reader = Reader::open(std::io::BufReader::new(input))?;
    let manifest = reader.manifest.clone();
    let mut chain = Chain::new();
    let (mut keys, mut marks, mut files, mut file_bytes) = (0u64, 0u64, 0u64, 0u64);
    let mut kept = std::collections::BTreeSet::new();
    while reader.next(&mut |r| {
        match r {
            Record::Key(k, v) => {
                keys += 1;
                chain.feed(&k, &v)?;
            }
            Record::Mark(..) => marks += 1,
            Record::File {
                sha256,
                size,
                reader,
            } => {
                let mut hasher = Sha256::new();
                std::io::copy(reader, &mut HashSink(&mut hasher))?;
                let found = hex::encode(hasher.finalize());
                if found != sha256 {
                    return Err(Error::Damaged(format!(
                        "the file {sha256} holds other bytes (they hash to {found})"
                    )));
                }
                files += 1;
                file_bytes += size;
                kept.insert(sha256);
            }
        }
        Ok(())
    })? {}
    chain.finish(&manifest)?;
    if let Some(missing) = chain.named.iter().find(|sha| !kept.contains(*sha)) {
        return Err(Error::Damaged(format!(
            "the paper {missing} an audit entry names is not in it"
        )));
    }
    Ok(Summary {
        checksum: reader.checksum(),
        manifest,
        keys,
        marks,
        files,
        file_bytes,
    })
}

struct HashSink<'a>(&'a mut Sha256);

impl Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The audit chain as its chunks stream past, in key (and so sequence) order.
struct Chain {
    count: u64,
    head: String,
    /// The papers the entries attach.
    named: std::collections::BTreeSet<String>,
}

impl Chain {
    fn new() -> Chain {
        Chain {
            count: 0,
            head: motcua_core::audit::GENESIS.to_string(),
            named: Default::default(),
        }
    }

    fn feed(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        if key.first() != Some(&AUDIT_LOG) {
            return Ok(());
        }
        let first = key
            .get(1..9)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| Error::Chain("an audit chunk with a malformed key".into()))?;
        if first != self.count + 1 {
            return Err(Error::Chain(format!(
                "a chunk starts at entry {first} where entry {} was expected",
                self.count + 1
            )));
        }
        let mut entries = vec![];
        for (i, line) in value
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            let seq = first + i as u64;
            entries.push(
                crate::view::parse_entry(seq, line)
                    .map_err(|e| Error::Chain(format!("entry {seq}: {e}")))?,
            );
        }
        for e in entries
            .iter()
            .filter(|e| e.action == motcua_core::transition::ATTACH)
        {
            if let Some(sha) = e.input.get("sha256").and_then(|v| v.as_str()) {
                self.named.insert(sha.to_string());
            }
        }
        let n = motcua_core::audit::verify(&self.head, &entries)
            .map_err(|e| Error::Chain(e.to_string()))?;
        self.count += n;
        if let Some(last) = entries.last() {
            self.head = last.hash.clone();
        }
        Ok(())
    }

    fn finish(&self, m: &Manifest) -> Result<(), Error> {
        if self.count < m.audit_count {
            return Err(Error::Chain(format!(
                "it holds {} entries; the manifest says {}",
                self.count, m.audit_count
            )));
        }
        // Entries past the manifest's count would be a commit the snapshot did not include.
        if self.count != m.audit_count || self.head != m.audit_head {
            return Err(Error::Chain(format!(
                "it ends at entry {} ({}), the manifest at {} ({})",
                self.count, self.head, m.audit_count, m.audit_head
            )));
        }
        Ok(())
    }
}
