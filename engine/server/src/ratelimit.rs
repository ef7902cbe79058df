//! A token bucket per credential, so one portal's burst cannot starve the desk.

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

#[cfg(test)]
mod tests {
    use super::*;

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
