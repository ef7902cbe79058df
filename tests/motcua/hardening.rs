//! Regression tests for the hardening review (issue 9): each names what broke. They run on real
//! sled stores in temp dirs, with the real plugins from `plugins/dist`.
//!
//! Longer than 600 lines: one regression per finding of the review, each self-contained, so
//! a reader looks up the one that broke without reading the others.

use crate::support;

use motcua::dossier::transition::{self, ActionRequest, Env, Submission};
use motcua::dossier::{Actor, Dossier};
use motcua::procedure::{self, Code};
use motcua::store::Query;
use support::*;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn diagnostic_codes(err: &motcua::Error) -> Vec<Code> {
    match err {
        motcua::Error::Catalog(motcua::catalog::Error::Invalid { diagnostics, .. }) => {
            diagnostics.iter().map(|d| d.code).collect()
        }
        other => panic!("expected an invalid procedure, got {other:?}"),
    }
}

// ── 1. One validation pipeline ─────────────────────────────────────────────────────────────

/// Regression: the engine compiled procedures through a pipeline without the plugin and
/// linked-procedure checks, so it ran files `motcua validate` refuses. Every broken fixture
/// with an error is now refused by the engine with exactly the diagnostics validate gives.
#[test]
fn the_engine_refuses_every_procedure_the_validator_refuses_with_the_same_diagnostics() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let dir = root().join("tests/fixtures/broken");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('E'))
        .collect();
    files.sort();
    assert!(files.len() > 40);
    for path in files {
        let validated = procedure::load_and_check_files(std::slice::from_ref(&path))
            .unwrap()
            .remove(0);
        let want: Vec<Code> = validated
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect();
        assert!(!want.is_empty(), "{}", path.display());
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let err = h
            .engine
            .load_procedure(&path.display().to_string(), text)
            .unwrap_err();
        assert_eq!(err.code(), "invalid_procedure", "{}", path.display());
        let mut got = diagnostic_codes(&err);
        // The same pipeline, but links resolve against what each caller knows: validate
        // accepts a child that sits next to the file as `<id>.yaml`, the engine only one in
        // its catalogue (or the same batch). So the engine may add an E018, nothing else.
        if !want.contains(&Code::UnknownProcedure) {
            got.retain(|c| *c != Code::UnknownProcedure);
        }
        assert_eq!(got, want, "{}", path.display());
    }
}

/// Regression: an unknown linked procedure was found only at run time (`procedure_defect`).
#[test]
fn a_link_to_a_procedure_not_in_the_catalogue_is_refused_at_load_with_e018() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let parent = std::fs::read_to_string(fixture("plugin-links/ho-so-me.yaml")).unwrap();
    let err = h
        .engine
        .load_procedure(
            &fixture("plugin-links/ho-so-me.yaml").display().to_string(),
            parent,
        )
        .unwrap_err();
    assert_eq!(diagnostic_codes(&err), [Code::UnknownProcedure]);
    assert!(
        h.engine.procedure("ho-so-me").is_none(),
        "nothing was loaded"
    );
    // Loaded as one catalogue, the links resolve in any file order.
    h.engine
        .load_procedures_dir(&fixture("plugin-links"))
        .unwrap();
    assert!(h.engine.procedure("ho-so-me").is_some());
}

/// A folder with one bad file loads nothing: an engine must not run half a catalogue.
#[test]
fn a_catalogue_with_one_invalid_file_loads_none_of_it() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["ho-so-me.yaml", "ho-so-con.yaml", "ho-so-chau.yaml"] {
        let text = std::fs::read_to_string(fixture("plugin-links").join(f)).unwrap();
        // Plugin paths are relative to the procedure file.
        let text = text.replace(
            "../../../plugins",
            &root().join("plugins").display().to_string(),
        );
        std::fs::write(dir.path().join(f), text).unwrap();
    }
    let broken = std::fs::read_to_string(dir.path().join("ho-so-chau.yaml"))
        .unwrap()
        .replace("to: da-tra", "to: da-traa");
    std::fs::write(dir.path().join("ho-so-chau.yaml"), broken).unwrap();
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let err = h.engine.load_procedures_dir(dir.path()).unwrap_err();
    assert_eq!(diagnostic_codes(&err), [Code::UnknownState]);
    assert!(h.engine.procedure("ho-so-me").is_none());
    assert!(h.engine.procedure("ho-so-con").is_none());
}

