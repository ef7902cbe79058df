//! The per-day counters the store keeps beside the dossiers: their key and value layout, and
//! [`deltas`], what one change of a dossier adds to them.
//!
//! A key is one day and one combination of agency, procedure, department and channel:
//!
//! ```text
//! day (u32 big-endian, y*10000 + m*100 + d) · agency 0x00 · procedure 0x00 · department 0x00 · channel
//! ```
//!
//! (the store puts its space byte in front). Days come first, so the counters of a period are
//! one range of keys. The channel is the national code (1 desk, 2 online, 3 post). The three
//! names are ids from procedure files, which hold no 0x00; should one ever hold it, 0x00 is
//! written 0x01 0x01 and 0x01 is written 0x01 0x02, so no name can reach into the next part,
//! and the ids seen in practice are stored as they are.
//!
//! A value is [`SLOTS`] signed 64-bit counts, big-endian, in slot order. They are signed
//! because a delta takes a dossier out of one key and puts it into another; a stored sum is
//! never negative unless a delta was lost.

use std::collections::BTreeMap;

use jiff::civil::Date;

use super::{FactState, Facts};
use crate::deadline::Class;
use crate::dossier::Channel;
use crate::dossier::feedback::Level;

/// Dossiers received that day (under the key of their receipt day).
pub const RECEIVED: usize = 0;
/// Dossiers resolved that day before the appointment's day (under the key of their end day).
pub const EARLY: usize = 1;
/// Dossiers resolved that day no later than their appointment.
pub const ON_TIME: usize = 2;
/// Dossiers resolved that day after their appointment (or late by rule: supplements, apology).
pub const LATE: usize = 3;
/// Of the dossiers received that day: still open, not paused, no breach recorded.
pub const OPEN_NOT_DUE: usize = 4;
/// Of the dossiers received that day: still open, the breach of the appointment recorded.
pub const OPEN_OVERDUE: usize = 5;
/// Of the dossiers received that day: still open, clock paused, no breach recorded.
pub const PAUSED: usize = 6;
/// Working time from counting start to resolution, pauses excluded, of the dossiers resolved
/// that day: thousandths of a working hour.
pub const WORKING_MILLI_SUM: usize = 7;
/// Of the dossiers resolved that day, those the applicant rated very satisfied (rất hài lòng).
pub const RATED_VERY_SATISFIED: usize = 8;
/// … rated satisfied (hài lòng).
pub const RATED_SATISFIED: usize = 9;
/// … rated not satisfied (không hài lòng).
pub const RATED_NOT_SATISFIED: usize = 10;
/// Slots in a counter value.
pub const SLOTS: usize = 11;
/// Slots in a value stored before ratings were counted: it reads as zero ratings.
pub const LEGACY_SLOTS: usize = 8;

/// The counter changes of one or more transitions: key (without the space byte) → amounts to
/// add. Rows whose amounts are all zero are left out.
pub type Deltas = BTreeMap<Vec<u8>, [i64; SLOTS]>;

/// Adds what `new` contributes to the counters and takes away what `old` contributed: the
/// change to apply when a dossier goes from `old` to `new` (`None`: not counted, e.g. not yet
/// received or a child of a linked group). Keys whose amounts cancel are removed from `out`.
pub fn deltas(old: Option<&Facts>, new: Option<&Facts>, out: &mut Deltas) {
    if old == new {
        return;
    }
    let mut touched = Vec::with_capacity(6);
    for (facts, sign) in [(old, -1), (new, 1)] {
        let Some(f) = facts else { continue };
        for (key, slot, amount) in contributions(f) {
            let row = out.entry(key.clone()).or_insert([0; SLOTS]);
            row[slot] += sign * amount;
            touched.push(key);
        }
    }
    // Only the rows this change touched can have cancelled out (a dossier that moved from
    // not due to overdue leaves its receipt row as it was).
    for key in touched {
        if out.get(&key).is_some_and(|row| row.iter().all(|n| *n == 0)) {
            out.remove(&key);
        }
    }
}

