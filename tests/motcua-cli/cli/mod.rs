//! Shared helpers for the tests that run the real `motcua` binary (`dossier_cli`, `audit_cli`,
//! `report_cli`, `proof_cli`): where it runs, how its output reads, and the engine fixture's
//! house permit as a portal would send it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root, where the binary runs (fixture paths are relative to it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `motcua <args>` from the repository's root.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_motcua"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("the binary runs")
}

/// `motcua dossier <command> FILE` on `data` at instant `now`, with the engine fixtures; the
/// request is written next to the data folder.
pub fn dossier(data: &Path, now: &str, command: &str, request: serde_json::Value) -> Output {
    let file = data.with_extension(format!("{command}.json"));
    std::fs::write(&file, request.to_string()).expect("request written");
    let data = data.to_str().expect("UTF-8 path");
    let file = file.to_str().expect("UTF-8 path");
    run(&[
        "dossier",
        "--data",
        data,
        "--procedures",
        "tests/fixtures/engine",
        "--now",
        now,
        command,
        file,
    ])
}

/// The officer at the one-stop desk of the engine fixtures.
pub fn desk_officer() -> serde_json::Value {
    serde_json::json!({"id": "mc01", "roles": ["mot_cua"], "departments": ["bo_phan_mot_cua"]})
}

/// A house permit (the engine fixture `cap-phep-xay-dung-thu-nghiem`) handed in at the desk by
/// the applicant with this citizen id.
pub fn house_permit(applicant: &str) -> serde_json::Value {
    serde_json::json!({
        "procedure": "cap-phep-xay-dung-thu-nghiem",
        "applicant": {"id": applicant, "name": "Nguyễn Văn An"},
        "channel": "desk",
        "data": {"chu_dau_tu": "Nguyễn Văn An", "dien_tich_san": 180.5, "so_tang": 3},
        "documents": ["don", "ban_ve"],
        "received_by": desk_officer(),
    })
}
