//! Reads on PostgreSQL: dossiers, timers and pinned versions straight from the tables
//! (`bare`, committed rows), the audit log and the outbox through a snapshot that stops at the
//! last entry made durable (`view`).

use jiff::Timestamp;

use super::PgStore;
use crate::{
    AuditKey, AuditReader, CounterReader, CounterRow, DossierReader, Error, OutboxReader, Page,
    Query,
};
use motcua_core::audit;
use motcua_core::dossier::Dossier;
use motcua_core::transition::{Event, Timer};

impl DossierReader for PgStore {
    fn dossier(&self, code: &str) -> Result<Option<Dossier>, Error> {
        self.bare().dossier(code)
    }
    fn list(&self, query: &Query, after: Option<&str>, limit: usize) -> Result<Page, Error> {
        self.bare().list(query, after, limit)
    }
    fn due_timers_after(
        &self,
        after: Option<&Timer>,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Timer>, Error> {
        self.bare().due_timers(after, until, limit)
    }
    fn has_timer(&self, timer: &Timer) -> Result<bool, Error> {
        self.bare().has_timer(timer)
    }
    fn procedures(&self) -> Result<Vec<(String, String)>, Error> {
        self.bare().procedures()
    }
    fn plugin(&self, sha256: &str) -> Result<Option<Vec<u8>>, Error> {
        self.bare().plugin(sha256)
    }
    fn dossier_count(&self) -> Result<u64, Error> {
        self.view()?.dossier_count()
    }
    fn dossier_records(&self, f: &mut dyn FnMut(&str, &[u8]) -> bool) -> Result<(), Error> {
        self.bare().dossier_records(f)
    }
}

impl AuditReader for PgStore {
    fn history(&self, code: &str) -> Result<Vec<audit::Entry>, Error> {
        self.view()?.history(code)
    }
    fn audit(&self, from: u64, limit: usize) -> Result<Vec<audit::Entry>, Error> {
        self.view()?.audit(from, limit)
    }
    fn audit_head(&self) -> Result<(u64, String), Error> {
        Ok(self.view()?.audit_head())
    }
    fn audit_lines(&self, from: u64, f: &mut dyn FnMut(u64, &[u8]) -> bool) -> Result<(), Error> {
        self.view()?.audit_lines(from, f)
    }
    fn audit_index(
        &self,
        key: &AuditKey,
        after: u64,
        f: &mut dyn FnMut(u64) -> bool,
    ) -> Result<(), Error> {
        self.view()?.audit_index(key, after, f)
    }
    fn audit_entry(&self, seq: u64) -> Result<Option<audit::Entry>, Error> {
        self.view()?.audit_entry(seq)
    }
    fn audit_lines_stored(
        &self,
        from: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), Error> {
        self.view()?.audit_lines_stored(from, f)
    }
}

impl OutboxReader for PgStore {
    fn outbox(&self, after: u64, limit: usize) -> Result<Vec<(u64, Event)>, Error> {
        self.view()?.outbox(after, limit)
    }
    fn outbox_head(&self) -> Result<u64, Error> {
        Ok(self.view()?.outbox_through)
    }
}

impl CounterReader for PgStore {
    fn report_counters(
        &self,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<Vec<CounterRow>, Error> {
        self.bare().report_counters(from, to)
    }
}
