//! Guards: CEL expressions must compile, read only known variables, and read only form fields
//! the form declares.

use super::{Checker, GUARD_VARIABLES, form_fields};
use crate::procedure::diagnostic::{Code, Pos, did_you_mean};

impl Checker<'_> {
    pub(super) fn guards(&mut self) {
        let p = self.p;
        let fields: Vec<&str> = form_fields(&p.form);
        let required: Vec<&str> = p
            .form
            .get("required")
            .and_then(serde_json::Value::as_array)
            .map(|r| r.iter().filter_map(serde_json::Value::as_str).collect())
            .unwrap_or_default();
        let defaulted: Vec<&str> = p
            .form
            .get("properties")
            .and_then(serde_json::Value::as_object)
            .map(|o| {
                o.iter()
                    .filter(|(_, v)| v.get("default").is_some())
                    .map(|(k, _)| k.as_str())
                    .collect()
            })
            .unwrap_or_default();
        for (i, a) in p.actions.iter().enumerate() {
            let Some(guard) = &a.guard else { continue };
            let mut warned = std::collections::HashSet::new();
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
                        self.emit_args(
                            Code::GuardUnknownVariable,
                            at_offset(offset),
                            format!("guard of action '{}' reads unknown variable '{name}'", a.id),
                            Some(hint),
                            &[("id", name.as_str()), ("action", a.id.as_str())],
                        );
                    }
                    Ref::DataField(field) => {
                        if fields.contains(&field.as_str()) {
                            let present = required.contains(&field.as_str())
                                || defaulted.contains(&field.as_str())
                                || guard.expr.contains(&format!("has(data.{field})"));
                            if !present && warned.insert(field.clone()) {
                                self.emit_args(
                                    Code::GuardReadsOptionalField,
                                    at_offset(offset),
                                    format!("guard of action '{}' reads data.{field}, which the form neither requires nor defaults: on a dossier received without it the guard cannot be evaluated and the action is stuck", a.id),
                                    Some(format!("add '{field}' to form.required, give it a 'default:', or test has(data.{field}) first")),
                                    &[("field", field.as_str()), ("action", a.id.as_str())],
                                );
                            }
                            continue;
                        }
                        let suggestion = did_you_mean(&field, fields.iter().copied());
                        let hint = match suggestion {
                            Some(m) => format!("did you mean '{m}'?"),
                            None => "declare it under form.properties".to_string(),
                        };
                        let mut args = vec![("field", field.as_str()), ("action", a.id.as_str())];
                        if let Some(m) = suggestion {
                            args.push(("suggestion", m));
                        }
                        self.emit_args(
                            Code::GuardUnknownField,
                            at_offset(offset),
                            format!("guard of action '{}' reads data.{field}, which the form does not declare", a.id),
                            Some(hint),
                            &args,
                        );
                    }
                }
            }
        }
    }
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
