//! The audit log an inspector relies on, attacked on a real sled store: each kind of tampering
//! (a flipped byte, a deleted entry, the last three deleted, two swapped, a forged one
//! inserted, a dossier record rewritten, the whole chain re-sealed without the signing key) is
//! found by `verify_store`, which names the entry or the dossier.

use crate::support;
use crate::support::waiting_for_sled_lock;

use motcua::audit::checkpoint::KeyFile;
use motcua::audit::proof::Error as ProofError;
use motcua::audit::verify::Error as LogError;
use motcua::audit::{self, Entry, Place, VerifyOptions, verify_store};
use motcua::store::AuditReader;
use motcua::store::sled::{Options, SledStore};
use support::desk::*;

/// Twelve dossiers received at the desk, handed to the appraiser, some signed and returned:
/// a log of a few dozen entries over several chunks.
fn ledger() -> tempfile::TempDir {
    Desk::new("2027-03-01T08:00:00+07:00").walked(12, |i| {
        format!("2027-03-01T{:02}:{:02}:00+07:00", 8 + i / 4, (i % 4) * 10)
    })
}

fn verify(dir: &tempfile::TempDir, options: &VerifyOptions) -> Result<audit::Verified, ProofError> {
    // The attacker's raw handle lets go of sled's file lock a moment after it is dropped.
    let store = waiting_for_sled_lock(|| {
        SledStore::open_existing(
            dir.path(),
            Options {
                fsync: false,
                ..Options::default()
            },
        )
    })
    .unwrap_or_else(|e| panic!("opening the store: {e}"));
    let verified = verify_store(&store, options);
    // The writer threads hold sled's lock until they are joined; the attacker opens it next.
    store.shutdown();
    verified
}

fn full() -> VerifyOptions<'static> {
    VerifyOptions {
        records: true,
        checkpoint: None,
        live: false,
        ..Default::default()
    }
}

fn log_error(r: Result<audit::Verified, ProofError>) -> LogError {
    match r {
        Err(ProofError::Log(e)) => e,
        other => panic!("expected a log error, got {other:?}"),
    }
}

/// `bytes` with the first `from` replaced by `to` (a dossier record is binary, then JSON).
fn replace_once(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    match bytes.windows(from.len()).position(|w| w == from.as_bytes()) {
        Some(at) => [&bytes[..at], to.as_bytes(), &bytes[at + from.len()..]].concat(),
        None => bytes.to_vec(),
    }
}

/// The raw store, for the attacker: the log's chunks as lines.
struct Raw {
    db: sled::Db,
    tree: sled::Tree,
}

