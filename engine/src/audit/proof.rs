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
    /// Logs of at least twice this many entries are read in two halves on two threads
    /// (default [`MIN_HALF`]); tests set it low to exercise the seam.
    #[doc(hidden)]
    pub min_half: Option<u64>,
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
    #[error("a verification thread panicked")]
    Panicked,
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
    let key = Key::random();
    let at_checkpoint = options
        .checkpoint
        .map(|(cp, _)| (cp.count, cp.head.as_str()));
    let mut diverged = None;
    if let Some((0, h)) = at_checkpoint
        && h != super::GENESIS
    {
        diverged = Some((0, super::GENESIS.to_string()));
    }
    // At rest the log is read in two halves on two threads, with the records on a third: the
    // hashing of one line does not depend on the hashing of the one before.
    let halves = !options.live && count >= 2 * options.min_half.unwrap_or(MIN_HALF).max(1);
    let mid = if halves { count / 2 } else { u64::MAX };
    let (first, second, records) = std::thread::scope(|scope| {
        let second = halves.then(|| {
            let key = key.clone();
            scope.spawn(move || {
                segment(
                    reader,
                    Chain::resume(key, mid),
                    mid + 1,
                    u64::MAX,
                    false,
                    at_checkpoint,
                )
            })
        });
        let records = (options.records && !options.live).then(|| {
            let key = key.clone();
            scope.spawn(move || sum_records(reader, key))
        });
        let through = match (halves, options.live) {
            (true, _) => mid,
            (false, true) => count,
            (false, false) => u64::MAX,
        };
        let first = segment(
            reader,
            Chain::new(key.clone()),
            1,
            through,
            options.live,
            at_checkpoint,
        );
        (first, second.map(|h| h.join()), records.map(|h| h.join()))
    });
    let (chain, first_diverged) = first?;
    if first_diverged.is_some() {
        diverged = first_diverged;
    }
    let chain = match second {
        None => chain,
        Some(Err(_)) => return Err(Error::Panicked),
        Some(Ok(second)) => {
            let (b, b_diverged) = second?;
            let joined = Chain::join(chain, b, mid)?;
            diverged = diverged.or(b_diverged);
            joined
        }
    };
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
    if let Some(records) = records {
        let (records, dossiers) = records.map_err(|_| Error::Panicked)??;
        if !finished.matches(&records) {
            return Err(name_mismatch(reader, dossiers)?.into());
        }
    }
    Ok(finished.verified)
}

/// Below twice this many entries a log is read on one thread.
pub const MIN_HALF: u64 = 50_000;

/// What one reading of a run of the log found: the chain so far, and the hash at the
/// checkpoint's count if it differs from the checkpoint's.
type Read = Result<(Chain, Option<(u64, String)>), Error>;

/// Verifies the stored lines at positions `from..=through` into `chain`. `live` stops at the
/// head read at the start (`through`) and reads only what is durable.
fn segment(
    reader: &dyn Reader,
    mut chain: Chain,
    from: u64,
    through: u64,
    live: bool,
    at_checkpoint: Option<(u64, &str)>,
) -> Read {
    let mut failed = None;
    let mut diverged = None;
    let mut visit = |position: u64, line: &[u8]| {
        if position > through {
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
    if live {
        reader.audit_lines(from, &mut visit)?;
    } else {
        reader.audit_lines_stored(from, &mut visit)?;
    }
    match failed {
        Some(e) => Err(e.into()),
        None => Ok((chain, diverged)),
    }
}

/// The keyed sum of every stored dossier record, and how many there are.
fn sum_records(reader: &dyn Reader, key: Key) -> Result<(verify::Records, u64), Error> {
    let mut records = verify::Records::new(key);
    let mut dossiers = 0u64;
    reader.dossier_records(&mut |code, record| {
        records.push(code, record);
        dossiers += 1;
        true
    })?;
    Ok((records, dossiers))
}

fn code_of(e: &verify::Error) -> &str {
    match e {
        verify::Error::Dossier { code, .. } => code,
        _ => "",
    }
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
        // Each pass names its smallest code; keep the smallest over all passes.
        if let Some(e) = exact.finish()
            && first.as_ref().is_none_or(|f| code_of(&e) < code_of(f))
        {
            first = Some(e);
        }
    }
    Ok(first.unwrap_or(verify::Error::Records))
}
