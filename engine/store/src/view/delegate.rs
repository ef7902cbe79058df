//! The readers every store implements by delegating to its [`super::View`] (memory, sled, a
//! PostgreSQL snapshot), written once as macros so a new read is added in one place.

/// Implements the [`crate::DossierReader`] methods but `dossier` by delegating to
/// `self.view()` (each store reads its dossiers in its own way: a cache, a snapshot).
macro_rules! dossier_reads_through_view {
    () => {
        fn list(&self, query: &Query, after: Option<&str>, limit: usize) -> Result<Page, Error> {
            self.view().list(query, after, limit)
        }
        fn due_timers_after(
            &self,
            after: Option<&::motcua_core::transition::Timer>,
            until: Timestamp,
            limit: usize,
        ) -> Result<Vec<::motcua_core::transition::Timer>, Error> {
            self.view().due_timers(after, until, limit)
        }
        fn has_timer(&self, timer: &::motcua_core::transition::Timer) -> Result<bool, Error> {
            self.view().has_timer(timer)
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
        fn dossier_records(&self, f: &mut dyn FnMut(&str, &[u8]) -> bool) -> Result<(), Error> {
            self.view().dossier_records(f)
        }
    };
}

/// Implements [`crate::AuditReader`], [`crate::OutboxReader`] and [`crate::CounterReader`]
/// for `$store` by delegating to `self.view()`.
macro_rules! reads_through_view {
    ($store:ty) => {
        impl $crate::AuditReader for $store {
            fn history(&self, code: &str) -> Result<Vec<::motcua_core::audit::Entry>, Error> {
                self.view().history(code)
            }
            fn audit(
                &self,
                from: u64,
                limit: usize,
            ) -> Result<Vec<::motcua_core::audit::Entry>, Error> {
                self.view().audit(from, limit)
            }
            fn audit_head(&self) -> Result<(u64, String), Error> {
                Ok(self.view().audit_head())
            }
            fn audit_lines(
                &self,
                from: u64,
                f: &mut dyn FnMut(u64, &[u8]) -> bool,
            ) -> Result<(), Error> {
                self.view().audit_lines(from, f)
            }
            fn audit_index(
                &self,
                key: &$crate::AuditKey,
                after: u64,
                f: &mut dyn FnMut(u64) -> bool,
            ) -> Result<(), Error> {
                self.view().audit_index(key, after, f)
            }
            fn audit_entry(&self, seq: u64) -> Result<Option<::motcua_core::audit::Entry>, Error> {
                self.view().audit_entry(seq)
            }
            fn audit_lines_stored(
                &self,
                from: u64,
                f: &mut dyn FnMut(u64, &[u8]) -> bool,
            ) -> Result<(), Error> {
                self.view().audit_lines_stored(from, f)
            }
        }

        impl $crate::OutboxReader for $store {
            fn outbox(&self, after: u64, limit: usize) -> Result<Vec<(u64, Event)>, Error> {
                self.view().outbox(after, limit)
            }
            fn outbox_head(&self) -> Result<u64, Error> {
                Ok(self.view().outbox_through)
            }
        }

        impl $crate::CounterReader for $store {
            fn report_counters(
                &self,
                from: jiff::civil::Date,
                to: jiff::civil::Date,
            ) -> Result<Vec<$crate::CounterRow>, Error> {
                self.view().report_counters(from, to)
            }
        }
    };
}
pub(crate) use {dossier_reads_through_view, reads_through_view};
