//! Reading the audit log as an inspector does, on a real sled store: a week of work at two
//! agencies (a few hundred dossiers of the deadline fixture and the child-residence procedure,
//! desk officers, appraisers, a leader sitting in two departments, the police, applicants and
//! the engine's own pauses, with a few receipts recorded late, after later days' work). Every
//! query, alone and combined, returns exactly what a brute-force filter over the whole log
//! returns, page after page; exports re-hash into the chain and parse back; the
//! process-control slip names every handover of a dossier with budgets.

use crate::support;

conformance!();

mod week;

use jiff::Timestamp;
use motcua::audit::export::{self, Format};
use motcua::audit::query::{self, Filter, Source};
use motcua::audit::{Entry, GENESIS, slip};
use motcua::deadline::Class;
use motcua::sheet::Names;
use motcua::store::{AuditKey, Reader};
use sha2::{Digest, Sha256};
use support::at;
use support::desk::{Desk, appraiser, desk_officer, leader};
use week::{APPLICANT, SUPPLEMENT, week};

/// The whole log, read the plain way.
fn everything(r: &dyn Reader) -> Vec<Entry> {
    r.audit(1, usize::MAX).expect("the log reads")
}

/// The filter applied by hand to every entry: what a query must return.
fn by_hand(log: &[Entry], f: &Filter) -> Vec<Entry> {
    log.iter()
        .filter(|e| {
            f.dossier.as_ref().is_none_or(|d| &e.dossier == d)
                && f.actor.as_ref().is_none_or(|a| &e.actor == a)
                && f.department
                    .as_ref()
                    .is_none_or(|d| e.departments.contains(d))
                && f.procedure.as_ref().is_none_or(|p| &e.procedure == p)
                && f.action.as_ref().is_none_or(|a| &e.action == a)
                && f.from.is_none_or(|t| e.at >= t)
                && f.to.is_none_or(|t| e.at < t)
        })
        .cloned()
        .collect()
}

