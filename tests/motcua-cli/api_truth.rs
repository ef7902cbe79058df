//! The OpenAPI document tells the truth (issue 29), checked by tools that are not ours, against
//! the real binary on 127.0.0.1: Schemathesis (property-based, driven by the document) as each
//! role, and a client generated from `schemas/openapi.json` by openapi-python-client walking a
//! dossier. Both are pinned in `api-testers.txt` and installed from PyPI by
//! `tools/api-testers.sh` (`.ci/run` runs it first; a test runs it when the venv is missing).

use crate::http;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use http::{ADMIN, AUDITOR, CITIZEN, Cred, DESK, LEADER, PORTAL, Server};

/// The testers' venv, installed once per run.
fn testers() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("api-testers");
        let out = Command::new(http::root().join("tools/api-testers.sh"))
            .arg(&dir)
            .output()
            .expect("running tools/api-testers.sh");
        assert!(
            out.status.success(),
            "installing the API testers from PyPI failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// A dossier received at the desk: its code, public code and the citizen's secret.
fn received(s: &Server) -> (String, String, String) {
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "api-truth")],
        &http::house_permit(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    let code = v["code"].as_str().expect("code").to_string();
    let public = v["slip"]["code"].as_str().expect("public code").to_string();
    let secret = v["slip"]["status_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    (code, public, secret)
}

/// Schemathesis's configuration: the real dossier and procedure as test data, and the
/// exceptions, each with why.
fn config(dir: &Path, code: &str, public: &str, secret: &str) -> PathBuf {
    let path = dir.join("schemathesis.toml");
    let text = format!(
        r#"# Written by tests/motcua-cli/api_truth.rs.
[parameters]
# Real data, so operations reach past "not found": the sample dossier, its citizen code and
# secret, a sample procedure.
"path.code" = "{code}"
"path.public_code" = "{public}"
"query.secret" = "{secret}"
"path.id" = "cap-phep-xay-dung-nha-o"
"path.procedure" = "cap-phep-xay-dung-nha-o"

# Deliberate exceptions to "a schema-valid request is accepted", each a rule OpenAPI cannot
# express. Every other check stays on for these operations.

# A listing needs one selective filter, and a cursor is good only when this server sealed it
# for this caller and these filters.
[[operations]]
include-operation-id = "list_dossiers"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 409, 429]

# An audit cursor is a sequence number this log has reached.
[[operations]]
include-operation-id = "list_audit"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 409, 429]

# A report's period must not end before it starts.
[[operations]]
include-operation-id = "report_on_time"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 409, 429]

# A tracking book's period must not end before it starts, nor run past 366 days or outside
# the dossier code's century (2000-2099).
[[operations]]
include-operation-id = "report_tracking_book"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 409, 429]

# The form data is checked against the procedure's own JSON Schema and its checklist, ids
# against byte limits and control characters.
[[operations]]
include-operation-id = "submit_dossier"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 409, 422, 429]

# An action exists, is available and takes its input only in the dossier's current state.
# A missing If-Match is 428 Precondition Required (RFC 6585), as the document declares.
[[operations]]
include-operation-id = "act_on_dossier"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 409, 422, 429]
checks.missing_required_header.expected-statuses = [400, 401, 403, 406, 415, 422, 428]

# A procedure file is checked by the validator (docs/diagnostics.md).
# The same for an assignment: the step named may not be active (422), and If-Match is required.
[[operations]]
include-operation-id = "assign_step"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 409, 422, 429]
checks.missing_required_header.expected-statuses = [400, 401, 403, 406, 415, 422, 428]

# A paper's bytes must be a PDF, JPEG, PNG or TIFF by their own signature (415 otherwise),
# not empty (400), of a kind the procedure declares (422).
[[operations]]
include-operation-id = "attach_document"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 409, 413, 415, 422, 429]

# The same bytes ahead of a submission: a scan or a photo by its signature (415 otherwise).
[[operations]]
include-operation-id = "upload_document"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 413, 415, 429]

# A contact's e-mail is one plain mailbox and a consent needs its address (400); the same
# contact again is no change (422); If-Match is required (428).
[[operations]]
include-operation-id = "change_contact"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 409, 422, 429]
checks.missing_required_header.expected-statuses = [400, 401, 403, 406, 415, 422, 428]

# A forecast's scenario is checked against the catalogue in force (422, in Vietnamese) and
# named scenarios are the server's own (404); exactly one of the two is given (400).
[[operations]]
include-operation-id = "create_simulation"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 422, 429]

# The waits' period must not end before it starts, nor run past 366 days.
[[operations]]
include-operation-id = "procedure_waits"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 429]

[[operations]]
include-operation-id = "put_procedure"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 409, 422, 429]
"#
    );
    std::fs::write(&path, text).expect("config");
    path
}

