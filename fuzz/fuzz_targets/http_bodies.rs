//! HTTP request bodies under the server's strict reader (size, depth, unknown fields). The
//! body is `motcua_server::fuzz_request_body`, replayed in CI by the server's tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| motcua_server::fuzz_request_body(bytes));
