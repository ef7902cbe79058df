//! A token bucket per credential, so one portal's burst cannot starve the desk; the same
//! buckets per address for failed authentication and per principal for sign-in; and a budget
//! for log lines, so a flood of refusals cannot flood the log.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets kept at most; past it the map is cleared (every caller starts full again), so
/// subjects minted by an identity provider cannot grow memory without bound.
const MAX_SUBJECTS: usize = 100_000;

pub struct RateLimit {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimit {
    /// `per_second` requests on average with bursts of `burst`; 0 turns the limit off.
    pub fn new(per_second: u32, burst: u32) -> RateLimit {
        RateLimit {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `subject`'s bucket; `Err(seconds)` to wait when it is empty.
    pub fn take(&self, subject: &str) -> Result<(), f64> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_SUBJECTS && !buckets.contains_key(subject) {
            buckets.clear();
        }
        let (tokens, last) = buckets
            .entry(subject.to_string())
            .or_insert((self.burst, now));
        let refill = now.duration_since(*last).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - *tokens) / self.per_second)
        }
    }
}

/// At most `per_second` log lines a second; the lines refused meanwhile are counted and the
/// next line allowed reports how many.
pub struct LogBudget {
    per_second: u32,
    window: Mutex<(Instant, u32, u64)>,
}

impl LogBudget {
    pub fn new(per_second: u32) -> LogBudget {
        LogBudget {
            per_second: per_second.max(1),
            window: Mutex::new((Instant::now(), 0, 0)),
        }
    }

    /// `Some(lines suppressed since the last one written)` when a line may be written now.
    pub fn allow(&self) -> Option<u64> {
        let now = Instant::now();
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        if now.duration_since(w.0).as_secs_f64() >= 1.0 {
            w.0 = now;
            w.1 = 0;
        }
        if w.1 < self.per_second {
            w.1 += 1;
            Some(std::mem::take(&mut w.2))
        } else {
            w.2 += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_log_lines_is_cut_to_the_budget_and_the_rest_counted() {
        let budget = LogBudget::new(3);
        let written: Vec<Option<u64>> = (0..10).map(|_| budget.allow()).collect();
        assert_eq!(&written[..3], &[Some(0), Some(0), Some(0)]);
        assert!(written[3..].iter().all(Option::is_none));
        std::thread::sleep(std::time::Duration::from_millis(1010));
        assert_eq!(
            budget.allow(),
            Some(7),
            "the next line says seven were dropped"
        );
    }

    #[test]
    fn a_burst_past_the_bucket_is_refused_and_others_are_not_starved() {
        let limit = RateLimit::new(10, 5);
        for _ in 0..5 {
            assert!(limit.take("portal").is_ok());
        }
        let wait = limit
            .take("portal")
            .expect_err("the sixth in a burst waits");
        assert!(wait > 0.0 && wait <= 0.1, "{wait}");
        assert!(
            limit.take("desk").is_ok(),
            "another credential has its own bucket"
        );
        assert!(
            RateLimit::new(0, 0).take("x").is_ok(),
            "0 turns the limit off"
        );
    }
}
