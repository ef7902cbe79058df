//! Diagrams of a procedure's graph: Mermaid (for Markdown and the portal) and Graphviz dot.
//! Pure functions of the model; they draw whatever they are given, valid or not.
//!
//! Shapes say what a state is: officer tasks are boxes, applicant waits parallelograms,
//! automatic steps subroutine boxes, forks and joins trapezia (parallel branches dashed), and
//! terminal states rounded. Each node shows its label, department and budget.

use std::fmt::Write;

use super::model::{Outcome, Procedure, State, StateKind};
use crate::calendar::Duration;

/// The node's text lines, budgets as the duration's own notation (`1 working day`) that
/// procedure files and the CLI use.
fn lines(p: &Procedure, s: &State) -> Vec<String> {
    state_lines(p, s, &|d| d.to_string())
}

/// A state's text lines: label, department (by name), budget or outcome, with budgets worded
/// by `duration` (the screens word them in Vietnamese, which this crate does not know).
pub fn state_lines(p: &Procedure, s: &State, duration: &dyn Fn(Duration) -> String) -> Vec<String> {
    let mut out = vec![s.label.clone()];
    if let Some(d) = &s.department {
        let name = p
            .departments
            .iter()
            .find(|x| &x.id == d)
            .map_or(d.as_str(), |x| x.name.as_str());
        out.push(name.to_string());
    }
    match (s.kind, s.budget, s.outcome) {
        (StateKind::Fork, _, _) => out.push("⑂ song song (liên thông)".to_string()),
        (StateKind::Join, Some(b), _) => out.push(format!("⑃ hợp nhánh · {}", duration(b))),
        (StateKind::Join, None, _) => out.push("⑃ hợp nhánh".to_string()),
        (StateKind::Applicant, _, _) => out.push("⏸ chờ công dân (dừng đồng hồ)".to_string()),
        (StateKind::Terminal, _, Some(o)) => out.push(outcome_text(o).to_string()),
        (_, Some(b), _) if s.outside_budget => {
            out.push(format!("{} (ngoài thời hạn)", duration(b)))
        }
        (_, Some(b), _) => out.push(duration(b)),
        _ => {}
    }
    out
}

fn outcome_text(o: Outcome) -> &'static str {
    match o {
        Outcome::ResultIssued => "kết quả: đã trả",
        Outcome::Refused => "kết quả: từ chối",
        Outcome::Withdrawn => "kết quả: rút hồ sơ",
        Outcome::Stopped => "kết quả: dừng xử lý",
    }
}

fn node_index(p: &Procedure, id: &str) -> Option<usize> {
    p.states.iter().position(|s| s.id == id)
}

/// A Mermaid `flowchart TD`. Nodes are named `s0`, `s1`, ... in declaration order so that any
/// state id is safe; the start state has a thick border.
pub fn mermaid(p: &Procedure) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "---\ntitle: {}\n---", mermaid_text(&p.name));
    out.push_str("flowchart TD\n");
    for (i, s) in p.states.iter().enumerate() {
        let text = lines(p, s)
            .iter()
            .map(|l| mermaid_text(l))
            .collect::<Vec<_>>()
            .join("<br/>");
        let (open, close) = match s.kind {
            StateKind::Task => ("[\"", "\"]"),
            StateKind::Applicant => ("[/\"", "\"/]"),
            StateKind::Automatic => ("[[\"", "\"]]"),
            StateKind::Fork => ("[/\"", "\"\\]"),
            StateKind::Join => ("[\\\"", "\"/]"),
            StateKind::Terminal => ("([\"", "\"])"),
        };
        let _ = writeln!(out, "    s{i}{open}{text}{close}");
    }
    for (i, s) in p.states.iter().enumerate() {
        if s.kind == StateKind::Fork {
            for b in &s.branches {
                if let Some(t) = node_index(p, b) {
                    let _ = writeln!(out, "    s{i} -. song song .-> s{t}");
                }
            }
        }
    }
    for a in &p.actions {
        if let (Some(f), Some(t)) = (node_index(p, &a.from), node_index(p, &a.to)) {
            let _ = writeln!(out, "    s{f} -- \"{}\" --> s{t}", mermaid_text(&a.label));
        }
    }
    if let Some(start) = p.states.iter().position(|s| s.start) {
        let _ = writeln!(out, "    style s{start} stroke-width:3px");
    }
    out
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

/// A Graphviz `digraph`, one node per state (`s0`, `s1`, ...), one edge per action; fork
/// branches are dashed.
pub fn dot(p: &Procedure) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", dot_text(&p.id));
    let _ = writeln!(out, "    label=\"{}\";", dot_text(&p.name));
    out.push_str("    labelloc=t;\n    rankdir=TB;\n    node [fontname=\"Helvetica\"];\n    edge [fontname=\"Helvetica\", fontsize=10];\n");
    for (i, s) in p.states.iter().enumerate() {
        let text = lines(p, s)
            .iter()
            .map(|l| dot_text(l))
            .collect::<Vec<_>>()
            .join("\\n");
        let shape = match s.kind {
            StateKind::Task => "shape=box, style=rounded",
            StateKind::Applicant => "shape=parallelogram, style=dashed",
            StateKind::Automatic => "shape=component",
            StateKind::Fork => "shape=trapezium, style=filled, fillcolor=lightgrey",
            StateKind::Join => "shape=invtrapezium, style=filled, fillcolor=lightgrey",
            StateKind::Terminal => "shape=box, style=\"rounded,bold\", peripheries=2",
        };
        let start = if s.start { ", penwidth=3" } else { "" };
        let _ = writeln!(out, "    s{i} [label=\"{text}\", {shape}{start}];");
    }
    for (i, s) in p.states.iter().enumerate() {
        if s.kind == StateKind::Fork {
            for b in &s.branches {
                if let Some(t) = node_index(p, b) {
                    let _ = writeln!(out, "    s{i} -> s{t} [style=dashed, label=\"song song\"];");
                }
            }
        }
    }
    for a in &p.actions {
        if let (Some(f), Some(t)) = (node_index(p, &a.from), node_index(p, &a.to)) {
            let _ = writeln!(out, "    s{f} -> s{t} [label=\"{}\"];", dot_text(&a.label));
        }
    }
    out.push_str("}\n");
    out
}

fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procedure::load_str;

    const MINIMAL: &str = include_str!("../../../../tests/fixtures/valid-minimal.yaml");

    fn minimal_with_label(label: &str) -> Procedure {
        let text = MINIMAL.replace("label: Xử lý\n", &format!("label: '{label}'\n"));
        load_str(&text, "t.yaml").procedure.unwrap()
    }

    #[test]
    fn labels_cannot_break_out_of_their_node() {
        let p = minimal_with_label(r#"Xử lý "gấp" <b> \ x"#);
        let m = mermaid(&p);
        assert!(
            m.contains(
                r#"s1["Xử lý #quot;gấp#quot; #lt;b#gt; \ x<br/>Bộ phận một cửa<br/>1 working day"]"#
            ),
            "{m}"
        );
        let d = dot(&p);
        assert!(
            d.contains(r#"s1 [label="Xử lý \"gấp\" <b> \\ x\nBộ phận một cửa\n1 working day""#),
            "{d}"
        );
    }

    #[test]
    fn the_start_state_stands_out() {
        let p = minimal_with_label("Xử lý");
        assert!(mermaid(&p).contains("style s0 stroke-width:3px"));
        assert!(dot(&p).contains("penwidth=3"));
    }
}
