//! The dossier engine end to end on a real store: submission, parallel appraisal, guards,
//! supplements, extensions, conflicts, idempotency, linked groups, restarts. Listings are in
//! `listing`, procedure versions in `versions`, appointment arithmetic in `appointments`;
//! the officers and walks here are theirs too. Slightly past 600 lines: those shared helpers
//! live here rather than in a module of their own.

use crate::support;

conformance!();

use std::collections::BTreeSet;
use std::sync::Arc;

use motcua::audit;
use motcua::dossier::{Actor, Dossier};
use motcua::procedure::Outcome;
use motcua::store::Query;
use support::*;

pub(crate) fn desk() -> Actor {
    officer("mc01", "mot_cua", "bo_phan_mot_cua")
}
pub(crate) fn zoning() -> Actor {
    officer("tnmt01", "chuyen_vien", "phong_tnmt")
}
pub(crate) fn structure() -> Actor {
    officer("qlxd01", "chuyen_vien", "phong_qlxd")
}
pub(crate) fn head_of_office() -> Actor {
    officer("qlxd00", "lanh_dao", "phong_qlxd")
}

/// Received Monday 1 June 2026 09:00, appraised in parallel, consolidated, signed, returned.
pub(crate) fn appraised(h: &Harness) -> Dossier {
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let d = act(h, &d, "chuyen_tham_dinh", desk()).unwrap();
    let d = act(h, &d, "dat_quy_hoach", zoning()).unwrap();
    act(h, &d, "dat_ket_cau", structure()).unwrap()
}

/// Appraised, then sent back to the applicant for a missing drawing.
pub(crate) fn awaiting_supplement(h: &Harness) -> Dossier {
    let d = appraised(h);
    act_with(
        h,
        &d,
        "yeu_cau_bo_sung",
        structure(),
        serde_json::json!({"giay_to_can_bo_sung": ["ban_ve"]}),
        Some("Thiếu bản vẽ"),
    )
    .unwrap()
}

#[test]
fn submission_issues_a_national_code_and_an_appointment_15_working_days_later() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let r = h.engine.submit(house_permit(house())).unwrap();
    let d = r.dossier;
    assert_eq!(d.code, "000.17.22.H56-260601-0001");
    assert_eq!(d.version, 1);
    assert_eq!(states(&d), ["tiep_nhan"]);
    assert_eq!(d.status, 2);
    assert_eq!(d.clock.received_at, at("2026-06-01T09:00:00+07:00"));
    assert_eq!(
        d.clock.due_at,
        at("2026-06-22T09:00:00+07:00"),
        "15 working days after Mon 1 June 09:00"
    );
    assert_eq!(
        d.tokens[0].due_at,
        Some(at("2026-06-01T14:00:00+07:00")),
        "half a working day at the desk, lunch excluded"
    );
    assert!(!r.replayed);
    let history = h.engine.history(&d.code).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].action, "submit");
    assert_eq!(history[0].actor, "mc01");
    assert_eq!(history[0].to, ["tiep_nhan"]);
}

#[test]
fn zoning_and_structure_checks_run_in_parallel_and_join_before_consolidation() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let d = act(&h, &d, "chuyen_tham_dinh", desk()).unwrap();
    assert_eq!(states(&d), ["ket_cau", "quy_hoach"]);
    assert_eq!(d.status, 4);

    h.now("2026-06-03T10:00:00+07:00");
    let d = act(&h, &d, "dat_quy_hoach", zoning()).unwrap();
    assert_eq!(
        states(&d),
        ["ket_cau"],
        "zoning waits at the join; structure still works"
    );
    assert!(d.tokens.iter().any(|t| t.state == "tong_hop" && t.waiting));
    assert!(
        h.engine
            .available_actions(&d.code, &structure())
            .unwrap()
            .iter()
            .all(|a| a.from == "ket_cau"),
        "nothing can be done at the join before both branches arrive"
    );

    h.now("2026-06-04T10:00:00+07:00");
    let d = act(&h, &d, "dat_ket_cau", structure()).unwrap();
    assert_eq!(states(&d), ["tong_hop"]);
    assert_eq!(d.tokens.len(), 1);
    assert_eq!(
        d.tokens[0].due_at,
        Some(at("2026-06-08T10:00:00+07:00")),
        "2 working days for consolidation"
    );
}

