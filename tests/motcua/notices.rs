//! Extensions, apologies and classification on a real sled store with a clock moved by hand:
//! legal extensions within their cap and before the appointment, apology letters (form 04)
//! that leave a dossier late, and how dossiers and steps count in the national index.

use crate::support;

conformance!();

use motcua::deadline::{Class, LateReason};
use motcua::dossier::Dossier;
use support::desk::*;
use support::*;

#[test]
fn a_legal_extension_moves_the_appointment_within_its_cap_and_records_the_notice() {
    let desk = Desk::new("2026-12-01T09:00:00+07:00");
    let d = to_sign_off(&desk);
    let appointment = d.clock.due_at;
    assert_eq!(appointment, at("2026-12-08T09:00:00+07:00"));
    desk.now("2026-12-04T10:00:00+07:00");
    // Only an approver may grant it.
    let refused = desk
        .take_with(
            &d,
            "gia_han",
            officer("cv9", "chuyen_vien", "phong_kt"),
            serde_json::json!({}),
            Some("x"),
        )
        .unwrap_err();
    assert_eq!(refused.code(), "forbidden");
    let d = desk
        .take_with(
            &d,
            "gia_han",
            leader(),
            serde_json::json!({"extension": "2 working days"}),
            Some("Cần lấy ý kiến Sở Xây dựng"),
        )
        .unwrap();
    assert_eq!(d.clock.due_at, at("2026-12-10T09:00:00+07:00"));
    let notice = &d.clock.extension_notices[0];
    assert_eq!(notice.reason, "Cần lấy ý kiến Sở Xây dựng");
    assert_eq!(notice.old_appointment, appointment);
    assert_eq!(notice.new_appointment, at("2026-12-10T09:00:00+07:00"));
    assert_eq!(
        (notice.approver.as_str(), notice.approver_roles.clone()),
        ("ld01", vec!["lanh_dao".to_string()])
    );
    // 2 + 2 working days is past the cap of 3.
    let capped = desk
        .take_with(
            &d,
            "gia_han",
            leader(),
            serde_json::json!({"extension": "2 working days"}),
            Some("thêm"),
        )
        .unwrap_err();
    assert_eq!(capped.code(), "extension_capped");
    let d = desk
        .take_with(
            &d,
            "gia_han",
            leader(),
            serde_json::json!({"extension": "1 working day"}),
            Some("thêm"),
        )
        .unwrap();
    assert_eq!(d.clock.due_at, at("2026-12-11T09:00:00+07:00"));
    // Finished by the extended date: on time.
    desk.now("2026-12-11T08:30:00+07:00");
    let d = desk.take(&d, "ky", leader()).unwrap();
    let d = desk.take(&d, "tra", desk_officer()).unwrap();
    let ending = d.ending.unwrap();
    assert_eq!(ending.class, Some(Class::OnTime));
    assert!(ending.on_time);
    assert_eq!(ending.appointment, Some(at("2026-12-11T09:00:00+07:00")));
}

#[test]
fn an_extension_after_the_appointment_is_refused_and_writes_nothing() {
    let desk = Desk::new("2026-12-01T09:00:00+07:00");
    let d = to_sign_off(&desk);
    desk.now("2026-12-08T09:00:00+07:00");
    let refused = desk
        .take_with(&d, "gia_han", leader(), serde_json::json!({}), Some("muộn"))
        .unwrap_err();
    assert_eq!(refused.code(), "extension_too_late");
    assert_eq!(desk.get(&d).version, d.version);
}

