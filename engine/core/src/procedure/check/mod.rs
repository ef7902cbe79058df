//! Semantic checks on a typed procedure: identities, references, guards, the form schema, the
//! state graph and the deadline budget. Pure: no I/O; positions come from the [`SourceMap`].
//!
//! Every check reports every instance it finds; the order of checks does not matter because
//! the caller sorts diagnostics by position.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::diagnostic::{Code, Diagnostic, Pos, did_you_mean};
use super::model::{Procedure, StateKind};
use super::source_map::SourceMap;

mod deadlines;
mod graph;
mod guards;
mod references;
mod regions;
mod takers;

/// Inspects a procedure's plugins (file present, sha256, exports, config against the plugin's
/// schema). Plugin loading is I/O and belongs to the plugin subsystem, which implements this;
/// the checker itself only verifies that every plugin call names a declared plugin.
pub trait PluginInspector {
    /// Diagnostics about `procedure.plugins`, positioned through `source_map`.
    fn inspect(
        &self,
        procedure: &Procedure,
        source_map: &SourceMap,
        file: &Path,
    ) -> Vec<Diagnostic>;
}

/// A [`PluginInspector`] that inspects nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPlugins;

impl PluginInspector for NoPlugins {
    fn inspect(&self, _: &Procedure, _: &SourceMap, _: &Path) -> Vec<Diagnostic> {
        Vec::new()
    }
}

/// Reports linked child procedures (`starts`) whose id is not in `known`. Pure: the caller
/// decides which procedure ids exist (see `procedure::load_and_check_files`).
pub fn check_links(
    procedure: &Procedure,
    source_map: &SourceMap,
    file: &Path,
    known: &HashSet<String>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // Sorted so that the suggestion does not depend on hash order.
    let mut names: Vec<&str> = known.iter().map(String::as_str).collect();
    names.sort_unstable();
    for (i, s) in procedure.states.iter().enumerate() {
        for (j, link) in s.starts.iter().enumerate() {
            if known.contains(&link.procedure) {
                continue;
            }
            let suggestion = did_you_mean(&link.procedure, names.iter().copied());
            let hint = match suggestion {
                Some(m) => format!("did you mean '{m}'?"),
                None => format!(
                    "put '{}.yaml' next to this file or validate it together with this one",
                    link.procedure
                ),
            };
            out.push(
                Diagnostic::new(
                    Code::UnknownProcedure,
                    file,
                    source_map.value(&format!("/states/{i}/starts/{j}/procedure")),
                    format!(
                        "state '{}' starts unknown procedure '{}'",
                        s.id, link.procedure
                    ),
                )
                .with_hint(hint)
                .with_arg("id", &link.procedure)
                .with_arg("state", &s.id),
            );
            if let Some(m) = suggestion
                && let Some(d) = out.last_mut()
            {
                d.args.insert("suggestion".into(), m.to_string());
            }
        }
    }
    out
}

/// Variables a guard may read.
pub const GUARD_VARIABLES: &[&str] = &["data", "input", "actor", "dossier", "now"];

/// Every semantic check, without plugin inspection.
pub fn check(procedure: &Procedure, source_map: &SourceMap, file: &Path) -> Vec<Diagnostic> {
    check_with(procedure, source_map, file, &NoPlugins)
}

/// Every semantic check, then `plugins`' own. Diagnostics are unsorted.
pub fn check_with(
    procedure: &Procedure,
    source_map: &SourceMap,
    file: &Path,
    plugins: &dyn PluginInspector,
) -> Vec<Diagnostic> {
    let mut c = Checker {
        p: procedure,
        sm: source_map,
        file,
        out: Vec::new(),
    };
    c.identity();
    c.duplicates();
    c.references();
    c.state_shapes();
    c.guards();
    c.form();
    c.graph();
    c.regions();
    c.takers();
    c.budgets();
    c.deadlines();
    let mut out = c.out;
    out.extend(plugins.inspect(procedure, source_map, file));
    out
}

