use super::*;
use jiff::civil::date;
use std::sync::LazyLock;

static VN: LazyLock<Calendar> = LazyLock::new(Calendar::vietnam_default);

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn add(from: &str, d: &str) -> String {
    VN.format(VN.add(at(from), d.parse().unwrap()).unwrap())
}

#[test]
fn one_working_day_is_the_same_time_next_working_day() {
    assert_eq!(
        add("2026-11-16T09:00:00+07:00", "1 working day"),
        "2026-11-17T09:00:00+07:00"
    );
    assert_eq!(
        add("2026-11-16T08:00:00+07:00", "1 working day"),
        "2026-11-16T17:00:00+07:00",
        "a full day from the opening ends at the close, not the next morning"
    );
}

#[test]
fn the_due_instant_is_when_the_last_working_minute_is_used_up() {
    assert_eq!(
        add("2026-11-16T08:00:00+07:00", "4 working hours"),
        "2026-11-16T12:00:00+07:00"
    );
    assert_eq!(
        add("2026-11-16T12:30:00+07:00", "1 working hour"),
        "2026-11-16T14:00:00+07:00",
        "received over lunch: counting starts at 13:00"
    );
    assert_eq!(
        add("2026-11-20T18:00:00+07:00", "1 working day"),
        "2026-11-23T17:00:00+07:00",
        "received Friday evening: counting starts Monday 08:00"
    );
    assert_eq!(
        add("2026-11-21T10:00:00+07:00", "1 working hour"),
        "2026-11-23T09:00:00+07:00",
        "received on Saturday"
    );
}

#[test]
fn fractions_of_a_day_are_exact() {
    assert_eq!(
        add("2026-11-16T08:00:00+07:00", "0.5 working days"),
        "2026-11-16T12:00:00+07:00"
    );
    assert_eq!(
        add("2026-11-16T13:00:00+07:00", "0.25 working days"),
        "2026-11-16T15:00:00+07:00"
    );
    let mut t = at("2026-11-16T09:00:00+07:00");
    for _ in 0..4 {
        t = VN.add(t, "0.25 working days".parse().unwrap()).unwrap();
    }
    assert_eq!(VN.format(t), "2026-11-17T09:00:00+07:00");
}

#[test]
fn tet_2026_is_skipped() {
    // Off Mon 16 (eve) to Fri 20 Feb, then the weekend.
    assert_eq!(
        add("2026-02-13T09:00:00+07:00", "1 working day"),
        "2026-02-23T09:00:00+07:00"
    );
}

#[test]
fn decided_swaps_and_make_up_saturdays_count() {
    // 2026: Saturday 22 Aug is worked, Monday 31 Aug is off, then 1–2 Sep Quốc khánh.
    assert_eq!(
        add("2026-08-21T09:00:00+07:00", "1 working day"),
        "2026-08-22T09:00:00+07:00"
    );
    assert_eq!(
        add("2026-08-28T09:00:00+07:00", "1 working day"),
        "2026-09-03T09:00:00+07:00"
    );
    // 2025: Saturday 26 Apr worked; 30 Apr, 1 May and the swapped Friday 2 May off.
    assert_eq!(
        add("2025-04-25T09:00:00+07:00", "1 working day"),
        "2025-04-26T09:00:00+07:00"
    );
    assert_eq!(
        add("2025-04-29T09:00:00+07:00", "1 working day"),
        "2025-05-05T09:00:00+07:00"
    );
    // 2024: Monday 29 Apr off, Saturday 4 May worked.
    assert_eq!(
        add("2024-04-26T09:00:00+07:00", "1 working day"),
        "2024-05-02T09:00:00+07:00"
    );
    assert_eq!(
        add("2024-05-03T09:00:00+07:00", "1 working day"),
        "2024-05-04T09:00:00+07:00"
    );
}

#[test]
fn vietnamese_culture_day_is_off_from_2026() {
    assert_eq!(
        add("2026-11-23T09:00:00+07:00", "1 working day"),
        "2026-11-25T09:00:00+07:00"
    );
    assert_eq!(
        add("2025-11-21T09:00:00+07:00", "1 working day"),
        "2025-11-24T09:00:00+07:00"
    );
}

#[test]
fn calendar_days_follow_the_civil_code() {
    // Received Thu 5 Nov: counting starts Fri 6, the 15th day is Fri 20, ending at 24:00.
    assert_eq!(
        add("2026-11-05T10:00:00+07:00", "15 days"),
        "2026-11-21T00:00:00+07:00"
    );
    // The 5th day is Saturday 7 Nov: the period ends at the end of Monday 9 Nov.
    assert_eq!(
        add("2026-11-02T10:00:00+07:00", "5 days"),
        "2026-11-10T00:00:00+07:00"
    );
    // The 10th day is Tết (17 Feb 2026): the next working day is Monday 23 Feb.
    assert_eq!(
        add("2026-02-07T10:00:00+07:00", "10 days"),
        "2026-02-24T00:00:00+07:00"
    );
}

