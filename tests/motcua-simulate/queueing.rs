//! With `calendar: continuous`, one officer step, Poisson arrivals and exponential service,
//! the simulation is an M/M/c queue, and its figures must match the formulas: the mean wait
//! for an officer (Erlang C) and the share of dossiers whose sojourn (wait + service) stays
//! within the limit, from the sojourn-time distribution.
//!
//! Each figure is checked against the simulation's own confidence interval across
//! replications. Twelve checks at 95% would raise a false alarm about half the time for a
//! correct simulator, so the test widens the reported 95% interval to 99.9% (Student's t
//! with 9 degrees of freedom: 4.781 instead of 2.262); the seed is fixed, so the run is
//! the same every time.

use crate::simulate;

/// Erlang's C formula: the probability an arrival waits, with `c` officers and offered load
/// `a` = λ/μ.
fn erlang_c(c: u32, a: f64) -> f64 {
    let rho = a / f64::from(c);
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / f64::from(k);
        }
        sum += term;
    }
    let last = term * a / f64::from(c) / (1.0 - rho);
    last / (sum + last)
}

/// Mean wait in the queue, in hours.
fn mean_wait(c: u32, lambda: f64, mu: f64) -> f64 {
    erlang_c(c, lambda / mu) / (f64::from(c) * mu - lambda)
}

/// P(sojourn ≤ t): with probability 1 − C no wait and exponential service; otherwise the
/// wait is exponential with rate θ = cμ − λ, and the sojourn is the sum of two exponentials.
fn within(c: u32, lambda: f64, mu: f64, t: f64) -> f64 {
    let cc = erlang_c(c, lambda / mu);
    let theta = f64::from(c) * mu - lambda;
    let service_over = (-mu * t).exp();
    let both_over = if (theta - mu).abs() < 1e-12 {
        (1.0 + mu * t) * (-mu * t).exp()
    } else {
        (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu)
    };
    1.0 - ((1.0 - cc) * service_over + cc * both_over)
}

const WIDEN: f64 = 4.781 / 2.262;

fn check(name: &str, theory: f64, i: Option<motcua_simulate::figures::Interval>) {
    let i = i.unwrap_or_else(|| panic!("{name}: no interval"));
    let (Some(low), Some(high)) = (i.low, i.high) else {
        panic!("{name}: one replication has no interval");
    };
    let half = (high - low) / 2.0 * WIDEN;
    assert!(
        (i.mean - theory).abs() <= half,
        "{name}: simulated {:.4} (95% {low:.4}–{high:.4}, 99.9% ±{half:.4}), theory {theory:.4}",
        i.mean
    );
}

fn scenario(c: u32, rho: f64) -> String {
    let lambda = rho * f64::from(c);
    // About 4,000 dossiers a replication, and a warm-up of a tenth of it (the offices start
    // empty; at ρ = 0.9 one officer's queue needs a few weeks to forget it).
    let days = (4_000.0 / (lambda * 24.0)).ceil();
    let warmup = (days / 10.0).ceil();
    format!(
        "procedures: [procedures/mmc.yaml]
start: 2027-01-04T08:00:00+07:00
duration: {days} days
warmup: {warmup} days
replications: 10
seed: {seed}
calendar: continuous
arrivals:
  - procedure: mmc
    per_hour: {lambda}
staff:
  - role: chuyen-vien
    department: phong
    officers: {c}
service:
  - state: xu-ly
    distribution: exponential
    mean: 1 working hour
",
        seed = 100 + c
    )
}

#[test]
fn an_officer_step_is_an_m_m_c_queue_for_one_two_and_five_officers_at_half_and_nine_tenths_load() {
    let mu = 1.0;
    let limit = 3.0; // mmc.yaml: 3 working hours, every hour counting.
    for c in [1, 2, 5] {
        for rho in [0.5, 0.9] {
            let lambda = rho * f64::from(c);
            let o = simulate(&scenario(c, rho));
            let name = format!("c = {c}, ρ = {rho}");
            let state = o
                .states
                .iter()
                .find(|s| s.state == "xu-ly")
                .expect("the step ran");
            check(
                &format!("{name}: mean wait (hours)"),
                mean_wait(c, lambda, mu),
                state.wait_mean,
            );
            check(
                &format!("{name}: on-time rate"),
                within(c, lambda, mu, limit),
                o.total.on_time_rate,
            );
            let busy = state.utilisation.expect("a listed pool").mean;
            assert!((busy - rho).abs() < 0.03, "{name}: utilisation {busy}");
        }
    }
}

#[test]
fn the_formulas_themselves_agree_with_known_values() {
    // M/M/1: C = ρ, Wq = ρ/(μ − λ), sojourn exponential with rate μ − λ.
    assert!((erlang_c(1, 0.9) - 0.9).abs() < 1e-12);
    assert!((mean_wait(1, 0.9, 1.0) - 9.0).abs() < 1e-9);
    assert!((within(1, 0.9, 1.0, 3.0) - (1.0 - (-0.3f64).exp())).abs() < 1e-9);
    // M/M/2 at a = 1: C = 1/3 (textbook value).
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
}
