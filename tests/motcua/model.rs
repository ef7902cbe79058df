//! The state machine tested against a model: random sequences of submissions (with papers
//! scanned in or reused from the applicant's earlier dossiers), actions (by officers and
//! applicants, with inputs and comments), papers attached and replaced, stale versions,
//! forged requests and the clock moving, over every sample and fixture procedure, on the in-memory store and on a
//! real sled store. After every step the whole store is checked against what the model knows.
//!
//! Longer than 600 lines: the model, its step generator and the whole-store check are one
//! property; split, a reader would have to hold three files to follow one step.

use crate::support;

use std::collections::BTreeMap;
use std::sync::Arc;

use motcua::Engine;
use motcua::audit::SystemAction;
use motcua::catalog::Compiled;
use motcua::clock::ManualClock;
use motcua::dossier::transition::{ActionRequest, Submission};
use motcua::dossier::{Actor, Applicant, Channel};
use motcua::procedure::{InputKind, StateKind};
use motcua::store::{Query, Store};
use proptest::prelude::*;
use support::*;

#[derive(Debug, Clone)]
enum Op {
    /// Receive a dossier of procedure `procedure` (an index into the catalogue), with every
    /// checklist document or only the required ones; with every document, the first comes as
    /// a paper: the applicant's earlier one of that kind when there is one, else a new scan.
    Submit {
        procedure: usize,
        all_documents: bool,
    },
    /// Attach a new scan as the `choice`-th kind the receiving officer may attach now (a
    /// second one of a kind is its next version).
    Attach { dossier: usize, choice: usize },
    /// Take the `choice`-th action available to an officer of the dossier's procedure or to
    /// its applicant, seen at the current version or (`stale`) at the one before.
    Act {
        dossier: usize,
        choice: usize,
        stale: bool,
    },
    /// The officer claims (or gives back) the `choice`-th active step: a version of its own
    /// that moves nothing, after which decisions on the step made on the page before it land.
    Claim { dossier: usize, choice: usize },
    /// A forged request: the system actor from outside, or an unknown action.
    Forge { dossier: usize, as_system: bool },
    /// The clock moves on.
    Wait { hours: u8 },
    /// The scheduler fires what is due now.
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..64, any::<bool>()).prop_map(|(procedure, all_documents)| Op::Submit { procedure, all_documents }),
        8 => (0usize..64, 0usize..8, prop::bool::weighted(0.1)).prop_map(|(dossier, choice, stale)| Op::Act { dossier, choice, stale }),
        2 => (0usize..64, 0usize..4).prop_map(|(dossier, choice)| Op::Claim { dossier, choice }),
        2 => (0usize..64, 0usize..4).prop_map(|(dossier, choice)| Op::Attach { dossier, choice }),
        1 => (0usize..64, any::<bool>()).prop_map(|(dossier, as_system)| Op::Forge { dossier, as_system }),
        2 => (1u8..30).prop_map(|hours| Op::Wait { hours }),
        1 => Just(Op::Tick),
    ]
}

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load_all(engine: &Engine) {
    engine
        .load_procedures_dir(&root().join("procedures"))
        .unwrap();
    for dir in ["engine", "plugin-engine", "plugin-links"] {
        engine.load_procedures_dir(&fixture(dir)).unwrap();
    }
}

/// Form data a procedure accepts: its first example, else one value per declared field.
fn data_for(p: &Compiled) -> serde_json::Value {
    let form = &p.procedure.form;
    if let Some(example) = form.get("examples").and_then(|e| e.get(0)) {
        return example.clone();
    }
    if p.procedure.id.starts_with("xay-dung-") {
        return serde_json::json!({
            "so_cccd": "048090001234", "nam_sinh": 1990, "gioi_tinh": "nam",
            "dien_tich_san": 180.0, "quan": "hai_chau"
        });
    }
    let mut data = serde_json::Map::new();
    if let Some(props) = form.get("properties").and_then(|p| p.as_object()) {
        for (name, schema) in props {
            let value = match (
                schema.get("enum").and_then(|e| e.get(0)),
                schema.get("type").and_then(|t| t.as_str()),
            ) {
                (Some(first), _) => first.clone(),
                (None, Some("integer")) => serde_json::json!(2),
                (None, Some("number")) => serde_json::json!(120.5),
                (None, Some("boolean")) => serde_json::json!(true),
                (None, Some("array")) => serde_json::json!([]),
                (None, _) if schema.get("format").and_then(|f| f.as_str()) == Some("date") => {
                    serde_json::json!("2020-01-01")
                }
                (None, _) => serde_json::json!("Nguyễn Văn An"),
            };
            data.insert(name.clone(), value);
        }
    }
    serde_json::Value::Object(data)
}

