//! The ordered key space in PostgreSQL: one table `motcua_kv (k bytea PRIMARY KEY, v bytea)`
//! holding exactly the keys the other stores hold ([`super::super::keys`]), so the commit
//! rules (`batch`) and the reads (`view`) are the same code on every store. Readers use
//! [`PoolKv`] (autocommit reads: each sees every committed transaction); the writer builds a
//! batch on [`TxKv`], inside its open transaction.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bytes::Bytes;

use super::conn::{Conn, Pool, read_error};
use crate::Error;
use crate::kv::{Entries, Kv, Writes};

/// Rows fetched per round trip when a range is read.
const PAGE: i64 = 256;

type Rows = Vec<(Bytes, Bytes)>;

pub(crate) fn rows(found: Vec<postgres::Row>) -> Result<Rows, postgres::Error> {
    found
        .into_iter()
        .map(|r| {
            let k: Vec<u8> = r.try_get(0)?;
            let v: Vec<u8> = r.try_get(1)?;
            Ok((Bytes::from(k), Bytes::from(v)))
        })
        .collect()
}

pub(crate) fn fetch(
    c: &mut Conn,
    lo: &[u8],
    hi: &[u8],
    down: bool,
) -> Result<Rows, postgres::Error> {
    let st = if down {
        &c.st.range_down
    } else {
        &c.st.range_up
    };
    let st = st.clone();
    rows(c.client.query(&st, &[&lo, &hi, &PAGE])?)
}

/// A range read a page at a time from either end, so a listing that stops after 50 keys
/// reads one page, and `next_back` (the last entry before a key) reads one page too. The
/// window `[lo, hi)` shrinks past whatever either end has fetched, so no key is served twice.
pub(crate) struct Paged<F> {
    fetch: F,
    lo: Vec<u8>,
    hi: Vec<u8>,
    front: VecDeque<(Bytes, Bytes)>,
    back: VecDeque<(Bytes, Bytes)>,
    /// No key is left in the window.
    drained: bool,
    failed: bool,
}

impl<F> Paged<F>
where
    F: FnMut(&[u8], &[u8], bool) -> Result<Rows, Error>,
{
    pub(crate) fn new(fetch: F, lo: Vec<u8>, hi: Vec<u8>) -> Paged<F> {
        let drained = lo >= hi;
        Paged {
            fetch,
            lo,
            hi,
            front: VecDeque::new(),
            back: VecDeque::new(),
            drained,
            failed: false,
        }
    }

    /// Fetches the next page at one end; false when the window is empty.
    fn refill(&mut self, down: bool) -> Result<bool, Error> {
        if self.drained {
            return Ok(false);
        }
        let page = (self.fetch)(&self.lo, &self.hi, down)?;
        if (page.len() as i64) < PAGE {
            self.drained = true;
        }
        if page.is_empty() {
            return Ok(false);
        }
        if down {
            if let Some((k, _)) = page.last() {
                self.hi = k.to_vec();
            }
            // Fetched highest first; `back` is popped from its end.
            for row in page {
                self.back.push_front(row);
            }
        } else {
            if let Some((k, _)) = page.last() {
                let mut next = k.to_vec();
                next.push(0);
                self.lo = next;
            }
            self.front.extend(page);
        }
        if self.lo >= self.hi {
            self.drained = true;
        }
        Ok(true)
    }
}

impl<F> Iterator for Paged<F>
where
    F: FnMut(&[u8], &[u8], bool) -> Result<Rows, Error>,
{
    type Item = Result<(Bytes, Bytes), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.front.is_empty() {
            match self.refill(false) {
                Ok(_) => {}
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        self.front
            .pop_front()
            .or_else(|| self.back.pop_front())
            .map(Ok)
    }
}

impl<F> DoubleEndedIterator for Paged<F>
where
    F: FnMut(&[u8], &[u8], bool) -> Result<Rows, Error>,
{
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.back.is_empty() {
            match self.refill(true) {
                Ok(_) => {}
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        self.back
            .pop_back()
            .or_else(|| self.front.pop_back())
            .map(Ok)
    }
}

/// The key space as readers see it: each call on a pooled connection.
pub(crate) struct PoolKv {
    pub(crate) pool: std::sync::Arc<Pool>,
}

impl Kv for PoolKv {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, Error> {
        let key = key.to_vec();
        self.pool.with(move |c| {
            let st = c.st.get.clone();
            let found = c.client.query_opt(&st, &[&key])?;
            found
                .map(|r| r.try_get::<_, Vec<u8>>(0).map(Bytes::from))
                .transpose()
        })
    }

    fn range(&self, lower: Vec<u8>, upper: Vec<u8>) -> Entries<'_> {
        let pool = &self.pool;
        Box::new(Paged::new(
            move |lo: &[u8], hi: &[u8], down| {
                let (lo, hi) = (lo.to_vec(), hi.to_vec());
                pool.with(move |c| fetch(c, &lo, &hi, down))
            },
            lower,
            upper,
        ))
    }

    fn apply(&self, _writes: Writes) -> Result<(), Error> {
        Err(Error::NotWritten(
            "the PostgreSQL store writes only through its writer".into(),
        ))
    }
}

/// The key space inside the writer's open transaction. Keys fetched ahead of the batch
/// (`prefetch`, one round trip for all the dossiers and idempotency keys a batch reads) are
/// served from memory; the rest are read in the transaction, which holds the chain's head
/// row, so nothing another node commits can change them under the batch.
pub(crate) struct TxKv<'t> {
    tx: Mutex<&'t mut postgres::Client>,
    conn: &'t super::conn::Statements,
    ahead: HashMap<Vec<u8>, Option<Bytes>>,
    written: Mutex<Option<Writes>>,
    /// Statements this view sent (prefetch and reads), for the writer's count.
    reads: std::sync::atomic::AtomicU64,
}

