//! Who takes each action (`roles` or `by:`), and automatic states that could decide forever.

use std::collections::HashMap;

use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;

use super::Checker;
use crate::procedure::diagnostic::Code;
use crate::procedure::model::{By, StateKind};

impl Checker<'_> {
    pub(super) fn takers(&mut self) {
        let p = self.p;
        for (i, a) in p.actions.iter().enumerate() {
            let base = format!("/actions/{i}");
            let from_automatic = p
                .state(&a.from)
                .is_some_and(|s| s.kind == StateKind::Automatic);
            match (a.by, a.roles.is_empty()) {
                (None, true) | (Some(By::Officer), true) => {
                    let hint = if from_automatic {
                        "a plugin decides out of an automatic state: write 'by: system'"
                    } else {
                        "write 'roles: [<role>]' for an officer's action, or 'by: applicant' for the citizen's own"
                    };
                    self.emit(
                        Code::NoTaker,
                        self.at(&format!("{base}/id")),
                        format!("action '{}' names no one who may take it", a.id),
                        Some(hint.into()),
                    );
                    continue;
                }
                (Some(by @ (By::Applicant | By::System)), false) => {
                    let who = if by == By::Applicant {
                        "the applicant"
                    } else {
                        "the system"
                    };
                    self.emit(
                        Code::TakerWithRoles,
                        self.sm.key(&format!("{base}/roles")),
                        format!("action '{}' is taken by {who}, but also lists roles", a.id),
                        Some("an action has one kind of taker: remove 'roles', or 'by'".into()),
                    );
                    continue;
                }
                _ => {}
            }
            if from_automatic && a.taker() != Some(By::System) {
                self.emit(
                    Code::AutomaticNotSystem,
                    self.at(&format!("{base}/from")),
                    format!(
                        "action '{}' leaves automatic state '{}', where only the engine acts on the plugin's decision",
                        a.id, a.from
                    ),
                    Some("write 'by: system' (and no roles)".into()),
                );
            }
        }
        self.automatic_cycles();
    }

    /// A cycle made only of automatic states would let plugins decide forever inside one
    /// request: refused here, and capped at run time all the same.
    fn automatic_cycles(&mut self) {
        let p = self.p;
        let mut g = DiGraph::<usize, ()>::new();
        let mut node = HashMap::new();
        for (i, s) in p.states.iter().enumerate() {
            if s.kind == StateKind::Automatic && !node.contains_key(s.id.as_str()) {
                node.insert(s.id.as_str(), g.add_node(i));
            }
        }
        for a in &p.actions {
            if let (Some(f), Some(t)) = (node.get(a.from.as_str()), node.get(a.to.as_str())) {
                g.update_edge(*f, *t, ());
            }
        }
        for scc in tarjan_scc(&g) {
            let cyclic = scc.len() > 1 || g.contains_edge(scc[0], scc[0]);
            if !cyclic {
                continue;
            }
            let mut members: Vec<usize> = scc.iter().map(|n| g[*n]).collect();
            members.sort_unstable();
            let names: Vec<&str> = members.iter().map(|i| p.states[*i].id.as_str()).collect();
            self.emit(
                Code::AutomaticCycle,
                self.at(&format!("/states/{}/id", members[0])),
                format!(
                    "automatic states {} lead only to each other: plugins could decide forever without an officer",
                    names.join(" → ")
                ),
                Some("route one of the decisions to a task or applicant state".into()),
            );
        }
    }
}
