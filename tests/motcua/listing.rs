//! Listings over a real store: a department's work across states, by state, by applicant,
//! across procedure versions, page by page (the cursor is the listing's own key); audit and
//! outbox pages that start inside a commit batch.

use crate::support;

conformance!();

use motcua::audit;
use motcua::dossier::Dossier;
use motcua::store::Query;
use support::*;

use crate::engine::{appraised, desk, head_of_office, structure, zoning};
use crate::versions::house_permit_version_2;

fn codes(ds: &[Dossier]) -> Vec<&String> {
    ds.iter().map(|d| &d.code).collect()
}

/// Regression: paging with "the last code seen" skipped dossiers in listings not ordered by
/// code (a department's work across states). The cursor is now the listing's own key.
#[test]
fn a_departments_work_pages_across_states_without_skipping_anyone() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    // a, the oldest code, goes on to signature (ky_duyet); b waits at the desk; c, the newest
    // code, is in structure review (ket_cau). Phòng QLĐT's work sorts by state: c before a.
    let a = appraised(&h);
    act(&h, &a, "trinh_ky", structure()).unwrap();
    let b = h.engine.submit(house_permit(house())).unwrap().dossier;
    let c = h.engine.submit(house_permit(house())).unwrap().dossier;
    act(&h, &c, "chuyen_tham_dinh", desk()).unwrap();
    let department = Query::Department {
        department: "phong_qlxd".into(),
        state: None,
    };
    assert_eq!(
        every_page(&h, &department),
        [c.code.clone(), a.code.clone()]
    );
    // Overdue dossiers, earliest appointment first (all three were received at the same
    // instant, so then by code), one per page.
    let overdue = Query::Overdue {
        now: at("2026-12-31T00:00:00+07:00"),
    };
    assert_eq!(every_page(&h, &overdue), [a.code, b.code, c.code]);
}

/// The codes of every page of a listing, one dossier per page.
fn every_page(h: &Harness, query: &Query) -> Vec<String> {
    pages_of(h, query, 1)
}

