//! The chunked spaces (the audit log, the outbox): numbered lines packed into chunks keyed by
//! the number of their first line, read by number.

use bytes::Bytes;

use super::{Space, be_u64};
use crate::Error;
use crate::batch::corrupt;
use motcua_core::audit;

/// The audit line stored at position `seq` parsed, or why it cannot be: a line that names
/// another number is refused, so no reader serves one entry as another.
pub(crate) fn parse_entry(seq: u64, line: &[u8]) -> Result<audit::Entry, Error> {
    let e =
        audit::Entry::from_line(line).map_err(|e| corrupt(format!("audit entry {seq}: {e}")))?;
    if e.seq != seq {
        return Err(corrupt(format!(
            "audit entry {seq}: the line stored in its place is entry {} (the log was altered)",
            e.seq
        )));
    }
    Ok(e)
}

/// The lines numbered `from..=through` of a chunked space (the audit log, the outbox), at most
/// `limit`, parsed.
pub(crate) fn chunk_lines<T: serde::de::DeserializeOwned>(
    space: Space,
    from: u64,
    through: u64,
    limit: usize,
) -> Result<Vec<(u64, T)>, Error> {
    let mut out = vec![];
    let mut failed = None;
    if limit == 0 {
        return Ok(out);
    }
    chunk_raw(space, from, through, &mut |seq, line| {
        match serde_json::from_slice(line) {
            Ok(v) => out.push((seq, v)),
            Err(e) => failed = Some(corrupt(e)),
        }
        failed.is_none() && out.len() < limit
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// The raw lines numbered `from..=through` of a chunked space, to `f` until it returns false.
pub(crate) fn chunk_raw(
    space: Space,
    from: u64,
    through: u64,
    f: &mut dyn FnMut(u64, &[u8]) -> bool,
) -> Result<(), Error> {
    if from > through {
        return Ok(());
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
            if seq > through || !f(seq, line) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The chunk that holds sequence number `seq`, with its first sequence number.
pub(crate) fn chunk_holding(space: Space, seq: u64) -> Result<Option<(u64, Bytes)>, Error> {
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
pub(crate) fn chunk_start(space: Space, seq: u64) -> Result<[u8; 8], Error> {
    Ok(match chunk_holding(space, seq)? {
        Some((first, _)) => first.to_be_bytes(),
        None => seq.to_be_bytes(),
    })
}
