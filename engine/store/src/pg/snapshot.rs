//! A consistent, read-only view of a PostgreSQL store while its nodes keep writing: one
//! connection in a `REPEATABLE READ READ ONLY` transaction, so every read sees the database
//! as of the first one. `motcua audit verify --store postgres://…` proves the whole chain
//! and every dossier record against such a snapshot, with the nodes running.

use std::sync::Mutex;

use bytes::Bytes;
use jiff::Timestamp;

use super::address::{Address, HELD_ON_PURPOSE};
use super::conn::{Conn, read_error};
use super::kv::{Paged, fetch};
use crate::batch::{META, read_counters};
use crate::kv::{Entries, Kv, Writes};
use crate::view::{Space, View, dossier_reads_through_view, reads_through_view};
use crate::{DossierReader, Error, Page, Query};
use motcua_core::dossier::Dossier;
use motcua_core::transition::Event;

struct SnapshotKv {
    conn: Mutex<Conn>,
}

impl Kv for SnapshotKv {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, Error> {
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let st = c.st.get.clone();
        let found = c.client.query_opt(&st, &[&key]).map_err(read_error)?;
        found
            .map(|r| r.try_get::<_, Vec<u8>>(0).map(Bytes::from))
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
        let address = Address::parse(url, super::Options::default().idle_in_transaction)?;
        let mut conn = Conn::connect(&address.config).map_err(|e| Error::Unusable {
            path: address.shown.clone().into(),
            problem: e.to_string(),
        })?;
        conn.client
            // Read as fast as its reader takes it (a pager, a pipe over ssh), and it blocks
            // nobody: exempt from the idle timeout.
            .batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; {HELD_ON_PURPOSE}"
            ))
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

    /// The store's counters as of the snapshot.
    pub(crate) fn counters(&self) -> Result<crate::batch::Counters, Error> {
        read_counters(Space::of(&self.kv, META))
    }

    /// The key space as of the snapshot, in key order.
    pub(crate) fn entries(&self) -> Entries<'_> {
        self.kv.range(vec![], vec![0xff; 16])
    }

    /// The marks as of the snapshot.
    pub(crate) fn marks(&self) -> Result<Vec<(Vec<u8>, Bytes)>, Error> {
        let mut c = self.kv.conn.lock().unwrap_or_else(|p| p.into_inner());
        let rows = c
            .client
            .query("SELECT name, v FROM motcua_marks ORDER BY name", &[])
            .map_err(read_error)?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get(0).map_err(read_error)?;
                let v: Vec<u8> = r.try_get(1).map_err(read_error)?;
                Ok((name.into_bytes(), Bytes::from(v)))
            })
            .collect()
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

impl DossierReader for PgSnapshot {
    fn dossier(&self, code: &str) -> Result<Option<Dossier>, Error> {
        self.view().dossier(code)
    }
    dossier_reads_through_view!();
}

reads_through_view!(PgSnapshot);
