//! The fuzz targets' bodies, shared by the libFuzzer binaries in `fuzz_targets/` and by the
//! test that replays `fuzz/regressions/` in CI (`tests/fuzz_regressions.rs`), so a crashing
//! input found once is checked by exactly the code that found it. Each function must never
//! panic, whatever its input.

use motcua::calendar::{Calendar, Duration, Unit};
use motcua::dossier::Actor;
use motcua::dossier::guard::Guard;
use motcua::dossier::transition::{ActionRequest, Submission};
use motcua::procedure;
use serde::{Serialize, de::DeserializeOwned};

/// Procedure files: raw bytes through the loader (UTF-8, YAML, source map, typing) and, when
/// the document typed, through every semantic check.
pub fn procedure_load(bytes: &[u8]) {
    let mut loaded = procedure::load_bytes(bytes, "fuzz.yaml");
    if loaded.procedure.is_some() {
        procedure::run_checks(&mut loaded, &procedure::NoPlugins);
    }
}

/// Durations as authors write them: every accepted value prints to text that parses back to
/// the same value.
pub fn duration(s: &str) {
    if let Ok(d) = s.parse::<Duration>() {
        let shown = d.to_string();
        let again: Duration = shown
            .parse()
            .unwrap_or_else(|e| panic!("{d:?} prints as {shown:?}, which does not parse: {e}"));
        assert_eq!(d, again, "{s:?} -> {shown:?} does not round-trip");
    }
}

/// Calendar files: parse, resolve `extends:` (only the built-in `vn-national` resolves),
/// validate and compile; then a few queries on a calendar that compiled.
pub fn calendar_file(text: &str) {
    let mut resolve = |_: &str, name: &str| -> Result<(String, String), String> {
        Err(format!("no calendar '{name}' while fuzzing"))
    };
    let Ok(cal) = Calendar::from_yaml(text, "fuzz.yaml", &mut resolve) else {
        return;
    };
    let t: jiff::Timestamp = "2025-04-28T02:00:00Z".parse().expect("a fixed instant");
    let _ = cal.holidays(2025);
    let _ = cal.is_working_time(t);
    let _ = cal.counting_start(t);
    let _ = cal.add(t, Duration::new(2_500, Unit::WorkingDays));
    let _ = cal.add(t, Duration::new(15_000, Unit::CalendarDays));
    let _ = cal.add(t, Duration::new(4_000, Unit::WorkingHours));
}

/// Guards: any CEL text is compiled and, when it compiles, evaluated against fixed data.
pub fn guard(expr: &str) {
    let Ok(guard) = Guard::compile(expr, "label") else {
        return;
    };
    let data = serde_json::json!({
        "name": "Nguyễn Văn A",
        "age": 34,
        "income": 1.5e7,
        "married": true,
        "children": [{"name": "B", "age": 3}, {"name": "C", "age": 7}],
        "address": {"province": "Đà Nẵng", "ward": null},
    });
    let input = serde_json::json!({"approve": true, "reason": "ok", "amount": 12});
    let actor = Actor {
        id: "officer-1".into(),
        roles: vec!["officer".into(), "leader".into()],
        departments: vec!["tu-phap".into()],
    };
    let now: jiff::Timestamp = "2025-04-28T02:00:00Z".parse().expect("a fixed instant");
    let _ = guard.allows(&data, None, &input, &actor, now);
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    let Ok(value) = serde_json::from_slice::<T>(bytes) else {
        return;
    };
    let json = serde_json::to_vec(&value).expect("a parsed request serializes");
    let again: T = serde_json::from_slice(&json).unwrap_or_else(|e| {
        panic!(
            "{} does not parse back: {e}",
            String::from_utf8_lossy(&json)
        )
    });
    assert_eq!(
        value,
        again,
        "does not round-trip through {}",
        String::from_utf8_lossy(&json)
    );
}

/// Portal requests: any JSON that deserializes as a Submission or an ActionRequest serializes
/// to JSON that deserializes to an equal value.
pub fn requests(bytes: &[u8]) {
    round_trip::<Submission>(bytes);
    round_trip::<ActionRequest>(bytes);
}
