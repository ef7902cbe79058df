//! Rebuilding the listing index of a store written before its newest keys existed (staff
//! search, due and receipt order: [`keys::INDEX_GENERATION`]). Index keys are a function of
//! each stored dossier ([`keys::index_keys`]), so rebuilding writes every key of every dossier
//! and touches nothing else: not a record, an audit line, a timer or a counter. It is run by
//! `motcua migrate`, never at open; a store whose index is older is refused at open until it
//! is. Writing a key twice is harmless, so a rebuild cut short is finished by running it again.

use bytes::Bytes;

use crate::Error;
use crate::batch::{DOSSIERS, IDX, META, parse_record};
use crate::keys;
use crate::kv::{Kv, Writes};
use crate::view::Space;

/// The key in space `m` that records the index generation.
pub(crate) const INDEX_KEY: &[u8] = b"index";

/// Writes per batch: bounded memory on any store size.
const BATCH_KEYS: usize = 20_000;

/// Where a store's index stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Marked with this version's generation.
    Current,
    /// Not marked, and no dossier stored yet: mark it and it is current.
    Empty,
    /// Written by an older version: rebuild before serving.
    Stale,
    /// Marked by a newer version, whose index this one does not know how to keep.
    Newer,
}

pub(crate) fn state(kv: &dyn Kv) -> Result<State, Error> {
    let meta = Space::of(kv, META);
    Ok(match meta.get(INDEX_KEY)? {
        Some(v) if v.as_ref() == keys::INDEX_GENERATION => State::Current,
        Some(v) if v.as_ref() > keys::INDEX_GENERATION => State::Newer,
        Some(_) => State::Stale,
        None if Space::of(kv, DOSSIERS).range(b"", None).next().is_none() => State::Empty,
        None => State::Stale,
    })
}

/// The write that marks the index current.
pub(crate) fn mark() -> (Vec<u8>, Option<Bytes>) {
    let mut k = vec![META];
    k.extend_from_slice(INDEX_KEY);
    (k, Some(Bytes::from_static(keys::INDEX_GENERATION)))
}

/// Every index key of every dossier in `read`, written through `apply` in bounded batches,
/// then the mark; the number of dossiers.
pub(crate) fn rebuild(
    read: &dyn Kv,
    apply: &mut dyn FnMut(Writes) -> Result<(), Error>,
) -> Result<u64, Error> {
    let idx = Space::of(read, IDX);
    let mut writes: Writes = vec![];
    let mut dossiers = 0u64;
    for item in Space::of(read, DOSSIERS).range(b"", None) {
        let (k, v) = item?;
        let code = std::str::from_utf8(&k)
            .map_err(|_| Error::Corrupt("a dossier key is not UTF-8".into()))?;
        let (d, _) = parse_record(code, &v)?;
        for key in keys::index_keys(&d) {
            writes.push((idx.key(&key), Some(Bytes::new())));
        }
        dossiers += 1;
        if writes.len() >= BATCH_KEYS {
            apply(std::mem::take(&mut writes))?;
        }
    }
    writes.push(mark());
    apply(writes)?;
    Ok(dossiers)
}
