//! The deadline tests' desk: an engine on a fresh sled store with the deadline fixture
//! (`tests/fixtures/deadline/`), a clock moved by hand, and the officers of that procedure.
#![allow(dead_code)]

use std::sync::Arc;

use motcua::Engine;
use motcua::clock::ManualClock;
use motcua::dossier::transition::{Firing, Submission};
use motcua::dossier::{Actor, Applicant, Channel, Dossier};

use super::{at, fixture, officer, open};

pub struct Desk {
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub engine: Engine,
}

impl Desk {
    pub fn new(now: &str) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(at(now)));
        let engine = open(dir.path(), clock.clone());
        engine.load_procedures_dir(&fixture("deadline")).unwrap();
        Desk { dir, clock, engine }
    }
    /// Receives `n` dossiers at the instants `when(i)` gives, hands each to the appraiser and
    /// walks every second one (the 1st, 3rd, …) to its result; then closes the store.
    pub fn walked(self, n: usize, when: impl Fn(usize) -> String) -> tempfile::TempDir {
        for i in 0..n {
            self.now(&when(i));
            let d = self.receive();
            let d = self.take(&d, "chuyen", desk_officer()).unwrap();
            if i % 2 == 0 {
                let d = self.take(&d, "trinh", appraiser()).unwrap();
                let d = self.take(&d, "ky", leader()).unwrap();
                self.take(&d, "tra", desk_officer()).unwrap();
            }
        }
        let Desk { dir, engine, .. } = self;
        drop(engine);
        dir
    }
    pub fn reopen(self) -> Desk {
        let Desk { dir, clock, engine } = self;
        drop(engine);
        let engine = open(dir.path(), clock.clone());
        Desk { dir, clock, engine }
    }
    pub fn now(&self, t: &str) {
        self.clock.set(at(t));
    }
    pub fn receive(&self) -> Dossier {
        self.engine.submit(application()).unwrap().dossier
    }
    pub fn take(&self, d: &Dossier, action: &str, who: Actor) -> motcua::Result<Dossier> {
        self.take_with(d, action, who, serde_json::json!({}), None)
    }
    pub fn take_with(
        &self,
        d: &Dossier,
        action: &str,
        who: Actor,
        input: serde_json::Value,
        comment: Option<&str>,
    ) -> motcua::Result<Dossier> {
        let d = self.engine.dossier(&d.code)?;
        self.engine.act(motcua::dossier::transition::ActionRequest {
            dossier: d.code.clone(),
            action: action.into(),
            actor: who,
            input,
            comment: comment.map(String::from),
            seen_version: d.version,
            on_behalf: false,
        })
    }
    /// The appraiser asks the applicant for a supplement (the clock pauses).
    pub fn ask_supplement(&self, d: &Dossier) -> Dossier {
        self.take_with(
            d,
            "yeu_cau_bo_sung",
            appraiser(),
            serde_json::json!({}),
            Some("Thiếu bản vẽ"),
        )
        .unwrap()
    }
    /// The system's own entries in the dossier's history, by action.
    pub fn system_actions(&self, d: &Dossier) -> Vec<String> {
        system_actions(&self.engine, &d.code)
    }
    /// Fires what is due at `t`.
    pub fn tick(&self, t: &str) -> Vec<Firing> {
        self.now(t);
        self.engine.fire_due(at(t)).unwrap()
    }
    pub fn get(&self, d: &Dossier) -> Dossier {
        self.engine.dossier(&d.code).unwrap()
    }
    pub fn actions(&self, d: &Dossier) -> Vec<String> {
        self.engine
            .history(&d.code)
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect()
    }
}

pub fn application() -> Submission {
    Submission {
        papers: vec![],
        procedure: "tham-dinh-co-han".into(),
        applicant: Applicant {
            id: "048090001234".into(),
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
        received_by: desk_officer(),
        meta: Default::default(),
        comment: None,
    }
}

pub fn desk_officer() -> Actor {
    officer("mc01", "mot_cua", "mot_cua")
}
pub fn appraiser() -> Actor {
    officer("cv01", "chuyen_vien", "phong_kt")
}
pub fn leader() -> Actor {
    officer("ld01", "lanh_dao", "phong_kt")
}

pub fn kinds(fired: &[Firing]) -> Vec<(String, Option<String>, String)> {
    fired
        .iter()
        .map(|f| (f.kind.clone(), f.state.clone(), f.due.to_string()))
        .collect()
}

pub fn fired_at(kind: &str, state: Option<&str>, due: &str) -> (String, Option<String>, String) {
    fired(kind, state, due)
}

pub fn fired(kind: &str, state: Option<&str>, due: &str) -> (String, Option<String>, String) {
    (kind.into(), state.map(String::from), at(due).to_string())
}

/// A dossier received now and taken to the sign-off step.
pub fn to_sign_off(desk: &Desk) -> Dossier {
    let d = desk.receive();
    let d = desk.take(&d, "chuyen", desk_officer()).unwrap();
    desk.take(&d, "trinh", appraiser()).unwrap()
}

/// The system's own entries in a dossier's history, by action.
pub fn system_actions(engine: &Engine, code: &str) -> Vec<String> {
    engine
        .history(code)
        .unwrap()
        .into_iter()
        .filter(|e| e.actor == Actor::SYSTEM_ID)
        .map(|e| e.action)
        .collect()
}
