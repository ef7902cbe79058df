//! The working-day calendar: office hours, Vietnamese solar and lunar holidays, yearly
//! government decisions, and working-time arithmetic. Pure: no clock reads, no I/O.

pub mod duration;
pub mod file;
pub mod holidays;
pub mod lunar;

pub use duration::{Duration, Unit};
