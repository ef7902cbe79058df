//! Staff search and the all-dossiers list on every store: a desk officer on the phone finds a
//! dossier by a name typed without accents, part of a code, an id or a phone number, wherever
//! the dossier is now; lists filter by procedure, department, status, channel and receipt
//! day, in due, receipt or code order, page after page with nothing skipped or repeated.

use crate::support;

conformance!();

use motcua::dossier::{Applicant, Channel, Dossier};
use motcua::store::{Query, Scope, Search, Sort};
use support::*;

use crate::engine::{desk, head_of_office, structure, zoning};

fn applicant(id: &str, name: &str, phone: Option<&str>) -> Applicant {
    Applicant {
        id: id.into(),
        name: name.into(),
        phone: phone.map(String::from),
        email: None,
        notify_by: vec![],
        disadvantaged_area: false,
    }
}

fn receive(h: &Harness, who: Applicant, channel: Channel) -> Dossier {
    let mut s = house_permit(house());
    s.applicant = who;
    s.channel = channel;
    h.engine.submit(s).unwrap().dossier
}

fn search(text: &str) -> Query {
    Query::Search(Box::new(Search {
        text: Some(text.into()),
        scope: Scope::All,
        ..Default::default()
    }))
}

/// Every page of `query`, `per_page` at a time.
fn pages(h: &Harness, query: &Query, per_page: usize) -> Vec<String> {
    let mut seen = vec![];
    let mut after: Option<String> = None;
    loop {
        let page = h.engine.list(query, after.as_deref(), per_page).unwrap();
        assert!(page.dossiers.len() <= per_page);
        seen.extend(page.dossiers.iter().map(|d| d.code.clone()));
        after = page.next;
        if after.is_none() {
            return seen;
        }
    }
}

fn found(h: &Harness, text: &str) -> Vec<String> {
    let mut codes = pages(h, &search(text), 50);
    codes.sort();
    codes
}

/// Three applicants received Monday morning, one forwarded to appraisal.
struct Morning {
    h: Harness,
    binh: Dossier,
    an: Dossier,
    thi_binh: Dossier,
}

fn morning() -> Morning {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let binh = receive(
        &h,
        applicant("048085001234", "Trần Văn Bình", Some("+84 905 123 456")),
        Channel::Desk,
    );
    h.now("2026-06-01T09:30:00+07:00");
    let an = receive(
        &h,
        applicant("079090001234", "Nguyễn Văn An", None),
        Channel::Online,
    );
    h.now("2026-06-01T10:00:00+07:00");
    let thi_binh = receive(
        &h,
        applicant("048190005678", "TRẦN THỊ BÌNH", Some("0912 000 111")),
        Channel::Post,
    );
    // Forwarded: it leaves the desk's department for two appraisal departments.
    let binh = act(&h, &binh, "chuyen_tham_dinh", desk()).unwrap();
    Morning {
        h,
        binh,
        an,
        thi_binh,
    }
}

#[test]
fn an_unaccented_partial_name_finds_the_dossier_wherever_it_is_now() {
    let Morning {
        h,
        binh,
        an,
        thi_binh,
    } = morning();
    let mut both = vec![binh.code.clone(), thi_binh.code.clone()];
    both.sort();
    assert_eq!(found(&h, "tran van binh"), vec![binh.code.clone()]);
    assert_eq!(found(&h, "Văn Bình"), vec![binh.code.clone()]);
    assert_eq!(found(&h, "binh"), both);
    assert_eq!(found(&h, "TRẦN"), both);
    // Words out of order or not next to each other still find the name.
    assert_eq!(found(&h, "binh tran van"), vec![binh.code.clone()]);
    assert_eq!(found(&h, "tran binh"), both);
    assert_eq!(found(&h, "nguyen an"), vec![an.code.clone()]);
    assert!(found(&h, "tran van an").is_empty());
    assert!(found(&h, "hoa").is_empty());
}