/// (key, slot, amount) for each count the dossier adds.
fn contributions(f: &Facts) -> Vec<(Vec<u8>, usize, i64)> {
    let received = key_of(f, f.received);
    match &f.state {
        FactState::Open { paused, overdue } => {
            // One dossier in one of the three: a recorded breach stays a breach while the
            // dossier is open, a paused clock is the applicant's time.
            let open = match (*overdue, *paused) {
                (true, _) => OPEN_OVERDUE,
                (false, true) => PAUSED,
                (false, false) => OPEN_NOT_DUE,
            };
            vec![(received.clone(), RECEIVED, 1), (received, open, 1)]
        }
        FactState::Ended {
            day,
            class,
            working_milli,
            rated,
        } => {
            let ended = key_of(f, *day);
            let slot = match class {
                Class::Early => EARLY,
                Class::OnTime => ON_TIME,
                Class::Late => LATE,
            };
            // Saturates far beyond any real sum: a dossier worked for 10^15 hours.
            let milli = i64::try_from(*working_milli).unwrap_or(i64::MAX);
            let mut out = vec![
                (received, RECEIVED, 1),
                (ended.clone(), slot, 1),
                (ended.clone(), WORKING_MILLI_SUM, milli),
            ];
            // A rating counts beside the resolution it rates, so the share rated is of the
            // dossiers resolved in the same period.
            if let Some(level) = rated {
                out.push((ended, rating_slot(*level), 1));
            }
            out
        }
    }
}

/// The slot counting ratings of `level`.
pub fn rating_slot(level: Level) -> usize {
    match level {
        Level::VerySatisfied => RATED_VERY_SATISFIED,
        Level::Satisfied => RATED_SATISFIED,
        Level::NotSatisfied => RATED_NOT_SATISFIED,
    }
}

fn key_of(f: &Facts, day: Date) -> Vec<u8> {
    encode_parts(day, &f.agency, &f.procedure, &f.department, f.channel)
}

/// A decoded counter key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub day: Date,
    pub agency: String,
    pub procedure: String,
    pub department: String,
    pub channel: Channel,
}

/// The day as the first four bytes of a key: `y*10000 + m*100 + d`, big-endian, so keys sort
/// by day. Years before 0 (which jiff allows, no dossier has) count as year 0.
pub fn day_key(day: Date) -> [u8; 4] {
    let y = u32::try_from(day.year()).unwrap_or(0);
    let m = u32::try_from(day.month()).unwrap_or(0);
    let d = u32::try_from(day.day()).unwrap_or(0);
    (y * 10_000 + m * 100 + d).to_be_bytes()
}

/// The day a key's first four bytes name.
fn day_of(bytes: [u8; 4]) -> Option<Date> {
    let n = u32::from_be_bytes(bytes);
    let (y, m, d) = (n / 10_000, n / 100 % 100, n % 100);
    Date::new(
        i16::try_from(y).ok()?,
        i8::try_from(m).ok()?,
        i8::try_from(d).ok()?,
    )
    .ok()
}

pub fn encode_key(k: &Key) -> Vec<u8> {
    encode_parts(k.day, &k.agency, &k.procedure, &k.department, k.channel)
}

fn encode_parts(
    day: Date,
    agency: &str,
    procedure: &str,
    department: &str,
    channel: Channel,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + agency.len() + procedure.len() + department.len());
    out.extend_from_slice(&day_key(day));
    for part in [agency, procedure, department] {
        escape_into(part.as_bytes(), &mut out);
        out.push(0);
    }
    out.push(channel.national_code());
    out
}

/// The key's parts, or `None` when the bytes are not a counter key.
pub fn decode_key(bytes: &[u8]) -> Option<Key> {
    let (day, rest) = bytes.split_first_chunk::<4>()?;
    let (&channel, rest) = rest.split_last()?;
    let channel = match channel {
        1 => Channel::Desk,
        2 => Channel::Online,
        3 => Channel::Post,
        _ => return None,
    };
    let mut parts = rest.split(|b| *b == 0);
    let mut next = || unescape(parts.next()?);
    let (agency, procedure, department) = (next()?, next()?, next()?);
    // The department is followed by its 0x00, so the split leaves one empty piece, and no more.
    if parts.next() != Some(&[][..]) || parts.next().is_some() {
        return None;
    }
    Some(Key {
        day: day_of(*day)?,
        agency,
        procedure,
        department,
        channel,
    })
}