// ── 3. Durations and budget sums ───────────────────────────────────────────────────────────

/// Regression: budgets up to ~1.8e16 days parsed and their sum wrapped, hiding E050.
#[test]
fn a_huge_budget_is_a_positioned_e005_and_long_budgets_still_exceed_the_limit() {
    let minimal =
        std::fs::read_to_string(root().join("tests/fixtures/valid-minimal.yaml")).unwrap();
    let huge = minimal.replacen(
        "budget: 1 working day",
        "budget: 18446744073709551 working days",
        1,
    );
    let loaded = procedure::load_and_check_str(&huge, "huge.yaml");
    let got: Vec<(Code, u32, u32)> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.code, d.line, d.col))
        .collect();
    assert_eq!(got, [(Code::InvalidDuration, 33, 13)]);
    assert!(
        loaded.diagnostics[0]
            .message
            .contains("longer than 3660 working days")
    );
    let long = minimal.replace("budget: 1 working day", "budget: 3660 working days");
    let loaded = procedure::load_and_check_str(&long, "long.yaml");
    let codes: Vec<Code> = loaded.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, [Code::BudgetExceedsLimit]);
    assert!(loaded.diagnostics[0].message.contains("7320 days"));
}

/// A house permit received with `data` and sent by the desk into parallel appraisal.
fn sent_to_appraisal(h: &Harness, data: serde_json::Value) -> Dossier {
    let d = h.engine.submit(house_permit(data)).unwrap().dossier;
    let desk = officer("mc01", "mot_cua", "bo_phan_mot_cua");
    act(h, &d, "chuyen_tham_dinh", desk).unwrap()
}

fn structure_officer() -> Actor {
    officer("qlxd01", "chuyen_vien", "phong_qlxd")
}

fn zoning_officer() -> Actor {
    officer("tnmt01", "chuyen_vien", "phong_tnmt")
}

// ── 4. Fork regions ────────────────────────────────────────────────────────────────────────

/// A supplement asked for inside one branch pauses the clock while the other branch goes on;
/// the applicant's answer returns into the branch, and the join completes as usual.
#[test]
fn a_supplement_requested_inside_a_branch_returns_into_it_and_the_join_completes() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = sent_to_appraisal(&h, house());
    assert_eq!(d.clock.due_at, at("2026-06-22T09:00:00+07:00"));
    let structure = structure_officer();
    h.now("2026-06-02T09:00:00+07:00");
    let d = act_with(
        &h,
        &d,
        "yeu_cau_bo_sung_ket_cau",
        structure.clone(),
        serde_json::json!({"giay_to_can_bo_sung": ["ban_ve"]}),
        Some("Thiếu bản vẽ kết cấu"),
    )
    .unwrap();
    assert_eq!(states(&d), ["cho_bo_sung_ket_cau", "quy_hoach"]);
    assert_eq!(d.status, 5);
    assert_eq!(d.clock.paused_since, Some(at("2026-06-02T09:00:00+07:00")));
    assert_eq!(d.clock.supplements, 1);
    // The other branch goes on meanwhile and waits at the join.
    let d = act(&h, &d, "dat_quy_hoach", zoning_officer()).unwrap();
    assert_eq!(states(&d), ["cho_bo_sung_ket_cau"]);
    assert!(d.tokens.iter().any(|t| t.waiting && t.state == "tong_hop"));
    // Handed in on Thursday: two working days paused move the appointment by two.
    h.now("2026-06-04T09:00:00+07:00");
    let d = act_with(
        &h,
        &d,
        "nop_bo_sung_ket_cau",
        applicant_of(&d),
        serde_json::json!({"giay_to": ["ban_ve"]}),
        None,
    )
    .unwrap();
    assert_eq!(states(&d), ["ket_cau"]);
    assert_eq!(d.clock.paused_since, None);
    assert_eq!(d.clock.due_at, at("2026-06-24T09:00:00+07:00"));
    let d = act(&h, &d, "dat_ket_cau", structure).unwrap();
    assert_eq!(states(&d), ["tong_hop"]);
    assert!(d.tokens.iter().all(|t| !t.waiting && t.lineage.is_empty()));
}

