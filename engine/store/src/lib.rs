//! Durable storage of dossiers, their indexes, the audit log, timers and the outbox.
//!
//! The [`Store`] trait is what the engine needs; [`sled::SledStore`] is the embedded default.
//! Other stores (redb, a PostgreSQL-protocol database for several nodes) implement the same
//! trait without touching the core.
//!
//! Guarantee every implementation gives: [`Store::commit`] returns only after the whole
//! transition (dossiers, indexes, audit entries, timers, outbox events, idempotency record,
//! procedure versions) is on stable storage, and a transition is applied completely or not
//! at all.

mod audit_index;
pub use audit_index::{AuditKey, local_day};
mod batch;
mod keys;
mod kv;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod pg;
#[cfg(feature = "sled")]
pub mod sled;
mod view;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use motcua_core::audit;
use motcua_core::dossier::Dossier;
use motcua_core::transition::{Event, Timer, Transition};

/// The result of a commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Committed {
    /// The transition was applied; the dossiers as stored, primary first, codes assigned.
    Applied(Vec<Dossier>),
    /// The submission's idempotency key was seen before: the dossier it created, unchanged.
    Replayed(Box<Dossier>),
}

impl Committed {
    /// The primary dossier.
    pub fn dossier(&self) -> Option<&Dossier> {
        match self {
            Committed::Applied(ds) => ds.first(),
            Committed::Replayed(d) => Some(d),
        }
    }
}

#[derive(Debug, thiserror::Error)]
// Exhaustive on purpose: `motcua::Code` maps every variant to a stable code, so a new
// variant is a compile error there, not a silent default.
pub enum Error {
    /// The dossier moved on between the step's computation and its commit (another officer's
    /// action won the race). Portals see it as `conflict`, like a stale version refused before
    /// the commit.
    #[error("dossier {code} is at version {current}, not {expected}: reload it and decide again")]
    VersionMoved {
        code: String,
        expected: u64,
        current: u64,
    },
    #[error("no dossier with code {0}")]
    NotFound(String),
    #[error("idempotency key '{key}' was already used for a different request (dossier {code})")]
    IdempotencyMismatch { key: String, code: String },
    #[error("agency {agency} has used all 9999 dossier numbers for {day}")]
    SequenceExhausted { agency: String, day: String },
    /// Nothing of the transition was applied: retrying it is safe.
    #[error("not written: {0}")]
    NotWritten(String),
    /// The transition was applied but whether it is durable is unknown (a flush or sync
    /// failed): read the dossier back after reopening before deciding to retry.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// Reading failed (an I/O error of the moment); nothing was changed.
    #[error("storage read failed: {0}")]
    Read(String),
    /// A stored record does not read back as written.
    #[error(
        "stored data is corrupt: {0}; restore the data folder from a backup (keep this copy for inspection) and run `motcua audit verify` on it"
    )]
    Corrupt(String),
    /// sled found the store's files corrupt when opening it.
    #[error(
        "{path}: the store is corrupt ({detail}); restore the folder from a backup, keep this copy for inspection, and run `motcua audit verify` on what you restore"
    )]
    CorruptStore {
        path: std::path::PathBuf,
        detail: String,
    },
    /// The folder holds a store this version cannot read, or none at all.
    #[error("{path}: {problem}")]
    Unusable {
        path: std::path::PathBuf,
        problem: String,
    },
    #[error("the store is shut down")]
    Closed,
    #[error("'{0}' is not a cursor this listing returned")]
    BadCursor(String),
}

/// Ways to list dossiers, each served by a range scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Query {
    /// Open dossiers with an active step in `state` of `procedure`, by code.
    State { procedure: String, state: String },
    /// Open dossiers with an active step owned by `department` (optionally in one state), by
    /// state, procedure and code. A dossier with two steps there (a branch waiting at a join
    /// and the other still in review) is listed once per step.
    Department {
        department: String,
        state: Option<String>,
    },
    /// All dossiers of an applicant, by code.
    Applicant { applicant: String },
    /// Open dossiers whose appointment is before `now` while their clock runs, earliest
    /// appointment first.
    Overdue { now: Timestamp },
    /// Dossiers received by an agency on local days `from..=to` (YYMMDD), by code.
    Received {
        agency: String,
        from: String,
        to: String,
    },
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    pub codes: Vec<String>,
    /// An opaque cursor to pass as `after` for the next page; `None` when there is no more.
    /// Unlike a code, it keeps its place in listings not ordered by code (a department's
    /// work by state, overdue dossiers by appointment).
    pub next: Option<String>,
}