fn escape_into(part: &[u8], out: &mut Vec<u8>) {
    for &b in part {
        match b {
            0 => out.extend_from_slice(&[1, 1]),
            1 => out.extend_from_slice(&[1, 2]),
            _ => out.push(b),
        }
    }
}

fn unescape(part: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(part.len());
    let mut bytes = part.iter();
    while let Some(&b) = bytes.next() {
        match b {
            1 => match bytes.next() {
                Some(1) => out.push(0),
                Some(2) => out.push(1),
                _ => return None,
            },
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

pub fn encode_value(v: &[i64; SLOTS]) -> Vec<u8> {
    v.iter().flat_map(|n| n.to_be_bytes()).collect()
}

/// The counts of a stored value; `None` unless it is exactly [`SLOTS`] counts, or the
/// [`LEGACY_SLOTS`] of a store written before ratings were counted (its rating slots read 0,
/// and the next commit touching the key writes it at full length).
pub fn decode_value(bytes: &[u8]) -> Option<[i64; SLOTS]> {
    if bytes.len() != SLOTS * 8 && bytes.len() != LEGACY_SLOTS * 8 {
        return None;
    }
    let mut v = [0; SLOTS];
    for (slot, chunk) in v.iter_mut().zip(bytes.chunks_exact(8)) {
        *slot = i64::from_be_bytes(chunk.try_into().ok()?);
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn facts(state: FactState) -> Facts {
        Facts {
            received: date(2025, 7, 1),
            agency: "000.17.22.H56".into(),
            procedure: "cap-phep-xay-dung".into(),
            department: "bo_phan_mot_cua".into(),
            channel: Channel::Online,
            state,
        }
    }

    fn open(paused: bool, overdue: bool) -> Facts {
        facts(FactState::Open { paused, overdue })
    }

    fn ended(day: Date, class: Class, working_milli: u64) -> Facts {
        facts(FactState::Ended {
            day,
            class,
            working_milli,
            rated: None,
        })
    }

    fn sum(steps: &[(Option<&Facts>, Option<&Facts>)]) -> Deltas {
        let mut out = Deltas::new();
        for (old, new) in steps {
            deltas(*old, *new, &mut out);
        }
        out
    }

    fn direct(f: Option<&Facts>) -> Deltas {
        sum(&[(None, f)])
    }

    #[test]
    fn keys_sort_by_day_and_read_back_as_written() {
        let k = Key {
            day: date(2025, 12, 31),
            agency: "000.00.31.H56".into(),
            procedure: "khai-sinh".into(),
            department: String::new(),
            channel: Channel::Post,
        };
        let bytes = encode_key(&k);
        assert_eq!(&bytes[..4], &20251231u32.to_be_bytes());
        assert_eq!(bytes.last(), Some(&3));
        assert_eq!(decode_key(&bytes), Some(k.clone()));
        let next_day = Key {
            day: date(2026, 1, 1),
            agency: "0".into(),
            ..k.clone()
        };
        assert!(encode_key(&next_day) > bytes);
        // A name holding the separator cannot reach into the next part.
        let odd = Key {
            agency: "a\0b\u{1}".into(),
            ..k
        };
        assert_eq!(decode_key(&encode_key(&odd)), Some(odd));
    }

    #[test]
    fn malformed_keys_and_values_are_refused() {
        assert_eq!(decode_key(b"\0\0"), None);
        assert_eq!(
            decode_key(&[0, 0x30, 0xe5, 0x6d, b'a', 0, b'b', 0, 0, 9]),
            None
        );
        // 2025-13-01 is no day.
        let mut bad = encode_key(&Key {
            day: date(2025, 1, 1),
            agency: "a".into(),
            procedure: "p".into(),
            department: "d".into(),
            channel: Channel::Desk,
        });
        bad[..4].copy_from_slice(&20251301u32.to_be_bytes());
        assert_eq!(decode_key(&bad), None);
        assert_eq!(decode_value(&[0; 7]), None);
        assert_eq!(decode_value(&[0; 9 * 8]), None);
        let v = [1, -2, 3, 4, 5, 6, 7, i64::MAX, 9, 10, 11];
        assert_eq!(decode_value(&encode_value(&v)), Some(v));
    }

    #[test]
    fn an_open_dossier_counts_once_received_and_once_in_its_open_slot() {
        let d = direct(Some(&open(false, false)));
        assert_eq!(d.len(), 1);
        let row = d.values().next().copied().unwrap_or_default();
        assert_eq!((row[RECEIVED], row[OPEN_NOT_DUE]), (1, 1));
        let overdue_and_paused = direct(Some(&open(true, true)));
        let row = overdue_and_paused
            .values()
            .next()
            .copied()
            .unwrap_or_default();
        assert_eq!((row[OPEN_OVERDUE], row[PAUSED]), (1, 0));
    }

    #[test]
    fn an_ended_dossier_counts_its_class_on_its_end_day() {
        let f = ended(date(2025, 7, 4), Class::OnTime, 12_500);
        let d = direct(Some(&f));
        let keys: Vec<Key> = d.keys().filter_map(|k| decode_key(k)).collect();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].day, date(2025, 7, 1));
        assert_eq!(keys[1].day, date(2025, 7, 4));
        let rows: Vec<[i64; SLOTS]> = d.values().copied().collect();
        assert_eq!(rows[0][RECEIVED], 1);
        assert_eq!(
            (
                rows[1][ON_TIME],
                rows[1][WORKING_MILLI_SUM],
                rows[1][RECEIVED]
            ),
            (1, 12_500, 0)
        );
    }

    #[test]
    fn a_value_stored_before_ratings_reads_with_no_ratings() {
        let old: Vec<u8> = [1i64, 0, 1, 0, 0, 0, 0, 8_000]
            .iter()
            .flat_map(|n| n.to_be_bytes())
            .collect();
        assert_eq!(
            decode_value(&old),
            Some([1, 0, 1, 0, 0, 0, 0, 8_000, 0, 0, 0])
        );
    }

    #[test]
    fn a_rating_counts_on_the_day_its_dossier_was_resolved() {
        let resolved = ended(date(2025, 7, 4), Class::OnTime, 8_000);
        let mut rated = resolved.clone();
        if let FactState::Ended { rated: r, .. } = &mut rated.state {
            *r = Some(Level::NotSatisfied);
        }
        let d = sum(&[(None, Some(&resolved)), (Some(&resolved), Some(&rated))]);
        let rows: Vec<(Key, [i64; SLOTS])> = d
            .iter()
            .filter_map(|(k, v)| Some((decode_key(k)?, *v)))
            .collect();
        assert_eq!(rows[1].0.day, date(2025, 7, 4));
        assert_eq!(
            (rows[1].1[RATED_NOT_SATISFIED], rows[1].1[RATED_SATISFIED]),
            (1, 0)
        );
        assert_eq!(rows[0].1[RATED_NOT_SATISFIED], 0);
        let only_rating = sum(&[(Some(&resolved), Some(&rated))]);
        assert_eq!(only_rating.len(), 1);
    }

    /// Whatever path a dossier takes, the deltas of its steps add up to what its last state
    /// alone contributes; unchanged facts and cancelled rows leave nothing behind.
    #[test]
    fn the_deltas_of_a_dossier_s_steps_add_up_to_its_last_state() {
        let received = open(false, false);
        let paused = open(true, false);
        let overdue = open(false, true);
        let mut moved = open(false, true);
        moved.department = "phong_qlxd".into();
        let late = ended(date(2025, 8, 1), Class::Late, 130_000);
        let mut early = ended(date(2025, 7, 2), Class::Early, 7_000);
        early.channel = Channel::Desk;
        let paths: [&[&Facts]; 4] = [
            &[&received, &paused, &received, &overdue, &moved, &late],
            &[&received, &early],
            &[&received, &received],
            &[&paused, &moved],
        ];
        for path in paths {
            let mut steps = vec![(None, Some(path[0]))];
            steps.extend(path.windows(2).map(|w| (Some(w[0]), Some(w[1]))));
            let last = path.last().copied();
            assert_eq!(sum(&steps), direct(last), "path ending {last:?}");
            // f then g sums to g, for every pair on the path.
            for (f, g) in path.iter().zip(path.iter().skip(1)) {
                assert_eq!(sum(&[(None, Some(f)), (Some(f), Some(g))]), direct(Some(g)));
            }
        }
        assert!(sum(&[(None, Some(&late)), (Some(&late), None)]).is_empty());
        assert!(sum(&[(Some(&late), Some(&late))]).is_empty());
    }
}
