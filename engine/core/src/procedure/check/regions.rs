//! Fork regions: what may leave a parallel branch.
//!
//! **The region rule.** The region of a fork's branch is every state reachable from the
//! branch's first state without passing its join or a terminal state. An edge out of a state
//! in the region (an action, or a nested fork's branch) may lead only to
//! - the fork's join (the branch arrives),
//! - a terminal state (which ends the whole dossier, siblings included),
//! - another state of the same region, which covers an applicant wait (a supplement request
//!   inside the branch) whose actions return into the branch.
//!
//! Everything else is refused (E049): an edge into a sibling branch, back to the fork (it would
//! spawn new tokens while the old sibling token stays), or out to a state outside the fork, one
//! reachable before the fork or after the join without the fork (the siblings would wait at the
//! join forever). A branch whose first state is also reached from outside the fork is refused
//! too: a token entering it from outside carries no branch and could never complete the join.

use std::collections::{HashMap, HashSet, VecDeque};

use super::Checker;
use crate::procedure::diagnostic::Code;
use crate::procedure::model::{Procedure, StateKind};

/// One edge of the state graph with the pointer of the node that makes it.
struct Edge {
    to: usize,
    pointer: String,
}

impl Checker<'_> {
    pub(super) fn regions(&mut self) {
        let p = self.p;
        if self.out.iter().any(|d| d.code == Code::UnknownState) {
            return;
        }
        let by_id: HashMap<&str, usize> = p
            .states
            .iter()
            .enumerate()
            .rev()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let edges = edges(p, &by_id);
        let Some(start) = p.states.iter().position(|s| s.start) else {
            return;
        };
        for (f, fork) in p.states.iter().enumerate() {
            if fork.kind != StateKind::Fork || by_id.get(fork.id.as_str()) != Some(&f) {
                continue;
            }
            let Some(j) = p.states.iter().position(|s| {
                s.kind == StateKind::Join && s.fork.as_deref() == Some(fork.id.as_str())
            }) else {
                continue;
            };
            let terminal = |i: usize| p.states[i].kind == StateKind::Terminal;
            let pre = reach(&edges, &[start], &|i| i == f);
            let post = reach(&edges, &[j], &|i| i == f);
            let outside = |i: usize| pre.contains(&i) || post.contains(&i);
            let stop = |i: usize| i == j || i == f || terminal(i) || outside(i);
            let firsts: Vec<Option<usize>> = fork
                .branches
                .iter()
                .map(|b| by_id.get(b.as_str()).copied())
                .collect();
            // A branch does not run on into a sibling's first state: that edge is the error.
            let regions: Vec<HashSet<usize>> = firsts
                .iter()
                .map(|b| {
                    b.map_or_else(HashSet::new, |b| {
                        let sibling = |i: usize| i != b && firsts.contains(&Some(i));
                        let mut region = reach(&edges, &[b], &|i| stop(i) || sibling(i));
                        // What the walk stopped at is where the branch ends or errs, not in it.
                        region.retain(|i| *i == b || !(stop(*i) || sibling(*i)));
                        region
                    })
                })
                .collect();
            for (r, region) in regions.iter().enumerate() {
                let branch = &fork.branches[r];
                if let Some(b) = firsts[r]
                    && b != j
                    && !terminal(b)
                    && outside(b)
                {
                    self.emit(
                        Code::BranchLeavesRegion,
                        self.at(&format!("/states/{f}/branches/{r}")),
                        format!(
                            "branch '{branch}' of fork '{}' starts at a state that is also reached outside the fork: a dossier there has no branch to complete join '{}'",
                            fork.id, p.states[j].id
                        ),
                        Some("give each branch states of its own".into()),
                    );
                    continue;
                }
                let mut members: Vec<usize> = region.iter().copied().collect();
                members.sort_unstable();
                for u in members {
                    for e in &edges[u] {
                        let v = e.to;
                        let problem = if v == j || terminal(v) || region.contains(&v) {
                            continue;
                        } else if v == f {
                            format!("loops back to fork '{}'", fork.id)
                        } else if let Some(other) =
                            (0..regions.len()).find(|o| *o != r && regions[*o].contains(&v))
                        {
                            format!(
                                "crosses into branch '{}' at '{}'",
                                fork.branches[other], p.states[v].id
                            )
                        } else if outside(v) {
                            format!(
                                "leaves the fork for '{}', which is outside its branches",
                                p.states[v].id
                            )
                        } else {
                            continue;
                        };
                        self.emit(
                            Code::BranchLeavesRegion,
                            self.at(&e.pointer),
                            format!(
                                "in branch '{branch}' of fork '{}', '{}' {problem}: the other branches would wait at join '{}' forever",
                                fork.id, p.states[u].id, p.states[j].id
                            ),
                            Some(format!(
                                "a branch ends at join '{}' or a terminal state; give it its own supplement state that returns into the branch",
                                p.states[j].id
                            )),
                        );
                    }
                }
            }
        }
    }
}

fn edges(p: &Procedure, by_id: &HashMap<&str, usize>) -> Vec<Vec<Edge>> {
    let mut edges: Vec<Vec<Edge>> = (0..p.states.len()).map(|_| Vec::new()).collect();
    for (k, a) in p.actions.iter().enumerate() {
        if let (Some(f), Some(t)) = (by_id.get(a.from.as_str()), by_id.get(a.to.as_str())) {
            edges[*f].push(Edge {
                to: *t,
                pointer: format!("/actions/{k}/to"),
            });
        }
    }
    for (i, s) in p.states.iter().enumerate() {
        if s.kind != StateKind::Fork {
            continue;
        }
        for (b, branch) in s.branches.iter().enumerate() {
            if let Some(t) = by_id.get(branch.as_str()) {
                edges[i].push(Edge {
                    to: *t,
                    pointer: format!("/states/{i}/branches/{b}"),
                });
            }
        }
    }
    edges
}

/// States reachable from `from` (included) without expanding a state for which `stop` holds
/// (such a state is included when reached, but not gone through).
fn reach(edges: &[Vec<Edge>], from: &[usize], stop: &dyn Fn(usize) -> bool) -> HashSet<usize> {
    let mut seen: HashSet<usize> = HashSet::new();
    let mut queue: VecDeque<usize> = from.iter().copied().collect();
    while let Some(u) = queue.pop_front() {
        if !seen.insert(u) {
            continue;
        }
        if stop(u) && !from.contains(&u) {
            continue;
        }
        for e in &edges[u] {
            if !seen.contains(&e.to) {
                queue.push_back(e.to);
            }
        }
    }
    seen
}
