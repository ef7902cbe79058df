//! Procedure files end to end: the broken fixtures (one per diagnostic, each at its exact
//! line:col), the catalogue, and the `motcua validate | schema | graph` commands run as the
//! real binary.
//!
//! Longer than 600 lines: one test per broken fixture, each a short table row of file, code and
//! position.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use motcua::procedure::{self, Code, Severity};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn motcua(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Each broken fixture and the one diagnostic it must produce: code, line, column.
const BROKEN: &[(&str, &str, u32, u32)] = &[
    ("E001-yaml-syntax", "E001", 48, 18),
    ("E002-unknown-field", "E002", 41, 5),
    ("E003-missing-field", "E003", 35, 5),
    ("E004-wrong-type", "E004", 40, 13),
    ("E005-invalid-duration", "E005", 39, 13),
    ("E006-duplicate-key", "E006", 41, 5),
    ("E007-invalid-id", "E007", 52, 9),
    ("E010-duplicate-id", "E010", 15, 9),
    ("E011-unknown-state", "E011", 55, 9),
    ("E012-unknown-role", "E012", 56, 13),
    ("E013-unknown-department", "E013", 38, 17),
    ("E014-unknown-document", "E014", 57, 22),
    ("E015-unknown-plugin", "E015", 25, 15),
    ("E016-unknown-action", "E016", 41, 15),
    ("E017-not-a-fork", "E017", 49, 11),
    ("E018-unknown-procedure", "E018", 42, 20),
    ("E020-guard-syntax", "E020", 58, 28),
    ("E021-guard-unknown-variable", "E021", 58, 13),
    ("E022-guard-unknown-field", "E022", 58, 34),
    ("E023-invalid-form-schema", "E023", 25, 13),
    ("E024-link-unknown-field", "E024", 44, 24),
    ("E030-no-start", "E030", 27, 1),
    ("E031-several-starts", "E031", 38, 12),
    ("E032-unreachable", "E032", 46, 9),
    ("E033-no-way-to-terminal", "E033", 46, 9),
    ("E034-terminal-with-actions", "E034", 59, 11),
    ("E035-terminal-without-outcome", "E035", 43, 11),
    ("E036-outcome-on-non-terminal", "E036", 41, 14),
    ("E037-fork-too-few-branches", "E037", 51, 15),
    ("E038-fork-without-join", "E038", 46, 9),
    ("E039-join-cannot-complete", "E039", 61, 11),
    ("E040-automatic-without-plugin", "E040", 37, 11),
    ("E041-applicant-no-way-back", "E041", 48, 11),
    ("E042-status-out-of-range", "E042", 40, 13),
    ("E043-fork-with-actions", "E043", 88, 11),
    ("E044-misplaced-field", "E044", 41, 5),
    ("E045-no-taker", "E045", 47, 9),
    ("E046-taker-with-roles", "E046", 56, 5),
    ("E047-automatic-not-system", "E047", 68, 11),
    ("E048-automatic-cycle", "E048", 31, 9),
    ("E049-branch-leaves-region", "E049", 89, 9),
    ("E050-budget-exceeds-limit", "E050", 11, 13),
    ("E051-effective-until-before-from", "E051", 10, 18),
    ("E052-disadvantaged-shorter", "E052", 12, 18),
    ("E053-extension-too-long", "E053", 58, 14),
    ("E054-extension-approver", "E054", 61, 5),
    ("E055-escalation-threshold", "E055", 42, 17),
    ("E056-escalation-action", "E056", 43, 15),
    ("E057-apology-action", "E057", 57, 5),
    ("E058-fee-per-field", "E058", 25, 10),
    ("E060-plugin-unreadable", "E060", 23, 11),
    ("E061-plugin-hash-mismatch", "E061", 25, 13),
    ("E062-not-a-plugin", "E062", 23, 11),
    ("E063-plugin-missing-capability", "E063", 53, 15),
    ("E064-plugin-config-invalid", "E064", 26, 19),
    ("E065-plugin-bad-config-schema", "E065", 23, 11),
    ("E066-plugin-config-unknown-action", "E066", 43, 26),
    ("E067-plugin-config-unknown-document", "E067", 27, 23),
    ("W001-missing-budget", "W001", 35, 9),
    ("W002-escalation-without-budget", "W002", 51, 5),
    ("W003-cutoff-on-long-limit", "W003", 12, 20),
    ("W004-guard-reads-optional-field", "W004", 58, 13),
];