struct Checker<'a> {
    p: &'a Procedure,
    sm: &'a SourceMap,
    file: &'a Path,
    out: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn emit(&mut self, code: Code, pos: Pos, message: String, hint: Option<String>) {
        self.emit_args(code, pos, message, hint, &[]);
    }

    /// `emit`, recording the values the message names (`Diagnostic::args`).
    fn emit_args(
        &mut self,
        code: Code,
        pos: Pos,
        message: String,
        hint: Option<String>,
        args: &[(&str, &str)],
    ) {
        let mut d = Diagnostic::new(code, self.file, pos, message);
        d.hint = hint;
        for (name, value) in args {
            d = d.with_arg(name, value);
        }
        self.out.push(d);
    }

    fn at(&self, pointer: &str) -> Pos {
        self.sm.value(pointer)
    }

    fn identity(&mut self) {
        let p = self.p;
        if let Some(until) = p.effective_until
            && until < p.effective_from
        {
            self.emit(
                Code::EffectiveUntilBeforeFrom,
                self.at("/effective_until"),
                format!(
                    "effective_until {until} is before effective_from {}",
                    p.effective_from
                ),
                Some(
                    "a version is in force from effective_from up to and including effective_until"
                        .into(),
                ),
            );
        }
        if let Some(d) = p.limit.disadvantaged
            && d.nominal_day_milli() < p.limit.duration.nominal_day_milli()
        {
            self.emit(
                Code::DisadvantagedShorter,
                self.at("/limit/disadvantaged"),
                format!(
                    "the disadvantaged-area limit {d} is shorter than the limit {}",
                    p.limit.duration
                ),
                Some("disadvantaged areas get a longer limit, never a shorter one".into()),
            );
        }
        if p.limit.same_day_cutoff.is_some() && p.limit.duration.nominal_day_milli() > 1000 {
            self.emit(
                Code::CutoffOnLongLimit,
                self.at("/limit/same_day_cutoff"),
                format!(
                    "a same-day cut-off on a procedure whose limit is {}: the cut-off only decides same-day procedures",
                    p.limit.duration
                ),
                Some("remove same_day_cutoff, or set the limit to '1 working day' for a same-day procedure".into()),
            );
        }
        for (i, a) in p.actions.iter().enumerate() {
            let Some(ext) = a.extends else { continue };
            let pos = self.at(&format!("/actions/{i}/extends"));
            match p.limit.extension {
                None => self.emit(
                    Code::ExtensionTooLong,
                    pos,
                    format!("action '{}' extends the deadline by {ext}, but the procedure allows no extension", a.id),
                    Some("declare the statutory maximum in limit.extension, e.g. 'extension: 10 days'".into()),
                ),
                Some(max) if ext.nominal_day_milli() > max.nominal_day_milli() => self.emit(
                    Code::ExtensionTooLong,
                    pos,
                    format!("action '{}' extends the deadline by {ext}, more than limit.extension {max}", a.id),
                    None,
                ),
                Some(_) => {}
            }
        }
    }

    fn duplicates(&mut self) {
        let p = self.p;
        let lists: [(&str, &str, Vec<&str>); 7] = [
            (
                "roles",
                "role",
                p.roles.iter().map(|x| x.id.as_str()).collect(),
            ),
            (
                "departments",
                "department",
                p.departments.iter().map(|x| x.id.as_str()).collect(),
            ),
            (
                "documents",
                "document",
                p.documents.iter().map(|x| x.id.as_str()).collect(),
            ),
            (
                "fees",
                "fee",
                p.fees.iter().map(|x| x.id.as_str()).collect(),
            ),
            (
                "plugins",
                "plugin",
                p.plugins.iter().map(|x| x.id.as_str()).collect(),
            ),
            (
                "states",
                "state",
                p.states.iter().map(|x| x.id.as_str()).collect(),
            ),
            (
                "actions",
                "action",
                p.actions.iter().map(|x| x.id.as_str()).collect(),
            ),
        ];
        if !is_id(&p.id) {
            self.bad_id("procedure", &p.id, "/id");
        }
        for (list, what, ids) in lists {
            let mut first: HashMap<&str, usize> = HashMap::new();
            for (i, id) in ids.iter().enumerate() {
                if !is_id(id) {
                    self.bad_id(what, id, &format!("/{list}/{i}/id"));
                }
                if let Some(j) = first.get(id) {
                    let earlier = self.at(&format!("/{list}/{j}/id"));
                    self.emit_args(
                        Code::DuplicateId,
                        self.at(&format!("/{list}/{i}/id")),
                        format!(
                            "duplicate {what} id '{id}' (first declared at line {})",
                            earlier.line
                        ),
                        Some(format!("give each {what} its own id")),
                        &[
                            ("kind", what),
                            ("id", id),
                            ("first_line", &earlier.line.to_string()),
                        ],
                    );
                } else {
                    first.insert(id, i);
                }
            }
        }
    }

    fn bad_id(&mut self, what: &str, id: &str, pointer: &str) {
        self.emit_args(
            Code::InvalidId,
            self.at(pointer),
            format!("{what} id '{id}' is not lowercase ASCII letters, digits, '-' or '_'"),
            Some("ids travel in URLs, dossier records and other agencies' systems: write Vietnamese without diacritics, e.g. 'tiep-nhan'".into()),
            &[("kind", what), ("id", id)],
        );
    }

    /// Reports `name` at `pointer` when it is not among `known`.
    fn reference(&mut self, code: Code, what: &str, name: &str, known: &[&str], pointer: &str) {
        if known.contains(&name) {
            return;
        }
        let suggestion = did_you_mean(name, known.iter().copied());
        let hint = match suggestion {
            Some(m) => Some(format!("did you mean '{m}'?")),
            None if known.is_empty() => Some(format!("no {what} is declared")),
            None => Some(format!("declared: {}", known.join(", "))),
        };
        let declared = known.join(", ");
        let mut args = vec![("id", name), ("declared", declared.as_str())];
        if let Some(m) = suggestion {
            args.push(("suggestion", m));
        }
        self.emit_args(
            code,
            self.at(pointer),
            format!("unknown {what} '{name}'"),
            hint,
            &args,
        );
    }

    fn state_shapes(&mut self) {
        let p = self.p;
        let starts: Vec<usize> = p
            .states
            .iter()
            .enumerate()
            .filter(|(_, s)| s.start)
            .map(|(i, _)| i)
            .collect();
        match starts.as_slice() {
            [] => self.emit(
                Code::NoStart,
                self.sm.key("/states"),
                "no state has 'start: true': a dossier would have nowhere to begin".into(),
                Some(
                    "mark the receiving state (usually the one-stop desk) with 'start: true'"
                        .into(),
                ),
            ),
            [_] => {}
            [first, rest @ ..] => {
                let first_id = &p.states[*first].id;
                for i in rest {
                    self.emit(
                        Code::SeveralStarts,
                        self.at(&format!("/states/{i}/start")),
                        format!(
                            "state '{}' is a second start; '{first_id}' already is one",
                            p.states[*i].id
                        ),
                        Some("exactly one state has 'start: true'".into()),
                    );
                }
            }
        }
        for (i, s) in p.states.iter().enumerate() {
            let base = format!("/states/{i}");
            if !(1..=10).contains(&s.status) {
                self.emit(
                    Code::StatusOutOfRange,
                    self.at(&format!("{base}/status")),
                    format!("status {} is not a national status code (1–10)", s.status),
                    Some("2 received, 4 processing, 5 supplement, 6 financial, 9 done, 10 returned, 3 refused, 8 stopped".into()),
                );
            }
            match (s.kind, s.outcome) {
                (StateKind::Terminal, None) => self.emit(
                    Code::TerminalWithoutOutcome,
                    self.at(&format!("{base}/kind")),
                    format!("terminal state '{}' has no outcome", s.id),
                    Some(
                        "add 'outcome: result_issued', 'refused', 'withdrawn' or 'stopped'".into(),
                    ),
                ),
                (kind, Some(_)) if kind != StateKind::Terminal => self.emit(
                    Code::OutcomeOnNonTerminal,
                    self.at(&format!("{base}/outcome")),
                    format!(
                        "state '{}' is a {} state but has an outcome",
                        s.id,
                        kind_name(kind)
                    ),
                    Some("only terminal states end a dossier with an outcome".into()),
                ),
                _ => {}
            }
            if s.kind == StateKind::Fork {
                if s.branches.len() < 2 {
                    self.emit(
                        Code::ForkTooFewBranches,
                        self.at(&format!("{base}/branches")),
                        format!(
                            "fork '{}' has {} branch(es); a fork splits into at least two",
                            s.id,
                            s.branches.len()
                        ),
                        Some("a single step needs no fork: use an action instead".into()),
                    );
                }
            } else if !s.branches.is_empty() {
                self.emit(
                    Code::MisplacedField,
                    self.sm.key(&format!("{base}/branches")),
                    format!(
                        "'branches' on {} state '{}': only forks have branches",
                        kind_name(s.kind),
                        s.id
                    ),
                    Some("set 'kind: fork'".into()),
                );
            }
            if s.kind == StateKind::Join {
                if s.fork.is_none() {
                    self.emit_args(
                        Code::MissingField,
                        self.at(&format!("{base}/kind")),
                        format!("join '{}' does not name its fork", s.id),
                        Some("add 'fork: <id of the fork state>'".into()),
                        &[("field", "fork"), ("place", &format!("states[{i}]"))],
                    );
                }
            } else if s.fork.is_some() {
                self.emit(
                    Code::MisplacedField,
                    self.sm.key(&format!("{base}/fork")),
                    format!(
                        "'fork' on {} state '{}': only joins name a fork",
                        kind_name(s.kind),
                        s.id
                    ),
                    Some("set 'kind: join'".into()),
                );
            }
            if s.kind == StateKind::Automatic && s.plugin.is_none() {
                self.emit(
                    Code::AutomaticWithoutPlugin,
                    self.at(&format!("{base}/kind")),
                    format!("automatic state '{}' has no plugin to decide it", s.id),
                    Some("add 'plugin: {plugin: <id>}' or make it a task".into()),
                );
            }
        }
        for (i, a) in p.actions.iter().enumerate() {
            let Some(from) = p.state(&a.from) else {
                continue;
            };
            let pointer = format!("/actions/{i}/from");
            match from.kind {
                StateKind::Terminal => self.emit(
                    Code::TerminalWithActions,
                    self.at(&pointer),
                    format!("action '{}' leaves terminal state '{}'", a.id, from.id),
                    Some("a dossier's life ends at a terminal state; remove the action or change the state's kind".into()),
                ),
                StateKind::Fork => self.emit(
                    Code::ForkWithActions,
                    self.at(&pointer),
                    format!("action '{}' leaves fork '{}'; a fork moves on to its branches at once", a.id, from.id),
                    Some("start the action from the join instead".into()),
                ),
                _ => {}
            }
        }
    }

    fn form(&mut self) {
        let form = &self.p.form;
        if let Err(e) = jsonschema::draft202012::meta::validate(form) {
            let inner = e.instance_path().as_str().to_string();
            let hint = if inner.ends_with("/type") {
                "type is one of object, array, string, number, integer, boolean, null"
            } else {
                "see https://json-schema.org/draft/2020-12 ; e.g. 'type: object' with 'properties:'"
            };
            self.emit(
                Code::InvalidFormSchema,
                self.at(&format!("/form{inner}")),
                format!("the form is not a valid JSON Schema (draft 2020-12): {e}"),
                Some(hint.into()),
            );
            return;
        }
        // Dossier data is one object of named fields; guards and links read `data.<field>`.
        if let Some(t) = form.get("type")
            && t != "object"
        {
            self.emit(
                Code::InvalidFormSchema,
                self.at("/form/type"),
                format!("the form must describe an object (the dossier's fields), not {t}"),
                Some("write 'type: object' and list the fields under 'properties:'".into()),
            );
        }
        if let Err(e) = jsonschema::draft202012::new(form) {
            self.emit(
                Code::InvalidFormSchema,
                self.at("/form"),
                format!("the form schema cannot be compiled: {e}"),
                Some("references must stay inside the form ('#/$defs/...')".into()),
            );
        }
    }
}

/// Ids are lowercase ASCII words joined by '-' (or '_'), starting with a letter or digit.
fn is_id(id: &str) -> bool {
    id.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn kind_name(kind: StateKind) -> &'static str {
    match kind {
        StateKind::Task => "task",
        StateKind::Applicant => "applicant",
        StateKind::Automatic => "automatic",
        StateKind::Fork => "fork",
        StateKind::Join => "join",
        StateKind::Terminal => "terminal",
    }
}

fn milli_text(milli: u64) -> String {
    let (int, frac) = (milli / 1000, milli % 1000);
    if frac == 0 {
        int.to_string()
    } else {
        format!("{int}.{}", format!("{frac:03}").trim_end_matches('0'))
    }
}

/// The top-level property names the form declares.
pub fn form_fields(form: &serde_json::Value) -> Vec<&str> {
    form.get("properties")
        .and_then(serde_json::Value::as_object)
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
