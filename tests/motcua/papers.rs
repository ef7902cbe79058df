//! A dossier's papers on every store: a scan kept under its SHA-256 before it is attached,
//! attached by the desk as a transition with its audit entry, a second version kept beside
//! the first, read back whole after a restart; what may not be attached is refused with
//! nothing attached and nothing kept that is not a paper.

use crate::support;

conformance!();

use motcua::dossier::paper::File;
use motcua::dossier::transition::{AttachRequest, Error as Refusal};
use motcua::dossier::{Actor, Dossier};
use motcua::{Engine, Error};
use std::io::Read;
use support::*;

use crate::engine::{desk, zoning};

const SCAN: &[u8] = b"%PDF-1.7\n% the land-use certificate, scanned at the desk\n%%EOF\n";

fn keep(engine: &Engine, bytes: &[u8]) -> File {
    let kept = engine
        .keep_file(&mut &bytes[..], 1 << 20)
        .expect("a PDF is kept");
    kept.file("gcn.pdf".into())
}

fn attach(d: &Dossier, kind: &str, file: File, actor: Actor) -> AttachRequest {
    AttachRequest {
        dossier: d.code.clone(),
        kind: kind.into(),
        file,
        actor,
        comment: None,
    }
}

fn bytes_of(engine: &Engine, d: &Dossier, sha256: &str) -> Vec<u8> {
    let (_, mut r) = engine.paper(d, sha256).expect("read").expect("present");
    let mut all = vec![];
    r.read_to_end(&mut all).expect("bytes");
    all
}

#[test]
fn the_desks_scan_is_attached_audited_versioned_and_read_back_after_a_restart() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let file = keep(&h.engine, SCAN);
    let d = h
        .engine
        .attach(attach(&d, "gcn_qsdd", file.clone(), desk()))
        .unwrap();
    assert_eq!(d.papers.len(), 1);
    assert_eq!(d.papers[0].version, 1);
    assert_eq!(d.papers[0].media_type, "application/pdf");
    let entry = h.engine.history(&d.code).unwrap().pop().unwrap();
    assert_eq!(entry.action, "attach");
    assert_eq!(entry.input["sha256"], file.sha256.as_str());
    assert_eq!(entry.input["kind"], "gcn_qsdd");
    assert_eq!(entry.actor, "mc01");

    // A rescan is version 2; version 1 stays.
    let mut rescan = SCAN.to_vec();
    rescan.extend_from_slice(b"% 300 dpi\n");
    let second = keep(&h.engine, &rescan);
    let d = h
        .engine
        .attach(attach(&d, "gcn_qsdd", second.clone(), desk()))
        .unwrap();
    assert_eq!(
        d.papers.iter().map(|p| p.version).collect::<Vec<_>>(),
        [1, 2]
    );

    let h = h.reopen(true);
    let d = h.engine.dossier(&d.code).unwrap();
    assert_eq!(bytes_of(&h.engine, &d, &file.sha256), SCAN);
    assert_eq!(bytes_of(&h.engine, &d, &second.sha256), rescan);
}

#[test]
fn what_may_not_be_attached_is_refused_and_nothing_changes() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let file = keep(&h.engine, SCAN);
    // Not in the checklist and not a result the procedure issues.
    let e = h
        .engine
        .attach(attach(&d, "hoa_don", file.clone(), desk()))
        .unwrap_err();
    assert!(
        matches!(e, Error::Refused(Refusal::UnknownDocument { .. })),
        "{e}"
    );
    // An officer with no active step of theirs.
    let e = h
        .engine
        .attach(attach(&d, "gcn_qsdd", file.clone(), zoning()))
        .unwrap_err();
    assert_eq!(e.code(), "forbidden", "{e}");
    // The applicant, while nothing is asked of them.
    let e = h
        .engine
        .attach(attach(&d, "gcn_qsdd", file.clone(), citizen()))
        .unwrap_err();
    assert_eq!(e.code(), "forbidden", "{e}");
    // A file the store never kept.
    let mut ghost = file.clone();
    ghost.sha256 = "0".repeat(64);
    let e = h
        .engine
        .attach(attach(&d, "gcn_qsdd", ghost, desk()))
        .unwrap_err();
    assert_eq!(e.code(), "unknown_file", "{e}");
    // Markup claiming to be a scan is not kept at all.
    let e = h
        .engine
        .keep_file(&mut &b"<svg onload=alert(1)>"[..], 1 << 20)
        .unwrap_err();
    assert_eq!(e.code(), "unsupported_file", "{e}");
    let e = h
        .engine
        .keep_file(&mut &[b'%'; 2048][..], 1024)
        .unwrap_err();
    assert_eq!(e.code(), "file_too_large", "{e}");
    assert_eq!(
        h.engine.files().list().unwrap(),
        vec![file.sha256.clone()],
        "only the real scan is kept"
    );
    let after = h.engine.dossier(&d.code).unwrap();
    assert_eq!(after.version, d.version);
    assert!(after.papers.is_empty());
}

