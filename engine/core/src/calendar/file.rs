//! Calendar files: YAML documents that declare what changes by agency and by year.
//!
//! A file may `extends:` another (national → province → agency). The child overrides scalar
//! settings field by field, replaces office hours weekday by weekday, and adds its decisions to
//! the parent's. Parsing is from strings: the caller supplies a resolver for `extends:` names, so
//! the library does no I/O. The name `vn-national` always resolves to the built-in national
//! calendar shipped in `calendars/vn-national.yaml`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::holidays::{self, AdjacentDay, HolidayRules, InLieuSide, WeekdayName};

mod merge;
use merge::merge;

/// The national calendar, embedded so that [`super::Calendar::vietnam_default`] needs no file.
pub const VN_NATIONAL: &str = include_str!("../../../../calendars/vn-national.yaml");
/// The name under which `extends:` finds [`VN_NATIONAL`].
pub const VN_NATIONAL_NAME: &str = "vn-national";

/// One calendar file as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "motcua calendar")]
pub struct CalendarFile {
    /// A human name, e.g. "Đà Nẵng — Trung tâm Phục vụ hành chính công".
    pub name: String,
    /// The calendar this one refines: `vn-national` (built in) or a path relative to this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// An IANA time zone; inherited, `Asia/Ho_Chi_Minh` if no file sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Public holiday rules (Labour Code 2019 Art. 112); unset fields are inherited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holiday_rules: Option<HolidayRulesFile>,
    /// Office hours; unset weekdays are inherited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office_hours: Option<OfficeHoursFile>,
    /// Same-day procedures received after this local time on a working day count from the next
    /// working day, e.g. "15:00" (received at 15:00 exactly is still the same day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_day_cutoff: Option<ClockTime>,
    /// What the Government (or a province, for its agencies) decided for a year.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<Decision>,
}

/// Holiday rule settings; each unset field keeps the inherited value (Labour Code 2019 default).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayRulesFile {
    /// Weekly rest days; a holiday on one gives a day in lieu. Default: saturday, sunday.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest_days: Option<Vec<WeekdayName>>,
    /// 1 January. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_year: Option<bool>,
    /// Days of Tết before lunar 1/1; 1 = the lunar year's last day. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tet_days_before: Option<u8>,
    /// Days of Tết after lunar 1/1; 3 = lunar days 2 to 4. Default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tet_days_after: Option<u8>,
    /// Hùng Kings' Day, 10th day of the 3rd lunar month. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hung_kings: Option<bool>,
    /// 30 April. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub victory_day: Option<bool>,
    /// 1 May. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labour_day: Option<bool>,
    /// 2 September. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_day: Option<bool>,
    /// The day joining 2 September: before, after, bridge (towards the weekend) or none.
    /// Default bridge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_day_adjacent: Option<AdjacentDay>,
    /// 24 November, Vietnamese Culture Day (Ngày Văn hóa Việt Nam). Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub culture_day: Option<bool>,
    /// First year in which Vietnamese Culture Day is a day off. Default 2026.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub culture_day_from: Option<i16>,
    /// Whether a holiday on a rest day gives a day off on the next working day. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_in_lieu: Option<bool>,
    /// Where a Tết day on a Saturday is given in lieu: before (the working day before the Tết
    /// block, the practice since 2014) or after. Default before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tet_saturday_in_lieu: Option<InLieuSide>,
}

/// Office hours. `standard` is a standard working day: its length is one working day, it
/// applies to every weekday that is not a rest day unless overridden, and to make-up days.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficeHoursFile {
    /// A standard working day. Default: morning 08:00-12:00, afternoon 13:00-17:00.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard: Option<DayHours>,
    /// Monday's hours, if they differ from the standard day (`{}` = closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monday: Option<DayHours>,
    /// Tuesday's hours, if they differ from the standard day (`{}` = closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuesday: Option<DayHours>,
    /// Wednesday's hours, if they differ from the standard day (`{}` = closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wednesday: Option<DayHours>,
    /// Thursday's hours, if they differ from the standard day (`{}` = closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thursday: Option<DayHours>,
    /// Friday's hours, if they differ from the standard day (`{}` = closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friday: Option<DayHours>,
    /// Saturday's hours, if they differ from the standard day (`{}` = closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturday: Option<DayHours>,
    /// Sunday's hours, if they differ from the standard day (`{}` = closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sunday: Option<DayHours>,
}

