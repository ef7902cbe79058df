//! Public holidays by rule: Labour Code 2019 (Bộ luật Lao động 45/2019/QH14) Art. 112, with the
//! parts the law leaves open made configurable (which day joins 2 September, whether a holiday
//! on a weekly rest day gives a day in lieu, when Vietnamese Culture Day starts).
//!
//! What the Government decides each year (the exact Tết days, swapped days) is not a rule: it
//! lives in calendar files as decisions (see [`super::file`]) and is applied on top of this.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Weekday};

use super::lunar::{self, LunarDate};

/// Which day joins 2 September (Quốc khánh): Art. 112(1)(đ) gives "2 September and one
/// adjacent day before or after", chosen each year by the Prime Minister.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AdjacentDay {
    /// 1 September.
    Before,
    /// 3 September.
    After,
    /// The side that joins the weekend, as the Government has chosen since 2021: Monday → 3 Sep,
    /// Tuesday → 1 Sep, Wednesday → 1 Sep, Thursday → 3 Sep, Friday → 1 Sep, Saturday → 1 Sep,
    /// Sunday → 3 Sep.
    Bridge,
    /// Only 2 September (the law before 2021); any extra day comes from a yearly decision.
    None,
}

/// The resolved holiday rules of a calendar. [`HolidayRules::default`] is Labour Code 2019.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayRules {
    /// Weekly rest days (ngày nghỉ hằng tuần); a holiday on one of them gives a day in lieu.
    pub rest_days: BTreeSet<WeekdayName>,
    /// 1 January, Tết Dương lịch.
    pub new_year: bool,
    /// Tết Nguyên đán days before lunar 1/1 (1 = the lunar year's last day).
    pub tet_days_before: u8,
    /// Tết Nguyên đán days after lunar 1/1 (3 = lunar days 2, 3 and 4).
    pub tet_days_after: u8,
    /// 10th day of the 3rd lunar month, Giỗ Tổ Hùng Vương.
    pub hung_kings: bool,
    /// 30 April, Ngày Chiến thắng.
    pub victory_day: bool,
    /// 1 May, Ngày Quốc tế Lao động.
    pub labour_day: bool,
    /// 2 September, Quốc khánh.
    pub national_day: bool,
    /// Which day joins 2 September.
    pub national_day_adjacent: AdjacentDay,
    /// First year in which 24 November, Ngày Văn hóa Việt Nam, is a day off (2026 by
    /// Resolution 80-NQ/TW); `None` disables it.
    pub culture_day_from: Option<i16>,
    /// Whether a holiday on a weekly rest day gives a day off on the next working day.
    pub days_in_lieu: bool,
    /// Where a Tết day that falls on a Saturday is given in lieu. Since 2014 the Government has
    /// given it on the working day before the Tết block (2024: Sat 10 Feb → Thu 8 Feb; 2025:
    /// Sat 1 Feb → Mon 27 Jan), and a Sunday's after the block.
    pub tet_saturday_in_lieu: InLieuSide,
}

/// Which side of a block of days off a day in lieu is given on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum InLieuSide {
    /// The last working day before the block.
    Before,
    /// The first working day after the block.
    After,
}

impl Default for HolidayRules {
    fn default() -> Self {
        HolidayRules {
            rest_days: [WeekdayName::Saturday, WeekdayName::Sunday].into(),
            new_year: true,
            tet_days_before: 1,
            tet_days_after: 3,
            hung_kings: true,
            victory_day: true,
            labour_day: true,
            national_day: true,
            national_day_adjacent: AdjacentDay::Bridge,
            culture_day_from: Some(2026),
            days_in_lieu: true,
            tet_saturday_in_lieu: InLieuSide::Before,
        }
    }
}

/// A weekday as calendar files spell it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum WeekdayName {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl WeekdayName {
    /// Monday to Sunday, in order.
    pub const ALL: [WeekdayName; 7] = [
        WeekdayName::Monday,
        WeekdayName::Tuesday,
        WeekdayName::Wednesday,
        WeekdayName::Thursday,
        WeekdayName::Friday,
        WeekdayName::Saturday,
        WeekdayName::Sunday,
    ];

    /// The weekday of a date.
    pub fn of(date: Date) -> WeekdayName {
        match date.weekday() {
            Weekday::Monday => WeekdayName::Monday,
            Weekday::Tuesday => WeekdayName::Tuesday,
            Weekday::Wednesday => WeekdayName::Wednesday,
            Weekday::Thursday => WeekdayName::Thursday,
            Weekday::Friday => WeekdayName::Friday,
            Weekday::Saturday => WeekdayName::Saturday,
            Weekday::Sunday => WeekdayName::Sunday,
        }
    }

    /// 0 for Monday to 6 for Sunday.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The lower-case English name used in calendar files, e.g. "saturday".
    pub fn as_str(self) -> &'static str {
        match self {
            WeekdayName::Monday => "monday",
            WeekdayName::Tuesday => "tuesday",
            WeekdayName::Wednesday => "wednesday",
            WeekdayName::Thursday => "thursday",
            WeekdayName::Friday => "friday",
            WeekdayName::Saturday => "saturday",
            WeekdayName::Sunday => "sunday",
        }
    }
}

