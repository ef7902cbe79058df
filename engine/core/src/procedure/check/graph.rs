//! The state graph: reachability, forks and joins, waits on the applicant, and the deadline
//! budget along the longest path.

use std::collections::{HashMap, HashSet};

use petgraph::algo::condensation;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, EdgeRef, Reversed, Topo};

use super::{Checker, milli_text};
use crate::procedure::diagnostic::Code;
use crate::procedure::model::{Procedure, State, StateKind};

impl Checker<'_> {
    pub(super) fn graph(&mut self) {
        let p = self.p;
        // A misspelt state id cuts the graph; its E011 says all there is to say, and
        // reachability errors downstream of it would only bury it.
        if self.out.iter().any(|d| d.code == Code::UnknownState) {
            return;
        }
        let g = StateGraph::new(p);
        let Some(start) = p.states.iter().position(|s| s.start) else {
            return;
        };
        let reachable = g.reachable_from(start);
        let terminals: Vec<usize> = p
            .states
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == StateKind::Terminal)
            .map(|(i, _)| i)
            .collect();
        let reaches_terminal = g.reaching(&terminals);
        for (i, s) in p.states.iter().enumerate() {
            if !g.is_primary(i) {
                continue;
            }
            let pos = self.at(&format!("/states/{i}/id"));
            if !reachable.contains(&i) {
                self.emit(
                    Code::Unreachable,
                    pos,
                    format!(
                        "state '{}' cannot be reached from the start state '{}'",
                        s.id, p.states[start].id
                    ),
                    Some("add an action (or a fork branch) leading to it, or remove it".into()),
                );
            } else if !reaches_terminal.contains(&i) {
                self.emit(
                    Code::NoWayToTerminal,
                    pos,
                    format!("from state '{}' no terminal state can be reached: a dossier there would never end", s.id),
                    Some("add an action leading towards a result, refusal or stop".into()),
                );
            }
        }
        for (i, s) in p.states.iter().enumerate() {
            if s.kind == StateKind::Fork
                && g.is_primary(i)
                && !p
                    .states
                    .iter()
                    .any(|j| j.kind == StateKind::Join && j.fork.as_deref() == Some(s.id.as_str()))
            {
                self.emit(
                    Code::ForkWithoutJoin,
                    self.at(&format!("/states/{i}/id")),
                    format!(
                        "the branches of fork '{}' never meet: no join names it",
                        s.id
                    ),
                    Some(format!(
                        "add a state with 'kind: join' and 'fork: {}' where the branches end",
                        s.id
                    )),
                );
            }
            if s.kind != StateKind::Join {
                continue;
            }
            let Some(fork) = s.fork.as_deref().and_then(|f| p.state(f)) else {
                continue;
            };
            if fork.kind != StateKind::Fork {
                continue;
            }
            for b in &fork.branches {
                let Some(bi) = g.index_of(b) else { continue };
                if !g.reachable_from(bi).contains(&i) {
                    self.emit(
                        Code::JoinCannotComplete,
                        self.at(&format!("/states/{i}/fork")),
                        format!("join '{}' waits for every branch of fork '{}', but branch '{b}' never reaches it", s.id, fork.id),
                        Some(format!("add an action from the end of branch '{b}' to '{}'", s.id)),
                    );
                }
            }
        }
        for (i, s) in p.states.iter().enumerate() {
            if s.kind != StateKind::Applicant {
                continue;
            }
            let back = p.actions_from(&s.id).any(|a| {
                p.state(&a.to).is_some_and(|t| {
                    t.kind != StateKind::Terminal && t.kind != StateKind::Applicant
                })
            });
            if !back {
                self.emit(
                    Code::ApplicantNoWayBack,
                    self.at(&format!("/states/{i}/kind")),
                    format!("applicant state '{}' has no action back to processing: the clock would stay paused forever", s.id),
                    Some("add an action (e.g. 'nop-bo-sung') from it back to an officer's state".into()),
                );
            }
        }
    }

    pub(super) fn budgets(&mut self) {
        let p = self.p;
        for (i, s) in p.states.iter().enumerate() {
            // Waiting on the applicant or outside the budget, a step has no budget clock.
            let clockless = s.kind == StateKind::Applicant || s.outside_budget;
            if !s.escalation.is_empty() && (s.budget.is_none() || clockless) {
                self.emit(
                    Code::EscalationWithoutBudget,
                    self.sm.key(&format!("/states/{i}/escalation")),
                    format!("state '{}' has escalation rules but no budget clock (no budget, or its time does not count): they never fire", s.id),
                    Some("give the state a budget, or remove the escalation".into()),
                );
            }
            let needs = matches!(
                s.kind,
                StateKind::Task | StateKind::Join | StateKind::Automatic
            ) && !s.outside_budget;
            if needs && s.budget.is_none() {
                self.emit(
                    Code::MissingBudget,
                    self.at(&format!("/states/{i}/id")),
                    format!("state '{}' has no budget, so its share of the limit is not planned", s.id),
                    Some("add e.g. 'budget: 1 working day', or 'outside_budget: true' if the law excludes it".into()),
                );
            }
        }
        let Some(start) = p.states.iter().position(|s| s.start) else {
            return;
        };
        let g = StateGraph::new(p);
        let Some((total, path)) = g.longest_budget_path(start) else {
            return;
        };
        let limit = p.limit.duration;
        if total > limit.nominal_day_milli() {
            let names: Vec<&str> = path.iter().map(|i| p.states[*i].id.as_str()).collect();
            self.emit(
                Code::BudgetExceedsLimit,
                self.at("/limit/duration"),
                format!(
                    "step budgets add up to {} days along the longest path, more than the limit {limit}",
                    milli_text(total)
                ),
                Some(format!("longest path: {}; shorten these budgets or mark steps outside_budget", names.join(" → "))),
            );
        }
    }
}

