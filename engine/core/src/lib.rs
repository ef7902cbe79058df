//! motcua-core: everything in motcua that decides, and nothing that touches the world.
//!
//! The procedure model and its checks, the working-day calendar, deadline arithmetic, the
//! dossier and the pure transition step, the audit entry and its canonical encoding, and the
//! report's facts and counters. Time is an argument, never read; there is no storage, no
//! plugin runtime, no async runtime and no HTTP in this crate's dependency tree
//! (`cargo tree -p motcua-core -e normal` shows it). Storage lives in `motcua-store`, the
//! WASM host in `motcua-plugin`, and `motcua` puts them together.
//!
//! The modules, bottom up (each uses only those above it):
//! - [`calendar`]: working-day calendars and working-time arithmetic.
//! - [`clock`]: where "now" comes from ([`clock::TimeSource`]), and a manual clock for tests.
//! - [`procedure`]: the YAML model, its loader with positioned diagnostics, graph checks,
//!   diagrams; [`procedure::PluginInspector`] is how the checks see plugins.
//! - [`plugin`]: where a procedure calls plugins, their merged config and outputs, and the
//!   [`plugin::Runner`] seam the WASM host implements ([`plugin::NoRunner`] without one).
//! - [`deadline`]: appointments, due instants, pauses, extensions, warnings, classification.
//! - [`dossier`]: the dossier record, requests, forms, guards, and its clocks' status.
//! - [`audit`]: the hash-chained audit entry, its canonical encoding, chain verification and
//!   signed checkpoints.
//! - [`transition`]: the pure step: submit, act and fire produce a `Transition` (the new
//!   dossier, its audit entries, timers and outgoing events) or a typed refusal.
//! - [`report`]: the on-time report's facts, per-day counters and rows (Decision 766).
//! - [`search`]: what staff search finds a dossier by (names folded, ids, phones, codes).

pub mod audit;
pub mod calendar;
pub mod clock;
pub mod csv;
pub mod deadline;
pub mod dossier;
pub mod plugin;
pub mod procedure;
pub mod report;
pub mod search;
pub mod transition;
