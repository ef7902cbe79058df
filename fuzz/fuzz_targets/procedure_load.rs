//! Procedure files through the loader and every check. The body is `targets::procedure_load` (shared with the CI replay test).
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| targets::procedure_load(bytes));
