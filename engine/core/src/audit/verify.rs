//! Streaming verification of the stored log: each line hashed as stored, each link to the
//! previous hash checked, the head and count compared with the store's, and the dossier
//! records compared with the entries that wrote them — in memory that does not grow with the
//! log.
//!
//! The dossier check is a keyed multiset hash. Every entry that stored a record adds
//! `H(record)` and subtracts `H(replaces)`; over the whole chain this telescopes to the sum of
//! `H(last record written)` over all dossiers, which must equal the sum of `H(digest of the
//! stored record)` over the dossier space. `H` is sha256 keyed with a secret the verifier draws
//! at random each run, added in four 64-bit lanes: whoever rewrote the store cannot know the
//! key, so cannot make a tampered set of records sum alike. Finding *which* dossier differs is
//! a second, slower pass ([`Exact`]), run only on a mismatch.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// What a verified log is: how many entries, and the hash of the last (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub count: u64,
    pub head: String,
}

/// The first thing wrong with a stored log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("audit entry {seq} was modified: its hash no longer matches what follows it")]
    Modified { seq: u64 },
    #[error("audit entry {seq} is missing: entry {found} follows entry {} (deleted or reordered)", seq - 1)]
    Missing { seq: u64, found: u64 },
    #[error(
        "audit entry {seq} appears again after entry {after}: an entry was inserted or reordered"
    )]
    Repeated { seq: u64, after: u64 },
    #[error("audit entry {seq} is stored at position {position}: the log's chunks were re-keyed")]
    Misplaced { seq: u64, position: u64 },
    #[error("audit entries {seq}..={count} are missing: the log ends at entry {} (truncated, or the store's counters were raised)", seq - 1)]
    Truncated { seq: u64, count: u64 },
    #[error(
        "the log holds an entry at position {found}, after entry {count}, the last the store's counters name (the counters were lowered, or lines were added outside the engine)"
    )]
    Longer { found: u64, count: u64 },
    #[error(
        "the log ends at entry {seq} with a hash other than the head the store's counters record: entry {seq} or the counters were modified"
    )]
    HeadMismatch { seq: u64 },
    #[error("dossier {code}: {problem}")]
    Dossier { code: String, problem: String },
    #[error(
        "the dossier records do not match the log (the dossier that differs could not be named)"
    )]
    Records,
}

/// The parts of a stored line the chain needs, read from its end (the writer puts them last,
/// in canonical order), so verifying never parses the body.
struct Tail<'a> {
    seq: u64,
    prev: &'a [u8],
    record: Option<&'a [u8]>,
    replaces: Option<&'a [u8]>,
}

fn strip_hex_member<'a>(rest: &'a [u8], name: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    // `,"<name>":"<64 hex>"` at the end of `rest`.
    let rest = rest.strip_suffix(b"\"")?;
    if rest.len() < 64 {
        return None;
    }
    let (before, hex) = rest.split_at(rest.len() - 64);
    let mut head = Vec::with_capacity(name.len() + 6);
    head.extend_from_slice(b",\"");
    head.extend_from_slice(name);
    head.extend_from_slice(b"\":\"");
    let before = before.strip_suffix(head.as_slice())?;
    hex.iter()
        .all(|b| b.is_ascii_hexdigit())
        .then_some((before, hex))
}

fn tail(line: &[u8]) -> Option<Tail<'_>> {
    let rest = line.strip_suffix(b"}")?;
    let digits = rest.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 20 {
        return None;
    }
    let (rest, seq) = rest.split_at(rest.len() - digits);
    let seq: u64 = std::str::from_utf8(seq).ok()?.parse().ok()?;
    let rest = rest.strip_suffix(b",\"seq\":")?;
    let (rest, replaces) = match strip_hex_member(rest, b"replaces") {
        Some((r, h)) => (r, Some(h)),
        None => (rest, None),
    };
    let (rest, record) = match strip_hex_member(rest, b"record") {
        Some((r, h)) => (r, Some(h)),
        None => (rest, None),
    };
    let (rest, prev) = strip_hex_member(rest, b"prev")?;
    rest.starts_with(b"{\"body\":").then_some(Tail {
        seq,
        prev,
        record,
        replaces,
    })
}

