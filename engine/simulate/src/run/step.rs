//! Taking an action on a simulated dossier: the actor the step is taken as, the papers and
//! inputs it needs, the pure transition, and the fall-back when the engine refuses it.

use std::sync::Arc;

use motcua_core::dossier::Actor;
use motcua_core::dossier::definition::Definition;
use motcua_core::procedure::By;
use motcua_core::transition::{self, ActionRequest, AttachRequest, Env};

use super::{NOTE, Run};

impl Run<'_> {
    /// Takes `action` on dossier `i`'s step in `state`; when the transition refuses it (a
    /// guard, a step that moved on), the step falls back to its way to a result.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn take(
        &mut self,
        i: usize,
        state: &str,
        action: &str,
        by: By,
        pool: Option<usize>,
        officer: Option<u32>,
    ) {
        let plan = self.plan;
        let Some(sim) = self.sim(i) else { return };
        if !sim.d.tokens.iter().any(|t| t.state == state && !t.waiting) {
            return;
        }
        let def = Arc::clone(&plan.definitions[sim.def]);
        let actor = match by {
            By::Officer => {
                let (role, department) = match pool.map(|p| &plan.pools[p]) {
                    Some(p) => (p.role.clone(), p.department.clone()),
                    None => {
                        let a = def.procedure.action(action);
                        let role = a.and_then(|a| a.roles.first().cloned()).unwrap_or_default();
                        let st = def.procedure.state(state);
                        let dep = st.and_then(|s| s.department.clone()).unwrap_or_default();
                        (role, dep)
                    }
                };
                let id = match officer {
                    Some(k) => format!("{role}.{department}.{}", k + 1),
                    None => format!("{role}.{department}"),
                };
                Actor {
                    id,
                    roles: vec![role],
                    departments: vec![department],
                }
            }
            By::Applicant => Actor {
                id: sim.d.applicant.id.clone(),
                roles: vec![],
                departments: vec![],
            },
            By::System => Actor::system(),
        };
        let defs = &plan.definitions;
        let lookup = |id: &str| defs.iter().find(|d| d.procedure.id == id).cloned();
        let env = Env::new(self.cal, &lookup, self.now);
        // Papers the action needs before it (the signed permit before it is returned).
        let needs: Vec<String> = def
            .procedure
            .action(action)
            .map(|a| a.requires_documents.clone())
            .unwrap_or_default();
        for kind in needs {
            let Some(sim) = self.sim(i) else { return };
            if sim.d.papers.iter().any(|p| p.kind == kind) {
                continue;
            }
            let req = AttachRequest {
                dossier: sim.d.code.clone(),
                kind: kind.clone(),
                file: motcua_core::dossier::paper::File {
                    sha256: "0".repeat(64),
                    size: 1,
                    media_type: "application/pdf".into(),
                    name: format!("{kind}.pdf"),
                    pages: Some(1),
                },
                actor: everyone(&def),
                comment: None,
            };
            let clock = std::time::Instant::now();
            let attached = transition::attach(&def, &sim.d, &req, &env);
            self.measured.transition_time += clock.elapsed();
            match attached {
                Ok(t) => self.apply(t, None),
                Err(e) => self.refused(&e),
            }
        }
        let Some(sim) = self.sim(i) else { return };
        let d = &sim.d;
        let clock = std::time::Instant::now();
        let result = match by {
            By::System => transition::act_as_engine(&def, d, action, Some(NOTE.into()), &env),
            _ => {
                let req = ActionRequest {
                    dossier: d.code.clone(),
                    action: action.to_string(),
                    actor,
                    input: inputs_for(&def, action, &env),
                    comment: Some(NOTE.into()),
                    seen_version: d.version,
                    on_behalf: false,
                };
                transition::act(&def, d, &req, &env)
            }
        };
        self.measured.transition_time += clock.elapsed();
        match result {
            Ok(t) => {
                self.apply(t, None);
                // An action that stays (an extension, an apology: the core keeps the token)
                // leaves the step to be decided again; any other self-loop re-enters the
                // state with a new token, which `settle` already gave its work.
                let stays = def
                    .procedure
                    .action(action)
                    .is_some_and(|a| a.apology || a.extends.is_some());
                if stays && let Some(sim) = self.dossiers.get_mut(i).and_then(Option::as_mut) {
                    sim.taken.retain(|k| k.0 != state);
                    self.pick_up(i);
                }
            }
            Err(e) => {
                self.refused(&e);
                let fallback = plan
                    .main_path
                    .get(&(self.sim(i).map_or(0, |s| s.def), state.to_string()));
                match fallback {
                    Some(f) if f != action => {
                        let f = f.clone();
                        let taker = def
                            .procedure
                            .action(&f)
                            .and_then(|a| a.taker())
                            .unwrap_or(by);
                        self.take(i, state, &f, taker, pool, officer);
                    }
                    _ => self.measured.stuck += 1,
                }
            }
        }
    }
}

/// The simulation's own actor for receipts and papers: every role and department of the
/// procedure (the desk's rights are not what is being measured).
pub(crate) fn everyone(def: &Definition) -> Actor {
    let p = &def.procedure;
    Actor {
        id: "mo-phong".into(),
        roles: p.roles.iter().map(|r| r.id.clone()).collect(),
        departments: p.departments.iter().map(|d| d.id.clone()).collect(),
    }
}

/// The inputs a simulated officer gives an action: each required one, of its kind.
fn inputs_for(def: &Definition, action: &str, env: &Env<'_>) -> serde_json::Value {
    use motcua_core::procedure::InputKind;
    let Some(a) = def.procedure.action(action) else {
        return serde_json::Value::Null;
    };
    let mut m = serde_json::Map::new();
    let today = env.calendar.local_date(env.now);
    for i in a.inputs.iter().filter(|i| i.required) {
        let v = match i.kind {
            InputKind::Text => serde_json::json!(NOTE),
            InputKind::Number => serde_json::json!(1),
            InputKind::Boolean => serde_json::json!(true),
            InputKind::Date => serde_json::json!(today.to_string()),
            InputKind::Documents => serde_json::json!([]),
        };
        m.insert(i.name.clone(), v);
    }
    if a.apology {
        let promised = today
            .checked_add(jiff::Span::new().days(7))
            .unwrap_or(today);
        m.insert("promised".into(), serde_json::json!(promised.to_string()));
    }
    if m.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::Value::Object(m)
    }
}
