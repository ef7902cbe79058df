//! Summing the counters of a period into the rows of a report.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::counters::{self, SLOTS};
use super::{By, Error, Query, channel_name};
use crate::dossier::Channel;

/// One working day, in thousandths of a working hour: the national office day of 8 hours.
const WORKING_DAY_MILLI: f64 = 8_000.0;

/// The key of the total row (ids hold no parentheses, so no row is named so).
pub const TOTAL: &str = "(total)";

/// One line of a report: the figures of one agency, department, procedure or channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The agency id, department id ("" for none), procedure id or channel name; `(total)`.
    pub key: String,
    /// Received in the period.
    pub received: i64,
    /// Of those, received online.
    pub received_online: i64,
    /// Ended in the period, by class, and all of them.
    pub early: i64,
    pub on_time: i64,
    pub late: i64,
    pub ended: i64,
    /// Of the dossiers received in the period, those still open now.
    pub open_not_due: i64,
    pub open_overdue: i64,
    pub paused: i64,
    /// The agency's working time spent on the dossiers ended in the period, in thousandths of
    /// a working hour.
    pub working_milli: i64,
    /// Of the dossiers ended in the period, those the applicant rated, by level, and all of
    /// them.
    #[serde(default)]
    pub very_satisfied: i64,
    #[serde(default)]
    pub satisfied: i64,
    #[serde(default)]
    pub not_satisfied: i64,
    #[serde(default)]
    pub rated: i64,
    /// received_online / received; `None` when nothing was received.
    pub online_share: Option<f64>,
    /// working time / ended, in working days of 8 hours; `None` when nothing ended.
    pub average_working_days: Option<f64>,
    /// (early + on time) / ended; `None` when nothing ended.
    pub on_time_rate: Option<f64>,
    /// rated / ended; `None` when nothing ended.
    #[serde(default)]
    pub rated_share: Option<f64>,
}

impl Row {
    fn new(key: String) -> Row {
        Row {
            key,
            received: 0,
            received_online: 0,
            early: 0,
            on_time: 0,
            late: 0,
            ended: 0,
            open_not_due: 0,
            open_overdue: 0,
            paused: 0,
            working_milli: 0,
            very_satisfied: 0,
            satisfied: 0,
            not_satisfied: 0,
            rated: 0,
            online_share: None,
            average_working_days: None,
            on_time_rate: None,
            rated_share: None,
        }
    }

    /// Adds one counter row. Stored values are read back from disk, so sums saturate rather
    /// than overflow.
    fn add(&mut self, v: &[i64; SLOTS], channel: Channel) {
        use counters::*;
        let add = |total: &mut i64, x: i64| *total = total.saturating_add(x);
        add(&mut self.received, v[RECEIVED]);
        if channel == Channel::Online {
            add(&mut self.received_online, v[RECEIVED]);
        }
        add(&mut self.early, v[EARLY]);
        add(&mut self.on_time, v[ON_TIME]);
        add(&mut self.late, v[LATE]);
        for slot in [EARLY, ON_TIME, LATE] {
            add(&mut self.ended, v[slot]);
        }
        add(&mut self.open_not_due, v[OPEN_NOT_DUE]);
        add(&mut self.open_overdue, v[OPEN_OVERDUE]);
        add(&mut self.paused, v[PAUSED]);
        add(&mut self.working_milli, v[WORKING_MILLI_SUM]);
        add(&mut self.very_satisfied, v[RATED_VERY_SATISFIED]);
        add(&mut self.satisfied, v[RATED_SATISFIED]);
        add(&mut self.not_satisfied, v[RATED_NOT_SATISFIED]);
        for slot in [RATED_VERY_SATISFIED, RATED_SATISFIED, RATED_NOT_SATISFIED] {
            add(&mut self.rated, v[slot]);
        }
    }

    fn is_empty(&self) -> bool {
        [
            self.received,
            self.early,
            self.on_time,
            self.late,
            self.open_not_due,
            self.open_overdue,
            self.paused,
            self.working_milli,
            self.rated,
        ]
        .iter()
        .all(|n| *n == 0)
    }

    /// Computes the shares once the counts are summed.
    fn finish(mut self) -> Row {
        let share = |n: i64, of: i64| (of != 0).then(|| n as f64 / of as f64);
        self.online_share = share(self.received_online, self.received);
        self.on_time_rate = share(self.early + self.on_time, self.ended);
        self.average_working_days =
            share(self.working_milli, self.ended).map(|per| per / WORKING_DAY_MILLI);
        self.rated_share = share(self.rated, self.ended);
        self
    }
}

/// A report: its query, one row per key seen in the period (sorted by key) and the total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub query: Query,
    pub rows: Vec<Row>,
    pub total: Row,
}

/// Sums counters (keys without the store's space byte) into the report of `query`: every
/// slot of every key whose day lies in the period. Keys outside it are skipped, so a reader
/// may hand over more than the period.
pub fn aggregate(
    query: &Query,
    counters: impl Iterator<Item = (Vec<u8>, [i64; SLOTS])>,
) -> Result<Report, Error> {
    if query.from > query.to {
        return Err(Error::Period {
            from: query.from,
            to: query.to,
        });
    }
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let mut total = Row::new(TOTAL.to_string());
    for (bytes, value) in counters {
        let key = counters::decode_key(&bytes).ok_or_else(|| Error::Corrupt {
            key: hex::encode(&bytes),
        })?;
        if key.day < query.from || key.day > query.to {
            continue;
        }
        let name = match query.by {
            By::Agency => key.agency,
            By::Department => key.department,
            By::Procedure => key.procedure,
            By::Channel => channel_name(key.channel).to_string(),
        };
        rows.entry(name.clone())
            .or_insert_with(|| Row::new(name))
            .add(&value, key.channel);
        total.add(&value, key.channel);
    }
    Ok(Report {
        query: *query,
        // A key whose counts cancelled out (every dossier of it moved elsewhere) shows nothing.
        rows: rows
            .into_values()
            .filter(|r| !r.is_empty())
            .map(Row::finish)
            .collect(),
        total: total.finish(),
    })
}