/// The smallest procedure issuing a result that must be attached before it is returned.
fn with_result(requires: &str) -> String {
    include_str!("../fixtures/valid-minimal.yaml")
        .replace(
            "documents:\n  - id: don\n    name: Đơn đề nghị\n",
            "documents:\n  - id: don\n    name: Đơn đề nghị\nresults:\n  - id: ket-qua\n    name: Văn bản trả lời\n",
        )
        .replace(
            "    from: xu-ly\n    to: da-tra\n    roles: [can-bo]",
            &format!("    from: xu-ly\n    to: da-tra\n    roles: [can-bo]\n    requires_documents: [{requires}]"),
        )
}

#[test]
fn a_result_must_be_attached_before_it_is_returned_and_the_validator_knows_the_kinds() {
    // A kind the procedure declares nowhere is a positioned diagnostic.
    let broken = with_result("ket-qua-khac");
    let loaded = motcua::procedure::load_and_check_str(&broken, "broken.yaml");
    let d = loaded
        .diagnostics
        .iter()
        .find(|d| d.code.to_string() == "E014")
        .expect("E014 for the unknown kind");
    let line = broken
        .lines()
        .position(|l| l.contains("requires_documents"))
        .expect("line")
        + 1;
    assert_eq!(d.line as usize, line, "{d}");

    let h = Harness::new("2026-06-01T09:00:00+07:00");
    h.engine
        .load_procedure("with-result.yaml", with_result("ket-qua"))
        .expect("loads");
    let officer = officer("cb01", "can-bo", "mot-cua");
    let mut sub = house_permit(serde_json::json!({"so_tang": 1}));
    sub.procedure = "fixture".into();
    sub.documents = vec!["don".into()];
    sub.received_by = officer.clone();
    let d = h.engine.submit(sub).unwrap().dossier;
    let d = act(&h, &d, "chuyen", officer.clone()).unwrap();
    // Offered, but saying what is missing; refused when taken.
    let offered = h.engine.available_actions_of(&d, &officer).unwrap();
    let tra = offered.iter().find(|a| a.action == "tra").expect("offered");
    assert_eq!(
        tra.refused,
        Some(motcua::dossier::transition::Unavailable::PapersMissing {
            kinds: vec!["ket-qua".into()]
        })
    );
    let p = h.engine.procedure("fixture").expect("loaded");
    assert_eq!(
        motcua::messages::errors::unavailable(tra.refused.as_ref().expect("refused"), &p.procedure),
        "cần đính kèm trước: Văn bản trả lời"
    );
    let e = act(&h, &d, "tra", officer.clone()).unwrap_err();
    assert_eq!(e.code(), "documents_required", "{e}");
    assert!(matches!(e, Error::Refused(Refusal::PapersRequired { .. })));
    // The officer of the step attaches the signed answer; now it is returned.
    let answer = keep(&h.engine, b"%PDF-1.7\n% signed answer\n");
    let d = h
        .engine
        .attach(attach(&d, "ket-qua", answer, officer.clone()))
        .unwrap();
    assert_eq!(d.papers[0].source, motcua::dossier::paper::Source::Officer);
    let d = act(&h, &d, "tra", officer).unwrap();
    assert!(!d.is_open());
}

