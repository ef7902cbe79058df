//! The officers: pools per role and department, each a queue of waiting steps and officers
//! who take one step at a time, starting at the next working instant and finishing when the
//! step's working time is done on the calendar.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use jiff::Timestamp;
use motcua_core::calendar::{Duration, Unit};
use motcua_core::procedure::By;

use super::{Ev, Run};

/// A vector whose freed slots are reused: works and timers come and go by the million.
pub(super) struct Slab<T> {
    pub(super) items: Vec<Option<T>>,
    free: Vec<usize>,
}

impl<T> Slab<T> {
    pub(super) fn new() -> Slab<T> {
        Slab {
            items: vec![],
            free: vec![],
        }
    }
    pub(super) fn insert(&mut self, t: T) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.items[i] = Some(t);
                i
            }
            None => {
                self.items.push(Some(t));
                self.items.len() - 1
            }
        }
    }
    pub(super) fn take(&mut self, i: usize) -> Option<T> {
        let t = self.items.get_mut(i)?.take();
        if t.is_some() {
            self.free.push(i);
        }
        t
    }
}

pub(super) enum Queue {
    Fifo(VecDeque<usize>),
    /// By due instant, then arrival in the queue.
    Due(BinaryHeap<Reverse<(Timestamp, u64, usize)>>),
}

pub(super) struct PoolRt {
    pub(super) officers: Option<u32>,
    /// Officers free now, by number (a listed pool only).
    pub(super) free: Vec<u32>,
    pub(super) queue: Queue,
}

impl Run<'_> {
    pub(super) fn enqueue(&mut self, w: usize) {
        let Some(work) = self.works.items[w].as_ref() else {
            return;
        };
        let Some(pi) = work.pool else {
            self.start(w);
            return;
        };
        let (due, seq) = (work.due.unwrap_or(Timestamp::MAX), work.seq);
        match &mut self.pools[pi].queue {
            Queue::Fifo(q) => q.push_back(w),
            Queue::Due(q) => q.push(Reverse((due, seq, w))),
        }
        self.dispatch(pi);
    }

    fn dispatch(&mut self, pi: usize) {
        loop {
            let pool = &mut self.pools[pi];
            if pool.officers.is_some() && pool.free.is_empty() {
                return;
            }
            let next = match &mut pool.queue {
                Queue::Fifo(q) => q.pop_front(),
                Queue::Due(q) => q.pop().map(|Reverse((_, _, w))| w),
            };
            let Some(w) = next else { return };
            // Work whose step has gone (the dossier ended on a sibling branch, a timer took
            // the step over) takes no officer.
            if !self.works.items[w].as_ref().is_some_and(|x| self.live(x)) {
                if let Some(stale) = self.works.take(w) {
                    self.unqueue(stale.procedure, &stale.state);
                }
                continue;
            }
            let pool = &mut self.pools[pi];
            let officer = if pool.officers.is_some() {
                pool.free.pop()
            } else {
                None
            };
            if let Some(work) = self.works.items[w].as_mut() {
                work.officer = officer;
            }
            self.start(w);
        }
    }

    /// An officer starts work `w` now: it ends when its hours of working time are done.
    fn start(&mut self, w: usize) {
        let Some(work) = self.works.items[w].as_ref() else {
            return;
        };
        let (hours, enqueued, pool) = (work.hours, work.enqueued, work.pool);
        let key = (work.procedure, work.state.clone());
        self.unqueue(key.0, &key.1);
        let begin = self.cal.next_working_instant(self.now).unwrap_or(self.now);
        let milli = (hours * 1000.0).round() as u64;
        let end = if milli == 0 {
            begin
        } else {
            self.cal
                .add(begin, Duration::new(milli, Unit::WorkingHours))
                .unwrap_or(self.plan.end)
        };
        if self.now >= self.plan.counted_from {
            let wait = self
                .cal
                .elapsed_hours_milli(enqueued, self.now)
                .unwrap_or(0) as f64
                / 1000.0;
            let m = self.measured.states.entry(key).or_default();
            m.steps += 1;
            m.waits.push(wait);
            m.service_hours += hours;
        }
        if let Some(p) = pool
            && self.pools[p].officers.is_some()
        {
            let from = self.now.max(self.plan.counted_from);
            let to = end.min(self.plan.end);
            if to > from {
                let busy = self.cal.elapsed_hours_milli(from, to).unwrap_or(0) as f64 / 1000.0;
                self.measured.pool_busy_hours[p] += busy;
            }
        }
        self.at(end, Ev::Done(w));
    }

    fn unqueue(&mut self, procedure: usize, state: &str) {
        if let Some(q) = self.queued.get_mut(&(procedure, state.to_string())) {
            *q = q.saturating_sub(1);
        }
    }

    pub(super) fn done(&mut self, w: usize) {
        let Some(work) = self.works.take(w) else {
            return;
        };
        if !self.live(&work) {
            if let (Some(p), Some(officer)) = (work.pool, work.officer) {
                self.pools[p].free.push(officer);
                self.dispatch(p);
            }
            return;
        }
        self.take(
            work.dossier,
            &work.state,
            &work.action,
            By::Officer,
            work.pool,
            work.officer,
        );
        if let (Some(p), Some(officer)) = (work.pool, work.officer) {
            self.pools[p].free.push(officer);
            self.dispatch(p);
        }
    }
}
