//! Key layout. Every list the engine serves is a range scan over one of these prefixes, and
//! every key is derived from the dossier alone, so the store can remove a dossier's old keys
//! exactly when it writes the new version.
//!
//! Tree `idx` (values empty), parts separated by 0x00:
//! - `st \0 procedure \0 state \0 code`      open dossiers by active state
//! - `dp \0 department \0 state \0 code`     open dossiers by owning department
//! - `ap \0 applicant \0 code`                every dossier of an applicant
//! - `du \0 appointment(be i64 ms) \0 code`   open dossiers with a running clock, by appointment
//! - `rc \0 agency \0 yymmdd \0 code`         dossiers received per agency and day
//!
//! Tree `timers`: `at(be i64 ms) \0 code \0 (step:<state> | appointment)` → timer JSON.
//!
//! The audit log and the outbox are written once per commit batch, not once per entry (every
//! key written copies a sled leaf):
//! - `audit_entries`: `code \0 seq(be u64)` → entry JSON (a dossier's history is one prefix scan);
//! - `audit_order`: `first seq(be u64)` → the codes of the batch's entries in seq order,
//!   separated by 0x00 (entry `first + i` belongs to the i-th code);
//! - `outbox_batches`: `first seq(be u64)` → the batch's events as one JSON array (event
//!   `first + i` is the i-th).

use jiff::Timestamp;

use crate::dossier::Dossier;
use crate::dossier::transition::{Timer, TimerKind, timers_of};

pub const SEP: u8 = 0;

/// Big-endian, sign-flipped milliseconds: byte order equals time order.
pub fn time_key(t: Timestamp) -> [u8; 8] {
    ((t.as_millisecond() as u64) ^ (1 << 63)).to_be_bytes()
}

pub fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(SEP);
        }
        k.extend_from_slice(p);
    }
    k
}

/// A prefix that ends with a separator, for scans.
pub fn prefix(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = join(parts);
    k.push(SEP);
    k
}

/// The local receipt day as YYMMDD, the same day the dossier code carries.
pub fn day_of_code(code: &str) -> &str {
    code.rsplit('-').nth(1).unwrap_or("")
}

/// All `idx` keys of a dossier in its current state.
pub fn index_keys(d: &Dossier) -> Vec<Vec<u8>> {
    let code = d.code.as_bytes();
    let mut keys = vec![
        join(&[b"ap", d.applicant.id.as_bytes(), code]),
        join(&[
            b"rc",
            d.agency.as_bytes(),
            day_of_code(&d.code).as_bytes(),
            code,
        ]),
    ];
    if d.is_open() {
        for t in d.tokens.iter() {
            let k = join(&[b"st", d.procedure.as_bytes(), t.state.as_bytes(), code]);
            if !keys.contains(&k) {
                keys.push(k);
            }
            if let Some(dep) = &t.department {
                let k = join(&[b"dp", dep.as_bytes(), t.state.as_bytes(), code]);
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        if d.clock.paused_since.is_none() {
            keys.push(join(&[b"du", &time_key(d.clock.due_at), code]));
        }
    }
    keys
}

/// The `timers` keys and values of a dossier in its current state.
pub fn timer_entries(d: &Dossier) -> Vec<(Vec<u8>, Timer)> {
    timers_of(d)
        .into_iter()
        .map(|t| {
            let what = match &t.kind {
                TimerKind::StepDue { state } => format!("step:{state}"),
                TimerKind::Appointment => "appointment".to_string(),
            };
            (
                join(&[&time_key(t.at), d.code.as_bytes(), what.as_bytes()]),
                t,
            )
        })
        .collect()
}

/// The code at the end of an index key.
pub fn code_of(key: &[u8]) -> Option<&str> {
    let start = key.iter().rposition(|b| *b == SEP)? + 1;
    std::str::from_utf8(&key[start..]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_sort_like_time_including_before_1970() {
        let a = Timestamp::from_millisecond(-5).unwrap();
        let b = Timestamp::from_millisecond(0).unwrap();
        let c = Timestamp::from_millisecond(1_800_000_000_000).unwrap();
        assert!(time_key(a) < time_key(b));
        assert!(time_key(b) < time_key(c));
    }

    #[test]
    fn the_code_is_the_last_part_of_an_index_key() {
        let k = join(&[
            b"st",
            b"dang-ky-khai-sinh",
            b"tiep_nhan",
            b"000.17.22.H56-261127-0001",
        ]);
        assert_eq!(code_of(&k), Some("000.17.22.H56-261127-0001"));
        assert_eq!(day_of_code("000.17.22.H56-261127-0001"), "261127");
    }
}
