//! Procedure versions in the engine: a dossier keeps the version it was received under, an
//! upload the validator rejects keeps the current one, a stored version that today's checks
//! reject still opens, uploads are restored in upload order; a store in an older layout is
//! refused untouched.

use crate::support;

conformance!();

use motcua::procedure::Outcome;
use support::*;

use crate::engine::desk;

/// The house-permit fixture as version 2, with each `(from, to)` edit made (each must apply).
pub(crate) fn house_permit_version_2(edits: &[(&str, &str)]) -> String {
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
    // sled lets go of a dropped handle's file lock a moment later.
    let err = match waiting_for_sled_lock(|| {
        motcua::store::sled::SledStore::open(dir.path(), Default::default())
    }) {
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