#[test]
fn an_apology_records_form_04_and_the_dossier_still_counts_as_late() {
    let desk = Desk::new("2026-12-01T09:00:00+07:00");
    let d = to_sign_off(&desk);
    desk.now("2026-12-08T10:00:00+07:00");
    desk.tick("2026-12-08T10:00:00+07:00");
    // Not a working day; before the appointment; fine.
    let sunday = desk
        .take_with(
            &d,
            "xin_loi_ky",
            leader(),
            serde_json::json!({"promised": "2026-12-13"}),
            Some("Chờ ý kiến"),
        )
        .unwrap_err();
    assert_eq!(sunday.code(), "invalid_input");
    let d = desk
        .take_with(
            &d,
            "xin_loi_ky",
            leader(),
            serde_json::json!({"promised": "2026-12-10"}),
            Some("Chờ ý kiến Sở Xây dựng"),
        )
        .unwrap();
    let apology = d.clock.apologies.last().unwrap();
    assert_eq!(apology.promised, at("2026-12-10T17:00:00+07:00"));
    assert_eq!(apology.appointment, at("2026-12-08T09:00:00+07:00"));
    assert_eq!(apology.reason, "Chờ ý kiến Sở Xây dựng");
    assert_eq!(
        d.clock.due_at,
        at("2026-12-08T09:00:00+07:00"),
        "the appointment stays"
    );
    let clocks = desk.engine.clocks(&d).unwrap();
    assert_eq!(
        clocks.statutory.promised,
        Some(at("2026-12-10T17:00:00+07:00"))
    );
    desk.now("2026-12-09T09:00:00+07:00");
    let d = desk.take(&d, "ky", leader()).unwrap();
    let d = desk.take(&d, "tra", desk_officer()).unwrap();
    let ending = d.ending.unwrap();
    assert_eq!(ending.class, Some(Class::Late));
    assert_eq!(
        ending.late_because,
        vec![LateReason::PastAppointment, LateReason::Apology]
    );
}

#[test]
fn dossiers_are_classified_early_on_time_or_late_and_two_supplements_make_a_dossier_late() {
    let desk = Desk::new("2026-12-01T09:00:00+07:00");
    let finish = |d: Dossier, when: &str| -> motcua::dossier::Ending {
        desk.now(when);
        let d = desk.take(&d, "ky", leader()).unwrap();
        desk.take(&d, "tra", desk_officer())
            .unwrap()
            .ending
            .unwrap()
    };
    // Appointment Tue 8 Dec 09:00.
    desk.now("2026-12-01T09:00:00+07:00");
    let early = finish(to_sign_off(&desk), "2026-12-07T16:00:00+07:00");
    assert_eq!(early.class, Some(Class::Early));
    desk.now("2026-12-01T09:00:00+07:00");
    let on_time = finish(to_sign_off(&desk), "2026-12-08T08:30:00+07:00");
    assert_eq!(on_time.class, Some(Class::OnTime));
    desk.now("2026-12-01T09:00:00+07:00");
    let late = finish(to_sign_off(&desk), "2026-12-08T09:01:00+07:00");
    assert_eq!(
        (late.class, late.late_because),
        (Some(Class::Late), vec![LateReason::PastAppointment])
    );

    // Two supplement requests: late, though it ends days early.
    desk.now("2026-12-01T09:00:00+07:00");
    let mut d = desk
        .take(&desk.receive(), "chuyen", desk_officer())
        .unwrap();
    for _ in 0..2 {
        d = desk.ask_supplement(&d);
        d = desk.take(&d, "nop_bo_sung", applicant_of(&d)).unwrap();
    }
    let d = desk.take(&d, "trinh", appraiser()).unwrap();
    let ending = finish(d, "2026-12-02T09:00:00+07:00");
    assert_eq!(ending.class, Some(Class::Late));
    assert_eq!(ending.late_because, vec![LateReason::Supplements]);
}

