//! The working-day calendar: office hours, Vietnamese solar and lunar holidays, yearly
//! government decisions, and working-time arithmetic. Pure: no clock reads, no I/O.
//!
//! - [`lunar`]: the Vietnamese lunisolar calendar (UTC+7), 1900–2100.
//! - [`holidays`]: public holidays by rule (Labour Code 2019 Art. 112).
//! - [`file`]: YAML calendar files, inheritance, validation, JSON Schema.
//! - [`working_time`]: [`Calendar`], compiled for working-time arithmetic.
//! - [`duration`]: [`Duration`] as procedures write it.

#![warn(missing_docs)]

pub mod duration;
pub mod file;
pub mod holidays;
pub mod lunar;
pub mod working_time;

pub use duration::{Duration, Unit};
pub use holidays::{Holiday, HolidayKind};
pub use lunar::LunarDate;
pub use working_time::{Calendar, Error};
