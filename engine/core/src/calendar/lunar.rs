//! The Vietnamese lunisolar calendar (âm lịch).
//!
//! This is Hồ Ngọc Đức's published astronomical algorithm ("Thuật toán tính âm lịch"): new moons
//! and solar terms are computed from Meeus-style series and the day boundaries are taken at
//! UTC+7. The time zone is what makes the Vietnamese calendar differ from the Chinese one (which
//! uses UTC+8): Tết fell on 1985-01-21 and 2007-02-17 and falls on 2030-02-02 in Vietnam, one
//! month or one day away from China. The +7 here is the definition of the calendar, not a
//! civil-time offset, so it is not taken from the tz database.
//!
//! The series are accurate for 1900–2100; outside that range the functions refuse to answer
//! rather than print a date that may be a day off.

use jiff::civil::Date;

/// The meridian the Vietnamese calendar is computed for, in hours east of Greenwich.
const CALENDAR_TIME_ZONE: f64 = 7.0;

/// First solar year this module answers for.
pub const FIRST_YEAR: i16 = 1900;
/// Last solar year this module answers for.
pub const LAST_YEAR: i16 = 2100;

/// A date of the Vietnamese lunar calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LunarDate {
    /// The lunar year, numbered like the solar year in which most of it falls.
    pub year: i16,
    /// 1 to 12; a leap month repeats the number of the month before it.
    pub month: u8,
    /// 1 to 30.
    pub day: u8,
    /// True in the intercalary (nhuận) month.
    pub leap: bool,
}

/// Why a lunar conversion was refused.
#[allow(missing_docs)] // Each variant is described by its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{0} is outside the years 1900–2100 for which the lunar calendar is computed")]
    OutOfRange(String),
    #[error("lunar date {year}-{month:02}-{day:02}{} does not exist", if *.leap { " leap" } else { "" })]
    NoSuchDate {
        year: i16,
        month: u8,
        day: u8,
        leap: bool,
    },
}

impl std::fmt::Display for LunarDate {
    /// `YYYY-MM-DD`, followed by ` leap` in a leap month (the CLI contract).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)?;
        if self.leap {
            write!(f, " leap")?;
        }
        Ok(())
    }
}

/// The lunar date of a solar (Gregorian) date, for solar years 1900–2100.
pub fn solar_to_lunar(date: Date) -> Result<LunarDate, Error> {
    if !(FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
        return Err(Error::OutOfRange(date.to_string()));
    }
    let day_number = julian_day(date);
    let mut k = ((day_number as f64 - 2415021.076998695) / 29.530588853).floor() as i64;
    // The published code tries only new moons k and k+1 of this mean-motion estimate; the true
    // new moon can fall a day after both (2054-05-07 came out as day 0), so settle on the last
    // new moon at or before the day.
    while new_moon_day(k + 1) <= day_number {
        k += 1;
    }
    while new_moon_day(k) > day_number {
        k -= 1;
    }
    let month_start = new_moon_day(k);
    let yy = i64::from(date.year());
    let mut a11 = lunar_month_11(yy);
    let mut b11 = a11;
    let mut lunar_year;
    if a11 >= month_start {
        lunar_year = yy;
        a11 = lunar_month_11(yy - 1);
    } else {
        lunar_year = yy + 1;
        b11 = lunar_month_11(yy + 1);
    }
    let day = day_number - month_start + 1;
    let diff = (month_start - a11).div_euclid(29);
    let mut leap = false;
    let mut month = diff + 11;
    if b11 - a11 > 365 {
        let leap_diff = leap_month_offset(a11);
        if diff >= leap_diff {
            month = diff + 10;
            leap = diff == leap_diff;
        }
    }
    if month > 12 {
        month -= 12;
    }
    if month >= 11 && diff < 4 {
        lunar_year -= 1;
    }
    // The values are bounded by construction (day 1..=30, month 1..=12, year near 1900..=2100).
    Ok(LunarDate {
        year: lunar_year as i16,
        month: month as u8,
        day: day as u8,
        leap,
    })
}