#[test]
fn files_no_entry_names_are_collected_and_attached_ones_never() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let named = keep(&h.engine, SCAN);
    h.engine
        .attach(attach(&d, "gcn_qsdd", named.clone(), desk()))
        .unwrap();
    // Kept, then refused: nothing names it.
    let orphan = keep(&h.engine, b"%PDF-1.7\n% attached to nothing\n");
    let reader = h.engine.store();
    // Younger than the grace period: kept for the request still on its way to the commit.
    let none = motcua::audit::papers::collect(
        reader,
        h.engine.files(),
        std::time::Duration::from_secs(3600),
    )
    .unwrap();
    assert!(none.removed.is_empty());
    let done = motcua::audit::papers::collect(reader, h.engine.files(), std::time::Duration::ZERO)
        .unwrap();
    assert_eq!(done.removed, vec![orphan.sha256.clone()]);
    assert_eq!(h.engine.files().list().unwrap(), vec![named.sha256.clone()]);
    let checked = motcua::audit::papers::verify(reader, h.engine.files()).unwrap();
    assert_eq!((checked.papers, checked.failed.len()), (1, 0));
}

#[test]
fn a_file_kept_again_is_young_again_and_not_collected_from_the_attach_to_come() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let first = keep(&h.engine, SCAN);
    // Old enough to collect, then the same bytes are uploaded again for an attach.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let again = keep(&h.engine, SCAN);
    assert_eq!(first.sha256, again.sha256, "one file for the same bytes");
    let collected = motcua::audit::papers::collect(
        h.engine.store(),
        h.engine.files(),
        std::time::Duration::from_secs(1),
    )
    .unwrap();
    assert!(collected.removed.is_empty(), "{collected:?}");
    assert_eq!(h.engine.files().list().unwrap(), vec![again.sha256]);
}

fn brought(kind: &str, file: &File, from: Option<&str>) -> motcua::dossier::paper::Brought {
    motcua::dossier::paper::Brought {
        kind: kind.into(),
        // What the request claims of size and type is replaced by what the store holds.
        file: File {
            sha256: file.sha256.clone(),
            size: 1,
            media_type: "text/html".into(),
            name: file.name.clone(),
            pages: Some(999),
        },
        from: from.map(String::from),
    }
}

#[test]
fn papers_handed_in_at_receipt_are_attached_by_the_receipts_own_commit() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let scan = keep(&h.engine, SCAN);
    let mut sub = house_permit(house());
    sub.documents = vec!["don".into()];
    sub.papers = vec![brought("gcn_qsdd", &scan, None)];
    let d = h.engine.submit(sub).unwrap().dossier;
    // The item with a paper counts as handed in, ticked or not.
    assert_eq!(d.documents, ["don", "gcn_qsdd"]);
    assert_eq!(d.papers.len(), 1);
    let p = &d.papers[0];
    assert_eq!(
        (p.kind.as_str(), p.size, p.media_type.as_str(), p.version),
        ("gcn_qsdd", SCAN.len() as u64, "application/pdf", 1)
    );
    assert_eq!(p.source, motcua::dossier::paper::Source::Desk);
    assert_eq!(
        d.version, 2,
        "one commit: the receipt (1) and its paper (2)"
    );
    let history = h.engine.history(&d.code).unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["submit", "attach"]);
    assert_eq!(history[1].input["sha256"], scan.sha256.as_str());
    assert_eq!(history[1].input["size"], SCAN.len() as u64);
    // The proof reaches the papers handed in at receipt too.
    let checked = motcua::audit::papers::verify(h.engine.store(), h.engine.files()).unwrap();
    assert_eq!((checked.papers, checked.failed.len()), (1, 0));
}

#[test]
fn a_receipt_naming_a_paper_the_store_does_not_hold_or_a_result_is_refused_whole() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let scan = keep(&h.engine, SCAN);
    let mut ghost = scan.clone();
    ghost.sha256 = "ab".repeat(32);
    let mut sub = house_permit(house());
    sub.papers = vec![
        brought("gcn_qsdd", &scan, None),
        brought("don", &ghost, None),
    ];
    let e = h.engine.submit(sub).unwrap_err();
    assert_eq!(e.code(), "unknown_file", "{e}");
    let mut sub = house_permit(house());
    sub.papers = vec![brought("hoa_don", &scan, None)];
    let e = h.engine.submit(sub).unwrap_err();
    assert!(
        matches!(e, Error::Refused(Refusal::UnknownDocument { .. })),
        "{e}"
    );
    assert_eq!(
        h.engine.store().dossier_count().unwrap(),
        0,
        "nothing received"
    );
}

