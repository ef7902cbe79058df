//! motcua: a workflow engine for one-stop-shop (một cửa) administrative procedures.
//!
//! The crate is the library that portals embed; it has no HTTP or CLI dependencies. See
//! `ARCHITECTURE.md` at the repository root for the map and its invariants.
//!
//! - [`procedure`]: the YAML model, its loader with positioned diagnostics, graph checks, diagrams.
//! - [`calendar`]: working-day calendars and working-time arithmetic (pure).
//! - [`deadline`]: appointments, step due instants, pauses, extensions, warnings and
//!   classification (pure).
//! - [`dossier`]: dossiers and the pure transition step.
//! - [`catalog`]: procedure versions ready to run, pinned by content hash.
//! - [`store`]: the `Store` trait and its sled implementation with group commit.
//! - [`audit`]: the hash-chained audit entries.
//! - [`report`]: the on-time service report (Decision 766) from per-day counters (pure).
//! - [`engine`]: the facade portals call; [`steps`] runs plugin steps around the pure core;
//!   [`scheduler`] fires due timers on a thread of its own.
//! - [`plugin`] (feature `plugins`, on by default): the sandboxed WASM plugin host.

pub mod audit;
pub mod calendar;
pub mod catalog;
pub mod clock;
pub mod deadline;
pub mod dossier;
pub mod engine;
#[cfg(feature = "plugins")]
pub mod plugin;
pub mod procedure;
pub mod report;
pub mod scheduler;
#[cfg(feature = "plugins")]
pub mod steps;
pub mod store;

pub use engine::{Engine, Error, Listing, Options, Receipt, Result};