#[test]
fn elapsed_working_time_measures_a_step() {
    let e = VN
        .elapsed(
            at("2026-11-16T10:00:00+07:00"),
            at("2026-11-17T14:30:00+07:00"),
        )
        .unwrap();
    assert_eq!(e, SignedDuration::from_mins(11 * 60 + 30));
    let back = VN
        .elapsed(
            at("2026-11-17T14:30:00+07:00"),
            at("2026-11-16T10:00:00+07:00"),
        )
        .unwrap();
    assert_eq!(back, -e);
    // Over the whole of Tết nothing elapses.
    let tet = VN
        .elapsed(
            at("2026-02-13T17:00:00+07:00"),
            at("2026-02-23T08:00:00+07:00"),
        )
        .unwrap();
    assert_eq!(tet, SignedDuration::ZERO);
}

#[test]
fn working_instants() {
    let next = |s: &str| VN.format(VN.next_working_instant(at(s)).unwrap());
    assert_eq!(
        next("2026-11-21T10:00:00+07:00"),
        "2026-11-23T08:00:00+07:00"
    );
    assert_eq!(
        next("2026-11-16T12:15:00+07:00"),
        "2026-11-16T13:00:00+07:00"
    );
    assert_eq!(
        next("2026-11-16T09:00:00+07:00"),
        "2026-11-16T09:00:00+07:00"
    );
    assert_eq!(
        next("2026-11-16T17:00:00+07:00"),
        "2026-11-17T08:00:00+07:00"
    );
    let working = |s: &str| VN.is_working_time(at(s)).unwrap();
    assert!(working("2026-11-16T08:00:00+07:00"));
    assert!(working("2026-11-16T11:59:59+07:00"));
    assert!(!working("2026-11-16T12:00:00+07:00"));
    assert!(!working("2026-11-16T17:00:00+07:00"));
    assert!(!working("2026-02-17T09:00:00+07:00"), "Tết");
    assert!(
        VN.is_working_day(date(2026, 8, 22)).unwrap(),
        "make-up Saturday"
    );
    assert!(!VN.is_working_day(date(2026, 8, 31)).unwrap());
}

#[test]
fn same_day_cut_off_at_15_00() {
    let due = |s: &str| VN.format(VN.same_day_due(at(s)).unwrap());
    assert_eq!(
        due("2026-11-16T14:59:00+07:00"),
        "2026-11-16T17:00:00+07:00"
    );
    assert_eq!(
        due("2026-11-16T15:00:00+07:00"),
        "2026-11-16T17:00:00+07:00"
    );
    assert_eq!(
        due("2026-11-16T15:30:00+07:00"),
        "2026-11-17T17:00:00+07:00"
    );
    assert_eq!(
        due("2026-11-20T15:30:00+07:00"),
        "2026-11-23T17:00:00+07:00",
        "Friday after the cut-off: Monday"
    );
    assert_eq!(
        VN.format(VN.counting_start(at("2026-11-16T15:30:00+07:00")).unwrap()),
        "2026-11-17T08:00:00+07:00"
    );
}

#[test]
fn holidays_of_2025_include_decisions_and_days_in_lieu() {
    let h: Vec<(Date, String)> = VN
        .holidays(2025)
        .into_iter()
        .map(|h| (h.date, h.name))
        .collect();
    let dates: Vec<Date> = h.iter().map(|(d, _)| *d).collect();
    assert!(dates.contains(&date(2025, 1, 27)), "29 Tết given in lieu");
    assert!(
        dates.contains(&date(2025, 2, 1)),
        "mùng 4 on a Saturday is listed"
    );
    assert!(
        !dates.contains(&date(2025, 2, 3)),
        "the rule's day in lieu was moved"
    );
    assert!(dates.contains(&date(2025, 5, 2)));
    assert!(dates.contains(&date(2025, 4, 7)), "Giỗ Tổ Hùng Vương");
    assert!(dates.contains(&date(2025, 9, 1)) && dates.contains(&date(2025, 9, 2)));
    assert!(!dates.contains(&date(2025, 11, 24)));
    assert!(dates.windows(2).all(|w| w[0] < w[1]), "sorted");
}

#[test]
fn an_agency_open_on_saturday_morning() {
    let yaml = "name: Bộ phận một cửa phường\nextends: vn-national\noffice_hours:\n  saturday: { morning: \"08:00-12:00\" }\n";
    let cal = Calendar::from_yaml(yaml, "phuong.yaml", &mut |_, _| Err("none".into())).unwrap();
    let due = cal
        .add(
            at("2026-11-21T08:00:00+07:00"),
            "4 working hours".parse().unwrap(),
        )
        .unwrap();
    assert_eq!(cal.format(due), "2026-11-21T12:00:00+07:00");
    assert_eq!(cal.working_day_length(), SignedDuration::from_hours(8));
}

