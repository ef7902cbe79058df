//! Procedures: the YAML model, loading with diagnostics, checks and diagrams.

pub mod model;

pub use model::*;