/// The solar date of a lunar date. Refuses a leap month that the year does not have, a day 30
/// in a 29-day month, and years outside 1900–2100.
pub fn lunar_to_solar(lunar: LunarDate) -> Result<Date, Error> {
    let no_such = || Error::NoSuchDate {
        year: lunar.year,
        month: lunar.month,
        day: lunar.day,
        leap: lunar.leap,
    };
    if !(FIRST_YEAR..=LAST_YEAR).contains(&lunar.year) {
        return Err(Error::OutOfRange(lunar.to_string()));
    }
    if !(1..=12).contains(&lunar.month) || !(1..=30).contains(&lunar.day) {
        return Err(no_such());
    }
    let year = i64::from(lunar.year);
    let month = i64::from(lunar.month);
    let (a11, b11) = if month < 11 {
        (lunar_month_11(year - 1), lunar_month_11(year))
    } else {
        (lunar_month_11(year), lunar_month_11(year + 1))
    };
    let k = (0.5 + (a11 as f64 - 2415021.076998695) / 29.530588853).floor() as i64;
    let mut off = month - 11;
    if off < 0 {
        off += 12;
    }
    if b11 - a11 > 365 {
        let leap_off = leap_month_offset(a11);
        let mut leap_month = leap_off - 2;
        if leap_month < 0 {
            leap_month += 12;
        }
        if lunar.leap && month != leap_month {
            return Err(no_such());
        } else if lunar.leap || off >= leap_off {
            off += 1;
        }
    } else if lunar.leap {
        return Err(no_such());
    }
    let month_start = new_moon_day(k + off);
    let date = date_from_julian_day(month_start + i64::from(lunar.day) - 1).ok_or_else(no_such)?;
    // Day 30 of a 29-day month lands on day 1 of the next month: refuse it.
    match solar_to_lunar(date) {
        Ok(back) if back == lunar => Ok(date),
        Ok(_) => Err(no_such()),
        Err(e) => Err(e),
    }
}

/// Tết (lunar 1st day of the 1st month) of a lunar year.
pub fn tet(year: i16) -> Result<Date, Error> {
    lunar_to_solar(LunarDate {
        year,
        month: 1,
        day: 1,
        leap: false,
    })
}

/// The Julian day number of a Gregorian date (Julian calendar before 1582-10-15, as in the
/// reference algorithm; never reached inside the supported range).
pub(crate) fn julian_day(date: Date) -> i64 {
    let (dd, mm, yy) = (
        i64::from(date.day()),
        i64::from(date.month()),
        i64::from(date.year()),
    );
    let a = (14 - mm).div_euclid(12);
    let y = yy + 4800 - a;
    let m = mm + 12 * a - 3;
    let jd = dd + (153 * m + 2).div_euclid(5) + 365 * y + y.div_euclid(4) - y.div_euclid(100)
        + y.div_euclid(400)
        - 32045;
    if jd < 2299161 {
        dd + (153 * m + 2).div_euclid(5) + 365 * y + y.div_euclid(4) - 32083
    } else {
        jd
    }
}

/// The Gregorian date of a Julian day number; `None` outside the years jiff represents.
pub(crate) fn date_from_julian_day(jd: i64) -> Option<Date> {
    let (b, c) = if jd > 2299160 {
        let a = jd + 32044;
        let b = (4 * a + 3).div_euclid(146097);
        (b, a - (b * 146097).div_euclid(4))
    } else {
        (0, jd + 32082)
    };
    let d = (4 * c + 3).div_euclid(1461);
    let e = c - (1461 * d).div_euclid(4);
    let m = (5 * e + 2).div_euclid(153);
    let day = e - (153 * m + 2).div_euclid(5) + 1;
    let month = m + 3 - 12 * m.div_euclid(10);
    let year = b * 100 + d - 4800 + m.div_euclid(10);
    Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()
}

/// Julian day (with fraction, UT) of the k-th new moon after 1900-01-01.
fn new_moon(k: i64) -> f64 {
    let k = k as f64;
    let t = k / 1236.85;
    let t2 = t * t;
    let t3 = t2 * t;
    let dr = std::f64::consts::PI / 180.0;
    let mut jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3;
    jd1 += 0.00033 * ((166.56 + 132.87 * t - 0.009173 * t2) * dr).sin();
    let m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3;
    let mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3;
    let f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3;
    let mut c1 = (0.1734 - 0.000393 * t) * (m * dr).sin() + 0.0021 * (2.0 * dr * m).sin();
    c1 = c1 - 0.4068 * (mpr * dr).sin() + 0.0161 * (dr * 2.0 * mpr).sin();
    c1 -= 0.0004 * (dr * 3.0 * mpr).sin();
    c1 = c1 + 0.0104 * (dr * 2.0 * f).sin() - 0.0051 * (dr * (m + mpr)).sin();
    c1 = c1 - 0.0074 * (dr * (m - mpr)).sin() + 0.0004 * (dr * (2.0 * f + m)).sin();
    c1 = c1 - 0.0004 * (dr * (2.0 * f - m)).sin() - 0.0006 * (dr * (2.0 * f + mpr)).sin();
    c1 = c1 + 0.0010 * (dr * (2.0 * f - mpr)).sin() + 0.0005 * (dr * (2.0 * mpr + m)).sin();
    let delta_t = if t < -11.0 {
        0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    } else {
        -0.000278 + 0.000265 * t + 0.000262 * t2
    };
    jd1 + c1 - delta_t
}

