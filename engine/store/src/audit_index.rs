//! The audit log's query index (space `q`): for each actor, department and procedure, and for
//! each local day, the sequence numbers of its entries. Written in the commit that appends the
//! entries, as postings: one key per (kind, value) per batch, keyed by the first number it
//! holds, its value the numbers as 8-byte big-endian. A batch of 64 transitions by a handful
//! of officers writes a handful of keys, not one per entry per kind.
//!
//! Actions are not indexed: there are few of them and they are dense, so a query by action
//! reads the log (or another index) and filters; the same holds for a time range narrower
//! than a day.

use std::collections::BTreeMap;

use super::keys;
use motcua_core::audit::Entry;

/// What an index key is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AuditKey {
    Actor(String),
    Department(String),
    Procedure(String),
    /// The local (UTC+7) day, `YYYY-MM-DD`.
    Day(jiff::civil::Date),
}

impl AuditKey {
    fn kind(&self) -> u8 {
        match self {
            AuditKey::Actor(_) => b'a',
            AuditKey::Department(_) => b'd',
            AuditKey::Procedure(_) => b'p',
            AuditKey::Day(_) => b't',
        }
    }

    /// The key's prefix: every posting of this (kind, value) starts with it.
    pub(crate) fn prefix(&self) -> Vec<u8> {
        let value = match self {
            AuditKey::Actor(s) | AuditKey::Department(s) | AuditKey::Procedure(s) => s.clone(),
            AuditKey::Day(d) => d.to_string(),
        };
        keys::prefix(&[&[self.kind()], value.as_bytes()])
    }
}

/// The local day of an instant in Vietnam (UTC+7 all year).
pub fn local_day(t: jiff::Timestamp) -> jiff::civil::Date {
    let offset = jiff::tz::Offset::constant(7);
    offset.to_datetime(t).date()
}

/// Postings gathered over one batch.
#[derive(Default)]
pub(crate) struct Postings {
    by_key: BTreeMap<AuditKey, Vec<u64>>,
}

impl Postings {
    pub(crate) fn add(&mut self, seq: u64, e: &Entry) {
        let mut post = |k: AuditKey| self.by_key.entry(k).or_default().push(seq);
        post(AuditKey::Actor(e.actor.clone()));
        for d in &e.departments {
            post(AuditKey::Department(d.clone()));
        }
        post(AuditKey::Procedure(e.procedure.clone()));
        post(AuditKey::Day(local_day(e.at)));
    }

    /// The (key, value) pairs to write.
    pub(crate) fn into_writes(self) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> {
        self.by_key.into_iter().filter_map(|(k, seqs)| {
            let first = *seqs.first()?;
            let mut key = k.prefix();
            key.extend_from_slice(&first.to_be_bytes());
            let value: Vec<u8> = seqs.iter().flat_map(|s| s.to_be_bytes()).collect();
            Some((key, value))
        })
    }
}

/// The numbers a posting's value holds.
pub(crate) fn posting_seqs(v: &[u8]) -> impl Iterator<Item = u64> + '_ {
    v.chunks_exact(8).map(|c| {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        u64::from_be_bytes(b)
    })
}