#[test]
fn the_citizens_papers_are_reused_by_reference_and_never_by_a_stranger() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let scan = keep(&h.engine, SCAN);
    let mut sub = house_permit(house());
    sub.papers = vec![brought("gcn_qsdd", &scan, None)];
    let first = h.engine.submit(sub).unwrap().dossier;

    // The same applicant, a year on: the land-use certificate is already held.
    h.clock.advance(jiff::SignedDuration::from_hours(24 * 365));
    let held = h.engine.applicant_papers("079090001234", 50).unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0].dossier.as_str(), held[0].paper.kind.as_str()),
        (first.code.as_str(), "gcn_qsdd")
    );
    let mut sub = house_permit(house());
    let mut reuse = brought("gcn_qsdd", &scan, Some(&first.code));
    reuse.file.name = String::new();
    sub.papers = vec![reuse];
    let second = h.engine.submit(sub).unwrap().dossier;
    let p = &second.papers[0];
    assert_eq!(p.from.as_deref(), Some(first.code.as_str()));
    assert_eq!(
        (p.sha256.as_str(), p.name.as_str()),
        (scan.sha256.as_str(), "gcn.pdf")
    );
    let entry = &h.engine.history(&second.code).unwrap()[1];
    assert_eq!(entry.input["from"], first.code.as_str());

    // Another applicant naming the first dossier's paper gets nothing.
    let mut sub = house_permit(house());
    sub.applicant.id = "079090009999".into();
    sub.papers = vec![brought("gcn_qsdd", &scan, Some(&first.code))];
    let e = h.engine.submit(sub).unwrap_err();
    assert_eq!(e.code(), "unknown_file", "{e}");
    assert!(
        h.engine
            .applicant_papers("079090009999", 50)
            .unwrap()
            .is_empty()
    );
}

/// The fixture issuing a result valid for a year, taking at most 1 MiB per file, with office
/// files allowed or not.
fn with_policy(office: bool) -> String {
    with_result("ket-qua")
        .replace(
            "    name: Văn bản trả lời\n",
            "    name: Văn bản trả lời\n    valid_for: 12 months\n",
        )
        .replace(
            "results:\n",
            &format!("papers:\n  max_size_mib: 1\n  office: {office}\nresults:\n"),
        )
}

/// A DOCX as its ZIP local headers show it (what the inspector reads).
fn docx(with_macros: bool) -> Vec<u8> {
    let mut names = vec!["[Content_Types].xml", "_rels/.rels", "word/document.xml"];
    if with_macros {
        names.push("word/vbaProject.bin");
    }
    let mut out = vec![];
    for name in names {
        out.extend_from_slice(b"PK\x03\x04");
        // Version, flags, method, time, date, CRC, sizes: 22 bytes before the name's length.
        out.extend_from_slice(&[20]);
        out.extend_from_slice(&[0; 21]);
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
    }
    out
}