#[test]
fn a_refusal_in_one_branch_ends_the_whole_dossier() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let d = act(&h, &d, "chuyen_tham_dinh", desk()).unwrap();
    let d = act_with(
        &h,
        &d,
        "khong_dat_ket_cau",
        structure(),
        serde_json::json!({}),
        Some("Móng không đảm bảo"),
    )
    .unwrap();
    let ending = d.ending.clone().unwrap();
    assert_eq!(ending.outcome, Outcome::Refused);
    assert!(ending.on_time);
    assert!(d.tokens.is_empty());
    assert_eq!(d.status, 3);
    let err = act(&h, &d, "dat_quy_hoach", zoning()).unwrap_err();
    assert_eq!(err.code(), "closed");
}

#[test]
fn an_officer_of_another_department_is_refused_and_nothing_is_written() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let d = act(&h, &d, "chuyen_tham_dinh", desk()).unwrap();
    let err = act(&h, &d, "dat_ket_cau", zoning()).unwrap_err();
    assert_eq!(err.code(), "forbidden");
    assert!(err.to_string().contains("phong_qlxd"), "{err}");
    let err = act(&h, &d, "dat_ket_cau", officer("x", "mot_cua", "phong_qlxd")).unwrap_err();
    assert_eq!(err.code(), "forbidden");
    assert!(err.to_string().contains("chuyen_vien"), "{err}");
    let stored = h.engine.dossier(&d.code).unwrap();
    assert_eq!(stored, d, "a refused action leaves the dossier as it was");
    assert_eq!(h.engine.history(&d.code).unwrap().len(), 2);
}

#[test]
fn a_false_guard_refuses_with_its_label() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let mut data = house();
    data["so_tang"] = serde_json::json!(9);
    let d = h.engine.submit(house_permit(data)).unwrap().dossier;
    let d = act(&h, &d, "chuyen_tham_dinh", desk()).unwrap();
    let err = act(&h, &d, "dat_ket_cau", structure()).unwrap_err();
    assert_eq!(err.code(), "guard_refused");
    assert!(
        err.to_string().contains("Nhà riêng lẻ không quá 7 tầng"),
        "{err}"
    );
    let offered = h.engine.available_actions(&d.code, &structure()).unwrap();
    let dat = offered.iter().find(|a| a.action == "dat_ket_cau").unwrap();
    assert_eq!(
        dat.refused,
        Some(motcua::dossier::transition::Unavailable::Guard {
            label: "Nhà riêng lẻ không quá 7 tầng".into()
        })
    );
}

#[test]
fn invalid_form_data_gets_one_message_per_field_and_no_dossier() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let bad = serde_json::json!({"chu_dau_tu": "", "dien_tich_san": -5, "so_tang": "ba"});
    let err = h.engine.submit(house_permit(bad)).unwrap_err();
    assert_eq!(err.code(), "invalid_form");
    match err {
        motcua::Error::Refused(motcua::dossier::transition::Error::InvalidForm(fields)) => {
            let names: BTreeSet<&str> = fields.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(
                names,
                BTreeSet::from(["/chu_dau_tu", "/dien_tich_san", "/so_tang"])
            );
        }
        other => panic!("{other}"),
    }
    assert_eq!(h.engine.store().dossier_count().unwrap(), 0);
    // The refused submission consumed no number: the next one is 0001.
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    assert!(d.code.ends_with("-0001"), "{}", d.code);
}

#[test]
fn unknown_procedure_action_and_document_are_named() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let mut s = house_permit(house());
    s.procedure = "cap-phep-xay-dung".into();
    assert_eq!(h.engine.submit(s).unwrap_err().code(), "unknown_procedure");
    let mut s = house_permit(house());
    s.documents.push("so_do".into());
    let err = h.engine.submit(s).unwrap_err();
    assert_eq!(err.code(), "unknown_document");
    assert!(err.to_string().contains("so_do"));
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    assert_eq!(
        act(&h, &d, "phe_duyet", desk()).unwrap_err().code(),
        "unknown_action"
    );
    let err = act(&h, &d, "ky", head_of_office()).unwrap_err();
    assert_eq!(err.code(), "action_not_available");
    assert!(err.to_string().contains("tiep_nhan"), "{err}");
    let err = act(&h, &d, "tu_choi_tiep_nhan", desk()).unwrap_err();
    assert_eq!(err.code(), "invalid_input", "a refusal needs its reason");
    let err = act_with(
        &h,
        &d,
        "chuyen_tham_dinh",
        desk(),
        serde_json::json!({"ghi_chu": 1}),
        None,
    )
    .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    assert!(err.to_string().contains("ghi_chu"));
    assert_eq!(
        h.engine
            .dossier("000.17.22.H56-260601-9999")
            .unwrap_err()
            .code(),
        "not_found"
    );
}

