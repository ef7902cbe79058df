//! Backups of a store that keeps working: taken while writers commit, restored into a new
//! sled folder and into PostgreSQL and back, the chain, the records, the counters and the
//! papers equal byte for byte; damaged and truncated backups refused with nothing restored.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use motcua::Engine;
use motcua::clock::ManualClock;
use motcua::dossier::paper::Brought;
use motcua::store::backup;
use motcua::store::sled::{Options, SledStore};
use motcua::store::{AuditReader, DossierReader, Reader, Store};
use support::*;

use crate::engine::desk;

fn engine_on(store: Arc<dyn Store>) -> Engine {
    let clock = Arc::new(ManualClock::new(at("2026-06-01T09:00:00+07:00")));
    let engine = Engine::new(store, Arc::new(calendar::test_calendar()), clock).unwrap();
    engine.load_procedures_dir(&fixture("engine")).unwrap();
    engine
}

/// A receipt with a scan of its land-use certificate (distinct bytes each time).
fn receive_with_scan(engine: &Engine, n: usize) -> motcua::dossier::Dossier {
    let bytes = format!("%PDF-1.7\n% giay chung nhan {n}\n");
    let kept = engine.keep_file(&mut bytes.as_bytes(), 1 << 20).unwrap();
    let mut sub = house_permit(house());
    sub.papers = vec![Brought {
        kind: "gcn_qsdd".into(),
        file: kept.file(format!("gcn-{n}.pdf")),
        from: None,
    }];
    engine.submit(sub).unwrap().dossier
}

/// The desk sends a dossier on to appraisal.
fn forward(
    engine: &Engine,
    d: &motcua::dossier::Dossier,
) -> motcua::Result<motcua::dossier::Dossier> {
    engine.act(request(d, "chuyen_tham_dinh", desk()))
}

/// Everything a reader can prove: the chain, every record against its entry.
fn proven(reader: &dyn Reader) -> u64 {
    motcua::audit::proof::verify_store(
        reader,
        &motcua::audit::proof::Options {
            records: true,
            ..Default::default()
        },
    )
    .expect("the chain and the records hold")
    .count
}

#[cfg(feature = "postgres")]
fn audit_lines(reader: &dyn Reader) -> Vec<Vec<u8>> {
    let mut lines = vec![];
    reader
        .audit_lines(1, &mut |_, l| {
            lines.push(l.to_vec());
            true
        })
        .unwrap();
    lines
}

#[cfg(feature = "postgres")]
fn records(reader: &dyn Reader) -> Vec<(String, Vec<u8>)> {
    let mut all = vec![];
    reader
        .dossier_records(&mut |code, bytes| {
            all.push((code.to_string(), bytes.to_vec()));
            true
        })
        .unwrap();
    all
}

#[test]
fn a_backup_taken_under_load_restores_the_store_as_it_was_when_the_backup_began() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path().join("data"), Options::default()).unwrap());
    let engine = Arc::new(engine_on(store.clone()));
    for n in 0..40 {
        receive_with_scan(&engine, n);
    }
    // Writers run through the whole backup; each notes whether its acknowledgement came
    // before the backup began (phase 0) or after.
    let phase = Arc::new(AtomicU8::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (engine, phase, stop) = (engine.clone(), phase.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut acked = vec![];
                let mut n = 1000 * (w + 1);
                while !stop.load(Ordering::SeqCst) {
                    let d = receive_with_scan(&engine, n);
                    n += 1;
                    let d = forward(&engine, &d).unwrap_or(d);
                    // Read after the acknowledgement: 0 means it came before the backup began.
                    let seen = phase.load(Ordering::SeqCst);
                    acked.push((d.code, d.version, seen));
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    phase.store(1, Ordering::SeqCst);
    let file = dir.path().join("store.backup");
    let written = {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        let s = store.backup(&mut out).unwrap();
        std::io::Write::flush(&mut out).unwrap();
        s
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    let acked: Vec<(String, u64, u8)> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let after = acked.iter().filter(|a| a.2 == 1).count();
    assert!(after > 0, "writers kept committing while the backup ran");
    let (source_count, _) = store.audit_head().unwrap();
    assert!(
        written.manifest.audit_count < source_count,
        "the backup is of its beginning, not the end"
    );

    let checked = backup::check(std::fs::File::open(&file).unwrap()).unwrap();
    assert_eq!(checked.manifest, written.manifest);
    assert_eq!(checked.checksum, written.checksum);
    let restored_dir = dir.path().join("restored");
    motcua::store::sled::restore(&restored_dir, &file).unwrap();
    let restored =
        waiting_for_sled_lock(|| SledStore::open_existing(&restored_dir, Options::default()))
            .unwrap();
    let verified = proven(&restored);
    assert_eq!(verified, written.manifest.audit_count);
    assert_eq!(restored.dossier_count().unwrap(), written.manifest.dossiers);
    // Every transition acknowledged before the backup began is in it, at least as far.
    for (code, version, seen) in &acked {
        if *seen == 0 {
            let d = restored
                .dossier(code)
                .unwrap()
                .unwrap_or_else(|| panic!("{code}, acknowledged before the backup, is missing"));
            assert!(d.version >= *version, "{code} v{} < v{version}", d.version);
        }
    }
    // The papers came along, each whole.
    let papers = motcua::audit::papers::verify(&restored, restored.files()).unwrap();
    assert!(
        papers.papers >= 40 && papers.failed.is_empty(),
        "{papers:?}"
    );
    restored.shutdown();
    store.shutdown();
}

#[test]
fn a_damaged_a_truncated_or_a_misplaced_restore_is_refused_and_nothing_is_restored() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path().join("data"), Options::default()).unwrap());
    let engine = engine_on(store.clone());
    for n in 0..5 {
        receive_with_scan(&engine, n);
    }
    let file = dir.path().join("store.backup");
    store
        .backup(&mut std::fs::File::create(&file).unwrap())
        .unwrap();
    let bytes = std::fs::read(&file).unwrap();

    let cut = dir.path().join("cut.backup");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let target = dir.path().join("t1");
    let e = motcua::store::sled::restore(&target, &cut).unwrap_err();
    assert!(matches!(e, backup::Error::Truncated { .. }), "{e}");
    assert!(!target.exists(), "nothing restored");

    let mut altered = bytes.clone();
    let at = altered.len() / 2;
    altered[at] ^= 0x20;
    let bad = dir.path().join("altered.backup");
    std::fs::write(&bad, &altered).unwrap();
    let e = motcua::store::sled::restore(&target, &bad).unwrap_err();
    assert!(
        matches!(
            e,
            backup::Error::Altered { .. }
                | backup::Error::Damaged(_)
                | backup::Error::Chain(_)
                // A changed length reads past the end.
                | backup::Error::Truncated { .. }
        ),
        "{e}"
    );
    assert!(!target.exists(), "nothing restored");

    let e = motcua::store::sled::restore(&dir.path().join("data"), &file).unwrap_err();
    assert!(matches!(e, backup::Error::NotEmpty(_)), "{e}");
    std::fs::write(dir.path().join("not-a-backup"), b"PK\x03\x04").unwrap();
    let e =
        backup::check(std::fs::File::open(dir.path().join("not-a-backup")).unwrap()).unwrap_err();
    assert!(matches!(e, backup::Error::NotABackup), "{e}");
    store.shutdown();
}

