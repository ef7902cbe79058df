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
pub mod backup;
pub use audit_index::{AuditKey, local_day};
mod batch;
pub mod files;
mod keys;
mod kv;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod pg;
mod read;
#[cfg(any(feature = "sled", feature = "postgres"))]
mod reindex;
#[cfg(feature = "sled")]
pub mod sled;
pub use read::{AuditReader, CounterReader, DossierReader, OutboxReader, Reader};
mod shared;
pub use shared::{ClaimHold, Lease, Shared, TIMER_SHARDS, TimerClaim, lease};
mod view;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use motcua_core::dossier::Dossier;
use motcua_core::transition::Transition;

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
    /// Staff search and the all-dossiers list: free text and filters, in a chosen order.
    Search(Box<Search>),
}

/// What staff look for: free text (a code whole or in part, the applicant's id, phone, or
/// name with accents and case ignored) and filters, each optional.
///
/// With text, up to [`SEARCH_MATCHES`] matches are found through the `sx` index, filtered and
/// sorted at once (more set [`Page::truncated`]: the text should be narrowed). Without, the
/// listing walks the index of its order (`dd`/`du` by due, `rt` by receipt, the records by
/// code) and examines at most [`SCAN_BUDGET`] dossiers per page; a page may then hold fewer
/// than asked, with a cursor to go on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    pub text: Option<String>,
    pub procedure: Option<String>,
    /// Only dossiers of these procedures (what the caller may read); `None`: any.
    pub procedures: Option<Vec<String>>,
    /// National status code (1–10).
    pub status: Option<u8>,
    /// An active step owned by this department, or (closed) resolved under it.
    pub department: Option<String>,
    /// An active step assigned to this officer.
    pub assignee: Option<String>,
    pub channel: Option<motcua_core::dossier::Channel>,
    pub received_from: Option<Timestamp>,
    pub received_before: Option<Timestamp>,
    pub scope: Scope,
    pub sort: Sort,
}

/// Which dossiers a search covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Still in progress.
    #[default]
    Open,
    /// Handled: ended (returned, refused, withdrawn).
    Closed,
    All,
}

/// The order of a search's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Earliest appointment first (overdue first); open dossiers only.
    #[default]
    Due,
    /// Latest receipt first.
    Received,
    /// By code.
    Code,
}

/// Text matches found, filtered and sorted at once by a search.
pub const SEARCH_MATCHES: usize = 1_000;
/// Dossiers a filtered listing examines for one page.
pub const SCAN_BUDGET: usize = 5_000;

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    pub codes: Vec<String>,
    /// An opaque cursor to pass as `after` for the next page; `None` when there is no more.
    /// Unlike a code, it keeps its place in listings not ordered by code (a department's
    /// work by state, overdue dossiers by appointment).
    pub next: Option<String>,
    /// A search found more than it sorts at once ([`SEARCH_MATCHES`]): narrow the text.
    pub truncated: bool,
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

    /// Where the dossiers' papers are kept: a file is put here, durably, before the
    /// transition that attaches it is committed.
    fn files(&self) -> &dyn files::Files;

    /// What the store adds when several nodes share it (leases, timer claims, word of
    /// other nodes' commits), or `None` for a store only one process opens: the embedded and
    /// in-memory stores carry none of it.
    fn shared(&self) -> Option<&dyn Shared> {
        None
    }

    /// Writes a backup of the store as it is at one instant to `out`, while commits go on
    /// ([`backup`]). The in-memory store keeps none.
    fn backup(&self, _out: &mut dyn std::io::Write) -> Result<backup::Summary, backup::Error> {
        Err(backup::Error::Unsupported(
            "the in-memory store is not backed up".into(),
        ))
    }
}

/// One report counter: its key (without the space byte) and its slots.
pub type CounterRow = (Vec<u8>, [i64; motcua_core::report::SLOTS]);