/// The codes of every page of a listing, `per_page` at a time.
fn pages_of(h: &Harness, query: &Query, per_page: usize) -> Vec<String> {
    let mut seen = vec![];
    let mut after: Option<String> = None;
    loop {
        let page = h.engine.list(query, after.as_deref(), per_page).unwrap();
        assert!(page.dossiers.len() <= per_page);
        // A cursor is given only when more follows: no page reached by one is empty.
        assert!(after.is_none() || !page.dossiers.is_empty(), "{query:?}");
        seen.extend(page.dossiers.iter().map(|d| d.code.clone()));
        after = page.next;
        if after.is_none() {
            return seen;
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]

    /// Whatever mix of steps the dossiers are in and whatever the page size, paging through a
    /// listing gives exactly the one-page listing: nothing skipped, nothing twice.
    #[test]
    fn paging_through_any_listing_gives_the_whole_listing(
        walks in proptest::collection::vec(0usize..7, 1..10),
        per_page in 1usize..5,
    ) {
        let h = Harness::new("2026-06-01T09:00:00+07:00");
        // How far each dossier goes along receipt → fork → zoning done → consolidation →
        // signature → return → returned.
        let path = [
            ("chuyen_tham_dinh", desk()),
            ("dat_quy_hoach", zoning()),
            ("dat_ket_cau", structure()),
            ("trinh_ky", structure()),
            ("ky", head_of_office()),
            ("tra", desk()),
        ];
        let mut open = 0;
        for steps in &walks {
            let mut d = h.engine.submit(house_permit(house())).unwrap().dossier;
            for (action, actor) in path.iter().take(*steps) {
                d = act(&h, &d, action, actor.clone()).unwrap();
            }
            // Overdue are the open dossiers whose result is not yet issued.
            if d.ending.is_none() && d.clock.resolved.is_none() {
                open += 1;
            }
        }
        let queries = [
            Query::Department { department: "phong_qlxd".into(), state: None },
            Query::Department { department: "bo_phan_mot_cua".into(), state: None },
            Query::Department { department: "phong_tnmt".into(), state: None },
            Query::State {
                procedure: "cap-phep-xay-dung-thu-nghiem".into(),
                state: "tong_hop".into(),
            },
            Query::Applicant { applicant: "079090001234".into() },
            Query::Overdue { now: at("2027-01-01T00:00:00+07:00") },
            Query::Received {
                agency: "000.17.22.H56".into(),
                from: "260601".into(),
                to: "260601".into(),
            },
        ];
        for q in &queries {
            let whole = h.engine.list(q, None, 1000).unwrap();
            proptest::prop_assert_eq!(&whole.next, &None);
            let whole: Vec<String> = whole.dossiers.into_iter().map(|d| d.code).collect();
            proptest::prop_assert_eq!(&pages_of(&h, q, per_page), &whole, "{:?}", q);
        }
        let count = |q: &Query| h.engine.list(q, None, 1000).unwrap().dossiers.len();
        proptest::prop_assert_eq!(count(&queries[4]), walks.len());
        proptest::prop_assert_eq!(count(&queries[6]), walks.len());
        proptest::prop_assert_eq!(count(&queries[5]), open);
    }
}

#[test]
fn lists_by_state_department_and_applicant_are_range_scans_kept_in_step() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let a = h.engine.submit(house_permit(house())).unwrap().dossier;
    let b = h.engine.submit(house_permit(house())).unwrap().dossier;
    act(&h, &b, "chuyen_tham_dinh", desk()).unwrap();
    let at_desk = h
        .engine
        .list(
            &Query::State {
                procedure: "cap-phep-xay-dung-thu-nghiem".into(),
                state: "tiep_nhan".into(),
            },
            None,
            10,
        )
        .unwrap()
        .dossiers;
    assert_eq!(
        at_desk.iter().map(|d| &d.code).collect::<Vec<_>>(),
        [&a.code]
    );
    let tnmt = h
        .engine
        .list(
            &Query::Department {
                department: "phong_tnmt".into(),
                state: None,
            },
            None,
            10,
        )
        .unwrap()
        .dossiers;
    assert_eq!(tnmt.iter().map(|d| &d.code).collect::<Vec<_>>(), [&b.code]);
    let mine = h
        .engine
        .list(
            &Query::Applicant {
                applicant: "079090001234".into(),
            },
            None,
            10,
        )
        .unwrap()
        .dossiers;
    assert_eq!(mine.len(), 2);
    let page1 = h
        .engine
        .list(
            &Query::Applicant {
                applicant: "079090001234".into(),
            },
            None,
            1,
        )
        .unwrap();
    assert_eq!(codes(&page1.dossiers), [&a.code]);
    let page2 = h
        .engine
        .list(
            &Query::Applicant {
                applicant: "079090001234".into(),
            },
            page1.next.as_deref(),
            1,
        )
        .unwrap();
    assert_eq!(codes(&page2.dossiers), [&b.code]);
    let bad = h.engine.list(
        &Query::Applicant {
            applicant: "079090001234".into(),
        },
        Some(&a.code),
        1,
    );
    assert_eq!(
        bad.unwrap_err().code(),
        "bad_cursor",
        "a code is not a cursor"
    );
    // A cursor of one listing is refused by another.
    let cursor = page1.next.clone();
    for other in [
        Query::Overdue {
            now: at("2027-01-01T00:00:00+07:00"),
        },
        Query::State {
            procedure: "cap-phep-xay-dung-thu-nghiem".into(),
            state: "tiep_nhan".into(),
        },
        Query::Department {
            department: "bo_phan_mot_cua".into(),
            state: None,
        },
    ] {
        let refused = h.engine.list(&other, cursor.as_deref(), 1);
        assert_eq!(refused.unwrap_err().code(), "bad_cursor", "{other:?}");
    }
    let received = h
        .engine
        .list(
            &Query::Received {
                agency: "000.17.22.H56".into(),
                from: "260601".into(),
                to: "260601".into(),
            },
            None,
            10,
        )
        .unwrap()
        .dossiers;
    assert_eq!(received.len(), 2);
}

