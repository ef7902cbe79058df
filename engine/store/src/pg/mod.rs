//! PostgreSQL as the store of several engine nodes (`motcua serve --store postgres://…`).
//!
//! The records are the embedded store's key space in one table (see [`kv`]), so the commit
//! rules and the reads are the very code sled and memory run, and one conformance suite
//! covers all three. What PostgreSQL adds is in this module: a group-commit [`writer`] per
//! node whose transactions are serialised by a row lock on the chain's head, migrations,
//! marks, timer shards claimed with `FOR UPDATE SKIP LOCKED`, webhook cursors leased the same
//! way, and `LISTEN`/`NOTIFY` so a node's scheduler hears of an earlier timer another node
//! committed.
//!
//! Readers cache nothing: every read asks the database. The writer remembers what it last
//! wrote only while the counters row, read under the head's lock, is exactly the one its own
//! last commit left (every commit of any node changes it); otherwise it forgets and reads
//! every record it checks inside the transaction. So no node acts on another node's stale data.
//! The SQL is meant to stay within what CockroachDB and YugabyteDB accept, with the caveats
//! docs/scaling.md lists (no `LISTEN`/`NOTIFY` on CockroachDB; a node still sees other nodes'
//! timers within [`POLL`]); it has only been run on PostgreSQL.

mod address;
pub mod backup;
mod conn;
mod files;
pub use files::PgFiles;
mod kv;
pub mod migrate;
mod read;
mod shared;
mod snapshot;
pub use snapshot::PgSnapshot;
mod writer;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use self::address::Address;
use self::conn::Pool;
use self::kv::PoolKv;
use self::shared::Wakers;
use self::writer::{Job, Writer};
pub use self::writer::{MAX_BATCH, Stats};
use super::batch::{META, Pending, STATE_DEPARTMENTS, read_counters};
use super::view::{Space, View};
use super::{Committed, Error, Marks, Store};
use motcua_core::transition::Transition;

/// How often a node looks at the timers anyway, in case a notification was missed (a
/// dropped listening connection).
pub const POLL: Duration = Duration::from_secs(5);

/// Options for opening a PostgreSQL store.
#[derive(Debug, Clone)]
pub struct Options {
    /// Connections readers may hold open at once.
    pub read_connections: usize,
    /// Keep the report counters in each commit (the benchmark of their cost turns it off).
    #[doc(hidden)]
    pub report_counters: bool,
    /// How long the server lets a session of this node sit idle inside a transaction
    /// before it ends it and releases its locks: the bound on how long a hung node's writer
    /// can hold the chain's head from the others. Timer claims, webhook leases and audit
    /// snapshots are idle on purpose and exempt. Zero leaves it to the server's setting.
    pub idle_in_transaction: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            read_connections: 16,
            report_counters: true,
            idle_in_transaction: Duration::from_secs(60),
        }
    }
}

/// A [`Store`] on PostgreSQL. Several processes may open the same database; each runs its own
/// writer, and their commits interleave in one order.
pub struct PgStore {
    kv: PoolKv,
    pool: Arc<Pool>,
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    stop: Arc<AtomicBool>,
    wakers: Arc<Wakers>,
    stats: Arc<Stats>,
    /// The release of this node's last timer claim (see [`Held`]).
    claim_released: Arc<Mutex<Option<JoinHandle<()>>>>,
    /// A safe rendering of the address (no password), for messages.
    shown: String,
    /// The address as given, for the snapshot a backup reads.
    url: String,
    files: files::PgFiles,
}

/// The address without its password, for messages.
/// The schema version this build writes.
pub const SCHEMA_VERSION: i32 = match migrate::MIGRATIONS.last() {
    Some(m) => m.0,
    None => 0,
};

/// What `motcua migrate --store` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// Schema versions applied now.
    pub schema: Vec<i32>,
    /// Dossiers whose index keys were rebuilt (`None`: the index was current).
    pub reindexed: Option<u64>,
}

/// Applies the migrations the database at `url` lacks (`motcua migrate --store`) and
/// rebuilds an index older than this version's ([`crate::reindex`]).
pub fn migrate_url(url: &str) -> Result<Migrated, Error> {
    let address = Address::parse(url, Options::default().idle_in_transaction)?;
    let mut client = address
        .config
        .connect(postgres::NoTls)
        .map_err(|e| Error::Unusable {
            path: address.shown.clone().into(),
            problem: format!("cannot connect: {e}"),
        })?;
    let schema = migrate::migrate(&mut client)?;
    let kv = PoolKv {
        pool: Arc::new(Pool::new(address.config.clone(), 1)?),
    };
    let reindexed = match crate::reindex::state(&kv)? {
        crate::reindex::State::Current => None,
        crate::reindex::State::Newer => {
            return Err(Error::Unusable {
                path: address.shown.clone().into(),
                problem: "was written by a newer motcua (its index is of a later generation); \
                          it is not migrated back"
                    .into(),
            });
        }
        // Stop every node first: a node still serving could commit between the rebuild's
        // reads and its writes (docs/scaling.md).
        _ => Some(crate::reindex::rebuild(&kv, &mut |writes| {
            put(&mut client, writes)
        })?),
    };
    Ok(Migrated { schema, reindexed })
}

