//! The deadline scheduler: a thread that sleeps until the earliest due timer, fires what is
//! due through [`Engine::fire_due`], and sleeps again. Commits that add an earlier timer ring
//! its [`Bell`]; with nothing due it waits without waking (no CPU while idle), apart from a
//! long safety timeout against wall-clock jumps.
//!
//! It reads "now" from the engine's [`crate::clock::TimeSource`] and sleeps in real time, so a
//! test that moves a manual clock calls [`Scheduler::wake`] to have it look again.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use jiff::Timestamp;

use crate::dossier::transition::Firing;
use crate::engine::Engine;

/// The longest the scheduler sleeps without looking at the clock again.
const MAX_SLEEP: Duration = Duration::from_secs(3600);
/// How long it first waits before trying again the dossiers whose due timers could not fire
/// ([`Engine::stuck`]); doubled each time up to [`MAX_RETRY`], so a stuck dossier costs a
/// wake-up a minute, not a busy loop, and never delays the other dossiers' timers.
const RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);
/// How soon it looks again at timers due now that another node sharing the store was firing.
const OTHERS_FIRING: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
struct Plan {
    /// The instant the scheduler sleeps until (`None`: until rung).
    until: Option<Timestamp>,
    rung: bool,
    stop: bool,
    sleeping: bool,
    /// The earliest timer committed while the scheduler was awake, since it began planning.
    offered: Option<Timestamp>,
}

/// Wakes a sleeping scheduler when a commit adds a timer earlier than the one it waits for.
#[derive(Debug, Default)]
pub struct Bell {
    plan: Mutex<Plan>,
    cv: Condvar,
}

impl Bell {
    /// A timer at `at` was committed: wake the scheduler if it sleeps past it. While it is
    /// awake (firing, or between reading its next timer and falling asleep) the offer is kept,
    /// so it looks again before sleeping: a commit in that gap is not missed.
    pub fn offer(&self, at: Timestamp) {
        let Ok(mut plan) = self.plan.lock() else {
            return;
        };
        if plan.sleeping {
            if plan.until.is_none_or(|u| at < u) {
                plan.rung = true;
                self.cv.notify_all();
            }
        } else {
            plan.offered = Some(plan.offered.map_or(at, |o| o.min(at)));
        }
    }
    /// The scheduler starts a round: what it reads from the store now includes every commit
    /// so far.
    fn begin(&self) {
        if let Ok(mut plan) = self.plan.lock() {
            plan.offered = None;
        }
    }
    fn ring(&self) {
        if let Ok(mut plan) = self.plan.lock() {
            plan.rung = true;
            self.cv.notify_all();
        }
    }
    fn stop(&self) {
        if let Ok(mut plan) = self.plan.lock() {
            plan.stop = true;
            self.cv.notify_all();
        }
    }
    /// Sleeps up to `wait` (or until rung) planning to look again at `until`; false once
    /// stopped.
    fn sleep(&self, until: Option<Timestamp>, wait: Duration) -> bool {
        let Ok(mut plan) = self.plan.lock() else {
            return false;
        };
        if plan.stop {
            return false;
        }
        // A timer committed after the round read the store, earlier than the plan.
        let missed = plan
            .offered
            .take()
            .is_some_and(|o| until.is_none_or(|u| o < u));
        if !plan.rung && !missed {
            plan.until = until;
            plan.sleeping = true;
            let (woken, _) = match self
                .cv
                .wait_timeout_while(plan, wait, |p| !p.rung && !p.stop)
            {
                Ok(r) => r,
                Err(_) => return false,
            };
            plan = woken;
            plan.sleeping = false;
        }
        plan.rung = false;
        !plan.stop
    }
}

/// A running scheduler; stops (and joins its thread) on [`Scheduler::stop`] or drop.
pub struct Scheduler {
    bell: Arc<Bell>,
    thread: Option<JoinHandle<()>>,
}

