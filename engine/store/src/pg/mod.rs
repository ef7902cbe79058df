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
mod conn;
mod kv;
pub mod migrate;
mod snapshot;
pub use snapshot::PgSnapshot;
mod writer;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use jiff::Timestamp;

use self::address::{Address, HELD_ON_PURPOSE};
use self::conn::{Conn, Pool, read_error};
use self::kv::PoolKv;
use self::writer::{Job, TIMER_CHANNEL, Writer};
pub use self::writer::{MAX_BATCH, Stats};
use super::batch::{META, Pending, STATE_DEPARTMENTS, read_counters};
use super::view::{Space, View};
use super::{
    Committed, CounterRow, Error, Lease, Marks, Page, Query, Reader, Store, TIMER_SHARDS,
    TimerClaim,
};
use motcua_core::audit;
use motcua_core::dossier::Dossier;
use motcua_core::transition::{Event, Timer, Transition};

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

type Wake = Arc<dyn Fn(Timestamp) + Send + Sync>;

/// A [`Store`] on PostgreSQL. Several processes may open the same database; each runs its own
/// writer, and their commits interleave in one order.
pub struct PgStore {
    kv: PoolKv,
    pool: Arc<Pool>,
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    stop: Arc<AtomicBool>,
    wakers: Arc<Mutex<Vec<Wake>>>,
    stats: Arc<Stats>,
    /// The release of this node's last timer claim (see [`Held`]).
    claim_released: Arc<Mutex<Option<JoinHandle<()>>>>,
    /// A safe rendering of the address (no password), for messages.
    shown: String,
}

/// The address without its password, for messages.
/// The schema version this build writes.
pub const SCHEMA_VERSION: i32 = match migrate::MIGRATIONS.last() {
    Some(m) => m.0,
    None => 0,
};