fn officer_of(p: &Compiled) -> Actor {
    Actor {
        id: "cb-model".into(),
        roles: p.procedure.roles.iter().map(|r| r.id.clone()).collect(),
        departments: p
            .procedure
            .departments
            .iter()
            .map(|d| d.id.clone())
            .collect(),
    }
}

fn input_for(p: &Compiled, action: &str) -> serde_json::Value {
    let Some(a) = p.procedure.action(action) else {
        return serde_json::json!({});
    };
    let mut input = serde_json::Map::new();
    for i in &a.inputs {
        let v = match i.kind {
            InputKind::Documents => serde_json::json!(
                p.procedure
                    .documents
                    .first()
                    .map(|d| vec![d.id.clone()])
                    .unwrap_or_default()
            ),
            InputKind::Text => serde_json::json!("Ghi chú của cán bộ"),
            InputKind::Number => serde_json::json!(1),
            InputKind::Boolean => serde_json::json!(true),
            InputKind::Date => serde_json::json!("2026-06-10"),
        };
        input.insert(i.name.clone(), v);
    }
    serde_json::Value::Object(input)
}

/// What the model knows: every code the engine handed out, and its version.
#[derive(Default)]
struct Model {
    versions: BTreeMap<String, u64>,
    audit: u64,
    /// Requests accepted and refused, so a fixed run can show it exercised both.
    accepted: usize,
    refused: usize,
    /// Dossiers that reached a terminal state, counted at the end of a run.
    ended: usize,
    /// Scans made so far (each new one has bytes of its own).
    scans: u64,
    /// Papers reused from an earlier dossier.
    reused: usize,
}

impl Model {
    /// A new scan, kept by the store: its digest and size.
    fn scan(&mut self, w: &World) -> motcua::dossier::paper::File {
        self.scans += 1;
        let bytes = format!(
            "%PDF-1.7\n% scan {}\n1 0 obj<</Type/Page>>endobj\n",
            self.scans
        );
        w.engine
            .keep_file(&mut bytes.as_bytes(), 1 << 20)
            .unwrap()
            .file(format!("scan-{}.pdf", self.scans))
    }
}

struct World {
    engine: Engine,
    clock: Arc<ManualClock>,
    _dir: Option<tempfile::TempDir>,
}

#[derive(Clone, Copy)]
enum On {
    Memory,
    Sled,
    Postgres,
}

fn world(on: On) -> World {
    let clock = Arc::new(ManualClock::new(at("2026-06-01T08:30:00+07:00")));
    let (store, dir): (Arc<dyn Store>, _) = match on {
        On::Sled => {
            let dir = tempfile::tempdir().unwrap();
            let store =
                motcua::store::sled::SledStore::open(dir.path(), Default::default()).unwrap();
            (Arc::new(store), Some(dir))
        }
        On::Memory => (Arc::new(motcua::store::memory::MemoryStore::new()), None),
        #[cfg(not(feature = "postgres"))]
        On::Postgres => unreachable!("built without PostgreSQL"),
        #[cfg(feature = "postgres")]
        On::Postgres => {
            let url = support::pg::cluster().fresh_database();
            let store = motcua::store::pg::PgStore::open(&url, Default::default()).unwrap();
            (Arc::new(store), None)
        }
    };
    // One plugin cache for every case: compiling the plugins once is enough.
    static CACHE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(|| tempfile::tempdir().unwrap()).path();
    let engine = Engine::open(
        store,
        Arc::new(calendar::test_calendar()),
        clock.clone(),
        motcua::Options::with_plugin_cache(cache),
    )
    .unwrap();
    load_all(&engine);
    World {
        engine,
        clock,
        _dir: dir,
    }
}

