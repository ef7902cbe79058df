//! A store written by motcua before the crates were split (commit 3a09114, one `motcua`
//! crate) is read by today's code byte for byte: the fixture `tests/fixtures/stores/before-split`
//! was written by that binary with `tests/fixtures/stores/write-with-older-binary.sh` (a
//! construction permit walked through branches, a supplement, an extension and its result;
//! one refused at the desk; one left to run late; a same-day birth registration warned and
//! late). The typed system actions and outbox events must spell what the old strings spelled,
//! or every store in the field would read differently after an upgrade.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use crate::support::{at, fixture, forwarded, waiting_for_sled_lock};
use motcua::Engine;
use motcua::audit::{Entry, SystemAction, VerifyOptions, verify_store};
use motcua::clock::ManualClock;
use motcua::dossier::Dossier;
use motcua::dossier::transition::Event;
use motcua::store::sled::{Options, SledStore};
use motcua::store::{AuditReader, DossierReader, OutboxReader};

/// A copy of the fixture as the old binary left it (sled writes to a store it opens).
fn copy_as_written() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/stores/before-split");
    for f in std::fs::read_dir(&from).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), dir.path().join(f.file_name())).unwrap();
    }
    dir
}

/// A copy of the fixture after `motcua migrate`, which rebuilds its index (staff search and
/// due order came after it was written) and touches nothing else.
fn copy() -> tempfile::TempDir {
    let dir = copy_as_written();
    let m = waiting_for_sled_lock(|| motcua::store::sled::migrate(dir.path())).unwrap();
    assert!(m.reindexed && !m.migrated);
    dir
}

#[test]
fn an_index_older_than_staff_search_is_refused_at_open_until_migrated() {
    let dir = copy_as_written();
    let records = raw_lines(dir.path(), b'd');
    let audit = raw_lines(dir.path(), b'a');
    let refused =
        waiting_for_sled_lock(
            || match SledStore::open_existing(dir.path(), Options::default()) {
                Err(motcua::store::Error::Unusable { problem, .. }) => Ok(problem),
                Err(e) => Err(e),
                Ok(_) => panic!("an old index was served"),
            },
        )
        .unwrap();
    assert!(refused.contains("motcua migrate"), "{refused}");
    let m = waiting_for_sled_lock(|| motcua::store::sled::migrate(dir.path())).unwrap();
    assert!(m.reindexed);
    assert_eq!(m.dossiers, 4);
    // Records and audit lines are the old binary's bytes, untouched by the rebuild.
    assert_eq!(raw_lines(dir.path(), b'd'), records);
    assert_eq!(raw_lines(dir.path(), b'a'), audit);
    let again = waiting_for_sled_lock(|| motcua::store::sled::migrate(dir.path())).unwrap();
    assert!(!again.reindexed, "a second migrate has nothing to do");
    let store = open(dir.path());
    let found = store
        .list(
            &motcua::store::Query::Search(Box::new(motcua::store::Search {
                text: Some("le thi cuc".into()),
                scope: motcua::store::Scope::All,
                sort: motcua::store::Sort::Received,
                ..Default::default()
            })),
            None,
            10,
        )
        .unwrap();
    assert_eq!(found.codes.len(), 1, "the birth registration's applicant");
}

fn open(dir: &Path) -> SledStore {
    waiting_for_sled_lock(|| SledStore::open_existing(dir, Options::default())).unwrap()
}

/// Every stored line under `prefix` of the sled tree, as it is on disk.
fn raw_lines(dir: &Path, prefix: u8) -> Vec<Vec<u8>> {
    let db = waiting_for_sled_lock(|| sled::open(dir)).unwrap();
    let tree = db.open_tree("motcua").unwrap();
    let mut lines = vec![];
    for kv in tree.scan_prefix([prefix]) {
        let (_, v) = kv.unwrap();
        lines.extend(v.split(|b| *b == b'\n').map(<[u8]>::to_vec));
    }
    lines
}

/// A `dossiers` value as layout 2 writes it, read independently of the store's code: a
/// big-endian u32 count, that many u64 audit sequence numbers, then the dossier's JSON.
fn parse_dossier_record(v: &[u8]) -> Option<(Vec<u64>, &[u8])> {
    let n = u32::from_be_bytes(v.get(..4)?.try_into().ok()?) as usize;
    let seqs = v.get(4..4 + 8 * n)?;
    let seqs = seqs
        .chunks_exact(8)
        .map(|c| u64::from_be_bytes(c.try_into().unwrap()))
        .collect();
    Some((seqs, v.get(4 + 8 * n..)?))
}

