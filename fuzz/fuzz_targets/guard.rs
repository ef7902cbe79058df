//! CEL guards compile and evaluate. The body is `targets::guard` (shared with the CI replay test).
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|expr: &str| targets::guard(expr));
