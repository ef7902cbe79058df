//! Every name a procedure uses resolves: states, roles, departments, documents, plugins and
//! procedures linked to, each reported where it is written, with a did-you-mean.

use super::{Checker, form_fields, kind_name};
use crate::procedure::diagnostic::{Code, did_you_mean};
use crate::procedure::model::{PluginCall, StateKind};
use crate::procedure::source_map::escape;

impl Checker<'_> {
    pub(super) fn references(&mut self) {
        let p = self.p;
        let states: Vec<&str> = p.states.iter().map(|s| s.id.as_str()).collect();
        let roles: Vec<&str> = p.roles.iter().map(|s| s.id.as_str()).collect();
        let departments: Vec<&str> = p.departments.iter().map(|s| s.id.as_str()).collect();
        let documents: Vec<&str> = p.documents.iter().map(|s| s.id.as_str()).collect();
        let papers: Vec<&str> = documents
            .iter()
            .copied()
            .chain(p.results.iter().map(|r| r.id.as_str()))
            .collect();
        let plugins: Vec<&str> = p.plugins.iter().map(|s| s.id.as_str()).collect();

        let mut calls: Vec<(String, &PluginCall)> = Vec::new();
        for (i, v) in p.validators.iter().enumerate() {
            calls.push((format!("/validators/{i}/plugin"), v));
        }
        for (i, f) in p.fees.iter().enumerate() {
            if let Some(call) = &f.plugin {
                calls.push((format!("/fees/{i}/plugin/plugin"), call));
            }
            if let Some(field) = &f.per {
                let kind = p
                    .form
                    .get("properties")
                    .and_then(|props| props.get(field))
                    .and_then(|x| x.get("type"))
                    .and_then(serde_json::Value::as_str);
                if kind != Some("integer") || f.amount.is_none() {
                    self.emit(
                        Code::FeePerField,
                        self.at(&format!("/fees/{i}/per")),
                        format!(
                            "fee '{}' is counted per '{field}', which the form does not declare as an integer (or the fee has no amount)",
                            f.id
                        ),
                        Some("name an integer field of the form, such as the number of copies, and give the fee an amount per unit".into()),
                    );
                }
            }
            if f.amount.is_none() && f.plugin.is_none() {
                self.emit_args(
                    Code::MissingField,
                    self.at(&format!("/fees/{i}/id")),
                    format!("fee '{}' has neither an amount nor a plugin", f.id),
                    Some("write 'amount: <VND>' for a fixed fee".into()),
                    &[("field", "amount"), ("place", &format!("fees[{i}]"))],
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
            for (j, d) in a.requires_documents.iter().enumerate() {
                self.reference(
                    Code::UnknownDocument,
                    "document or result",
                    d,
                    &papers,
                    &format!("{base}/requires_documents/{j}"),
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
}
