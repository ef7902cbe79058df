//! Two officers on the two parallel branches of one dossier: the second is no longer refused
//! as stale when the other branch's move changed nothing of the step they decided on. A real
//! conflict (the same step moved, or a step entered after the version they saw) still is.

use std::sync::{Arc, Barrier};

use crate::support;

conformance!();

use motcua::dossier::transition::{ActionRequest, Error as Refusal};
use support::*;

use crate::engine::{desk, structure, zoning};

fn seen_at(
    d: &motcua::dossier::Dossier,
    version: u64,
    action: &str,
    actor: motcua::dossier::Actor,
) -> ActionRequest {
    ActionRequest {
        seen_version: version,
        ..request(d, action, actor)
    }
}

fn conflict(r: motcua::Result<motcua::dossier::Dossier>) -> (u64, u64) {
    match r {
        Err(motcua::Error::Refused(Refusal::Conflict { seen, current, .. })) => (seen, current),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn both_branches_accept_a_decision_made_on_the_same_page_version() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let d = act(&h, &d, "chuyen_tham_dinh", desk()).unwrap();
    assert_eq!(states(&d), ["ket_cau", "quy_hoach"]);
    let page = d.version;
    // Zoning decides first; structure decides on the page it loaded before that.
    let after_zoning = h
        .engine
        .act(seen_at(&d, page, "dat_quy_hoach", zoning()))
        .unwrap();
    assert_eq!(after_zoning.version, page + 1);
    let joined = h
        .engine
        .act(ActionRequest {
            comment: Some("Kết cấu đạt".into()),
            ..seen_at(&d, page, "dat_ket_cau", structure())
        })
        .unwrap();
    assert_eq!(
        states(&joined),
        ["tong_hop"],
        "both branches met at the join"
    );
    let history = h.engine.history(&d.code).unwrap();
    let taken = history.iter().find(|e| e.action == "dat_ket_cau").unwrap();
    assert_eq!(taken.comment.as_deref(), Some("Kết cấu đạt"));
    assert_eq!(
        taken.version,
        page + 2,
        "recorded on top of the other branch's move"
    );
    motcua::audit::verify_store(h.engine.store(), &Default::default()).unwrap();
}

#[test]
fn a_real_conflict_is_still_refused_and_writes_nothing() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let received = h.engine.submit(house_permit(house())).unwrap().dossier;
    let d = act(&h, &received, "chuyen_tham_dinh", desk()).unwrap();
    let page = d.version;
    act(&h, &d, "dat_quy_hoach", zoning()).unwrap();
    // A second zoning officer on the same page: their step has already moved.
    let mut colleague = zoning();
    colleague.id = "tnmt02".into();
    let r = h.engine.act(seen_at(&d, page, "dat_quy_hoach", colleague));
    // The step left is gone: not available, whatever the version.
    assert!(r.is_err(), "{r:?}");
    // A version seen before the step was entered is stale for it.
    assert_eq!(
        conflict(
            h.engine
                .act(seen_at(&d, received.version, "dat_ket_cau", structure()))
        ),
        (received.version, page + 1)
    );
    // A version from the future is no version at all.
    assert!(matches!(
        h.engine
            .act(seen_at(&d, page + 5, "dat_ket_cau", structure())),
        Err(motcua::Error::Refused(Refusal::Conflict { .. }))
    ));
    assert_eq!(h.engine.dossier(&d.code).unwrap().version, page + 1);
}

#[test]
fn simultaneous_commits_on_two_branches_both_land() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let engine = Arc::new(h.engine);
    for _ in 0..10 {
        let d = engine.submit(house_permit(house())).unwrap().dossier;
        let d = engine.act(request(&d, "chuyen_tham_dinh", desk())).unwrap();
        let start = Arc::new(Barrier::new(2));
        let branches = [("dat_quy_hoach", zoning()), ("dat_ket_cau", structure())];
        let threads: Vec<_> = branches
            .into_iter()
            .map(|(action, actor)| {
                let (engine, start, d) = (engine.clone(), start.clone(), d.clone());
                std::thread::spawn(move || {
                    start.wait();
                    engine.act(request(&d, action, actor))
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        let now = engine.dossier(&d.code).unwrap();
        assert_eq!(states(&now), ["tong_hop"]);
        assert_eq!(now.version, d.version + 2);
    }
}

/// Regression (review): an extension leaves its step where it is, so two extensions decided
/// on one page both passed the branch rule. A notice needs the version it was decided on.
#[test]
fn two_extensions_from_one_page_the_second_is_a_conflict() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = crate::engine::appraised(&h);
    let d = act(&h, &d, "trinh_ky", structure()).unwrap();
    let extend = |seen: &motcua::dossier::Dossier| {
        h.engine.act(motcua::dossier::transition::ActionRequest {
            comment: Some("Chờ ý kiến Sở Xây dựng".into()),
            ..request(seen, "xin_gia_han", crate::engine::head_of_office())
        })
    };
    extend(&d).unwrap();
    assert!(matches!(
        extend(&d),
        Err(motcua::Error::Refused(Refusal::Conflict { .. }))
    ));
}