/// The engine fixture with one more action out of the `quy_hoach` branch, checked: the one
/// diagnostic it gets, and the line the action is written on.
fn with_branch_action(id: &str, to: &str) -> (procedure::Diagnostic, u32) {
    let v1 = std::fs::read_to_string(fixture("engine/xay-dung.yaml")).unwrap();
    let text = v1.replace(
        "  - { id: dat_quy_hoach,",
        &format!("  - {{ id: {id}, label: Thêm, from: quy_hoach, to: {to}, roles: [chuyen_vien] }}\n  - {{ id: dat_quy_hoach,"),
    );
    let loaded = procedure::load_and_check_str(&text, "xay-dung.yaml");
    assert_eq!(loaded.diagnostics.len(), 1, "{:?}", loaded.diagnostics);
    let line = text
        .lines()
        .position(|l| l.contains(&format!("id: {id},")))
        .unwrap() as u32
        + 1;
    (loaded.diagnostics[0].clone(), line)
}

/// Regression: a loop from inside a branch back to its fork spawned new tokens while the old
/// sibling token stayed; it is refused at validation, at the edge that leaves the branch.
#[test]
fn an_action_from_a_branch_back_to_its_fork_is_refused_at_its_position() {
    let (d, line) = with_branch_action("tham_dinh_lai", "tham_dinh");
    assert_eq!(d.code, Code::BranchLeavesRegion);
    assert!(d.message.contains("loops back to fork 'tham_dinh'"), "{d}");
    assert_eq!(d.line, line);
}

/// An edge from one branch into its sibling, or out past the fork, is refused too.
#[test]
fn an_action_from_one_branch_into_its_sibling_or_out_of_the_fork_is_refused() {
    let (d, line) = with_branch_action("sang_ket_cau", "ket_cau");
    assert!(d.message.contains("crosses into branch 'ket_cau'"), "{d}");
    assert_eq!(d.line, line);
    let (d, _) = with_branch_action("ve_mot_cua", "tiep_nhan");
    assert!(d.message.contains("leaves the fork for 'tiep_nhan'"), "{d}");
    let (d, _) = with_branch_action("ky_luon", "ky_duyet");
    assert!(d.message.contains("leaves the fork for 'ky_duyet'"), "{d}");
}

// ── 5. Automatic steps ─────────────────────────────────────────────────────────────────────

/// A chain of `n` automatic states, each deciding into the next, then an officer's task.
fn automatic_chain(n: usize) -> String {
    let mut states = String::new();
    let mut actions = String::new();
    for i in 1..=n {
        let next = if i == n {
            "xu-ly".to_string()
        } else {
            format!("a{}", i + 1)
        };
        let start = if i == 1 { ", start: true" } else { "" };
        states.push_str(&format!(
            "  - {{ id: a{i}, label: Bước tự động {i}, kind: automatic{start}, department: mot-cua, budget: 0.1 working hours, status: 2, plugin: {{ plugin: ktp, config: {{ complete_action: a{i}-du, incomplete_action: a{i}-thieu }} }} }}\n"
        ));
        actions.push_str(&format!(
            "  - {{ id: a{i}-du, label: Đủ, from: a{i}, to: {next}, by: system }}\n  - {{ id: a{i}-thieu, label: Thiếu, from: a{i}, to: {next}, by: system }}\n"
        ));
    }
    format!(
        r#"id: chuoi-tu-dong
version: "1"
code: "0.000009"
name: Chuỗi bước tự động
agency: {{ id: "000.00.00.H01", name: "UBND phường Hải Châu" }}
effective_from: 2025-07-01
limit: {{ duration: 5 working days }}
roles:
  - {{ id: can-bo, name: Cán bộ }}
departments:
  - {{ id: mot-cua, name: Bộ phận một cửa }}
documents:
  - {{ id: don, name: Đơn đề nghị }}
plugins:
  - id: ktp
    file: ../../../plugins/dist/kiem-tra-thanh-phan.wasm
    sha256: 9dd8bec93e66ce740685866287538dc244e8eb8d16768d84cae9a6ce691e3ce9
    config: {{ received_field: $documents, required: [don] }}
form: {{ type: object }}
states:
{states}  - {{ id: xu-ly, label: Xử lý, kind: task, department: mot-cua, budget: 1 working day, status: 4 }}
  - {{ id: da-tra, label: Đã trả kết quả, kind: terminal, outcome: result_issued, status: 10 }}
actions:
{actions}  - {{ id: tra, label: Trả kết quả, from: xu-ly, to: da-tra, roles: [can-bo] }}
"#
    )
}

