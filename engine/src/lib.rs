//! motcua: a workflow engine for one-stop-shop (một cửa) administrative procedures.
//!
//! This crate is what portals embed; it has no HTTP or CLI dependencies. It puts together
//! three lower crates, whose dependencies state the layers (see `ARCHITECTURE.md`):
//! - `motcua-core`: everything that decides, pure and deterministic: [`procedure`],
//!   [`calendar`], [`deadline`], [`dossier`] and the pure [`transition`], the audit entry,
//!   the report's counters. Re-exported here under the same paths.
//! - `motcua-store` ([`store`]): the `Store`/`Reader` traits, the commit rules and reads over
//!   a byte-level key space, the in-memory store, sled (feature `sled`) and PostgreSQL
//!   (feature `postgres`).
//! - `motcua-plugin` ([`plugin`], feature `plugins`): the sandboxed WASM plugin host.
//!
//! What lives here: [`Engine`], the facade portals call (submit, act, fire, read); the
//! [`catalog`] of procedure versions ready to run, kept in step with the store; plugin steps
//! around the pure core; timer firing and the [`scheduler`]; the audit proof, queries,
//! exports and slip ([`audit`]); and the on-time report read from a store ([`report`]).

pub use motcua_core::{calendar, clock, search, transition};
/// Forecasts under load: the discrete-event simulation over the pure transition ([`motcua_simulate`]).
pub use motcua_simulate as simulate;
pub use motcua_store as store;

/// Plugin steps: the core's [`plugin::Runner`] seam, its outputs and uses
/// ([`motcua_core::plugin`]), and with the `plugins` feature the wasmtime host
/// ([`motcua_plugin`]) that implements it.
pub mod plugin {
    pub use motcua_core::plugin::*;
    #[cfg(feature = "plugins")]
    pub use motcua_plugin::*;
}

pub mod audit;
pub mod catalog;
pub mod engine;
pub mod error;
pub mod messages;
pub mod notice;
pub mod office;
pub mod report;
pub mod scheduler;
pub mod sheet;
pub mod steps;

/// Procedures: the YAML model, loading with positioned diagnostics, checks and diagrams
/// ([`motcua_core::procedure`]), with the WASM plugin inspector where plugins are compiled in.
pub mod procedure {
    pub use motcua_core::procedure::*;

    #[cfg(feature = "plugins")]
    pub use motcua_plugin::WasmInspector;

    use std::io;
    use std::path::PathBuf;

    /// Loads and checks several files as one catalogue (see
    /// [`load_and_check_files_with`]). With the `plugins` feature (the default) every pinned
    /// plugin is loaded in the sandbox and inspected (E060–E067), one sandbox for all the
    /// files; without it, plugins are only checked to be declared.
    pub fn load_and_check_files(paths: &[PathBuf]) -> io::Result<Vec<Loaded>> {
        // Creating the sandbox reserves its memory pool; failing that is an environment
        // problem (like an unreadable file), not a problem in the procedures.
        let runner = crate::steps::runner(None)
            .map_err(|e| io::Error::other(format!("cannot start the plugin sandbox: {e}")))?;
        load_and_check_files_with(paths, runner.inspector())
    }
}

/// Dossiers and the pure transition step ([`motcua_core::dossier`], [`motcua_core::transition`]).
pub mod dossier {
    pub use motcua_core::dossier::*;
    pub use motcua_core::transition;
}

/// Deadline arithmetic and classification ([`motcua_core::deadline`]), with the clocks' status
/// of a dossier ([`motcua_core::dossier::status`]).
pub mod deadline {
    pub use motcua_core::deadline::*;
    pub use motcua_core::dossier::status::{self, ClockState, ClockView, Clocks, StepClock};
}

pub use engine::{Engine, Held, Kept, Listing, Options, Receipt};
pub use error::{Code, Error, Result};