/// Writes `writes` in one transaction, outside the writer (migrations only).
fn put(client: &mut postgres::Client, writes: crate::kv::Writes) -> Result<(), Error> {
    let failed = |e: postgres::Error| Error::NotWritten(format!("PostgreSQL reindex: {e}"));
    let mut tx = client.transaction().map_err(failed)?;
    let (mut ks, mut vs, mut del) = (vec![], vec![], vec![]);
    for (k, v) in writes {
        match v {
            Some(v) => {
                ks.push(k);
                vs.push(v.to_vec());
            }
            None => del.push(k),
        }
    }
    tx.execute(
        "INSERT INTO motcua_kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
         ON CONFLICT (k) DO UPDATE SET v = excluded.v",
        &[&ks, &vs],
    )
    .map_err(failed)?;
    tx.execute("DELETE FROM motcua_kv WHERE k = ANY($1)", &[&del])
        .map_err(failed)?;
    tx.commit().map_err(failed)
}

/// The connection settings every connection of a node with `options` uses: the address
/// with the guards of [`Options::idle_in_transaction`] and TCP keepalives added (for tools
/// that open connections of their own beside the store's).
pub fn connection_config(url: &str, options: &Options) -> Result<postgres::Config, Error> {
    Ok(Address::parse(url, options.idle_in_transaction)?.config)
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`, or any libpq-style connection
    /// string), applies the migrations the database lacks and starts the node's writer and
    /// its listener for other nodes' timers.
    pub fn open(url: &str, options: Options) -> Result<PgStore, Error> {
        let Address { config, shown } = Address::parse(url, options.idle_in_transaction)?;
        let mut first = config
            .connect(postgres::NoTls)
            .map_err(|e| Error::Unusable {
                path: shown.clone().into(),
                problem: format!("cannot connect: {e}"),
            })?;
        migrate::migrate(&mut first)?;
        let pool = Arc::new(Pool::new(config.clone(), options.read_connections)?);
        let kv = PoolKv { pool: pool.clone() };
        match crate::reindex::state(&kv)? {
            crate::reindex::State::Current => {}
            crate::reindex::State::Empty => put(&mut first, vec![crate::reindex::mark()])?,
            crate::reindex::State::Newer => {
                return Err(Error::Unusable {
                    path: shown.clone().into(),
                    problem: "was written by a newer motcua (its index is of a later \
                              generation); run that version. Nothing was changed"
                        .into(),
                });
            }
            crate::reindex::State::Stale => {
                return Err(Error::Unusable {
                    path: shown.clone().into(),
                    problem: "was written by an older motcua whose index has no staff search \
                              or due order; run `motcua migrate --store <url>` to rebuild the \
                              index (records and the audit log are not touched). Nothing was \
                              changed"
                        .into(),
                });
            }
        }
        let known: HashSet<Vec<u8>> = Space::of(&kv, STATE_DEPARTMENTS)
            .range(b"", None)
            .map(|item| item.map(|(k, _)| k.to_vec()))
            .collect::<Result<_, _>>()?;
        let (sender, receiver) = mpsc::channel::<Job>();
        let stop = Arc::new(AtomicBool::new(false));
        let wakers: Arc<Wakers> = Arc::default();
        let stats = Arc::new(Stats::default());
        let writer = Writer {
            stats: stats.clone(),
            config: config.clone(),
            conn: None,
            known,
            report_counters: options.report_counters,
            recent: Default::default(),
            last_counters: None,
        };
        let io = |e: std::io::Error| Error::Read(e.to_string());
        let write = std::thread::Builder::new()
            .name("motcua-pg-writer".into())
            .spawn(move || writer::run(writer, receiver))
            .map_err(io)?;
        let listen = {
            let (stop, wakers, config) = (stop.clone(), wakers.clone(), config.clone());
            std::thread::Builder::new()
                .name("motcua-pg-listen".into())
                .spawn(move || shared::listen(&config, &stop, &wakers))
                .map_err(io)?
        };
        Ok(PgStore {
            url: url.to_string(),
            kv,
            files: files::PgFiles { pool: pool.clone() },
            pool,
            sender: Mutex::new(Some(sender)),
            threads: Mutex::new(vec![write, listen]),
            stop,
            wakers,
            stats,
            claim_released: Arc::default(),
            shown,
        })
    }

    /// What this node's writer did.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The address, without its password.
    pub fn address(&self) -> &str {
        &self.shown
    }

    fn view(&self) -> Result<View<'_>, Error> {
        let c = read_counters(Space::of(&self.kv, META))?;
        Ok(View {
            kv: &self.kv,
            audit_through: c.audit_seq,
            audit_head: c.audit_head,
            outbox_through: c.outbox_seq,
        })
    }

    /// A view for reads that do not depend on the durable heads (everything committed in
    /// PostgreSQL is durable): one round trip fewer.
    fn bare(&self) -> View<'_> {
        View {
            kv: &self.kv,
            audit_through: 0,
            audit_head: String::new(),
            outbox_through: 0,
        }
    }

    fn send(
        &self,
        transition: Transition,
    ) -> Result<mpsc::Receiver<Result<Committed, Error>>, Error> {
        let pending = Pending::new(transition)?;
        let (answer, rx) = mpsc::sync_channel(1);
        let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        let sender = sender.as_ref().ok_or(Error::Closed)?;
        sender
            .send(Job { pending, answer })
            .map_err(|_| Error::NotWritten("the writer has stopped".into()))?;
        Ok(rx)
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Closing the channel lets the writer finish what is queued, then return.
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.pool.close();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Store for PgStore {
    fn files(&self) -> &dyn crate::files::Files {
        &self.files
    }

    fn backup(
        &self,
        out: &mut dyn std::io::Write,
    ) -> Result<crate::backup::Summary, crate::backup::Error> {
        backup::backup(&self.url, out)
    }

    fn commit(&self, transition: Transition) -> Result<Committed, Error> {
        let rx = self.send(transition)?;
        rx.recv()
            .map_err(|_| Error::OutcomeUnknown("the writer stopped with the transition".into()))?
    }

    fn commit_all(
        &self,
        transitions: &mut dyn Iterator<Item = Transition>,
    ) -> Vec<Result<Committed, Error>> {
        // Handed over as computed, so the writer commits one group while the next is
        // computed; answered in order.
        let waiting: Vec<Result<mpsc::Receiver<_>, Error>> =
            transitions.map(|t| self.send(t)).collect();
        waiting
            .into_iter()
            .map(|w| {
                w.and_then(|rx| {
                    rx.recv().map_err(|_| {
                        Error::OutcomeUnknown("the writer stopped with the transition".into())
                    })?
                })
            })
            .collect()
    }

    fn shared(&self) -> Option<&dyn crate::Shared> {
        Some(self)
    }
}

impl Marks for PgStore {
    fn mark(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
        let name = name.to_string();
        self.pool.with(move |c| {
            c.client
                .query_opt("SELECT v FROM motcua_marks WHERE name = $1", &[&name])?
                .map(|r| r.try_get(0))
                .transpose()
        })
    }

    fn marks(&self, prefix: &str, f: &mut dyn FnMut(&str, &[u8]) -> bool) -> Result<(), Error> {
        let mut after = prefix.to_string();
        let mut first = true;
        loop {
            let op = if first { ">=" } else { ">" };
            let from = after.clone();
            let rows = self.pool.with(move |c| {
                c.client
                    .query(
                        &format!(
                            "SELECT name, v FROM motcua_marks WHERE name {op} $1 \
                             ORDER BY name LIMIT 256"
                        ),
                        &[&from],
                    )?
                    .into_iter()
                    .map(|r| Ok((r.try_get::<_, String>(0)?, r.try_get::<_, Vec<u8>>(1)?)))
                    .collect::<Result<Vec<_>, postgres::Error>>()
            })?;
            first = false;
            let n = rows.len();
            for (name, v) in rows {
                if !name.starts_with(prefix) {
                    return Ok(());
                }
                if !f(&name, &v) {
                    return Ok(());
                }
                after = name;
            }
            if n < 256 {
                return Ok(());
            }
        }
    }

    fn set_mark(&self, name: &str, value: Option<&[u8]>) -> Result<(), Error> {
        let (name, value) = (name.to_string(), value.map(<[u8]>::to_vec));
        self.pool
            .with(move |c| match value {
                // One statement: the other nodes hear of the mark when it is committed
                // (an uploaded procedure version is loaded before anyone asks for it).
                Some(v) => c.client.execute(
                    &format!(
                        "WITH up AS (INSERT INTO motcua_marks (name, v) VALUES ($1, $2) \
                         ON CONFLICT (name) DO UPDATE SET v = excluded.v RETURNING name) \
                         SELECT pg_notify('{}', name) FROM up",
                        shared::MARK_CHANNEL
                    ),
                    &[&name, &v],
                ),
                None => c
                    .client
                    .execute("DELETE FROM motcua_marks WHERE name = $1", &[&name]),
            })
            .map(|_| ())
            .map_err(|e| match e {
                Error::Read(m) => Error::NotWritten(m),
                other => other,
            })
    }
}
