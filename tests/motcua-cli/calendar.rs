//! The `motcua calendar` command line: an exact contract that scripts depend on. These tests run
//! the real binary.

use std::path::PathBuf;
use std::process::Command;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn motcua(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("calendar")
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn ok(args: &[&str]) -> String {
    let r = motcua(args);
    assert_eq!(r.code, Some(0), "{args:?}: {}", r.stderr);
    r.stdout
}

fn fails(args: &[&str]) -> String {
    let r = motcua(args);
    assert_eq!(
        r.code,
        Some(2),
        "{args:?} should exit 2, printed {}",
        r.stdout
    );
    assert!(r.stdout.is_empty(), "nothing on stdout when failing");
    r.stderr
}

fn fixture(name: &str) -> String {
    let p: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "../../tests/fixtures/calendars",
        name,
    ]
    .iter()
    .collect();
    p.display().to_string()
}

#[test]
fn lunar_dates() {
    assert_eq!(ok(&["lunar", "2030-02-02"]), "2030-01-01\n");
    assert_eq!(ok(&["lunar", "1985-01-21"]), "1985-01-01\n");
    assert_eq!(ok(&["lunar", "2007-02-17"]), "2007-01-01\n");
    assert_eq!(ok(&["lunar", "2026-04-26"]), "2026-03-10\n");
    assert_eq!(ok(&["lunar", "2023-03-22"]), "2023-02-01 leap\n");
}

#[test]
fn lunar_refuses_impossible_dates() {
    assert!(fails(&["lunar", "2026-02-30"]).contains("invalid date '2026-02-30'"));
    assert!(fails(&["lunar", "26-2-3"]).contains("expected YYYY-MM-DD"));
    assert!(fails(&["lunar", "2150-01-01"]).contains("outside the years 1900–2100"));
}

#[test]
fn holidays_of_2026_from_the_national_calendar() {
    let expected = "\
2026-01-01\tTết Dương lịch
2026-02-16\tTết Nguyên đán
2026-02-17\tTết Nguyên đán
2026-02-18\tTết Nguyên đán
2026-02-19\tTết Nguyên đán
2026-02-20\tTết Nguyên đán
2026-04-26\tGiỗ Tổ Hùng Vương
2026-04-27\tnghỉ bù Giỗ Tổ Hùng Vương
2026-04-30\tNgày Chiến thắng
2026-05-01\tNgày Quốc tế Lao động
2026-08-31\tnghỉ hoán đổi (làm bù thứ Bảy 22/8)
2026-09-01\tQuốc khánh
2026-09-02\tQuốc khánh
2026-11-24\tNgày Văn hóa Việt Nam
";
    assert_eq!(ok(&["holidays", "--year", "2026"]), expected);
}

#[test]
fn holidays_of_2024_and_2025_carry_the_decisions() {
    let y2024 = ok(&["holidays", "--year", "2024"]);
    // Tết Giáp Thìn: Sat 10 Feb in lieu on Thu 8 Feb, Sun 11 Feb on Wed 14 Feb.
    assert!(y2024.contains("2024-02-08\tnghỉ bù Tết Nguyên đán\n"));
    assert!(y2024.contains("2024-02-14\tnghỉ bù Tết Nguyên đán\n"));
    assert!(!y2024.contains("2024-02-15"));
    assert!(y2024.contains("2024-04-29\t"), "Monday 29 Apr swapped off");
    assert!(
        !y2024.contains("2024-05-04"),
        "Saturday 4 May is worked, not a day off"
    );
    assert!(y2024.contains("2024-09-03\tQuốc khánh"));
    let y2025 = ok(&["holidays", "--year", "2025"]);
    assert!(y2025.contains("2025-01-27\tnghỉ bù Tết Nguyên đán\n"));
    assert!(
        y2025.contains("2025-02-01\tTết Nguyên đán\n"),
        "a holiday on Saturday is listed"
    );
    assert!(y2025.contains("2025-05-02\t"));
    assert!(!y2025.contains("2025-11-24"), "Culture Day starts in 2026");
    let dates: Vec<&str> = y2025.lines().map(|l| &l[..10]).collect();
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted);
}

#[test]
fn holidays_of_a_province_calendar_file() {
    let out = ok(&[
        "holidays",
        "--year",
        "2026",
        "--calendar",
        &fixture("danang.yaml"),
    ]);
    assert!(out.contains("2026-03-30\tNgày nghỉ của tỉnh (fixture)\n"));
    assert!(
        out.contains("2026-02-17\tTết Nguyên đán\n"),
        "national holidays inherited"
    );
}

#[test]
fn add_working_days_and_hours() {
    let from = "2026-11-16T09:00:00+07:00";
    assert_eq!(
        ok(&["add", "--from", from, "--duration", "1 working days"]),
        "2026-11-17T09:00:00+07:00\n"
    );
    assert_eq!(
        ok(&["add", "--from", from, "--duration", "1 working day"]),
        "2026-11-17T09:00:00+07:00\n"
    );
    assert_eq!(
        ok(&[
            "add",
            "--from",
            "2026-11-16T08:00:00+07:00",
            "--duration",
            "4 working hours"
        ]),
        "2026-11-16T12:00:00+07:00\n"
    );
    assert_eq!(
        ok(&[
            "add",
            "--from",
            "2026-11-23T09:00:00+07:00",
            "--duration",
            "0.5 working days"
        ]),
        "2026-11-23T14:00:00+07:00\n"
    );
    // Across Culture Day (Tue 24 Nov 2026).
    assert_eq!(
        ok(&[
            "add",
            "--from",
            "2026-11-23T09:00:00+07:00",
            "--duration",
            "3 working days"
        ]),
        "2026-11-27T09:00:00+07:00\n"
    );
    // An instant given in UTC is answered in Vietnamese time.
    assert_eq!(
        ok(&[
            "add",
            "--from",
            "2026-11-16T02:00:00Z",
            "--duration",
            "1 working day"
        ]),
        "2026-11-17T09:00:00+07:00\n"
    );
}