/// The sun's apparent longitude in radians, normalised to [0, 2π), at Julian day `jdn` (UT).
fn sun_longitude(jdn: f64) -> f64 {
    let t = (jdn - 2451545.0) / 36525.0;
    let t2 = t * t;
    let dr = std::f64::consts::PI / 180.0;
    let m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2;
    let l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2;
    let mut dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * (dr * m).sin();
    dl += (0.019993 - 0.000101 * t) * (dr * 2.0 * m).sin() + 0.000290 * (dr * 3.0 * m).sin();
    let l = (l0 + dl) * dr;
    let two_pi = std::f64::consts::PI * 2.0;
    l - two_pi * (l / two_pi).floor()
}

/// The local (UTC+7) day number of the k-th new moon.
fn new_moon_day(k: i64) -> i64 {
    (new_moon(k) + 0.5 + CALENDAR_TIME_ZONE / 24.0).floor() as i64
}

/// Which of the 12 major solar-term sectors (0..=11) the sun is in at the start of a local day.
fn sun_sector(day_number: i64) -> i64 {
    (sun_longitude(day_number as f64 - 0.5 - CALENDAR_TIME_ZONE / 24.0) / std::f64::consts::PI
        * 6.0)
        .floor() as i64
}

/// The day number on which the 11th lunar month (the one containing the winter solstice) of
/// solar year `yy` begins.
fn lunar_month_11(yy: i64) -> i64 {
    let off = julian_day_ymd(yy, 12, 31) - 2415021;
    let k = (off as f64 / 29.530588853).floor() as i64;
    let nm = new_moon_day(k);
    if sun_sector(nm) >= 9 {
        new_moon_day(k - 1)
    } else {
        nm
    }
}

fn julian_day_ymd(yy: i64, mm: i8, dd: i8) -> i64 {
    // Only called with in-range years and fixed valid month/day, so the date always exists;
    // fall back to a computation on raw numbers otherwise.
    match Date::new(yy as i16, mm, dd) {
        Ok(d) => julian_day(d),
        Err(_) => 0,
    }
}