/// Every page of a query, concatenated, checking that pages never repeat an entry.
fn all_pages(r: &dyn Reader, f: &Filter, limit: usize, work: usize) -> Vec<Entry> {
    let mut out: Vec<Entry> = vec![];
    let mut after: Option<String> = None;
    for _ in 0..100_000 {
        let page = query::list_within(r, f, after.as_deref(), limit, work).expect("page");
        assert!(page.entries.len() <= limit, "{f:?}: a page over its limit");
        for e in page.entries {
            if let Some(last) = out.last() {
                assert!(
                    e.seq > last.seq,
                    "{f:?}: entry {} came twice or late",
                    e.seq
                );
            }
            out.push(e);
        }
        match page.next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
    panic!("{f:?}: paging never ended");
}

fn t(s: &str) -> Option<Timestamp> {
    Some(at(s))
}

fn filters(log: &[Entry]) -> Vec<Filter> {
    let s = |v: &str| Some(v.to_string());
    let supplemented = log
        .iter()
        .find(|e| e.action == "yeu_cau_bo_sung")
        .map(|e| e.dossier.clone());
    let received_late = log.last().map(|e| e.dossier.clone());
    let mut fs = vec![Filter::default()];
    for a in [
        "mc01", "mc02", "cv01", "ld01", "ca01", "system", APPLICANT, "nobody",
    ] {
        fs.push(Filter {
            actor: s(a),
            ..Filter::default()
        });
    }
    for d in ["mot_cua", "phong_kt", "cong_an_phuong", "phong_khac"] {
        fs.push(Filter {
            department: s(d),
            ..Filter::default()
        });
    }
    for p in ["tham-dinh-co-han", "thuong-tru-tre-em-thu-nghiem"] {
        fs.push(Filter {
            procedure: s(p),
            ..Filter::default()
        });
    }
    for a in ["submit", "trinh", "system:pause", "nop_bo_sung", "tu_choi"] {
        fs.push(Filter {
            action: s(a),
            ..Filter::default()
        });
    }
    for d in [
        supplemented.clone(),
        received_late.clone(),
        s("X-000000-0000"),
    ] {
        fs.push(Filter {
            dossier: d,
            ..Filter::default()
        });
    }
    let tuesday = (
        t("2026-06-02T00:00:00+07:00"),
        t("2026-06-03T00:00:00+07:00"),
    );
    fs.extend([
        Filter {
            from: t("2026-06-03T12:00:00+07:00"),
            ..Filter::default()
        },
        Filter {
            to: t("2026-06-02T10:00:00+07:00"),
            ..Filter::default()
        },
        // Tuesday whole, including the receipts recorded on Friday evening.
        Filter {
            from: tuesday.0,
            to: tuesday.1,
            ..Filter::default()
        },
        Filter {
            from: t("2026-06-01T10:30:00+07:00"),
            to: t("2026-06-04T09:15:00+07:00"),
            ..Filter::default()
        },
        // Too many days to look up one by one: the range only filters.
        Filter {
            from: t("2020-01-01T00:00:00+07:00"),
            to: t("2030-01-01T00:00:00+07:00"),
            ..Filter::default()
        },
        Filter {
            from: t("2026-06-02T09:00:00+07:00"),
            to: t("2026-06-02T09:00:00+07:00"),
            ..Filter::default()
        },
        Filter {
            actor: s("cv01"),
            action: s("trinh"),
            ..Filter::default()
        },
        Filter {
            department: s("mot_cua"),
            from: t("2026-06-02T14:00:00+07:00"),
            to: t("2026-06-04T11:00:00+07:00"),
            ..Filter::default()
        },
        Filter {
            procedure: s("tham-dinh-co-han"),
            department: s("phong_kt"),
            action: s("yeu_cau_bo_sung"),
            ..Filter::default()
        },
        Filter {
            dossier: supplemented,
            action: s("system:resume"),
            ..Filter::default()
        },
        Filter {
            actor: s("ld01"),
            department: s("mot_cua"),
            from: tuesday.0,
            to: t("2026-06-05T00:00:00+07:00"),
            ..Filter::default()
        },
        Filter {
            procedure: s("thuong-tru-tre-em-thu-nghiem"),
            from: tuesday.0,
            to: tuesday.1,
            ..Filter::default()
        },
        Filter {
            action: s("ky"),
            from: t("2026-06-03T00:00:00+07:00"),
            to: t("2026-06-06T00:00:00+07:00"),
            ..Filter::default()
        },
        Filter {
            dossier: received_late,
            actor: s("mc01"),
            ..Filter::default()
        },
    ]);
    fs
}

#[test]
fn every_query_alone_and_combined_returns_exactly_what_filtering_the_whole_log_by_hand_does() {
    let office = week();
    let r = office.engine.store();
    let log = everything(r);
    assert!(log.len() > 1000, "a week of work: {} entries", log.len());
    assert!(
        log.windows(2).any(|w| w[1].at < w[0].at),
        "receipts recorded late put Tuesday's entries after Friday's"
    );
    for f in filters(&log) {
        let want = by_hand(&log, &f);
        let seqs = |es: &[Entry]| es.iter().map(|e| e.seq).collect::<Vec<_>>();
        for (limit, work) in [(1000, query::PAGE_WORK), (7, query::PAGE_WORK), (50, 5)] {
            let got = all_pages(r, &f, limit, work);
            assert_eq!(
                seqs(&got),
                seqs(&want),
                "{f:?} in pages of {limit}, {work} candidates each"
            );
            assert_eq!(got, want, "{f:?}: the entries themselves");
        }
    }
    // The plan changes the cost, never the answer: the narrowest postings, else the log.
    let plan = |f: Filter| query::source(r, &f, None).expect("plan");
    let day = |d: &str| AuditKey::Day(d.parse().expect("date"));
    assert_eq!(
        plan(Filter {
            actor: Some("ca01".into()),
            from: t("2026-06-01T00:00:00+07:00"),
            to: t("2026-06-05T00:00:00+07:00"),
            ..Filter::default()
        }),
        Source::Postings(vec![AuditKey::Actor("ca01".into())]),
        "the police officer's entries are fewer than four days'"
    );
    assert_eq!(
        plan(Filter {
            action: Some("trinh".into()),
            from: t("2026-06-02T00:00:00+07:00"),
            to: t("2026-06-04T00:00:00+07:00"),
            ..Filter::default()
        }),
        Source::Postings(vec![day("2026-06-02"), day("2026-06-03")])
    );
    assert_eq!(
        plan(Filter {
            action: Some("trinh".into()),
            ..Filter::default()
        }),
        Source::Log,
        "actions are not indexed"
    );
    assert_eq!(
        plan(Filter {
            from: t("2020-01-01T00:00:00+07:00"),
            to: t("2030-01-01T00:00:00+07:00"),
            ..Filter::default()
        }),
        Source::Log,
        "ten years are not looked up day by day"
    );
    // The busiest actor's first page is full and says where to go on.
    let desk = Filter {
        actor: Some("mc01".into()),
        ..Filter::default()
    };
    let page = query::list(r, &desk, None, 20).expect("page");
    assert_eq!(page.entries.len(), 20);
    assert_eq!(page.next, Some(page.entries[19].seq.to_string()));
    let capped = query::list(r, &Filter::default(), None, 1_000_000).expect("page");
    assert_eq!(capped.entries.len(), query::MAX_PAGE);
}

#[test]
fn a_cursor_the_log_never_returned_is_refused() {
    let office = week();
    let r = office.engine.store();
    let (count, _) = r.audit_head().expect("head");
    let past_the_end = (count + 1).to_string();
    for bad in ["", "abc", "0", "007", "-3", "12a", past_the_end.as_str()] {
        match query::list(r, &Filter::default(), Some(bad), 10) {
            Err(motcua::store::Error::BadCursor(c)) => assert_eq!(c, bad),
            other => panic!("cursor {bad:?}: {other:?}"),
        }
    }
    let e = query::list(r, &Filter::default(), Some("abc"), 10)
        .map_err(motcua::Error::from)
        .expect_err("refused");
    assert_eq!(e.code(), "bad_cursor");
    // The last entry's number is a cursor: nothing comes after it.
    let last = query::list(r, &Filter::default(), Some(&count.to_string()), 10).expect("page");
    assert_eq!((last.entries.len(), last.next), (0, None));
}

#[test]
fn a_whole_jsonl_export_re_hashes_into_the_chain_and_a_filtered_one_keeps_the_stored_lines() {
    let office = week();
    let r = office.engine.store();
    let log = everything(r);
    let mut out = Vec::new();
    let n = export::export(
        r,
        &Filter::default(),
        Format::Jsonl,
        &Names::default(),
        &mut out,
    )
    .expect("export");
    let lines: Vec<&[u8]> = out
        .strip_suffix(b"\n")
        .unwrap_or(&out)
        .split(|b| *b == b'\n')
        .collect();
    assert_eq!((n, lines.len()), (log.len() as u64, log.len()));
    // What an inspector does with nothing but sha256: each line's hash is the next one's prev.
    let mut prev = GENESIS.to_string();
    for line in &lines {
        let v: serde_json::Value = serde_json::from_slice(line).expect("a line is JSON");
        assert_eq!(v["prev"], prev.as_str(), "entry {}", v["seq"]);
        prev = hex::encode(Sha256::digest(line));
    }
    let (count, head) = r.audit_head().expect("head");
    assert_eq!((count, prev), (log.len() as u64, head));

    let cases = [
        Filter {
            actor: Some("cv02".into()),
            department: Some("phong_kt".into()),
            ..Filter::default()
        },
        Filter {
            action: Some("nop_bo_sung".into()),
            ..Filter::default()
        },
        Filter {
            dossier: Some(log[0].dossier.clone()),
            ..Filter::default()
        },
    ];
    for f in cases {
        let mut out = Vec::new();
        let n = export::export(r, &f, Format::Jsonl, &Names::default(), &mut out).expect("export");
        let got: Vec<Entry> = out
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| Entry::from_line(l).expect("a stored line"))
            .collect();
        let want = by_hand(&log, &f);
        assert_eq!(n, want.len() as u64, "{f:?}");
        // Equal entries with equal hashes: the bytes are the stored ones.
        assert_eq!(got, want, "{f:?}");
    }
}

