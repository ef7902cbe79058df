//! What the benchmarks share.
pub mod walk;