impl std::fmt::Display for WeekdayName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a day off comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HolidayKind {
    /// A public holiday of Art. 112.
    Statutory,
    /// A day off in lieu of a holiday that fell on a weekly rest day.
    InLieu,
    /// A day off decided for the year (a swapped day, an extra day of Tết, a local day off).
    Decided,
}

/// A day off that is not a plain weekly rest day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Holiday {
    /// The civil date (Asia/Ho_Chi_Minh) of the day off.
    pub date: Date,
    /// Vietnamese name, e.g. "Tết Nguyên đán", "nghỉ bù Giỗ Tổ Hùng Vương".
    pub name: String,
    /// Whether it is a holiday of the law, a day in lieu or a decided day off.
    pub kind: HolidayKind,
}

/// Why the holidays of a year could not be computed.
#[allow(missing_docs)] // Each variant is described by its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot compute the lunar holidays of {year}: {source}")]
    Lunar {
        year: i16,
        #[source]
        source: lunar::Error,
    },
}

/// Name of 1 January in `motcua calendar holidays`.
pub const NEW_YEAR: &str = "Tết Dương lịch";
/// Name of the Tết days.
pub const TET: &str = "Tết Nguyên đán";
/// Name of the 10th day of the 3rd lunar month.
pub const HUNG_KINGS: &str = "Giỗ Tổ Hùng Vương";
/// Name of 30 April.
pub const VICTORY_DAY: &str = "Ngày Chiến thắng";
/// Name of 1 May.
pub const LABOUR_DAY: &str = "Ngày Quốc tế Lao động";
/// Name of 2 September and its adjacent day.
pub const NATIONAL_DAY: &str = "Quốc khánh";
/// Name of 24 November (from 2026).
pub const CULTURE_DAY: &str = "Ngày Văn hóa Việt Nam";