impl OfficeHoursFile {
    fn weekday(&self, w: WeekdayName) -> Option<&DayHours> {
        match w {
            WeekdayName::Monday => self.monday.as_ref(),
            WeekdayName::Tuesday => self.tuesday.as_ref(),
            WeekdayName::Wednesday => self.wednesday.as_ref(),
            WeekdayName::Thursday => self.thursday.as_ref(),
            WeekdayName::Friday => self.friday.as_ref(),
            WeekdayName::Saturday => self.saturday.as_ref(),
            WeekdayName::Sunday => self.sunday.as_ref(),
        }
    }
}

/// A day's office hours: a morning and an afternoon window, either may be absent (`{}` is a
/// closed day).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DayHours {
    /// The morning window, e.g. "08:00-12:00".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub morning: Option<Window>,
    /// The afternoon window, e.g. "13:00-17:00"; it must start at or after the morning's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub afternoon: Option<Window>,
}

impl DayHours {
    /// The windows in order, as half-open minute ranges of the local day.
    pub fn windows(&self) -> Vec<Window> {
        self.morning
            .iter()
            .chain(self.afternoon.iter())
            .copied()
            .collect()
    }
}

/// A local time of day, "HH:MM"; "24:00" is the end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime {
    /// Minutes since local midnight, 0..=1440.
    pub minutes: u16,
}

/// An office window "HH:MM-HH:MM": open from the first time (inclusive) to the second
/// (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// Opening time (inclusive).
    pub from: ClockTime,
    /// Closing time (exclusive): the first instant that is no longer working time.
    pub to: ClockTime,
}

/// A date with its name: a day off, a make-up working day or a removed day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedDay {
    /// The day, YYYY-MM-DD; it must lie in the decision's year.
    pub date: CivilDate,
    /// Vietnamese name or reason, e.g. "nghỉ bù Tết Nguyên đán", "làm bù cho thứ Sáu 02/5".
    pub name: String,
}

/// What was decided for one year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// The solar year decided for; every date listed must lie in it.
    pub year: i16,
    /// The instrument, e.g. a Prime Minister's notice number; free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Extra days off (swapped days, extra Tết days, days in lieu moved elsewhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_off: Vec<NamedDay>,
    /// Rest days worked as a standard working day (a worked Saturday).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub make_up_days: Vec<NamedDay>,
    /// Days the rules make off that are worked this year (e.g. a day in lieu moved elsewhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_days: Vec<NamedDay>,
}

/// A Gregorian date written "YYYY-MM-DD".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CivilDate(pub Date);

/// Why a calendar file (or one it extends) was refused. Each message names the file.
#[allow(missing_docs)] // Each variant is described by its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{origin}: {message}")]
    Yaml { origin: String, message: String },
    #[error("{origin}: cannot read calendar '{name}' named by extends: {message}")]
    Extends {
        origin: String,
        name: String,
        message: String,
    },
    #[error("calendar files extend each other in a cycle: {0}")]
    Cycle(String),
    #[error("{origin}: unknown time zone '{name}'")]
    TimeZone { origin: String, name: String },
    #[error("{origin}: office hours of {day}: window {window} ends before it starts")]
    EmptyWindow {
        origin: String,
        day: String,
        window: Window,
    },
    #[error("{origin}: office hours of {day}: morning {morning} overlaps afternoon {afternoon}")]
    Overlap {
        origin: String,
        day: String,
        morning: Window,
        afternoon: Window,
    },
    #[error("{origin}: the standard working day has no office hours")]
    NoStandardDay { origin: String },
    #[error("{origin}: {date} is listed under the decisions of {year}")]
    WrongYear {
        origin: String,
        date: Date,
        year: i16,
    },
    #[error(
        "{origin}: make-up day {date} is a {weekday}, already a working day (only a rest day can be made a working day)"
    )]
    MakeUpAlreadyWorking {
        origin: String,
        date: Date,
        weekday: WeekdayName,
    },
    #[error("{origin}: make-up day {date} is also a day off ({name}); use removed_days instead")]
    MakeUpIsDayOff {
        origin: String,
        date: Date,
        name: String,
    },
    #[error("{origin}: {source}")]
    Holidays {
        origin: String,
        #[source]
        source: holidays::Error,
    },
}

/// A calendar with its inheritance resolved and validated: what [`super::Calendar`] compiles.
/// Fields follow [`CalendarFile`] with inheritance and defaults applied.
#[allow(missing_docs)]
#[derive(Debug, Clone)]
pub struct CalendarSpec {
    pub name: String,
    pub time_zone: jiff::tz::TimeZone,
    pub time_zone_name: String,
    pub rules: HolidayRules,
    pub standard: DayHours,
    /// Monday..Sunday.
    pub weekdays: [DayHours; 7],
    pub same_day_cutoff: Option<ClockTime>,
    /// Decided extra days off, by date.
    pub days_off: BTreeMap<Date, String>,
    pub make_up_days: BTreeMap<Date, String>,
    pub removed_days: BTreeSet<Date>,
}

