//! The dossier engine end to end on a real sled store: submission, parallel appraisal,
//! guards, supplements, extensions, conflicts, idempotency, versions, linked groups.

use crate::support;

conformance!();

use std::collections::BTreeSet;
use std::sync::Arc;

use motcua::audit;
use motcua::dossier::{Actor, Dossier};
use motcua::procedure::Outcome;
use motcua::store::Query;
use support::*;

fn desk() -> Actor {
    officer("mc01", "mot_cua", "bo_phan_mot_cua")
}
fn zoning() -> Actor {
    officer("tnmt01", "chuyen_vien", "phong_tnmt")
}
fn structure() -> Actor {
    officer("qlxd01", "chuyen_vien", "phong_qlxd")
}
fn head_of_office() -> Actor {
    officer("qlxd00", "lanh_dao", "phong_qlxd")
}

/// Received Monday 1 June 2026 09:00, appraised in parallel, consolidated, signed, returned.
fn appraised(h: &Harness) -> Dossier {
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let d = act(h, &d, "chuyen_tham_dinh", desk()).unwrap();
    let d = act(h, &d, "dat_quy_hoach", zoning()).unwrap();
    act(h, &d, "dat_ket_cau", structure()).unwrap()
}

/// Appraised, then sent back to the applicant for a missing drawing.
fn awaiting_supplement(h: &Harness) -> Dossier {
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
        dat.refused.as_deref(),
        Some("Nhà riêng lẻ không quá 7 tầng")
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

/// The house-permit fixture as version 2, with each `(from, to)` edit made (each must apply).
fn house_permit_version_2(edits: &[(&str, &str)]) -> String {
    let v1 = std::fs::read_to_string(fixture("engine/xay-dung.yaml")).unwrap();
    let mut v2 = v1.replace("version: \"1\"", "version: \"2\"");
    for (from, to) in edits {
        assert!(v2.contains(from), "the fixture has no {from:?}");
        v2 = v2.replace(from, to);
    }
    v2
}

#[test]
fn dossiers_in_flight_keep_their_procedure_version() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let old = h.engine.submit(house_permit(house())).unwrap().dossier;
    // Version 2 drops the desk's refusal action and shortens the limit.
    let v2 = house_permit_version_2(&[
        ("duration: 15 working days", "duration: 12 working days"),
        (
            "  - { id: tu_choi_tiep_nhan, label: Từ chối tiếp nhận, from: tiep_nhan, to: tu_choi, roles: [mot_cua], comment_required: true }\n",
            "",
        ),
    ]);
    h.engine.load_procedure("v2", v2).unwrap();
    let new = h.engine.submit(house_permit(house())).unwrap().dossier;
    assert_eq!(new.procedure_version, "2");
    assert_eq!(new.clock.due_at, at("2026-06-17T09:00:00+07:00"));
    assert_eq!(old.procedure_version, "1");
    assert_ne!(old.procedure_hash, new.procedure_hash);
    let refused = act_with(
        &h,
        &old,
        "tu_choi_tiep_nhan",
        desk(),
        serde_json::json!({}),
        Some("Hồ sơ giả mạo"),
    )
    .unwrap();
    assert_eq!(
        refused.ending.unwrap().outcome,
        Outcome::Refused,
        "the old dossier still follows version 1"
    );
    assert_eq!(
        act_with(
            &h,
            &new,
            "tu_choi_tiep_nhan",
            desk(),
            serde_json::json!({}),
            Some("x")
        )
        .unwrap_err()
        .code(),
        "unknown_action"
    );

    // After a restart with no procedure files at all, both versions come back from the store.
    let h = h.reopen(false);
    let new = h.engine.dossier(&new.code).unwrap();
    let moved = act(&h, &new, "chuyen_tham_dinh", desk()).unwrap();
    assert_eq!(states(&moved), ["ket_cau", "quy_hoach"]);
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

fn codes(ds: &[Dossier]) -> Vec<&String> {
    ds.iter().map(|d| &d.code).collect()
}

/// Regression: paging with "the last code seen" skipped dossiers in listings not ordered by
/// code (a department's work across states). The cursor is now the listing's own key.
#[test]
fn a_departments_work_pages_across_states_without_skipping_anyone() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    // a, the oldest code, goes on to signature (ky_duyet); b waits at the desk; c, the newest
    // code, is in structure review (ket_cau). Phòng QLĐT's work sorts by state: c before a.
    let a = appraised(&h);
    act(&h, &a, "trinh_ky", structure()).unwrap();
    let b = h.engine.submit(house_permit(house())).unwrap().dossier;
    let c = h.engine.submit(house_permit(house())).unwrap().dossier;
    act(&h, &c, "chuyen_tham_dinh", desk()).unwrap();
    let department = Query::Department {
        department: "phong_qlxd".into(),
        state: None,
    };
    assert_eq!(
        every_page(&h, &department),
        [c.code.clone(), a.code.clone()]
    );
    // Overdue dossiers, earliest appointment first (all three were received at the same
    // instant, so then by code), one per page.
    let overdue = Query::Overdue {
        now: at("2026-12-31T00:00:00+07:00"),
    };
    assert_eq!(every_page(&h, &overdue), [a.code, b.code, c.code]);
}