fn names(all: &[&str]) -> BTreeSet<String> {
    all.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_audit_chain_and_every_record_verify_as_they_were_written() {
    let dir = copy();
    let store = open(dir.path());
    let full = VerifyOptions {
        records: true,
        ..Default::default()
    };
    let proved = verify_store(&store, &full).unwrap();
    assert_eq!(proved.count, 21);
    assert_eq!(store.dossier_count().unwrap(), 4);
    let mut n = 0;
    store
        .dossier_records(&mut |code, bytes| {
            let (seqs, json) = parse_dossier_record(bytes).unwrap();
            assert!(!seqs.is_empty());
            let d: Dossier = serde_json::from_slice(json).unwrap();
            assert_eq!(d.code, code);
            // The record digests the chain proves are over these bytes: today's type writes
            // them the same way.
            assert_eq!(serde_json::to_vec(&d).unwrap(), json, "{code}");
            n += 1;
            true
        })
        .unwrap();
    assert_eq!(n, 4);
}

#[test]
fn system_actions_read_back_as_the_strings_the_old_code_wrote() {
    let dir = copy();
    let mut system = BTreeSet::new();
    {
        let store = open(dir.path());
        for e in store.audit(1, 1000).unwrap() {
            if e.action.starts_with("system:") {
                let typed = SystemAction::of(&e.action)
                    .unwrap_or_else(|| panic!("{} is not a system action today", e.action));
                assert_eq!(typed.as_str(), e.action);
                system.insert(e.action.clone());
            }
        }
    }
    assert_eq!(
        system,
        names(&[
            "system:overdue",
            "system:warning",
            "system:pause",
            "system:resume"
        ])
    );
    // Each line re-serialises to the bytes the old code hashed.
    let lines = raw_lines(dir.path(), b'a');
    assert_eq!(lines.len(), 21);
    for line in &lines {
        let e = Entry::from_line(line).unwrap();
        assert_eq!(
            &e.line().unwrap(),
            line,
            "{}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn outbox_events_keep_their_kinds_and_bytes() {
    let dir = copy();
    let lines = raw_lines(dir.path(), b'o');
    let mut kinds = BTreeSet::new();
    for line in &lines {
        let event: Event = serde_json::from_slice(line).unwrap();
        assert_eq!(
            &serde_json::to_vec(&event).unwrap(),
            line,
            "{}",
            String::from_utf8_lossy(line)
        );
        let raw: serde_json::Value = serde_json::from_slice(line).unwrap();
        kinds.insert(raw["kind"].as_str().unwrap().to_string());
    }
    let expected = names(&[
        "dossier.received",
        "dossier.moved",
        "dossier.extended",
        "dossier.ended",
    ]);
    assert!(kinds.is_superset(&expected), "{kinds:?}");
    let store = open(dir.path());
    assert_eq!(store.outbox_head().unwrap(), lines.len() as u64);
    assert_eq!(store.outbox(0, 1000).unwrap().len(), lines.len());
}

#[test]
fn the_late_dossier_moves_on_and_its_fired_timers_do_not_fire_again() {
    let dir = copy();
    let clock = Arc::new(ManualClock::new(at("2027-01-15T10:00:00+07:00")));
    let engine = Engine::new(
        Arc::new(open(dir.path())),
        Arc::new(crate::support::calendar::test_calendar()),
        clock.clone(),
    )
    .unwrap();
    engine.load_procedures_dir(&fixture("engine")).unwrap();
    assert_eq!(
        engine.fire_due(at("2027-01-15T10:00:00+07:00")).unwrap(),
        vec![]
    );
    let late = engine.dossier("000.17.22.H56-261208-0003").unwrap();
    let moved = engine.act(forwarded(&late)).unwrap();
    assert_eq!(moved.version, late.version + 1);
    drop(engine);
    let store = open(dir.path());
    let proved = verify_store(&store, &VerifyOptions::default()).unwrap();
    assert_eq!(proved.count, 22);
}
