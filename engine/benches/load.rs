//! Loading and validating procedures: 1,000 loads and full checks of the construction-permit
//! sample (the largest in the catalogue: a fork and join, two supplement loops, guards, a
//! form schema) must take under one second. Results go to BENCHMARKS.md.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use motcua::procedure;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../procedures/cap-phep-xay-dung-nha-o.yaml"
);

fn load_and_check_1000(c: &mut Criterion) {
    let path = Path::new(SAMPLE);
    let mut group = c.benchmark_group("procedures");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("load_and_check_file x1000", |b| {
        b.iter(|| {
            for _ in 0..1000 {
                let loaded = procedure::load_and_check_file(black_box(path)).unwrap();
                assert!(!loaded.has_errors());
                black_box(loaded);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, load_and_check_1000);
criterion_main!(benches);
