//! The on-time service report (Decision 766): the facts, counters and rows are pure
//! ([`motcua_core::report`]); [`on_time`] reads the counters a store keeps.

pub use motcua_core::report::*;

use crate::store::{self, CounterReader};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the period starts on {from}, after it ends on {to}")]
    Period {
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    },
    /// The counters do not add up (see [`motcua_core::report::Error`]).
    #[error(transparent)]
    Report(motcua_core::report::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl From<motcua_core::report::Error> for Error {
    fn from(e: motcua_core::report::Error) -> Error {
        match e {
            motcua_core::report::Error::Period { from, to } => Error::Period { from, to },
            other => Error::Report(other),
        }
    }
}

/// The on-time report of `q` from the counters the store keeps.
pub fn on_time(reader: &dyn CounterReader, q: &Query) -> Result<Report, Error> {
    if q.from > q.to {
        return Err(Error::Period {
            from: q.from,
            to: q.to,
        });
    }
    let counters = reader.report_counters(q.from, q.to)?;
    Ok(aggregate(q, counters.into_iter())?)
}