#[test]
#[cfg(feature = "postgres")]
fn a_store_moves_from_sled_to_postgresql_and_back_byte_for_byte() {
    use motcua::store::{CounterReader, Marks};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path().join("data"), Options::default()).unwrap());
    let engine = engine_on(store.clone());
    for n in 0..12 {
        let d = receive_with_scan(&engine, n);
        if n % 3 == 0 {
            forward(&engine, &d).unwrap();
        }
    }
    // A portal's webhook has delivered some of the outbox: its cursor is a mark.
    store
        .set_mark("webhook/cong-dvc/cursor", Some(b"7"))
        .unwrap();
    let timers = store
        .due_timers(jiff::Timestamp::MAX, usize::MAX)
        .unwrap()
        .len();
    assert!(
        timers > 0,
        "the received dossiers have appointments and step budgets"
    );
    let lines = audit_lines(&*store);
    let stored = records(&*store);
    let day = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
    let counters = store
        .report_counters(day("2026-01-01"), day("2026-12-31"))
        .unwrap();
    let first = dir.path().join("sled.backup");
    store
        .backup(&mut std::fs::File::create(&first).unwrap())
        .unwrap();
    store.shutdown();
    drop(engine);

    let url = support::pg::cluster().fresh_database();
    let moved = motcua::store::pg::backup::restore(&url, &first).unwrap();
    let pg = motcua::store::pg::PgSnapshot::open(&url).unwrap();
    assert_eq!(proven(&pg), moved.manifest.audit_count);
    assert_eq!(audit_lines(&pg), lines, "the audit lines, byte for byte");
    assert_eq!(records(&pg), stored, "the dossier records, byte for byte");
    assert_eq!(
        pg.report_counters(day("2026-01-01"), day("2026-12-31"))
            .unwrap(),
        counters
    );
    // A PostgreSQL store with the moved dossiers works on: codes go on without a gap.
    let on_pg = engine_on(Arc::new(
        motcua::store::pg::PgStore::open(&url, Default::default()).unwrap(),
    ));
    let next = receive_with_scan(&on_pg, 99);
    assert!(next.code.ends_with("-0013"), "{}", next.code);
    let papers = motcua::audit::papers::verify(on_pg.store(), on_pg.files()).unwrap();
    assert_eq!((papers.papers, papers.failed.len()), (13, 0));
    // The cursor resumes where it was; the timers moved fire, once.
    let moved_pg = motcua::store::pg::PgStore::open(&url, Default::default()).unwrap();
    assert_eq!(
        moved_pg.mark("webhook/cong-dvc/cursor").unwrap().as_deref(),
        Some(&b"7"[..])
    );
    drop(moved_pg);
    let later = at("2027-06-01T09:00:00+07:00");
    let fired = on_pg.fire_due(later).unwrap();
    assert!(fired.len() >= timers, "{} fired of {timers}", fired.len());
    assert!(
        on_pg.fire_due(later).unwrap().is_empty(),
        "a timer fired twice"
    );
    drop(on_pg);

    // And back: PostgreSQL's backup restored into a new sled folder.
    let second = dir.path().join("pg.backup");
    motcua::store::pg::backup::backup(&url, &mut std::fs::File::create(&second).unwrap()).unwrap();
    let back = dir.path().join("back");
    motcua::store::sled::restore(&back, &second).unwrap();
    let back =
        waiting_for_sled_lock(|| SledStore::open_existing(&back, Options::default())).unwrap();
    let again = audit_lines(&back);
    assert_eq!(again[..lines.len()], lines[..], "the old lines unchanged");
    assert!(
        again.len() > lines.len() + 2,
        "the receipt on PostgreSQL, its scan and the timers fired there"
    );
    proven(&back);
    back.shutdown();
}