/// Four 64-bit lanes added with wrap-around: a multiset hash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sum([u64; 4]);

impl Sum {
    fn add(&mut self, h: [u8; 32], sign: bool) {
        for (lane, chunk) in self.0.iter_mut().zip(h.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            let v = u64::from_le_bytes(b);
            *lane = if sign {
                lane.wrapping_add(v)
            } else {
                lane.wrapping_sub(v)
            };
        }
    }
}

/// The secret key of one verification run.
#[derive(Clone)]
pub struct Key([u8; 32]);

impl Key {
    /// A fresh key from the operating system's randomness.
    pub fn random() -> Key {
        let mut k = [0u8; 32];
        if getrandom::fill(&mut k).is_err() {
            // No entropy source: fall back to the process's randomly keyed hasher and the
            // time, still unknown to whoever wrote the store beforehand.
            use std::hash::{BuildHasher, Hasher};
            let mut h = Sha256::new();
            for i in 0..4u64 {
                let mut s = std::collections::hash_map::RandomState::new().build_hasher();
                s.write_u64(i);
                h.update(s.finish().to_le_bytes());
            }
            h.update(format!("{:?}", std::time::SystemTime::now()).as_bytes());
            k = h.finalize().into();
        }
        Key(k)
    }

    fn hash(&self, digest: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(digest);
        h.finalize().into()
    }
}

fn unhex(h: &[u8]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(h, &mut out).ok()?;
    Some(out)
}

/// A link that failed: whether the entry before it or the entry itself was modified is
/// decided by the next link (or the stored head).
struct Suspect {
    seq: u64,
    hash: [u8; 32],
}

/// The chain, verified one stored line at a time.
pub struct Chain {
    key: Key,
    count: u64,
    head: [u8; 32],
    sum: Sum,
    suspect: Option<Suspect>,
    /// For a segment resumed in the middle of the log ([`Chain::resume`]): the `prev` of its
    /// first line, taken on trust until [`Chain::join`] checks it against the segment before.
    start: Option<[u8; 32]>,
    resumed: bool,
}

impl Chain {
    /// A chain starting at the genesis hash.
    pub fn new(key: Key) -> Chain {
        Chain {
            key,
            count: 0,
            head: [0u8; 32],
            sum: Sum::default(),
            suspect: None,
            start: None,
            resumed: false,
        }
    }

    /// A segment of the chain verifying entries from `after + 1` on, so that two halves of
    /// the log can be read and hashed on two cores; [`Chain::join`] stitches them.
    pub fn resume(key: Key, after: u64) -> Chain {
        Chain {
            count: after,
            resumed: true,
            ..Chain::new(key)
        }
    }

    /// The segment `b` (resumed after `mid`) continuing `a`, which must have verified exactly
    /// entries 1..=`mid` and end at the hash `b`'s first line names.
    pub fn join(mut a: Chain, b: Chain, mid: u64) -> Result<Chain, Error> {
        let Some(start) = b.start else {
            // Nothing after `a`: it is the whole log (finishing finds any truncation).
            return Ok(a);
        };
        if let Some(s) = a.suspect.take() {
            return Err(Error::Modified {
                seq: if start == s.hash { s.seq - 1 } else { s.seq },
            });
        }
        if a.count < mid {
            return Err(Error::Missing {
                seq: a.count + 1,
                found: mid + 1,
            });
        }
        if start != a.head {
            // `b`'s first line names another hash than `a`'s last has: `a`'s last changed (if
            // `b`'s first had, its own successor would not name it and `b` would have said).
            return Err(Error::Modified { seq: mid });
        }
        for (lane, other) in a.sum.0.iter_mut().zip(b.sum.0) {
            *lane = lane.wrapping_add(other);
        }
        Ok(Chain {
            key: a.key,
            count: b.count,
            head: b.head,
            sum: a.sum,
            suspect: b.suspect,
            start: None,
            resumed: false,
        })
    }