#[test]
fn a_dossier_counts_as_resolved_when_its_result_is_issued_not_when_the_applicant_collects_it() {
    let desk = Desk::new("2026-12-01T09:00:00+07:00");
    let d = to_sign_off(&desk);
    // Signed the day before the appointment (Tue 8 Dec 09:00): the result is issued.
    desk.now("2026-12-07T10:00:00+07:00");
    let d = desk.take(&d, "ky", leader()).unwrap();
    let resolved = d.clock.resolved.clone().unwrap();
    assert_eq!(
        (resolved.state.as_str(), resolved.class),
        ("tra_ket_qua", Class::Early)
    );
    // The statutory clock stopped: no appointment breach fires while the result waits.
    let fired = desk.tick("2026-12-09T09:00:00+07:00");
    assert!(fired.iter().all(|f| f.kind == "step_due"), "{fired:?}");
    let clocks = desk.engine.clocks(&desk.get(&d)).unwrap();
    assert_eq!(clocks.statutory.state, None);
    assert_eq!(clocks.statutory.class, Some(Class::Early));
    // Collected two days after the appointment, it still counts as early.
    let d = desk.take(&d, "tra", desk_officer()).unwrap();
    let ending = d.ending.unwrap();
    assert_eq!(ending.class, Some(Class::Early));
    assert_eq!(ending.at, at("2026-12-09T09:00:00+07:00"));
}

/// Regression: an apology or extension looping on its state re-entered it, restarting the
/// step's budget, clearing its recorded breach and re-arming its warnings.
#[test]
fn an_apology_on_an_overdue_step_keeps_its_breach_and_its_pending_escalation() {
    let desk = Desk::new("2027-03-01T08:00:00+07:00");
    let d = desk
        .take(&desk.receive(), "chuyen", desk_officer())
        .unwrap();
    let due = d.tokens[0].due_at.unwrap();
    assert_eq!(due, at("2027-03-02T17:00:00+07:00"));
    desk.tick("2027-03-02T17:30:00+07:00");
    let before = desk.get(&d);
    assert_eq!(before.tokens[0].overdue_since, Some(due));
    let d = desk
        .take_with(
            &before,
            "xin_loi_xu_ly",
            appraiser(),
            serde_json::json!({"promised": "2027-03-12"}),
            Some("Chờ kết quả đo đạc"),
        )
        .unwrap();
    assert_eq!(d.tokens[0], before.tokens[0], "the step goes on as it was");
    let entry = desk.engine.history(&d.code).unwrap().pop().unwrap();
    assert_eq!(entry.action, "xin_loi_xu_ly");
    assert!(entry.steps.is_empty(), "no handover: {:?}", entry.steps);
    // Four working hours after the breach the supervisor still takes it over.
    let fired = desk.tick("2027-03-03T12:00:00+07:00");
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(states(&desk.get(&d)), vec!["giam_sat"]);
}

/// Regression: a pause ended by the dossier's end (withdrawn while waiting on the applicant)
/// moved the appointment with no audit entry.
#[test]
fn a_withdrawal_while_paused_records_the_resume_and_judges_against_the_moved_appointment() {
    let desk = Desk::new("2027-03-01T08:00:00+07:00");
    let d = desk
        .take(&desk.receive(), "chuyen", desk_officer())
        .unwrap();
    let d = desk.ask_supplement(&d);
    desk.now("2027-03-02T08:00:00+07:00");
    let d = desk.take(&d, "rut", applicant_of(&d)).unwrap();
    let actions: Vec<String> = desk
        .engine
        .history(&d.code)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        vec![
            "submit",
            "chuyen",
            "yeu_cau_bo_sung",
            "system:pause",
            "rut",
            "system:resume"
        ]
    );
    let ending = d.ending.unwrap();
    // Paused Monday 08:00 to Tuesday 08:00, one working day: the appointment moves from
    // Fri 5 Mar 17:00 to Mon 8 Mar 17:00, and the dossier is judged against that.
    assert_eq!(d.clock.paused_hours_milli, 8_000);
    assert_eq!(d.clock.due_at, at("2027-03-08T17:00:00+07:00"));
    assert_eq!(ending.appointment, Some(d.clock.due_at));
    assert!(d.clock.paused_since.is_none());
}