/// The codes of every page of a listing, one dossier per page.
fn every_page(h: &Harness, query: &Query) -> Vec<String> {
    pages_of(h, query, 1)
}

/// The codes of every page of a listing, `per_page` at a time.
fn pages_of(h: &Harness, query: &Query, per_page: usize) -> Vec<String> {
    let mut seen = vec![];
    let mut after: Option<String> = None;
    loop {
        let page = h.engine.list(query, after.as_deref(), per_page).unwrap();
        assert!(page.dossiers.len() <= per_page);
        // A cursor is given only when more follows: no page reached by one is empty.
        assert!(after.is_none() || !page.dossiers.is_empty(), "{query:?}");
        seen.extend(page.dossiers.iter().map(|d| d.code.clone()));
        after = page.next;
        if after.is_none() {
            return seen;
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]

    /// Whatever mix of steps the dossiers are in and whatever the page size, paging through a
    /// listing gives exactly the one-page listing: nothing skipped, nothing twice.
    #[test]
    fn paging_through_any_listing_gives_the_whole_listing(
        walks in proptest::collection::vec(0usize..7, 1..10),
        per_page in 1usize..5,
    ) {
        let h = Harness::new("2026-06-01T09:00:00+07:00");
        // How far each dossier goes along receipt → fork → zoning done → consolidation →
        // signature → return → returned.
        let path = [
            ("chuyen_tham_dinh", desk()),
            ("dat_quy_hoach", zoning()),
            ("dat_ket_cau", structure()),
            ("trinh_ky", structure()),
            ("ky", head_of_office()),
            ("tra", desk()),
        ];
        let mut open = 0;
        for steps in &walks {
            let mut d = h.engine.submit(house_permit(house())).unwrap().dossier;
            for (action, actor) in path.iter().take(*steps) {
                d = act(&h, &d, action, actor.clone()).unwrap();
            }
            // Overdue are the open dossiers whose result is not yet issued.
            if d.ending.is_none() && d.clock.resolved.is_none() {
                open += 1;
            }
        }
        let queries = [
            Query::Department { department: "phong_qlxd".into(), state: None },
            Query::Department { department: "bo_phan_mot_cua".into(), state: None },
            Query::Department { department: "phong_tnmt".into(), state: None },
            Query::State {
                procedure: "cap-phep-xay-dung-thu-nghiem".into(),
                state: "tong_hop".into(),
            },
            Query::Applicant { applicant: "079090001234".into() },
            Query::Overdue { now: at("2027-01-01T00:00:00+07:00") },
            Query::Received {
                agency: "000.17.22.H56".into(),
                from: "260601".into(),
                to: "260601".into(),
            },
        ];
        for q in &queries {
            let whole = h.engine.list(q, None, 1000).unwrap();
            proptest::prop_assert_eq!(&whole.next, &None);
            let whole: Vec<String> = whole.dossiers.into_iter().map(|d| d.code).collect();
            proptest::prop_assert_eq!(&pages_of(&h, q, per_page), &whole, "{:?}", q);
        }
        let count = |q: &Query| h.engine.list(q, None, 1000).unwrap().dossiers.len();
        proptest::prop_assert_eq!(count(&queries[4]), walks.len());
        proptest::prop_assert_eq!(count(&queries[6]), walks.len());
        proptest::prop_assert_eq!(count(&queries[5]), open);
    }
}

#[test]
fn lists_by_state_department_and_applicant_are_range_scans_kept_in_step() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let a = h.engine.submit(house_permit(house())).unwrap().dossier;
    let b = h.engine.submit(house_permit(house())).unwrap().dossier;
    act(&h, &b, "chuyen_tham_dinh", desk()).unwrap();
    let at_desk = h
        .engine
        .list(
            &Query::State {
                procedure: "cap-phep-xay-dung-thu-nghiem".into(),
                state: "tiep_nhan".into(),
            },
            None,
            10,
        )
        .unwrap()
        .dossiers;
    assert_eq!(
        at_desk.iter().map(|d| &d.code).collect::<Vec<_>>(),
        [&a.code]
    );
    let tnmt = h
        .engine
        .list(
            &Query::Department {
                department: "phong_tnmt".into(),
                state: None,
            },
            None,
            10,
        )
        .unwrap()
        .dossiers;
    assert_eq!(tnmt.iter().map(|d| &d.code).collect::<Vec<_>>(), [&b.code]);
    let mine = h
        .engine
        .list(
            &Query::Applicant {
                applicant: "079090001234".into(),
            },
            None,
            10,
        )
        .unwrap()
        .dossiers;
    assert_eq!(mine.len(), 2);
    let page1 = h
        .engine
        .list(
            &Query::Applicant {
                applicant: "079090001234".into(),
            },
            None,
            1,
        )
        .unwrap();
    assert_eq!(codes(&page1.dossiers), [&a.code]);
    let page2 = h
        .engine
        .list(
            &Query::Applicant {
                applicant: "079090001234".into(),
            },
            page1.next.as_deref(),
            1,
        )
        .unwrap();
    assert_eq!(codes(&page2.dossiers), [&b.code]);
    let bad = h.engine.list(
        &Query::Applicant {
            applicant: "079090001234".into(),
        },
        Some(&a.code),
        1,
    );
    assert_eq!(
        bad.unwrap_err().code(),
        "bad_cursor",
        "a code is not a cursor"
    );
    // A cursor of one listing is refused by another.
    let cursor = page1.next.clone();
    for other in [
        Query::Overdue {
            now: at("2027-01-01T00:00:00+07:00"),
        },
        Query::State {
            procedure: "cap-phep-xay-dung-thu-nghiem".into(),
            state: "tiep_nhan".into(),
        },
        Query::Department {
            department: "bo_phan_mot_cua".into(),
            state: None,
        },
    ] {
        let refused = h.engine.list(&other, cursor.as_deref(), 1);
        assert_eq!(refused.unwrap_err().code(), "bad_cursor", "{other:?}");
    }
    let received = h
        .engine
        .list(
            &Query::Received {
                agency: "000.17.22.H56".into(),
                from: "260601".into(),
                to: "260601".into(),
            },
            None,
            10,
        )
        .unwrap()
        .dossiers;
    assert_eq!(received.len(), 2);
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
fn an_appointment_skips_vietnamese_culture_day_2026() {
    // Received Friday 20 November 2026; Tuesday 24 November is Ngày Văn hóa Việt Nam.
    let h = Harness::new("2026-11-20T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    assert_eq!(d.code, "000.17.22.H56-261120-0001");
    // 15 working days: 23, 25, 26, 27 Nov; 30 Nov–4 Dec; 7–11 Dec; 14 Dec is the 15th.
    assert_eq!(d.clock.due_at, at("2026-12-14T09:00:00+07:00"));
}

fn birth(h: &Harness) -> Dossier {
    let mut s = house_permit(serde_json::json!({"ho_ten_tre": "Trần Gia Hân"}));
    s.procedure = "khai-sinh-trong-ngay-thu-nghiem".into();
    s.documents = vec![];
    h.engine.submit(s).unwrap().dossier
}

#[test]
fn a_same_day_dossier_received_before_15_00_is_due_at_the_close_of_that_day() {
    let h = Harness::new("2026-06-03T14:59:00+07:00");
    assert_eq!(birth(&h).clock.due_at, at("2026-06-03T17:00:00+07:00"));
}

#[test]
fn a_same_day_dossier_received_after_15_00_is_due_at_the_close_of_the_next_working_day() {
    let h = Harness::new("2026-06-05T15:30:00+07:00");
    let d = birth(&h);
    assert_eq!(
        d.clock.due_at,
        at("2026-06-08T17:00:00+07:00"),
        "Friday after 15:00 → Monday's close"
    );
    let d = act(
        &h,
        &d,
        "tra_ket_qua",
        officer("tp01", "tu_phap", "tu_phap_ho_tich"),
    )
    .unwrap();
    assert!(d.ending.unwrap().on_time);
}

#[test]
fn a_dossier_received_on_a_holiday_counts_from_the_next_working_day() {
    // Online on Hùng Kings' Day 2026 (Sunday 26 April; Monday 27 April is the day in lieu).
    let h = Harness::new("2026-04-26T10:00:00+07:00");
    let mut s = house_permit(serde_json::json!({"ho_ten_tre": "Lê An"}));
    s.procedure = "khai-sinh-trong-ngay-thu-nghiem".into();
    s.documents = vec![];
    s.channel = motcua::dossier::Channel::Online;
    let d = h.engine.submit(s).unwrap().dossier;
    assert_eq!(d.clock.due_at, at("2026-04-28T17:00:00+07:00"));
}

#[test]
fn the_engine_refuses_a_procedure_the_validator_rejects_and_keeps_the_current_version() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let v1 = std::fs::read_to_string(fixture("engine/xay-dung.yaml")).unwrap();
    let broken = v1.replace(
        "to: ky_duyet, roles: [chuyen_vien] }",
        "to: ky_duyett, roles: [chuyen_vien] }",
    );
    let err = h
        .engine
        .load_procedure("procedures/xay-dung.yaml", broken)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_procedure");
    let message = err.to_string();
    assert!(message.contains("procedures/xay-dung.yaml:"), "{message}");
    assert!(message.contains("error[E011]"), "{message}");
    assert!(
        message.contains("ky_duyet"),
        "a did-you-mean hint or the name: {message}"
    );
    let current = h.engine.procedure("cap-phep-xay-dung-thu-nghiem").unwrap();
    assert_eq!(current.source, v1, "the valid version stays current");
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

#[test]
fn the_sample_birth_registration_is_returned_the_same_day_or_the_next_after_15_00() {
    let h = Harness::new("2026-06-03T10:00:00+07:00");
    h.engine
        .load_procedures_dir(&fixture("../../procedures"))
        .unwrap();
    let submit = |h: &Harness| {
        let p = h.engine.procedure("dang-ky-khai-sinh").unwrap();
        let mut s = house_permit(p.procedure.form["examples"][0].clone());
        s.procedure = "dang-ky-khai-sinh".into();
        s.documents = vec![];
        h.engine.submit(s).unwrap().dossier
    };
    assert_eq!(submit(&h).clock.due_at, at("2026-06-03T17:00:00+07:00"));
    h.now("2026-06-03T15:01:00+07:00");
    assert_eq!(submit(&h).clock.due_at, at("2026-06-04T17:00:00+07:00"));
}

#[test]
fn an_engine_opens_when_a_stored_version_fails_checks_that_grew_stricter_since() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = std::fs::read_to_string(fixture("engine/xay-dung.yaml")).unwrap();
    // An unreachable state: today's checker rejects it (E032), an older one may not have.
    let older = v1.replace(
        "  - { id: da_tra,",
        "  - { id: mo_coi, label: Không ai tới, kind: task, department: phong_qlxd, budget: 1 working days, status: 4 }\n  - { id: da_tra,",
    );
    assert!(motcua::procedure::load_and_check_str(&older, "older.yaml").has_errors());
    {
        let store = open_store(dir.path());
        let pin = motcua::dossier::transition::Transition {
            changes: vec![],
            idempotency: None,
            procedures: vec![(
                motcua::procedure::content_hash(older.as_bytes()),
                older.clone(),
            )],
            plugins: vec![],
        };
        store.commit(pin).unwrap();
    }
    let clock = std::sync::Arc::new(motcua::clock::ManualClock::new(at(
        "2026-06-01T09:00:00+07:00",
    )));
    let engine = open(dir.path(), clock);
    assert_eq!(
        engine
            .procedure("cap-phep-xay-dung-thu-nghiem")
            .unwrap()
            .source,
        older
    );
}

#[test]
fn audit_and_outbox_pages_start_at_any_sequence_number_inside_a_commit_batch() {
    // Concurrent submissions share commit batches, so the log and the outbox hold chunks of
    // several entries; a page may start in the middle of one.
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..5 {
                    h.engine.submit(house_permit(house())).unwrap();
                }
            });
        }
    });
    let store = h.engine.store();
    let all = store.audit(0, 1000).unwrap();
    assert_eq!(all.len(), 40);
    assert_eq!(audit::verify(audit::GENESIS, &all), Ok(40));
    for from in 1..=40u64 {
        let page = store.audit(from, 3).unwrap();
        let seqs: Vec<u64> = page.iter().map(|e| e.seq).collect();
        let want: Vec<u64> = (from..(from + 3).min(41)).collect();
        assert_eq!(seqs, want, "audit page from {from}");
        assert_eq!(
            store.history(&page[0].dossier).unwrap(),
            vec![page[0].clone()]
        );
    }
    let events = store.outbox(0, 1000).unwrap();
    assert_eq!(events.len(), 40);
    for after in 0..40u64 {
        let page = store.outbox(after, 2).unwrap();
        let seqs: Vec<u64> = page.iter().map(|(s, _)| *s).collect();
        let want: Vec<u64> = ((after + 1)..(after + 3).min(41)).collect();
        assert_eq!(seqs, want, "outbox page after {after}");
        assert_eq!(page[0].1, events[after as usize].1);
    }
    assert!(store.audit(41, 10).unwrap().is_empty());
    assert!(store.outbox(40, 10).unwrap().is_empty());
}

