//! How the screens write instants and amounts: dd/mm/yyyy HH:MM in Asia/Ho_Chi_Minh, đồng
//! with dots between thousands, as Vietnamese forms print them.

use jiff::Timestamp;
use jiff::tz::TimeZone;

fn vietnam() -> TimeZone {
    // The bundled database always has it; a fixed +07:00 is the same offset (no DST).
    TimeZone::get("Asia/Ho_Chi_Minh")
        .unwrap_or_else(|_| TimeZone::fixed(jiff::tz::Offset::constant(7)))
}

/// `05/01/2026 14:30`.
pub fn when(t: Timestamp) -> String {
    t.to_zoned_datetime(vietnam())
        .strftime("%d/%m/%Y %H:%M")
        .to_string()
}

/// The local day of an instant: `05/01/2026`.
pub fn date_of(t: Timestamp) -> String {
    date(t.to_zoned_datetime(vietnam()).date())
}

/// "ngày 05 tháng 01 năm 2026", as the forms date themselves.
pub fn long_day(t: Timestamp) -> String {
    t.to_zoned_datetime(vietnam())
        .strftime("ngày %d tháng %m năm %Y")
        .to_string()
}

/// `1.250.000 đ`.
pub fn dong(amount: u64) -> String {
    format!("{} đ", grouped(&amount.to_string()))
}

/// Digits grouped by dots in threes, as Vietnamese write thousands: `1.250.000`.
fn grouped(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// A whole number with dots between thousands: `-12.345`.
pub fn number(n: i64) -> String {
    let digits = grouped(&n.unsigned_abs().to_string());
    if n < 0 { format!("-{digits}") } else { digits }
}

/// `x` rounded to `places` decimals, with a decimal comma and dots between thousands
/// (`1.234,50` for two places); not finite prints as empty, which no count is.
pub fn decimal(x: f64, places: usize) -> String {
    if !x.is_finite() {
        return String::new();
    }
    // Half away from zero, as people round (0,125 → 0,13), not to even as `{:.2}` does.
    let scale = 10f64.powi(i32::try_from(places).unwrap_or(i32::MAX));
    let fixed = format!("{:.*}", places, (x.abs() * scale).round() / scale);
    let (whole, frac) = fixed.split_once('.').unwrap_or((&fixed, ""));
    // "-0,0" would read as a loss where the rounding left nothing.
    let negative = x < 0.0 && fixed.bytes().any(|b| (b'1'..=b'9').contains(&b));
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&grouped(whole));
    if !frac.is_empty() {
        out.push(',');
        out.push_str(frac);
    }
    out
}

/// A share (0.875) as a percentage with one decimal and a decimal comma (`87,5`), the unit
/// left to the column's header.
/// Bytes as people read a file's size: "245 KB", "3,2 MB".
pub fn file_size(bytes: u64) -> String {
    if bytes < 1024 * 1024 {
        format!("{} KB", number(bytes.div_ceil(1024) as i64))
    } else {
        format!("{} MB", decimal(bytes as f64 / (1024.0 * 1024.0), 1))
    }
}

pub fn rate(fraction: f64) -> String {
    decimal(fraction * 100.0, 1)
}

/// A calendar day as forms write it: `07/12/2026`.
pub fn date(d: jiff::civil::Date) -> String {
    d.strftime("%d/%m/%Y").to_string()
}

/// A JSON number as a person reads it: as exact as written, a decimal comma, dots between
/// thousands (`1.250,5`, `-5`, `0,25`), for the limits and values of a form.
pub fn figure(n: &serde_json::Number) -> String {
    // Shortest exact text: integers as they are, other numbers by Rust's shortest round trip
    // (never an exponent, unlike JSON's own text).
    let text = match (n.as_i64(), n.as_u64(), n.as_f64()) {
        (Some(i), _, _) => i.to_string(),
        (_, Some(u), _) => u.to_string(),
        (_, _, Some(f)) => f.to_string(),
        _ => n.to_string(),
    };
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (whole, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let mut out = String::from(sign);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push(',');
        out.push_str(frac);
    }
    out
}

/// An appointment as a citizen reads it: a limit counted in calendar days ends at midnight,
/// which the engine keeps as 00:00 of the next day and people say as "trước 24:00 ngày
/// 22/12/2026"; any other instant as [`when`].
pub fn appointment(t: Timestamp) -> String {
    let local = t.to_zoned_datetime(vietnam());
    if local.hour() == 0 && local.minute() == 0 {
        let day = local.date().yesterday().unwrap_or(local.date());
        return format!("trước 24:00 ngày {}", date(day));
    }
    when(t)
}

