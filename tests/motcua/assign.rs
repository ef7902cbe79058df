//! Named officers: a step claimed by an officer of its roles, assigned and reassigned by a
//! head of its department, given back; each change its own audited version; "assigned to me"
//! listed in due order from the store's index, on every store.

use crate::support;

conformance!();

use motcua::dossier::transition::{AssignRequest, Error as Refusal};
use motcua::dossier::{Actor, Dossier};
use motcua::store::{Query, Scope, Search, Sort};
use support::*;

use crate::engine::{desk, head_of_office, structure, zoning};

fn give(d: &Dossier, state: &str, to: Option<&str>, actor: Actor) -> AssignRequest {
    AssignRequest {
        dossier: d.code.clone(),
        state: state.into(),
        assignee: to.map(String::from),
        actor,
        comment: None,
        seen_version: d.version,
    }
}

fn assigned_to(h: &Harness, officer: &str) -> Vec<String> {
    let q = Query::Search(Box::new(Search {
        assignee: Some(officer.into()),
        scope: Scope::Open,
        sort: Sort::Due,
        ..Default::default()
    }));
    h.engine
        .list(&q, None, 50)
        .unwrap()
        .dossiers
        .into_iter()
        .map(|d| d.code)
        .collect()
}

fn structure_2() -> Actor {
    officer("qlxd02", "chuyen_vien", "phong_qlxd")
}

#[test]
fn claimed_assigned_reassigned_and_given_back_each_audited() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let d = act(&h, &d, "chuyen_tham_dinh", desk()).unwrap();
    // The structure officer claims their step.
    let d = h
        .engine
        .assign(give(&d, "ket_cau", Some("qlxd01"), structure()))
        .unwrap();
    let token = d.tokens.iter().find(|t| t.state == "ket_cau").unwrap();
    assert_eq!(token.assignee.as_deref(), Some("qlxd01"));
    assert_eq!(assigned_to(&h, "qlxd01"), vec![d.code.clone()]);
    // The head of the office reassigns it to a colleague.
    let d = h
        .engine
        .assign(give(&d, "ket_cau", Some("qlxd02"), head_of_office()))
        .unwrap();
    assert!(
        assigned_to(&h, "qlxd01").is_empty(),
        "gone from the first list in the same commit"
    );
    assert_eq!(assigned_to(&h, "qlxd02"), vec![d.code.clone()]);
    // The colleague gives it back to the department.
    let d = h
        .engine
        .assign(give(&d, "ket_cau", None, structure_2()))
        .unwrap();
    assert!(assigned_to(&h, "qlxd02").is_empty());
    let history = h.engine.history(&d.code).unwrap();
    let assignments: Vec<(String, serde_json::Value)> = history
        .iter()
        .filter(|e| e.action == "assign")
        .map(|e| (e.actor.clone(), e.input["assignee"].clone()))
        .collect();
    assert_eq!(
        assignments,
        vec![
            ("qlxd01".to_string(), serde_json::json!("qlxd01")),
            ("qlxd00".to_string(), serde_json::json!("qlxd02")),
            ("qlxd02".to_string(), serde_json::Value::Null),
        ]
    );
    motcua::audit::verify_store(h.engine.store(), &Default::default()).unwrap();
}

#[test]
fn only_the_steps_officers_claim_and_only_heads_assign_others() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let d = act(&h, &d, "chuyen_tham_dinh", desk()).unwrap();
    let refused = |r: motcua::Result<Dossier>| match r {
        Err(motcua::Error::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    };
    // Zoning is another department's: its officer cannot claim the structure step.
    let e = refused(
        h.engine
            .assign(give(&d, "ket_cau", Some("tnmt01"), zoning())),
    );
    assert!(matches!(e, Refusal::RoleRequired { .. }), "{e}");
    // An officer of the step may claim it, not give it to a colleague.
    let e = refused(
        h.engine
            .assign(give(&d, "ket_cau", Some("qlxd02"), structure())),
    );
    assert!(matches!(e, Refusal::RoleRequired { .. }), "{e}");
    // Not an active step.
    let e = refused(
        h.engine
            .assign(give(&d, "tong_hop", Some("qlxd01"), structure())),
    );
    assert!(matches!(e, Refusal::NotAvailable { .. }), "{e}");
    assert_eq!(
        h.engine.dossier(&d.code).unwrap().version,
        d.version,
        "nothing written"
    );
    // Assigned twice to the same officer: nothing to record.
    let d = h
        .engine
        .assign(give(&d, "ket_cau", Some("qlxd01"), structure()))
        .unwrap();
    let e = refused(
        h.engine
            .assign(give(&d, "ket_cau", Some("qlxd01"), head_of_office())),
    );
    assert!(matches!(e, Refusal::BadInput { .. }), "{e}");
}