fn step(w: &World, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    let codes: Vec<String> = model.versions.keys().cloned().collect();
    let pick = |i: usize| (!codes.is_empty()).then(|| codes[i % codes.len()].clone());
    // `Ok(true)`: the engine accepted something; `Ok(false)`: it refused (nothing may change).
    let accepted: bool = match op {
        Op::Wait { hours } => {
            w.clock
                .advance(jiff::SignedDuration::from_hours(i64::from(*hours)));
            return check(w, model);
        }
        Op::Tick => {
            let now = w.engine.clock().now();
            let fired = w.engine.fire_due(now).unwrap();
            for f in &fired {
                let d = w.engine.dossier(&f.dossier).unwrap();
                prop_assert!(f.due <= now, "{:?} fired before it was due", f);
                model.versions.insert(d.code.clone(), d.version);
                for child in d.children {
                    let c = w.engine.dossier(&child).unwrap();
                    model.versions.entry(child).or_insert(c.version);
                }
            }
            prop_assert!(
                w.engine.store().due_timers(now, 1).unwrap().is_empty(),
                "a due timer is left after firing"
            );
            prop_assert!(
                w.engine.fire_due(now).unwrap().is_empty(),
                "a timer fired twice"
            );
            return check(w, model);
        }
        Op::Submit {
            procedure,
            all_documents,
        } => {
            let procedures = w.engine.procedures();
            let p = &procedures[procedure % procedures.len()];
            // The same procedure comes back from the same applicant: their papers are reused.
            let applicant = format!("0790900{:05}", (procedure % procedures.len()) % 7);
            let mut papers = vec![];
            if let (true, Some(first)) = (*all_documents, p.procedure.documents.first()) {
                let held = w.engine.applicant_papers(&applicant, 100).unwrap();
                let reuse = held.iter().find(|h| h.paper.kind == first.id);
                let file = match reuse {
                    Some(h) => motcua::dossier::paper::File {
                        sha256: h.paper.sha256.clone(),
                        size: 0,
                        media_type: String::new(),
                        name: String::new(),
                        pages: None,
                    },
                    None => model.scan(w),
                };
                papers.push(motcua::dossier::paper::Brought {
                    kind: first.id.clone(),
                    file,
                    from: reuse.map(|h| h.dossier.clone()),
                });
            }
            let reusing = papers.iter().any(|b| b.from.is_some());
            let sub = Submission {
                papers,
                procedure: p.procedure.id.clone(),
                applicant: Applicant {
                    id: applicant,
                    name: "Nguyễn Văn An".into(),
                    phone: None,
                    email: None,
                    notify_by: vec![],
                    disadvantaged_area: procedure % 5 == 0,
                },
                channel: Channel::Online,
                data: data_for(p),
                documents: p
                    .procedure
                    .documents
                    .iter()
                    .filter(|d| *all_documents || d.required)
                    .map(|d| d.id.clone())
                    .collect(),
                idempotency_key: None,
                received_by: officer_of(p),
                meta: Default::default(),
                comment: None,
            };
            match w.engine.submit(sub) {
                Ok(r) => {
                    for d in std::iter::once(&r.dossier).chain(&r.children) {
                        prop_assert!(
                            !model.versions.contains_key(&d.code),
                            "code reused: {}",
                            d.code
                        );
                        model.versions.insert(d.code.clone(), d.version);
                    }
                    if reusing {
                        model.reused += 1;
                        prop_assert!(r.dossier.papers[0].from.is_some());
                    }
                    true
                }
                Err(_) => false,
            }
        }
        Op::Attach { dossier, choice } => {
            let Some(code) = pick(*dossier) else {
                return Ok(());
            };
            let d = w.engine.dossier(&code).unwrap();
            let Ok(pinned) = w.engine.pinned_procedure(&d) else {
                return Ok(());
            };
            let officer = officer_of(&pinned);
            let kinds: Vec<String> =
                motcua::dossier::transition::attachable(&pinned.definition, &d, &officer)
                    .into_iter()
                    .map(String::from)
                    .collect();
            let Some(kind) = (!kinds.is_empty()).then(|| kinds[choice % kinds.len()].clone())
            else {
                // Nothing may be attached now (an ended dossier): the engine refuses too.
                let file = model.scan(w);
                let req = motcua::dossier::transition::AttachRequest {
                    dossier: code.clone(),
                    kind: pinned
                        .procedure
                        .documents
                        .first()
                        .map_or_else(|| "khong-co".into(), |x| x.id.clone()),
                    file,
                    actor: officer,
                    comment: None,
                };
                prop_assert!(w.engine.attach(req).is_err());
                prop_assert_eq!(w.engine.dossier(&code).unwrap().version, d.version);
                return check(w, model);
            };
            let before = d.papers.iter().filter(|x| x.kind == kind).count() as u32;
            let file = model.scan(w);
            let req = motcua::dossier::transition::AttachRequest {
                dossier: code.clone(),
                kind: kind.clone(),
                file: file.clone(),
                actor: officer,
                comment: None,
            };
            let next = w.engine.attach(req).unwrap();
            prop_assert_eq!(next.version, d.version + 1);
            let added = next.papers.last().unwrap();
            prop_assert_eq!(
                (&added.kind, &added.sha256, added.version),
                (&kind, &file.sha256, before + 1),
                "a new file of a kind is its next version"
            );
            prop_assert_eq!(&next.tokens, &d.tokens, "attaching moves no step");
            model.versions.insert(code, next.version);
            true
        }
        Op::Act {
            dossier,
            choice,
            stale,
        } => {
            let Some(code) = pick(*dossier) else {
                return Ok(());
            };
            let d = w.engine.dossier(&code).unwrap();
            let p = w.engine.procedure(&d.procedure).unwrap();
            let pinned = w
                .engine
                .procedures()
                .into_iter()
                .find(|c| c.hash == d.procedure_hash)
                .unwrap_or(p);
            // The officer is also offered the applicant's actions, to take for them.
            let mut options: Vec<(Actor, String, bool)> = vec![];
            for actor in [officer_of(&pinned), applicant_of(&d)] {
                for a in w.engine.available_actions(&code, &actor).unwrap() {
                    if a.refused.is_none() {
                        options.push((actor.clone(), a.action, a.on_behalf));
                    }
                }
            }
            if options.is_empty() {
                return check(w, model);
            }
            let (actor, action, on_behalf) = options[choice % options.len()].clone();
            let seen = if *stale && d.version > 1 {
                d.version - 1
            } else {
                d.version
            };
            // A version seen before the latest is accepted only when the step the action
            // leaves was entered at or before it (the other branches moved meanwhile).
            let from = pinned
                .procedure
                .action(&action)
                .map(|a| a.from.clone())
                .unwrap_or_default();
            let untouched = d.tokens.iter().any(|t| {
                !t.waiting && t.state == from && t.since_version.is_some_and(|v| v <= seen)
            });
            let req = ActionRequest {
                dossier: code.clone(),
                input: input_for(&pinned, &action),
                action,
                actor,
                comment: Some("Lý do: theo quy trình".into()),
                seen_version: seen,
                on_behalf,
            };
            match w.engine.act(req) {
                Ok(next) => {
                    prop_assert!(
                        seen == d.version || untouched,
                        "a stale version was accepted though its step moved"
                    );
                    prop_assert!(next.version > d.version);
                    model.versions.insert(code.clone(), next.version);
                    // Children a linked group started in this step.
                    for child in &next.children {
                        let c = w.engine.dossier(child).unwrap();
                        model.versions.entry(child.clone()).or_insert(c.version);
                    }
                    true
                }
                Err(e) => {
                    if seen != d.version && !untouched {
                        prop_assert_eq!(e.code(), "conflict");
                    }
                    false
                }
            }
        }
        Op::Claim { dossier, choice } => {
            let Some(code) = pick(*dossier) else {
                return Ok(());
            };
            let d = w.engine.dossier(&code).unwrap();
            let Ok(pinned) = w.engine.pinned_procedure(&d) else {
                return Ok(());
            };
            let officer = officer_of(&pinned);
            let active: Vec<&motcua::dossier::Token> =
                d.tokens.iter().filter(|t| !t.waiting).collect();
            if active.is_empty() {
                return check(w, model);
            }
            let token = active[choice % active.len()];
            // Claim an unassigned step; give back one already mine.
            let to = match &token.assignee {
                None => Some(officer.id.clone()),
                Some(_) => None,
            };
            let req = motcua::dossier::transition::AssignRequest {
                dossier: code.clone(),
                state: token.state.clone(),
                assignee: to.clone(),
                actor: officer,
                comment: None,
                seen_version: d.version,
            };
            match w.engine.assign(req) {
                Ok(next) => {
                    prop_assert_eq!(next.version, d.version + 1);
                    let t = next
                        .tokens
                        .iter()
                        .find(|t| !t.waiting && t.state == token.state)
                        .unwrap();
                    prop_assert_eq!(&t.assignee, &to);
                    prop_assert_eq!(
                        t.since_version,
                        token.since_version,
                        "the step did not move"
                    );
                    prop_assert_eq!(&next.data, &d.data);
                    model.versions.insert(code.clone(), next.version);
                    true
                }
                // A step no officer role of the procedure takes (an applicant's, the engine's)
                // cannot be claimed; nothing changes.
                Err(_) => {
                    prop_assert_eq!(w.engine.dossier(&code).unwrap().version, d.version);
                    false
                }
            }
        }
        Op::Forge { dossier, as_system } => {
            let Some(code) = pick(*dossier) else {
                return Ok(());
            };
            let d = w.engine.dossier(&code).unwrap();
            let req = ActionRequest {
                dossier: code,
                action: if *as_system {
                    d.active_states().next().unwrap_or("x").to_string()
                } else {
                    "khong-co-hanh-dong-nay".into()
                },
                actor: if *as_system {
                    Actor::system()
                } else {
                    applicant_of(&d)
                },
                input: serde_json::Value::Null,
                comment: None,
                seen_version: d.version,
                on_behalf: false,
            };
            let e = w.engine.act(req).unwrap_err();
            prop_assert!(
                ["forbidden", "unknown_action", "closed"].contains(&e.code().as_str()),
                "{}",
                e
            );
            false
        }
    };
    // Children started by automatic decisions inside a step appear in parents' lists.
    if accepted {
        let mut more = vec![];
        for code in model.versions.keys() {
            for child in w.engine.dossier(code).unwrap().children {
                if !model.versions.contains_key(&child) {
                    more.push(child);
                }
            }
        }
        for child in more {
            let c = w.engine.dossier(&child).unwrap();
            model.versions.insert(child, c.version);
        }
    }
    if accepted {
        model.accepted += 1;
    } else {
        model.refused += 1;
    }
    let before = model.audit;
    check(w, model)?;
    if !accepted {
        prop_assert_eq!(model.audit, before, "a refusal wrote audit entries");
    }
    Ok(())
}