fn chain_submission() -> Submission {
    let mut s = house_permit(serde_json::json!({}));
    s.procedure = "chuoi-tu-dong".into();
    s.documents = vec!["don".into()];
    s
}

/// Regression: when the cap on plugin decisions ran out, the dossier was committed parked in
/// an automatic state. Exceeding it is now a refusal that writes nothing; a chain within the
/// cap goes through.
#[test]
fn exceeding_the_automatic_decision_cap_is_a_refusal_that_writes_nothing() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let origin = fixture("plugin-links/chuoi-tu-dong.yaml")
        .display()
        .to_string();
    h.engine
        .load_procedure(&origin, automatic_chain(17))
        .unwrap();
    let err = h.engine.submit(chain_submission()).unwrap_err();
    assert_eq!(err.code(), "automatic_loop", "{err}");
    assert_eq!(h.engine.store().dossier_count().unwrap(), 0);
    assert!(h.engine.store().audit(0, 10).unwrap().is_empty());
    h.engine
        .load_procedure(&origin, automatic_chain(16))
        .unwrap();
    let d = h.engine.submit(chain_submission()).unwrap().dossier;
    assert_eq!(states(&d), ["xu-ly"]);
    assert!(
        d.code.ends_with("-0001"),
        "the refusal used no number: {}",
        d.code
    );
    assert_eq!(h.engine.history(&d.code).unwrap().len(), 17);
}

// ── 6. Who may act ─────────────────────────────────────────────────────────────────────────

/// Regression: actions out of automatic states had no roles, and "no roles" meant "the
/// applicant or the system", so the applicant could pass their own completeness check.
#[test]
fn the_applicant_cannot_take_the_engines_own_decision_out_of_an_automatic_state() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    h.engine
        .load_procedures_dir(&fixture("plugin-engine"))
        .unwrap();
    let p = h.engine.procedure("xay-dung-tu-dong").unwrap();
    let mut sub = house_permit(serde_json::json!({
        "so_cccd": "048090001234", "nam_sinh": 1990, "gioi_tinh": "nam",
        "dien_tich_san": 180.0, "quan": "hai_chau"
    }));
    sub.procedure = "xay-dung-tu-dong".into();
    sub.documents = vec!["don".into()];
    // The pure step alone leaves the dossier in the automatic state, as a plugin-less reader
    // would find it.
    let calendar = calendar::test_calendar();
    let lookup = |_: &str| None;
    let env = Env::new(&calendar, &lookup, at("2026-06-01T09:00:00+07:00"));
    let t = transition::submit(&p, &sub, &env).unwrap();
    let d = t.changes[0].dossier.clone();
    assert_eq!(states(&d), ["kiem_tra"]);
    for actor in [
        applicant_of(&d),
        Actor::system(),
        officer("mc01", "mot_cua", "bo_phan_mot_cua"),
    ] {
        let req = ActionRequest {
            dossier: d.code.clone(),
            action: "du_ho_so".into(),
            actor: actor.clone(),
            input: serde_json::Value::Null,
            comment: None,
            seen_version: d.version,
            on_behalf: false,
        };
        let err = transition::act(&p, &d, &req, &env).unwrap_err();
        assert!(
            matches!(err, transition::Error::SystemOnly { .. }),
            "{}: {err}",
            actor.id
        );
    }
}

/// `Engine::submit` refuses the system actor as the receiving officer.
#[test]
fn a_submission_received_by_the_system_actor_is_forbidden() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let mut sub = house_permit(house());
    sub.received_by = Actor::system();
    let err = h.engine.submit(sub).unwrap_err();
    assert_eq!(err.code(), "forbidden");
    assert_eq!(h.engine.store().dossier_count().unwrap(), 0);
}

