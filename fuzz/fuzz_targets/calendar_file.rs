//! Calendar files parse, compile and answer queries. The body is `targets::calendar_file` (shared with the CI replay test).
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|text: &str| targets::calendar_file(text));