/// RFC 4180 records, parsed the long way round.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = vec![];
    let mut row = vec![];
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "records end in CRLF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "the last record ends in CRLF"
    );
    rows
}

/// The export for Excel: what the catalogue names, Vietnamese headers and local times.
fn csv_export(r: &dyn Reader, filter: &Filter, names: &Names) -> (u64, Vec<Vec<String>>) {
    let mut out = Vec::new();
    let n = export::export(r, filter, Format::Csv, names, &mut out).expect("export");
    let text = out
        .strip_prefix(motcua::sheet::csv::BOM)
        .expect("the byte-order mark comes first, so Excel reads UTF-8");
    (n, parse_csv(std::str::from_utf8(text).expect("UTF-8")))
}

#[test]
fn a_csv_export_parses_back_with_reasons_holding_commas_quotes_and_line_breaks() {
    let office = week();
    let r = office.engine.store();
    let log = everything(r);
    let catalogue = office.engine.procedures();
    let names = Names::of(catalogue.iter().map(|c| &c.procedure));
    let (n, rows) = csv_export(r, &Filter::default(), &names);
    assert_eq!(rows[0], motcua::messages::columns::AUDIT);
    assert_eq!(rows[0][1], "Thời điểm", "Vietnamese reads back intact");
    assert_eq!((n, rows.len() - 1), (log.len() as u64, log.len()));
    for (row, e) in rows[1..].iter().zip(&log) {
        let list = |v: &[String], name: &dyn Fn(&str) -> String| {
            v.iter().map(|x| name(x)).collect::<Vec<_>>().join("; ")
        };
        let state = |s: &str| names.state(&e.procedure, s);
        let want = [
            e.seq.to_string(),
            motcua::messages::format::when(e.at),
            e.dossier.clone(),
            names.procedure(&e.procedure),
            names.action(&e.procedure, &e.action),
            names.person(&e.actor),
            list(&e.roles, &|x| names.role(x)),
            list(&e.departments, &|x| names.department(x)),
            list(&e.from, &state),
            list(&e.to, &state),
            // A person's reason as written; the engine's own steps in the catalogue's words.
            motcua::messages::events::comment_of(
                &e.action,
                &e.actor,
                e.comment.as_deref(),
                &e.input,
                &motcua::messages::errors::InProcedure {
                    names: &names,
                    procedure: &e.procedure,
                },
                &|id| names.person(id),
            )
            .unwrap_or_default(),
            e.version.to_string(),
            e.hash.clone(),
        ];
        assert_eq!(row[..], want[..], "entry {}", e.seq);
        assert!(
            !row[10].starts_with("clock ") && !row[10].contains("system:"),
            "entry {}: {}",
            e.seq,
            row[10]
        );
        // Labels, not ids: every procedure of the week is named, every step labelled.
        assert_ne!(row[3], e.procedure, "entry {}", e.seq);
        assert!(
            e.to.is_empty() || !e.to.contains(&row[9]),
            "entry {}",
            e.seq
        );
        // The local minute, read back at UTC+7, is the instant's minute.
        let local = jiff::fmt::strtime::parse("%d/%m/%Y %H:%M %z", format!("{} +0700", row[1]))
            .and_then(|t| t.to_timestamp())
            .expect("dd/mm/yyyy HH:MM");
        let behind = e.at.as_millisecond() - local.as_millisecond();
        assert!((0..60_000).contains(&behind), "entry {}: {}", e.seq, row[1]);
    }

    let asked = Filter {
        action: Some("yeu_cau_bo_sung".into()),
        ..Filter::default()
    };
    let (_, rows) = csv_export(r, &asked, &names);
    assert_eq!(rows.len() - 1, by_hand(&log, &asked).len());
    assert!(rows.len() > 10);
    assert!(rows[1..].iter().all(|row| row[10] == SUPPLEMENT));
}

