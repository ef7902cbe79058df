//! Verifying a whole store: its log line by line as stored, the head and count its counters
//! record, the dossier records against the entries that wrote them, and optionally a signed
//! checkpoint the log must still extend. Reads stream through [`Reader`]; memory stays flat
//! however long the log.
//!
//! The full proof needs a store nobody writes to during the check (the CLI opens the store,
//! and sled's lock keeps everyone else out): a commit between reading the counters and the
//! records would look like tampering. [`Options::live`] checks a store in use: the chain up to
//! the head read at the start, without judging what is committed meanwhile, and no records.

use super::checkpoint::{self, Checkpoint, PublicKeyFile};
use super::verify::{self, Chain, Exact, Key, Verified};
use crate::store::{self, Reader};

/// What to prove beyond the chain itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// Also prove every stored dossier record is the one its last entry wrote.
    pub records: bool,
    /// Prove the log extends this checkpoint, signed by this key.
    pub checkpoint: Option<(&'a Checkpoint, &'a PublicKeyFile)>,
    /// The store may be written to during the check (see the module docs).
    pub live: bool,
}

/// Why a store did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Log(#[from] verify::Error),
    #[error("the checkpoint: {0}")]
    Checkpoint(#[from] checkpoint::Error),
    #[error(
        "the log does not extend the checkpoint: entry {count} hashes to {found}, the checkpoint says {head} (the chain was rewritten)"
    )]
    Diverged {
        count: u64,
        head: String,
        found: String,
    },
    #[error(
        "the log has {found} entries, fewer than the {count} of the checkpoint (entries were deleted)"
    )]
    Shorter { found: u64, count: u64 },
    #[error("dossier records cannot be proved on a store in use; check them on a store at rest")]
    LiveRecords,
    #[error("reading the store: {0}")]
    Store(#[from] store::Error),
}

/// Dossiers held in memory at once by the pass that names a mismatching record.
const EXACT_PER_PASS: u64 = 200_000;

/// Proves the store's log (and what `options` asks).
pub fn verify_store(reader: &dyn Reader, options: &Options) -> Result<Verified, Error> {
    if options.live && options.records {
        return Err(Error::LiveRecords);
    }
    if let Some((cp, key)) = options.checkpoint {
        cp.verify_signature(key)?;
    }
    // One reading of the counters bounds everything that follows.
    let (count, head) = reader.audit_head()?;
    let mut chain = Chain::new(Key::random());
    let mut failed = None;
    // The hash at the checkpoint's count, if it differs from the checkpoint's: decided once
    // the chain is known intact, since a modified entry there also changes it.
    let mut diverged = None;
    let at_checkpoint = options
        .checkpoint
        .map(|(cp, _)| (cp.count, cp.head.as_str()));
    if let Some((0, h)) = at_checkpoint
        && h != super::GENESIS
    {
        diverged = Some((0, super::GENESIS.to_string()));
    }
    let mut visit = |position: u64, line: &[u8]| {
        if chain.count() >= count && options.live {
            return false;
        }
        if let Err(e) = chain.push(position, line) {
            failed = Some(e);
            return false;
        }
        if let Some((n, h)) = at_checkpoint
            && chain.count() == n
            && chain.head() != h
        {
            diverged = Some((n, chain.head()));
        }
        true
    };
    // At rest, every stored line: one past the head the counters name is a finding.
    if options.live {
        reader.audit_lines(1, &mut visit)?;
    } else {
        reader.audit_lines_stored(1, &mut visit)?;
    }
    if let Some(e) = failed {
        return Err(e.into());
    }
    let found = chain.count();
    let finished = chain.finish(count, &head)?;
    if let (Some((n, found)), Some((_, h))) = (diverged, at_checkpoint) {
        return Err(Error::Diverged {
            count: n,
            head: h.to_string(),
            found,
        });
    }
    if let Some((n, _)) = at_checkpoint
        && found < n
    {
        return Err(Error::Shorter { found, count: n });
    }
    if options.records {
        let mut records = finished.records();
        let mut dossiers = 0u64;
        reader.dossier_records(&mut |code, record| {
            records.push(code, record);
            dossiers += 1;
            true
        })?;
        if !finished.matches(&records) {
            return Err(name_mismatch(reader, dossiers)?.into());
        }
    }
    Ok(finished.verified)
}

/// The dossier (smallest code) whose record differs from the log, found pass by pass.
fn name_mismatch(reader: &dyn Reader, dossiers: u64) -> Result<verify::Error, Error> {
    let partitions = Exact::partitions(dossiers, EXACT_PER_PASS);
    let mut first: Option<verify::Error> = None;
    for partition in 0..partitions {
        let mut exact = Exact::new(partitions, partition);
        let mut unreadable = None;
        reader.audit_lines(1, &mut |seq, line| match super::Entry::from_line(line) {
            Ok(e) => {
                exact.push(&e);
                true
            }
            Err(_) => {
                unreadable = Some(verify::Error::Modified { seq });
                false
            }
        })?;
        if let Some(e) = unreadable {
            return Ok(e);
        }
        reader.dossier_records(&mut |code, record| {
            if exact.holds(code) {
                exact.check(code, record);
            }
            true
        })?;
        if let Some(e) = exact.finish() {
            let smaller = match (&first, &e) {
                (
                    Some(verify::Error::Dossier { code: a, .. }),
                    verify::Error::Dossier { code: b, .. },
                ) => b < a,
                (None, _) => true,
                _ => false,
            };
            if smaller {
                first = Some(e);
            }
        }
    }
    Ok(first.unwrap_or(verify::Error::Records))
}
