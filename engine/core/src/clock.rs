//! Where "now" comes from. The core never reads a clock; the engine asks its [`TimeSource`], so
//! tests drive time exactly with [`ManualClock`].

use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

/// A source of the current instant: the system clock, or a manual one in tests.
pub trait TimeSource: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl TimeSource for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn new(at: Timestamp) -> ManualClock {
        ManualClock(Mutex::new(at))
    }
    pub fn set(&self, at: Timestamp) {
        if let Ok(mut t) = self.0.lock() {
            *t = at;
        }
    }
    pub fn advance(&self, by: SignedDuration) {
        if let Ok(mut t) = self.0.lock()
            && let Ok(next) = t.checked_add(by)
        {
            *t = next;
        }
    }
}

impl TimeSource for ManualClock {
    fn now(&self) -> Timestamp {
        self.0
            .lock()
            .map(|t| *t)
            .unwrap_or_else(|p| *p.into_inner())
    }
}