/// Regression: extensions and apologies were still accepted after the result was issued,
/// changing a deadline the reports had already counted; a zero extension was accepted.
#[test]
fn no_extension_or_apology_once_the_result_is_issued_and_none_of_nothing() {
    let desk = Desk::new("2026-12-01T09:00:00+07:00");
    let d = to_sign_off(&desk);
    let zero = desk
        .take_with(
            &d,
            "gia_han",
            leader(),
            serde_json::json!({"extension": "0 working days"}),
            Some("x"),
        )
        .unwrap_err();
    assert_eq!(zero.code(), "invalid_input");
    // Small grants add up exactly: three of one working day fill the cap of three.
    let mut d = d;
    for _ in 0..3 {
        d = desk
            .take_with(
                &d,
                "gia_han",
                leader(),
                serde_json::json!({"extension": "1 working day"}),
                Some("x"),
            )
            .unwrap();
    }
    let capped = desk
        .take_with(
            &d,
            "gia_han",
            leader(),
            serde_json::json!({"extension": "0.5 working days"}),
            Some("x"),
        )
        .unwrap_err();
    assert_eq!(capped.code(), "extension_capped");
    let d = desk.take(&d, "ky", leader()).unwrap();
    assert!(d.clock.resolved.is_some());
    // In `tra_ket_qua` no notice action exists; the sign-off's own is no longer reachable, so
    // the refusal is checked on the pure step directly.
    let p = desk.engine.procedure("tham-dinh-co-han").unwrap();
    let lookup = |_: &str| None;
    let cal = support::calendar::test_calendar();
    let env = motcua::dossier::transition::Env::new(&cal, &lookup, at("2026-12-02T09:00:00+07:00"));
    let mut in_sign_off = d.clone();
    in_sign_off.tokens[0].state = "ky".into();
    let refused = motcua::dossier::transition::act(
        &p,
        &in_sign_off,
        &motcua::dossier::transition::ActionRequest {
            dossier: d.code.clone(),
            action: "xin_loi_ky".into(),
            actor: leader(),
            input: serde_json::json!({"promised": "2026-12-15"}),
            comment: Some("muộn".into()),
            seen_version: d.version,
            on_behalf: false,
        },
        &env,
    )
    .unwrap_err();
    assert!(
        matches!(
            refused,
            motcua::dossier::transition::Error::AlreadyResolved { .. }
        ),
        "{refused}"
    );
}

/// Regression: an apology was offered at any time, and one made weeks before the due date
/// turned a dossier returned on time into a late one. It is offered and accepted only when
/// the step or the statutory clock is overdue or past its warning share (`Rules::due_soon`).
#[test]
fn an_apology_is_only_for_a_dossier_late_or_nearly_so() {
    let desk = Desk::new("2026-12-01T09:00:00+07:00");
    let d = to_sign_off(&desk);
    let offered = desk.engine.available_actions_of(&d, &leader()).unwrap();
    let apology = offered.iter().find(|a| a.action == "xin_loi_ky").unwrap();
    assert_eq!(
        apology.refused,
        Some(motcua::dossier::transition::Unavailable::ApologyTooEarly),
        "not offered yet"
    );
    let why = motcua::messages::errors::unavailable(
        apology.refused.as_ref().expect("refused"),
        &motcua::messages::errors::NoNames,
    );
    assert!(why.contains("trễ hạn"), "{why}");
    let early = desk
        .take_with(
            &d,
            "xin_loi_ky",
            leader(),
            serde_json::json!({"promised": "2026-12-10"}),
            Some("Chờ ý kiến"),
        )
        .unwrap_err();
    assert_eq!(early.code(), "apology_too_early");
    assert_eq!(desk.engine.dossier(&d.code).unwrap().version, d.version);
    // Past the appointment: offered, and taken.
    desk.now("2026-12-08T10:00:00+07:00");
    desk.tick("2026-12-08T10:00:00+07:00");
    let d = desk.engine.dossier(&d.code).unwrap();
    let offered = desk.engine.available_actions_of(&d, &leader()).unwrap();
    let apology = offered.iter().find(|a| a.action == "xin_loi_ky").unwrap();
    assert_eq!(apology.refused, None);
    desk.take_with(
        &d,
        "xin_loi_ky",
        leader(),
        serde_json::json!({"promised": "2026-12-10"}),
        Some("Chờ ý kiến"),
    )
    .unwrap();
}