// ── 7, 8. Requests at the door ─────────────────────────────────────────────────────────────

/// Regression: a misspelt `idempotency_key` was dropped, and a portal's retry created a
/// second dossier.
#[test]
fn a_misspelt_request_field_is_refused_by_name() {
    let mut json = serde_json::to_value(house_permit(house())).unwrap();
    json["idempotencyKey"] = "portal-42".into();
    let err = serde_json::from_value::<Submission>(json).unwrap_err();
    assert!(
        err.to_string().contains("unknown field `idempotencyKey`"),
        "{err}"
    );
    let req = serde_json::json!({
        "dossier": "000.17.22.H56-260601-0001", "action": "tra",
        "actor": {"id": "mc01", "role": ["mot_cua"]}, "seen_version": 1
    });
    let err = serde_json::from_value::<ActionRequest>(req).unwrap_err();
    assert!(err.to_string().contains("unknown field `role`"), "{err}");
}

/// Regression: the applicant id went unescaped into the key `ap\0<id>\0<code>`, so an id with
/// U+0000 in it appeared in another applicant's listing. Ids are checked at the door.
#[test]
fn an_applicant_id_with_a_control_character_is_refused_and_lists_stay_apart() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let victim = h.engine.submit(house_permit(house())).unwrap().dossier;
    let mut forged = house_permit(house());
    forged.applicant.id = format!("{}\u{0}x", victim.applicant.id);
    let err = h.engine.submit(forged).unwrap_err();
    assert_eq!(err.code(), "invalid_request");
    assert!(err.to_string().contains("applicant.id"), "{err}");
    let mut long = house_permit(house());
    long.applicant.id = "9".repeat(10_000);
    assert_eq!(h.engine.submit(long).unwrap_err().code(), "invalid_request");
    let listed = h
        .engine
        .list(
            &Query::Applicant {
                applicant: victim.applicant.id.clone(),
            },
            None,
            10,
        )
        .unwrap();
    assert_eq!(listed.dossiers, [victim]);
    assert_eq!(h.engine.store().dossier_count().unwrap(), 1);
}

// ── 9. Placeholder codes ───────────────────────────────────────────────────────────────────

/// Regression: placeholders were `@new<changes.len()>` per builder, so a child whose automatic
/// first state decided into a state with `starts:` gave the grandchild the child's
/// placeholder; one overwrote the other, a number was skipped and the count was off.
#[test]
fn a_grandchild_started_by_a_childs_automatic_decision_gets_its_own_code() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    h.engine
        .load_procedures_dir(&fixture("plugin-links"))
        .unwrap();
    let mut sub = house_permit(serde_json::json!({"ho_ten": "Nguyễn Văn An"}));
    sub.procedure = "ho-so-me".into();
    sub.documents = vec![];
    let r = h.engine.submit(sub).unwrap();
    let mut codes: Vec<String> = std::iter::once(r.dossier.code.clone())
        .chain(r.children.iter().map(|c| c.code.clone()))
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        [
            "000.00.00.H01-260601-0001",
            "000.00.00.H01-260601-0002",
            "000.00.00.H01-260601-0003"
        ]
    );
    assert_eq!(h.engine.store().dossier_count().unwrap(), 3);
    let child = h.engine.dossier("000.00.00.H01-260601-0002").unwrap();
    let grandchild = h.engine.dossier("000.00.00.H01-260601-0003").unwrap();
    assert_eq!(child.procedure, "ho-so-con");
    assert_eq!(states(&child), ["lien-thong"]);
    assert_eq!(child.parent.as_deref(), Some("000.00.00.H01-260601-0001"));
    assert_eq!(grandchild.procedure, "ho-so-chau");
    assert_eq!(grandchild.parent.as_deref(), Some(child.code.as_str()));
    assert_eq!(child.children, std::slice::from_ref(&grandchild.code));
    let entries = h.engine.store().audit(0, 100).unwrap();
    assert_eq!(
        motcua::audit::verify(motcua::audit::GENESIS, &entries),
        Ok(entries.len() as u64)
    );
    assert!(entries.iter().all(|e| !e.dossier.starts_with('@')));
}

