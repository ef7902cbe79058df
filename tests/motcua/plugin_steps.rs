//! Plugin steps inside the engine, with the real plugins built from `plugins/`: a CCCD
//! validator on submission, a computed fee, an automatic completeness check that routes the
//! dossier, and hostile plugins that must be cut off without losing the engine.

use crate::support;

conformance!();

use motcua::audit::SystemAction;
use motcua::dossier::transition::ActionRequest;
use motcua::dossier::{Actor, Dossier};
use support::*;

fn harness() -> Harness {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    h.engine
        .load_procedures_dir(&fixture("plugin-engine"))
        .expect("plugin fixtures load");
    h
}

fn permit(procedure: &str, documents: &[&str]) -> motcua::dossier::transition::Submission {
    let mut s = house_permit(serde_json::json!({
        "so_cccd": "048090001234",
        "nam_sinh": 1990,
        "gioi_tinh": "nam",
        "dien_tich_san": 180.0,
        "quan": "hai_chau"
    }));
    s.procedure = procedure.into();
    s.documents = documents.iter().map(|d| d.to_string()).collect();
    s
}

/// A construction permit handed in with every required document.
fn complete_permit(h: &Harness) -> Dossier {
    h.engine
        .submit(permit("xay-dung-tu-dong", &["don", "ban_ve", "gcn_qsdd"]))
        .unwrap()
        .dossier
}

fn states(d: &Dossier) -> Vec<&str> {
    d.active_states().collect()
}

#[test]
fn a_complete_dossier_is_checked_by_the_plugin_and_sent_to_appraisal_in_one_commit() {
    let h = harness();
    let d = complete_permit(&h);
    assert_eq!(states(&d), ["tham_dinh"]);
    assert_eq!(
        d.version, 2,
        "receipt and the automatic decision: two steps, one commit"
    );
    let history = h.engine.history(&d.code).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].action, "du_ho_so");
    assert_eq!(history[1].actor, "system");
    assert_eq!(history[1].input["plugin"], "thanh-phan");
    assert_eq!(history[1].from, ["kiem_tra"]);
    assert_eq!(history[1].to, ["tham_dinh"]);
}

/// Regression: the pause a plugin's decision caused carried the plugin's decision record as
/// its input (the plugin step overwrote every entry of the decision's step), so the audit did
/// not say why the clock stopped.
#[test]
fn a_pause_caused_by_a_plugin_decision_records_its_own_reason_state_and_appointment() {
    let h = harness();
    let d = h
        .engine
        .submit(permit("xay-dung-tu-dong", &["don"]))
        .unwrap()
        .dossier;
    assert_eq!(states(&d), ["cho_bo_sung"]);
    let history = h.engine.history(&d.code).unwrap();
    let decision = history
        .iter()
        .find(|e| e.actor == "system" && !SystemAction::is_system(&e.action))
        .expect("the plugin's decision");
    assert_eq!(decision.input["plugin"], "thanh-phan");
    let pause = history
        .iter()
        .find(|e| e.action == SystemAction::Pause)
        .expect("the clock's pause");
    assert_eq!(pause.version, decision.version + 1);
    assert_eq!(pause.input["reason"], "waiting_on_applicant");
    assert_eq!(pause.input["state"], "cho_bo_sung");
    assert_eq!(
        pause.input["appointment"],
        serde_json::to_value(d.clock.due_at).unwrap()
    );
    assert!(pause.input.get("plugin").is_none(), "{}", pause.input);
    assert!(pause.input.get("decision").is_none(), "{}", pause.input);
}

#[test]
fn a_missing_document_sends_the_dossier_to_supplement_with_the_list_patched_in() {
    let h = harness();
    let d = h
        .engine
        .submit(permit("xay-dung-tu-dong", &["don"]))
        .unwrap()
        .dossier;
    assert_eq!(states(&d), ["cho_bo_sung"]);
    assert_eq!(
        d.data["giay_to_thieu"],
        serde_json::json!(["ban_ve", "gcn_qsdd"])
    );
    assert!(
        d.clock.paused_since.is_some(),
        "waiting on the applicant pauses the clock"
    );
    // The applicant hands in the rest; the plugin checks again and lets it through.
    let applicant = Actor {
        id: d.applicant.id.clone(),
        roles: vec![],
        departments: vec![],
    };
    let d = h
        .engine
        .act(ActionRequest {
            dossier: d.code.clone(),
            action: "nop_bo_sung".into(),
            actor: applicant,
            input: serde_json::json!({"giay_to": ["ban_ve", "gcn_qsdd"]}),
            comment: None,
            seen_version: d.version,
            on_behalf: false,
        })
        .unwrap();
    assert_eq!(states(&d), ["tham_dinh"]);
    assert_eq!(d.clock.paused_since, None);
}

