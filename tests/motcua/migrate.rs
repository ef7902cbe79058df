//! `motcua migrate` on a store written in layout 1 (audit entries hashed over their
//! re-serialised JSON, no record digests, no query index or report counters): refused at
//! open until migrated, then re-sealed with the old head kept, its index and counters rebuilt.
//! Layout-1 stores are made here by rewriting a fresh store's log into the old format, with
//! the old code's hashing written out independently of the engine's.

use crate::support;
use crate::support::waiting_for_sled_lock;

use jiff::civil::date;
use motcua::audit::{self, Entry, VerifyOptions, verify_store};
use motcua::store::sled::{Options, SledStore, migrate};
use motcua::store::{AuditKey, AuditReader, CounterReader};
use serde::Serialize;
use sha2::{Digest, Sha256};
use support::desk::*;

/// Layout 1's entry: its fields in its order.
#[derive(Serialize)]
struct V1<'a> {
    seq: u64,
    at: jiff::Timestamp,
    dossier: &'a str,
    procedure: &'a str,
    procedure_hash: &'a str,
    action: &'a str,
    actor: &'a str,
    roles: &'a [String],
    departments: &'a [String],
    from: &'a [String],
    to: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: &'a Option<String>,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    input: &'a serde_json::Value,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    steps: &'a [motcua::deadline::StepTiming],
    version: u64,
    prev_hash: String,
    hash: String,
}

/// Dossiers received and walked (half of them returned), then the store closed.
fn store() -> tempfile::TempDir {
    Desk::new("2027-03-01T08:00:00+07:00").walked(10, |i| {
        format!("2027-03-0{}T09:{:02}:00+07:00", 1 + i / 5, i * 5)
    })
}

fn open(dir: &tempfile::TempDir) -> Result<SledStore, motcua::store::Error> {
    // A raw sled handle dropped a moment ago lets go of the file lock a moment later.
    waiting_for_sled_lock(|| {
        SledStore::open_existing(
            dir.path(),
            Options {
                fsync: false,
                ..Options::default()
            },
        )
    })
}

/// The store's log and records, proved as `motcua audit verify` does.
fn proved(s: &SledStore) -> audit::Verified {
    let full = VerifyOptions {
        records: true,
        ..Default::default()
    };
    verify_store(s, &full).unwrap()
}

/// What a report and the audit index say, to compare before and after.
fn figures(s: &SledStore) -> (Vec<motcua::store::CounterRow>, Vec<u64>) {
    let counters = s
        .report_counters(date(2027, 1, 1), date(2027, 12, 31))
        .unwrap();
    let mut seqs = vec![];
    s.audit_index(&AuditKey::Actor("cv01".into()), 0, &mut |q| {
        seqs.push(q);
        true
    })
    .unwrap();
    (counters, seqs)
}

/// Rewrites the store as layout 1 wrote it; returns the old head.
fn downgrade(dir: &tempfile::TempDir, tamper_entry: Option<u64>) -> String {
    let db = waiting_for_sled_lock(|| sled::open(dir.path())).unwrap();
    let tree = db.open_tree("motcua").unwrap();
    let mut head = audit::GENESIS.to_string();
    for kv in tree.scan_prefix(b"a") {
        let (k, v) = kv.unwrap();
        let mut out = vec![];
        for (i, line) in v.split(|b| *b == b'\n').enumerate() {
            let e = Entry::from_line(line).unwrap();
            let mut old = V1 {
                seq: e.seq,
                at: e.at,
                dossier: &e.dossier,
                procedure: &e.procedure,
                procedure_hash: &e.procedure_hash,
                action: &e.action,
                actor: &e.actor,
                roles: &e.roles,
                departments: &e.departments,
                from: &e.from,
                to: &e.to,
                comment: &e.comment,
                input: &e.input,
                steps: &e.steps,
                version: e.version,
                prev_hash: head.clone(),
                hash: String::new(),
            };
            let mut h = Sha256::new();
            h.update(head.as_bytes());
            h.update(serde_json::to_vec(&old).unwrap());
            old.hash = hex::encode(h.finalize());
            head = old.hash.clone();
            if tamper_entry == Some(e.seq) {
                old.actor = "ke_gian";
            }
            if i > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(&serde_json::to_vec(&old).unwrap());
        }
        tree.insert(k, out).unwrap();
    }
    for prefix in [&b"q"[..], b"r", b"mlayout"] {
        for kv in tree.scan_prefix(prefix) {
            tree.remove(kv.unwrap().0).unwrap();
        }
    }
    let mut counters = tree.get(b"mcounters").unwrap().unwrap().to_vec();
    counters.truncate(24);
    counters.extend_from_slice(head.as_bytes());
    tree.insert(b"mcounters", counters).unwrap();
    db.flush().unwrap();
    head
}