impl Scheduler {
    /// Starts the scheduler on a thread of its own. It first catches up: timers that came due
    /// while nothing ran fire at once, in due order. `on_fired` sees every firing (the CLI
    /// prints them; a server counts them).
    pub fn start(
        engine: Arc<Engine>,
        on_fired: impl Fn(&Firing) + Send + 'static,
    ) -> std::io::Result<Scheduler> {
        let bell = engine.bell();
        let thread = {
            let bell = bell.clone();
            std::thread::Builder::new()
                .name("motcua-scheduler".into())
                .spawn(move || run(&engine, &bell, &on_fired))?
        };
        Ok(Scheduler {
            bell,
            thread: Some(thread),
        })
    }

    /// While the scheduler sleeps: the instant it plans to look again at (the earliest timer;
    /// `None` when it sleeps until rung). `None` too while it is firing.
    pub fn planned(&self) -> Option<Timestamp> {
        let plan = self.bell.plan.lock().ok()?;
        if plan.sleeping { plan.until } else { None }
    }

    /// Makes the scheduler look at the clock and the timers now (after a manual clock moved).
    pub fn wake(&self) {
        self.bell.ring();
    }

    /// Whether its thread is still running (false once it stopped or died).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the scheduler after the firing in progress, if any, and waits for its thread.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.bell.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.halt();
    }
}

fn run(engine: &Engine, bell: &Bell, on_fired: &dyn Fn(&Firing)) {
    let mut retry = RETRY;
    loop {
        bell.begin();
        let now = engine.clock().now();
        let (until, mut wait) = match engine.fire_due(now) {
            Ok(fired) => {
                fired.iter().for_each(on_fired);
                match engine.next_timer() {
                    Ok(Some(at)) => {
                        let now = engine.clock().now();
                        // Came due while firing: look again at once.
                        let wait = if at <= now {
                            Duration::ZERO
                        } else {
                            Duration::try_from(now.duration_until(at)).unwrap_or(MAX_SLEEP)
                        };
                        (Some(at), wait.min(MAX_SLEEP))
                    }
                    Ok(None) => (None, MAX_SLEEP),
                    Err(e) => {
                        tracing::warn!("scheduler cannot read its timers: {e}");
                        (None, RETRY)
                    }
                }
            }
            Err(e) => {
                tracing::warn!("scheduler could not fire due timers: {e}");
                (None, retry)
            }
        };
        // Another node was firing some of what is due: look again soon, not in a busy loop.
        if engine.others_firing() {
            wait = wait.max(OTHERS_FIRING);
        }
        // A store other processes write to: a notification can be missed (a dropped
        // connection), so look at least this often.
        if let Some(poll) = engine.store_poll_interval() {
            wait = wait.min(poll);
        }
        // Dossiers whose timers could not fire are tried again, less and less often.
        if engine.stuck().is_empty() {
            retry = RETRY;
        } else {
            wait = wait.min(retry);
            retry = (retry * 2).min(MAX_RETRY);
        }
        if !bell.sleep(until, wait) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Regression: a commit that landed after the scheduler read its next timer but before it
    /// fell asleep was not offered, and the scheduler slept past the new timer.
    #[test]
    fn a_timer_offered_while_the_scheduler_is_awake_keeps_it_from_sleeping_past_it() {
        let bell = Bell::default();
        bell.begin();
        bell.offer(at("2027-03-01T09:00:00+07:00"));
        let start = std::time::Instant::now();
        assert!(bell.sleep(
            Some(at("2027-03-01T10:00:00+07:00")),
            Duration::from_secs(30)
        ));
        assert!(start.elapsed() < Duration::from_secs(5));
        // A later timer offered while awake does not: the plan already covers it.
        bell.begin();
        bell.offer(at("2027-03-01T11:00:00+07:00"));
        let start = std::time::Instant::now();
        assert!(bell.sleep(
            Some(at("2027-03-01T10:00:00+07:00")),
            Duration::from_millis(200)
        ));
        assert!(start.elapsed() >= Duration::from_millis(150));
    }
}