#[test]
fn a_stale_version_is_refused_naming_the_current_one() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d1 = h.engine.submit(house_permit(house())).unwrap().dossier;
    let d2 = act(&h, &d1, "chuyen_tham_dinh", desk()).unwrap();
    assert_eq!(d2.version, 2);
    let mut stale = d1.clone();
    stale.tokens = d2.tokens.clone();
    let err = act(&h, &stale, "dat_quy_hoach", zoning()).unwrap_err();
    assert_eq!(err.code(), "conflict");
    assert!(err.to_string().contains("version 2, not 1"), "{err}");
}

#[test]
fn two_officers_racing_on_one_dossier_exactly_one_wins() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let h = Arc::new(h);
    let mut handles = vec![];
    for i in 0..8 {
        let h = h.clone();
        let d = d.clone();
        handles.push(std::thread::spawn(move || {
            let officer = officer(&format!("mc0{i}"), "mot_cua", "bo_phan_mot_cua");
            act(&h, &d, "chuyen_tham_dinh", officer)
        }));
    }
    let results: Vec<_> = handles.into_iter().map(|t| t.join().unwrap()).collect();
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "exactly one officer moves the dossier");
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| e.code() == "conflict")
    );
    let stored = h.engine.dossier(&d.code).unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(
        h.engine.history(&d.code).unwrap().len(),
        2,
        "no lost or doubled update"
    );
}

#[test]
fn a_supplement_request_pauses_the_clock_and_moves_the_appointment_when_answered() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = appraised(&h);
    assert_eq!(d.clock.due_at, at("2026-06-22T09:00:00+07:00"));
    h.now("2026-06-05T09:00:00+07:00");
    let d = act_with(
        &h,
        &d,
        "yeu_cau_bo_sung",
        structure(),
        serde_json::json!({"giay_to_can_bo_sung": ["ban_ve"]}),
        Some("Bản vẽ thiếu mặt cắt"),
    )
    .unwrap();
    assert_eq!(states(&d), ["cho_bo_sung"]);
    assert_eq!(d.status, 5);
    assert_eq!(d.clock.paused_since, Some(at("2026-06-05T09:00:00+07:00")));
    assert_eq!(d.clock.supplements, 1);
    let overdue_while_paused = h
        .engine
        .list(
            &Query::Overdue {
                now: at("2026-07-01T00:00:00+07:00"),
            },
            None,
            10,
        )
        .unwrap()
        .dossiers;
    assert!(
        overdue_while_paused.is_empty(),
        "a paused dossier is never overdue"
    );

    // The applicant answers two working days later (Fri 09:00 → Tue 09:00).
    h.now("2026-06-09T09:00:00+07:00");
    let d = act_with(
        &h,
        &d,
        "nop_bo_sung",
        citizen(),
        serde_json::json!({"giay_to": ["ban_ve"]}),
        None,
    )
    .unwrap();
    assert_eq!(states(&d), ["xem_xet_bo_sung"]);
    assert_eq!(d.clock.paused_since, None);
    assert_eq!(
        d.clock.due_at,
        at("2026-06-24T09:00:00+07:00"),
        "the appointment moves by the 2 working days paused"
    );
}

#[test]
fn an_extension_needs_a_reason_and_moves_the_appointment() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = appraised(&h);
    let d = act(&h, &d, "trinh_ky", structure()).unwrap();
    let err = act(&h, &d, "xin_gia_han", head_of_office()).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    let err = act_with(
        &h,
        &d,
        "xin_gia_han",
        head_of_office(),
        serde_json::json!({"extension": "11 working days"}),
        Some("Cần lấy ý kiến Sở Xây dựng"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("at most 10 working days"), "{err}");
    let d = act_with(
        &h,
        &d,
        "xin_gia_han",
        head_of_office(),
        serde_json::json!({"extension": "5 working days"}),
        Some("Cần lấy ý kiến Sở Xây dựng"),
    )
    .unwrap();
    assert_eq!(d.clock.due_at, at("2026-06-29T09:00:00+07:00"));
    assert_eq!(d.clock.extensions, 1);
    let history = h.engine.history(&d.code).unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.action, "xin_gia_han");
    assert_eq!(last.comment.as_deref(), Some("Cần lấy ý kiến Sở Xây dựng"));
    assert_eq!(last.roles, ["lanh_dao"]);
    assert_eq!(last.departments, ["phong_qlxd"]);
}

