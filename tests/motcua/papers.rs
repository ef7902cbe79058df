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
    File {
        sha256: kept.stored.sha256,
        size: kept.stored.size,
        media_type: kept.media_type.into(),
        name: "gcn.pdf".into(),
    }
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