impl<'t> TxKv<'t> {
    pub(crate) fn new(tx: &'t mut postgres::Client, st: &'t super::conn::Statements) -> TxKv<'t> {
        TxKv {
            tx: Mutex::new(tx),
            conn: st,
            ahead: HashMap::new(),
            written: Mutex::new(None),
            reads: Default::default(),
        }
    }

    /// Reads `keys` in one round trip; later `get`s of them are answered from memory.
    pub(crate) fn prefetch(&mut self, keys: Vec<Vec<u8>>) -> Result<(), Error> {
        if keys.is_empty() {
            return Ok(());
        }
        let st = self.conn.get_many.clone();
        self.count();
        let found = {
            let mut tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
            tx.query(&st, &[&keys]).map_err(read_error)?
        };
        for k in keys {
            self.ahead.insert(k, None);
        }
        for (k, v) in rows(found).map_err(read_error)? {
            self.ahead.insert(k.to_vec(), Some(v));
        }
        Ok(())
    }

    fn count(&self) {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Statements sent so far.
    pub(crate) fn reads(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The writes `apply` was given, to be sent once the batch is complete.
    pub(crate) fn take_writes(&self) -> Option<Writes> {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

impl Kv for TxKv<'_> {
    fn get_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Bytes>>, Error> {
        let unread: Vec<&Vec<u8>> = keys
            .iter()
            .filter(|k| !self.ahead.contains_key(*k))
            .collect();
        let mut found: HashMap<Vec<u8>, Bytes> = HashMap::new();
        if !unread.is_empty() {
            let st = self.conn.get_many.clone();
            self.count();
            let rows_found = {
                let mut tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
                tx.query(&st, &[&unread]).map_err(read_error)?
            };
            for (k, v) in rows(rows_found).map_err(read_error)? {
                found.insert(k.to_vec(), v);
            }
        }
        Ok(keys
            .iter()
            .map(|k| match self.ahead.get(k) {
                Some(v) => v.clone(),
                None => found.get(k).cloned(),
            })
            .collect())
    }

    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, Error> {
        if let Some(v) = self.ahead.get(key) {
            return Ok(v.clone());
        }
        let st = self.conn.get.clone();
        self.count();
        let mut tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let found = tx.query_opt(&st, &[&key]).map_err(read_error)?;
        found
            .map(|r| r.try_get::<_, Vec<u8>>(0).map(Bytes::from))
            .transpose()
            .map_err(read_error)
    }

    fn range(&self, lower: Vec<u8>, upper: Vec<u8>) -> Entries<'_> {
        let (up, down) = (self.conn.range_up.clone(), self.conn.range_down.clone());
        let tx = &self.tx;
        Box::new(Paged::new(
            move |lo: &[u8], hi: &[u8], d| {
                let st = if d { &down } else { &up };
                self.count();
                let mut tx = tx.lock().unwrap_or_else(|p| p.into_inner());
                let found = tx.query(st, &[&lo, &hi, &PAGE]).map_err(read_error)?;
                rows(found).map_err(read_error)
            },
            lower,
            upper,
        ))
    }

    /// Keeps the writes; the writer sends them after the batch is built (see
    /// [`send_writes`]), in the same transaction.
    fn apply(&self, writes: Writes) -> Result<(), Error> {
        *self.written.lock().unwrap_or_else(|p| p.into_inner()) = Some(writes);
        Ok(())
    }
}

/// Sends one batch's writes in the open transaction: every key's last write wins (a batch
/// may write a key twice), then one upsert and one delete, two round trips whatever the
/// batch's size.
pub(crate) fn send_writes(
    tx: &mut postgres::Client,
    st: &super::conn::Statements,
    writes: Writes,
) -> Result<u64, postgres::Error> {
    let mut trips = 0;
    let mut last: HashMap<Vec<u8>, Option<Bytes>> = HashMap::with_capacity(writes.len());
    for (k, v) in writes {
        last.insert(k, v);
    }
    let (mut put_k, mut put_v, mut del) = (vec![], vec![], vec![]);
    for (k, v) in last {
        match v {
            Some(v) => {
                put_k.push(k);
                put_v.push(v.to_vec());
            }
            None => del.push(k),
        }
    }
    if !put_k.is_empty() {
        tx.execute(&st.upsert, &[&put_k, &put_v])?;
        trips += 1;
    }
    if !del.is_empty() {
        tx.execute(&st.delete, &[&del])?;
        trips += 1;
    }
    Ok(trips)
}
