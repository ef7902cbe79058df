//! Durations as procedure authors and statutes write them: "0.5 working days", "4 working hours",
//! "15 days". Amounts are exact decimals (thousandths), so `0.25 working days` added four times is
//! exactly one working day; no float ever decides a deadline.

use std::fmt;
use std::str::FromStr;

/// The unit a statute or a step budget counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// Working days of the agency's calendar: one day is one standard day's office hours.
    WorkingDays,
    /// Working hours inside office windows.
    WorkingHours,
    /// Calendar days counted by the Civil Code (Art. 147–148): from the day after the event,
    /// ending at the end of the last day, moved to the end of the next working day if needed.
    CalendarDays,
}

impl Unit {
    fn word(self, plural: bool) -> &'static str {
        match (self, plural) {
            (Unit::WorkingDays, true) => "working days",
            (Unit::WorkingDays, false) => "working day",
            (Unit::WorkingHours, true) => "working hours",
            (Unit::WorkingHours, false) => "working hour",
            (Unit::CalendarDays, true) => "days",
            (Unit::CalendarDays, false) => "day",
        }
    }
}

/// An amount of time in one [`Unit`], exact to a thousandth of the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Duration {
    /// The amount in thousandths of `unit` (1500 = 1.5).
    pub milli: u64,
    /// What the amount counts.
    pub unit: Unit,
}

/// Why a duration string was refused.
#[allow(missing_docs)] // Each variant is described by its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("duration '{0}' is not of the form '<amount> <unit>', e.g. '3 working days'")]
    Shape(String),
    #[error("amount '{0}' is not a non-negative decimal with at most three decimals")]
    Amount(String),
    #[error(
        "unknown unit '{0}': expected 'working days', 'working hours' or 'days' (singular accepted)"
    )]
    Unit(String),
    #[error("calendar days must be whole days, got '{0}'")]
    FractionalCalendarDays(String),
    #[error("'{0}' is longer than {1}: no statutory limit, budget or extension is this long")]
    TooLong(String, Duration),
}

impl Duration {
    /// `milli` thousandths of `unit`.
    pub const fn new(milli: u64, unit: Unit) -> Self {
        Duration { milli, unit }
    }
    /// `n` whole working days.
    pub const fn working_days(n: u64) -> Self {
        Duration::new(n * 1000, Unit::WorkingDays)
    }
    /// `n` whole working hours.
    pub const fn working_hours(n: u64) -> Self {
        Duration::new(n * 1000, Unit::WorkingHours)
    }
    /// `n` calendar days (Civil Code counting).
    pub const fn calendar_days(n: u64) -> Self {
        Duration::new(n * 1000, Unit::CalendarDays)
    }
    /// The longest duration accepted in each unit: ten years of days, or the working hours
    /// of ten years of working days. Longer amounts are typing mistakes; bounding them keeps
    /// every sum of budgets far from overflow and every deadline inside the calendar's range.
    pub const fn max(unit: Unit) -> Duration {
        match unit {
            Unit::WorkingDays | Unit::CalendarDays => Duration::new(MAX_DAYS * 1000, unit),
            Unit::WorkingHours => Duration::new(MAX_DAYS * 8 * 1000, unit),
        }
    }

    /// True for a zero amount, which adds nothing in any unit.
    pub fn is_zero(&self) -> bool {
        self.milli == 0
    }

    /// The amount in days for comparing budgets with statutory limits: a working day and a
    /// calendar day both count as one day, a working hour as 1/8 day. This is how authors and
    /// departments add step budgets on paper; the calendar does the real arithmetic.
    pub fn nominal_day_milli(&self) -> u64 {
        match self.unit {
            Unit::WorkingDays | Unit::CalendarDays => self.milli,
            Unit::WorkingHours => self.milli / 8,
        }
    }
}

/// Ten years, in days: the bound [`Duration::max`] puts on every duration.
pub const MAX_DAYS: u64 = 3660;

/// The JSON Schema pattern that [`Duration::from_str`] accepts.
pub const PATTERN: &str =
    r"^\s*[0-9]+(\.[0-9]{1,3})?\s+(working\s+days?|working\s+hours?|days?)\s*$";

