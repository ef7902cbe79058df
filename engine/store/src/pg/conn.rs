//! Connections to PostgreSQL: one [`Conn`] holds a client and the statements every store
//! operation uses, prepared once when it connects (a named statement is one round trip per
//! use; a query by text would be two). The [`Pool`] keeps idle connections for readers.

use std::sync::{Arc, Mutex, mpsc};

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

/// A request for a connection: run by one of the pool's threads on its connection.
type Job = Box<dyn FnOnce(&mut Option<Conn>, &postgres::Config) + Send>;

/// The readers' connections, each owned by a thread of its own that runs the requests given
/// to it. The postgres client blocks on a runtime of its own, which must never happen on a
/// thread that drives another runtime (an HTTP server's): callers only wait on a channel,
/// which any thread may. At most `threads` connections are open for readers; a reader waits
/// for one rather than opening connections without bound under load.
pub(crate) struct Pool {
    config: postgres::Config,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    /// Connections lent out whole (held transactions: timer claims, leases), kept for reuse.
    spare: Arc<Mutex<Vec<Conn>>>,
}

/// The most spare connections kept.
const SPARE: usize = 8;

impl Pool {
    pub(crate) fn new(config: postgres::Config, threads: usize) -> Result<Pool, Error> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let (rx, config) = (rx.clone(), config.clone());
            std::thread::Builder::new()
                .name(format!("motcua-pg-read-{i}"))
                .spawn(move || {
                    let mut conn: Option<Conn> = None;
                    loop {
                        let job = {
                            let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
                            rx.recv()
                        };
                        match job {
                            Ok(job) => job(&mut conn, &config),
                            // The store was dropped.
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| Error::Read(e.to_string()))?;
        }
        Ok(Pool {
            config,
            jobs: Mutex::new(Some(tx)),
            spare: Arc::default(),
        })
    }

    /// Runs `f` on one of the pool's connections and waits for it. A connection that failed
    /// is dropped; the next request opens a new one.
    pub(crate) fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, postgres::Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (tx, rx) = mpsc::sync_channel::<Result<T, Error>>(1);
        let job: Job = Box::new(move |slot, config| {
            if slot.as_ref().is_none_or(|c| c.client.is_closed()) {
                match Conn::connect(config) {
                    Ok(c) => *slot = Some(c),
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
            let Some(conn) = slot.as_mut() else {
                let _ = tx.send(Err(Error::Read("no connection".into())));
                return;
            };
            let r = f(conn);
            if r.is_err() {
                *slot = None;
            }
            let _ = tx.send(r.map_err(read_error));
        });
        {
            let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
            let jobs = jobs.as_ref().ok_or(Error::Closed)?;
            jobs.send(job).map_err(|_| Error::Closed)?;
        }
        rx.recv()
            .map_err(|_| Error::Read("a reader thread of the store stopped".into()))?
    }

    /// A connection of its own for a held transaction (call only off an async runtime's
    /// threads: the scheduler's, a blocking task's).
    pub(crate) fn lend(&self) -> Result<Conn, Error> {
        let spare = self.spare.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match spare {
            Some(c) if !c.client.is_closed() => Ok(c),
            _ => Conn::connect(&self.config),
        }
    }

    /// Ends a lent connection's transaction (releasing its locks) and keeps it for reuse.
    /// Done on a thread of its own, because the caller may be anywhere, even on an async
    /// runtime's thread dropping a lease.
    pub(crate) fn give_back(&self, mut conn: Conn) -> Option<std::thread::JoinHandle<()>> {
        let spare = self.spare.clone();
        let done = std::thread::Builder::new()
            .name("motcua-pg-release".into())
            .spawn(move || {
                if conn.client.batch_execute("COMMIT").is_ok() {
                    let mut spare = spare.lock().unwrap_or_else(|p| p.into_inner());
                    if spare.len() < SPARE {
                        spare.push(conn);
                    }
                }
            });
        match done {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!("cannot release a PostgreSQL connection's locks: {e}");
                None
            }
        }
    }

    /// Stops the reader threads once their requests are done.
    pub(crate) fn close(&self) {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

impl Drop for Pool {
    /// A client's drop blocks on its runtime, which panics on a thread that drives another
    /// runtime (the server drops the engine at the end of its runtime's run): the spare
    /// connections are closed on a thread of their own.
    fn drop(&mut self) {
        let spare = std::mem::take(&mut *self.spare.lock().unwrap_or_else(|p| p.into_inner()));
        if spare.is_empty() {
            return;
        }
        let closing = std::thread::Builder::new()
            .name("motcua-pg-close".into())
            .spawn(move || drop(spare));
        match closing {
            Ok(t) => {
                let _ = t.join();
            }
            Err(e) => tracing::warn!("cannot close spare PostgreSQL connections: {e}"),
        }
    }
}