/// The states as a petgraph graph: an edge per action and per fork branch. Duplicate state ids
/// (already reported) map to their first declaration.
struct StateGraph<'a> {
    p: &'a Procedure,
    g: DiGraph<usize, ()>,
    nodes: Vec<NodeIndex>,
    by_id: HashMap<&'a str, usize>,
}

impl<'a> StateGraph<'a> {
    fn new(p: &'a Procedure) -> Self {
        let mut g = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..p.states.len()).map(|i| g.add_node(i)).collect();
        let mut by_id = HashMap::new();
        for (i, s) in p.states.iter().enumerate() {
            by_id.entry(s.id.as_str()).or_insert(i);
        }
        let mut edges = Vec::new();
        for a in &p.actions {
            if let (Some(f), Some(t)) = (by_id.get(a.from.as_str()), by_id.get(a.to.as_str())) {
                edges.push((*f, *t));
            }
        }
        for (i, s) in p.states.iter().enumerate() {
            if s.kind == StateKind::Fork && by_id.get(s.id.as_str()) == Some(&i) {
                for b in &s.branches {
                    if let Some(t) = by_id.get(b.as_str()) {
                        edges.push((i, *t));
                    }
                }
            }
        }
        for (f, t) in edges {
            g.update_edge(nodes[f], nodes[t], ());
        }
        StateGraph { p, g, nodes, by_id }
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The first declaration of its id (later duplicates are left out of graph checks).
    fn is_primary(&self, i: usize) -> bool {
        self.index_of(&self.p.states[i].id) == Some(i)
    }

    fn reachable_from(&self, start: usize) -> HashSet<usize> {
        let mut seen = HashSet::new();
        let mut dfs = Dfs::new(&self.g, self.nodes[start]);
        while let Some(n) = dfs.next(&self.g) {
            seen.insert(self.g[n]);
        }
        seen
    }

    fn reaching(&self, targets: &[usize]) -> HashSet<usize> {
        let rev = Reversed(&self.g);
        let mut seen = HashSet::new();
        for t in targets {
            let mut dfs = Dfs::new(rev, self.nodes[*t]);
            while let Some(n) = dfs.next(rev) {
                seen.insert(self.g[n]);
            }
        }
        seen
    }

    /// The largest sum of counted step budgets (in thousandths of a nominal day) over paths
    /// from `start`, with the states of that path. A cycle (supplement loop, rework) is one
    /// strongly connected component weighing the sum of its members: each step is counted once.
    /// Parallel branches are alternatives in the graph, so the path takes the longest branch.
    fn longest_budget_path(&self, start: usize) -> Option<(u64, Vec<usize>)> {
        let weight = |s: &State| match (s.kind, s.budget) {
            (StateKind::Applicant | StateKind::Terminal, _) => 0,
            _ if s.outside_budget => 0,
            (_, Some(b)) => b.nominal_day_milli(),
            (_, None) => 0,
        };
        let cond = condensation(self.g.clone(), true);
        let start_scc = cond.node_indices().find(|n| cond[*n].contains(&start))?;
        let scc_weight: Vec<u64> = cond
            .node_indices()
            .map(|n| {
                cond[n].iter().fold(0u64, |sum, i| {
                    sum.saturating_add(weight(&self.p.states[*i]))
                })
            })
            .collect();
        let mut best: Vec<Option<(u64, Option<NodeIndex>)>> = vec![None; cond.node_count()];
        best[start_scc.index()] = Some((scc_weight[start_scc.index()], None));
        let mut topo = Topo::new(&cond);
        while let Some(n) = topo.next(&cond) {
            let Some((here, _)) = best[n.index()] else {
                continue;
            };
            for e in cond.edges(n) {
                let t = e.target();
                // Durations are bounded at parse time; saturating all the same, so no sum of
                // budgets can wrap below the limit and hide an E050.
                let via = here.saturating_add(scc_weight[t.index()]);
                if best[t.index()].is_none_or(|(w, _)| via > w) {
                    best[t.index()] = Some((via, Some(n)));
                }
            }
        }
        let (end, (total, _)) = best
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.map(|b| (i, b)))
            .max_by_key(|(_, (w, _))| *w)?;
        let mut path = Vec::new();
        let mut cur = Some(NodeIndex::new(end));
        while let Some(n) = cur {
            let mut members = cond[n].clone();
            members.sort_unstable();
            path.extend(members.into_iter().rev());
            cur = best[n.index()].and_then(|(_, prev)| prev);
        }
        path.reverse();
        path.retain(|i| weight(&self.p.states[*i]) > 0);
        Some((total, path))
    }
}