impl FromStr for Duration {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let trimmed = s.trim();
        let (amount, unit) = trimmed
            .split_once(char::is_whitespace)
            .ok_or_else(|| Error::Shape(s.to_string()))?;
        let unit_words: Vec<&str> = unit.split_whitespace().collect();
        let unit = match unit_words.join(" ").to_ascii_lowercase().as_str() {
            "working days" | "working day" => Unit::WorkingDays,
            "working hours" | "working hour" => Unit::WorkingHours,
            "days" | "day" | "calendar days" | "calendar day" => Unit::CalendarDays,
            other => return Err(Error::Unit(other.to_string())),
        };
        let milli = parse_milli(amount).ok_or_else(|| Error::Amount(amount.to_string()))?;
        if unit == Unit::CalendarDays && milli % 1000 != 0 {
            return Err(Error::FractionalCalendarDays(s.to_string()));
        }
        let max = Duration::max(unit);
        if milli > max.milli {
            return Err(Error::TooLong(trimmed.to_string(), max));
        }
        Ok(Duration { milli, unit })
    }
}

fn parse_milli(s: &str) -> Option<u64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 3
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (s.contains('.') && frac.is_empty())
    {
        return None;
    }
    let int: u64 = int.parse().ok()?;
    let mut f: u64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        f += u64::from(b - b'0') * 10u64.pow(2 - i as u32);
    }
    int.checked_mul(1000)?.checked_add(f)
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int = self.milli / 1000;
        let frac = self.milli % 1000;
        if frac == 0 {
            write!(f, "{int}")?;
        } else {
            let s = format!("{frac:03}");
            write!(f, "{int}.{}", s.trim_end_matches('0'))?;
        }
        write!(f, " {}", self.unit.word(self.milli != 1000))
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": PATTERN,
            "description": "An amount and a unit: 'N working days', 'N working hours' (decimals up to 0.001 allowed, e.g. '0.5 working days') or 'N days' (calendar days, whole).",
            "examples": ["3 working days", "0.5 working days", "4 working hours", "15 days"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_authors_write() {
        assert_eq!("3 working days".parse(), Ok(Duration::working_days(3)));
        assert_eq!("1 working day".parse(), Ok(Duration::working_days(1)));
        assert_eq!(
            "0.25 working days".parse(),
            Ok(Duration::new(250, Unit::WorkingDays))
        );
        assert_eq!("4 working hours".parse(), Ok(Duration::working_hours(4)));
        assert_eq!("15 days".parse(), Ok(Duration::calendar_days(15)));
        assert_eq!(
            "  2   working   days ".parse(),
            Ok(Duration::working_days(2))
        );
    }

    #[test]
    fn refuses_what_a_statute_cannot_mean() {
        assert!(matches!(
            "3 fortnights".parse::<Duration>(),
            Err(Error::Unit(_))
        ));
        assert!(matches!(
            "three days".parse::<Duration>(),
            Err(Error::Amount(_))
        ));
        assert!(matches!(
            "1.5 days".parse::<Duration>(),
            Err(Error::FractionalCalendarDays(_))
        ));
        assert!(matches!(
            "1.2345 working days".parse::<Duration>(),
            Err(Error::Amount(_))
        ));
        assert!(matches!("5".parse::<Duration>(), Err(Error::Shape(_))));
        assert!(matches!(
            "-1 days".parse::<Duration>(),
            Err(Error::Amount(_))
        ));
    }

    /// Regression (hardening review): amounts up to ~1.8e16 parsed, and the budget check
    /// summed them unchecked.
    #[test]
    fn a_duration_past_ten_years_is_refused_by_name() {
        assert_eq!("3660 days".parse(), Ok(Duration::calendar_days(3660)));
        assert_eq!(
            "29280 working hours".parse(),
            Ok(Duration::working_hours(29280))
        );
        let e = "18446744073709551 working days"
            .parse::<Duration>()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "'18446744073709551 working days' is longer than 3660 working days: no statutory limit, budget or extension is this long"
        );
        assert!(matches!(
            "3660.001 working days".parse::<Duration>(),
            Err(Error::TooLong(..))
        ));
    }

    #[test]
    fn displays_round_trip() {
        for s in [
            "3 working days",
            "1 working day",
            "0.5 working days",
            "0.25 working days",
            "15 days",
            "4 working hours",
        ] {
            let d: Duration = s.parse().unwrap();
            assert_eq!(d.to_string(), s);
        }
    }
}