/// A store written by the earlier layout (one sled tree per kind of record) is refused with a
/// message naming it, and opening it changes nothing in it.
#[test]
fn a_store_in_the_older_many_tree_layout_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = waiting_for_sled_lock(|| sled::open(dir.path())).unwrap();
        let dossiers = db.open_tree("dossiers").unwrap();
        dossiers
            .insert("000.17.22.H56-260601-0001", &b"{}"[..])
            .unwrap();
        db.flush().unwrap();
    }
    let err = match motcua::store::sled::SledStore::open(dir.path(), Default::default()) {
        Ok(_) => panic!("an older store must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("older motcua") && err.contains("dossiers"),
        "{err}"
    );
    let db = waiting_for_sled_lock(|| sled::open(dir.path())).unwrap();
    let names: Vec<_> = db.tree_names().into_iter().collect();
    assert!(
        !names.iter().any(|n| n.as_ref() == b"motcua"),
        "no new tree was created in it"
    );
    assert_eq!(
        db.open_tree("dossiers")
            .unwrap()
            .get("000.17.22.H56-260601-0001")
            .unwrap()
            .as_deref(),
        Some(&b"{}"[..])
    );
}

/// Version 2 moves the desk step to a new reception department. A list by state finds the
/// dossiers of both versions, in code order, page by page, across the two departments'
/// prefixes; each department's own list has only its dossiers.
#[test]
fn a_state_owned_by_two_departments_across_versions_lists_both_in_code_order() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let a = h.engine.submit(house_permit(house())).unwrap().dossier;
    let v2 = house_permit_version_2(&[
        (
            "  - { id: bo_phan_mot_cua, name: Bộ phận một cửa }\n",
            "  - { id: bo_phan_mot_cua, name: Bộ phận một cửa }\n  - { id: trung_tam_hcc, name: Trung tâm hành chính công }\n",
        ),
        (
            "start: true, department: bo_phan_mot_cua",
            "start: true, department: trung_tam_hcc",
        ),
    ]);
    h.engine.load_procedure("v2", v2).unwrap();
    let b = h.engine.submit(house_permit(house())).unwrap().dossier;
    let c = h.engine.submit(house_permit(house())).unwrap().dossier;
    assert_eq!(b.tokens[0].department.as_deref(), Some("trung_tam_hcc"));
    let at_desk = Query::State {
        procedure: "cap-phep-xay-dung-thu-nghiem".into(),
        state: "tiep_nhan".into(),
    };
    let all = [a.code.clone(), b.code.clone(), c.code.clone()];
    assert_eq!(every_page(&h, &at_desk), all);
    assert_eq!(pages_of(&h, &at_desk, 2), all);
    let old_desk = Query::Department {
        department: "bo_phan_mot_cua".into(),
        state: None,
    };
    assert_eq!(every_page(&h, &old_desk), [a.code]);
    let new_desk = Query::Department {
        department: "trung_tam_hcc".into(),
        state: Some("tiep_nhan".into()),
    };
    assert_eq!(every_page(&h, &new_desk), [b.code.clone(), c.code.clone()]);
    // The state's departments are stored: after a restart the list still finds both.
    let h = h.reopen(false);
    assert_eq!(every_page(&h, &at_desk), all);
}

