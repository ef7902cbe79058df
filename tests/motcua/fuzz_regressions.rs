//! Replays every input under `fuzz/regressions/<target>/` through the fuzz target's own body
//! (`fuzz/targets.rs`), so an input that once crashed a target is checked in every CI run
//! without the nightly toolchain. A target's folder may be missing: no input ever crashed it.

#[path = "../../fuzz/targets.rs"]
mod targets;

use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return vec![];
    };
    let mut found: Vec<(String, Vec<u8>)> = entries
        .map(|e| {
            let path = e.expect("a regression input").path();
            let name = path.display().to_string();
            (name, std::fs::read(&path).expect("readable"))
        })
        .collect();
    found.sort();
    found
}

fn replay(target: &str, run: impl Fn(&[u8])) -> usize {
    let all = inputs(target);
    for (name, bytes) in &all {
        let started = std::time::Instant::now();
        run(bytes);
        // A hang is a failure too: libFuzzer ran with -timeout=10.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{name} took {:?}",
            started.elapsed()
        );
    }
    all.len()
}

fn text(run: fn(&str)) -> impl Fn(&[u8]) {
    move |bytes| {
        if let Ok(s) = std::str::from_utf8(bytes) {
            run(s);
        }
    }
}

/// Regression: nine levels of ten aliases each (430 bytes) made the loader expand about 10^9
/// nodes and run out of memory; it is now a positioned E001 within milliseconds.
#[test]
fn the_alias_bomb_and_every_other_procedure_regression_load_without_running_away() {
    assert!(replay("procedure_load", targets::procedure_load) >= 1);
    let bomb = inputs("procedure_load")
        .into_iter()
        .find(|(name, _)| name.contains("alias-bomb"))
        .expect("the alias bomb is kept");
    let loaded = motcua::procedure::load_bytes(&bomb.1, "bomb.yaml");
    assert!(loaded.procedure.is_none());
    assert_eq!(
        loaded.diagnostics[0].code,
        motcua::procedure::Code::YamlSyntax
    );
    assert!(
        loaded.diagnostics[0]
            .message
            .contains("more than 100000 nodes")
    );
}

#[test]
fn duration_calendar_guard_and_request_regressions_replay() {
    assert!(replay("duration", text(targets::duration)) >= 2);
    assert!(replay("calendar_file", text(targets::calendar_file)) >= 1);
    assert!(replay("guard", text(targets::guard)) >= 1);
    assert!(replay("requests", targets::requests) >= 2);
    // The request regressions are refused by name at the door.
    for (name, bytes) in inputs("requests") {
        let parsed = serde_json::from_slice::<motcua::dossier::transition::Submission>(&bytes);
        match parsed {
            Err(e) => assert!(e.to_string().contains("unknown field"), "{name}: {e}"),
            Ok(sub) => assert!(sub.check().is_err(), "{name} passed the door"),
        }
    }
}
