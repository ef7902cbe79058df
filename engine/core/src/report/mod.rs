//! The on-time service report of the national service index (Decision 766/QĐ-TTg): dossiers
//! received, ended early, on time and late, still open (not due, overdue, paused), the share
//! received online, the average processing time in working days and the on-time rate
//! (early + on time) / ended, by agency, department, procedure or channel over a period.
//!
//! Pure: the store keeps per-day [`counters`], updated in each transition's own commit from
//! [`Facts::of`] the dossier before and after ([`deltas`]); a report reads the counters of its
//! period ([`on_time`]) and sums them ([`aggregate`]), so it costs the number of (day, agency,
//! procedure, department, channel) combinations in the period, not the number of dossiers.
//!
//! # What counts, and where
//!
//! - **One dossier, once.** A child dossier of a linked group is not counted: the group counts
//!   once, as its parent (the code the citizen sees).
//! - **Days** are local days in Vietnam (UTC+7, no daylight saving), whatever the calendar.
//! - **Received** counts under the day of receipt, **early / on time / late** (and the working
//!   time) under the day the dossier was resolved, i.e. its result issued or it ended, as the
//!   deadline rules classified it then (`Clock::resolved`).
//! - **Open** counts under the day of receipt, as it is now: a recorded breach of the
//!   appointment makes it *overdue* until it ends; otherwise a paused clock (waiting on the
//!   applicant, an outside-budget step) makes it *paused*; otherwise it is *not due*. The three
//!   are exclusive. "Overdue" is the breach the scheduler recorded at the appointment: a
//!   dossier past its appointment whose timer has not fired yet still counts as not due.
//! - **The department in charge.** One dossier counts under one department at a time, and when
//!   it moves its counts (received included) move with it. Open: the department of its active
//!   steps (the smallest id when parallel branches sit in several; the branches waiting at a
//!   join when none is active), or none ("") while it waits on the applicant at a step no
//!   department owns, as in the store's work lists. Resolved: the department whose step the
//!   resolving transition left (the one that issued the result or refused), or the resolving
//!   state's own department when that step had none (`Resolution::department`); it no longer
//!   moves.
//! - **The channel** is the one the dossier was received through (desk, online, post).
//!
//! - **Satisfaction**: a rating counts under the day and key of the dossier's resolution (it
//!   is given only after), so the share rated is of the dossiers ended in the period.
//!
//! A report over `from ..= to` sums every counter of every day in the period, so its figures
//! read: received *in the period*; ended early, on time or late *in the period* (whenever
//! received); open, overdue and paused: *of the dossiers received in the period, those still
//! open now*. The on-time rate and the average are over the dossiers ended in the period.

pub mod counters;
mod format;
mod rows;

use jiff::civil::Date;
use jiff::tz::Offset;
use serde::{Deserialize, Serialize};

use crate::deadline::Class;
use crate::dossier::feedback::Level;
use crate::dossier::{Channel, Dossier, Token};

pub use counters::{
    Deltas, LEGACY_SLOTS, SLOTS, day_key, decode_key, decode_value, deltas, encode_value,
};
pub use format::Format;
pub use rows::{Report, Row, TOTAL, aggregate};

/// What the counters need to know of one dossier, derived from it alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The local day of receipt.
    pub received: Date,
    pub agency: String,
    pub procedure: String,
    /// The department in charge ("" for none): see the module documentation.
    pub department: String,
    pub channel: Channel,
    pub state: FactState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactState {
    /// Not resolved yet: its clock paused now, the breach of its appointment recorded.
    Open { paused: bool, overdue: bool },
    /// Resolved on local `day`, classified `class`, after `working_milli` thousandths of a
    /// working hour of the agency's time (from counting start, pauses excluded).
    Ended {
        day: Date,
        class: Class,
        working_milli: u64,
        /// The applicant's rating, once given.
        rated: Option<Level>,
    },
}

/// Vietnam's offset: the national index counts days in UTC+7.
const VIETNAM: Offset = Offset::constant(7);

/// The local day in Vietnam of an instant.
pub fn local_day(t: jiff::Timestamp) -> Date {
    VIETNAM.to_datetime(t).date()
}

impl Facts {
    /// The dossier's facts, or `None` when it is not counted (a child of a linked group).
    pub fn of(d: &Dossier) -> Option<Facts> {
        if d.parent.is_some() {
            return None;
        }
        let (state, department) = match (&d.clock.resolved, &d.ending) {
            (Some(r), _) => (
                FactState::Ended {
                    day: local_day(r.at),
                    class: r.class,
                    working_milli: r.working_milli,
                    rated: d.rating.as_ref().map(|x| x.level),
                },
                r.department.clone().unwrap_or_default(),
            ),
            // Dossiers that ended before resolutions were recorded keep their ending's class.
            (None, Some(e)) => (
                FactState::Ended {
                    day: local_day(e.at),
                    class: e.class.unwrap_or(if e.on_time {
                        Class::OnTime
                    } else {
                        Class::Late
                    }),
                    working_milli: 0,
                    rated: d.rating.as_ref().map(|x| x.level),
                },
                String::new(),
            ),
            (None, None) => (
                FactState::Open {
                    paused: d.clock.paused_since.is_some(),
                    overdue: d.clock.overdue_since.is_some(),
                },
                in_charge(&d.tokens),
            ),
        };
        Some(Facts {
            received: local_day(d.clock.received_at),
            agency: d.agency.clone(),
            procedure: d.procedure.clone(),
            department,
            channel: d.channel,
            state,
        })
    }
}

/// The department in charge of an open dossier: the smallest department of its active steps
/// (an order-free choice, so branches moving in any order agree), else of the branches waiting
/// at a join, else none.
pub(crate) fn in_charge(tokens: &[Token]) -> String {
    let smallest = |waiting: bool| {
        tokens
            .iter()
            .filter(|t| t.waiting == waiting)
            .filter_map(|t| t.department.as_deref())
            .min()
    };
    smallest(false)
        .or_else(|| smallest(true))
        .unwrap_or_default()
        .to_string()
}

/// What the rows of a report are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    Agency,
    Department,
    Procedure,
    Channel,
}

impl By {
    pub fn name(self) -> &'static str {
        match self {
            By::Agency => "agency",
            By::Department => "department",
            By::Procedure => "procedure",
            By::Channel => "channel",
        }
    }
}

/// A report's period (local days, both included) and grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    pub from: Date,
    pub to: Date,
    pub by: By,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the period starts on {from}, after it ends on {to}")]
    Period { from: Date, to: Date },
    /// A stored counter does not read back as written.
    #[error(
        "report counter {key} is corrupt; restore the data folder from a backup (keep this copy for inspection)"
    )]
    Corrupt { key: String },
    #[error("writing the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The name of `channel` in reports, as the dossier records spell it.
pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Desk => "desk",
        Channel::Online => "online",
        Channel::Post => "post",
    }
}

#[cfg(test)]
mod tests;