fn schemathesis(s: &Server, config: &Path, who: Option<Cred>, report: &Path) -> (bool, String) {
    let mut cmd = Command::new(testers().join("bin/schemathesis"));
    cmd.arg("--config-file")
        .arg(config)
        .arg("run")
        .arg(format!("http://{}/openapi.json", s.addr))
        .args(["--checks", "all"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", "8", "--max-time", "15", "--seed", "29"])
        .args(["--request-timeout", "20", "--workers", "1"])
        .arg("--report-junit-path")
        .arg(report)
        .args(["--report", "junit"]);
    if let Some(c) = who {
        cmd.args(["-H", &format!("Authorization: Bearer {}", c.token)]);
    }
    // Its cache of found failures stays in the test's folder, not the repository.
    let out = cmd
        .current_dir(config.parent().expect("the config's folder"))
        .env("NO_COLOR", "1")
        .output()
        .expect("running schemathesis");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Every role's view of the API agrees with the document: no status, content type, header or
/// body the document does not declare, no invalid input accepted, no check of a credential
/// skipped, no 5xx.
#[test]
fn schemathesis_finds_no_disagreement_between_the_document_and_the_server_for_any_role() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &[]);
    let (code, public, secret) = received(&s);
    let config = config(dir.path(), &code, &public, &secret);
    let mut failed = vec![];
    for who in [DESK, LEADER, ADMIN, PORTAL, AUDITOR, CITIZEN] {
        let report = dir.path().join(format!("{}.xml", who.subject));
        let (ok, text) = schemathesis(&s, &config, Some(who), &report);
        let junit = std::fs::read_to_string(&report).unwrap_or_default();
        assert!(
            junit.contains("<testcase"),
            "{} ran nothing:\n{text}",
            who.subject
        );
        if !ok {
            failed.push(format!("== as {}\n{text}", who.subject));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// A client generated from the committed document receives a dossier, acts on it and reads
/// it back, decoding every answer into its typed models.
#[test]
fn a_client_generated_from_the_document_walks_a_dossier() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = Command::new(testers().join("bin/openapi-python-client"))
        .arg("generate")
        .arg("--path")
        .arg(http::root().join("schemas/openapi.json"))
        .arg("--output-path")
        .arg(dir.path().join("client"))
        .arg("--meta")
        .arg("none")
        .output()
        .expect("running openapi-python-client");
    assert!(
        out.status.success(),
        "generating the client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let s = Server::start(&dir.path().join("server"), &[]);
    let script = dir.path().join("walk.py");
    std::fs::write(&script, WALK).expect("script");
    let body = serde_json::to_string(&http::house_permit()).expect("json");
    let out = Command::new(testers().join("bin/python"))
        .arg(&script)
        .env("PYTHONPATH", dir.path())
        .env("MOTCUA_URL", format!("http://{}", s.addr))
        .env("MOTCUA_DESK", DESK.token)
        .env("MOTCUA_SUBMISSION", body)
        .output()
        .expect("running the walk");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("walked "), "{text}");
}

/// The walk, in the generated client's own terms (its typed models, not raw JSON).
const WALK: &str = r#"
import json, os, sys
from client import AuthenticatedClient
from client.api.dossiers import submit_dossier, act_on_dossier, get_dossier, list_dossiers
from client.models import SubmitBody, ActionBody, DossierView, Received, ListPage

api = AuthenticatedClient(base_url=os.environ["MOTCUA_URL"], token=os.environ["MOTCUA_DESK"])
body = SubmitBody.from_dict(json.loads(os.environ["MOTCUA_SUBMISSION"]))
r = submit_dossier.sync_detailed(client=api, body=body, idempotency_key="generated-client-1")
assert r.status_code == 201, (r.status_code, r.content)
assert isinstance(r.parsed, Received), r.parsed
code = r.parsed.code
assert r.parsed.ending is None
version = r.parsed.version

r = act_on_dossier.sync_detailed(code, client=api, if_match=f'"{version}"',
    body=ActionBody(action="chuyen-kiem-tra", comment="Đủ thành phần"))
assert r.status_code == 200, (r.status_code, r.content)
assert isinstance(r.parsed, DossierView), r.parsed
assert r.parsed.version > version, (r.parsed.version, version)  # automatic steps may follow

r = get_dossier.sync_detailed(code, client=api)
assert r.status_code == 200 and isinstance(r.parsed, DossierView), r
states = sorted(s.state for s in r.parsed.states)

r = list_dossiers.sync_detailed(client=api, department="mot-cua", limit=50)
assert r.status_code == 200 and isinstance(r.parsed, ListPage), r

# A refusal decodes too: the problem document is declared.
r = act_on_dossier.sync_detailed(code, client=api, if_match=f'"{version}"',
    body=ActionBody(action="chuyen-kiem-tra"))
assert r.status_code == 409, (r.status_code, r.content)
print("walked", code, "to", states)
"#;