#[test]
fn an_id_a_phone_and_a_code_whole_or_in_part_find_the_dossier() {
    let Morning {
        h,
        binh,
        an,
        thi_binh,
    } = morning();
    assert_eq!(found(&h, "048085001234"), vec![binh.code.clone()]);
    assert_eq!(
        found(&h, "04808500"),
        vec![binh.code.clone()],
        "the id's beginning"
    );
    assert_eq!(found(&h, "0905 123 456"), vec![binh.code.clone()]);
    assert_eq!(found(&h, "+84 905 123 456"), vec![binh.code.clone()]);
    assert_eq!(found(&h, "0912.000.111"), vec![thi_binh.code.clone()]);
    assert_eq!(found(&h, &an.code), vec![an.code.clone()], "the whole code");
    assert_eq!(
        found(&h, &an.code.to_lowercase()),
        vec![an.code.clone()],
        "case ignored"
    );
    let tail: Vec<&str> = an.code.rsplitn(3, '-').collect();
    // `<yymmdd>-<NNNN>` and `<NNNN>` alone.
    assert_eq!(
        found(&h, &format!("{}-{}", tail[1], tail[0])),
        vec![an.code.clone()]
    );
    assert_eq!(found(&h, tail[0]), vec![an.code.clone()]);
    assert!(found(&h, "-- ;").is_empty(), "punctuation finds nothing");
}

#[test]
fn filters_narrow_the_list_and_each_order_holds_across_pages() {
    let Morning {
        h,
        binh,
        an,
        thi_binh,
    } = morning();
    let list = |f: &dyn Fn(&mut Search)| {
        let mut s = Search::default();
        f(&mut s);
        pages(&h, &Query::Search(Box::new(s)), 1)
    };
    // Open, by appointment: received 09:00, 09:30, 10:00 (same budget), earliest first.
    assert_eq!(
        list(&|_| {}),
        [binh.code.clone(), an.code.clone(), thi_binh.code.clone()]
    );
    // Latest receipt first.
    assert_eq!(
        list(&|s| s.sort = Sort::Received),
        [thi_binh.code.clone(), an.code.clone(), binh.code.clone()]
    );
    assert_eq!(
        list(&|s| s.channel = Some(Channel::Post)),
        vec![thi_binh.code.clone()]
    );
    assert_eq!(
        list(&|s| s.department = Some("phong_tnmt".into())),
        vec![binh.code.clone()]
    );
    assert_eq!(
        list(&|s| s.department = Some("bo_phan_mot_cua".into())),
        [an.code.clone(), thi_binh.code.clone()]
    );
    assert_eq!(
        list(&|s| s.status = Some(4)),
        vec![binh.code.clone()],
        "in progress"
    );
    assert_eq!(
        list(&|s| {
            s.received_from = Some(at("2026-06-01T09:15:00+07:00"));
            s.received_before = Some(at("2026-06-01T10:00:00+07:00"));
        }),
        vec![an.code.clone()]
    );
    assert_eq!(
        list(&|s| s.procedures = Some(vec!["khai-sinh".into()])),
        Vec::<String>::new(),
        "only procedures the caller may read"
    );
    // Returned: handled, and gone from the open list in the same commit.
    let d = act(&h, &binh, "dat_quy_hoach", zoning()).unwrap();
    let d = act(&h, &d, "dat_ket_cau", structure()).unwrap();
    let d = act(&h, &d, "trinh_ky", structure()).unwrap();
    let d = act(&h, &d, "ky", head_of_office()).unwrap();
    let d = act(&h, &d, "tra", desk()).unwrap();
    assert!(d.ending.is_some());
    assert_eq!(
        list(&|s| {
            s.scope = Scope::Closed;
            s.sort = Sort::Code;
        }),
        vec![binh.code.clone()]
    );
    assert_eq!(list(&|_| {}), [an.code.clone(), thi_binh.code.clone()]);
    assert!(
        list(&|s| s.department = Some("phong_tnmt".into())).is_empty(),
        "no longer in the zoning department's work"
    );
    // A text search covers handled dossiers too, in the order asked.
    let mut s = Search {
        text: Some("binh".into()),
        scope: Scope::All,
        sort: Sort::Received,
        ..Default::default()
    };
    assert_eq!(
        pages(&h, &Query::Search(Box::new(s.clone())), 1),
        [thi_binh.code.clone(), binh.code.clone()]
    );
    s.scope = Scope::Closed;
    assert_eq!(
        pages(&h, &Query::Search(Box::new(s)), 1),
        vec![binh.code.clone()]
    );
}

