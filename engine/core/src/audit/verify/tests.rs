use super::*;
use crate::audit::{Place, Unsealed};

fn unsealed(n: u64) -> Unsealed {
    Unsealed {
        dossier: format!("000.00.00.H01-270105-{n:04}"),
        body: format!("{{\"action\":\"tiep_nhan\",\"version\":{n}}}").into_bytes(),
    }
}

fn chain(n: u64) -> Vec<Vec<u8>> {
    let mut prev = crate::audit::GENESIS.to_string();
    (1..=n)
        .map(|seq| {
            let digest = hex::encode([seq as u8; 32]);
            let (line, hash) = unsealed(seq).seal(&Place {
                seq,
                prev: &prev,
                record: Some(&digest),
                replaces: None,
                migrated: None,
            });
            prev = hash;
            line
        })
        .collect()
}

fn run(lines: &[Vec<u8>], count: u64, head: &str) -> Result<Verified, Error> {
    let mut c = Chain::new(Key::random());
    for (i, l) in lines.iter().enumerate() {
        c.push(i as u64 + 1, l)?;
    }
    c.finish(count, head).map(|f| f.verified)
}

fn head_of(lines: &[Vec<u8>]) -> String {
    hex::encode(Sha256::digest(lines.last().unwrap()))
}

/// The log read in two halves, split after entry `mid`, as verification at rest does.
fn run_halves(lines: &[Vec<u8>], mid: u64, count: u64, head: &str) -> Result<Verified, Error> {
    let key = Key::random();
    let mut a = Chain::new(key.clone());
    let mut b = Chain::resume(key, mid);
    // Positions as the store numbers them: the i-th stored line is at i + 1.
    for (i, l) in lines.iter().enumerate() {
        let position = i as u64 + 1;
        if position <= mid {
            a.push(position, l)?;
        } else {
            b.push(position, l)?;
        }
    }
    Chain::join(a, b, mid)?
        .finish(count, head)
        .map(|f| f.verified)
}

#[test]
fn two_halves_verify_like_one_and_damage_at_the_seam_is_named() {
    let lines = chain(8);
    let head = head_of(&lines);
    let whole = run(&lines, 8, &head).unwrap();
    assert_eq!(run_halves(&lines, 4, 8, &head), Ok(whole));
    // The last entry of the first half, and the first of the second, modified.
    for at in [4usize, 5] {
        let mut damaged = lines.clone();
        damaged[at - 1][20] ^= 1;
        assert_eq!(
            run_halves(&damaged, 4, 8, &head),
            Err(Error::Modified { seq: at as u64 }),
            "entry {at}"
        );
    }
    // Entry 4 or entry 5 deleted.
    let mut deleted = lines.clone();
    deleted.remove(3);
    assert_eq!(
        run_halves(&deleted, 4, 8, &head),
        Err(Error::Missing { seq: 4, found: 5 })
    );
    let mut deleted = lines.clone();
    deleted.remove(4);
    assert_eq!(
        run_halves(&deleted, 4, 8, &head),
        Err(Error::Missing { seq: 5, found: 6 })
    );
}

#[test]
fn the_tail_is_read_from_the_writers_own_bytes() {
    let lines = chain(3);
    let t = tail(&lines[2]).unwrap();
    assert_eq!(t.seq, 3);
    assert_eq!(t.prev, head_of(&lines[..2]).as_bytes());
    assert!(t.record.is_some() && t.replaces.is_none());
    let v = run(&lines, 3, &head_of(&lines)).unwrap();
    assert_eq!(v.count, 3);
}

#[test]
fn each_kind_of_damage_names_its_entry() {
    let lines = chain(6);
    let head = head_of(&lines);
    // A byte flipped in the body of entry 3.
    let mut flipped = lines.clone();
    flipped[2][20] ^= 1;
    assert_eq!(run(&flipped, 6, &head), Err(Error::Modified { seq: 3 }));
    // The last entry changed: only the head knows.
    let mut last = lines.clone();
    last[5][20] ^= 1;
    assert_eq!(run(&last, 6, &head), Err(Error::HeadMismatch { seq: 6 }));
    // Entry 4 deleted.
    let mut deleted = lines.clone();
    deleted.remove(3);
    assert_eq!(
        run(&deleted, 6, &head),
        Err(Error::Missing { seq: 4, found: 5 })
    );
    // Entries 4 and 5 swapped.
    let mut swapped = lines.clone();
    swapped.swap(3, 4);
    assert_eq!(
        run(&swapped, 6, &head),
        Err(Error::Missing { seq: 4, found: 5 })
    );
    // The last three deleted.
    assert_eq!(
        run(&lines[..3], 6, &head),
        Err(Error::Truncated { seq: 4, count: 6 })
    );
    // Only the number of entry 3 changed: it is still in place and linked.
    let mut renumbered = lines.clone();
    let text = String::from_utf8(renumbered[2].clone()).unwrap();
    renumbered[2] = text.replace("\"seq\":3}", "\"seq\":8}").into_bytes();
    assert_eq!(run(&renumbered, 6, &head), Err(Error::Modified { seq: 3 }));
    // The chunk holding entries 4.. re-keyed one lower: each line is intact, out of place.
    let mut c = Chain::new(Key::random());
    let shifted = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (if i < 3 { i + 1 } else { i } as u64, l));
    let err = shifted.map(|(p, l)| c.push(p, l)).find(Result::is_err);
    assert_eq!(
        err,
        Some(Err(Error::Misplaced {
            seq: 4,
            position: 3
        }))
    );
    // A whitespace injected.
    let mut spaced = lines.clone();
    spaced[1].insert(1, b' ');
    assert_eq!(run(&spaced, 6, &head), Err(Error::Modified { seq: 2 }));
}