    /// Entries verified so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The hash of the last entry verified (hex).
    pub fn head(&self) -> String {
        hex::encode(self.head)
    }

    /// Takes the next stored line, found at `position` (its chunk's key plus its index).
    pub fn push(&mut self, position: u64, line: &[u8]) -> Result<(), Error> {
        let expected = self.count + 1;
        let hash: [u8; 32] = Sha256::digest(line).into();
        let t = tail(line);
        if let Some(s) = self.suspect.take() {
            // The link into `s` failed. If this line still names `s`'s hash, `s` is as the
            // writer left it and the entry before it changed; otherwise `s` itself did.
            let names_s = t.as_ref().and_then(|t| unhex(t.prev)) == Some(s.hash);
            return Err(Error::Modified {
                seq: if names_s { s.seq - 1 } else { s.seq },
            });
        }
        let Some(t) = t else {
            return Err(Error::Modified { seq: expected });
        };
        let prev = unhex(t.prev).ok_or(Error::Modified { seq: expected })?;
        let first_of_segment = self.resumed && self.start.is_none();
        if first_of_segment {
            // The first line of a resumed segment: its link is checked when joined.
            self.start = Some(prev);
            self.head = prev;
        }
        let linked = prev == self.head;
        if t.seq != expected {
            // In its place and linked, only its number changed.
            if linked && !first_of_segment {
                return Err(Error::Modified { seq: expected });
            }
            return Err(if t.seq > expected {
                Error::Missing {
                    seq: expected,
                    found: t.seq,
                }
            } else {
                Error::Repeated {
                    seq: t.seq,
                    after: self.count,
                }
            });
        }
        if !linked {
            if expected == 1 {
                return Err(Error::Modified { seq: 1 });
            }
            self.suspect = Some(Suspect {
                seq: expected,
                hash,
            });
            return Ok(());
        }
        if position != expected {
            return Err(Error::Misplaced {
                seq: expected,
                position,
            });
        }
        for (digest, sign) in [(t.record, true), (t.replaces, false)] {
            if let Some(d) = digest {
                let d = unhex(d).ok_or(Error::Modified { seq: expected })?;
                self.sum.add(self.key.hash(&d), sign);
            }
        }
        self.count = expected;
        self.head = hash;
        Ok(())
    }

    /// Ends the log: it must hold exactly the `count` entries the store's counters name and
    /// end at their `head`.
    pub fn finish(mut self, count: u64, head: &str) -> Result<Finished, Error> {
        if let Some(s) = self.suspect.take() {
            let intact = hex::encode(s.hash) == head && s.seq == count;
            return Err(Error::Modified {
                seq: if intact { s.seq - 1 } else { s.seq },
            });
        }
        if self.count < count {
            return Err(Error::Truncated {
                seq: self.count + 1,
                count,
            });
        }
        if self.count > count {
            return Err(Error::Longer {
                found: count + 1,
                count,
            });
        }
        if self.head() != head {
            return Err(Error::HeadMismatch { seq: self.count });
        }
        Ok(Finished {
            verified: Verified {
                count: self.count,
                head: self.head(),
            },
            sum: self.sum,
            key: self.key,
        })
    }
}

/// A chain that verified, with what it says the dossier records must be.
pub struct Finished {
    pub verified: Verified,
    sum: Sum,
    key: Key,
}

impl Finished {
    /// An accumulator for the dossier records, keyed like this chain.
    pub fn records(&self) -> Records {
        Records {
            key: self.key.clone(),
            sum: Sum::default(),
        }
    }

    /// Whether the records summed in `records` are exactly those the chain wrote last.
    pub fn matches(&self, records: &Records) -> bool {
        self.sum == records.sum
    }
}

