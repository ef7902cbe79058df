//! Key layout. Every list the engine serves is a range scan over one of these prefixes, and
//! every key is derived from the dossier alone, so the store can remove a dossier's old keys
//! exactly when it writes the new version. Every key written costs a copy of a sled leaf, so
//! the layout keeps the keys one step changes few.
//!
//! Everything lives in one sled tree; each kind of record has its own first byte (a "space",
//! named in `sled.rs`), and the layouts below are what follows that byte. The small spaces:
//! `s` the day's sequence per code prefix, `k` idempotency keys, `m` counters and the audit
//! chain's head, `p` pinned procedure sources by hash, `g` pinned plugins by sha256.
//!
//! Space `i`, the indexes (values empty), parts separated by 0x00:
//! - `wk \0 department \0 state \0 procedure \0 code`   open dossiers by active step: one key
//!   serves both a department's work (by state) and a procedure's state (the department is ""
//!   for a step no department owns, such as waiting for the applicant);
//! - `ap \0 applicant \0 code`                           every dossier of an applicant;
//! - `rc \0 agency \0 yymmdd \0 code`                    dossiers received per agency and day;
//! - `od \0 appointment(16 hex) \0 code`                 open dossiers whose appointment breach
//!   was recorded (with the appointment timers before now, the overdue listing);
//! - `sx \0 term \0 code`                                 staff search, one key per
//!   [`motcua_core::search::terms`] of the dossier (folded name from each word on, id, phone,
//!   code and its parts); terms are `[a-z0-9]`, so a prefix scan of a term is a prefix match;
//! - `du \0 appointment(16 hex) \0 code`                 open dossiers by appointment;
//! - `dd \0 department \0 due(16 hex) \0 code`           open dossiers by each active step's
//!   department and due instant (the step's own when budgeted, else the appointment): a
//!   department's work in due order across all pages;
//! - `rt \0 received(16 hex) \0 code`                    every dossier by receipt instant;
//! - `as \0 officer \0 due(16 hex) \0 code`              open steps assigned to a named
//!   officer, by the same due instant as `dd`: "assigned to me", most urgent first.
//!
//! The last five are [`INDEX_GENERATION`] 2: a store written before them has them rebuilt by
//! `motcua migrate` ([`crate::reindex`]).
//!
//! Space `x`: `procedure \0 state \0 department` → empty, every department a
//! `wk` key was ever written with, so a list by procedure and state knows which `wk` prefixes
//! to scan. It changes only when a procedure version moves a state to another department.
//!
//! Space `t`, timers: `at(be i64 ms) \0 code \0 (step:<state> | appointment | alarm:[<state>]:<rule>)` → empty; the key
//! says everything about the timer, and an empty value keeps the tree's leaves small. Overdue
//! dossiers are the appointment timers before now and the `od` keys.
//!
//! Space `d`, dossiers: `code` → the dossier's audit sequence numbers (a big-endian u32 count,
//! then one big-endian u64 each) followed by the dossier's JSON.
//!
//! The audit log and the outbox are written in chunks of a few KiB per commit batch, not one
//! key per entry:
//! - space `a`, the audit log: `first seq(be u64)` → consecutive entries as JSON, one per line (entry
//!   `first + i` is line i); a dossier's history is found through its record's seq list;
//! - space `o`, the outbox: `first seq(be u64)` → consecutive events as JSON, one per line.

use jiff::Timestamp;

use motcua_core::dossier::Dossier;
use motcua_core::transition::{Timer, TimerKind, timers_of};

pub const SEP: u8 = 0;

/// Big-endian, sign-flipped milliseconds: byte order equals time order.
pub fn time_key(t: Timestamp) -> [u8; 8] {
    ((t.as_millisecond() as u64) ^ (1 << 63)).to_be_bytes()
}

/// The escape byte: inside a part, 0x00 is written 0x01 0x01 and 0x01 is written 0x01 0x02,
/// so no part, whatever a portal sent, contains the separator (an applicant id with U+0000 in it
/// cannot reach into another applicant's listing), and byte order is kept.
const ESC: u8 = 1;

fn push_escaped(k: &mut Vec<u8>, part: &[u8]) {
    if !part.iter().any(|b| *b <= ESC) {
        k.extend_from_slice(part);
        return;
    }
    for b in part {
        match *b {
            SEP => k.extend_from_slice(&[ESC, 1]),
            ESC => k.extend_from_slice(&[ESC, 2]),
            b => k.push(b),
        }
    }
}

/// Parts joined by the separator, each escaped.
pub fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(SEP);
        }
        push_escaped(&mut k, p);
    }
    k
}