#[test]
fn a_layout_1_store_is_refused_at_open_until_migrated_then_verifies_with_the_old_head_kept() {
    let dir = store();
    let before = {
        let s = open(&dir).unwrap();
        let f = figures(&s);
        s.shutdown();
        f
    };
    assert!(!before.0.is_empty() && !before.1.is_empty());
    let old_head = downgrade(&dir, None);
    let refused = open(&dir).err().expect("a layout-1 store is refused");
    assert!(refused.to_string().contains("motcua migrate"), "{refused}");
    let m = waiting_for_sled_lock(|| migrate(dir.path())).unwrap();
    assert!(m.migrated);
    assert_eq!(
        (m.entries, m.dossiers, m.old_head.as_str()),
        (10 + 10 + 15, 10, old_head.as_str())
    );
    let s = open(&dir).unwrap();
    let v = proved(&s);
    assert_eq!((v.count, v.head.as_str()), (35, m.new_head.as_str()));
    let first = s.audit_entry(1).unwrap().unwrap();
    let kept = first.migrated.expect("entry 1 records the old chain");
    assert_eq!(
        (kept.format, kept.count, kept.head.as_str()),
        (1, 35, old_head.as_str())
    );
    // The index and the report counters are rebuilt as the commits had written them.
    assert_eq!(figures(&s), before);
    s.shutdown();
    drop(s);
    // Running it again changes nothing.
    let again = waiting_for_sled_lock(|| migrate(dir.path())).unwrap();
    assert!(!again.migrated);
    assert_eq!(again.new_head, m.new_head);
}

#[test]
fn a_migration_cut_short_is_resumed_from_the_old_head_it_recorded() {
    let dir = store();
    let old_head = downgrade(&dir, None);
    let first = waiting_for_sled_lock(|| migrate(dir.path())).unwrap();
    // As if it had stopped after rewriting the chunks: the marker of a migration in
    // progress, no layout.
    {
        let db = waiting_for_sled_lock(|| sled::open(dir.path())).unwrap();
        let tree = db.open_tree("motcua").unwrap();
        tree.remove(b"mlayout").unwrap();
        let marker = serde_json::json!({"format": 1, "count": 35, "head": old_head});
        tree.insert(b"mmigrating", marker.to_string().as_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    assert!(open(&dir).is_err(), "a store mid-migration is refused");
    let resumed = waiting_for_sled_lock(|| migrate(dir.path())).unwrap();
    assert!(resumed.migrated);
    assert_eq!(
        (resumed.old_head, resumed.new_head),
        (old_head, first.new_head)
    );
    let s = open(&dir).unwrap();
    let v = proved(&s);
    assert_eq!(v.count, 35);
}

#[test]
fn a_layout_1_store_whose_old_chain_is_broken_is_not_migrated_and_left_untouched() {
    let dir = store();
    downgrade(&dir, Some(12));
    let before = contents(&dir);
    let err = waiting_for_sled_lock(|| migrate(dir.path())).unwrap_err();
    assert!(
        err.to_string().contains("does not verify at entry 12"),
        "{err}"
    );
    assert!(open(&dir).is_err(), "still refused");
    assert!(
        contents(&dir) == before,
        "the refused migration changed the store"
    );
}

/// Every key and value of the store.
fn contents(dir: &tempfile::TempDir) -> Vec<(sled::IVec, sled::IVec)> {
    let db = waiting_for_sled_lock(|| sled::open(dir.path())).unwrap();
    let tree = db.open_tree("motcua").unwrap();
    tree.iter().map(|kv| kv.unwrap()).collect()
}
