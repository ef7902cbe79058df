use jiff::civil::date;

use super::counters::{EARLY, LATE, ON_TIME, OPEN_NOT_DUE, PAUSED, RECEIVED, WORKING_MILLI_SUM};
use super::*;

/// A dossier of the construction permit received online on 1 July 2025 at 16:30 in Vietnam,
/// sitting in the desk's step.
fn dossier() -> Dossier {
    serde_json::from_value(serde_json::json!({
        "code": "000.17.22.H56-250701-0001",
        "procedure": "cap-phep-xay-dung",
        "procedure_version": "1",
        "procedure_hash": "00",
        "agency": "000.17.22.H56",
        "applicant": {"id": "079090001234", "name": "Nguyễn Văn An"},
        "channel": "online",
        "data": {},
        "documents": [],
        "tokens": [{"state": "tiep_nhan", "department": "bo_phan_mot_cua",
                    "entered_at": "2025-07-01T09:30:00Z"}],
        "clock": {"received_at": "2025-07-01T09:30:00Z", "due_at": "2025-07-22T10:00:00Z"},
        "status": 2,
        "version": 1,
        "created_at": "2025-07-01T09:30:00Z",
        "updated_at": "2025-07-01T09:30:00Z",
    }))
    .expect("a dossier")
}

fn token(state: &str, department: Option<&str>, waiting: bool) -> Token {
    Token {
        state: state.into(),
        department: department.map(String::from),
        entered_at: "2025-07-02T02:00:00Z".parse().expect("instant"),
        due_at: None,
        lineage: vec![],
        waiting,
        alarms: vec![],
        overdue_since: None,
        since_version: None,
        assignee: None,
    }
}

#[test]
fn days_are_local_days_in_vietnam() {
    let f = Facts::of(&dossier()).expect("counted");
    assert_eq!(f.received, date(2025, 7, 1));
    // 17:30 UTC is half past midnight the next day in Đà Nẵng.
    let late_evening = "2025-07-01T17:30:00Z".parse().expect("instant");
    assert_eq!(local_day(late_evening), date(2025, 7, 2));
}

#[test]
fn an_open_dossier_counts_under_the_department_of_its_active_step() {
    let d = dossier();
    let f = Facts::of(&d).expect("counted");
    assert_eq!(f.department, "bo_phan_mot_cua");
    assert_eq!(f.channel, Channel::Online);
    assert_eq!(
        f.state,
        FactState::Open {
            paused: false,
            overdue: false
        }
    );

    // Parallel checks in two departments: the smallest id, whichever branch moved first.
    let mut fork = d.clone();
    fork.tokens = vec![
        token("quy_hoach", Some("phong_tnmt"), false),
        token("ket_cau", Some("phong_qlxd"), false),
    ];
    assert_eq!(
        Facts::of(&fork).map(|f| f.department).as_deref(),
        Some("phong_qlxd")
    );
    fork.tokens.reverse();
    assert_eq!(
        Facts::of(&fork).map(|f| f.department).as_deref(),
        Some("phong_qlxd")
    );

    // One branch waits at the join, the other on the applicant: the waiting branch's.
    let mut waiting = d.clone();
    waiting.tokens = vec![
        token("tong_hop", Some("phong_qlxd"), true),
        token("cho_bo_sung_ket_cau", None, false),
    ];
    assert_eq!(
        Facts::of(&waiting).map(|f| f.department).as_deref(),
        Some("phong_qlxd")
    );

    // Waiting on the applicant alone: no department, as in the work lists.
    let mut applicant = d;
    applicant.tokens = vec![token("cho_bo_sung", None, false)];
    applicant.clock.paused_since = Some("2025-07-03T02:00:00Z".parse().expect("instant"));
    let f = Facts::of(&applicant).expect("counted");
    assert_eq!(f.department, "");
    assert_eq!(
        f.state,
        FactState::Open {
            paused: true,
            overdue: false
        }
    );
}

#[test]
fn a_resolved_dossier_counts_its_class_day_department_and_working_time() {
    let mut d = dossier();
    d.clock.resolved = Some(crate::dossier::Resolution {
        // 18:00 UTC on 21 July: 22 July in Vietnam.
        at: "2025-07-21T18:00:00Z".parse().expect("instant"),
        state: "tra_ket_qua".into(),
        class: Class::Early,
        late_because: vec![],
        appointment: "2025-07-22T10:00:00Z".parse().expect("instant"),
        department: Some("phong_qlxd".into()),
        working_milli: 96_000,
    });
    let f = Facts::of(&d).expect("counted");
    assert_eq!(f.department, "phong_qlxd");
    assert_eq!(
        f.state,
        FactState::Ended {
            day: date(2025, 7, 22),
            class: Class::Early,
            working_milli: 96_000,
            rated: None,
        }
    );
}

#[test]
fn a_child_of_a_linked_group_is_not_counted() {
    let mut child = dossier();
    child.parent = Some("000.00.31.H56-250701-0001".into());
    assert_eq!(Facts::of(&child), None);
}