#[test]
fn an_assignment_is_no_conflict_for_a_decision_on_the_step_and_ends_with_it() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let page = act(&h, &d, "chuyen_tham_dinh", desk()).unwrap();
    // The head assigns the step after the officer loaded the page: their decision still lands.
    h.engine
        .assign(give(&page, "ket_cau", Some("qlxd01"), head_of_office()))
        .unwrap();
    let d = h
        .engine
        .act(request(&page, "dat_ket_cau", structure()))
        .unwrap();
    assert!(
        d.tokens.iter().all(|t| t.assignee.is_none()),
        "the next step starts unassigned"
    );
    assert!(assigned_to(&h, "qlxd01").is_empty());
}

/// An escalation may take an overdue step back from its named officer: the rule says
/// `unassign: true`, and the step waits in its department's pool for the head to give it on.
#[test]
fn an_escalation_takes_an_overdue_step_back_to_the_pool() {
    let source = std::fs::read_to_string(fixture("engine").join("xay-dung.yaml")).unwrap();
    let line = "  - { id: ket_cau, label: Kiểm tra kết cấu, kind: task, department: phong_qlxd, budget: 5 working days, status: 4 }";
    assert!(source.contains(line));
    let source = source.replacen(
        line,
        "  - { id: ket_cau, label: Kiểm tra kết cấu, kind: task, department: phong_qlxd, budget: 5 working days, status: 4, escalation: [{ after: 0 working hours, notify: [lanh_dao], unassign: true }] }",
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("xay-dung.yaml"), source).unwrap();
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    h.engine.load_procedures_dir(dir.path()).unwrap();
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let d = act(&h, &d, "chuyen_tham_dinh", desk()).unwrap();
    let d = h
        .engine
        .assign(give(&d, "ket_cau", Some("qlxd01"), structure()))
        .unwrap();
    let due = d
        .tokens
        .iter()
        .find(|t| t.state == "ket_cau")
        .unwrap()
        .due_at
        .unwrap();
    let later = due + jiff::SignedDuration::from_mins(1);
    h.clock.set(later);
    h.engine.fire_due(later).unwrap();
    let d = h.engine.dossier(&d.code).unwrap();
    let token = d.tokens.iter().find(|t| t.state == "ket_cau").unwrap();
    assert_eq!(token.assignee, None, "back in the department's pool");
    assert!(assigned_to(&h, "qlxd01").is_empty());
    let history = h.engine.history(&d.code).unwrap();
    let escalation = history
        .iter()
        .find(|e| e.action == "system:escalation")
        .expect("the escalation's entry");
    assert_eq!(escalation.input["unassigned"], "qlxd01");
}

/// Regression (review): two officers claiming one step from the same page both succeeded,
/// the second silently taking it. An assignment needs the version it was decided on.
#[test]
fn two_claims_from_one_page_the_second_is_a_conflict() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let page = act(&h, &d, "chuyen_tham_dinh", desk()).unwrap();
    h.engine
        .assign(give(&page, "ket_cau", Some("qlxd01"), structure()))
        .unwrap();
    match h
        .engine
        .assign(give(&page, "ket_cau", Some("qlxd02"), structure_2()))
    {
        Err(motcua::Error::Refused(Refusal::Conflict { .. })) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(assigned_to(&h, "qlxd01"), vec![page.code.clone()]);
}
