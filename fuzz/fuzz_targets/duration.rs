//! Durations parse and round-trip. The body is `targets::duration` (shared with the CI replay test).
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|s: &str| targets::duration(s));
