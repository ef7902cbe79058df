//! The on-time service report (Decision 766) on a real sled store: a generated workload of
//! thousands of dossiers across procedures, channels and outcomes, every figure of every
//! grouping recounted independently from the raw audit log; and small stories that name the
//! states and dates a figure comes from.

mod recount;
use crate::support;

conformance!();

mod workload;

use std::sync::Arc;

use jiff::civil::{Date, date};
use motcua::Engine;
use motcua::clock::ManualClock;
use motcua::dossier::{Actor, Channel, Dossier};
use motcua::report::{self, By, Facts, Query, Report};
use recount::Counts;
use support::{Harness, act_with, applicant_of, at, citizen, house_permit, officer};
use workload::{APPRAISAL, LINKED, PERMIT, RESIDENCE, SAME_DAY};

fn report(engine: &Engine, from: Date, to: Date, by: By) -> Report {
    report::on_time(engine.store(), &Query { from, to, by }).expect("report")
}

fn counts(r: &Report) -> Vec<(String, Counts)> {
    r.rows
        .iter()
        .map(|row| (row.key.clone(), Counts::of(row)))
        .collect()
}

#[test]
fn every_figure_of_the_report_is_recounted_from_the_audit_log_of_three_thousand_dossiers() {
    let w = workload::run(3_000, 766);
    let store = w.engine.store();
    let defs = recount::definitions();
    let lives = recount::tell(store, &defs, &w.calendar);

    // The recount's own check: each resolution records the working time the calendar gives.
    for (code, t) in &lives {
        if let Some(r) = &t.resolved {
            assert_eq!(r.recorded_milli, r.working_milli, "{code}");
        }
    }

    let periods = [
        (date(2025, 7, 1), date(2025, 8, 31)),
        (date(2025, 7, 1), date(2025, 7, 31)),
        (date(2025, 7, 14), date(2025, 8, 8)),
        // A Saturday: online receipts only, and nothing resolved.
        (date(2025, 7, 19), date(2025, 7, 19)),
        (date(2025, 8, 29), date(2025, 8, 29)),
    ];
    for (from, to) in periods {
        for by in [By::Agency, By::Department, By::Procedure, By::Channel] {
            let q = Query { from, to, by };
            let got = report::on_time(store, &q).expect("report");
            let (rows, total) = recount::expected(&lives, &defs, &q);
            let want: Vec<(String, Counts)> = rows.into_iter().collect();
            assert_eq!(counts(&got), want, "{from}..{to} by {by:?}");
            assert_eq!(
                Counts::of(&got.total),
                total,
                "{from}..{to} by {by:?}: total"
            );
            for (row, (_, c)) in got.rows.iter().zip(&want) {
                recount::assert_shares(row, c);
            }
            recount::assert_shares(&got.total, &total);
        }
    }

    // The counters are what the stored dossiers' facts add up to.
    let mut sums = report::Deltas::new();
    for code in &w.codes {
        let d = w.engine.dossier(code).expect("stored");
        report::deltas(None, Facts::of(&d).as_ref(), &mut sums);
    }
    let whole = Query {
        from: date(2025, 7, 1),
        to: date(2025, 8, 31),
        by: By::Department,
    };
    let from_facts = report::aggregate(&whole, sums.into_iter()).expect("report");
    assert_eq!(from_facts, report::on_time(store, &whole).expect("report"));

    // The workload reached every outcome, channel and procedure the report tells apart.
    let all = report(&w.engine, date(2025, 7, 1), date(2025, 8, 31), By::Channel);
    let t = &all.total;
    let submitted = lives.values().filter(|l| l.submitted).count() as i64;
    assert_eq!(t.received, submitted);
    assert!(
        lives.len() as i64 > submitted,
        "linked children were started"
    );
    for (what, n) in [
        ("early", t.early),
        ("on time", t.on_time),
        ("late", t.late),
        ("open not due", t.open_not_due),
        ("open overdue", t.open_overdue),
        ("paused", t.paused),
        ("very satisfied", t.very_satisfied),
        ("satisfied", t.satisfied),
        ("not satisfied", t.not_satisfied),
    ] {
        assert!(n >= 20, "{what}: only {n} of {}", t.received);
    }
    let keys: Vec<&str> = all.rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["desk", "online", "post"]);
    let by_procedure = report(
        &w.engine,
        date(2025, 7, 1),
        date(2025, 8, 31),
        By::Procedure,
    );
    let keys: Vec<&str> = by_procedure.rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, [PERMIT, SAME_DAY, LINKED, APPRAISAL, RESIDENCE]);
}

/// A desk serving the engine fixtures and the deadline fixture on a fresh store.
fn desk(now: &str) -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(ManualClock::new(at(now)));
    let engine = workload::engine_on(dir.path(), clock.clone());
    Harness { dir, clock, engine }
}

/// Moves the clock to `now` and fires what is due.
fn at_time(h: &Harness, now: &str) {
    h.now(now);
    h.engine.fire_due(at(now)).expect("timers fire");
}

