//! Shared helpers for the integration tests: temp stores, actors, instants.
#![allow(dead_code)]

pub mod calendar;
pub mod desk;
pub mod pg;

use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use motcua::Engine;
use motcua::clock::ManualClock;
use motcua::dossier::transition::Submission;
use motcua::dossier::{Actor, Applicant, Channel, Dossier};
use motcua::store::sled::{Options, SledStore};

pub fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

pub fn at(rfc3339: &str) -> Timestamp {
    rfc3339.parse().expect("test instant")
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub engine: Engine,
}

impl Harness {
    /// An engine on a fresh sled store, with the engine fixtures loaded and the clock at `now`.
    pub fn new(now: &str) -> Harness {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = Arc::new(ManualClock::new(at(now)));
        let engine = open(dir.path(), clock.clone());
        engine
            .load_procedures_dir(&fixture("engine"))
            .expect("fixtures load");
        Harness { dir, clock, engine }
    }

    /// Drops the engine and opens the same folder again, as after a restart.
    pub fn reopen(self, load_fixtures: bool) -> Harness {
        let Harness { dir, clock, engine } = self;
        drop(engine);
        let engine = open(dir.path(), clock.clone());
        if load_fixtures {
            engine
                .load_procedures_dir(&fixture("engine"))
                .expect("fixtures load");
        }
        Harness { dir, clock, engine }
    }

    pub fn now(&self, rfc3339: &str) {
        self.clock.set(at(rfc3339));
    }
}

/// Which store the suites run on: `MOTCUA_TEST_STORE=postgres` (a database of the test
/// cluster per store folder) or sled, the default. [`conformance!`] re-runs a whole test
/// binary on PostgreSQL, so `cargo test` covers both.
pub fn on_postgres() -> bool {
    std::env::var(STORE_ENV).is_ok_and(|v| v == "postgres")
}

pub const STORE_ENV: &str = "MOTCUA_TEST_STORE";

/// The store a folder stands for: sled in it, or its database on the test cluster.
pub fn open_store(path: &Path) -> Arc<dyn motcua::store::Store> {
    #[cfg(feature = "postgres")]
    if on_postgres() {
        let url = pg::cluster().database_for(path);
        return Arc::new(
            motcua::store::pg::PgStore::open(&url, Default::default()).expect("store opens"),
        );
    }
    // A handle dropped just before (a test reopening its store) may still hold sled's file
    // lock for a moment.
    Arc::new(
        waiting_for_sled_lock(|| SledStore::open(path, Options::default())).expect("store opens"),
    )
}

pub fn open(path: &Path, clock: Arc<ManualClock>) -> Engine {
    Engine::new(open_store(path), Arc::new(calendar::test_calendar()), clock).expect("engine opens")
}

/// Runs every other test of this binary again on PostgreSQL, in a child process of the same
/// binary (the tests that open a sled store by name stay on sled there).
#[macro_export]
macro_rules! conformance {
    () => {
        #[test]
        #[cfg(feature = "postgres")]
        fn the_same_tests_pass_on_postgresql() {
            if $crate::support::on_postgres() {
                return;
            }
            // This module's tests only: the binary holds every suite, each re-run by its own.
            let module = module_path!()
                .split_once("::")
                .map(|(_, m)| format!("{m}::"))
                .unwrap();
            let cluster = $crate::support::pg::cluster();
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    module.as_str(),
                    "--skip",
                    "the_same_tests_pass_on_postgresql",
                    "--test-threads",
                    "2",
                ])
                .env($crate::support::STORE_ENV, "postgres")
                .envs(cluster.child_env())
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let summary = stdout
                .lines()
                .filter(|l| l.starts_with("test result:"))
                .collect::<Vec<_>>()
                .join("; ");
            eprintln!("on PostgreSQL: {summary}");
            assert!(
                out.status.success(),
                "the suite failed on PostgreSQL:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(summary.contains(" passed"), "nothing ran: {stdout}");
        }
    };
}

pub fn officer(id: &str, role: &str, department: &str) -> Actor {
    Actor {
        id: id.into(),
        roles: vec![role.into()],
        departments: vec![department.into()],
    }
}

pub fn citizen() -> Actor {
    Actor {
        id: "079090001234".into(),
        roles: vec!["cong_dan".into()],
        departments: vec![],
    }
}

pub fn house_permit(data: serde_json::Value) -> Submission {
    Submission {
        papers: vec![],
        procedure: "cap-phep-xay-dung-thu-nghiem".into(),
        applicant: Applicant {
            id: "079090001234".into(),
            name: "Nguyễn Văn An".into(),
            phone: None,
            email: None,
            notify_by: vec![],
            disadvantaged_area: false,
        },
        channel: Channel::Desk,
        data,
        documents: vec!["don".into(), "ban_ve".into(), "gcn_qsdd".into()],
        idempotency_key: None,
        received_by: officer("mc01", "mot_cua", "bo_phan_mot_cua"),
        meta: Default::default(),
        comment: None,
    }
}

pub fn house() -> serde_json::Value {
    serde_json::json!({"chu_dau_tu": "Nguyễn Văn An", "dien_tich_san": 180.5, "so_tang": 3})
}

/// Takes `action` on `d` as `actor`, with no input and no comment.
pub fn act(h: &Harness, d: &Dossier, action: &str, actor: Actor) -> motcua::Result<Dossier> {
    act_with(h, d, action, actor, serde_json::json!({}), None)
}

/// Takes `action` on `d` as `actor`, seen at the dossier's version.
pub fn act_with(
    h: &Harness,
    d: &Dossier,
    action: &str,
    actor: Actor,
    input: serde_json::Value,
    comment: Option<&str>,
) -> motcua::Result<Dossier> {
    h.engine.act(motcua::dossier::transition::ActionRequest {
        input,
        comment: comment.map(String::from),
        ..request(d, action, actor)
    })
}

/// `action` on `d` as `actor`, seen at the dossier's version, with no input or comment.
pub fn request(
    d: &Dossier,
    action: &str,
    actor: Actor,
) -> motcua::dossier::transition::ActionRequest {
    motcua::dossier::transition::ActionRequest {
        dossier: d.code.clone(),
        action: action.into(),
        actor,
        input: serde_json::json!({}),
        comment: None,
        seen_version: d.version,
        on_behalf: false,
    }
}

/// The desk's officer forwarding `d` to appraisal (the house-permit fixture's first move).
pub fn forwarded(d: &Dossier) -> motcua::dossier::transition::ActionRequest {
    request(
        d,
        "chuyen_tham_dinh",
        officer("mc01", "mot_cua", "bo_phan_mot_cua"),
    )
}

/// The dossier's own applicant, as a portal acts for them.
pub fn applicant_of(d: &Dossier) -> Actor {
    Actor {
        id: d.applicant.id.clone(),
        roles: vec![],
        departments: vec![],
    }
}

/// The active states, sorted.
pub fn states(d: &Dossier) -> Vec<&str> {
    let mut s: Vec<&str> = d.active_states().collect();
    s.sort();
    s
}

/// Opens what `open` opens, waiting out sled's file lock: a store or raw handle dropped a
/// moment ago lets go of it only when its last thread ends, and with every suite in one test
/// binary on a loaded machine that moment is seen.
pub fn waiting_for_sled_lock<T, E: std::fmt::Display>(
    mut open: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let mut tries = 0;
    loop {
        match open() {
            Err(e) if tries < 250 && e.to_string().contains("could not acquire lock") => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}