#[test]
fn instants_outside_the_calendar_are_refused() {
    assert!(matches!(
        VN.add(
            at("2101-01-05T09:00:00+07:00"),
            "1 working day".parse().unwrap()
        ),
        Err(Error::OutOfRange(_))
    ));
    assert!(matches!(
        VN.add(
            at("2100-12-31T09:00:00+07:00"),
            "5 working days".parse().unwrap()
        ),
        Err(Error::OutOfRange(_))
    ));
}

#[test]
fn a_calendar_is_shared_across_threads() {
    fn shared<T: Send + Sync + Clone>() {}
    shared::<Calendar>();
}

/// An agency with uneven hours (7.5-hour standard day, Saturday mornings) for the properties.
static AGENCY: LazyLock<Calendar> = LazyLock::new(|| {
    let yaml = "name: uneven\nextends: vn-national\noffice_hours:\n  standard: { morning: \"07:30-11:30\", afternoon: \"13:30-17:00\" }\n  friday: { morning: \"07:30-11:30\" }\n  saturday: { afternoon: \"14:00-16:15\" }\n";
    Calendar::from_yaml(yaml, "uneven.yaml", &mut |_, _| Err("none".into())).unwrap()
});

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Instants from 2024 to 2030, to the millisecond.
    fn instant() -> impl Strategy<Value = Timestamp> {
        let start = at("2024-01-01T00:00:00+07:00").as_millisecond();
        (0i64..7 * 365 * 86_400_000)
            .prop_map(move |ms| Timestamp::from_millisecond(start + ms).unwrap())
    }

    /// Working durations up to 200 working days, in thousandths of a day or hour.
    fn working() -> impl Strategy<Value = Duration> {
        prop_oneof![
            (1u64..200_000).prop_map(|m| Duration::new(m, Unit::WorkingDays)),
            (1u64..100_000).prop_map(|m| Duration::new(m, Unit::WorkingHours)),
        ]
    }

    fn calendar() -> impl Strategy<Value = &'static Calendar> {
        prop_oneof![Just(&*VN), Just(&*AGENCY)]
    }

    proptest! {
        #[test]
        fn adding_in_two_steps_is_adding_the_sum(cal in calendar(), t in instant(), a in working(), b in working()) {
            let ms = |d| cal.working_time(d).unwrap();
            let two_steps = cal.add(cal.add(t, a).unwrap(), b).unwrap();
            prop_assert_eq!(two_steps, cal.add_working(t, ms(a) + ms(b)).unwrap());
        }

        #[test]
        fn elapsed_measures_what_was_added(cal in calendar(), t in instant(), d in working()) {
            let due = cal.add(t, d).unwrap();
            prop_assert_eq!(cal.elapsed(t, due).unwrap(), cal.working_time(d).unwrap());
        }

        #[test]
        fn longer_periods_never_end_earlier(cal in calendar(), t in instant(), d in working(), extra in 0u64..5_000) {
            let longer = Duration::new(d.milli + extra, d.unit);
            prop_assert!(cal.add(t, d).unwrap() <= cal.add(t, longer).unwrap());
            let days = Duration::calendar_days(d.milli % 60);
            let more_days = Duration::calendar_days(d.milli % 60 + extra % 30);
            prop_assert!(cal.add(t, days).unwrap() <= cal.add(t, more_days).unwrap());
        }

        #[test]
        fn a_due_instant_is_never_inside_non_working_time(cal in calendar(), t in instant(), d in working()) {
            let due = cal.add(t, d).unwrap();
            prop_assert!(due > t);
            // The last working millisecond used is just before the due instant; the due
            // instant itself is working time or the close of a window.
            let last_ms = due - SignedDuration::from_millis(1);
            prop_assert!(cal.is_working_time(last_ms).unwrap(), "{} ends after non-working time", cal.format(due));
        }

        #[test]
        fn calendar_days_end_at_midnight_after_a_working_day(cal in calendar(), t in instant(), n in 1u64..60) {
            let due = cal.add(t, Duration::calendar_days(n)).unwrap();
            let local = cal.time_zone().to_datetime(due);
            prop_assert_eq!(local.time(), jiff::civil::Time::midnight());
            prop_assert!(cal.is_working_day(local.date().yesterday().unwrap()).unwrap());
        }

        #[test]
        fn the_next_working_instant_is_working_time(cal in calendar(), t in instant()) {
            let n = cal.next_working_instant(t).unwrap();
            prop_assert!(n >= t);
            prop_assert!(cal.is_working_time(n).unwrap());
            prop_assert_eq!(cal.elapsed(t, n).unwrap(), SignedDuration::ZERO);
        }
    }
}