/// The stored dossier records, summed one at a time in any order.
pub struct Records {
    key: Key,
    sum: Sum,
}

impl Records {
    /// An empty sum under `key` (the key of the chain it will be compared with).
    pub fn new(key: Key) -> Records {
        Records {
            key,
            sum: Sum::default(),
        }
    }

    pub fn push(&mut self, code: &str, record: &[u8]) {
        let d = super::record_digest(code, record);
        self.sum.add(self.key.hash(&d), true);
    }
}

/// The slow pass that names a dossier whose record does not match its last entry: dossiers
/// are split into partitions by a hash of their code, and for each partition the log is read
/// once to find each dossier's last record digest, bounding memory by `per_pass` dossiers.
pub struct Exact {
    pub partitions: u64,
    pub partition: u64,
    last: BTreeMap<String, (u64, String)>,
    /// Problems found, by code (the smallest is reported): a stored record that is not the
    /// one the log wrote last, or an entry that `replaces` another digest than the dossier's
    /// previous entry stored (its record was rewritten between the two, then written over).
    found: BTreeMap<String, Error>,
}

impl Exact {
    /// Partitions for `dossiers` dossiers at most `per_pass` at a time.
    pub fn partitions(dossiers: u64, per_pass: u64) -> u64 {
        dossiers / per_pass.max(1) + 1
    }

    pub fn new(partitions: u64, partition: u64) -> Exact {
        Exact {
            partitions: partitions.max(1),
            partition,
            last: BTreeMap::new(),
            found: BTreeMap::new(),
        }
    }

    /// Whether `code` falls in this pass.
    pub fn holds(&self, code: &str) -> bool {
        let h = Sha256::digest(code.as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&h[..8]);
        u64::from_le_bytes(b) % self.partitions == self.partition
    }

    /// Takes an entry of the (already verified) log, parsed.
    pub fn push(&mut self, e: &super::Entry) {
        let Some(r) = &e.record else { return };
        if !self.holds(&e.dossier) {
            return;
        }
        let before = self.last.get(&e.dossier);
        let broken = match (before, &e.replaces) {
            (Some((_, was)), Some(replaced)) => was != replaced,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if broken {
            let problem = match before {
                Some((seq, _)) => format!(
                    "its record was rewritten between audit entries {seq} and {} (entry {} replaced another record than entry {seq} stored)",
                    e.seq, e.seq
                ),
                None => format!("audit entry {} replaces no record", e.seq),
            };
            self.note(&e.dossier, problem);
        }
        self.last.insert(e.dossier.clone(), (e.seq, r.clone()));
    }

    /// Checks one stored record of this pass; the entry it matched is forgotten, so what is
    /// left at the end was written by the log but is no longer stored.
    pub fn check(&mut self, code: &str, record: &[u8]) {
        let digest = hex::encode(super::record_digest(code, record));
        let problem = match self.last.remove(code) {
            None => "its record was written outside the log (no entry stored it)".to_string(),
            Some((seq, want)) if want != digest => format!(
                "its stored record is not the one audit entry {seq} wrote (rewritten or rolled back)"
            ),
            Some(_) => return,
        };
        self.note(code, problem);
    }

    /// Keeps the first problem found for `code`.
    fn note(&mut self, code: &str, problem: String) {
        self.found
            .entry(code.to_string())
            .or_insert_with(|| Error::Dossier {
                code: code.into(),
                problem,
            });
    }

    /// After every record of the pass was checked: the dossier with the smallest code among
    /// those whose record does not match, is gone, or was rewritten between two entries.
    pub fn finish(mut self) -> Option<Error> {
        for (code, (seq, _)) in std::mem::take(&mut self.last) {
            self.note(
                &code,
                format!("its record, written by audit entry {seq}, was deleted"),
            );
        }
        self.found.into_values().next()
    }
}

#[cfg(test)]
mod tests;
