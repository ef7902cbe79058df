use super::*;
use jiff::civil::date;

fn no_files(_: &str, name: &str) -> Result<(String, String), String> {
    Err(format!("no file {name}"))
}

fn load_str(text: &str) -> Result<CalendarSpec, Error> {
    load(text, "test.yaml", &mut no_files)
}

#[test]
fn the_national_calendar_loads_with_its_decisions() {
    let spec = load_str(VN_NATIONAL).unwrap();
    assert_eq!(spec.time_zone_name, "Asia/Ho_Chi_Minh");
    assert!(spec.days_off.contains_key(&date(2024, 4, 29)));
    assert!(spec.make_up_days.contains_key(&date(2024, 5, 4)));
    assert!(spec.days_off.contains_key(&date(2025, 1, 27)));
    assert!(spec.days_off.contains_key(&date(2025, 5, 2)));
    assert!(spec.make_up_days.contains_key(&date(2025, 4, 26)));
    assert!(spec.days_off.contains_key(&date(2026, 8, 31)));
    assert!(spec.make_up_days.contains_key(&date(2026, 8, 22)));
    assert_eq!(spec.weekdays[5], DayHours::default(), "Saturday closed");
    assert_eq!(spec.same_day_cutoff, Some("15:00".parse().unwrap()));
}

#[test]
fn an_agency_inherits_and_overrides() {
    let agency = "name: Bộ phận một cửa\nextends: vn-national\noffice_hours:\n  standard: { morning: \"07:30-11:30\", afternoon: \"13:30-17:30\" }\n  saturday: { morning: \"07:30-11:30\" }\n";
    let spec = load_str(agency).unwrap();
    assert_eq!(spec.name, "Bộ phận một cửa");
    assert_eq!(
        spec.weekdays[0].windows(),
        vec![Window::hm(7, 30, 11, 30), Window::hm(13, 30, 17, 30)]
    );
    assert_eq!(spec.weekdays[5].windows(), vec![Window::hm(7, 30, 11, 30)]);
    assert!(
        spec.make_up_days.contains_key(&date(2026, 8, 22)),
        "national decisions are inherited"
    );
}

#[test]
fn a_province_file_resolved_by_path() {
    let province = "name: Đà Nẵng\nextends: vn-national\ndecisions:\n  - year: 2026\n    days_off: [{ date: 2026-03-29, name: Ngày giải phóng Đà Nẵng }]\n";
    let agency = "name: Sở Xây dựng\nextends: danang.yaml\n";
    let mut resolve = |from: &str, name: &str| {
        assert_eq!(from, "agency.yaml");
        if name == "danang.yaml" {
            Ok((province.to_string(), "danang.yaml".to_string()))
        } else {
            Err("missing".to_string())
        }
    };
    let spec = load(agency, "agency.yaml", &mut resolve).unwrap();
    assert_eq!(
        spec.days_off.get(&date(2026, 3, 29)).map(String::as_str),
        Some("Ngày giải phóng Đà Nẵng")
    );
}

#[test]
fn overlapping_windows_are_named() {
    let bad = "name: x\noffice_hours:\n  monday: { morning: \"08:00-12:00\", afternoon: \"11:30-17:00\" }\n";
    let e = load_str(bad).unwrap_err();
    assert_eq!(
        e.to_string(),
        "test.yaml: office hours of monday: morning 08:00-12:00 overlaps afternoon 11:30-17:00"
    );
}

#[test]
fn a_make_up_day_must_be_a_rest_day() {
    let bad = "name: x\ndecisions:\n  - year: 2026\n    make_up_days: [{ date: 2026-08-19, name: làm bù }]\n";
    let e = load_str(bad).unwrap_err();
    assert_eq!(
        e.to_string(),
        "test.yaml: make-up day 2026-08-19 is a wednesday, already a working day (only a rest day can be made a working day)"
    );
    let clash = "name: x\ndecisions:\n  - year: 2026\n    make_up_days: [{ date: 2026-04-26, name: làm bù }]\n";
    assert!(matches!(load_str(clash), Err(Error::MakeUpIsDayOff { .. })));
}

#[test]
fn bad_dates_and_times_are_named() {
    let bad =
        "name: x\ndecisions:\n  - year: 2026\n    days_off: [{ date: 2026-02-30, name: x }]\n";
    let e = load_str(bad).unwrap_err().to_string();
    assert!(e.contains("invalid date '2026-02-30'"), "{e}");
    let bad = "name: x\nsame_day_cutoff: \"25:00\"\n";
    assert!(
        load_str(bad)
            .unwrap_err()
            .to_string()
            .contains("invalid time '25:00'")
    );
    let bad =
        "name: x\ndecisions:\n  - year: 2025\n    days_off: [{ date: 2026-01-02, name: x }]\n";
    assert!(matches!(load_str(bad), Err(Error::WrongYear { .. })));
    let bad = "name: x\nofice_hours: {}\n";
    assert!(
        load_str(bad)
            .unwrap_err()
            .to_string()
            .contains("unknown field `ofice_hours`")
    );
}

#[test]
fn cycles_and_missing_parents_are_errors() {
    let mut resolve =
        |_: &str, name: &str| Ok((format!("name: {name}\nextends: a.yaml\n"), name.to_string()));
    let e = load("name: a\nextends: b.yaml\n", "a.yaml", &mut resolve).unwrap_err();
    assert!(matches!(e, Error::Cycle(_)), "{e}");
    let e = load_str("name: a\nextends: nowhere.yaml\n").unwrap_err();
    assert!(matches!(e, Error::Extends { .. }), "{e}");
}

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn the_committed_schema_is_fresh() {
    let committed: serde_json::Value =
        serde_json::from_str(&repo_file("schemas/calendar.schema.json")).unwrap();
    assert_eq!(
        committed,
        json_schema(),
        "run `motcua calendar schema > schemas/calendar.schema.json`"
    );
}

#[test]
fn shipped_and_fixture_calendars_match_the_schema() {
    let validator = jsonschema::validator_for(&json_schema()).unwrap();
    for path in [
        "calendars/vn-national.yaml",
        "tests/fixtures/calendars/danang.yaml",
        "tests/fixtures/calendars/danang-one-stop-desk.yaml",
    ] {
        let doc: serde_json::Value = serde_yaml::from_str(&repo_file(path)).unwrap();
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{path}: {errors:?}");
    }
    let bad: serde_json::Value =
        serde_yaml::from_str(&repo_file("tests/fixtures/calendars/bad-date.yaml")).unwrap();
    assert!(
        validator.is_valid(&bad),
        "an impossible date has a valid shape; load() refuses it"
    );
    let typo = serde_json::json!({ "name": "x", "office_hours": { "monday": { "morning": "8:00-12:00" } } });
    assert!(!validator.is_valid(&typo));
}
