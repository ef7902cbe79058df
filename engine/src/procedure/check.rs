//! Semantic checks on a typed procedure: identities, references, guards, the form schema, the
//! state graph and the deadline budget. Pure: no I/O; positions come from the [`SourceMap`].
//!
//! Every check reports every instance it finds; the order of checks does not matter because
//! the caller sorts diagnostics by position.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use petgraph::algo::condensation;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, EdgeRef, Reversed, Topo};

use super::diagnostic::{Code, Diagnostic, Pos, did_you_mean};
use super::model::{PluginCall, Procedure, State, StateKind};
use super::source_map::{SourceMap, escape};

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
    let names: Vec<&str> = known.iter().map(String::as_str).collect();
    for (i, s) in procedure.states.iter().enumerate() {
        for (j, link) in s.starts.iter().enumerate() {
            if known.contains(&link.procedure) {
                continue;
            }
            let hint = match did_you_mean(&link.procedure, names.iter().copied()) {
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
                .with_hint(hint),
            );
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
    c.budgets();
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
        let mut d = Diagnostic::new(code, self.file, pos, message);
        d.hint = hint;
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
        for (list, what, ids) in lists {
            let mut first: HashMap<&str, usize> = HashMap::new();
            for (i, id) in ids.iter().enumerate() {
                if let Some(j) = first.get(id) {
                    let earlier = self.at(&format!("/{list}/{j}/id"));
                    self.emit(
                        Code::DuplicateId,
                        self.at(&format!("/{list}/{i}/id")),
                        format!(
                            "duplicate {what} id '{id}' (first declared at line {})",
                            earlier.line
                        ),
                        Some(format!("give each {what} its own id")),
                    );
                } else {
                    first.insert(id, i);
                }
            }
        }
    }

    /// Reports `name` at `pointer` when it is not among `known`.
    fn reference(&mut self, code: Code, what: &str, name: &str, known: &[&str], pointer: &str) {
        if known.contains(&name) {
            return;
        }
        let hint = match did_you_mean(name, known.iter().copied()) {
            Some(m) => Some(format!("did you mean '{m}'?")),
            None if known.is_empty() => Some(format!("no {what} is declared")),
            None => Some(format!("declared: {}", known.join(", "))),
        };
        self.emit(
            code,
            self.at(pointer),
            format!("unknown {what} '{name}'"),
            hint,
        );
    }

    fn references(&mut self) {
        let p = self.p;
        let states: Vec<&str> = p.states.iter().map(|s| s.id.as_str()).collect();
        let roles: Vec<&str> = p.roles.iter().map(|s| s.id.as_str()).collect();
        let departments: Vec<&str> = p.departments.iter().map(|s| s.id.as_str()).collect();
        let documents: Vec<&str> = p.documents.iter().map(|s| s.id.as_str()).collect();
        let plugins: Vec<&str> = p.plugins.iter().map(|s| s.id.as_str()).collect();

        let mut calls: Vec<(String, &PluginCall)> = Vec::new();
        for (i, v) in p.validators.iter().enumerate() {
            calls.push((format!("/validators/{i}/plugin"), v));
        }
        for (i, f) in p.fees.iter().enumerate() {
            if let Some(call) = &f.plugin {
                calls.push((format!("/fees/{i}/plugin/plugin"), call));
            }
            if f.amount.is_none() && f.plugin.is_none() {
                self.emit(
                    Code::MissingField,
                    self.at(&format!("/fees/{i}/id")),
                    format!("fee '{}' has neither an amount nor a plugin", f.id),
                    Some("write 'amount: <VND>' for a fixed fee".into()),
                );
            }
        }

        for (i, s) in p.states.iter().enumerate() {
            let base = format!("/states/{i}");
            if let Some(d) = &s.department {
                self.reference(
                    Code::UnknownDepartment,
                    "department",
                    d,
                    &departments,
                    &format!("{base}/department"),
                );
            }
            for (j, b) in s.branches.iter().enumerate() {
                self.reference(
                    Code::UnknownState,
                    "state",
                    b,
                    &states,
                    &format!("{base}/branches/{j}"),
                );
            }
            if let Some(f) = &s.fork {
                let pointer = format!("{base}/fork");
                match p.state(f) {
                    None => self.reference(Code::UnknownState, "state", f, &states, &pointer),
                    Some(target) if target.kind != StateKind::Fork => self.emit(
                        Code::NotAFork,
                        self.at(&pointer),
                        format!(
                            "join '{}' names '{f}', which is a {} state, not a fork",
                            s.id,
                            kind_name(target.kind)
                        ),
                        Some("a join names the fork whose branches meet at it".into()),
                    ),
                    Some(_) => {}
                }
            }
            if let Some(action) = &s.on_error {
                let pointer = format!("{base}/on_error");
                match p.action(action) {
                    None => {
                        let actions: Vec<&str> =
                            p.actions_from(&s.id).map(|a| a.id.as_str()).collect();
                        self.reference(Code::UnknownAction, "action", action, &actions, &pointer);
                    }
                    Some(a) if a.from != s.id => self.emit(
                        Code::UnknownAction,
                        self.at(&pointer),
                        format!(
                            "on_error action '{action}' leaves '{}', not '{}'",
                            a.from, s.id
                        ),
                        Some("on_error must name an action from this state".into()),
                    ),
                    Some(_) => {}
                }
            }
            if let Some(call) = &s.plugin {
                calls.push((format!("{base}/plugin/plugin"), call));
            }
            let fields = form_fields(&p.form);
            for (j, link) in s.starts.iter().enumerate() {
                for (child_field, parent_field) in &link.data {
                    if fields.contains(&parent_field.as_str()) {
                        continue;
                    }
                    let hint = match did_you_mean(parent_field, fields.iter().copied()) {
                        Some(m) => format!("did you mean '{m}'?"),
                        None => "declare it under form.properties".to_string(),
                    };
                    self.emit(
                        Code::LinkUnknownField,
                        self.at(&format!("{base}/starts/{j}/data/{}", escape(child_field))),
                        format!(
                            "the link to '{}' copies '{parent_field}' into '{child_field}', but this form does not declare '{parent_field}'",
                            link.procedure
                        ),
                        Some(hint),
                    );
                }
            }
            for (j, e) in s.escalation.iter().enumerate() {
                for (k, r) in e.notify.iter().enumerate() {
                    self.reference(
                        Code::UnknownRole,
                        "role",
                        r,
                        &roles,
                        &format!("{base}/escalation/{j}/notify/{k}"),
                    );
                }
                if let Some(d) = &e.department {
                    self.reference(
                        Code::UnknownDepartment,
                        "department",
                        d,
                        &departments,
                        &format!("{base}/escalation/{j}/department"),
                    );
                }
            }
        }

        for (i, a) in p.actions.iter().enumerate() {
            let base = format!("/actions/{i}");
            self.reference(
                Code::UnknownState,
                "state",
                &a.from,
                &states,
                &format!("{base}/from"),
            );
            self.reference(
                Code::UnknownState,
                "state",
                &a.to,
                &states,
                &format!("{base}/to"),
            );
            for (j, r) in a.roles.iter().enumerate() {
                self.reference(
                    Code::UnknownRole,
                    "role",
                    r,
                    &roles,
                    &format!("{base}/roles/{j}"),
                );
            }
            for (j, d) in a.documents.iter().enumerate() {
                self.reference(
                    Code::UnknownDocument,
                    "document",
                    d,
                    &documents,
                    &format!("{base}/documents/{j}"),
                );
            }
            for (j, v) in a.validators.iter().enumerate() {
                calls.push((format!("{base}/validators/{j}/plugin"), v));
            }
        }
        for (pointer, call) in calls {
            self.reference(
                Code::UnknownPlugin,
                "plugin",
                &call.plugin,
                &plugins,
                &pointer,
            );
        }
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
                    self.emit(
                        Code::MissingField,
                        self.at(&format!("{base}/kind")),
                        format!("join '{}' does not name its fork", s.id),
                        Some("add 'fork: <id of the fork state>'".into()),
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

    fn guards(&mut self) {
        let p = self.p;
        let fields: Vec<&str> = form_fields(&p.form);
        for (i, a) in p.actions.iter().enumerate() {
            let Some(guard) = &a.guard else { continue };
            let pointer = format!("/actions/{i}/guard/expr");
            let span = self.sm.get(&pointer).copied();
            let base = self.at(&pointer);
            // Columns inside the expression are exact only when the YAML scalar is written
            // verbatim on one line; otherwise point at the expression's start.
            let at_offset = |offset: usize| match span.and_then(|s| s.inner) {
                Some(inner) => Pos {
                    line: base.line,
                    col: base.col + inner + u32::try_from(offset).unwrap_or(0),
                },
                None => base,
            };
            let program = match cel::Program::compile(&guard.expr) {
                Ok(program) => program,
                Err(errors) => {
                    let first = errors.errors.first();
                    let message = first.map_or_else(|| errors.to_string(), |e| e.msg.clone());
                    // cel reports (line, column), both from 1.
                    let pos = match first {
                        Some(e) if e.pos.0 == 1 && e.pos.1 >= 1 => {
                            at_offset(usize::try_from(e.pos.1 - 1).unwrap_or(0))
                        }
                        _ => base,
                    };
                    self.emit(
                        Code::GuardSyntax,
                        pos,
                        format!("guard of action '{}' does not compile: {message}", a.id),
                        Some("guards are CEL expressions, e.g. data.dien_tich_san > 0.0 && data.so_tang <= 3".into()),
                    );
                    continue;
                }
            };
            let info = program.source_info();
            let mut refs = Vec::new();
            collect(program.expression(), &mut Vec::new(), &mut refs);
            for r in refs {
                // cel offsets count bytes; columns count characters.
                let offset = info.offset_for(r.id).map_or(0, |(start, _)| {
                    let bytes = start as usize;
                    guard.expr.get(..bytes).map_or(0, |s| s.chars().count())
                });
                match r.kind {
                    Ref::Variable(name) => {
                        if GUARD_VARIABLES.contains(&name.as_str()) {
                            continue;
                        }
                        let hint = match did_you_mean(&name, GUARD_VARIABLES.iter().copied()) {
                            Some(m) => format!("did you mean '{m}'?"),
                            None => format!("a guard may read {}", GUARD_VARIABLES.join(", ")),
                        };
                        self.emit(
                            Code::GuardUnknownVariable,
                            at_offset(offset),
                            format!("guard of action '{}' reads unknown variable '{name}'", a.id),
                            Some(hint),
                        );
                    }
                    Ref::DataField(field) => {
                        if fields.contains(&field.as_str()) {
                            continue;
                        }
                        let hint = match did_you_mean(&field, fields.iter().copied()) {
                            Some(m) => format!("did you mean '{m}'?"),
                            None => "declare it under form.properties".to_string(),
                        };
                        self.emit(
                            Code::GuardUnknownField,
                            at_offset(offset),
                            format!("guard of action '{}' reads data.{field}, which the form does not declare", a.id),
                            Some(hint),
                        );
                    }
                }
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

    fn graph(&mut self) {
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

    fn budgets(&mut self) {
        let p = self.p;
        for (i, s) in p.states.iter().enumerate() {
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

enum Ref {
    Variable(String),
    DataField(String),
}

struct Found {
    id: u64,
    kind: Ref,
}

/// Free variables and `data.<field>` selections of a CEL expression; variables bound by
/// comprehension macros (`all`, `exists`, `map`, ...) are not free.
fn collect(e: &cel::IdedExpr, bound: &mut Vec<String>, out: &mut Vec<Found>) {
    use cel::common::ast::{EntryExpr, Expr};
    match &e.expr {
        Expr::Ident(name) => {
            if !bound.contains(name) {
                out.push(Found {
                    id: e.id,
                    kind: Ref::Variable(name.clone()),
                });
            }
        }
        Expr::Select(sel) => {
            if let Expr::Ident(root) = &sel.operand.expr
                && root == "data"
                && !bound.iter().any(|b| b == "data")
            {
                // The operand's offset is where `data` is written; the select's is its dot.
                out.push(Found {
                    id: sel.operand.id,
                    kind: Ref::DataField(sel.field.clone()),
                });
            }
            collect(&sel.operand, bound, out);
        }
        Expr::Call(call) => {
            if let Some(t) = &call.target {
                collect(t, bound, out);
            }
            for a in &call.args {
                collect(a, bound, out);
            }
        }
        Expr::List(l) => {
            for x in &l.elements {
                collect(x, bound, out);
            }
        }
        Expr::Map(m) => {
            for entry in &m.entries {
                if let EntryExpr::MapEntry(me) = &entry.expr {
                    collect(&me.key, bound, out);
                    collect(&me.value, bound, out);
                }
            }
        }
        Expr::Struct(s) => {
            for entry in &s.entries {
                if let EntryExpr::StructField(f) = &entry.expr {
                    collect(&f.value, bound, out);
                }
            }
        }
        Expr::Comprehension(c) => {
            collect(&c.iter_range, bound, out);
            collect(&c.accu_init, bound, out);
            let before = bound.len();
            bound.push(c.iter_var.clone());
            if let Some(v) = &c.iter_var2 {
                bound.push(v.clone());
            }
            bound.push(c.accu_var.clone());
            collect(&c.loop_cond, bound, out);
            collect(&c.loop_step, bound, out);
            collect(&c.result, bound, out);
            bound.truncate(before);
        }
        Expr::Literal(_) | Expr::Unspecified => {}
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
            .map(|n| cond[n].iter().map(|i| weight(&self.p.states[*i])).sum())
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
                let via = here + scc_weight[t.index()];
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

#[cfg(test)]
mod tests {
    use crate::procedure::{Code, load_and_check_str};

    const MINIMAL: &str = include_str!("../../../tests/fixtures/valid-minimal.yaml");

    fn codes(text: &str) -> Vec<(Code, u32, u32)> {
        load_and_check_str(text, "t.yaml")
            .diagnostics
            .iter()
            .map(|d| (d.code, d.line, d.col))
            .collect()
    }

    fn with_guard(expr_line: &str) -> String {
        MINIMAL.replace(
            "    to: da-tra\n    roles: [can-bo]\n",
            &format!(
                "    to: da-tra\n    roles: [can-bo]\n    guard:\n{expr_line}\n      label: x\n"
            ),
        )
    }

    #[test]
    fn the_minimal_procedure_is_clean() {
        assert_eq!(codes(MINIMAL), vec![]);
    }

    #[test]
    fn guard_columns_count_characters_after_vietnamese_text() {
        // `data` of data.tang starts 29 characters (31 bytes: "ữ" takes three) into the guard.
        let text = with_guard("      expr: data.so_tang == 1 && \"Nữ\" == data.tang");
        assert_eq!(codes(&text), vec![(Code::GuardUnknownField, 58, 13 + 29)]);
    }

    #[test]
    fn guard_columns_inside_quotes() {
        let text = with_guard("      expr: 'data.so_tang >= 1 && data.tang > 0'");
        assert_eq!(codes(&text), vec![(Code::GuardUnknownField, 58, 14 + 21)]);
    }

    #[test]
    fn comprehension_variables_are_not_unknown() {
        let text = with_guard("      expr: '[1, 2].all(x, x > 0) && data.so_tang > 0'");
        assert_eq!(codes(&text), vec![]);
    }

    #[test]
    fn guard_syntax_errors_point_into_the_expression() {
        let text = with_guard("      expr: data.so_tang >= 1 &&& true");
        let got = codes(&text);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, Code::GuardSyntax);
        assert!(got[0].2 > 13, "{got:?}");
    }

    /// The minimal procedure with xu-ly replaced by a fork into two branches of `a` and `b`
    /// working days meeting at a 1-day join.
    fn parallel(a: &str, b: &str, limit: &str) -> String {
        let states = [
            "  - id: xu-ly\n    label: Xử lý\n    kind: fork\n    status: 4\n    branches: [a, b]\n".to_string(),
            format!("  - id: a\n    label: A\n    kind: task\n    department: mot-cua\n    budget: {a} working days\n    status: 4\n"),
            format!("  - id: b\n    label: B\n    kind: task\n    department: mot-cua\n    budget: {b} working days\n    status: 4\n"),
            "  - id: hop\n    label: Hợp\n    kind: join\n    fork: xu-ly\n    department: mot-cua\n    budget: 1 working day\n    status: 4\n".to_string(),
        ]
        .concat();
        let actions = "  - id: xa\n    label: x\n    from: a\n    to: hop\n  - id: xb\n    label: x\n    from: b\n    to: hop\n";
        MINIMAL
            .replace(
                "  - id: xu-ly\n    label: Xử lý\n    kind: task\n    department: mot-cua\n    budget: 1 working day\n    status: 4\n",
                &states,
            )
            .replace("    from: xu-ly\n    to: da-tra\n", "    from: hop\n    to: da-tra\n")
            .replace("  duration: 3 working days", &format!("  duration: {limit}"))
            + actions
    }

    #[test]
    fn parallel_branches_count_as_the_longest_branch() {
        // 1 (desk) + max(5, 3) + 1 (join) = 7
        assert_eq!(codes(&parallel("5", "3", "7 working days")), vec![]);
        let got = codes(&parallel("5", "3", "6 working days"));
        assert_eq!(got, vec![(Code::BudgetExceedsLimit, 11, 13)]);
    }

    #[test]
    fn supplement_waits_and_excluded_steps_do_not_count() {
        let text = MINIMAL.replace(
            "    outcome: result_issued\n    status: 10\n",
            "    outcome: result_issued\n    status: 10\n  - id: cho\n    label: Chờ\n    kind: applicant\n    status: 5\n  - id: niem-yet\n    label: Niêm yết\n    kind: task\n    department: mot-cua\n    budget: 30 days\n    outside_budget: true\n    status: 4\n",
        ) + "  - id: bo-sung\n    label: b\n    from: xu-ly\n    to: cho\n  - id: nop\n    label: n\n    from: cho\n    to: niem-yet\n  - id: het\n    label: h\n    from: niem-yet\n    to: xu-ly\n";
        assert_eq!(codes(&text), vec![]);
    }

    #[test]
    fn a_rework_loop_counts_each_step_once() {
        // tiep-nhan 1 + xu-ly 1 in a loop with tiep-nhan: 2 ≤ 3.
        let text = MINIMAL.to_string()
            + "  - id: tra-lai\n    label: Trả lại\n    from: xu-ly\n    to: tiep-nhan\n    roles: [can-bo]\n";
        assert_eq!(codes(&text), vec![]);
    }
}
