//! The ordered key-value space every store writes its records into (layout in [`super::keys`]):
//! sled's tree for the embedded store, a `BTreeMap` for the in-memory one. The commit rules
//! ([`super::batch`]) and the reads ([`super::view`]) are written once against this.

use std::collections::BTreeMap;
use std::sync::RwLock;

use sled::IVec;

use super::Error;

/// One commit's writes, in order: a value to put, or `None` to remove the key.
pub(crate) type Writes = Vec<(Vec<u8>, Option<IVec>)>;

/// Entries of a range, in key order.
pub(crate) type Entries<'a> = Box<dyn DoubleEndedIterator<Item = Result<(IVec, IVec), Error>> + 'a>;

pub(crate) trait Kv: Send + Sync {
    fn get(&self, key: &[u8]) -> Result<Option<IVec>, Error>;
    /// Several keys at once (one round trip where the medium is a server).
    fn get_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<IVec>>, Error> {
        keys.iter().map(|k| self.get(k)).collect()
    }
    /// Entries with `lower <= key < upper`.
    fn range(&self, lower: Vec<u8>, upper: Vec<u8>) -> Entries<'_>;
    /// Applies every write, atomically: after a crash all of them or none.
    fn apply(&self, writes: Writes) -> Result<(), Error>;
}

/// A failed sled read. sled's corruption report becomes [`Error::Corrupt`], which says what
/// to do; anything else is an I/O problem of the moment.
pub(crate) fn storage(e: sled::Error) -> Error {
    match e {
        sled::Error::Corruption { .. } => {
            Error::Corrupt(format!("sled found corrupted data ({e})"))
        }
        other => Error::Read(other.to_string()),
    }
}

impl Kv for sled::Tree {
    fn get(&self, key: &[u8]) -> Result<Option<IVec>, Error> {
        sled::Tree::get(self, key).map_err(storage)
    }

    fn range(&self, lower: Vec<u8>, upper: Vec<u8>) -> Entries<'_> {
        Box::new(sled::Tree::range(self, lower..upper).map(|item| item.map_err(storage)))
    }

    fn apply(&self, writes: Writes) -> Result<(), Error> {
        let mut batch = sled::Batch::default();
        for (k, v) in writes {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        self.apply_batch(batch).map_err(storage)
    }
}

/// The in-memory space: a `BTreeMap` behind a lock. A range is copied out under the read lock
/// (the in-memory store is for tests and small embedded uses, not for millions of dossiers).
#[derive(Debug, Default)]
pub(crate) struct MemKv {
    map: RwLock<BTreeMap<Vec<u8>, IVec>>,
}

impl Kv for MemKv {
    fn get(&self, key: &[u8]) -> Result<Option<IVec>, Error> {
        let map = self
            .map
            .read()
            .map_err(|_| Error::Read("poisoned".into()))?;
        Ok(map.get(key).cloned())
    }

    fn range(&self, lower: Vec<u8>, upper: Vec<u8>) -> Entries<'_> {
        let entries: Vec<Result<(IVec, IVec), Error>> = match self.map.read() {
            Ok(map) if lower < upper => map
                .range(lower..upper)
                .map(|(k, v)| Ok((IVec::from(k.as_slice()), v.clone())))
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