/// Parts already escaped (cut out of a stored key) joined by the separator.
pub fn join_escaped(parts: &[&[u8]]) -> Vec<u8> {
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
    if d.is_open() && d.clock.overdue_since.is_some() && d.clock.resolved.is_none() {
        keys.push(overdue_key_at(d.clock.due_at, &d.code));
    }
    for term in motcua_core::search::terms(d) {
        keys.push(join(&[b"sx", term.as_bytes(), code]));
    }
    keys.push(timed_key(b"rt", None, d.clock.received_at, &d.code));
    if d.is_open() {
        keys.push(timed_key(b"du", None, d.clock.due_at, &d.code));
        for t in d.tokens.iter().filter(|t| !t.waiting) {
            let department = t.department.as_deref().unwrap_or("");
            let due = t.due_at.unwrap_or(d.clock.due_at);
            let k = timed_key(b"dd", Some(department), due, &d.code);
            if !keys.contains(&k) {
                keys.push(k);
            }
            if let Some(officer) = &t.assignee {
                let k = timed_key(b"as", Some(officer), due, &d.code);
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
    }
    if d.is_open() {
        for t in d.tokens.iter() {
            let k = work_key(
                t.department.as_deref().unwrap_or(""),
                &t.state,
                &d.procedure,
                &d.code,
            );
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys
}

/// The generation of the index this version keeps; a store marked with an older one (or
/// none) must be reindexed (`motcua migrate`) before it is served.
#[cfg(any(feature = "sled", feature = "postgres"))]
pub const INDEX_GENERATION: &[u8] = b"2";

/// `kind \0 [part \0] <instant as 16 hex digits> \0 code`.
pub fn timed_key(kind: &[u8], part: Option<&str>, at: Timestamp, code: &str) -> Vec<u8> {
    let at = hex::encode(time_key(at));
    match part {
        Some(p) => join(&[kind, p.as_bytes(), at.as_bytes(), code.as_bytes()]),
        None => join(&[kind, at.as_bytes(), code.as_bytes()]),
    }
}

/// `od \0 <appointment as 16 hex digits> \0 code`: an open dossier whose appointment breach
/// was recorded. Hex keeps the instant's byte order without escaping.
pub fn overdue_key_at(due: Timestamp, code: &str) -> Vec<u8> {
    let at = hex::encode(time_key(due));
    join(&[b"od", at.as_bytes(), code.as_bytes()])
}

/// The appointment and code of an `od` key.
pub fn overdue_of(key: &[u8]) -> Option<(Timestamp, String)> {
    let rest = key.strip_prefix(b"od")?.strip_prefix(&[SEP])?;
    let (at, code) = rest.split_at_checked(16)?;
    let code = std::str::from_utf8(code.strip_prefix(&[SEP])?).ok()?;
    let raw: [u8; 8] = hex::decode(at).ok()?.try_into().ok()?;
    let ms = (u64::from_be_bytes(raw) ^ (1 << 63)) as i64;
    Some((Timestamp::from_millisecond(ms).ok()?, code.to_string()))
}

pub fn work_key(department: &str, state: &str, procedure: &str, code: &str) -> Vec<u8> {
    join(&[
        b"wk",
        department.as_bytes(),
        state.as_bytes(),
        procedure.as_bytes(),
        code.as_bytes(),
    ])
}

/// The `state_departments` key a `wk` key implies, if it is one.
pub fn state_department_of(work_key: &[u8]) -> Option<Vec<u8>> {
    let mut parts = work_key.split(|b| *b == SEP);
    if parts.next()? != b"wk" {
        return None;
    }
    let (department, state, procedure) = (parts.next()?, parts.next()?, parts.next()?);
    Some(join_escaped(&[procedure, state, department]))
}

/// The `timers` keys of a dossier in its current state.
pub fn timer_keys(d: &Dossier) -> Vec<Vec<u8>> {
    timers_of(d).iter().map(timer_key).collect()
}

pub fn timer_key(t: &Timer) -> Vec<u8> {
    let what = match &t.kind {
        TimerKind::StepDue { state } => format!("step:{state}"),
        TimerKind::Appointment => "appointment".to_string(),
        TimerKind::Alarm { state, rule } => {
            format!("alarm:{}:{rule}", state.as_deref().unwrap_or_default())
        }
    };
    // The instant is fixed-width binary, written as is so that keys sort by time; the code
    // and the timer's kind after it are escaped like any other part.
    let mut k = time_key(t.at).to_vec();
    k.push(SEP);
    k.extend_from_slice(&join(&[t.dossier.as_bytes(), what.as_bytes()]));
    k
}

/// The timer a `timers` key stands for.
pub fn timer_of_key(key: &[u8]) -> Option<Timer> {
    let at: [u8; 8] = key.get(..8)?.try_into().ok()?;
    let at = Timestamp::from_millisecond((u64::from_be_bytes(at) ^ (1 << 63)) as i64).ok()?;
    let rest = std::str::from_utf8(key.get(9..)?).ok()?;
    let (code, what) = rest.split_once(SEP as char)?;
    let kind = match what.strip_prefix("step:") {
        Some(state) => TimerKind::StepDue {
            state: state.to_string(),
        },
        None if what == "appointment" => TimerKind::Appointment,
        None => {
            let (state, rule) = what.strip_prefix("alarm:")?.rsplit_once(':')?;
            TimerKind::Alarm {
                state: (!state.is_empty()).then(|| state.to_string()),
                rule: rule.parse().ok()?,
            }
        }
    };
    Some(Timer {
        at,
        dossier: code.to_string(),
        kind,
    })
}

/// A `dossiers` value: the dossier's audit sequence numbers, then its JSON.
pub fn dossier_record(seqs: &[u64], json: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + 8 * seqs.len() + json.len());
    v.extend_from_slice(&(seqs.len() as u32).to_be_bytes());
    for s in seqs {
        v.extend_from_slice(&s.to_be_bytes());
    }
    v.extend_from_slice(json);
    v
}

/// The audit sequence numbers and the JSON of a `dossiers` value.
pub fn parse_dossier_record(v: &[u8]) -> Option<(Vec<u64>, &[u8])> {
    let n = u32::from_be_bytes(v.get(..4)?.try_into().ok()?) as usize;
    let end = 4usize.checked_add(n.checked_mul(8)?)?;
    let seqs = v
        .get(4..end)?
        .chunks_exact(8)
        .map(|c| u64::from_be_bytes(c.try_into().unwrap_or_default()))
        .collect();
    Some((seqs, v.get(end..)?))
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
    fn a_dossier_record_reads_back_and_a_truncated_one_is_refused() {
        let v = dossier_record(&[3, 17, 1 << 40], b"{\"code\":\"x\"}");
        let (seqs, json) = parse_dossier_record(&v).unwrap();
        assert_eq!(seqs, [3, 17, 1 << 40]);
        assert_eq!(json, b"{\"code\":\"x\"}");
        assert_eq!(parse_dossier_record(&v[..10]), None);
        assert_eq!(parse_dossier_record(&[0, 0]), None);
    }

    #[test]
    fn a_timer_key_reads_back_as_its_timer() {
        for kind in [
            TimerKind::Appointment,
            TimerKind::Alarm {
                state: None,
                rule: 2,
            },
            TimerKind::Alarm {
                state: Some("tham-dinh".into()),
                rule: 0,
            },
            TimerKind::StepDue {
                state: "ky_duyet".into(),
            },
        ] {
            let t = Timer {
                // 2026-11-24 16:30 +07, Culture Day: a millisecond value with zero bytes in it.
                at: "2026-11-24T09:30:00Z".parse().unwrap(),
                dossier: "000.17.22.H56-261124-0001".into(),
                kind,
            };
            assert_eq!(timer_of_key(&timer_key(&t)), Some(t));
        }
        assert_eq!(timer_of_key(b"short"), None);
    }

    /// Regression (hardening review): an applicant id ending in U+0000 and another id's
    /// first bytes made a key inside another applicant's listing.
    #[test]
    fn a_separator_inside_a_part_cannot_reach_another_prefix() {
        let victim = prefix(&[b"ap", b"0790"]);
        let forged = join(&[b"ap", b"0790\0x", b"000.17.22.H56-261201-0001"]);
        assert!(!forged.starts_with(&victim));
        assert_eq!(
            join(&[b"a\x01b\0c"]),
            [b'a', ESC, 2, b'b', ESC, 1, b'c'].to_vec()
        );
        // Ordinary ids are written as they are, so keys of older stores stay valid.
        assert_eq!(
            join(&[b"ap", b"0790"]),
            [&b"ap"[..], &[SEP], b"0790"].concat()
        );
    }

    #[test]
    fn the_code_is_the_last_part_of_an_index_key() {
        let k = work_key(
            "bo_phan_mot_cua",
            "tiep_nhan",
            "dang-ky-khai-sinh",
            "000.17.22.H56-261127-0001",
        );
        assert_eq!(code_of(&k), Some("000.17.22.H56-261127-0001"));
        assert_eq!(
            state_department_of(&k),
            Some(join(&[
                b"dang-ky-khai-sinh",
                b"tiep_nhan",
                b"bo_phan_mot_cua"
            ]))
        );
        assert_eq!(day_of_code("000.17.22.H56-261127-0001"), "261127");
    }
}
