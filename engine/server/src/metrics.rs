//! Prometheus text exposition, kept by hand: a few counters and one latency histogram per
//! route, which is all `/metrics` serves and cheaper than a metrics framework per request.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What the server counts.
#[derive(Default)]
pub struct Metrics {
    /// (method, route, status) → requests.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// (method, route, status) → latency.
    latency: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    /// Committed submissions and actions through the API.
    pub transitions: AtomicU64,
    /// Timers the scheduler fired (each warning, breach, escalation).
    pub timers_fired: AtomicU64,
    /// How late the scheduler fired its last timer, in milliseconds.
    pub scheduler_lag_ms: AtomicI64,
    /// Requests refused for their credential, role or department.
    pub refusals: AtomicU64,
    pub rate_limited: AtomicU64,
    pub webhooks: Tally,
    /// Notices to applicants (e-mail and text messages together).
    pub notices: Tally,
    /// (`webhook` or `notice`, subscriber or channel) → events after its cursor at its last
    /// look.
    pub backlog: Mutex<BTreeMap<(&'static str, String), u64>>,
}

/// One kind of outbox consumer's deliveries.
#[derive(Default)]
pub struct Tally {
    pub delivered: AtomicU64,
    pub failed_attempts: AtomicU64,
    pub dead_letters: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        {
            let mut r = self.requests.lock().unwrap_or_else(|p| p.into_inner());
            *r.entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        let mut l = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let h = l
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        h.count += 1;
        h.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
    }

    pub fn set_backlog(&self, family: &'static str, name: &str, backlog: u64) {
        let mut b = self.backlog.lock().unwrap_or_else(|p| p.into_inner());
        b.insert((family, name.to_string()), backlog);
    }

    /// The exposition, with the gauges read from the store passed in.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP motcua_http_requests_total HTTP requests by method, route and status."
        );
        let _ = writeln!(out, "# TYPE motcua_http_requests_total counter");
        for ((m, route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "motcua_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        let _ = writeln!(
            out,
            "# HELP motcua_http_request_duration_seconds Latency by method, route and status."
        );
        let _ = writeln!(out, "# TYPE motcua_http_request_duration_seconds histogram");
        for ((m, route, status), h) in self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let labels = format!(
                "method=\"{m}\",route=\"{}\",status=\"{status}\"",
                escape(route)
            );
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "motcua_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "motcua_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "motcua_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "motcua_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {v}");
        };
        let gauge = |out: &mut String, name: &str, help: &str, v: i64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {v}");
        };
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        counter(
            &mut out,
            "motcua_transitions_total",
            "Submissions and actions committed through the API.",
            load(&self.transitions),
        );
        counter(
            &mut out,
            "motcua_timers_fired_total",
            "Warnings, breaches and escalations the scheduler fired.",
            load(&self.timers_fired),
        );
        gauge(
            &mut out,
            "motcua_scheduler_lag_milliseconds",
            "How late the scheduler fired its last timer.",
            self.scheduler_lag_ms.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "motcua_dossiers_open",
            "Open dossiers (report counters).",
            gauges.open,
        );
        gauge(
            &mut out,
            "motcua_dossiers_overdue",
            "Open dossiers past their appointment (report counters).",
            gauges.overdue,
        );
        gauge(
            &mut out,
            "motcua_dossiers_total",
            "Dossiers stored.",
            gauges.dossiers as i64,
        );
        counter(
            &mut out,
            "motcua_plugin_calls_total",
            "Plugin calls made.",
            gauges.plugin_calls,
        );
        counter(
            &mut out,
            "motcua_plugin_failures_total",
            "Plugin calls that failed.",
            gauges.plugin_failures,
        );
        counter(
            &mut out,
            "motcua_refusals_total",
            "Requests refused for their credential, role or department.",
            load(&self.refusals),
        );
        counter(
            &mut out,
            "motcua_rate_limited_total",
            "Requests refused by the per-credential rate limit.",
            load(&self.rate_limited),
        );
        for (family, what, tally) in [
            ("webhook", "Webhook events", &self.webhooks),
            ("notice", "Notices to applicants", &self.notices),
        ] {
            counter(
                &mut out,
                &format!("motcua_{family}_deliveries_total"),
                &format!("{what} delivered."),
                load(&tally.delivered),
            );
            counter(
                &mut out,
                &format!("motcua_{family}_failed_attempts_total"),
                &format!("{what}: delivery attempts that failed."),
                load(&tally.failed_attempts),
            );
            counter(
                &mut out,
                &format!("motcua_{family}_dead_letters_total"),
                &format!("{what} given up after the last try."),
                load(&tally.dead_letters),
            );
        }
        let backlog = self.backlog.lock().unwrap_or_else(|p| p.into_inner());
        for (family, label, help) in [
            (
                "webhook",
                "subscriber",
                "Events after each subscriber's cursor.",
            ),
            (
                "notice",
                "channel",
                "Events after each notice channel's cursor.",
            ),
        ] {
            let _ = writeln!(out, "# HELP motcua_{family}_backlog {help}");
            let _ = writeln!(out, "# TYPE motcua_{family}_backlog gauge");
            for ((f, name), n) in backlog.iter() {
                if *f == family {
                    let _ = writeln!(
                        out,
                        "motcua_{family}_backlog{{{label}=\"{}\"}} {n}",
                        escape(name)
                    );
                }
            }
        }
        out
    }
}

/// Values read at scrape time.
#[derive(Debug, Default)]
pub struct Gauges {
    pub open: i64,
    pub overdue: i64,
    pub dossiers: u64,
    pub plugin_calls: u64,
    pub plugin_failures: u64,
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
