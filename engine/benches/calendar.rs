//! Calendar performance targets (issue 3): adding 100 working days across holidays in at most
//! 2 µs; one million due instants in at most 2 s. Results are recorded in BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration as StdDuration;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use motcua::calendar::{Calendar, Duration};

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn benches(c: &mut Criterion) {
    let cal = Calendar::vietnam_default();
    let hundred: Duration = "100 working days".parse().unwrap();
    // Crosses Tết 2026, Hùng Kings' Day and its day in lieu, 30 Apr and 1 May.
    let from = at("2026-01-05T09:00:00+07:00");

    c.bench_function("add 100 working days across Tết 2026", |b| {
        b.iter(|| cal.add(black_box(from), black_box(hundred)).unwrap())
    });
    c.bench_function("add 4 working hours", |b| {
        let d: Duration = "4 working hours".parse().unwrap();
        b.iter(|| cal.add(black_box(from), black_box(d)).unwrap())
    });
    c.bench_function("add 15 calendar days", |b| {
        let d: Duration = "15 days".parse().unwrap();
        b.iter(|| cal.add(black_box(from), black_box(d)).unwrap())
    });
    c.bench_function("elapsed over a year", |b| {
        let to = at("2027-01-05T09:00:00+07:00");
        b.iter(|| cal.elapsed(black_box(from), black_box(to)).unwrap())
    });

    // A million dossiers received over five years, at spread-out minutes, with the limits
    // procedures use.
    let limits: Vec<Duration> = [
        "0.5 working days",
        "1 working day",
        "3 working days",
        "8 working days",
        "15 days",
        "20 working days",
        "4 working hours",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let start = at("2024-01-01T00:00:00+07:00").as_second();
    let received: Vec<(Timestamp, Duration)> = (0..1_000_000i64)
        .map(|i| {
            let t = Timestamp::from_second(start + (i * 7_919 * 60) % (5 * 365 * 86_400)).unwrap();
            (t, limits[(i % limits.len() as i64) as usize])
        })
        .collect();
    let mut group = c.benchmark_group("batch");
    group
        .sample_size(10)
        .measurement_time(StdDuration::from_secs(10));
    group.bench_function("one million due instants", |b| {
        b.iter(|| {
            let mut last = from;
            for (t, d) in &received {
                last = last.max(cal.add(*t, *d).unwrap());
            }
            last
        })
    });
    group.bench_function("compile the national calendar (1900-2100)", |b| {
        b.iter(|| {
            Calendar::from_yaml(
                motcua::calendar::file::VN_NATIONAL,
                "vn-national",
                &mut |_, _| Err(String::new()),
            )
            .unwrap()
        })
    });
    group.finish();
    c.bench_function("vietnam_default (compiled once, then cloned)", |b| {
        b.iter(Calendar::vietnam_default)
    });
}

criterion_group!(calendar, benches);
criterion_main!(calendar);
