//! sled's tree as the store's [`Kv`] space.

use bytes::Bytes;

use crate::Error;
use crate::kv::{Entries, Kv, Writes};

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
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, Error> {
        sled::Tree::get(self, key)
            .map(|v| v.map(Bytes::from_owner))
            .map_err(storage)
    }

    fn range(&self, lower: Vec<u8>, upper: Vec<u8>) -> Entries<'_> {
        Box::new(sled::Tree::range(self, lower..upper).map(|item| {
            item.map(|(k, v)| (Bytes::from_owner(k), Bytes::from_owner(v)))
                .map_err(storage)
        }))
    }

    fn apply(&self, writes: Writes) -> Result<(), Error> {
        let mut batch = sled::Batch::default();
        for (k, v) in writes {
            match v {
                Some(v) => batch.insert(k, &v[..]),
                None => batch.remove(k),
            }
        }
        self.apply_batch(batch).map_err(storage)
    }
}