#[test]
fn a_dossier_signed_after_its_appointment_is_late_and_listed_overdue_until_then() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = appraised(&h);
    let d = act(&h, &d, "trinh_ky", structure()).unwrap();
    h.now("2026-06-22T10:00:00+07:00");
    let overdue = |h: &Harness| -> Vec<String> {
        h.engine
            .list(
                &Query::Overdue {
                    now: at("2026-06-22T10:00:00+07:00"),
                },
                None,
                10,
            )
            .unwrap()
            .dossiers
            .into_iter()
            .map(|d| d.code)
            .collect()
    };
    assert_eq!(overdue(&h), vec![d.code.clone()]);
    // Signed an hour after the appointment: the result is issued late.
    let d = act(&h, &d, "ky", head_of_office()).unwrap();
    assert_eq!(d.status, 9);
    let resolved = d.clock.resolved.clone().unwrap();
    assert_eq!(resolved.class, motcua::deadline::Class::Late);
    assert!(
        overdue(&h).is_empty(),
        "resolved: the agency's clock has stopped"
    );
    let d = act(&h, &d, "tra", desk()).unwrap();
    let ending = d.ending.unwrap();
    assert_eq!(ending.outcome, Outcome::ResultIssued);
    assert!(!ending.on_time, "issued an hour after the appointment");
    assert_eq!(d.status, 10);
}

#[test]
fn a_result_issued_before_the_appointment_counts_as_on_time_however_late_it_is_collected() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = appraised(&h);
    let d = act(&h, &d, "trinh_ky", structure()).unwrap();
    let d = act(&h, &d, "ky", head_of_office()).unwrap();
    assert_eq!(d.status, 9);
    h.now("2026-06-25T10:00:00+07:00");
    let d = act(&h, &d, "tra", desk()).unwrap();
    let ending = d.ending.unwrap();
    assert!(ending.on_time, "signed on the day of receipt");
    assert_eq!(ending.class, Some(motcua::deadline::Class::Early));
}

#[test]
fn the_same_idempotency_key_returns_the_same_dossier_once() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let mut s = house_permit(house());
    s.idempotency_key = Some("cong-dvc-7f3a".into());
    let first = h.engine.submit(s.clone()).unwrap();
    let again = h.engine.submit(s.clone()).unwrap();
    assert!(again.replayed);
    assert_eq!(again.dossier.code, first.dossier.code);
    assert_eq!(h.engine.store().dossier_count().unwrap(), 1);
    s.data["so_tang"] = serde_json::json!(4);
    let err = h.engine.submit(s).unwrap_err();
    assert_eq!(err.code(), "idempotency_mismatch");
}

#[test]
fn concurrent_submissions_get_gap_free_codes() {
    let h = Arc::new(Harness::new("2026-06-01T09:00:00+07:00"));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let h = h.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|_| h.engine.submit(house_permit(house())).unwrap().dossier.code)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let codes: BTreeSet<String> = handles
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let expected: BTreeSet<String> = (1..=200)
        .map(|n| format!("000.17.22.H56-260601-{n:04}"))
        .collect();
    assert_eq!(codes, expected);
}

#[test]
fn each_day_starts_its_own_sequence() {
    let h = Harness::new("2026-06-01T16:59:00+07:00");
    assert!(
        h.engine
            .submit(house_permit(house()))
            .unwrap()
            .dossier
            .code
            .ends_with("260601-0001")
    );
    h.now("2026-06-02T08:00:00+07:00");
    assert!(
        h.engine
            .submit(house_permit(house()))
            .unwrap()
            .dossier
            .code
            .ends_with("260602-0001")
    );
}

