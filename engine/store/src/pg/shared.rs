//! What several nodes on one database share ([`Shared`]): timer shards claimed by row locks
//! (`FOR UPDATE SKIP LOCKED`), webhook cursors leased the same way, and `LISTEN`/`NOTIFY` so a
//! node hears of timers and marks the others committed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use jiff::Timestamp;

use super::address::HELD_ON_PURPOSE;
use super::conn::{Conn, Pool, read_error};
use super::writer::TIMER_CHANNEL;
use super::{POLL, PgStore};
use crate::{ClaimHold, Error, Lease, Marks, Shared, TIMER_SHARDS, TimerClaim};

/// The channel a mark's name is announced on when a node sets it.
pub(super) const MARK_CHANNEL: &str = "motcua_marks";

type Wake = Arc<dyn Fn(Timestamp) + Send + Sync>;
type Told = Arc<dyn Fn(&str) + Send + Sync>;

/// Who this node's listener rings.
#[derive(Default)]
pub(super) struct Wakers {
    timers: Mutex<Vec<Wake>>,
    marks: Mutex<Vec<Told>>,
}

impl Shared for PgStore {
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
            .timers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(wake);
    }

    fn on_remote_mark(&self, told: Arc<dyn Fn(&str) + Send + Sync>) {
        self.wakers
            .marks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(told);
    }

    fn poll_interval(&self) -> Duration {
        POLL
    }
}

/// Listens for what other nodes committed: timers ring this node's schedulers, marks are
/// told to whoever asked ([`Shared::on_remote_mark`]).
pub(super) fn listen(config: &postgres::Config, stop: &AtomicBool, wakers: &Wakers) {
    while !stop.load(Ordering::Relaxed) {
        let mut client = match config.connect(postgres::NoTls) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("PostgreSQL listener cannot connect: {e}");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        if let Err(e) =
            client.batch_execute(&format!("LISTEN {TIMER_CHANNEL}; LISTEN {MARK_CHANNEL}"))
        {
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
                        Some(Ok(note)) if note.channel() == MARK_CHANNEL => {
                            let told = wakers
                                .marks
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .clone();
                            for t in told {
                                t(note.payload());
                            }
                        }
                        Some(Ok(note)) => {
                            if let Ok(ms) = note.payload().parse::<i64>()
                                && let Ok(at) = Timestamp::from_millisecond(ms)
                            {
                                let ws = wakers
                                    .timers
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .clone();
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

/// A connection with an open transaction that holds row locks (timer shards, a webhook
/// cursor): ending it releases them. A node that dies releases them with its connection.
struct Held {
    conn: Option<Conn>,
    pool: Arc<Pool>,
    /// Where the release is recorded, so this node's next claim waits for it instead of
    /// finding its own old locks and skipping its own timers.
    released: Option<Arc<Mutex<Option<JoinHandle<()>>>>>,
}

impl ClaimHold for Held {
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