#[test]
fn every_broken_fixture_yields_exactly_its_diagnostic_at_its_position() {
    let mut failures = Vec::new();
    for (name, code, line, col) in BROKEN {
        let path = root().join(format!("tests/fixtures/broken/{name}.yaml"));
        let loaded = procedure::load_and_check_files(&[path]).unwrap().remove(0);
        let got: Vec<(String, u32, u32)> = loaded
            .diagnostics
            .iter()
            .map(|d| (d.code.to_string(), d.line, d.col))
            .collect();
        let want = vec![(code.to_string(), *line, *col)];
        if got != want {
            failures.push(format!("{name}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_code_has_a_fixture_and_a_documented_section() {
    let docs = std::fs::read_to_string(root().join("docs/diagnostics.md")).unwrap();
    for code in Code::ALL {
        let fixtures = BROKEN
            .iter()
            .filter(|(_, c, _, _)| *c == code.as_str())
            .count();
        assert!(fixtures >= 1, "no broken fixture for {code}");
        assert!(
            docs.contains(&format!("## {code}")),
            "docs/diagnostics.md has no section for {code}"
        );
    }
}

#[test]
fn one_bad_state_does_not_hide_the_next_one() {
    let loaded =
        procedure::load_and_check_file(&root().join("tests/fixtures/many-type-errors.yaml"))
            .unwrap();
    assert!(loaded.procedure.is_none());
    let got: Vec<(&str, u32, u32)> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.code.as_str(), d.line, d.col))
        .collect();
    assert_eq!(
        got,
        vec![
            ("E005", 11, 13),
            ("E004", 40, 13),
            ("E004", 43, 11),
            ("E002", 51, 5)
        ]
    );
}

#[test]
fn a_misspelt_state_suggests_the_right_one() {
    let loaded = procedure::load_and_check_file(
        &root().join("tests/fixtures/broken/E011-unknown-state.yaml"),
    )
    .unwrap();
    assert_eq!(
        loaded.diagnostics[0].hint.as_deref(),
        Some("did you mean 'da-tra'?")
    );
}

fn catalogue() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("procedures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_catalogue_is_clean_and_self_describing() {
    let files = catalogue();
    assert!(
        files.len() >= 6,
        "the catalogue holds at least six procedures"
    );
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schemas/procedure.schema.json\n"),
            "{} must start with the schema comment",
            path.display()
        );
        let loaded = procedure::load_and_check_file(path).unwrap();
        assert!(
            loaded.diagnostics.is_empty(),
            "{}:\n{:#?}",
            path.display(),
            loaded.diagnostics
        );
        let p = loaded.procedure.unwrap();
        let stem = path.file_stem().unwrap().to_str().unwrap();
        assert_eq!(p.id, stem, "file name and id agree");
    }
}

#[test]
fn linked_children_exist_in_the_catalogue() {
    let ids: Vec<String> = catalogue()
        .iter()
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
        .collect();
    let parent = procedure::load_and_check_file(
        &root().join("procedures/lien-thong-khai-sinh-thuong-tru-bhyt.yaml"),
    )
    .unwrap()
    .procedure
    .unwrap();
    let children: Vec<&str> = parent
        .states
        .iter()
        .flat_map(|s| s.starts.iter().map(|c| c.procedure.as_str()))
        .collect();
    assert_eq!(
        children,
        vec!["dang-ky-thuong-tru-tre-em", "cap-the-bhyt-tre-em"]
    );
    for child in children {
        assert!(ids.iter().any(|i| i == child), "{child} has no file");
    }
}