#[test]
fn add_calendar_days() {
    // Construction permit, 15 days, received Thu 5 Nov 2026: ends at 24:00 on Fri 20 Nov.
    assert_eq!(
        ok(&[
            "add",
            "--from",
            "2026-11-05T10:00:00+07:00",
            "--duration",
            "15 days"
        ]),
        "2026-11-21T00:00:00+07:00\n"
    );
}

#[test]
fn add_with_an_agency_calendar() {
    // Open Saturday 07:30–11:30: 4 working hours from Saturday 07:30 end at 11:30.
    let cal = fixture("danang-one-stop-desk.yaml");
    assert_eq!(
        ok(&[
            "add",
            "--from",
            "2026-11-21T07:30:00+07:00",
            "--duration",
            "4 working hours",
            "--calendar",
            &cal,
        ]),
        "2026-11-21T11:30:00+07:00\n"
    );
    // Saturday morning counts 4 hours; the province's day off (Mon 30 Mar 2026) is inherited.
    assert_eq!(
        ok(&[
            "add",
            "--from",
            "2026-03-28T07:30:00+07:00",
            "--duration",
            "1 working day",
            "--calendar",
            &cal,
        ]),
        "2026-03-31T11:30:00+07:00\n"
    );
}

#[test]
fn elapsed_working_hours() {
    assert_eq!(
        ok(&[
            "elapsed",
            "--from",
            "2026-11-16T10:00:00+07:00",
            "--to",
            "2026-11-17T14:30:00+07:00"
        ]),
        "11.5\n"
    );
    assert_eq!(
        ok(&[
            "elapsed",
            "--from",
            "2026-11-16T08:00:00+07:00",
            "--to",
            "2026-11-16T17:00:00+07:00"
        ]),
        "8\n"
    );
    assert_eq!(
        ok(&[
            "elapsed",
            "--from",
            "2026-11-16T08:00:00+07:00",
            "--to",
            "2026-11-16T08:15:00+07:00"
        ]),
        "0.25\n"
    );
    assert_eq!(
        ok(&[
            "elapsed",
            "--from",
            "2026-02-13T17:00:00+07:00",
            "--to",
            "2026-02-23T08:00:00+07:00"
        ]),
        "0\n",
        "nothing elapses over Tết"
    );
    assert_eq!(
        ok(&[
            "elapsed",
            "--from",
            "2026-11-16T12:00:00+07:00",
            "--to",
            "2026-11-16T08:00:00+07:00"
        ]),
        "-4\n"
    );
}

#[test]
fn bad_input_exits_2_naming_the_problem() {
    let from = "2026-11-16T09:00:00+07:00";
    let e = fails(&["add", "--from", from, "--duration", "3 fortnights"]);
    assert!(e.contains("unknown unit 'fortnights'"), "{e}");
    let e = fails(&[
        "add",
        "--from",
        "2026-02-30T09:00:00+07:00",
        "--duration",
        "1 working day",
    ]);
    assert!(e.contains("--from '2026-02-30T09:00:00+07:00'"), "{e}");
    let e = fails(&["elapsed", "--from", from, "--to", "yesterday"]);
    assert!(e.contains("--to 'yesterday'"), "{e}");
    let e = fails(&[
        "holidays",
        "--year",
        "2026",
        "--calendar",
        &fixture("bad-overlapping-windows.yaml"),
    ]);
    assert!(
        e.contains("office hours of monday: morning 08:00-12:30 overlaps afternoon 12:00-17:00"),
        "{e}"
    );
    let e = fails(&[
        "holidays",
        "--year",
        "2026",
        "--calendar",
        &fixture("bad-make-up-on-working-day.yaml"),
    ]);
    assert!(
        e.contains("make-up day 2026-08-19 is a wednesday, already a working day"),
        "{e}"
    );
    let e = fails(&[
        "holidays",
        "--year",
        "2026",
        "--calendar",
        &fixture("bad-date.yaml"),
    ]);
    assert!(
        e.contains("bad-date.yaml") && e.contains("invalid date '2026-02-30'"),
        "{e}"
    );
    let e = fails(&[
        "holidays",
        "--year",
        "2026",
        "--calendar",
        &fixture("bad-extends-missing.yaml"),
    ]);
    assert!(e.contains("no-such-province.yaml"), "{e}");
    let e = fails(&[
        "holidays",
        "--year",
        "2026",
        "--calendar",
        &fixture("absent.yaml"),
    ]);
    assert!(e.contains("cannot read calendar file"), "{e}");
    fails(&["holidays", "--year", "2200"]);
}

#[test]
fn schema_is_printed_and_committed() {
    let printed = ok(&["schema"]);
    let committed = std::fs::read_to_string(
        [
            env!("CARGO_MANIFEST_DIR"),
            "../../schemas/calendar.schema.json",
        ]
        .iter()
        .collect::<PathBuf>(),
    )
    .unwrap();
    assert_eq!(
        printed, committed,
        "schemas/calendar.schema.json is stale: run `motcua calendar schema > schemas/calendar.schema.json`"
    );
}
