//! Connections to PostgreSQL: one [`Conn`] holds a client and the statements every store
//! operation uses, prepared once when it connects (a named statement is one round trip per
//! use; a query by text would be two). The [`Pool`] keeps idle connections for readers.

use std::sync::{Condvar, Mutex};

use postgres::{Client, NoTls, Statement};

use super::super::Error;

/// The statements prepared on every connection.
pub(crate) struct Statements {
    pub(crate) get: Statement,
    pub(crate) get_many: Statement,
    pub(crate) range_up: Statement,
    pub(crate) range_down: Statement,
    pub(crate) upsert: Statement,
    pub(crate) delete: Statement,
}

pub(crate) struct Conn {
    pub(crate) client: Client,
    pub(crate) st: Statements,
}

/// What a failed statement means for the caller: a read that failed changed nothing.
pub(crate) fn read_error(e: postgres::Error) -> Error {
    Error::Read(format!("PostgreSQL: {e}"))
}

impl Conn {
    pub(crate) fn connect(config: &postgres::Config) -> Result<Conn, Error> {
        let mut client = config
            .connect(NoTls)
            .map_err(|e| Error::Read(format!("connecting to PostgreSQL: {e}")))?;
        let st = Statements::prepare(&mut client).map_err(read_error)?;
        Ok(Conn { client, st })
    }
}

impl Statements {
    fn prepare(c: &mut Client) -> Result<Statements, postgres::Error> {
        Ok(Statements {
            get: c.prepare("SELECT v FROM motcua_kv WHERE k = $1")?,
            get_many: c.prepare("SELECT k, v FROM motcua_kv WHERE k = ANY($1::bytea[])")?,
            range_up: c.prepare(
                "SELECT k, v FROM motcua_kv WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3",
            )?,
            range_down: c.prepare(
                "SELECT k, v FROM motcua_kv WHERE k >= $1 AND k < $2 ORDER BY k DESC LIMIT $3",
            )?,
            // Written last-write-wins per key by the caller, so one statement never touches a
            // row twice.
            upsert: c.prepare(
                "INSERT INTO motcua_kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
                 ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            )?,
            delete: c.prepare("DELETE FROM motcua_kv WHERE k = ANY($1::bytea[])")?,
        })
    }
}

/// Idle connections for readers, at most `max` open at once: a reader waits for one rather
/// than opening connections without bound under load.
pub(crate) struct Pool {
    config: postgres::Config,
    max: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

impl Pool {
    pub(crate) fn new(config: postgres::Config, max: usize) -> Pool {
        Pool {
            config,
            max: max.max(1),
            state: Mutex::new(PoolState {
                idle: vec![],
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    /// Runs `f` on a pooled connection. A connection that failed is dropped, not returned.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, postgres::Error>,
    ) -> Result<T, Error> {
        let mut conn = self.take()?;
        let out = f(&mut conn);
        self.give(conn, out.is_err());
        out.map_err(read_error)
    }

    pub(crate) fn take(&self) -> Result<Conn, Error> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(c) = st.idle.pop() {
                return Ok(c);
            }
            if st.open < self.max {
                st.open += 1;
                drop(st);
                return Conn::connect(&self.config).inspect_err(|_| {
                    let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
                    st.open -= 1;
                    self.freed.notify_one();
                });
            }
            st = self.freed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    pub(crate) fn give(&self, conn: Conn, failed: bool) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if failed || conn.client.is_closed() {
            st.open -= 1;
        } else {
            st.idle.push(conn);
        }
        self.freed.notify_one();
    }
}
