//! The week of work the audit query tests read: five working days at two agencies, with the
//! officers, applicants and engine steps that make every filter select something.

use std::collections::VecDeque;
use std::sync::Arc;

use motcua::Engine;
use motcua::clock::ManualClock;
use motcua::dossier::transition::{ActionRequest, Submission};
use motcua::dossier::{Actor, Applicant, Channel};
use motcua::store::sled::{Options, SledStore};

use crate::support::desk::{appraiser, desk_officer, leader};
use crate::support::{at, fixture, officer};

/// A supplement request's reason, with what CSV must quote: commas, quotes, a line break.
pub const SUPPLEMENT: &str = "Thiếu bản vẽ, \"mặt bằng\" và\nmặt cắt tầng 2";
const REFUSAL: &str = "Không đủ điều kiện, thiếu \"giấy phép\"";
pub const APPLICANT: &str = "048090001234";

pub struct Office {
    pub _dir: tempfile::TempDir,
    pub engine: Engine,
}

fn desk2() -> Actor {
    officer("mc02", "mot_cua", "mot_cua")
}
fn appraiser2() -> Actor {
    officer("cv02", "chuyen_vien", "phong_kt")
}
/// The leader signs in the economic office and also sits at the desk.
fn leader_of_two() -> Actor {
    Actor {
        id: "ld01".into(),
        roles: vec!["lanh_dao".into()],
        departments: vec!["phong_kt".into(), "mot_cua".into()],
    }
}
fn police() -> Actor {
    officer("ca01", "cong_an", "cong_an_phuong")
}
fn applicant() -> Actor {
    Actor {
        id: APPLICANT.into(),
        roles: vec![],
        departments: vec![],
    }
}

fn appraisal(by: Actor) -> Submission {
    Submission {
        papers: vec![],
        procedure: "tham-dinh-co-han".into(),
        applicant: Applicant {
            id: APPLICANT.into(),
            name: "Trần Thị Bình".into(),
            phone: None,
            email: None,
            notify_by: vec![],
            disadvantaged_area: false,
        },
        channel: Channel::Online,
        data: serde_json::json!({"ten": "Trần Thị Bình"}),
        documents: vec!["don".into()],
        idempotency_key: None,
        received_by: by,
        meta: Default::default(),
        comment: None,
    }
}

fn residence() -> Submission {
    Submission {
        papers: vec![],
        procedure: "thuong-tru-tre-em-thu-nghiem".into(),
        applicant: Applicant {
            id: "079090005678".into(),
            name: "Lê Văn Cường".into(),
            phone: None,
            email: None,
            notify_by: vec![],
            disadvantaged_area: false,
        },
        channel: Channel::Desk,
        data: serde_json::json!({"ho_ten": "Lê Minh Khang"}),
        documents: vec![],
        idempotency_key: None,
        received_by: police(),
        meta: Default::default(),
        comment: None,
    }
}

type Step = (&'static str, fn() -> Actor, Option<&'static str>);

/// What happens to the n-th appraisal dossier, step by step.
fn plan(n: usize) -> Vec<Step> {
    let desk: fn() -> Actor = if n.is_multiple_of(2) {
        desk_officer
    } else {
        desk2
    };
    let cv: fn() -> Actor = if n.is_multiple_of(3) {
        appraiser
    } else {
        appraiser2
    };
    let ld: fn() -> Actor = if n.is_multiple_of(4) {
        leader
    } else {
        leader_of_two
    };
    match n % 5 {
        0 => vec![
            ("chuyen", desk, None),
            ("trinh", cv, None),
            ("ky", ld, None),
            ("tra", desk, None),
        ],
        1 => vec![
            ("chuyen", desk, None),
            ("yeu_cau_bo_sung", cv, Some(SUPPLEMENT)),
            ("nop_bo_sung", applicant, None),
            ("trinh", cv, None),
            ("ky", ld, None),
            ("tra", desk, None),
        ],
        2 => vec![("chuyen", desk, None), ("tu_choi", cv, Some(REFUSAL))],
        3 => vec![("chuyen", desk, None), ("trinh", cv, None)],
        _ => vec![],
    }
}

/// Five working days, Monday 1 to Friday 5 June 2026: each day 72 receipts six minutes apart
/// from 08:00, and after each receipt three steps on older dossiers; then, on Friday
/// evening, eight residence dossiers received on Tuesday are recorded late.
pub fn week() -> Office {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(ManualClock::new(at("2026-06-01T08:00:00+07:00")));
    // Queries read what the writer acknowledged; power-cut durability is not under test.
    let store = SledStore::open(
        dir.path(),
        Options {
            fsync: false,
            ..Options::default()
        },
    )
    .expect("store opens");
    let engine = Engine::new(
        Arc::new(store),
        Arc::new(crate::support::calendar::test_calendar()),
        clock.clone(),
    )
    .expect("engine opens");
    engine
        .load_procedures_dir(&fixture("deadline"))
        .expect("deadline fixture loads");
    let residence_file = fixture("engine/thuong-tru.yaml");
    let source = std::fs::read_to_string(&residence_file).expect("fixture reads");
    engine
        .load_procedure("thuong-tru.yaml", source)
        .expect("residence fixture loads");

    let mut pending: VecDeque<(String, VecDeque<Step>)> = VecDeque::new();
    let mut n = 0usize;
    for day in 1..=5 {
        for slot in 0..72 {
            let minutes = 8 * 60 + slot * 6;
            clock.set(at(&format!(
                "2026-06-{day:02}T{:02}:{:02}:00+07:00",
                minutes / 60,
                minutes % 60
            )));
            let sub = if n % 4 == 3 {
                residence()
            } else {
                appraisal(if n.is_multiple_of(2) {
                    desk_officer()
                } else {
                    desk2()
                })
            };
            let steps: VecDeque<Step> = if n % 4 == 3 {
                if n % 8 == 3 {
                    VecDeque::from([("duyet", police as fn() -> Actor, None)])
                } else {
                    VecDeque::new()
                }
            } else {
                plan(n).into()
            };
            let d = engine.submit(sub).expect("receipt").dossier;
            if !steps.is_empty() {
                pending.push_back((d.code, steps));
            }
            n += 1;
            for _ in 0..3 {
                let Some((code, mut steps)) = pending.pop_front() else {
                    break;
                };
                if let Some((action, who, comment)) = steps.pop_front() {
                    take(&engine, &code, action, who(), comment);
                }
                if !steps.is_empty() {
                    pending.push_back((code, steps));
                }
            }
        }
    }
    clock.set(at("2026-06-02T16:30:00+07:00"));
    for _ in 0..8 {
        engine.submit(residence()).expect("late receipt");
    }
    Office { _dir: dir, engine }
}

fn take(engine: &Engine, code: &str, action: &str, who: Actor, comment: Option<&str>) {
    let d = engine.dossier(code).expect("dossier");
    engine
        .act(ActionRequest {
            dossier: code.into(),
            action: action.into(),
            actor: who,
            input: serde_json::json!({}),
            comment: comment.map(String::from),
            seen_version: d.version,
            on_behalf: false,
        })
        .unwrap_or_else(|e| panic!("{code}: {action}: {e}"));
}
