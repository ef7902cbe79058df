//! Replays every input kept under `fuzz/regressions/http_bodies/` through the fuzz target's
//! body, and a sweep of hostile shapes, without the nightly toolchain.

use std::time::{Duration, Instant};

fn run(name: &str, bytes: &[u8]) {
    let started = Instant::now();
    motcua_server::fuzz_request_body(bytes);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{name} took {:?}",
        started.elapsed()
    );
}

#[test]
fn every_kept_http_body_regression_is_refused_cleanly() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/http_bodies");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the regressions folder") {
        let path = entry.expect("entry").path();
        run(
            &path.display().to_string(),
            &std::fs::read(&path).expect("readable"),
        );
        n += 1;
    }
    assert!(n >= 5, "the seeds are kept: {n}");
}

#[test]
fn nesting_numbers_escapes_and_truncations_never_panic() {
    let mut inputs: Vec<Vec<u8>> = vec![];
    for depth in [1, 31, 32, 33, 200, 100_000] {
        inputs.push("[".repeat(depth).into_bytes());
        inputs.push(
            format!("{{\"action\":{}1{}}}", "[".repeat(depth), "]".repeat(depth)).into_bytes(),
        );
    }
    // Strings hide brackets from the depth count; escapes hide quotes.
    inputs.push(format!("{{\"action\":\"{}\"}}", "[".repeat(10_000)).into_bytes());
    inputs.push(br#"{"action":"\"[[[[","input":{}}"#.to_vec());
    inputs.push(br#"{"action":"x","input":1e999999}"#.to_vec());
    inputs.push(br#"{"action":"x","input":123456789012345678901234567890}"#.to_vec());
    inputs.push(br#"{"action":"\ud800"}"#.to_vec());
    inputs.push(br#"{"action":"x","action":"y"}"#.to_vec());
    let full = br#"{"procedure":"p","applicant":{"id":"1","name":"A"},"data":{},"documents":["a"],"channel":"desk"}"#;
    for cut in 0..full.len() {
        inputs.push(full[..cut].to_vec());
    }
    for (i, bytes) in inputs.iter().enumerate() {
        run(&format!("input {i}"), bytes);
    }
}