#[test]
fn a_linked_birth_registration_starts_the_residence_dossier_under_the_parent_code() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let mut s = house_permit(
        serde_json::json!({"ho_ten_tre": "Nguyễn Minh Khang", "ngay_sinh": "2026-05-20"}),
    );
    s.procedure = "lien-thong-khai-sinh-thu-nghiem".into();
    s.documents = vec![];
    let parent = h.engine.submit(s).unwrap().dossier;
    assert_eq!(parent.code, "000.00.31.H56-260601-0001");
    let registrar = officer("tp01", "tu_phap", "tu_phap_ho_tich");
    let parent = act(&h, &parent, "dang_ky_xong", registrar).unwrap();
    assert_eq!(parent.children, ["000.00.31.H56-260601-0002"]);
    let child = h.engine.dossier(&parent.children[0]).unwrap();
    assert_eq!(child.procedure, "thuong-tru-tre-em-thu-nghiem");
    assert_eq!(child.parent.as_deref(), Some(parent.code.as_str()));
    assert_eq!(
        child.public_code(),
        parent.code,
        "the citizen sees one code"
    );
    assert_eq!(child.data["ho_ten"], "Nguyễn Minh Khang");
    assert_eq!(states(&child), ["xu_ly"]);
    let h2 = h.engine.history(&child.code).unwrap();
    assert_eq!(h2[0].action, "system:start-linked");
}

#[test]
fn everything_acknowledged_survives_a_restart_and_the_audit_chain_verifies() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = appraised(&h);
    let h = h.reopen(true);
    let stored = h.engine.dossier(&d.code).unwrap();
    assert_eq!(stored, d);
    let all = h.engine.store().audit(0, 1000).unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(audit::verify(audit::GENESIS, &all), Ok(4));
    let mut forged = all.clone();
    forged[1].actor = "someone-else".into();
    assert_eq!(
        audit::verify(audit::GENESIS, &forged),
        Err(audit::Error::Tampered { seq: 2 })
    );
    let mut cut = all.clone();
    cut.remove(1);
    assert!(matches!(
        audit::verify(audit::GENESIS, &cut),
        Err(audit::Error::Broken { .. })
    ));
    // New entries continue the same chain after the restart.
    let d = act(&h, &stored, "trinh_ky", structure()).unwrap();
    let all = h.engine.store().audit(0, 1000).unwrap();
    assert_eq!(audit::verify(audit::GENESIS, &all), Ok(5));
    assert_eq!(all.last().unwrap().version, d.version);
}

#[test]
fn the_outbox_and_timers_follow_every_step() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let timers = h
        .engine
        .store()
        .due_timers(at("2026-12-31T00:00:00+07:00"), 10)
        .unwrap();
    assert_eq!(
        timers.len(),
        2,
        "the desk's step and the appointment: {timers:?}"
    );
    act(&h, &d, "chuyen_tham_dinh", desk()).unwrap();
    let timers = h
        .engine
        .store()
        .due_timers(at("2026-12-31T00:00:00+07:00"), 10)
        .unwrap();
    assert_eq!(
        timers.len(),
        3,
        "two branch steps and the appointment: {timers:?}"
    );
    assert!(
        h.engine
            .store()
            .due_timers(at("2026-06-01T12:00:00+07:00"), 10)
            .unwrap()
            .is_empty()
    );
    let events = h.engine.store().outbox(0, 10).unwrap();
    let kinds: Vec<&str> = events.iter().map(|(_, e)| e.kind.as_str()).collect();
    assert_eq!(kinds, ["dossier.received", "dossier.moved"]);
    assert_eq!(events[0].1.dossier, d.code);
}

#[test]
fn only_the_applicant_may_withdraw_their_own_dossier() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = awaiting_supplement(&h);
    let stranger = Actor {
        id: "001099000001".into(),
        roles: vec![],
        departments: vec![],
    };
    let err = act(&h, &d, "rut", stranger).unwrap_err();
    assert_eq!(err.code(), "forbidden");
    let err = act(&h, &d, "rut", desk()).unwrap_err();
    assert_eq!(
        err.code(),
        "forbidden",
        "an officer cannot withdraw for the citizen"
    );
    let applicant = applicant_of(&d);
    let d = act(&h, &d, "rut", applicant).unwrap();
    assert_eq!(d.ending.unwrap().outcome, Outcome::Withdrawn);
}

#[test]
fn a_supplement_answered_back_into_the_join_resumes_consolidation() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = awaiting_supplement(&h);
    h.now("2026-06-02T09:00:00+07:00");
    let applicant = applicant_of(&d);
    let d = act(&h, &d, "bo_sung_ve_tong_hop", applicant).unwrap();
    assert_eq!(states(&d), ["tong_hop"]);
    assert!(
        !d.tokens[0].waiting,
        "no branch to wait for: the join is the consolidation step again"
    );
    assert_eq!(d.tokens[0].due_at, Some(at("2026-06-04T09:00:00+07:00")));
    let d = act(&h, &d, "trinh_ky", structure()).unwrap();
    assert_eq!(states(&d), ["ky_duyet"]);
}