fn counter(
    day: jiff::civil::Date,
    agency: &str,
    channel: Channel,
    slots: &[(usize, i64)],
) -> (Vec<u8>, [i64; SLOTS]) {
    let key = counters::encode_key(&counters::Key {
        day,
        agency: agency.into(),
        procedure: format!("thu-tuc-{agency}"),
        department: String::new(),
        channel,
    });
    let mut v = [0; SLOTS];
    for (slot, n) in slots {
        v[*slot] = *n;
    }
    (key, v)
}

fn july(by: By) -> Query {
    Query {
        from: date(2025, 7, 1),
        to: date(2025, 7, 31),
        by,
    }
}

fn sample() -> Vec<(Vec<u8>, [i64; SLOTS])> {
    vec![
        // Before the period: not counted.
        counter(date(2025, 6, 30), "a", Channel::Desk, &[(RECEIVED, 100)]),
        counter(
            date(2025, 7, 1),
            "a",
            Channel::Online,
            &[
                (RECEIVED, 3),
                (OPEN_NOT_DUE, 1),
                (ON_TIME, 2),
                (WORKING_MILLI_SUM, 24_000),
            ],
        ),
        counter(
            date(2025, 7, 15),
            "a",
            Channel::Desk,
            &[
                (RECEIVED, 1),
                (EARLY, 1),
                (LATE, 1),
                (WORKING_MILLI_SUM, 8_000),
            ],
        ),
        counter(
            date(2025, 7, 31),
            "b",
            Channel::Post,
            &[(RECEIVED, 2), (PAUSED, 2)],
        ),
        // Moved away: nothing left to show.
        counter(date(2025, 7, 20), "c", Channel::Desk, &[]),
        // After the period.
        counter(date(2025, 8, 1), "b", Channel::Post, &[(LATE, 7)]),
    ]
}

#[test]
fn a_report_sums_the_days_of_its_period() {
    let r = aggregate(&july(By::Agency), sample().into_iter()).expect("report");
    let keys: Vec<&str> = r.rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["a", "b"]);
    let a = &r.rows[0];
    assert_eq!(
        (
            a.received,
            a.received_online,
            a.early,
            a.on_time,
            a.late,
            a.ended
        ),
        (4, 3, 1, 2, 1, 4)
    );
    assert_eq!((a.open_not_due, a.open_overdue, a.paused), (1, 0, 0));
    assert_eq!(a.online_share, Some(0.75));
    assert_eq!(a.on_time_rate, Some(0.75));
    // 32 working hours over 4 dossiers: one working day each.
    assert_eq!(a.average_working_days, Some(1.0));
    let b = &r.rows[1];
    assert_eq!((b.received, b.paused, b.ended), (2, 2, 0));
    assert_eq!(
        (b.online_share, b.on_time_rate, b.average_working_days),
        (Some(0.0), None, None)
    );
    assert_eq!((r.total.received, r.total.ended, r.total.paused), (6, 4, 2));
    assert_eq!(r.total.key, TOTAL);

    let by_channel = aggregate(&july(By::Channel), sample().into_iter()).expect("report");
    let keys: Vec<&str> = by_channel.rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["desk", "online", "post"]);
    assert_eq!(by_channel.rows[1].online_share, Some(1.0));
}

#[test]
fn a_report_refuses_a_backward_period_and_a_corrupt_key() {
    let backward = Query {
        from: date(2025, 7, 31),
        to: date(2025, 7, 1),
        by: By::Agency,
    };
    assert!(matches!(
        aggregate(&backward, std::iter::empty()),
        Err(Error::Period { .. })
    ));
    let corrupt = vec![(vec![1, 2, 3], [0; SLOTS])];
    assert!(matches!(
        aggregate(&july(By::Agency), corrupt.into_iter()),
        Err(Error::Corrupt { .. })
    ));
}

#[test]
fn a_report_reads_as_a_table_and_as_json() {
    let mut rows = sample();
    rows.push(counter(
        date(2025, 7, 2),
        "x,\"y\"",
        Channel::Desk,
        &[(RECEIVED, 1)],
    ));
    let r = aggregate(&july(By::Agency), rows.into_iter()).expect("report");

    let table = r.render(Format::Table).expect("table");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "On-time report 2025-07-01 to 2025-07-31, by agency"
    );
    assert!(lines[1].starts_with("agency"), "{table}");
    let a = lines.iter().find(|l| l.starts_with("a ")).expect("row a");
    assert!(a.contains("75.0%"), "{a}");
    assert!(a.contains("1.00"), "{a}");
    assert!(lines.last().is_some_and(|l| l.starts_with("(total)")));
    // Numbers line up on their last digit: every line is as long as the header.
    assert_eq!(lines[1].len(), lines.last().map_or(0, |l| l.len()));

    let json: serde_json::Value =
        serde_json::from_str(&r.render(Format::Json).expect("json")).expect("valid JSON");
    assert_eq!(json["query"]["by"], "agency");
    assert_eq!(json["rows"][0]["key"], "a");
    assert_eq!(json["rows"][0]["on_time_rate"], 0.75);
    assert_eq!(json["rows"][1]["on_time_rate"], serde_json::Value::Null);
    assert_eq!(json["total"]["received"], 7);
    let back: Report = serde_json::from_value(json).expect("reads back");
    assert_eq!(back, r);
}
