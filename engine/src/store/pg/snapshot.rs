//! A consistent, read-only view of a PostgreSQL store while its nodes keep writing: one
//! connection in a `REPEATABLE READ READ ONLY` transaction, so every read sees the database
//! as of the first one. `motcua audit verify --store postgres://…` proves the whole chain
//! and every dossier record against such a snapshot, with the nodes running.

use std::str::FromStr;
use std::sync::Mutex;

use jiff::Timestamp;
use sled::IVec;

use super::conn::{Conn, read_error};
use super::kv::{Paged, fetch};
use crate::audit;
use crate::dossier::Dossier;
use crate::dossier::transition::{Event, Timer};
use crate::store::batch::{META, read_counters};
use crate::store::kv::{Entries, Kv, Writes};
use crate::store::view::{Space, View};
use crate::store::{CounterRow, Error, Page, Query, Reader};

struct SnapshotKv {
    conn: Mutex<Conn>,
}

impl Kv for SnapshotKv {
    fn get(&self, key: &[u8]) -> Result<Option<IVec>, Error> {
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let st = c.st.get.clone();
        let found = c.client.query_opt(&st, &[&key]).map_err(read_error)?;
        found
            .map(|r| r.try_get::<_, Vec<u8>>(0).map(IVec::from))
            .transpose()
            .map_err(read_error)
    }

    fn range(&self, lower: Vec<u8>, upper: Vec<u8>) -> Entries<'_> {
        let conn = &self.conn;
        Box::new(Paged::new(
            move |lo: &[u8], hi: &[u8], down| {
                let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
                fetch(&mut c, lo, hi, down).map_err(read_error)
            },
            lower,
            upper,
        ))
    }

    fn apply(&self, _writes: Writes) -> Result<(), Error> {
        Err(Error::NotWritten("a snapshot is read-only".into()))
    }
}

/// A [`Reader`] over one snapshot of the database.
pub struct PgSnapshot {
    kv: SnapshotKv,
    audit_through: u64,
    audit_head: String,
    outbox_through: u64,
}

impl PgSnapshot {
    /// Opens a snapshot of the store at `url`; the schema must be current (a snapshot never
    /// migrates).
    pub fn open(url: &str) -> Result<PgSnapshot, Error> {
        let unusable = |problem: String| Error::Unusable {
            path: super::shown(url).into(),
            problem,
        };
        let config = postgres::Config::from_str(url)
            .map_err(|e| unusable(format!("not a PostgreSQL address: {e}")))?;
        let mut conn = Conn::connect(&config).map_err(|e| unusable(e.to_string()))?;
        conn.client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .map_err(read_error)?;
        let kv = SnapshotKv {
            conn: Mutex::new(conn),
        };
        let c = read_counters(Space::of(&kv, META))?;
        Ok(PgSnapshot {
            kv,
            audit_through: c.audit_seq,
            audit_head: c.audit_head,
            outbox_through: c.outbox_seq,
        })
    }

    fn view(&self) -> View<'_> {
        View {
            kv: &self.kv,
            audit_through: self.audit_through,
            audit_head: self.audit_head.clone(),
            outbox_through: self.outbox_through,
        }
    }
}

impl Reader for PgSnapshot {
    fn dossier(&self, code: &str) -> Result<Option<Dossier>, Error> {
        self.view().dossier(code)
    }
    fn history(&self, code: &str) -> Result<Vec<audit::Entry>, Error> {
        self.view().history(code)
    }
    fn audit(&self, from: u64, limit: usize) -> Result<Vec<audit::Entry>, Error> {
        self.view().audit(from, limit)
    }
    fn list(&self, query: &Query, after: Option<&str>, limit: usize) -> Result<Page, Error> {
        self.view().list(query, after, limit)
    }
    fn due_timers_after(
        &self,
        after: Option<&Timer>,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Timer>, Error> {
        self.view().due_timers(after, until, limit)
    }
    fn has_timer(&self, timer: &Timer) -> Result<bool, Error> {
        self.view().has_timer(timer)
    }
    fn outbox(&self, after: u64, limit: usize) -> Result<Vec<(u64, Event)>, Error> {
        self.view().outbox(after, limit)
    }
    fn outbox_head(&self) -> Result<u64, Error> {
        Ok(self.outbox_through)
    }
    fn procedures(&self) -> Result<Vec<(String, String)>, Error> {
        self.view().procedures()
    }
    fn plugin(&self, sha256: &str) -> Result<Option<Vec<u8>>, Error> {
        self.view().plugin(sha256)
    }
    fn dossier_count(&self) -> Result<u64, Error> {
        self.view().dossier_count()
    }
    fn audit_head(&self) -> Result<(u64, String), Error> {
        Ok(self.view().audit_head())
    }
    fn audit_lines(&self, from: u64, f: &mut dyn FnMut(u64, &[u8]) -> bool) -> Result<(), Error> {
        self.view().audit_lines(from, f)
    }
    fn dossier_records(&self, f: &mut dyn FnMut(&str, &[u8]) -> bool) -> Result<(), Error> {
        self.view().dossier_records(f)
    }
    fn audit_index(
        &self,
        key: &crate::store::AuditKey,
        after: u64,
        f: &mut dyn FnMut(u64) -> bool,
    ) -> Result<(), Error> {
        self.view().audit_index(key, after, f)
    }
    fn audit_entry(&self, seq: u64) -> Result<Option<audit::Entry>, Error> {
        self.view().audit_entry(seq)
    }
    fn audit_lines_stored(
        &self,
        from: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), Error> {
        self.view().audit_lines_stored(from, f)
    }
    fn report_counters(
        &self,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<Vec<CounterRow>, Error> {
        self.view().report_counters(from, to)
    }
}