/// Hours in a working day of the national office calendar (Decree 45/2020's working time:
/// 8:00–12:00 and 13:00–17:00), for saying working hours as days and hours.
const HOURS_PER_DAY: u64 = 8;

/// Working time in thousandths of an hour as days and hours: "2 ngày 3 giờ làm việc",
/// "4 giờ làm việc", "dưới 1 giờ làm việc".
pub fn working_time(hours_milli: u64) -> String {
    let hours = hours_milli / 1000;
    let (days, rest) = (hours / HOURS_PER_DAY, hours % HOURS_PER_DAY);
    match (days, rest) {
        (0, 0) => "dưới 1 giờ làm việc".into(),
        (0, h) => format!("{h} giờ làm việc"),
        (d, 0) => format!("{d} ngày làm việc"),
        (d, h) => format!("{d} ngày {h} giờ làm việc"),
    }
}

/// Where a clock stands now, in words: "Trễ 2 ngày 3 giờ làm việc", "Còn 4 giờ làm việc",
/// "Tạm dừng: còn 3 ngày làm việc khi tiếp tục"; empty once the clock has stopped.
pub fn standing(
    calendar: &dyn crate::deadline::WorkingCalendar,
    now: Timestamp,
    state: Option<crate::deadline::ClockState>,
    due: Option<Timestamp>,
    paused_since: Option<Timestamp>,
) -> String {
    use crate::deadline::ClockState as S;
    let (Some(state), Some(due)) = (state, due) else {
        return String::new();
    };
    let between = |a: Timestamp, b: Timestamp| calendar.elapsed_hours_milli(a, b).unwrap_or(0);
    match state {
        S::Overdue => format!("Trễ {}", working_time(between(due, now))),
        S::Paused => {
            let from = paused_since.unwrap_or(now);
            if from >= due {
                "Tạm dừng (đã quá hạn trước khi dừng)".into()
            } else {
                format!(
                    "Tạm dừng: còn {} khi tiếp tục",
                    working_time(between(from, due))
                )
            }
        }
        S::DueSoon | S::NotDue => format!("Còn {}", working_time(between(now, due))),
    }
}

/// The share of a budget used, in percent, from thousandths (capped for drawing a bar).
pub fn percent(permille: Option<u64>) -> u64 {
    permille.map_or(0, |p| p / 10)
}

