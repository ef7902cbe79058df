//! The read-only checks a transition passes before anything is written: a reused
//! idempotency key (replayed or refused), each changed dossier's version, the day's code
//! sequence.

use super::*;

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct IdempotencyRecord {
    pub(super) code: String,
    pub(super) request: String,
}

/// What the read-only checks of a transition decided.
pub(super) enum Checked {
    /// Go on and write: the old state of each changed dossier, the codes assigned and the
    /// day counters they advance.
    Proceed {
        olds: Vec<Option<Prev>>,
        codes: HashMap<String, String>,
        counters: HashMap<String, u64>,
    },
    /// Answered without writing: a replay or a refusal.
    Done(Answer),
}

/// Steps 1 and 2 of [`apply_one`]: reads only, so an error here (a corrupt record) concerns
/// this transition alone.
pub(super) fn check(
    t: &Tx,
    tr: &Transition,
    recent: &Recent,
    written: &Recent,
) -> Result<Checked, Error> {
    // 1. Checks, reads only.
    if let Some((key, request)) = &tr.idempotency
        && let Some(v) = t.get(IDEM, key.as_bytes())?
    {
        let rec: IdempotencyRecord = serde_json::from_slice(&v).map_err(corrupt)?;
        if &rec.request != request {
            return Ok(Checked::Done(Answer::Refused(Error::IdempotencyMismatch {
                key: key.clone(),
                code: rec.code,
            })));
        }
        return match read_dossier(t, &rec.code)? {
            Some((d, _, _)) => Ok(Checked::Done(Answer::Replayed(Box::new(d)))),
            None => Err(corrupt(format!(
                "idempotency key {key} names missing dossier {}",
                rec.code
            ))),
        };
    }
    // Every stored record is vouched for by the entry that wrote it (its digest is in the
    // chain), so a change without an entry cannot be stored.
    if let Some(c) = tr.changes.iter().find(|c| c.audit.is_empty()) {
        return Err(corrupt(format!(
            "dossier {}: a change without an audit entry",
            c.dossier.code
        )));
    }
    let mut olds: Vec<Option<Prev>> = Vec::with_capacity(tr.changes.len());
    for change in &tr.changes {
        match change.expected_version {
            None => olds.push(None),
            Some(expected) => {
                let code = &change.dossier.code;
                let cached = written.get(code).or_else(|| recent.get(code)).cloned();
                let old = match cached {
                    Some(p) => p,
                    None => match read_dossier(t, code)? {
                        Some((d, seqs, digest)) => Prev::of(&d, seqs, digest),
                        None => {
                            return Ok(Checked::Done(Answer::Refused(Error::NotFound(
                                code.clone(),
                            ))));
                        }
                    },
                };
                if old.version != expected {
                    return Ok(Checked::Done(Answer::Refused(Error::VersionMoved {
                        code: code.clone(),
                        expected,
                        current: old.version,
                    })));
                }
                olds.push(Some(old));
            }
        }
    }
    // 2. Codes for new dossiers: the day's next numbers, gap-free because a refused
    //    transition never reaches this point and the counter moves in the same batch.
    let mut codes: HashMap<String, String> = HashMap::new();
    let mut counters: HashMap<String, u64> = HashMap::new();
    for change in &tr.changes {
        if let (None, Some(prefix)) = (change.expected_version, &change.code_prefix) {
            let next = match counters.get(prefix) {
                Some(n) => n + 1,
                None => read_u64(t, SEQ, prefix.as_bytes())?.saturating_add(1),
            };
            if next > 9999 {
                let (agency, day) = prefix.rsplit_once('-').unwrap_or((prefix.as_str(), ""));
                return Ok(Checked::Done(Answer::Refused(Error::SequenceExhausted {
                    agency: agency.into(),
                    day: day.into(),
                })));
            }
            counters.insert(prefix.clone(), next);
            codes.insert(change.dossier.code.clone(), format!("{prefix}-{next:04}"));
        }
    }
    Ok(Checked::Proceed {
        olds,
        codes,
        counters,
    })
}
