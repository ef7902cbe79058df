//! The integration tests of the `motcua` library, in one test binary (one link against
//! wasmtime instead of twelve): each file below is a module, run with
//! `cargo test -p motcua --test motcua <module>::`. Suites that call `conformance!()` run again
//! on a throwaway PostgreSQL cluster, module by module.

#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod appointments;
mod assign;
mod audit_proof;
mod audit_queries;
mod backup;
mod branches;
mod contact;
mod crash;
mod deadlines;
mod engine;
mod fuzz_regressions;
#[cfg(feature = "plugins")]
mod hardening;
mod listing;
mod migrate;
#[cfg(feature = "plugins")]
mod model;
#[cfg(feature = "postgres")]
mod nodes;
mod notices;
mod older_stores;
mod on_behalf;
mod papers;
#[cfg(feature = "plugins")]
mod plugin_steps;
mod ratings;
mod receipt;
mod reports;
mod search;
mod versions;
