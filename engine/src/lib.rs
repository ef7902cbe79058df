//! motcua: a workflow engine for one-stop-shop (một cửa) administrative procedures.
//!
//! The crate is the library that portals embed; it has no HTTP or CLI dependencies. See
//! `ARCHITECTURE.md` at the repository root for the map and its invariants.
//!
//! - [`procedure`]: the YAML model, its loader with positioned diagnostics, graph checks, diagrams.
//! - [`calendar`]: working-day calendars and working-time arithmetic (pure).
//! - [`plugin`] (feature `plugins`, on by default): the sandboxed WASM plugin host.

pub mod calendar;
#[cfg(feature = "plugins")]
pub mod plugin;
pub mod procedure;
