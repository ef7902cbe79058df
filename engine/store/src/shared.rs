//! What a store several processes share adds to [`Store`]: leases of marks, timer claims by
//! shard, and word of what other nodes committed. Only a backend that has these (PostgreSQL:
//! row locks, `LISTEN`/`NOTIFY`) implements [`Shared`]; the embedded and in-memory stores,
//! which one process opens, answer `None` from [`Store::shared`] and carry none of it.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::{Error, Marks, Store};

/// The multi-node part of a store ([`Store::shared`]).
pub trait Shared: Send + Sync {
    /// Takes the lease of a mark, with its value: while the lease is held no other node
    /// sharing the store gets it (`None` then), which is how one node at a time delivers to a
    /// webhook subscriber. It ends when dropped, or with the process.
    #[allow(clippy::type_complexity)]
    fn lease(&self, name: &str) -> Result<Option<(Box<dyn Lease>, Option<Vec<u8>>)>, Error>;

    /// Claims the timers this node may fire now (see [`TimerClaim`]); the engine holds the
    /// claim while it fires. Other nodes' claims are skipped, not waited for.
    fn claim_timers(&self) -> Result<TimerClaim, Error>;

    /// Calls `wake` when another node commits a timer (its instant), so this node's
    /// scheduler need not poll.
    fn on_remote_timer(&self, wake: Arc<dyn Fn(Timestamp) + Send + Sync>);

    /// Calls `told` with the name of a mark another node set (an uploaded procedure
    /// version, a webhook cursor), so this node can pick it up before it is asked.
    fn on_remote_mark(&self, told: Arc<dyn Fn(&str) + Send + Sync>);

    /// How often this node looks at the store even when nothing rang it: a notification can
    /// be missed (a dropped connection).
    fn poll_interval(&self) -> Duration;
}

/// The lease of a mark ([`Shared::lease`]); a store only one process opens grants it always,
/// its one holder per mark being the caller's business.
#[allow(clippy::type_complexity)]
pub fn lease(
    store: &dyn Store,
    name: &str,
) -> Result<Option<(Box<dyn Lease>, Option<Vec<u8>>)>, Error> {
    match store.shared() {
        Some(shared) => shared.lease(name),
        None => Ok(Some((
            Box::new(Unshared {
                name: name.to_string(),
            }),
            store.mark(name)?,
        ))),
    }
}

/// A held lease of a mark ([`Shared::lease`], [`lease`]).
pub trait Lease: Send {
    /// Sets the mark durably. `Ok(false)`: it was set, but another node holds the lease now
    /// (it was taken while the value was being saved); drop this one and lease again.
    fn set(&mut self, marks: &dyn Marks, value: &[u8]) -> Result<bool, Error>;
}

struct Unshared {
    name: String,
}

impl Lease for Unshared {
    fn set(&mut self, marks: &dyn Marks, value: &[u8]) -> Result<bool, Error> {
        marks.set_mark(&self.name, Some(value)).map(|()| true)
    }
}

/// How many shards timers are claimed in when several nodes share a store.
pub const TIMER_SHARDS: usize = 16;

/// The timers a node may fire now ([`Shared::claim_timers`]): all of them on a store only one
/// process opens; on a shared store, those of the dossiers in the shards it holds, until the
/// claim is dropped.
pub struct TimerClaim {
    shards: Option<[bool; TIMER_SHARDS]>,
    held: Option<Box<dyn ClaimHold>>,
}

/// What keeps a claim on a shared store, released when dropped.
pub trait ClaimHold: Send {
    /// Whether the claim is still held, telling the store the node is alive: the firing
    /// calls it between pages, so a node that hangs mid-firing can have its claim ended by
    /// the store (PostgreSQL's idle timeout) while a busy one keeps it.
    fn renew(&mut self) -> bool;
}

impl TimerClaim {
    pub fn all() -> TimerClaim {
        TimerClaim {
            shards: None,
            held: None,
        }
    }

    /// The shards marked true, held until `held` is dropped.
    pub fn shards(shards: [bool; TIMER_SHARDS], held: Box<dyn ClaimHold>) -> TimerClaim {
        TimerClaim {
            shards: Some(shards),
            held: Some(held),
        }
    }

    /// Whether the claim still holds (see [`ClaimHold::renew`]); a claim of all timers on a
    /// store of one process always does.
    pub fn renew(&mut self) -> bool {
        self.held.as_mut().is_none_or(|h| h.renew())
    }

    /// A dossier's shard: FNV-1a of its code, so every node computes the same one.
    pub fn shard_of(code: &str) -> usize {
        let mut h: u32 = 0x811c_9dc5;
        for b in code.bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        h as usize % TIMER_SHARDS
    }

    /// Whether this node may fire the timers of dossier `code` now.
    pub fn covers(&self, code: &str) -> bool {
        self.shards
            .is_none_or(|s| s.get(Self::shard_of(code)).copied().unwrap_or(false))
    }

    /// Whether some shard is held by another node.
    pub fn is_partial(&self) -> bool {
        self.shards.is_some_and(|s| s.iter().any(|held| !held))
    }
}