// ── 12. The version in force ───────────────────────────────────────────────────────────────

/// Regression: after a restart without procedure files the current version was the stored
/// one with the smallest hash. The version in force at the receipt instant receives, and a
/// version that becomes effective on a future date takes over on that date.
#[test]
fn a_version_effective_from_a_future_date_takes_over_on_that_date_also_after_a_restart() {
    let h = Harness::new("2026-06-15T09:00:00+07:00");
    let v1 = std::fs::read_to_string(fixture("engine/xay-dung.yaml")).unwrap();
    let v2 = v1
        .replace("version: \"1\"", "version: \"2\"")
        .replace("effective_from: 2025-07-01", "effective_from: 2026-07-01");
    h.engine.load_procedure("v2.yaml", v2.clone()).unwrap();
    let june = h.engine.submit(house_permit(house())).unwrap().dossier;
    assert_eq!(june.procedure_version, "1");
    h.now("2026-07-01T08:00:00+07:00");
    let july = h.engine.submit(house_permit(house())).unwrap().dossier;
    assert_eq!(july.procedure_version, "2");
    // After a restart with no procedure files, the stored versions choose the same way.
    let h = h.reopen(false);
    assert_eq!(
        h.engine
            .submit(house_permit(house()))
            .unwrap()
            .dossier
            .procedure_version,
        "2"
    );
    h.now("2026-06-30T16:00:00+07:00");
    assert_eq!(
        h.engine
            .submit(house_permit(house()))
            .unwrap()
            .dossier
            .procedure_version,
        "1"
    );
}

// ── 15. Guards over optional fields ────────────────────────────────────────────────────────

/// Regression: `so_luong_phieu` is optional with `default: 1` that was never applied, and
/// the `trinh-ky` guard reads it, so a valid dossier received without it could never be signed.
#[test]
fn schema_defaults_are_applied_at_receipt_and_recorded_so_the_guard_can_be_evaluated() {
    let h = Harness::new("2026-06-03T09:00:00+07:00");
    h.engine
        .load_procedures_dir(&root().join("procedures"))
        .unwrap();
    let p = h.engine.procedure("cap-phieu-ly-lich-tu-phap").unwrap();
    let mut data = p.procedure.form["examples"][0].clone();
    data.as_object_mut().unwrap().remove("so_luong_phieu");
    let mut sub = house_permit(data);
    sub.procedure = p.procedure.id.clone();
    sub.documents = p
        .procedure
        .documents
        .iter()
        .filter(|d| d.required)
        .map(|d| d.id.clone())
        .collect();
    let d = h.engine.submit(sub).unwrap().dossier;
    assert_eq!(d.data["so_luong_phieu"], 1);
    let receipt = &h.engine.history(&d.code).unwrap()[0];
    assert_eq!(
        receipt.input,
        serde_json::json!({"channel": "desk", "defaults": {"so_luong_phieu": 1}})
    );
}

/// A guard that cannot be evaluated on a dossier is reported unavailable, with its reason,
/// instead of listed as available and refused when taken.
#[test]
fn available_actions_report_a_guard_that_cannot_be_evaluated_as_unavailable() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let v1 = std::fs::read_to_string(fixture("engine/xay-dung.yaml")).unwrap();
    let optional = v1.replace(
        "required: [chu_dau_tu, dien_tich_san, so_tang]",
        "required: [chu_dau_tu, dien_tich_san]",
    );
    let loaded = procedure::load_and_check_str(&optional, "x.yaml");
    let codes: Vec<Code> = loaded.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, [Code::GuardReadsOptionalField]);
    h.engine.load_procedure("x.yaml", optional).unwrap();
    let d = sent_to_appraisal(
        &h,
        serde_json::json!({"chu_dau_tu": "Nguyễn Văn An", "dien_tich_san": 90.0}),
    );
    let structure = structure_officer();
    let available = h.engine.available_actions(&d.code, &structure).unwrap();
    let sign = available
        .iter()
        .find(|a| a.action == "dat_ket_cau")
        .unwrap();
    assert!(
        matches!(
            sign.refused,
            Some(motcua::dossier::transition::Unavailable::GuardError { .. })
        ),
        "{:?}",
        sign.refused
    );
    let other = available
        .iter()
        .find(|a| a.action == "khong_dat_ket_cau")
        .unwrap();
    assert_eq!(other.refused, None);
}