/// Everything stored agrees with the model and with the graph.
fn check(w: &World, model: &mut Model) -> Result<(), TestCaseError> {
    let store = w.engine.store();
    prop_assert_eq!(store.dossier_count().unwrap(), model.versions.len() as u64);
    let mut per_day: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut versions = 0;
    for (code, version) in &model.versions {
        let d = w.engine.dossier(code).unwrap();
        prop_assert_eq!(d.version, *version, "{} moved without the model", code);
        versions += d.version;
        let (prefix, n) = code.rsplit_once('-').unwrap();
        per_day
            .entry(prefix.to_string())
            .or_default()
            .push(n.parse().unwrap());
        // One audit entry per version, in order.
        let history = w.engine.history(code).unwrap();
        let seen: Vec<u64> = history.iter().map(|e| e.version).collect();
        prop_assert_eq!(seen, (1..=d.version).collect::<Vec<_>>(), "{}", code);
        // Each clock entry says what it is, whoever caused it (an officer, an applicant or a
        // plugin's decision): its own reason and state, and the appointment it left.
        for e in &history {
            let clock_entry = e.action == SystemAction::Pause || e.action == SystemAction::Resume;
            if !clock_entry {
                continue;
            }
            prop_assert!(
                e.input.get("plugin").is_none(),
                "{} v{}: a clock entry carries a plugin's record: {}",
                code,
                e.version,
                e.input
            );
            if e.action == SystemAction::Pause {
                prop_assert!(
                    e.input["reason"].is_string()
                        && e.input["state"].is_string()
                        && e.input["appointment"].is_string(),
                    "{} v{}: a pause without its own reason, state and appointment: {}",
                    code,
                    e.version,
                    e.input
                );
            }
        }
        let p = w
            .engine
            .procedures()
            .into_iter()
            .find(|c| c.hash == d.procedure_hash);
        let Some(p) = p else { continue };
        let kind = |s: &str| p.procedure.state(s).map(|s| s.kind);
        if d.ending.is_some() {
            prop_assert!(d.tokens.is_empty(), "{} ended with tokens", code);
            prop_assert!(d.clock.paused_since.is_none());
            continue;
        }
        prop_assert!(
            d.active_states().count() >= 1,
            "{} is open with no active step",
            code
        );
        for t in &d.tokens {
            let k = kind(&t.state);
            prop_assert!(k.is_some(), "{} stands in unknown state {}", code, t.state);
            if t.waiting {
                prop_assert_eq!(k, Some(StateKind::Join), "{} waits outside a join", code);
            } else {
                prop_assert!(
                    !matches!(
                        k,
                        Some(StateKind::Fork | StateKind::Terminal | StateKind::Automatic)
                    ),
                    "{} rests in {} ({:?})",
                    code,
                    t.state,
                    k
                );
            }
        }
        let waiting_step = d.tokens.iter().filter(|t| !t.waiting).any(|t| {
            p.procedure
                .state(&t.state)
                .is_some_and(|s| s.kind == StateKind::Applicant || s.outside_budget)
        });
        prop_assert_eq!(
            d.clock.paused_since.is_some(),
            waiting_step && d.clock.resolved.is_none(),
            "{}: the clock is paused exactly while a waiting step is active",
            code
        );
    }
    // Codes are unique (map keys) and gap-free per agency and day.
    for (prefix, mut ns) in per_day {
        ns.sort_unstable();
        prop_assert_eq!(
            ns.clone(),
            (1..=ns.len() as u32).collect::<Vec<_>>(),
            "{}",
            prefix
        );
    }
    // The timer index is exactly the timers the stored dossiers imply.
    let mut implied: Vec<_> = model
        .versions
        .keys()
        .flat_map(|code| motcua::dossier::transition::timers_of(&w.engine.dossier(code).unwrap()))
        .map(|t| (t.at, t.dossier, format!("{:?}", t.kind)))
        .collect();
    implied.sort();
    let mut indexed: Vec<_> = store
        .due_timers(jiff::Timestamp::MAX, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|t| (t.at, t.dossier, format!("{:?}", t.kind)))
        .collect();
    indexed.sort();
    prop_assert_eq!(indexed, implied, "timer index vs dossiers");
    // The overdue listing is exactly the open, running, past-due dossiers (one rule for the
    // store, the CLI, the API and the screens), whether or not their breach has fired.
    let now = w.engine.clock().now();
    let mut listed = vec![];
    let mut after: Option<String> = None;
    loop {
        let page = w
            .engine
            .list(&Query::Overdue { now }, after.as_deref(), 7)
            .unwrap();
        listed.extend(page.dossiers.into_iter().map(|d| d.code));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    listed.sort();
    let mut due: Vec<String> = model
        .versions
        .keys()
        .filter(|c| w.engine.dossier(c).unwrap().is_overdue_at(now))
        .cloned()
        .collect();
    due.sort();
    prop_assert_eq!(listed, due, "overdue listing vs the rule");
    let entries = store.audit(0, usize::MAX).unwrap();
    prop_assert_eq!(entries.len() as u64, versions);
    // Every paper a dossier holds is named by one attach entry and kept by the store.
    let attached = entries
        .iter()
        .filter(|e| e.action == motcua::dossier::transition::ATTACH)
        .count();
    let mut held = 0;
    for code in model.versions.keys() {
        let d = w.engine.dossier(code).unwrap();
        held += d.papers.len();
        for x in &d.papers {
            prop_assert!(
                w.engine.files().size(&x.sha256).unwrap() == Some(x.size),
                "{}: the paper {} is not kept whole",
                code,
                x.sha256
            );
        }
    }
    prop_assert_eq!(attached, held, "attach entries vs papers held");
    let papers = motcua::audit::papers::verify(store, w.engine.files()).unwrap();
    prop_assert!(papers.failed.is_empty(), "{:?}", papers.failed);
    prop_assert_eq!(
        motcua::audit::verify(motcua::audit::GENESIS, &entries),
        Ok(entries.len() as u64)
    );
    model.audit = entries.len() as u64;
    Ok(())
}

fn run(on: On, ops: &[Op]) -> Result<Model, TestCaseError> {
    let w = world(on);
    let mut model = Model::default();
    for op in ops {
        step(&w, &mut model, op)?;
    }
    model.ended = model
        .versions
        .keys()
        .filter(|c| w.engine.dossier(c).is_ok_and(|d| d.ending.is_some()))
        .count();
    Ok(model)
}

/// A fixed walk: every procedure received, then many steps taken. It shows the model test
/// reaches deep into the graphs (ended dossiers, supplements, forks) rather than being refused
/// at the door.
fn fixed_walk(on: On) {
    let mut ops: Vec<Op> = (0..20)
        .map(|procedure| Op::Submit {
            procedure,
            all_documents: true,
        })
        .collect();
    // Some applicants come back for the same procedure: the papers they gave are reused.
    ops.extend((0..4).map(|procedure| Op::Submit {
        procedure,
        all_documents: true,
    }));
    for round in 0..12 {
        for dossier in 0..24 {
            ops.push(Op::Act {
                dossier,
                choice: round % 3,
                stale: false,
            });
        }
        ops.push(Op::Attach {
            dossier: round * 2,
            choice: round,
        });
        ops.push(Op::Wait { hours: 5 });
        ops.push(Op::Tick);
    }
    let model = run(on, &ops).unwrap();
    assert!(
        model.versions.len() >= 15,
        "{} dossiers",
        model.versions.len()
    );
    assert!(model.accepted >= 80, "{} accepted", model.accepted);
    assert!(model.refused >= 1, "stale and forged requests are refused");
    assert!(model.scans >= 10, "{} scans", model.scans);
    assert!(model.reused >= 1, "{} papers reused", model.reused);
    assert!(
        model.ended >= 10,
        "{} of {} ended",
        model.ended,
        model.versions.len()
    );
}

#[test]
fn a_fixed_walk_receives_every_procedure_and_moves_most_dossiers_to_an_end() {
    fixed_walk(On::Memory);
}

#[test]
#[cfg(feature = "postgres")]
fn the_fixed_walk_agrees_with_the_model_on_postgresql() {
    fixed_walk(On::Postgres);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_state_machine_agrees_with_the_model_on_the_in_memory_store(ops in prop::collection::vec(op(), 1..40)) {
        run(On::Memory, &ops).map(drop)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn the_state_machine_agrees_with_the_model_on_a_sled_store(ops in prop::collection::vec(op(), 1..30)) {
        run(On::Sled, &ops).map(drop)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    #[cfg(feature = "postgres")]
    fn the_state_machine_agrees_with_the_model_on_postgresql(ops in prop::collection::vec(op(), 1..30)) {
        run(On::Postgres, &ops).map(drop)?;
    }
}