/// Bookkeeping kept beside the dossiers but outside the audit chain and the commit rules:
/// a webhook subscriber's delivery cursor and dead letters, procedure versions uploaded to a
/// server. Names are UTF-8 keys in one space of their own; listing is by prefix, in key
/// order. A mark is durable when `set_mark` returns (sled's flush, which syncs its file);
/// it is not part of any transition's commit, so what depends on it must tolerate its being
/// a step behind the transitions (a webhook delivered again).
pub trait Marks: Send + Sync {
    fn mark(&self, name: &str) -> Result<Option<Vec<u8>>, Error>;
    /// Every mark whose name starts with `prefix`, in name order, to `f` until it returns
    /// false.
    fn marks(&self, prefix: &str, f: &mut dyn FnMut(&str, &[u8]) -> bool) -> Result<(), Error>;
    /// Sets (`Some`) or removes (`None`) a mark.
    fn set_mark(&self, name: &str, value: Option<&[u8]>) -> Result<(), Error>;

    /// Takes the lease of a mark, with its value: while the lease is held no other node
    /// sharing the store gets it (`None` then), which is how one node at a time delivers to a
    /// webhook subscriber. It ends when dropped, or with the process. A store that only one
    /// process opens grants it always; its one holder per mark is the caller's business.
    #[allow(clippy::type_complexity)]
    fn lease(&self, name: &str) -> Result<Option<(Box<dyn Lease>, Option<Vec<u8>>)>, Error> {
        Ok(Some((
            Box::new(Unshared {
                name: name.to_string(),
            }),
            self.mark(name)?,
        )))
    }
}

/// A held lease of a mark ([`Marks::lease`]).
pub trait Lease: Send {
    /// Sets the mark durably. `Ok(false)`: it was set, but another node holds the lease now
    /// (it was taken while the value was being saved); drop this one and lease again.
    fn set(&mut self, marks: &dyn Marks, value: &[u8]) -> Result<bool, Error>;
}

struct Unshared {
    name: String,
}

impl Lease for Unshared {
    fn set(&mut self, marks: &dyn Marks, value: &[u8]) -> Result<bool, Error> {
        marks.set_mark(&self.name, Some(value)).map(|()| true)
    }
}

/// How many shards timers are claimed in when several nodes share a store.
pub const TIMER_SHARDS: usize = 16;

/// The timers a node may fire now ([`Store::claim_timers`]): all of them on a store only one
/// process opens; on a shared store, those of the dossiers in the shards it holds, until the
/// claim is dropped.
pub struct TimerClaim {
    shards: Option<[bool; TIMER_SHARDS]>,
    held: Option<Box<dyn ClaimHold>>,
}

/// What keeps a claim on a shared store, released when dropped.
pub trait ClaimHold: Send {
    /// Whether the claim is still held, telling the store the node is alive: the firing
    /// calls it between pages, so a node that hangs mid-firing can have its claim ended by
    /// the store (PostgreSQL's idle timeout) while a busy one keeps it.
    fn renew(&mut self) -> bool;
}

impl TimerClaim {
    pub fn all() -> TimerClaim {
        TimerClaim {
            shards: None,
            held: None,
        }
    }

    /// The shards marked true, held until `held` is dropped.
    pub fn shards(shards: [bool; TIMER_SHARDS], held: Box<dyn ClaimHold>) -> TimerClaim {
        TimerClaim {
            shards: Some(shards),
            held: Some(held),
        }
    }

    /// Whether the claim still holds (see [`ClaimHold::renew`]); a claim of all timers on a
    /// store of one process always does.
    pub fn renew(&mut self) -> bool {
        self.held.as_mut().is_none_or(|h| h.renew())
    }

    /// A dossier's shard: FNV-1a of its code, so every node computes the same one.
    pub fn shard_of(code: &str) -> usize {
        let mut h: u32 = 0x811c_9dc5;
        for b in code.bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        h as usize % TIMER_SHARDS
    }

    /// Whether this node may fire the timers of dossier `code` now.
    pub fn covers(&self, code: &str) -> bool {
        self.shards
            .is_none_or(|s| s.get(Self::shard_of(code)).copied().unwrap_or(false))
    }

    /// Whether some shard is held by another node.
    pub fn is_partial(&self) -> bool {
        self.shards.is_some_and(|s| s.iter().any(|held| !held))
    }
}

/// What the engine needs from storage: reads ([`Reader`]), bookkeeping ([`Marks`]) and the
/// one way to write dossiers.
pub trait Store: Reader + Marks {
    /// Commits a transition durably (see the module guarantee). Refusals (a stale version, a
    /// reused idempotency key) write nothing and do not affect other callers. A failure says
    /// whether anything was applied: [`Error::NotWritten`] (retry freely) or
    /// [`Error::OutcomeUnknown`] (read back after reopening before retrying).
    fn commit(&self, transition: Transition) -> Result<Committed, Error>;

    /// Commits several independent transitions, each atomically and each refused or applied
    /// on its own, answering in order. A store that groups commits takes each transition as
    /// the iterator yields it and makes them durable together (few syncs for all), so the
    /// caller computes the next while the store applies the last: how the scheduler fires a
    /// thousand timers due at once. A transition may build on one yielded before it.
    fn commit_all(
        &self,
        transitions: &mut dyn Iterator<Item = Transition>,
    ) -> Vec<Result<Committed, Error>> {
        transitions.map(|t| self.commit(t)).collect()
    }