#[test]
fn a_procedures_paper_rules_decide_size_office_files_and_a_results_validity() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    h.engine
        .load_procedure("with-policy.yaml", with_policy(false))
        .expect("loads");
    let officer = officer("cb01", "can-bo", "mot-cua");
    let mut sub = house_permit(serde_json::json!({"so_tang": 1}));
    sub.procedure = "fixture".into();
    sub.documents = vec!["don".into()];
    sub.received_by = officer.clone();
    let d = h.engine.submit(sub.clone()).unwrap().dossier;
    // Two pages counted from the PDF's own page objects.
    let two = b"%PDF-1.7\n1 0 obj<</Type/Pages/Count 2>>endobj\n2 0 obj<</Type/Page>>endobj\n3 0 obj<</Type/Page>>endobj\n";
    let d = h
        .engine
        .attach(attach(&d, "don", keep(&h.engine, two), officer.clone()))
        .unwrap();
    assert_eq!(d.papers[0].pages, Some(2));
    // Over this procedure's 1 MiB: refused, nothing attached.
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize((1 << 20) + 1, b'0');
    let e = h
        .engine
        .attach(attach(
            &d,
            "don",
            h.engine
                .keep_file(&mut &big[..], 8 << 20)
                .expect("kept: the store's ceiling is higher")
                .file("lon.pdf".into()),
            officer.clone(),
        ))
        .unwrap_err();
    assert_eq!(e.code(), "file_too_large", "{e}");
    // A word-processor file: kept by the store, refused by a procedure that takes scans only.
    let word = keep(&h.engine, &docx(false));
    assert_eq!(word.media_type, motcua::dossier::paper::OFFICE[0]);
    let e = h
        .engine
        .attach(attach(&d, "don", word.clone(), officer.clone()))
        .unwrap_err();
    assert_eq!(e.code(), "unsupported_file", "{e}");
    // Macros are refused by any procedure, before anything is kept.
    let e = h
        .engine
        .keep_file(&mut &docx(true)[..], 1 << 20)
        .unwrap_err();
    assert_eq!(e.code(), "unsupported_file", "{e}");

    // The next version takes office files; the result records its last valid day.
    h.engine
        .load_procedure(
            "with-policy.yaml",
            with_policy(true).replace("version: \"1\"", "version: \"2\""),
        )
        .expect("loads");
    let d = h.engine.submit(sub).unwrap().dossier;
    let d = h
        .engine
        .attach(attach(&d, "don", word, officer.clone()))
        .unwrap();
    assert_eq!(
        d.papers[0].pages, None,
        "an office file's pages are not known"
    );
    let d = act(&h, &d, "chuyen", officer.clone()).unwrap();
    let answer = keep(&h.engine, b"%PDF-1.7\n% the answer\n");
    let d = h
        .engine
        .attach(attach(&d, "ket-qua", answer, officer))
        .unwrap();
    assert_eq!(
        d.papers[1].valid_until,
        Some(jiff::civil::date(2027, 5, 31)),
        "a year from 1 June 2026, its last day"
    );
}

/// Changes one byte of a kept file where the store keeps it: the file in the papers folder
/// (sled), or its first chunk in the `motcua_files` table (PostgreSQL).
fn alter_kept(h: &Harness, sha256: &str) {
    #[cfg(feature = "postgres")]
    if support::on_postgres() {
        let url = support::pg::cluster().database_for(h.dir.path());
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        let changed = client
            .execute(
                "UPDATE motcua_files SET bytes = overlay(bytes placing '\\x58'::bytea from 10 for 1) \
                 WHERE name = $1 AND chunk = 0",
                &[&sha256],
            )
            .expect("update");
        assert_eq!(changed, 1, "one chunk altered");
        return;
    }
    let path = h.dir.path().join("papers").join(&sha256[..2]).join(sha256);
    let mut bytes = std::fs::read(&path).expect("the kept file");
    bytes[9] ^= 1;
    std::fs::write(&path, bytes).expect("altered");
}

#[test]
fn a_scan_altered_where_the_store_keeps_it_is_named_with_its_dossier() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let scan = keep(&h.engine, SCAN);
    let mut sub = house_permit(house());
    sub.papers = vec![brought("gcn_qsdd", &scan, None)];
    let d = h.engine.submit(sub).unwrap().dossier;
    let checked = motcua::audit::papers::verify(h.engine.store(), h.engine.files()).unwrap();
    assert!(checked.failed.is_empty());
    alter_kept(&h, &scan.sha256);
    let checked = motcua::audit::papers::verify(h.engine.store(), h.engine.files()).unwrap();
    assert_eq!(checked.failed.len(), 1, "{checked:?}");
    let failed = &checked.failed[0];
    assert_eq!(
        (
            failed.dossier.as_str(),
            failed.kind.as_str(),
            failed.sha256.as_str()
        ),
        (d.code.as_str(), "gcn_qsdd", scan.sha256.as_str())
    );
    assert!(
        matches!(&failed.problem, motcua::audit::papers::Problem::Altered { found } if found != &scan.sha256),
        "{failed:?}"
    );
}