impl Raw {
    fn open(dir: &tempfile::TempDir) -> Raw {
        // The store that wrote the ledger lets go of sled's file lock a moment after it is
        // dropped.
        let db = waiting_for_sled_lock(|| sled::open(dir.path()))
            .unwrap_or_else(|e| panic!("opening the raw store: {e}"));
        let tree = db.open_tree("motcua").unwrap();
        Raw { db, tree }
    }
    /// Every line of the log in order, with the chunk it lives in.
    fn lines(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.tree
            .scan_prefix(b"a")
            .flat_map(|kv| {
                let (k, v) = kv.unwrap();
                v.split(|b| *b == b'\n')
                    .map(|l| (k.to_vec(), l.to_vec()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
    /// Writes the lines back, each chunk with the lines now assigned to it.
    fn put_lines(&self, lines: &[(Vec<u8>, Vec<u8>)]) {
        for kv in self.tree.scan_prefix(b"a") {
            self.tree.remove(kv.unwrap().0).unwrap();
        }
        let mut chunks: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = Default::default();
        for (k, l) in lines {
            let c = chunks.entry(k.clone()).or_default();
            if !c.is_empty() {
                c.push(b'\n');
            }
            c.extend_from_slice(l);
        }
        for (k, v) in chunks {
            self.tree.insert(k, v).unwrap();
        }
        self.db.flush().unwrap();
    }
}

#[test]
fn an_untouched_log_verifies_with_its_count_head_and_dossier_records() {
    let dir = ledger();
    let v = verify(&dir, &full()).unwrap();
    // 12 receipts, 12 handovers, 6 × (sign-off request, signature, return).
    assert_eq!(v.count, 12 + 12 + 18);
    let raw = Raw::open(&dir);
    let lines = raw.lines();
    assert_eq!(lines.len() as u64, v.count);
    let last = Entry::from_line(&lines.last().unwrap().1).unwrap();
    assert_eq!(last.hash, v.head);
}

#[test]
fn a_byte_flipped_in_entry_7_is_named() {
    let dir = ledger();
    let raw = Raw::open(&dir);
    let mut lines = raw.lines();
    // Inside the comment-free body: the actor's id.
    let at = lines[6].1.windows(4).position(|w| w == b"mc01").unwrap();
    lines[6].1[at + 3] = b'2';
    raw.put_lines(&lines);
    drop(raw);
    assert_eq!(
        log_error(verify(&dir, &full())),
        LogError::Modified { seq: 7 }
    );
}

#[test]
fn whitespace_or_a_field_injected_into_a_stored_line_is_found() {
    let dir = ledger();
    let raw = Raw::open(&dir);
    let mut lines = raw.lines();
    let text = String::from_utf8(lines[3].1.clone()).unwrap();
    lines[3].1 = text
        .replacen("{\"body\":{", "{\"body\":{\"approved\":true,", 1)
        .into_bytes();
    raw.put_lines(&lines);
    drop(raw);
    assert_eq!(
        log_error(verify(&dir, &full())),
        LogError::Modified { seq: 4 }
    );
}

#[test]
fn a_deleted_entry_and_two_swapped_entries_are_named() {
    let dir = ledger();
    let raw = Raw::open(&dir);
    let original = raw.lines();
    let mut deleted = original.clone();
    deleted.remove(9);
    raw.put_lines(&deleted);
    drop(raw);
    assert_eq!(
        log_error(verify(&dir, &full())),
        LogError::Missing { seq: 10, found: 11 }
    );
    let raw = Raw::open(&dir);
    let mut swapped = original.clone();
    let (a, b) = (swapped[14].1.clone(), swapped[15].1.clone());
    swapped[14].1 = b;
    swapped[15].1 = a;
    raw.put_lines(&swapped);
    drop(raw);
    assert_eq!(
        log_error(verify(&dir, &full())),
        LogError::Missing { seq: 15, found: 16 }
    );
}

#[test]
fn the_last_three_entries_deleted_are_found_against_the_stored_count() {
    let dir = ledger();
    let raw = Raw::open(&dir);
    let mut lines = raw.lines();
    let n = lines.len() as u64;
    lines.truncate(lines.len() - 3);
    raw.put_lines(&lines);
    drop(raw);
    assert_eq!(
        log_error(verify(&dir, &full())),
        LogError::Truncated {
            seq: n - 2,
            count: n
        }
    );
}

#[test]
fn a_forged_entry_inserted_with_a_valid_link_is_named_by_its_number() {
    let dir = ledger();
    let raw = Raw::open(&dir);
    let mut lines = raw.lines();
    // The forger copies entry 20, changes who acted, and seals it after entry 19.
    let mut forged = Entry::from_line(&lines[19].1).unwrap();
    forged.actor = "ld99".into();
    let prev = Entry::from_line(&lines[18].1).unwrap().hash;
    let (bytes, _) = forged.unsealed().unwrap().seal(&Place {
        seq: 20,
        prev: &prev,
        record: forged.record.as_deref(),
        replaces: forged.replaces.as_deref(),
        migrated: None,
    });
    let chunk = lines[19].0.clone();
    lines.insert(19, (chunk, bytes));
    raw.put_lines(&lines);
    drop(raw);
    assert_eq!(
        log_error(verify(&dir, &full())),
        LogError::Repeated { seq: 20, after: 20 }
    );
}

#[test]
fn a_dossier_record_rewritten_behind_the_engines_back_is_named() {
    let dir = ledger();
    let raw = Raw::open(&dir);
    // The first dossier is shown as refused instead of returned.
    let (key, value) = raw.tree.scan_prefix(b"d").next().unwrap().unwrap();
    let code = String::from_utf8(key[1..].to_vec()).unwrap();
    let rewritten = replace_once(&value, "\"status\":10", "\"status\":9");
    assert_ne!(rewritten, value.as_ref(), "the record holds a status");
    raw.tree.insert(&key, rewritten).unwrap();
    raw.db.flush().unwrap();
    drop(raw);
    // The chain alone is intact; the records are not.
    assert!(verify(&dir, &VerifyOptions::default()).is_ok());
    match log_error(verify(&dir, &full())) {
        LogError::Dossier { code: named, .. } => assert_eq!(named, code),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_chain_resealed_without_the_key_fails_against_a_kept_checkpoint() {
    let dir = ledger();
    let key = KeyFile::generate("000.17.22.H56").unwrap();
    let public = key.public().unwrap();
    let v = verify(&dir, &full()).unwrap();
    let kept = key
        .sign(v.count, &v.head, support::at("2027-03-01T17:00:00+07:00"))
        .unwrap();
    let with_kept = VerifyOptions {
        records: true,
        checkpoint: Some((&kept, &public)),
        live: false,
        ..Default::default()
    };
    assert!(verify(&dir, &with_kept).is_ok());
    // The insider rewrites entry 5 and re-seals everything after it, counters included.
    let raw = Raw::open(&dir);
    let mut lines = raw.lines();
    let mut prev = audit::GENESIS.to_string();
    for (i, (_, line)) in lines.iter_mut().enumerate() {
        let mut e = Entry::from_line(line).unwrap();
        if i == 4 {
            e.comment = Some("đã kiểm tra đủ".into());
        }
        let (bytes, hash) = e.unsealed().unwrap().seal(&Place {
            seq: e.seq,
            prev: &prev,
            record: e.record.as_deref(),
            replaces: e.replaces.as_deref(),
            migrated: None,
        });
        *line = bytes;
        prev = hash;
    }
    raw.put_lines(&lines);
    let counters_key = b"mcounters".to_vec();
    let mut counters = raw.tree.get(&counters_key).unwrap().unwrap().to_vec();
    counters.truncate(24);
    counters.extend_from_slice(prev.as_bytes());
    raw.tree.insert(&counters_key, counters).unwrap();
    raw.db.flush().unwrap();
    drop(raw);
    // Consistent on its own...
    assert!(verify(&dir, &full()).is_ok());
    // ...but not with what the inspector kept.
    match verify(&dir, &with_kept) {
        Err(ProofError::Diverged { count, .. }) => assert_eq!(count, v.count),
        other => panic!("{other:?}"),
    }
    // A checkpoint the insider signs with a key of their own is not the inspector's.
    let forger = KeyFile::generate("000.17.22.H56").unwrap();
    let forged = forger.sign(v.count, &prev, kept.time).unwrap();
    let with_forged = VerifyOptions {
        records: true,
        checkpoint: Some((&forged, &public)),
        live: false,
        ..Default::default()
    };
    assert!(matches!(
        verify(&dir, &with_forged),
        Err(ProofError::Checkpoint(_))
    ));
}

/// Moves the chunk keyed `from` to the key `to` (over whatever was there).
fn re_key(dir: &tempfile::TempDir, from: u64, to: u64) {
    let raw = Raw::open(dir);
    let key = |n: u64| [&b"a"[..], &n.to_be_bytes()].concat();
    let value = raw
        .tree
        .remove(key(from))
        .unwrap()
        .expect("a chunk starts there");
    raw.tree.insert(key(to), value).unwrap();
    raw.db.flush().unwrap();
}

#[test]
fn a_chunk_re_keyed_is_found_and_no_reader_serves_one_entry_as_another() {
    // Each commit of the ledger wrote its own chunk: entry 20 is keyed 20.
    let dir = ledger();
    re_key(&dir, 20, 19);
    assert_eq!(
        log_error(verify(&dir, &full())),
        LogError::Missing { seq: 19, found: 20 }
    );
    let store =
        waiting_for_sled_lock(|| SledStore::open_existing(dir.path(), Options::default())).unwrap();
    let err = store.audit_entry(19).unwrap_err();
    assert!(
        err.to_string()
            .contains("the line stored in its place is entry 20"),
        "{err}"
    );
    drop(store);
    // The last chunk moved one place up: every line intact, out of place.
    let dir = ledger();
    let n = 42;
    re_key(&dir, n, n + 1);
    assert_eq!(
        log_error(verify(&dir, &full())),
        LogError::Misplaced {
            seq: n,
            position: n + 1
        }
    );
}

#[test]
fn counters_lowered_to_hide_the_last_entries_are_found() {
    let dir = ledger();
    let raw = Raw::open(&dir);
    let lines = raw.lines();
    let n = lines.len() as u64;
    let hidden_head = Entry::from_line(&lines[lines.len() - 4].1).unwrap().hash;
    let mut counters = raw.tree.get(b"mcounters").unwrap().unwrap().to_vec();
    counters[0..8].copy_from_slice(&(n - 3).to_be_bytes());
    counters.truncate(24);
    counters.extend_from_slice(hidden_head.as_bytes());
    raw.tree.insert(b"mcounters", counters).unwrap();
    raw.db.flush().unwrap();
    drop(raw);
    assert_eq!(
        log_error(verify(&dir, &full())),
        LogError::Longer {
            found: n - 2,
            count: n - 3
        }
    );
}

#[test]
fn a_record_rewritten_and_then_acted_on_is_named_between_its_two_entries() {
    let dir = ledger();
    // The second dossier waits with the appraiser; its applicant's name is changed.
    let raw = Raw::open(&dir);
    let (key, value) = raw.tree.scan_prefix(b"d").nth(1).unwrap().unwrap();
    let code = String::from_utf8(key[1..].to_vec()).unwrap();
    let rewritten = replace_once(&value, "Trần Thị Bình", "Trần Thị Bính");
    raw.tree.insert(&key, rewritten).unwrap();
    raw.db.flush().unwrap();
    drop(raw);
    // The engine, knowing nothing, moves it on from the rewritten record.
    let clock = std::sync::Arc::new(motcua::clock::ManualClock::new(support::at(
        "2027-03-02T09:00:00+07:00",
    )));
    let engine = support::open(dir.path(), clock);
    engine
        .load_procedures_dir(&support::fixture("deadline"))
        .unwrap();
    let d = engine.dossier(&code).unwrap();
    assert_eq!(support::states(&d), ["xu_ly"]);
    engine
        .act(motcua::dossier::transition::ActionRequest {
            dossier: code.clone(),
            action: "trinh".into(),
            actor: appraiser(),
            input: serde_json::json!({}),
            comment: None,
            seen_version: d.version,
            on_behalf: false,
        })
        .unwrap();
    drop(engine);
    match log_error(verify(&dir, &full())) {
        LogError::Dossier {
            code: named,
            problem,
        } => {
            assert_eq!(named, code);
            assert!(
                problem.contains("rewritten between audit entries"),
                "{problem}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// The same proof read in two halves on two threads (as at a million entries), with damage on
/// either side of the seam and at it.
#[test]
fn the_two_thread_reading_names_the_same_entries_as_one_thread() {
    let halves = VerifyOptions {
        records: true,
        min_half: Some(1),
        ..Default::default()
    };
    let dir = ledger();
    let whole = verify(&dir, &full()).unwrap();
    assert_eq!(verify(&dir, &halves).unwrap(), whole);
    let mid = whole.count / 2;
    for at in [3, mid, mid + 1, whole.count - 2] {
        let dir = ledger();
        let raw = Raw::open(&dir);
        let mut lines = raw.lines();
        let i = at as usize - 1;
        // A space after `{"body":`.
        lines[i].1.insert(8, b' ');
        raw.put_lines(&lines);
        drop(raw);
        assert_eq!(
            log_error(verify(&dir, &halves)),
            LogError::Modified { seq: at },
            "a space added to entry {at}"
        );
    }
    let dir = ledger();
    re_key(&dir, mid + 1, mid + 2);
    let one = log_error(verify(&dir, &full()));
    assert_eq!(
        one,
        LogError::Misplaced {
            seq: mid + 1,
            position: mid + 2
        }
    );
    assert_eq!(log_error(verify(&dir, &halves)), one);
}