#[test]
fn audit_and_outbox_pages_start_at_any_sequence_number_inside_a_commit_batch() {
    // Concurrent submissions share commit batches, so the log and the outbox hold chunks of
    // several entries; a page may start in the middle of one.
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..5 {
                    h.engine.submit(house_permit(house())).unwrap();
                }
            });
        }
    });
    let store = h.engine.store();
    let all = store.audit(0, 1000).unwrap();
    assert_eq!(all.len(), 40);
    assert_eq!(audit::verify(audit::GENESIS, &all), Ok(40));
    for from in 1..=40u64 {
        let page = store.audit(from, 3).unwrap();
        let seqs: Vec<u64> = page.iter().map(|e| e.seq).collect();
        let want: Vec<u64> = (from..(from + 3).min(41)).collect();
        assert_eq!(seqs, want, "audit page from {from}");
        assert_eq!(
            store.history(&page[0].dossier).unwrap(),
            vec![page[0].clone()]
        );
    }
    let events = store.outbox(0, 1000).unwrap();
    assert_eq!(events.len(), 40);
    for after in 0..40u64 {
        let page = store.outbox(after, 2).unwrap();
        let seqs: Vec<u64> = page.iter().map(|(s, _)| *s).collect();
        let want: Vec<u64> = ((after + 1)..(after + 3).min(41)).collect();
        assert_eq!(seqs, want, "outbox page after {after}");
        assert_eq!(page[0].1, events[after as usize].1);
    }
    assert!(store.audit(41, 10).unwrap().is_empty());
    assert!(store.outbox(40, 10).unwrap().is_empty());
}

/// Version 2 moves the desk step to a new reception department. A list by state finds the
/// dossiers of both versions, in code order, page by page, across the two departments'
/// prefixes; each department's own list has only its dossiers.
#[test]
fn a_state_owned_by_two_departments_across_versions_lists_both_in_code_order() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let a = h.engine.submit(house_permit(house())).unwrap().dossier;
    let v2 = house_permit_version_2(&[
        (
            "  - { id: bo_phan_mot_cua, name: Bộ phận một cửa }\n",
            "  - { id: bo_phan_mot_cua, name: Bộ phận một cửa }\n  - { id: trung_tam_hcc, name: Trung tâm hành chính công }\n",
        ),
        (
            "start: true, department: bo_phan_mot_cua",
            "start: true, department: trung_tam_hcc",
        ),
    ]);
    h.engine.load_procedure("v2", v2).unwrap();
    let b = h.engine.submit(house_permit(house())).unwrap().dossier;
    let c = h.engine.submit(house_permit(house())).unwrap().dossier;
    assert_eq!(b.tokens[0].department.as_deref(), Some("trung_tam_hcc"));
    let at_desk = Query::State {
        procedure: "cap-phep-xay-dung-thu-nghiem".into(),
        state: "tiep_nhan".into(),
    };
    let all = [a.code.clone(), b.code.clone(), c.code.clone()];
    assert_eq!(every_page(&h, &at_desk), all);
    assert_eq!(pages_of(&h, &at_desk, 2), all);
    let old_desk = Query::Department {
        department: "bo_phan_mot_cua".into(),
        state: None,
    };
    assert_eq!(every_page(&h, &old_desk), [a.code]);
    let new_desk = Query::Department {
        department: "trung_tam_hcc".into(),
        state: Some("tiep_nhan".into()),
    };
    assert_eq!(every_page(&h, &new_desk), [b.code.clone(), c.code.clone()]);
    // The state's departments are stored: after a restart the list still finds both.
    let h = h.reopen(false);
    assert_eq!(every_page(&h, &at_desk), all);
}