// ── 10, 11, 16. Stores ─────────────────────────────────────────────────────────────────────

/// Regression: opening a folder that holds no store created an empty one, so a read on a
/// mistyped `--data` answered "0 entries".
#[test]
fn opening_an_existing_store_in_a_folder_without_one_is_refused_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("dta");
    let err = match motcua::store::sled::SledStore::open_existing(&typo, Default::default()) {
        Ok(_) => panic!("no store there"),
        Err(e) => e,
    };
    assert!(matches!(err, motcua::store::Error::Unusable { .. }));
    assert!(err.to_string().contains("dta"), "{err}");
    assert!(!typo.exists());
}

/// Regression: a corrupt store failed with sled's raw text ("Read corrupted data at file
/// offset None backtrace ()"). It is refused with its own code, naming the folder and saying
/// what to do, and the files are left as they were.
#[test]
fn a_corrupt_store_is_refused_naming_the_folder_and_what_to_do() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    for _ in 0..5 {
        h.engine.submit(house_permit(house())).unwrap();
    }
    // sled writes its snapshot file when it recovers a store at open.
    let h = h.reopen(false);
    let Harness { dir, engine, .. } = h;
    drop(engine);
    let snapshots: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("snap.")
        })
        .collect();
    assert!(!snapshots.is_empty());
    for snap in &snapshots {
        std::fs::write(snap, b"xx").unwrap();
    }
    let before = std::fs::read(dir.path().join("db")).unwrap();
    let err = match crate::support::waiting_for_sled_lock(|| {
        motcua::store::sled::SledStore::open(dir.path(), Default::default())
    }) {
        Ok(_) => panic!("a store with a corrupt snapshot opened"),
        Err(e) => e,
    };
    assert!(
        matches!(err, motcua::store::Error::CorruptStore { .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with(&dir.path().display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("restore the folder from a backup"),
        "{message}"
    );
    assert_eq!(motcua::Error::from(err).code(), "store_corrupt");
    assert_eq!(std::fs::read(dir.path().join("db")).unwrap(), before);
}

// ── The fault-injecting store ──────────────────────────────────────────────────────────────

fn engine_on(
    path: &std::path::Path,
    faults: Option<std::sync::Arc<motcua::store::sled::Faults>>,
) -> motcua::Engine {
    let options = motcua::store::sled::Options {
        faults,
        ..Default::default()
    };
    // The engine dropped just before (a restart in the test) may hold sled's lock a moment.
    let store = crate::support::waiting_for_sled_lock(|| {
        motcua::store::sled::SledStore::open(path, options.clone())
    })
    .unwrap();
    let clock = std::sync::Arc::new(motcua::clock::ManualClock::new(at(
        "2026-06-01T09:00:00+07:00",
    )));
    let engine = motcua::Engine::new(
        std::sync::Arc::new(store),
        std::sync::Arc::new(calendar::test_calendar()),
        clock,
    )
    .unwrap();
    engine.load_procedures_dir(&fixture("engine")).unwrap();
    engine
}

/// A failed apply, flush or fdatasync: the caller whose commit it was is told
/// `outcome_unknown`, every later write `not_written` until the store is reopened, and after
/// reopening every acknowledged dossier is there with its audit entries, the chain verifies
/// and codes have no gaps.
#[test]
fn a_failed_apply_flush_or_sync_answers_outcome_unknown_then_not_written_and_loses_nothing_acknowledged()
 {
    use motcua::store::sled::{Fault, Faults};
    for stage in [Fault::Apply, Fault::Flush, Fault::Sync] {
        for nth in [1, 4] {
            let dir = tempfile::tempdir().unwrap();
            let engine = engine_on(dir.path(), Some(Faults::fail_on(stage, nth)));
            let mut acknowledged: Vec<Dossier> = vec![];
            let mut failure = None;
            for _ in 0..nth {
                match engine.submit(house_permit(house())) {
                    Ok(r) => acknowledged.push(r.dossier),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            let failure = failure.unwrap_or_else(|| panic!("{stage:?} #{nth} did not fail"));
            assert_eq!(
                failure.code(),
                "outcome_unknown",
                "{stage:?} #{nth}: {failure}"
            );
            assert_eq!(acknowledged.len() as u64, nth - 1);
            // Acting on an acknowledged dossier is refused too, before anything is applied.
            let later = engine.submit(house_permit(house())).unwrap_err();
            assert_eq!(later.code(), "not_written", "{stage:?} #{nth}: {later}");
            drop(engine);

            let engine = engine_on(dir.path(), None);
            for d in &acknowledged {
                assert_eq!(&engine.dossier(&d.code).unwrap(), d, "{stage:?} #{nth}");
                assert_eq!(engine.history(&d.code).unwrap().len(), 1);
            }
            let entries = engine.store().audit(0, 100).unwrap();
            assert_eq!(
                motcua::audit::verify(motcua::audit::GENESIS, &entries),
                Ok(entries.len() as u64)
            );
            // The unknown one is there or not, wholly; the next code follows without a gap.
            let stored = engine.store().dossier_count().unwrap();
            assert!(
                stored == nth - 1 || stored == nth,
                "{stage:?} #{nth}: {stored}"
            );
            assert_eq!(entries.len() as u64, stored);
            let next = engine.submit(house_permit(house())).unwrap().dossier;
            assert_eq!(next.code, format!("000.17.22.H56-260601-{:04}", stored + 1));
        }
    }
}

/// Regression: `history()` served entries not yet durable while `audit()` did not. An action
/// whose fdatasync failed is applied in sled (a reader may see the new version) but not
/// durable: neither the dossier's history nor the audit log shows its entry.
#[test]
fn history_serves_only_durable_entries_like_the_audit_log() {
    use motcua::store::sled::{Fault, Faults};
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_on(dir.path(), Some(Faults::fail_on(Fault::Sync, 2)));
    let d = engine.submit(house_permit(house())).unwrap().dossier;
    let err = engine.act(forwarded(&d)).unwrap_err();
    assert_eq!(err.code(), "outcome_unknown");
    let history = engine.history(&d.code).unwrap();
    assert_eq!(history.len(), 1, "only the durable receipt: {history:?}");
    assert_eq!(engine.store().audit(0, 10).unwrap().len(), 1);
}

/// Versions stored before `by:` existed wrote applicant actions with no roles. Restored, they
/// keep that meaning, so a dossier pinned to one can still be withdrawn by its applicant.
#[test]
fn a_dossier_pinned_to_a_version_stored_before_by_existed_still_moves() {
    use motcua::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let v1 = std::fs::read_to_string(fixture("engine/xay-dung.yaml")).unwrap();
    let older = v1.replace("by: applicant", "roles: []");
    assert!(
        procedure::load_and_check_str(&older, "older.yaml")
            .diagnostics
            .iter()
            .any(|d| d.code == Code::NoTaker),
        "today's checker refuses the old form"
    );
    {
        let store = motcua::store::sled::SledStore::open(dir.path(), Default::default()).unwrap();
        let pin = transition::Transition {
            changes: vec![],
            idempotency: None,
            procedures: vec![(procedure::content_hash(older.as_bytes()), older)],
            plugins: vec![],
        };
        store.commit(pin).unwrap();
    }
    let clock = std::sync::Arc::new(motcua::clock::ManualClock::new(at(
        "2026-06-01T09:00:00+07:00",
    )));
    let h = Harness {
        engine: open(dir.path(), clock.clone()),
        dir,
        clock,
    };
    let d = sent_to_appraisal(&h, house());
    let d = act(&h, &d, "dat_quy_hoach", zoning_officer()).unwrap();
    let d = act(&h, &d, "dat_ket_cau", structure_officer()).unwrap();
    let d = act_with(
        &h,
        &d,
        "yeu_cau_bo_sung",
        structure_officer(),
        serde_json::json!({"giay_to_can_bo_sung": ["ban_ve"]}),
        Some("Thiếu bản vẽ"),
    )
    .unwrap();
    let d = act(&h, &d, "rut", applicant_of(&d)).unwrap();
    assert_eq!(
        d.ending.unwrap().outcome,
        motcua::procedure::Outcome::Withdrawn
    );
}
