//! The ordered key-value space every store writes its records into (layout in [`super::keys`]):
//! sled's tree for the embedded store (`sled::kv`), a table for PostgreSQL (`pg::kv`), a
//! `BTreeMap` for the in-memory one. The commit rules ([`super::batch`]) and the reads
//! ([`super::view`]) are written once against this, in plain bytes: no backend's types cross
//! this seam. Values are [`Bytes`], so a backend that owns its buffers (sled's `IVec`) hands
//! them over without a copy.

use std::collections::BTreeMap;
use std::sync::RwLock;

use bytes::Bytes;

use super::Error;

/// One commit's writes, in order: a value to put, or `None` to remove the key.
pub(crate) type Writes = Vec<(Vec<u8>, Option<Bytes>)>;

/// Entries of a range, in key order.
pub(crate) type Entries<'a> =
    Box<dyn DoubleEndedIterator<Item = Result<(Bytes, Bytes), Error>> + 'a>;

pub(crate) trait Kv: Send + Sync {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, Error>;
    /// Several keys at once (one round trip where the medium is a server).
    fn get_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Bytes>>, Error> {
        keys.iter().map(|k| self.get(k)).collect()
    }
    /// Entries with `lower <= key < upper`.
    fn range(&self, lower: Vec<u8>, upper: Vec<u8>) -> Entries<'_>;
    /// Applies every write, atomically: after a crash all of them or none.
    fn apply(&self, writes: Writes) -> Result<(), Error>;
}

/// The in-memory space: a `BTreeMap` behind a lock. A range is copied out under the read lock
/// (the in-memory store is for tests and small embedded uses, not for millions of dossiers).
#[derive(Debug, Default)]
pub(crate) struct MemKv {
    map: RwLock<BTreeMap<Vec<u8>, Bytes>>,
}

impl Kv for MemKv {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, Error> {
        let map = self
            .map
            .read()
            .map_err(|_| Error::Read("poisoned".into()))?;
        Ok(map.get(key).cloned())
    }

    fn range(&self, lower: Vec<u8>, upper: Vec<u8>) -> Entries<'_> {
        let entries: Vec<Result<(Bytes, Bytes), Error>> = match self.map.read() {
            Ok(map) if lower < upper => map
                .range(lower..upper)
                .map(|(k, v)| Ok((Bytes::copy_from_slice(k), v.clone())))
                .collect(),
            Ok(_) => vec![],
            Err(_) => vec![Err(Error::Read("poisoned".into()))],
        };
        Box::new(entries.into_iter())
    }

    fn apply(&self, writes: Writes) -> Result<(), Error> {
        let mut map = self
            .map
            .write()
            .map_err(|_| Error::NotWritten("the in-memory store is poisoned".into()))?;
        for (k, v) in writes {
            match v {
                Some(v) => {
                    map.insert(k, v);
                }
                None => {
                    map.remove(&k);
                }
            }
        }
        Ok(())
    }
}