#[test]
fn the_fee_is_computed_by_the_plugin_beside_the_fixed_fee() {
    let h = harness();
    let d = complete_permit(&h);
    let fees: Vec<(&str, u64)> = d.fees.iter().map(|f| (f.id.as_str(), f.amount)).collect();
    assert_eq!(
        fees,
        [("phi_tham_dinh", 20_000), ("le_phi", 75_000)],
        "180 m² in Hải Châu is the 100–250 m² band"
    );
}

#[test]
fn an_invalid_cccd_is_refused_with_the_plugins_field_errors_and_nothing_is_written() {
    let h = harness();
    let mut s = permit("xay-dung-tu-dong", &["don", "ban_ve", "gcn_qsdd"]);
    s.data["so_cccd"] = serde_json::json!("999090001234");
    let err = h.engine.submit(s).unwrap_err();
    assert_eq!(err.code(), "validation_failed");
    assert!(err.to_string().contains("cccd.province"), "{err}");
    let mut s = permit("xay-dung-tu-dong", &["don", "ban_ve", "gcn_qsdd"]);
    s.data["nam_sinh"] = serde_json::json!(1985);
    let err = h.engine.submit(s).unwrap_err();
    assert!(err.to_string().contains("cccd.birth_year"), "{err}");
    assert_eq!(h.engine.store().dossier_count().unwrap(), 0);
}

#[test]
fn a_plugin_that_never_stops_is_cut_off_and_the_dossier_goes_to_the_manual_check() {
    let h = harness();
    let started = std::time::Instant::now();
    let d = h
        .engine
        .submit(permit("xay-dung-vong-lap", &["don", "ban_ve", "gcn_qsdd"]))
        .unwrap()
        .dossier;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "cut off by its limit, not left running"
    );
    assert_eq!(states(&d), ["kiem_tra_tay"]);
    let history = h.engine.history(&d.code).unwrap();
    let routed = &history[1];
    assert_eq!(routed.action, "kiem_tra_thu_cong");
    assert_eq!(
        routed.input["error"], "time_limit",
        "the audit log names the failure: {:?}",
        routed.input
    );
    assert!(
        routed
            .comment
            .as_deref()
            .unwrap_or("")
            .contains("time_limit")
    );
    // The engine keeps serving: the next dossier of a well-behaved procedure goes through.
    let next = complete_permit(&h);
    assert_eq!(states(&next), ["tham_dinh"]);
}

#[test]
fn a_trapping_plugin_without_an_error_route_refuses_the_submission_and_writes_nothing() {
    let h = harness();
    let err = h
        .engine
        .submit(permit("xay-dung-bay", &["don", "ban_ve", "gcn_qsdd"]))
        .unwrap_err();
    assert_eq!(err.code(), "plugin_failed");
    assert!(err.to_string().contains("trap"), "{err}");
    assert_eq!(h.engine.store().dossier_count().unwrap(), 0);
    assert!(h.engine.store().audit(0, 10).unwrap().is_empty());
}

#[test]
fn nobody_outside_the_engine_may_act_as_the_system() {
    let h = harness();
    let d = h
        .engine
        .submit(permit("xay-dung-vong-lap", &["don"]))
        .unwrap()
        .dossier;
    let err = h
        .engine
        .act(ActionRequest {
            dossier: d.code.clone(),
            action: "tiep_nhan_tay".into(),
            actor: Actor::system(),
            input: serde_json::json!({}),
            comment: None,
            seen_version: d.version,
            on_behalf: false,
        })
        .unwrap_err();
    assert_eq!(err.code(), "forbidden");
}