fn receive(h: &Harness, procedure: &str, channel: Channel, data: serde_json::Value) -> Dossier {
    let mut sub = house_permit(data);
    sub.procedure = procedure.into();
    sub.channel = channel;
    sub.documents = match procedure {
        PERMIT => vec!["don".into(), "ban_ve".into(), "gcn_qsdd".into()],
        APPRAISAL => vec!["don".into()],
        _ => vec![],
    };
    h.engine.submit(sub).expect("received").dossier
}

/// Takes `action` on the dossier as it stands now (timers may have moved its version).
fn take(h: &Harness, d: &Dossier, action: &str, who: Actor) -> Dossier {
    take_with(h, d, action, who, serde_json::json!({}), None)
}

fn take_with(
    h: &Harness,
    d: &Dossier,
    action: &str,
    who: Actor,
    input: serde_json::Value,
    comment: Option<&str>,
) -> Dossier {
    let now = h.engine.dossier(&d.code).expect("stored");
    act_with(h, &now, action, who, input, comment).expect(action)
}

fn rows(h: &Harness, from: Date, to: Date, by: By) -> Vec<(String, Counts)> {
    counts(&report(&h.engine, from, to, by))
}

fn row(key: &str, f: impl FnOnce(&mut Counts)) -> (String, Counts) {
    let mut c = Counts::default();
    f(&mut c);
    (key.to_string(), c)
}

#[test]
fn a_dossier_received_in_july_and_resolved_in_august_is_july_s_receipt_and_august_s_result() {
    // Residence registration, 7 working days: received online Wednesday 30 July 2025 at
    // 09:00, due Friday 8 August at 09:00; approved Thursday 7 August, a working day before.
    let h = desk("2025-07-30T09:00:00+07:00");
    let d = receive(
        &h,
        RESIDENCE,
        Channel::Online,
        serde_json::json!({"ho_ten": "Lê Minh Khang"}),
    );
    let (july, august) = (
        (date(2025, 7, 1), date(2025, 7, 31)),
        (date(2025, 8, 1), date(2025, 8, 31)),
    );
    let agency = "000.00.31.H56";
    assert_eq!(
        rows(&h, july.0, july.1, By::Agency),
        [row(agency, |c| {
            c.received = 1;
            c.received_online = 1;
            c.open_not_due = 1;
        })]
    );
    at_time(&h, "2025-08-07T10:00:00+07:00");
    take(
        &h,
        &d,
        "duyet",
        officer("ca01", "cong_an", "cong_an_phuong"),
    );
    // July still received it; no longer open, it is in none of July's open columns.
    assert_eq!(
        rows(&h, july.0, july.1, By::Agency),
        [row(agency, |c| {
            c.received = 1;
            c.received_online = 1;
        })]
    );
    // 30 July 09:00 to 7 August 10:00: six working days and an hour, 49 working hours.
    assert_eq!(
        rows(&h, august.0, august.1, By::Agency),
        [row(agency, |c| {
            c.early = 1;
            c.ended = 1;
            c.working_milli = 49_000;
        })]
    );
    let both = report(&h.engine, july.0, august.1, By::Channel);
    assert_eq!(both.total.on_time_rate, Some(1.0));
    assert_eq!(both.total.online_share, Some(1.0));
    assert_eq!(both.total.average_working_days, Some(49.0 / 8.0));
}

#[test]
fn a_linked_group_counts_once_as_its_parent() {
    // Birth registration received at 08:30 on Tuesday 1 July, due by 08:30 the next day; it
    // starts the child's residence registration, which the police approve.
    let h = desk("2025-07-01T08:30:00+07:00");
    let data = serde_json::json!({"ho_ten_tre": "Lê Minh Khang", "ngay_sinh": "2025-06-20"});
    let d = receive(&h, LINKED, Channel::Desk, data);
    at_time(&h, "2025-07-01T09:00:00+07:00");
    let registrar = officer("tp01", "tu_phap", "tu_phap_ho_tich");
    let d = take(&h, &d, "dang_ky_xong", registrar.clone());
    assert_eq!(d.children.len(), 1, "the residence registration started");
    let child = h.engine.dossier(&d.children[0]).expect("child");
    take(
        &h,
        &child,
        "duyet",
        officer("ca01", "cong_an", "cong_an_phuong"),
    );
    take(&h, &d, "tra_ket_qua", registrar);
    let day = date(2025, 7, 1);
    // Returned the day before its appointment's: early, after half a working hour.
    assert_eq!(
        rows(&h, day, day, By::Procedure),
        [row(LINKED, |c| {
            c.received = 1;
            c.early = 1;
            c.ended = 1;
            c.working_milli = 500;
        })]
    );
}