/// Regression: "Việc của tôi" was ordered overdue-first only within each page of 50; the
/// department's work now pages in due order (the `dd` index).
#[test]
fn a_departments_work_pages_in_due_order_not_code_order() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    // Received later but forwarded first: its appraisal step is due before the others'.
    let mut codes = vec![];
    for hour in ["09", "10", "11", "14"] {
        h.now(&format!("2026-06-01T{hour}:00:00+07:00"));
        codes.push(receive(&h, applicant("1", "A", None), Channel::Desk));
    }
    h.now("2026-06-01T15:00:00+07:00");
    let last = act(&h, &codes[3], "chuyen_tham_dinh", desk()).unwrap();
    h.now("2026-06-02T15:00:00+07:00");
    let first = act(&h, &codes[0], "chuyen_tham_dinh", desk()).unwrap();
    let work = Query::Search(Box::new(Search {
        department: Some("phong_qlxd".into()),
        ..Default::default()
    }));
    assert_eq!(pages(&h, &work, 1), [last.code.clone(), first.code.clone()]);
    // The desk's work: the two still there, by appointment.
    let desk_work = Query::Search(Box::new(Search {
        department: Some("bo_phan_mot_cua".into()),
        ..Default::default()
    }));
    assert_eq!(
        pages(&h, &desk_work, 1),
        [codes[1].code.clone(), codes[2].code.clone()]
    );
}

#[test]
fn more_matches_than_are_sorted_at_once_say_so() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    for i in 0..(motcua::store::SEARCH_MATCHES + 5) {
        receive(
            &h,
            applicant(&format!("{i:012}"), "Lê Văn Tám", None),
            Channel::Desk,
        );
    }
    let page = h.engine.list(&search("le van tam"), None, 50).unwrap();
    assert!(page.truncated);
    assert_eq!(page.dossiers.len(), 50);
    let page = h.engine.list(&search("000000001004"), None, 50).unwrap();
    assert!(!page.truncated);
    assert_eq!(page.dossiers.len(), 1);
}

/// A PostgreSQL store written before the search index (no `sx`, `du`, `dd`, `rt`, `as` keys and
/// no index mark) is refused at open naming `motcua migrate`, which rebuilds the keys; then
/// the search finds what was there.
#[cfg(feature = "postgres")]
#[test]
fn a_postgresql_store_from_before_the_search_index_is_rebuilt_by_migrate() {
    use std::sync::Arc;
    if support::on_postgres() {
        return; // one database of its own, once
    }
    let cluster = support::pg::cluster();
    let url = cluster.fresh_database();
    let db = url.rsplit('/').next().unwrap().to_string();
    let clock = Arc::new(motcua::clock::ManualClock::new(at(
        "2026-06-01T09:00:00+07:00",
    )));
    let open = || motcua::store::pg::PgStore::open(&url, Default::default());
    {
        let engine = motcua::Engine::new(
            Arc::new(open().unwrap()),
            Arc::new(support::calendar::test_calendar()),
            clock.clone(),
        )
        .unwrap();
        engine.load_procedures_dir(&fixture("engine")).unwrap();
        let mut s = house_permit(house());
        s.applicant = applicant("048085001234", "Trần Văn Bình", None);
        engine.submit(s).unwrap();
    }
    // As an older motcua left it: the new index keys and the mark are not there.
    cluster
        .psql(
            &db,
            "DELETE FROM motcua_kv WHERE k = '\\x6d696e646578'::bytea \
             OR substring(k from 1 for 4) IN ('\\x69737800'::bytea, '\\x69647500'::bytea, \
             '\\x69646400'::bytea, '\\x69727400'::bytea, '\\x69617300'::bytea)",
        )
        .unwrap();
    match open() {
        Err(motcua::store::Error::Unusable { problem, .. }) => {
            assert!(problem.contains("motcua migrate"), "{problem}")
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("an old index was served"),
    }
    let migrated = motcua::store::pg::migrate_url(&url).unwrap();
    assert_eq!(migrated.reindexed, Some(1));
    assert_eq!(
        motcua::store::pg::migrate_url(&url).unwrap().reindexed,
        None
    );
    let engine = motcua::Engine::new(
        Arc::new(open().unwrap()),
        Arc::new(support::calendar::test_calendar()),
        clock,
    )
    .unwrap();
    let found = engine.list(&search("van binh"), None, 10).unwrap();
    assert_eq!(found.dossiers.len(), 1);
}