/// Regression: uploads were restored in the order of their marks' names (their hashes), so
/// after a restart an older upload could win a tie of `effective_from` over the latest one,
/// and nodes restarted at different times ran different versions.
#[test]
fn uploaded_versions_are_restored_in_the_order_they_were_uploaded() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let v1 = std::fs::read_to_string(fixture("engine/xay-dung.yaml")).unwrap();
    let in_force = |h: &Harness| {
        h.engine
            .procedure("cap-phep-xay-dung-thu-nghiem")
            .map(|p| p.procedure.version.clone())
    };
    // Several uploads in one manual-clock instant: each still comes after the one before.
    for v in ["2", "3", "4", "5", "6"] {
        h.engine
            .upload_procedure(
                "cap-phep-xay-dung-thu-nghiem",
                v1.replace("version: \"1\"", &format!("version: \"{v}\"")),
            )
            .unwrap();
    }
    assert_eq!(in_force(&h).as_deref(), Some("6"));
    // Uploading version 3 again makes it the latest.
    h.engine
        .upload_procedure(
            "cap-phep-xay-dung-thu-nghiem",
            v1.replace("version: \"1\"", "version: \"3\""),
        )
        .unwrap();
    assert_eq!(in_force(&h).as_deref(), Some("3"));
    let h = h.reopen(true);
    assert_eq!(
        h.engine.restore_uploads().unwrap(),
        5,
        "one mark per source"
    );
    assert_eq!(in_force(&h).as_deref(), Some("3"));
}