#[test]
fn a_dossier_counts_under_the_department_in_charge_and_its_counts_move_with_it() {
    // A house permit handed in by post at 08:00 on Tuesday 1 July at the one-stop desk.
    let h = desk("2025-07-01T08:00:00+07:00");
    let house =
        serde_json::json!({"chu_dau_tu": "Nguyễn Văn An", "dien_tich_san": 180.5, "so_tang": 3});
    let d = receive(&h, PERMIT, Channel::Post, house);
    let day = date(2025, 7, 1);
    let open_under = |dep: &str| {
        row(dep, |c| {
            c.received = 1;
            c.open_not_due = 1;
        })
    };
    assert_eq!(
        rows(&h, day, day, By::Department),
        [open_under("bo_phan_mot_cua")]
    );
    at_time(&h, "2025-07-01T10:00:00+07:00");
    take(
        &h,
        &d,
        "chuyen_tham_dinh",
        officer("mc01", "mot_cua", "bo_phan_mot_cua"),
    );
    // Zoning (phong_tnmt) and structure (phong_qlxd) in parallel: the smaller id holds it.
    assert_eq!(
        rows(&h, day, day, By::Department),
        [open_under("phong_qlxd")]
    );
    let structure = officer("cv01", "chuyen_vien", "phong_qlxd");
    take(&h, &d, "dat_ket_cau", structure.clone());
    // Structure waits at the consolidation; zoning is the step at work.
    assert_eq!(
        rows(&h, day, day, By::Department),
        [open_under("phong_tnmt")]
    );
    take(
        &h,
        &d,
        "dat_quy_hoach",
        officer("cv02", "chuyen_vien", "phong_tnmt"),
    );
    assert_eq!(
        rows(&h, day, day, By::Department),
        [open_under("phong_qlxd")]
    );
    // Consolidating, the works office asks for a supplement: waiting on the applicant, under
    // no department.
    let missing = serde_json::json!({"giay_to_can_bo_sung": ["ban_ve"]});
    let reason = Some("Bản vẽ thiếu mặt cắt");
    take_with(
        &h,
        &d,
        "yeu_cau_bo_sung",
        structure.clone(),
        missing,
        reason,
    );
    assert_eq!(
        rows(&h, day, day, By::Department),
        [row("", |c| {
            c.received = 1;
            c.paused = 1;
        })]
    );
    at_time(&h, "2025-07-02T09:00:00+07:00");
    let handed_in = serde_json::json!({"giay_to": ["ban_ve"]});
    take_with(&h, &d, "nop_bo_sung", citizen(), handed_in, None);
    take(&h, &d, "trinh_ky_sau_bo_sung", structure);
    // Signed by the head of the works office: the result is issued, and the dossier counts
    // there from now on, whoever hands the result over.
    take(&h, &d, "ky", officer("ld01", "lanh_dao", "phong_qlxd"));
    at_time(&h, "2025-07-03T09:00:00+07:00");
    let d = take(&h, &d, "tra", officer("mc01", "mot_cua", "bo_phan_mot_cua"));
    let resolved = d.clock.resolved.as_ref().map(|r| r.state.as_str());
    assert_eq!(resolved, Some("tra_ket_qua"));
    let period = rows(&h, day, date(2025, 7, 3), By::Department);
    assert_eq!(period.len(), 1, "{period:?}");
    assert_eq!(period[0].0, "phong_qlxd");
    let c = period[0].1;
    assert_eq!((c.received, c.early, c.ended, c.paused), (1, 1, 1, 0));
}

#[test]
fn a_supplement_request_pauses_a_dossier_and_a_missed_same_day_appointment_makes_one_overdue() {
    // A same-day birth registration received at 10:00 on Tuesday 1 July that nobody returns,
    // and an appraisal sent back to the applicant for a drawing the same morning.
    let h = desk("2025-07-01T10:00:00+07:00");
    receive(
        &h,
        SAME_DAY,
        Channel::Desk,
        serde_json::json!({"ho_ten_tre": "Lê Minh Khang"}),
    );
    let d = receive(
        &h,
        APPRAISAL,
        Channel::Online,
        serde_json::json!({"ten": "Trần Thị Bình"}),
    );
    take(&h, &d, "chuyen", officer("mc01", "mot_cua", "mot_cua"));
    let reason = Some("Thiếu bản vẽ");
    let appraiser = officer("cv01", "chuyen_vien", "phong_kt");
    take_with(
        &h,
        &d,
        "yeu_cau_bo_sung",
        appraiser,
        serde_json::json!({}),
        reason,
    );
    let day = date(2025, 7, 1);
    assert_eq!(
        rows(&h, day, day, By::Procedure),
        [
            row(SAME_DAY, |c| {
                c.received = 1;
                c.open_not_due = 1;
            }),
            row(APPRAISAL, |c| {
                c.received = 1;
                c.received_online = 1;
                c.paused = 1;
            }),
        ]
    );
    // At the close of office the same-day appointment passes.
    at_time(&h, "2025-07-01T17:00:00+07:00");
    let closed = rows(&h, day, day, By::Procedure);
    assert_eq!((closed[0].1.open_overdue, closed[0].1.open_not_due), (1, 0));
    // The applicant withdraws the appraisal: it ends, and is no longer paused.
    let d = h.engine.dossier(&d.code).expect("stored");
    take(&h, &d, "rut", applicant_of(&d));
    let withdrawn = rows(&h, day, day, By::Procedure);
    assert_eq!((withdrawn[1].1.paused, withdrawn[1].1.ended), (0, 1));
}