#[test]
fn plugins_pinned_by_a_version_come_back_from_the_store_after_a_restart() {
    let h = harness();
    let first = h
        .engine
        .submit(permit("xay-dung-tu-dong", &["don"]))
        .unwrap()
        .dossier;
    // Restart without loading any procedure file: the version and its plugins are in the store.
    let h = h.reopen(false);
    let applicant = Actor {
        id: first.applicant.id.clone(),
        roles: vec![],
        departments: vec![],
    };
    let d = h
        .engine
        .act(ActionRequest {
            dossier: first.code.clone(),
            action: "nop_bo_sung".into(),
            actor: applicant,
            input: serde_json::json!({"giay_to": ["ban_ve", "gcn_qsdd"]}),
            comment: None,
            seen_version: first.version,
            on_behalf: false,
        })
        .unwrap();
    assert_eq!(
        states(&d),
        ["tham_dinh"],
        "the completeness plugin ran from the stored bytes"
    );
}

#[test]
fn a_version_whose_plugin_file_was_altered_is_refused_at_load() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let source = std::fs::read_to_string(fixture("plugin-engine/xay-dung-tu-dong.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins/dist");
    std::fs::create_dir_all(&plugins).unwrap();
    for name in ["cccd.wasm", "kiem-tra-thanh-phan.wasm", "phi-xay-dung.wasm"] {
        std::fs::copy(fixture("../../plugins/dist").join(name), plugins.join(name)).unwrap();
    }
    let mut tampered = std::fs::read(plugins.join("cccd.wasm")).unwrap();
    tampered.push(0);
    std::fs::write(plugins.join("cccd.wasm"), tampered).unwrap();
    let nested = dir.path().join("a/b/c");
    std::fs::create_dir_all(&nested).unwrap();
    let origin = nested.join("xay-dung-tu-dong.yaml");
    let err = h
        .engine
        .load_procedure(&origin.display().to_string(), source)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_procedure");
    assert!(
        err.to_string().contains("the procedure pins 928dd330"),
        "{err}"
    );
}

/// A build without plugins runs these same steps with the no-op runner: a procedure pinning
/// plugins still loads, every step that needs a plugin is refused as not built and nothing
/// is written, even where the automatic state has an error route (a build that cannot run
/// plugins must not decide cases by their error path).
#[test]
fn without_a_plugin_runtime_every_plugin_step_is_refused_and_nothing_is_written() {
    use motcua::engine::{Engine, Options};
    use motcua::plugin::NoRunner;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(motcua::clock::ManualClock::new(at(
        "2026-06-01T09:00:00+07:00",
    )));
    let engine = Engine::open(
        open_store(dir.path()),
        Arc::new(calendar::test_calendar()),
        clock,
        Options::default().with_runner(Arc::new(NoRunner)),
    )
    .unwrap();
    engine
        .load_procedures_dir(&fixture("plugin-engine"))
        .expect("a procedure pinning plugins loads without a plugin runtime");
    let err = engine
        .submit(permit("xay-dung-tu-dong", &["don", "ban_ve", "gcn_qsdd"]))
        .unwrap_err();
    assert_eq!(err.code(), "plugins_not_built");
    assert!(
        err.to_string()
            .contains("submission to 'xay-dung-tu-dong' needs plugin 'cccd'"),
        "{err}"
    );

    // The same procedure without its validator and computed fee: only the automatic state
    // needs a plugin, and it has an error route.
    let source = std::fs::read_to_string(fixture("plugin-engine/xay-dung-tu-dong.yaml")).unwrap();
    let source: Vec<&str> = source
        .lines()
        .filter(|l| !l.starts_with("validators:") && !l.contains("plugin: { plugin: phi }"))
        .collect();
    let source = source
        .join("\n")
        .replace("id: xay-dung-tu-dong", "id: xay-dung-khong-kiem");
    let origin = fixture("plugin-engine/xay-dung-khong-kiem.yaml");
    engine
        .load_procedure(&origin.display().to_string(), source)
        .unwrap();
    let err = engine
        .submit(permit(
            "xay-dung-khong-kiem",
            &["don", "ban_ve", "gcn_qsdd"],
        ))
        .unwrap_err();
    assert_eq!(err.code(), "plugins_not_built");
    assert!(
        err.to_string()
            .contains("automatic state 'kiem_tra' needs plugin 'thanh-phan'"),
        "{err}"
    );
    assert_eq!(engine.store().dossier_count().unwrap(), 0);
    assert!(engine.store().audit(0, 10).unwrap().is_empty());
    assert_eq!(engine.plugin_calls(), (0, 0));
}
