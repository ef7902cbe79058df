//! What may be read from storage, split by what it reads: dossiers (with their timers and the
//! versions they are pinned to), the audit log, the outbox, the report's counters. A function
//! takes the narrowest it needs (the audit queries an [`AuditReader`], the report a
//! [`CounterReader`]); [`Reader`] is all four, what [`crate::Store`] hands out.

use jiff::Timestamp;

use crate::{AuditKey, CounterRow, Error, Page, Query};
use motcua_core::audit;
use motcua_core::dossier::Dossier;
use motcua_core::transition::{Event, Timer};

/// What may be read from storage. `motcua::Engine::store` hands out only this, so an embedder
/// can read everything but write only through the engine's checked steps.
pub trait Reader: DossierReader + AuditReader + OutboxReader + CounterReader {}

impl<T: DossierReader + AuditReader + OutboxReader + CounterReader + ?Sized> Reader for T {}

/// Dossiers, their index and timers, and the procedure versions and plugins they are pinned to.
pub trait DossierReader: Send + Sync {
    /// The dossier as last committed (possibly a moment before its commit is acknowledged).
    fn dossier(&self, code: &str) -> Result<Option<Dossier>, Error>;
    /// Codes matching the query, at most `limit`, continuing after the cursor `after` that a
    /// previous page returned as its `next`.
    fn list(&self, query: &Query, after: Option<&str>, limit: usize) -> Result<Page, Error>;
    /// Timers due at or before `until`, earliest first (then by dossier code).
    fn due_timers(&self, until: Timestamp, limit: usize) -> Result<Vec<Timer>, Error> {
        self.due_timers_after(None, until, limit)
    }
    /// [`DossierReader::due_timers`] continuing strictly after the timer `after` (a cursor: the last
    /// timer of the previous page).
    fn due_timers_after(
        &self,
        after: Option<&Timer>,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Timer>, Error>;
    /// Whether the timer index holds `timer`.
    fn has_timer(&self, timer: &Timer) -> Result<bool, Error>;
    /// Every procedure version any dossier was pinned to: (hash, source).
    fn procedures(&self) -> Result<Vec<(String, String)>, Error>;
    /// The bytes of a pinned plugin by sha256.
    fn plugin(&self, sha256: &str) -> Result<Option<Vec<u8>>, Error>;
    /// Number of stored dossiers.
    fn dossier_count(&self) -> Result<u64, Error>;
    /// Every stored dossier record (code, stored bytes), in code order, to `f` until it
    /// returns false.
    fn dossier_records(&self, f: &mut dyn FnMut(&str, &[u8]) -> bool) -> Result<(), Error>;
}

/// The hash-chained audit log, its postings and head.
pub trait AuditReader: Send + Sync {
    /// The audit entries of one dossier, in order, up to the last one made durable.
    fn history(&self, code: &str) -> Result<Vec<audit::Entry>, Error>;
    /// Audit entries with `seq >= from`, at most `limit`.
    fn audit(&self, from: u64, limit: usize) -> Result<Vec<audit::Entry>, Error>;
    /// How many audit entries are served (through the last made durable) and the chain's head
    /// after them, as the store's counters record it.
    fn audit_head(&self) -> Result<(u64, String), Error>;
    /// The stored lines of the audit log from position `from`, exactly as stored, to `f`
    /// until it returns false (what verification and exports stream over).
    fn audit_lines(&self, from: u64, f: &mut dyn FnMut(u64, &[u8]) -> bool) -> Result<(), Error>;
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
    /// [`AuditReader::audit_lines`] without stopping at the last entry made durable: every line
    /// the log holds, which verifying a store at rest reads, so nothing hides past the head.
    fn audit_lines_stored(
        &self,
        from: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), Error>;
}

/// The outbox of events for webhooks.
pub trait OutboxReader: Send + Sync {
    /// Outbox events with `seq > after`, in commit order.
    fn outbox(&self, after: u64, limit: usize) -> Result<Vec<(u64, Event)>, Error>;
    /// The number of the last outbox event served (made durable); 0 when there is none.
    fn outbox_head(&self) -> Result<u64, Error>;
}

/// The service report's per-day counters.
pub trait CounterReader: Send + Sync {
    /// The service report's per-day counters (keys without their space byte, see
    /// [`motcua_core::report::counters`]) for local days `from..=to`.
    fn report_counters(
        &self,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<Vec<CounterRow>, Error>;
}