/// Finds the calendar an `extends:` names: called as `resolve(origin, name)` with the origin of
/// the file that names it; returns that calendar's text and its own origin (e.g. a path).
pub type Resolver<'a> = dyn FnMut(&str, &str) -> Result<(String, String), String> + 'a;

/// Parse a calendar and everything it extends. `origin` names `text` in messages (a path);
/// `resolve(origin, name)` returns the text and origin of the calendar that `origin` names in
/// `extends:` (`vn-national` never reaches it).
pub fn load(text: &str, origin: &str, resolve: &mut Resolver<'_>) -> Result<CalendarSpec, Error> {
    let mut chain: Vec<(String, CalendarFile)> = Vec::new();
    let mut current = (text.to_string(), origin.to_string());
    loop {
        let file = parse(&current.0, &current.1)?;
        let next = file.extends.clone();
        chain.push((current.1.clone(), file));
        let Some(name) = next else { break };
        if chain.len() > 16 || chain.iter().any(|(o, _)| *o == name) {
            let mut names: Vec<&str> = chain.iter().map(|(o, _)| o.as_str()).collect();
            names.push(&name);
            return Err(Error::Cycle(names.join(" → ")));
        }
        current = if name == VN_NATIONAL_NAME {
            (VN_NATIONAL.to_string(), VN_NATIONAL_NAME.to_string())
        } else {
            let from = current.1.clone();
            resolve(&from, &name).map_err(|message| Error::Extends {
                origin: from,
                name: name.clone(),
                message,
            })?
        };
        if chain.iter().any(|(o, _)| *o == current.1) {
            let mut names: Vec<&str> = chain.iter().map(|(o, _)| o.as_str()).collect();
            names.push(&current.1);
            return Err(Error::Cycle(names.join(" → ")));
        }
    }
    chain.reverse();
    merge(&chain)
}

/// Parse one file without resolving `extends:`.
pub fn parse(text: &str, origin: &str) -> Result<CalendarFile, Error> {
    serde_yaml::from_str(text).map_err(|e| Error::Yaml {
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

/// The JSON Schema of calendar files, as committed in `schemas/calendar.schema.json`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(CalendarFile)).unwrap_or(serde_json::Value::Null)
}

impl Window {
    /// The window from h1:m1 to h2:m2 (no validation: [`load`] validates files).
    pub const fn hm(h1: u16, m1: u16, h2: u16, m2: u16) -> Window {
        Window {
            from: ClockTime {
                minutes: h1 * 60 + m1,
            },
            to: ClockTime {
                minutes: h2 * 60 + m2,
            },
        }
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.from, self.to)
    }
}

impl FromStr for ClockTime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid time '{s}': expected HH:MM between 00:00 and 24:00");
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        if m >= 60 || h * 60 + m > 24 * 60 {
            return Err(bad());
        }
        Ok(ClockTime {
            minutes: h * 60 + m,
        })
    }
}

impl FromStr for Window {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = s.split_once('-').ok_or_else(|| {
            format!("invalid office window '{s}': expected HH:MM-HH:MM, e.g. 08:00-12:00")
        })?;
        Ok(Window {
            from: a.parse()?,
            to: b.parse()?,
        })
    }
}

impl FromStr for CivilDate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let shape_ok = s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if !shape_ok {
            return Err(format!("invalid date '{s}': expected YYYY-MM-DD"));
        }
        s.parse::<Date>()
            .map(CivilDate)
            .map_err(|e| format!("invalid date '{s}': {e}"))
    }
}

impl fmt::Display for CivilDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

macro_rules! string_serde {
    ($t:ty, $name:literal, $pattern:literal, $desc:literal, $example:literal) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
        impl JsonSchema for $t {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "pattern": $pattern,
                    "description": $desc,
                    "examples": [$example]
                })
            }
        }
    };
}

string_serde!(
    ClockTime,
    "ClockTime",
    r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$",
    "A local time of day, HH:MM.",
    "15:00"
);
string_serde!(
    Window,
    "Window",
    r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
    "An office window HH:MM-HH:MM, open from the first time up to (not including) the second.",
    "08:00-12:00"
);
string_serde!(
    CivilDate,
    "Date",
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "A Gregorian date, YYYY-MM-DD.",
    "2026-08-22"
);

#[cfg(test)]
mod tests;
