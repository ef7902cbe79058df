//! The desk acts for an applicant who hands a supplement or a withdrawal in on paper: the
//! applicant's own actions (`by: applicant`) taken by an officer of the procedure's
//! `on_behalf` roles (by default the receiving desk's), recorded as theirs for that applicant.
//! A dossier whose applicant comes to the counter is no longer stuck.

use crate::support;

conformance!();

use motcua::dossier::transition::{ActionRequest, Error as Refusal};
use support::*;

use crate::engine::{awaiting_supplement, desk, structure};

fn for_applicant(
    d: &motcua::dossier::Dossier,
    action: &str,
    actor: motcua::dossier::Actor,
) -> ActionRequest {
    ActionRequest {
        on_behalf: true,
        ..request(d, action, actor)
    }
}

fn refusal(r: motcua::Result<motcua::dossier::Dossier>) -> Refusal {
    match r {
        Err(motcua::Error::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn the_desk_records_a_paper_supplement_and_the_clock_resumes() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = awaiting_supplement(&h);
    assert!(d.clock.paused_since.is_some(), "waiting on the applicant");
    let before = d.clock.due_at;
    // The desk is offered the applicant's actions, marked as taken for them.
    let offered = h.engine.available_actions_of(&d, &desk()).unwrap();
    let names: Vec<(&str, bool)> = offered
        .iter()
        .map(|a| (a.action.as_str(), a.on_behalf))
        .collect();
    assert!(names.contains(&("bo_sung_ve_tong_hop", true)), "{names:?}");
    assert!(names.contains(&("rut", true)), "{names:?}");

    h.now("2026-06-10T10:00:00+07:00");
    let next = h
        .engine
        .act(ActionRequest {
            comment: Some("Công dân nộp bản vẽ tại quầy".into()),
            ..for_applicant(&d, "bo_sung_ve_tong_hop", desk())
        })
        .unwrap();
    assert_eq!(states(&next), ["tong_hop"]);
    assert!(next.clock.paused_since.is_none(), "the clock runs again");
    assert!(
        next.clock.due_at > before,
        "the appointment moved by the pause"
    );
    let history = h.engine.history(&d.code).unwrap();
    let taken = history
        .iter()
        .find(|e| e.action == "bo_sung_ve_tong_hop")
        .expect("the action's entry");
    assert_eq!(taken.actor, "mc01", "the officer who recorded it");
    assert_eq!(taken.roles, ["mot_cua"]);
    assert_eq!(
        taken.on_behalf.as_deref(),
        Some("079090001234"),
        "for this applicant"
    );
    assert_eq!(
        taken.comment.as_deref(),
        Some("Công dân nộp bản vẽ tại quầy")
    );
    assert!(
        history.iter().any(|e| e.action == "system:resume"),
        "the resume is its own entry"
    );
    motcua::audit::verify_store(h.engine.store(), &Default::default()).unwrap();
}

#[test]
fn only_the_on_behalf_roles_and_only_the_applicants_actions() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = awaiting_supplement(&h);
    // As themselves, officers cannot take the applicant's action.
    let e = refusal(h.engine.act(request(&d, "rut", desk())));
    assert!(matches!(e, Refusal::ApplicantOnly { .. }), "{e}");
    // An appraisal officer is not the receiving desk.
    let e = refusal(h.engine.act(for_applicant(&d, "rut", structure())));
    assert!(matches!(e, Refusal::NotOnBehalf { .. }), "{e}");
    assert!(e.to_string().contains("mot_cua"), "{e}");
    // An officer's own action is not taken "for the applicant".
    let at_desk = h.engine.submit(house_permit(house())).unwrap().dossier;
    let e = refusal(
        h.engine
            .act(for_applicant(&at_desk, "chuyen_tham_dinh", desk())),
    );
    assert!(matches!(e, Refusal::NotOnBehalf { .. }), "{e}");
    // Nothing of the refusals was written.
    assert_eq!(h.engine.dossier(&d.code).unwrap().version, d.version);
    // The withdrawal, for the applicant, ends the dossier as withdrawn.
    let gone = h.engine.act(for_applicant(&d, "rut", desk())).unwrap();
    assert_eq!(
        gone.ending.as_ref().map(|e| e.outcome),
        Some(motcua::procedure::Outcome::Withdrawn)
    );
}

#[test]
fn a_procedure_names_its_own_on_behalf_roles_and_the_validator_checks_them() {
    let source = std::fs::read_to_string(fixture("engine").join("xay-dung.yaml")).unwrap();
    // The procedure lets its appraisal officers record supplements too, and not the desk.
    let own = source.replacen("\nstates:", "\non_behalf: [chuyen_vien]\nstates:", 1);
    assert_ne!(own, source);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("xay-dung.yaml"), &own).unwrap();
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    h.engine.load_procedures_dir(dir.path()).unwrap();
    let d = awaiting_supplement(&h);
    let e = refusal(h.engine.act(for_applicant(&d, "rut", desk())));
    assert!(matches!(e, Refusal::NotOnBehalf { .. }), "{e}");
    let next = h
        .engine
        .act(for_applicant(&d, "bo_sung_ve_tong_hop", structure()))
        .unwrap();
    assert_eq!(states(&next), ["tong_hop"]);

    let unknown = source.replacen("\nstates:", "\non_behalf: [thu_ky]\nstates:", 1);
    std::fs::write(dir.path().join("xay-dung.yaml"), &unknown).unwrap();
    let report = motcua::procedure::load_and_check_file(&dir.path().join("xay-dung.yaml"));
    let text = format!("{report:?}");
    assert!(text.contains("on_behalf"), "{text}");
    assert!(text.contains("thu_ky"), "{text}");
}