/// The holidays the rules give for solar year `year`, days in lieu included, sorted by date.
/// Yearly decisions are not applied here.
pub fn by_rules(rules: &HolidayRules, year: i16) -> Result<Vec<Holiday>, Error> {
    let lunar_err = |source| Error::Lunar { year, source };
    let mut days: BTreeMap<Date, String> = BTreeMap::new();
    let mut add = |date: Date, name: &str| {
        days.entry(date)
            .and_modify(|n| {
                // Two holidays on one date are rare (Hùng Kings' Day can reach late April);
                // the law gives no extra day, so keep one day and both names.
                n.push_str("; ");
                n.push_str(name);
            })
            .or_insert_with(|| name.to_string());
    };
    let solar = |m: i8, d: i8| Date::new(year, m, d).map_err(|_| ());
    if rules.new_year
        && let Ok(d) = solar(1, 1)
    {
        add(d, NEW_YEAR);
    }
    let tet = lunar::tet(year).map_err(lunar_err)?;
    for offset in -i32::from(rules.tet_days_before)..=i32::from(rules.tet_days_after) {
        if let Ok(d) = tet.checked_add(jiff::Span::new().days(offset)) {
            add(d, TET);
        }
    }
    if rules.hung_kings {
        let d = lunar::lunar_to_solar(LunarDate {
            year,
            month: 3,
            day: 10,
            leap: false,
        })
        .map_err(lunar_err)?;
        add(d, HUNG_KINGS);
    }
    if rules.victory_day
        && let Ok(d) = solar(4, 30)
    {
        add(d, VICTORY_DAY);
    }
    if rules.labour_day
        && let Ok(d) = solar(5, 1)
    {
        add(d, LABOUR_DAY);
    }
    if rules.national_day
        && let Ok(d) = solar(9, 2)
    {
        add(d, NATIONAL_DAY);
        let before = solar(9, 1);
        let after = solar(9, 3);
        let adjacent = match rules.national_day_adjacent {
            AdjacentDay::Before => before.ok(),
            AdjacentDay::After => after.ok(),
            AdjacentDay::None => None,
            AdjacentDay::Bridge => match d.weekday() {
                Weekday::Monday | Weekday::Thursday | Weekday::Sunday => after.ok(),
                _ => before.ok(),
            },
        };
        if let Some(a) = adjacent {
            add(a, NATIONAL_DAY);
        }
    }
    if rules.culture_day_from.is_some_and(|from| year >= from)
        && let Ok(d) = solar(11, 24)
    {
        add(d, CULTURE_DAY);
    }

    let is_rest = |d: Date| rules.rest_days.contains(&WeekdayName::of(d));
    let mut out: Vec<Holiday> = days
        .iter()
        .map(|(date, name)| Holiday {
            date: *date,
            name: name.clone(),
            kind: HolidayKind::Statutory,
        })
        .collect();
    if rules.days_in_lieu && rules.rest_days.len() < 7 {
        let mut taken: BTreeSet<Date> = days.keys().copied().collect();
        for (date, name) in &days {
            if !is_rest(*date) {
                continue;
            }
            let side = if name == TET && date.weekday() == Weekday::Saturday {
                rules.tet_saturday_in_lieu
            } else {
                InLieuSide::After
            };
            // The nearest day on that side that is neither a rest day nor already off: a
            // holiday block that spans a weekend pushes its days in lieu past its own end.
            let mut d = *date;
            let lieu = loop {
                let step = match side {
                    InLieuSide::After => d.tomorrow(),
                    InLieuSide::Before => d.yesterday(),
                };
                match step {
                    Ok(next) => d = next,
                    Err(_) => break None,
                }
                if !is_rest(d) && !taken.contains(&d) {
                    break Some(d);
                }
            };
            if let Some(l) = lieu {
                taken.insert(l);
                out.push(Holiday {
                    date: l,
                    name: format!("nghỉ bù {name}"),
                    kind: HolidayKind::InLieu,
                });
            }
        }
    }
    out.sort_by_key(|h| h.date);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn lines(year: i16) -> Vec<(Date, String)> {
        by_rules(&HolidayRules::default(), year)
            .unwrap()
            .into_iter()
            .map(|h| (h.date, h.name))
            .collect()
    }

    #[test]
    fn labour_code_2026() {
        let h = lines(2026);
        let expect = [
            (date(2026, 1, 1), NEW_YEAR),
            (date(2026, 2, 16), TET),
            (date(2026, 2, 17), TET),
            (date(2026, 2, 18), TET),
            (date(2026, 2, 19), TET),
            (date(2026, 2, 20), TET),
            (date(2026, 4, 26), HUNG_KINGS),
            (date(2026, 4, 27), "nghỉ bù Giỗ Tổ Hùng Vương"),
            (date(2026, 4, 30), VICTORY_DAY),
            (date(2026, 5, 1), LABOUR_DAY),
            (date(2026, 9, 1), NATIONAL_DAY),
            (date(2026, 9, 2), NATIONAL_DAY),
            (date(2026, 11, 24), CULTURE_DAY),
        ];
        let expect: Vec<(Date, String)> = expect.iter().map(|(d, n)| (*d, n.to_string())).collect();
        assert_eq!(h, expect);
    }

    fn in_lieu(rules: &HolidayRules, year: i16) -> Vec<Date> {
        by_rules(rules, year)
            .unwrap()
            .into_iter()
            .filter(|h| h.kind == HolidayKind::InLieu)
            .map(|h| h.date)
            .collect()
    }

    #[test]
    fn tet_on_a_saturday_gives_the_day_before_the_block_and_a_sunday_the_day_after() {
        // Tết 2024: eve Fri 9 Feb, Sat 10 to Tue 13: off Thu 8 to Wed 14.
        let rules = HolidayRules::default();
        assert_eq!(
            in_lieu(&rules, 2024),
            vec![date(2024, 2, 8), date(2024, 2, 14)]
        );
        // Tết 2025: eve Tue 28 Jan to Sat 1 Feb (mùng 4): Mon 27 Jan ("29 Tết") off, 3 Feb worked.
        assert_eq!(in_lieu(&rules, 2025), vec![date(2025, 1, 27)]);
        let after = HolidayRules {
            tet_saturday_in_lieu: InLieuSide::After,
            ..rules
        };
        assert_eq!(
            in_lieu(&after, 2024),
            vec![date(2024, 2, 14), date(2024, 2, 15)]
        );
    }

    #[test]
    fn national_day_bridges_to_the_weekend() {
        let sep = |y: i16| -> Vec<Date> {
            lines(y)
                .into_iter()
                .filter(|(_, n)| n.contains(NATIONAL_DAY))
                .map(|(d, _)| d)
                .collect()
        };
        // 2024: Mon 2 Sep → Tue 3 Sep. 2025: Tue 2 Sep → Mon 1 Sep. 2021: Thu → Fri 3 Sep.
        assert_eq!(sep(2024), vec![date(2024, 9, 2), date(2024, 9, 3)]);
        assert_eq!(sep(2025), vec![date(2025, 9, 1), date(2025, 9, 2)]);
        assert_eq!(sep(2021), vec![date(2021, 9, 2), date(2021, 9, 3)]);
        // 2023: Sat 2 Sep → Fri 1 Sep, and Mon 4 Sep in lieu.
        assert_eq!(
            sep(2023),
            vec![date(2023, 9, 1), date(2023, 9, 2), date(2023, 9, 4)]
        );
    }

    #[test]
    fn rules_can_be_switched() {
        let rules = HolidayRules {
            days_in_lieu: false,
            culture_day_from: None,
            national_day_adjacent: AdjacentDay::After,
            ..HolidayRules::default()
        };
        let h = by_rules(&rules, 2026).unwrap();
        assert!(!h.iter().any(|h| h.kind == HolidayKind::InLieu));
        assert!(!h.iter().any(|h| h.date == date(2026, 11, 24)));
        assert!(h.iter().any(|h| h.date == date(2026, 9, 3)));
    }

    #[test]
    fn culture_day_starts_in_2026() {
        assert!(!lines(2025).iter().any(|(_, n)| n == CULTURE_DAY));
        assert!(lines(2027).contains(&(date(2027, 11, 24), CULTURE_DAY.to_string())));
    }
}
