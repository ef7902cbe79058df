//! Spans as scenario authors write them: `120 days`, `10 days`, `3 working hours`,
//! `0.5 working days`, `4 hours`. Officers' time is counted in working time on the calendar
//! (a working day is the calendar's standard day of office hours); the simulated span, the
//! warm-up and the applicant's response are elapsed time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a span counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    WorkingHours,
    WorkingDays,
    Minutes,
    Hours,
    Days,
    Weeks,
}

impl Unit {
    pub fn is_working(self) -> bool {
        matches!(self, Unit::WorkingHours | Unit::WorkingDays)
    }
    fn word(self) -> &'static str {
        match self {
            Unit::WorkingHours => "working hours",
            Unit::WorkingDays => "working days",
            Unit::Minutes => "minutes",
            Unit::Hours => "hours",
            Unit::Days => "days",
            Unit::Weeks => "weeks",
        }
    }
}

/// An amount of time in one [`Unit`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub amount: f64,
    pub unit: Unit,
}

/// Why a span string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a span: write an amount and a unit, e.g. '3 working hours', '0.5 working days', '4 hours', '10 days'"
)]
pub struct Error(pub String);

/// The longest span accepted: ten years. Longer is a typing mistake, and bounding it keeps
/// every instant the simulation computes inside the calendar's range.
const MAX_HOURS: f64 = 10.0 * 366.0 * 24.0;

impl Span {
    pub const fn new(amount: f64, unit: Unit) -> Span {
        Span { amount, unit }
    }

    /// The span in hours: elapsed hours, or working hours with `hours_per_working_day` to a
    /// working day.
    pub fn hours(&self, hours_per_working_day: f64) -> f64 {
        match self.unit {
            Unit::WorkingHours | Unit::Hours => self.amount,
            Unit::WorkingDays => self.amount * hours_per_working_day,
            Unit::Minutes => self.amount / 60.0,
            Unit::Days => self.amount * 24.0,
            Unit::Weeks => self.amount * 24.0 * 7.0,
        }
    }

    /// The span as elapsed time (working units refused: they mean nothing off the calendar).
    pub fn elapsed(&self) -> Option<jiff::SignedDuration> {
        if self.unit.is_working() {
            return None;
        }
        let secs = self.hours(0.0) * 3600.0;
        Some(jiff::SignedDuration::from_secs_f64(secs))
    }
}

impl FromStr for Span {
    type Err = Error;
    fn from_str(s: &str) -> Result<Span, Error> {
        let bad = || Error(s.to_string());
        let t = s.trim();
        let (amount, unit) = t.split_once(char::is_whitespace).ok_or_else(bad)?;
        let amount: f64 = amount.parse().map_err(|_| bad())?;
        if !amount.is_finite() || amount < 0.0 {
            return Err(bad());
        }
        let unit = match unit
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .as_str()
        {
            "working hour" | "working hours" => Unit::WorkingHours,
            "working day" | "working days" => Unit::WorkingDays,
            "minute" | "minutes" => Unit::Minutes,
            "hour" | "hours" => Unit::Hours,
            "day" | "days" => Unit::Days,
            "week" | "weeks" => Unit::Weeks,
            _ => return Err(bad()),
        };
        let span = Span { amount, unit };
        if span.hours(24.0) > MAX_HOURS {
            return Err(bad());
        }
        Ok(span)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.unit.word())
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Span {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Span".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "An amount and a unit: 'working hours' or 'working days' (officers' time on the calendar), or 'minutes', 'hours', 'days', 'weeks' (elapsed time).",
            "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s+(working\\s+)?(hour|hours|day|days)\\s*$|^\\s*[0-9]+(\\.[0-9]+)?\\s+(minute|minutes|week|weeks)\\s*$",
            "examples": ["3 working hours", "0.5 working days", "120 days"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_authors_write_them() {
        let s: Span = "0.5 working days".parse().unwrap();
        assert_eq!(s.unit, Unit::WorkingDays);
        assert_eq!(s.hours(8.0), 4.0);
        let d: Span = "120 days".parse().unwrap();
        assert_eq!(d.hours(8.0), 2880.0);
        assert_eq!("1 working hour".parse::<Span>().unwrap().hours(8.0), 1.0);
        assert!("3 fortnights".parse::<Span>().is_err());
        assert!("-1 days".parse::<Span>().is_err());
        assert!("NaN days".parse::<Span>().is_err());
        assert!("20 years".parse::<Span>().is_err());
        assert!("99999 days".parse::<Span>().is_err());
        assert_eq!(d.elapsed(), Some(jiff::SignedDuration::from_hours(2880)));
        assert_eq!(s.elapsed(), None);
    }
}