/// A duration in words: "10 ngày", "0,5 ngày làm việc", "4 giờ làm việc".
pub fn duration(d: crate::calendar::Duration) -> String {
    use crate::calendar::Unit;
    let whole = d.milli / 1000;
    let frac = d.milli % 1000;
    let amount = if frac == 0 {
        whole.to_string()
    } else {
        let digits = format!("{frac:03}");
        format!("{whole},{}", digits.trim_end_matches('0'))
    };
    let unit = match d.unit {
        Unit::WorkingDays => "ngày làm việc",
        Unit::WorkingHours => "giờ làm việc",
        Unit::CalendarDays => "ngày",
    };
    format!("{amount} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calendar_day_appointment_ends_at_midnight_of_the_day_before() {
        // 23/12/2026 00:00 in Hà Nội is 22/12 17:00 UTC.
        let midnight: Timestamp = "2026-12-22T17:00:00Z".parse().expect("instant");
        assert_eq!(appointment(midnight), "trước 24:00 ngày 22/12/2026");
        let afternoon: Timestamp = "2026-12-22T09:00:00Z".parse().expect("instant");
        assert_eq!(appointment(afternoon), "22/12/2026 16:00");
    }

    #[test]
    fn working_time_is_said_in_days_and_hours() {
        assert_eq!(working_time(0), "dưới 1 giờ làm việc");
        assert_eq!(working_time(4_000), "4 giờ làm việc");
        assert_eq!(working_time(16_000), "2 ngày làm việc");
        assert_eq!(working_time(19_500), "2 ngày 3 giờ làm việc");
    }

    #[test]
    fn lateness_is_counted_in_working_time_not_a_share_of_the_budget() {
        use crate::deadline::ClockState;
        let cal = crate::calendar::Calendar::vietnam_default();
        let at = |t: &str| t.parse::<Timestamp>().expect("instant");
        // Due Friday 4 Dec 2026 17:00; on Tuesday 8 Dec at 10:00 (local) it is one working
        // day (Monday) and two hours (Tuesday 8–10) late: the weekend does not count.
        let due = at("2026-12-04T10:00:00Z");
        let now = at("2026-12-08T03:00:00Z");
        assert_eq!(
            standing(&cal, now, Some(ClockState::Overdue), Some(due), None),
            "Trễ 1 ngày 2 giờ làm việc"
        );
        assert_eq!(
            standing(&cal, due, Some(ClockState::NotDue), Some(now), None),
            "Còn 1 ngày 2 giờ làm việc"
        );
        assert_eq!(
            standing(&cal, now, Some(ClockState::Paused), Some(now), Some(due)),
            "Tạm dừng: còn 1 ngày 2 giờ làm việc khi tiếp tục"
        );
        assert_eq!(standing(&cal, now, None, Some(due), None), "");
    }

    #[test]
    fn instants_print_in_vietnam_time_and_amounts_with_dots() {
        let t: Timestamp = "2026-01-05T07:30:00Z".parse().expect("instant");
        assert_eq!(when(t), "05/01/2026 14:30");
        assert_eq!(long_day(t), "ngày 05 tháng 01 năm 2026");
        // Late evening UTC is already the next day in Hà Nội.
        let late: Timestamp = "2026-01-05T18:00:00Z".parse().expect("instant");
        assert_eq!(when(late), "06/01/2026 01:00");
        assert_eq!(dong(0), "0 đ");
        assert_eq!(dong(75_000), "75.000 đ");
        assert_eq!(dong(1_250_000), "1.250.000 đ");
        assert_eq!(percent(Some(1234)), 123);
        let d = |t: &str| duration(t.parse().expect("duration"));
        assert_eq!(d("10 days"), "10 ngày");
        assert_eq!(d("0.5 working days"), "0,5 ngày làm việc");
        assert_eq!(d("4 working hours"), "4 giờ làm việc");
    }

    #[test]
    fn form_figures_keep_their_precision_with_a_decimal_comma() {
        let f = |v: serde_json::Value| match v {
            serde_json::Value::Number(n) => figure(&n),
            other => panic!("{other}"),
        };
        assert_eq!(f(serde_json::json!(0)), "0");
        assert_eq!(f(serde_json::json!(-5.0)), "-5");
        assert_eq!(f(serde_json::json!(112.5)), "112,5");
        assert_eq!(f(serde_json::json!(0.25)), "0,25");
        assert_eq!(f(serde_json::json!(1250.5)), "1.250,5");
        assert_eq!(f(serde_json::json!(-1_234_567)), "-1.234.567");
        assert_eq!(f(serde_json::json!(u64::MAX)), "18.446.744.073.709.551.615");
        assert_eq!(date(jiff::civil::date(2026, 1, 5)), "05/01/2026");
    }

    #[test]
    fn numbers_take_a_decimal_comma_and_dots_between_thousands() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(1000), "1.000");
        assert_eq!(number(-1_234_567), "-1.234.567");
        assert_eq!(decimal(0.126, 2), "0,13");
        assert_eq!(decimal(0.125, 2), "0,13", "a half rounds up");
        assert_eq!(decimal(1234.5, 2), "1.234,50");
        assert_eq!(decimal(1234.6, 0), "1.235");
        assert_eq!(decimal(-0.01, 1), "0,0", "no negative zero");
        assert_eq!(decimal(-2.26, 1), "-2,3");
        assert_eq!(decimal(f64::NAN, 1), "");
        assert_eq!(rate(0.875), "87,5");
        assert_eq!(rate(1.0), "100,0");
        assert_eq!(rate(0.0), "0,0");
        assert_eq!(rate(2.0 / 3.0), "66,7");
    }

    #[test]
    fn the_day_turns_at_midnight_in_vietnam_not_in_utc() {
        let at = |t: &str| when(t.parse().expect("instant"));
        // 16:59 UTC is 23:59 the same day in Hà Nội; a minute later it is tomorrow there.
        assert_eq!(at("2026-12-31T16:59:00Z"), "31/12/2026 23:59");
        assert_eq!(at("2026-12-31T17:00:00Z"), "01/01/2027 00:00");
        // Just after midnight UTC it has been morning in Vietnam for seven hours.
        assert_eq!(at("2027-01-01T00:00:00Z"), "01/01/2027 07:00");
        // Seconds are dropped, never rounded up into the next minute or day.
        assert_eq!(at("2026-12-31T16:59:59.999Z"), "31/12/2026 23:59");
    }
}