/// The slip's rows as (giver, receiving states, minute, ended steps' budgets and classes).
type Row = (
    String,
    Vec<String>,
    String,
    Vec<(Option<String>, Option<Class>)>,
);

fn rows(s: &slip::Slip) -> Vec<Row> {
    s.handovers
        .iter()
        .map(|h| {
            (
                h.giver.actor.clone(),
                h.receivers.iter().map(|r| r.state.clone()).collect(),
                h.time.clone(),
                h.ended
                    .iter()
                    .map(|e| (e.budget.clone(), e.class))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn the_process_control_slip_names_every_handover_with_giver_receiver_minute_and_class() {
    // Received Monday 1 June 2026 at 08:30; moved on at 10:00 within the desk's half day.
    let desk = Desk::new("2026-06-01T08:30:00+07:00");
    let d = desk.receive();
    desk.now("2026-06-01T10:00:00+07:00");
    let d = desk.take(&d, "chuyen", desk_officer()).expect("moved on");
    // The appraisal (2 working days, due Wednesday 10:00) asks for a supplement on Tuesday.
    desk.now("2026-06-02T09:00:00+07:00");
    let d = desk.ask_supplement(&d);
    desk.now("2026-06-03T14:00:00+07:00");
    let d = desk
        .take(&d, "nop_bo_sung", support::applicant_of(&d))
        .expect("supplemented");
    // Back in appraisal from Wednesday 14:00, due Friday 14:00: submitted the Monday after.
    desk.now("2026-06-08T09:00:00+07:00");
    let d = desk.take(&d, "trinh", appraiser()).expect("to sign-off");
    desk.now("2026-06-08T15:00:00+07:00");
    // Signed the same afternoon, a working day before the sign-off's due day.
    let d = desk.take(&d, "ky", leader()).expect("signed");
    desk.now("2026-06-08T16:00:00+07:00");
    let d = desk.take(&d, "tra", desk_officer()).expect("returned");

    let s = slip::for_dossier(desk.engine.store(), &d.code).expect("slip");
    let half = Some("0.5 working days".to_string());
    let one = Some("1 working day".to_string());
    let two = Some("2 working days".to_string());
    let row = |giver: &str, to: &str, minute: &str, ended: Vec<(Option<String>, Option<Class>)>| {
        (
            giver.to_string(),
            vec![to.to_string()],
            minute.to_string(),
            ended,
        )
    };
    assert_eq!(
        rows(&s),
        vec![
            row("mc01", "tiep_nhan", "01/06/2026 08:30", vec![]),
            row(
                "mc01",
                "xu_ly",
                "01/06/2026 10:00",
                vec![(half.clone(), Some(Class::OnTime))]
            ),
            row(
                "cv01",
                "cho_bo_sung",
                "02/06/2026 09:00",
                vec![(two.clone(), Some(Class::Early))]
            ),
            row(APPLICANT, "xu_ly", "03/06/2026 14:00", vec![(None, None)]),
            row(
                "cv01",
                "ky",
                "08/06/2026 09:00",
                vec![(two, Some(Class::Late))]
            ),
            row(
                "ld01",
                "tra_ket_qua",
                "08/06/2026 15:00",
                vec![(one, Some(Class::Early))]
            ),
            row(
                "mc01",
                "da_tra",
                "08/06/2026 16:00",
                vec![(half, Some(Class::Early))]
            ),
        ],
        "the pause and resume are not handovers"
    );
    let appraisal = &s.handovers[1].receivers[0];
    assert_eq!(appraisal.department.as_deref(), Some("phong_kt"));
    assert_eq!(appraisal.roles, ["chuyen_vien", "lanh_dao"]);
    assert!(
        s.handovers[2].receivers[0].applicant,
        "the applicant holds it"
    );
    assert_eq!(s.handovers[1].giver.departments, ["mot_cua"]);
    let resolved = s
        .resolution
        .as_ref()
        .expect("resolved on entering tra_ket_qua");
    assert_eq!(resolved.state, "tra_ket_qua");
    assert_eq!(resolved.time, "08/06/2026 15:00");

    let table = s.table();
    for heading in ["Bên giao", "Bên nhận", "Thời gian", "Thời hạn", "Kết quả"] {
        assert!(table.contains(heading), "{table}");
    }
    for class in ["Sớm hạn", "Đúng hạn", "Trễ hạn"] {
        assert!(table.contains(class), "{table}");
    }
    assert!(
        table.contains("Phòng Kinh tế (Chuyên viên, Lãnh đạo phòng)"),
        "{table}"
    );
    let json = serde_json::to_value(&s).expect("JSON");
    assert_eq!(json["handovers"][4]["ended"][0]["class"], "late");
    assert_eq!(json["dossier"], d.code.as_str());
}

#[test]
fn a_slip_of_an_unknown_dossier_is_refused() {
    let desk = Desk::new("2026-06-01T08:30:00+07:00");
    assert!(matches!(
        slip::for_dossier(desk.engine.store(), "000.17.22.H56-260601-9999"),
        Err(slip::Error::NotFound(_))
    ));
}
