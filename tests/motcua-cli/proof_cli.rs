//! `motcua audit verify | keygen | checkpoint` and `motcua migrate`, run as the real binary:
//! the exit codes and lines an inspector's script relies on.

use crate::cli;

use std::path::Path;
use std::process::Output;

use cli::{dossier, house_permit, run, text};

fn verify_against(data: &str, checkpoint: &Path, pubkey: &str) -> Output {
    let checkpoint = checkpoint.to_str().unwrap();
    run(&[
        "audit",
        "verify",
        "--data",
        data,
        "--checkpoint",
        checkpoint,
        "--pubkey",
        pubkey,
    ])
}

/// A data folder with two dossiers received at the desk.
fn received(dir: &Path) -> String {
    let data = dir.join("data");
    for (n, key) in ["quay-1-0001", "quay-1-0002"].iter().enumerate() {
        let mut permit = house_permit(&format!("07909000123{n}"));
        permit["idempotency_key"] = (*key).into();
        let out = dossier(&data, "2026-06-01T09:00:00+07:00", "submit", permit);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    data.display().to_string()
}

#[test]
fn verify_prints_the_count_and_head_and_a_kept_checkpoint_is_extended() {
    let dir = tempfile::tempdir().unwrap();
    let data = received(dir.path());
    let out = run(&["audit", "verify", "--data", &data]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    let line = said.lines().next().unwrap_or_default();
    assert!(said.contains("papers: 0 checked"), "{said}");
    let head = line
        .trim()
        .strip_prefix("ok: 2 entries, head ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    assert_eq!(head.len(), 64);

    let key = dir.path().join("h56.key");
    let out = run(&[
        "audit",
        "keygen",
        "--out",
        key.to_str().unwrap(),
        "--agency",
        "000.17.22.H56",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the secret key is for its owner only");
    }
    // A second keygen never overwrites a key.
    let again = run(&[
        "audit",
        "keygen",
        "--out",
        key.to_str().unwrap(),
        "--agency",
        "x",
    ]);
    assert_eq!(again.status.code(), Some(2));

    let out = run(&[
        "audit",
        "checkpoint",
        "--data",
        &data,
        "--key",
        key.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cp: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (cp["count"].as_u64(), cp["head"].as_str()),
        (Some(2), Some(head.as_str()))
    );
    assert_eq!(cp["agency"], "000.17.22.H56");
    let kept = dir.path().join("checkpoint.json");
    std::fs::write(&kept, &out.stdout).unwrap();
    let pubkey = format!("{}.pub", key.display());

    let out = verify_against(&data, &kept, &pubkey);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("extends the checkpoint of 2 entries"));

    // A checkpoint altered by hand no longer verifies: exit 1, saying why.
    let mut forged = cp.clone();
    forged["count"] = 1.into();
    std::fs::write(&kept, forged.to_string()).unwrap();
    let out = verify_against(&data, &kept, &pubkey);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("signature does not verify"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn verify_of_a_missing_folder_is_a_usage_error_and_migrate_of_a_current_store_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("dta");
    let out = run(&["audit", "verify", "--data", typo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(!typo.exists(), "verify must not create a store");
    let data = received(dir.path());
    let out = run(&["migrate", "--data", &data]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("already current: 2 entries"),
        "{}",
        text(&out.stdout)
    );
}
