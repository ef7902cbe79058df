//! Placeholder codes (a dossier submitted in the same transition as its children) replaced by
//! the codes just assigned, in the records, audit entries, timers and events.

use std::collections::HashMap;

use motcua_core::transition::{Change, NEW_CODE_PREFIX, timers_of};

/// Replaces placeholder codes with the codes just assigned, everywhere they appear.
pub(super) fn resolve(change: &Change, codes: &HashMap<String, String>) -> Change {
    let mut c = change.clone();
    if codes.is_empty() {
        return c;
    }
    let fix = |s: &mut String| {
        if s.starts_with(NEW_CODE_PREFIX)
            && let Some(real) = codes.get(s.as_str())
        {
            *s = real.clone();
        }
    };
    fix(&mut c.dossier.code);
    if let Some(p) = c.dossier.parent.as_mut() {
        fix(p);
    }
    c.dossier.children.iter_mut().for_each(fix);
    for e in c.audit.iter_mut() {
        fix(&mut e.dossier);
    }
    for e in c.events.iter_mut() {
        fix(&mut e.dossier);
        fix_json(&mut e.payload, codes);
    }
    c.timers = timers_of(&c.dossier);
    c
}

fn fix_json(v: &mut serde_json::Value, codes: &HashMap<String, String>) {
    match v {
        serde_json::Value::String(s) => {
            if let Some(real) = codes.get(s.as_str()) {
                *s = real.clone();
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|i| fix_json(i, codes)),
        serde_json::Value::Object(m) => m.values_mut().for_each(|i| fix_json(i, codes)),
        _ => {}
    }
}