#[test]
fn construction_permit_branches_run_in_parallel_within_fifteen_days() {
    let p = procedure::load_and_check_file(&root().join("procedures/cap-phep-xay-dung-nha-o.yaml"))
        .unwrap()
        .procedure
        .unwrap();
    let fork = p.state("tham-dinh").unwrap();
    assert_eq!(
        fork.branches,
        vec!["kiem-tra-quy-hoach", "kiem-tra-ket-cau"]
    );
    assert_eq!(p.limit.duration.to_string(), "15 days");
    assert_eq!(
        p.action("gia-han").unwrap().extends.unwrap().to_string(),
        "10 days"
    );
}

#[test]
fn validate_exits_0_on_the_catalogue_with_warnings_denied() {
    let o = motcua(&["validate", "--deny-warnings", "procedures"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).starts_with("checked "));
    assert!(stdout(&o).ends_with(": 0 errors, 0 warnings\n"));
}

#[test]
fn validate_prints_compiler_style_lines_and_exits_1_on_errors() {
    let o = motcua(&["validate", "tests/fixtures/broken/E011-unknown-state.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        "tests/fixtures/broken/E011-unknown-state.yaml:55:9: error[E011]: unknown state 'da-traa'\n  = hint: did you mean 'da-tra'?\nchecked 1 file: 1 error, 0 warnings\n"
    );
}

#[test]
fn validate_searches_folders_and_reports_every_file() {
    let o = motcua(&["validate", "tests/fixtures/broken"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let warnings = BROKEN
        .iter()
        .filter(|(_, c, _, _)| c.starts_with('W'))
        .count();
    assert!(
        out.ends_with(&format!(
            "checked {n} files: {e} errors, {warnings} warnings\n",
            n = BROKEN.len(),
            e = BROKEN.len() - warnings
        )),
        "{out}"
    );
}

#[test]
fn warnings_pass_unless_denied() {
    let file = "tests/fixtures/broken/W001-missing-budget.yaml";
    let o = motcua(&["validate", file]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains(": warning[W001]: "));
    let o = motcua(&["validate", "--deny-warnings", file]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn validate_json_carries_the_same_diagnostics() {
    let o = motcua(&[
        "validate",
        "--format",
        "json",
        "tests/fixtures/broken/E050-budget-exceeds-limit.yaml",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["files"], 1);
    assert_eq!(v["errors"], 1);
    assert_eq!(v["warnings"], 0);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "E050");
    assert_eq!(d["severity"], "error");
    assert_eq!(
        d["file"],
        "tests/fixtures/broken/E050-budget-exceeds-limit.yaml"
    );
    assert_eq!(d["line"], 11);
    assert_eq!(d["col"], 13);
    let back: procedure::Diagnostic = serde_json::from_value(d.clone()).unwrap();
    assert_eq!(back.severity, Severity::Error);
}

#[test]
fn validate_exits_2_on_a_missing_path_and_names_it() {
    let o = motcua(&["validate", "procedures/khong-co.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("procedures/khong-co.yaml"), "{err}");
}

#[test]
fn validate_without_paths_is_a_usage_error() {
    assert_eq!(motcua(&["validate"]).status.code(), Some(2));
}

#[test]
fn committed_schema_is_what_motcua_schema_prints() {
    let o = motcua(&["schema"]);
    assert_eq!(o.status.code(), Some(0));
    let committed = std::fs::read_to_string(root().join("schemas/procedure.schema.json")).unwrap();
    assert!(
        stdout(&o) == committed,
        "schemas/procedure.schema.json is stale; regenerate it with\n    cargo run -p motcua-cli -- schema > schemas/procedure.schema.json"
    );
}

#[test]
fn graph_draws_forks_joins_budgets_and_departments() {
    let file = "procedures/cap-phep-xay-dung-nha-o.yaml";
    let o = motcua(&["graph", file, "--format", "mermaid"]);
    assert_eq!(o.status.code(), Some(0));
    let m = stdout(&o);
    assert!(m.contains("flowchart TD"));
    assert!(m.contains("-. song song .->"), "fork branches are dashed");
    assert!(m.contains("⑂ song song"), "the fork is marked");
    assert!(
        m.contains("⑃ hợp nhánh · 2 working days"),
        "the join shows its budget"
    );
    assert!(m.contains("Phòng Kinh tế, Hạ tầng và Đô thị<br/>7 working days"));

    let o = motcua(&["graph", file, "--format", "dot"]);
    assert_eq!(o.status.code(), Some(0));
    let d = stdout(&o);
    assert!(d.starts_with("digraph \"cap-phep-xay-dung-nha-o\" {"));
    assert!(d.contains("shape=trapezium"), "fork");
    assert!(d.contains("shape=invtrapezium"), "join");
    assert!(d.contains("[style=dashed, label=\"song song\"]"));
    assert!(d.contains("Bộ phận tiếp nhận và trả kết quả\\n1 working day"));
    assert!(d.trim_end().ends_with('}'));
}

#[test]
fn graph_of_a_malformed_file_fails_with_its_diagnostics() {
    let o = motcua(&["graph", "tests/fixtures/broken/E001-yaml-syntax.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8(o.stderr).unwrap().contains("error[E001]"));
}

#[test]
fn a_linked_parent_validated_alone_finds_its_children_beside_it() {
    let o = motcua(&[
        "validate",
        "--deny-warnings",
        "procedures/lien-thong-khai-sinh-thuong-tru-bhyt.yaml",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

/// The example dossier of a sample, with the ids of the required documents under the one
/// reserved key `$documents`, as the engine hands data to a plugin (and the demo submits it).
fn plugin_data(p: &procedure::Procedure, documents: &[&str]) -> serde_json::Value {
    let mut data = p.form["examples"][0].clone();
    data["$documents"] = serde_json::json!(documents);
    data
}

fn sample(name: &str) -> procedure::Procedure {
    procedure::load_and_check_files(&[root().join(format!("procedures/{name}.yaml"))])
        .unwrap()
        .remove(0)
        .procedure
        .unwrap()
}

#[test]
fn construction_permit_plugins_accept_the_example_and_judge_its_checklist() {
    use motcua::plugin::{Limits, PluginHost, effective_config};
    let p = sample("cap-phep-xay-dung-nha-o");
    let host = PluginHost::new(Limits::default()).unwrap();
    let dir = root().join("procedures");
    let load = |id: &str| host.load_ref(&dir, p.plugin(id).unwrap()).unwrap();
    let required: Vec<&str> = p
        .documents
        .iter()
        .filter(|d| d.required)
        .map(|d| d.id.as_str())
        .collect();
    let data = plugin_data(&p, &required);

    // The applicant's CCCD passes the submission validator.
    let cccd = &p.validators[0];
    let errors = load(&cccd.plugin)
        .validate(
            &data,
            &effective_config(p.plugin(&cccd.plugin).unwrap(), cccd),
        )
        .unwrap();
    assert!(errors.is_empty(), "{errors:?}");

    // The fee comes from the (illustrative) table for the example's district and floor area.
    let fee = p.fees[0].plugin.as_ref().unwrap();
    let computed = load(&fee.plugin)
        .compute_fee(
            &data,
            &effective_config(p.plugin(&fee.plugin).unwrap(), fee),
        )
        .unwrap();
    assert_eq!(computed.amount, 75_000);

    // Handing in every required document leads on to appraisal; one missing asks for it.
    let state = p.state("kiem-tra-thanh-phan").unwrap();
    let call = state.plugin.as_ref().unwrap();
    let config = effective_config(p.plugin(&call.plugin).unwrap(), call);
    let decider = load(&call.plugin);
    let complete = decider.decide(&data, &config).unwrap();
    assert_eq!(complete.action, "du");
    assert_eq!(p.action("du").unwrap().to, "tham-dinh");
    let short = plugin_data(&p, &required[..required.len() - 1]);
    let incomplete = decider.decide(&short, &config).unwrap();
    assert_eq!(incomplete.action, "thieu");
    assert_eq!(
        incomplete.patch.unwrap()["giay_to_thieu"],
        serde_json::json!([required[required.len() - 1]])
    );
    // The plugin's decisions and its failure route all leave the automatic state.
    for a in ["du", "thieu", state.on_error.as_deref().unwrap()] {
        let action = p.action(a).unwrap();
        assert_eq!(action.from, state.id);
        assert!(action.roles.is_empty(), "{a} is taken by the system");
    }
}

#[test]
fn birth_registration_checks_the_requesters_cccd() {
    use motcua::plugin::{Limits, PluginHost, effective_config};
    let p = sample("dang-ky-khai-sinh");
    let host = PluginHost::new(Limits::default()).unwrap();
    // Checked as the desk officer accepts the dossier.
    let call = &p.action("chuyen-ho-tich").unwrap().validators[0];
    let plugin = p.plugin(&call.plugin).unwrap();
    let cccd = host.load_ref(&root().join("procedures"), plugin).unwrap();
    let config = effective_config(plugin, call);
    let mut data = plugin_data(&p, &[]);
    assert_eq!(cccd.validate(&data, &config).unwrap(), vec![]);
    // Province 099 does not exist.
    data["so_cccd_nguoi_yeu_cau"] = serde_json::json!("099196003517");
    let errors = cccd.validate(&data, &config).unwrap();
    assert_eq!(errors[0].code, "cccd.province");
}

/// A small procedure whose automatic state asks the completeness plugin to decide; the entry's
/// config holds what every use shares, `state_config` is the state's own line of config.
fn automatic_fixture(sha: &str, state_config: &str) -> String {
    format!(
        r#"id: fixture
version: "1"
code: "0.000000"
name: Thủ tục mẫu
agency:
  id: 000.00.00.H00
  name: Cơ quan mẫu
effective_from: 2025-07-01
limit:
  duration: 3 working days
roles:
  - id: can-bo
    name: Cán bộ
departments:
  - id: mot-cua
    name: Bộ phận một cửa
documents:
  - id: don
    name: Đơn đề nghị
plugins:
  - id: ktp
    file: ../../plugins/dist/kiem-tra-thanh-phan.wasm
    sha256: {sha}
    config:
      received_field: "$documents"
      required: [don]
      incomplete_action: thieu
form:
  type: object
states:
  - id: kiem-tra
    label: Kiểm tra thành phần
    kind: automatic
    start: true
    department: mot-cua
    budget: 1 working hour
    status: 2
    plugin:
      plugin: ktp
      config:
        {state_config}
  - id: xu-ly
    label: Xử lý
    kind: task
    department: mot-cua
    budget: 1 working day
    status: 4
  - id: da-tra
    label: Đã trả kết quả
    kind: terminal
    outcome: result_issued
    status: 10
  - id: tra-lai
    label: Trả lại hồ sơ thiếu
    kind: terminal
    outcome: refused
    status: 3
actions:
  - id: du
    label: Đủ thành phần
    from: kiem-tra
    to: xu-ly
    by: system
  - id: thieu
    label: Thiếu thành phần
    from: kiem-tra
    to: tra-lai
    by: system
  - id: tra
    label: Trả kết quả
    from: xu-ly
    to: da-tra
    roles: [can-bo]
"#
    )
}

/// The automatic-state fixture with `state_config` in the state's plugin config, checked
/// against the real completeness plugin: its text and diagnostics.
fn check_automatic(state_config: &str) -> (String, Vec<procedure::Diagnostic>) {
    let sums = std::fs::read_to_string(root().join("plugins/dist/SHA256SUMS")).unwrap();
    let sha = sums
        .lines()
        .find(|l| l.ends_with(" kiem-tra-thanh-phan.wasm"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap();
    let inspector = procedure::WasmInspector::new().unwrap();
    let text = automatic_fixture(sha, state_config);
    let mut loaded = procedure::load_str(&text, root().join("tests/fixtures/inline.yaml"));
    procedure::run_checks(&mut loaded, &inspector);
    (text, loaded.diagnostics)
}

/// The 1-based line and column where `needle` first appears in `text`.
fn line_col(text: &str, needle: &str) -> (u32, u32) {
    text.lines()
        .enumerate()
        .find_map(|(i, l)| l.find(needle).map(|c| (i as u32 + 1, c as u32 + 1)))
        .unwrap()
}

#[test]
fn a_use_may_supply_config_the_plugin_entry_leaves_out() {
    let check = |state_config: &str| {
        let (text, diagnostics) = check_automatic(state_config);
        let got: Vec<(String, u32)> = diagnostics
            .iter()
            .map(|d| (d.code.to_string(), d.line))
            .collect();
        (got, line_col(&text, state_config).0)
    };
    // The entry lacks the required `complete_action`; the state supplies it.
    let (got, _) = check("complete_action: du");
    assert_eq!(got, vec![], "the merged config is what runs");
    // A wrong value is reported where the author wrote it: in the state's config.
    let (got, line) = check("complete_action: 1");
    assert_eq!(got, vec![("E064".to_string(), line)]);
}

/// Regression: a misspelt config key was reported at the whole `config` mapping; it is now
/// reported at the key itself, with the key in the message.
#[test]
fn an_unknown_config_key_is_reported_at_the_key() {
    let (text, diagnostics) = check_automatic("{complete_action: du, complete_actoin: du}");
    let (line, col) = line_col(&text, "complete_actoin");
    let got: Vec<(String, u32, u32)> = diagnostics
        .iter()
        .map(|d| (d.code.to_string(), d.line, d.col))
        .collect();
    assert_eq!(
        got,
        vec![("E064".to_string(), line, col)],
        "{diagnostics:?}"
    );
    assert!(diagnostics[0].message.contains("complete_actoin"));
}

/// The author's upload screen words each diagnostic in Vietnamese at its line
/// (`motcua::messages::diagnostics`), the code small beside it, and no English; the API's
/// refusal keeps the English `message` for integrators and adds the Vietnamese `detail`.
mod upload_in_vietnamese {
    use crate::http::{self, ADMIN, Server};

    /// Words of the validator's English messages that must not reach the screen's notes.
    const ENGLISH: &[&str] = &[
        "unknown",
        "missing",
        "did you mean",
        "declared",
        "not ",
        "cannot",
        "error[",
        "hint",
    ];

    /// Posts `source` to the upload screen (`store`: the "Lưu" button) and returns the page.
    fn upload(s: &Server, cookie: &str, source: &str, store: bool) -> String {
        let r = s.request("GET", "/thu-tuc/tai-len", None, &[("cookie", cookie)], None);
        assert_eq!(r.status, 200, "{}", r.text());
        let page = r.text();
        let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
        let csrf = &page[at..at + 64];
        let button = if store {
            ("store", "1")
        } else {
            ("check", "1")
        };
        let body =
            serde_urlencoded::to_string([("csrf", csrf), ("source", source), button]).unwrap();
        let r = s.request(
            "POST",
            "/thu-tuc/tai-len",
            None,
            &[
                ("cookie", cookie),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            Some(body.as_bytes()),
        );
        assert_eq!(r.status, 422, "{}", r.text());
        r.text().replace("&#39;", "'").replace("&#x27;", "'")
    }

    /// The notes shown under source line `line`.
    fn notes_at(page: &str, line: u32) -> Vec<String> {
        let marker = format!("<span class=\"ln\">{line}</span>");
        let at = page.find(&marker).unwrap_or_else(|| panic!("line {line}"));
        let after = &page[at..];
        // The line's own span ends at the first newline; its notes follow, up to the next line.
        let end = after[marker.len()..]
            .find("<span class=\"ln\">")
            .map_or(after.len(), |i| i + marker.len());
        after[..end]
            .split("<span class=\"note")
            .skip(1)
            .map(|n| n[..n.find("</small></span>").expect("a note's end")].to_string())
            .collect()
    }

    fn assert_no_english(notes: &[String]) {
        for n in notes {
            let lower = n.to_lowercase();
            for word in ENGLISH {
                assert!(!lower.contains(word), "English {word:?} in {n}");
            }
        }
    }

    #[test]
    fn the_upload_screen_says_each_problem_in_vietnamese_at_its_line() {
        let dir = tempfile::tempdir().expect("dir");
        let s = Server::start(dir.path(), &[]);
        let cookie = s.sign_in(ADMIN.token);
        let root = http::root();
        let read = |name: &str| {
            std::fs::read_to_string(root.join("tests/fixtures/broken").join(name)).unwrap()
        };

        // Checked on the screen: the validator's own diagnostics.
        let page = upload(&s, &cookie, &read("E011-unknown-state.yaml"), false);
        let notes = notes_at(&page, 55);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains(
                "Dòng 55, cột 9 · Lỗi: Trạng thái 'da-traa' không có trong thủ tục. \
                 Gợi ý: Có phải ý bạn là 'da-tra'?"
            ),
            "{}",
            notes[0]
        );
        assert!(
            notes[0].ends_with(">E011"),
            "the code as a reference: {}",
            notes[0]
        );
        assert!(
            !page.contains("unknown state 'da-traa'"),
            "no English message"
        );
        assert_no_english(&notes);

        let page = upload(&s, &cookie, &read("E010-duplicate-id.yaml"), false);
        let notes = notes_at(&page, 15);
        assert!(
            notes.iter().any(|n| n.contains(
                "Dòng 15, cột 9 · Lỗi: Mã vai trò 'can-bo' bị trùng (đã khai báo ở dòng 13)"
            )),
            "{notes:?}"
        );
        assert_no_english(&notes);

        // Stored: the engine's pipeline (plugins inspected) refuses, worded the same way.
        let page = upload(&s, &cookie, &read("E060-plugin-unreadable.yaml"), true);
        let notes = notes_at(&page, 23);
        assert!(
            notes
                .iter()
                .any(|n| n.contains("Dòng 23, cột 11 · Lỗi: ")
                    && n.contains("mô-đun mở rộng 'cccd'")),
            "{notes:?}"
        );
        assert_no_english(&notes);
    }

    #[test]
    fn an_api_refusal_keeps_the_english_message_and_adds_a_vietnamese_detail() {
        let dir = tempfile::tempdir().expect("dir");
        let s = Server::start(dir.path(), &[]);
        let source =
            std::fs::read(http::root().join("tests/fixtures/broken/E011-unknown-state.yaml"))
                .unwrap();
        let r = s.request(
            "PUT",
            "/v1/procedures/fixture",
            Some(ADMIN),
            &[("content-type", "application/yaml")],
            Some(&source),
        );
        assert_eq!(r.status, 422, "{}", r.text());
        let errors = r.json()["errors"].clone();
        assert_eq!(errors[0]["code"], "E011", "{errors}");
        assert_eq!(errors[0]["line"], 55);
        assert_eq!(errors[0]["message"], "unknown state 'da-traa'");
        assert_eq!(
            errors[0]["detail"],
            "Trạng thái 'da-traa' không có trong thủ tục"
        );
    }
}