/// The position (after month 11 at `a11`) of the leap month: the first month that contains no
/// major solar term.
fn leap_month_offset(a11: i64) -> i64 {
    let k = ((a11 as f64 - 2415021.076998695) / 29.530588853 + 0.5).floor() as i64;
    let mut i = 1;
    let mut arc = sun_sector(new_moon_day(k + i));
    loop {
        let last = arc;
        i += 1;
        arc = sun_sector(new_moon_day(k + i));
        if arc == last || i >= 14 {
            break;
        }
    }
    i - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn lunar(year: i16, month: u8, day: u8) -> LunarDate {
        LunarDate {
            year,
            month,
            day,
            leap: false,
        }
    }

    #[test]
    fn tet_is_vietnamese_not_chinese() {
        // China: 1985-02-20, 2007-02-18, 2030-02-03.
        assert_eq!(tet(1985), Ok(date(1985, 1, 21)));
        assert_eq!(tet(2007), Ok(date(2007, 2, 17)));
        assert_eq!(tet(2030), Ok(date(2030, 2, 2)));
    }

    #[test]
    fn tet_of_recent_and_coming_years() {
        assert_eq!(tet(2024), Ok(date(2024, 2, 10)));
        assert_eq!(tet(2025), Ok(date(2025, 1, 29)));
        assert_eq!(tet(2026), Ok(date(2026, 2, 17)));
        assert_eq!(tet(2027), Ok(date(2027, 2, 6)));
        assert_eq!(tet(2028), Ok(date(2028, 1, 26)));
    }

    #[test]
    fn tet_2008_to_2023() {
        let known = [
            date(2008, 2, 7),
            date(2009, 1, 26),
            date(2010, 2, 14),
            date(2011, 2, 3),
            date(2012, 1, 23),
            date(2013, 2, 10),
            date(2014, 1, 31),
            date(2015, 2, 19),
            date(2016, 2, 8),
            date(2017, 1, 28),
            date(2018, 2, 16),
            date(2019, 2, 5),
            date(2020, 1, 25),
            date(2021, 2, 12),
            date(2022, 2, 1),
            date(2023, 1, 22),
        ];
        for d in known {
            assert_eq!(tet(d.year()), Ok(d));
        }
    }

    #[test]
    fn every_day_from_1900_to_2100_round_trips_and_every_tet_is_in_season() {
        let mut d = date(1900, 1, 31);
        let end = date(2100, 12, 31);
        while d <= end {
            let l = solar_to_lunar(d).unwrap();
            assert!(
                (1..=30).contains(&l.day) && (1..=12).contains(&l.month),
                "{d} -> {l}"
            );
            if (FIRST_YEAR..=LAST_YEAR).contains(&l.year) {
                assert_eq!(lunar_to_solar(l), Ok(d), "{d} -> {l}");
            }
            d = d.tomorrow().unwrap();
        }
        for y in FIRST_YEAR..=LAST_YEAR {
            let t = tet(y).unwrap();
            assert!(date(y, 1, 19) <= t && t <= date(y, 2, 21), "Tết {y} on {t}");
        }
    }

    #[test]
    fn hung_kings_day_is_the_tenth_of_the_third_month() {
        assert_eq!(lunar_to_solar(lunar(2025, 3, 10)), Ok(date(2025, 4, 7)));
        assert_eq!(lunar_to_solar(lunar(2026, 3, 10)), Ok(date(2026, 4, 26)));
        assert_eq!(solar_to_lunar(date(2026, 4, 26)), Ok(lunar(2026, 3, 10)));
    }

    #[test]
    fn solar_to_lunar_at_tet() {
        assert_eq!(solar_to_lunar(date(2030, 2, 2)), Ok(lunar(2030, 1, 1)));
        // The eve of Tết 2025 is the 29th: the 12th month of Giáp Thìn had 29 days.
        assert_eq!(solar_to_lunar(date(2025, 1, 28)), Ok(lunar(2024, 12, 29)));
        assert_eq!(solar_to_lunar(date(2024, 2, 9)), Ok(lunar(2023, 12, 30)));
    }

    #[test]
    fn leap_months() {
        // Quý Mão 2023 has a leap 2nd month starting 2023-03-22.
        let leap2 = LunarDate {
            year: 2023,
            month: 2,
            day: 1,
            leap: true,
        };
        assert_eq!(solar_to_lunar(date(2023, 3, 22)), Ok(leap2));
        assert_eq!(lunar_to_solar(leap2), Ok(date(2023, 3, 22)));
        assert_eq!(solar_to_lunar(date(2023, 3, 21)), Ok(lunar(2023, 2, 30)));
        assert_eq!(solar_to_lunar(date(2023, 4, 20)), Ok(lunar(2023, 3, 1)));
        assert_eq!(leap2.to_string(), "2023-02-01 leap");
        // Canh Tý 2020 has a leap 4th month starting 2020-05-23.
        assert_eq!(
            solar_to_lunar(date(2020, 5, 23)).map(|l| l.to_string()),
            Ok("2020-04-01 leap".to_string())
        );
        // Ất Tỵ 2025 has a leap 6th month starting 2025-07-25.
        assert_eq!(
            solar_to_lunar(date(2025, 7, 25)).map(|l| l.to_string()),
            Ok("2025-06-01 leap".to_string())
        );
    }

    #[test]
    fn refuses_dates_that_do_not_exist() {
        let leap_in_2024 = LunarDate {
            year: 2024,
            month: 2,
            day: 1,
            leap: true,
        };
        assert!(matches!(
            lunar_to_solar(leap_in_2024),
            Err(Error::NoSuchDate { .. })
        ));
        // The 12th month of Giáp Thìn (2024) has 29 days.
        assert!(matches!(
            lunar_to_solar(lunar(2024, 12, 30)),
            Err(Error::NoSuchDate { .. })
        ));
        assert!(matches!(
            solar_to_lunar(date(1899, 12, 31)),
            Err(Error::OutOfRange(_))
        ));
        assert!(matches!(tet(2101), Err(Error::OutOfRange(_))));
    }

    #[test]
    fn round_trips_every_day_of_the_range_edges() {
        for d in [date(1900, 3, 1), date(1950, 6, 15), date(2100, 12, 31)] {
            let l = solar_to_lunar(d).unwrap();
            if (FIRST_YEAR..=LAST_YEAR).contains(&l.year) {
                assert_eq!(lunar_to_solar(l), Ok(d), "{d} -> {l}");
            }
        }
        let mut d = date(2020, 1, 1);
        while d < date(2031, 1, 1) {
            let l = solar_to_lunar(d).unwrap();
            assert_eq!(lunar_to_solar(l), Ok(d), "{d} -> {l}");
            d = d.tomorrow().unwrap();
        }
    }
}
