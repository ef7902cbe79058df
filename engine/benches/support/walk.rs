//! The load the throughput benchmarks share: [`THREADS`] clients, each walking dossiers of the
//! engine fixture's house permit through their whole life (receipt, parallel appraisal by two
//! departments, consolidation, signature, return: 7 durable transitions per dossier).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use motcua::Engine;
use motcua::clock::ManualClock;
use motcua::dossier::transition::{ActionRequest, Submission};
use motcua::dossier::{Actor, Applicant, Channel};

pub const THREADS: usize = 64;

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/engine")
}

pub fn actor(id: &str, role: &str, department: &str) -> Actor {
    Actor {
        id: id.into(),
        roles: vec![role.into()],
        departments: vec![department.into()],
    }
}

pub fn officer() -> Actor {
    actor("mc01", "mot_cua", "bo_phan_mot_cua")
}

pub fn submission(n: u64) -> Submission {
    Submission {
        papers: vec![],
        procedure: "cap-phep-xay-dung-thu-nghiem".into(),
        applicant: Applicant {
            id: format!("0790900{n:05}"),
            name: "Nguyễn Văn An".into(),
            phone: None,
            email: None,
            notify_by: vec![],
            disadvantaged_area: false,
        },
        channel: Channel::Online,
        data: serde_json::json!({"chu_dau_tu": "Nguyễn Văn An", "dien_tich_san": 180.5, "so_tang": 3}),
        documents: vec!["don".into(), "ban_ve".into(), "gcn_qsdd".into()],
        idempotency_key: None,
        received_by: officer(),
        meta: Default::default(),
        comment: None,
    }
}

pub fn start_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        "2026-06-01T09:00:00+07:00".parse().unwrap(),
    ))
}

/// [`THREADS`] clients over `engines` (client t on engine t mod n) for `run`: the durable
/// transitions answered, and the time they took.
pub fn walk(engines: &[Arc<Engine>], clock: &Arc<ManualClock>, run: Duration) -> (u64, Duration) {
    let steps = [
        ("chuyen_tham_dinh", officer()),
        (
            "dat_quy_hoach",
            actor("tnmt01", "chuyen_vien", "phong_tnmt"),
        ),
        ("dat_ket_cau", actor("qlxd01", "chuyen_vien", "phong_qlxd")),
        ("trinh_ky", actor("qlxd01", "chuyen_vien", "phong_qlxd")),
        ("ky", actor("qlxd00", "lanh_dao", "phong_qlxd")),
        ("tra", officer()),
    ];
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..THREADS as u64)
        .map(|t| {
            let engine = engines[t as usize % engines.len()].clone();
            let (done, clock, steps) = (done.clone(), clock.clone(), steps.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while start.elapsed() < run {
                    let d = match engine.submit(submission(t * 1_000_000 + i)) {
                        Ok(r) => r.dossier,
                        // A day has 9999 numbers per agency; the load moves to the next day.
                        Err(e) if e.code() == "sequence_exhausted" => {
                            clock.advance(jiff::SignedDuration::from_hours(24));
                            continue;
                        }
                        Err(e) => panic!("{e}"),
                    };
                    let mut version = d.version;
                    for (action, actor) in &steps {
                        let d = engine
                            .act(ActionRequest {
                                dossier: d.code.clone(),
                                action: (*action).into(),
                                actor: actor.clone(),
                                input: serde_json::json!({}),
                                comment: None,
                                seen_version: version,
                                on_behalf: false,
                            })
                            .unwrap();
                        version = d.version;
                    }
                    done.fetch_add(1 + steps.len() as u64, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    (done.load(Ordering::Relaxed), start.elapsed())
}
