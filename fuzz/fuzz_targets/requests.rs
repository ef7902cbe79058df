//! Portal requests round-trip. The body is `targets::requests` (shared with the CI replay test).
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| targets::requests(bytes));