/// Applies the migrations the database at `url` lacks (`motcua migrate --store`); the
/// versions applied now.
pub fn migrate_url(url: &str) -> Result<Vec<i32>, Error> {
    let address = Address::parse(url, Options::default().idle_in_transaction)?;
    let mut client = address
        .config
        .connect(postgres::NoTls)
        .map_err(|e| Error::Unusable {
            path: address.shown.clone().into(),
            problem: format!("cannot connect: {e}"),
        })?;
    migrate::migrate(&mut client)
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
        let known: HashSet<Vec<u8>> = Space::of(&kv, STATE_DEPARTMENTS)
            .range(b"", None)
            .map(|item| item.map(|(k, _)| k.to_vec()))
            .collect::<Result<_, _>>()?;
        let (sender, receiver) = mpsc::channel::<Job>();
        let stop = Arc::new(AtomicBool::new(false));
        let wakers: Arc<Mutex<Vec<Wake>>> = Arc::default();
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
                .spawn(move || listen(&config, &stop, &wakers))
                .map_err(io)?
        };
        Ok(PgStore {
            kv,
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

/// Listens for timers other nodes committed and rings this node's schedulers.
fn listen(config: &postgres::Config, stop: &AtomicBool, wakers: &Mutex<Vec<Wake>>) {
    while !stop.load(Ordering::Relaxed) {
        let mut client = match config.connect(postgres::NoTls) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("PostgreSQL listener cannot connect: {e}");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        if let Err(e) = client.batch_execute(&format!("LISTEN {TIMER_CHANNEL}")) {
            tracing::warn!("PostgreSQL LISTEN failed: {e}");
            std::thread::sleep(Duration::from_secs(1));
            continue;
        }
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let mut lost = false;
            {
                use postgres::fallible_iterator::FallibleIterator;
                let mut n = client.notifications();
                // Under load notifications never pause, so each one rings at once and the
                // stop flag is looked at between them.
                let mut it = n.timeout_iter(Duration::from_millis(250));
                while !stop.load(Ordering::Relaxed) {
                    match it.next().transpose() {
                        Some(Ok(note)) => {
                            if let Ok(ms) = note.payload().parse::<i64>()
                                && let Ok(at) = Timestamp::from_millisecond(ms)
                            {
                                let ws = wakers.lock().unwrap_or_else(|p| p.into_inner()).clone();
                                for w in ws {
                                    w(at);
                                }
                            }
                        }
                        Some(Err(e)) => {
                            tracing::warn!("PostgreSQL listener lost its connection: {e}");
                            lost = true;
                            break;
                        }
                        None => break,
                    }
                }
            }
            if lost || client.is_closed() {
                break;
            }
        }
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

    fn claim_timers(&self) -> Result<TimerClaim, Error> {
        // The previous claim's locks are released on a thread of their own: wait for it.
        let previous = self
            .claim_released
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(h) = previous {
            let _ = h.join();
        }
        let mut conn = self.pool.lend()?;
        let claimed = (|| -> Result<Vec<i32>, postgres::Error> {
            // Under the idle timeout: the firing renews the claim between pages, so a long
            // `fire_due` keeps it and a node that hangs mid-firing loses it.
            conn.client.batch_execute("BEGIN")?;
            conn.client
                .query(
                    "SELECT shard FROM motcua_timer_shards ORDER BY shard FOR UPDATE SKIP LOCKED",
                    &[],
                )?
                .into_iter()
                .map(|r| r.try_get(0))
                .collect()
        })();
        match claimed {
            Ok(shards) => {
                let mut mask = [false; TIMER_SHARDS];
                for s in shards {
                    if let Some(m) = usize::try_from(s).ok().and_then(|s| mask.get_mut(s)) {
                        *m = true;
                    }
                }
                Ok(TimerClaim::shards(
                    mask,
                    Box::new(Held {
                        conn: Some(conn),
                        pool: self.pool.clone(),
                        released: Some(self.claim_released.clone()),
                    }),
                ))
            }
            Err(e) => Err(read_error(e)),
        }
    }

    fn on_remote_timer(&self, wake: Arc<dyn Fn(Timestamp) + Send + Sync>) {
        self.wakers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(wake);
    }

    fn poll_interval(&self) -> Option<Duration> {
        Some(POLL)
    }
}

/// A connection with an open transaction that holds row locks (timer shards, a webhook
/// cursor): ending it releases them. A node that dies releases them with its connection.
struct Held {
    conn: Option<Conn>,
    pool: Arc<Pool>,
    /// Where the release is recorded, so this node's next claim waits for it instead of
    /// finding its own old locks and skipping its own timers.
    released: Option<Arc<Mutex<Option<JoinHandle<()>>>>>,
}

impl super::ClaimHold for Held {
    fn renew(&mut self) -> bool {
        let Some(c) = self.conn.as_mut() else {
            return false;
        };
        if c.client.batch_execute("SELECT 1").is_ok() {
            return true;
        }
        // The session was ended (the idle timeout, a lost connection): its locks are gone.
        // Closed off this thread, like any client.
        if let Some(dead) = self.conn.take() {
            let _ = std::thread::Builder::new()
                .name("motcua-pg-close".into())
                .spawn(move || drop(dead));
        }
        false
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            let release = self.pool.give_back(c);
            if let Some(slot) = &self.released {
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = release;
            }
        }
    }
}

/// A webhook subscriber's cursor, leased by the row lock of its mark.
struct MarkLease {
    held: Held,
    name: String,
}

// A lease's transaction sits idle through a delivery and its retries (minutes, with a
// failing receiver), so it is exempt from the idle timeout (`HELD_ON_PURPOSE`): were the
// server to end it mid-retries, another node would deliver the same event meanwhile, out of
// order. A node that vanishes still loses its leases, to the TCP keepalives and the user
// timeout; one that hangs holds up only that subscriber, never the other nodes' commits.
impl Lease for MarkLease {
    fn set(&mut self, _marks: &dyn Marks, value: &[u8]) -> Result<bool, Error> {
        let Some(c) = self.held.conn.as_mut() else {
            return Ok(false);
        };
        let name = &self.name;
        // Saved and committed (durable), then locked again; if another node took the row
        // in between, or moved the value, the lease is lost.
        let r = (|| -> Result<bool, postgres::Error> {
            c.client.execute(
                "UPDATE motcua_marks SET v = $2 WHERE name = $1",
                &[name, &value],
            )?;
            c.client
                .batch_execute(&format!("COMMIT; BEGIN; {HELD_ON_PURPOSE}"))?;
            let row = c.client.query_opt(
                "SELECT v FROM motcua_marks WHERE name = $1 FOR UPDATE SKIP LOCKED",
                &[name],
            )?;
            Ok(match row {
                Some(r) => r.try_get::<_, Vec<u8>>(0)? == value,
                None => false,
            })
        })();
        match r {
            Ok(true) => Ok(true),
            Ok(false) => {
                // Ends the transaction and returns the connection.
                let pool = self.held.pool.clone();
                drop(std::mem::replace(
                    &mut self.held,
                    Held {
                        conn: None,
                        pool,
                        released: None,
                    },
                ));
                Ok(false)
            }
            Err(e) => {
                // A failed connection is not reused.
                self.held.conn.take();
                Err(Error::NotWritten(format!("PostgreSQL: {e}")))
            }
        }
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
                Some(v) => c.client.execute(
                    "INSERT INTO motcua_marks (name, v) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET v = excluded.v",
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

    fn lease(&self, name: &str) -> Result<Option<(Box<dyn Lease>, Option<Vec<u8>>)>, Error> {
        let mut conn = self.pool.lend()?;
        let got = (|| -> Result<Option<Option<Vec<u8>>>, postgres::Error> {
            // The row must exist to be locked.
            conn.client.execute(
                "INSERT INTO motcua_marks (name, v) VALUES ($1, '') ON CONFLICT (name) DO NOTHING",
                &[&name],
            )?;
            conn.client
                .batch_execute(&format!("BEGIN; {HELD_ON_PURPOSE}"))?;
            let row = conn.client.query_opt(
                "SELECT v FROM motcua_marks WHERE name = $1 FOR UPDATE SKIP LOCKED",
                &[&name],
            )?;
            Ok(match row {
                None => None,
                Some(r) => {
                    let v: Vec<u8> = r.try_get(0)?;
                    Some((!v.is_empty()).then_some(v))
                }
            })
        })();
        match got {
            Ok(Some(value)) => Ok(Some((
                Box::new(MarkLease {
                    held: Held {
                        conn: Some(conn),
                        pool: self.pool.clone(),
                        released: None,
                    },
                    name: name.to_string(),
                }),
                value,
            ))),
            Ok(None) => {
                let _ = self.pool.give_back(conn);
                Ok(None)
            }
            Err(e) => Err(read_error(e)),
        }
    }
}

impl Reader for PgStore {
    fn dossier(&self, code: &str) -> Result<Option<Dossier>, Error> {
        self.bare().dossier(code)
    }
    fn history(&self, code: &str) -> Result<Vec<audit::Entry>, Error> {
        self.view()?.history(code)
    }
    fn audit(&self, from: u64, limit: usize) -> Result<Vec<audit::Entry>, Error> {
        self.view()?.audit(from, limit)
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
    fn outbox(&self, after: u64, limit: usize) -> Result<Vec<(u64, Event)>, Error> {
        self.view()?.outbox(after, limit)
    }
    fn outbox_head(&self) -> Result<u64, Error> {
        Ok(self.view()?.outbox_through)
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
    fn audit_head(&self) -> Result<(u64, String), Error> {
        Ok(self.view()?.audit_head())
    }
    fn audit_lines(&self, from: u64, f: &mut dyn FnMut(u64, &[u8]) -> bool) -> Result<(), Error> {
        self.view()?.audit_lines(from, f)
    }
    fn dossier_records(&self, f: &mut dyn FnMut(&str, &[u8]) -> bool) -> Result<(), Error> {
        self.bare().dossier_records(f)
    }
    fn audit_index(
        &self,
        key: &super::AuditKey,
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
    fn report_counters(
        &self,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<Vec<CounterRow>, Error> {
        self.bare().report_counters(from, to)
    }
}