    /// Claims the timers this node may fire now (see [`TimerClaim`]); the engine holds the
    /// claim while it fires. Other nodes' claims are skipped, not waited for.
    fn claim_timers(&self) -> Result<TimerClaim, Error> {
        Ok(TimerClaim::all())
    }

    /// Calls `wake` when another node sharing the store commits a timer (its instant), so
    /// this node's scheduler need not poll. A store only one process opens has no others.
    fn on_remote_timer(&self, wake: std::sync::Arc<dyn Fn(Timestamp) + Send + Sync>) {
        let _ = wake;
    }

    /// How often a scheduler on this store looks at the timers even when nothing rang it:
    /// `None` when every commit that adds a timer rings it (only this process writes).
    fn poll_interval(&self) -> Option<std::time::Duration> {
        None
    }
}

/// One report counter: its key (without the space byte) and its slots.
pub type CounterRow = (Vec<u8>, [i64; motcua_core::report::SLOTS]);

/// What may be read from storage. [`crate::Engine::store`] hands out only this, so an embedder
/// can read everything but write only through the engine's checked steps.
pub trait Reader: Send + Sync {
    /// The dossier as last committed (possibly a moment before its commit is acknowledged).
    fn dossier(&self, code: &str) -> Result<Option<Dossier>, Error>;
    /// The audit entries of one dossier, in order, up to the last one made durable.
    fn history(&self, code: &str) -> Result<Vec<audit::Entry>, Error>;
    /// Audit entries with `seq >= from`, at most `limit`.
    fn audit(&self, from: u64, limit: usize) -> Result<Vec<audit::Entry>, Error>;
    /// Codes matching the query, at most `limit`, continuing after the cursor `after` that a
    /// previous page returned as its `next`.
    fn list(&self, query: &Query, after: Option<&str>, limit: usize) -> Result<Page, Error>;
    /// Timers due at or before `until`, earliest first (then by dossier code).
    fn due_timers(&self, until: Timestamp, limit: usize) -> Result<Vec<Timer>, Error> {
        self.due_timers_after(None, until, limit)
    }
    /// [`Reader::due_timers`] continuing strictly after the timer `after` (a cursor: the last
    /// timer of the previous page).
    fn due_timers_after(
        &self,
        after: Option<&Timer>,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Timer>, Error>;
    /// Whether the timer index holds `timer`.
    fn has_timer(&self, timer: &Timer) -> Result<bool, Error>;
    /// Outbox events with `seq > after`, in commit order.
    fn outbox(&self, after: u64, limit: usize) -> Result<Vec<(u64, Event)>, Error>;
    /// The number of the last outbox event served (made durable); 0 when there is none.
    fn outbox_head(&self) -> Result<u64, Error>;
    /// Every procedure version any dossier was pinned to: (hash, source).
    fn procedures(&self) -> Result<Vec<(String, String)>, Error>;
    /// The bytes of a pinned plugin by sha256.
    fn plugin(&self, sha256: &str) -> Result<Option<Vec<u8>>, Error>;
    /// Number of stored dossiers.
    fn dossier_count(&self) -> Result<u64, Error>;
    /// How many audit entries are served (through the last made durable) and the chain's head
    /// after them, as the store's counters record it.
    fn audit_head(&self) -> Result<(u64, String), Error>;
    /// The stored lines of the audit log from position `from`, exactly as stored, to `f`
    /// until it returns false (what verification and exports stream over).
    fn audit_lines(&self, from: u64, f: &mut dyn FnMut(u64, &[u8]) -> bool) -> Result<(), Error>;
    /// Every stored dossier record (code, stored bytes), in code order, to `f` until it
    /// returns false.
    fn dossier_records(&self, f: &mut dyn FnMut(&str, &[u8]) -> bool) -> Result<(), Error>;
    /// The sequence numbers of the audit entries indexed under `key`, ascending, after
    /// `after` and through the last made durable, to `f` until it returns false.
    fn audit_index(
        &self,
        key: &AuditKey,
        after: u64,
        f: &mut dyn FnMut(u64) -> bool,
    ) -> Result<(), Error>;
    /// The audit entry numbered `seq`, if it is stored and durable.
    fn audit_entry(&self, seq: u64) -> Result<Option<audit::Entry>, Error>;
    /// [`Reader::audit_lines`] without stopping at the last entry made durable: every line
    /// the log holds, which verifying a store at rest reads, so nothing hides past the head.
    fn audit_lines_stored(
        &self,
        from: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), Error>;
    /// The service report's per-day counters (keys without their space byte, see
    /// [`motcua_core::report::counters`]) for local days `from..=to`.
    fn report_counters(
        &self,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<Vec<CounterRow>, Error>;
}
