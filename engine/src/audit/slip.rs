//! The process-control slip (phiếu kiểm soát quá trình giải quyết hồ sơ, form 06 of Circular
//! 01/2018/TT-VPCP): every handover of one dossier, who gave it and who received it, when (to
//! the minute, local time), the budget of the step it ended and whether that step ended
//! early, on time or late, and the dossier's own classification once it is resolved.
//!
//! Built from the dossier's audit history and the procedure version it is pinned to (for the
//! receiving department and roles, and labels). A handover is an entry that received the
//! dossier or moved it: it ended a step, or left one state for another. A pause, a resume, a
//! warning, an extension or an apology is not one: the step goes on as it was.

use jiff::Timestamp;
use serde::Serialize;

use super::Entry;
use crate::deadline::{Class, LateReason};
use crate::dossier::{Actor, Dossier};
use crate::procedure::{By, Procedure, StateKind};
use crate::store::{self, Reader};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("no dossier with code {0}")]
    NotFound(String),
    #[error("dossier {code} is pinned to procedure version {hash}, which the store does not hold")]
    PinnedVersionMissing { code: String, hash: String },
    #[error("the procedure version {hash} pinned in the store does not parse: {message}")]
    Procedure { hash: String, message: String },
}

/// The slip of one dossier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slip {
    pub dossier: String,
    pub procedure: ProcedureRef,
    /// The applicant's name (absent when built from history alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicant: Option<String>,
    /// The appointment as it stands (moved by pauses and extensions), local
    /// `dd/mm/yyyy HH:MM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointment: Option<String>,
    pub handovers: Vec<Handover>,
    /// The dossier's class in the national index, once resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcedureRef {
    pub id: String,
    pub code: String,
    pub version: String,
    pub name: String,
}

/// One handover: a row of the slip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handover {
    /// The audit entry that records it.
    pub seq: u64,
    pub action: String,
    pub label: String,
    pub at: Timestamp,
    /// `at` to the minute in Vietnam's time, `dd/mm/yyyy HH:MM`.
    pub time: String,
    pub giver: Giver,
    /// Who holds the dossier next: each state entered (a fork enters several).
    pub receivers: Vec<Receiver>,
    /// The steps this handover ended, with their budget and class (none at receipt).
    pub ended: Vec<Ended>,
}

/// Who handed the dossier over, as the entry records them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Giver {
    pub actor: String,
    pub roles: Vec<String>,
    pub departments: Vec<String>,
    /// The roles' and departments' names in the procedure (the id where it has none).
    pub role_names: Vec<String>,
    pub department_names: Vec<String>,
}

/// A state entered and who takes the dossier there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Receiver {
    pub state: String,
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department_name: Option<String>,
    /// The roles of the officers who take the actions out of the state, and their names.
    pub roles: Vec<String>,
    pub role_names: Vec<String>,
    /// The applicant acts next (the dossier waits on them).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub applicant: bool,
}

/// A step that a handover ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ended {
    pub state: String,
    pub label: String,
    /// The budget as the procedure declares it, e.g. `2 working days`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<String>,
    /// When it was due, local `dd/mm/yyyy HH:MM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// `None` for a step without a budget (waiting on the applicant, outside the budget).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<Class>,
}

/// The dossier's classification when it was resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    pub state: String,
    pub class: Class,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub late_because: Vec<LateReason>,
    /// Local `dd/mm/yyyy HH:MM`.
    pub time: String,
    pub appointment: String,
}

/// The slip of dossier `code` from the store: its history, and the procedure version the
/// store pinned it to.
pub fn for_dossier(reader: &dyn Reader, code: &str) -> Result<Slip, Error> {
    let dossier = reader
        .dossier(code)?
        .ok_or_else(|| Error::NotFound(code.to_string()))?;
    let hash = &dossier.procedure_hash;
    let source = reader
        .procedures()?
        .into_iter()
        .find_map(|(h, source)| (h == *hash).then_some(source))
        .ok_or_else(|| Error::PinnedVersionMissing {
            code: code.to_string(),
            hash: hash.clone(),
        })?;
    let loaded = crate::procedure::load_str(&source, format!("pinned {hash}"));
    let procedure = loaded.procedure.ok_or_else(|| Error::Procedure {
        hash: hash.clone(),
        message: loaded
            .diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("; "),
    })?;
    let history = reader.history(code)?;
    Ok(build(&procedure, Some(&dossier), &history))
}

/// The slip from a dossier's history and its procedure (pure).
pub fn build(procedure: &Procedure, dossier: Option<&Dossier>, history: &[Entry]) -> Slip {
    let code = history
        .first()
        .map(|e| e.dossier.clone())
        .or_else(|| dossier.map(|d| d.code.clone()))
        .unwrap_or_default();
    let handovers = history
        .iter()
        .filter(|e| is_handover(e))
        .map(|e| handover(procedure, e))
        .collect();
    let resolution = history
        .iter()
        .find_map(|e| e.resolution.as_ref())
        .map(|r| Resolution {
            state: r.state.clone(),
            class: r.class,
            late_because: r.late_because.clone(),
            time: local_minute(r.at),
            appointment: crate::messages::format::appointment(r.appointment),
        });
    Slip {
        dossier: code,
        procedure: ProcedureRef {
            id: procedure.id.clone(),
            code: procedure.code.clone(),
            version: procedure.version.clone(),
            name: procedure.name.clone(),
        },
        applicant: dossier.map(|d| d.applicant.name.clone()),
        appointment: dossier.map(|d| crate::messages::format::appointment(d.clock.due_at)),
        handovers,
        resolution,
    }
}

fn is_handover(e: &Entry) -> bool {
    e.action == "submit" || !e.steps.is_empty() || e.from != e.to
}

fn handover(p: &Procedure, e: &Entry) -> Handover {
    let label = match p.action(&e.action) {
        Some(a) => a.label.clone(),
        None if e.action == "submit" => crate::messages::columns::SUBMIT.to_string(),
        None => match crate::audit::SystemAction::of(&e.action) {
            Some(system) => crate::messages::labels::system_action(system).to_string(),
            None => e.action.clone(),
        },
    };
    Handover {
        seq: e.seq,
        action: e.action.clone(),
        label,
        at: e.at,
        time: local_minute(e.at),
        giver: Giver {
            actor: e.actor.clone(),
            roles: e.roles.clone(),
            departments: e.departments.clone(),
            role_names: e.roles.iter().map(|r| role_name(p, r)).collect(),
            department_names: e
                .departments
                .iter()
                .map(|d| department_name(p, d))
                .collect(),
        },
        receivers: e.to.iter().filter_map(|s| receiver(p, s)).collect(),
        ended: e
            .steps
            .iter()
            .map(|t| Ended {
                state: t.state.clone(),
                label: state_label(p, &t.state),
                budget: t.budget.clone(),
                due: t.due_at.map(crate::messages::format::appointment),
                class: t.class,
            })
            .collect(),
    }
}

/// Who takes the dossier in state `id`; a fork holds nobody (its branches do).
fn receiver(p: &Procedure, id: &str) -> Option<Receiver> {
    let state = p.state(id);
    if state.is_some_and(|s| s.kind == StateKind::Fork) {
        return None;
    }
    let automatic = state.is_some_and(|s| s.kind == StateKind::Automatic);
    let mut roles: Vec<String> = vec![];
    let mut applicant = false;
    for a in p.actions.iter().filter(|a| a.from == id) {
        match a.taker() {
            Some(By::Officer) => {
                for r in &a.roles {
                    if !roles.contains(r) {
                        roles.push(r.clone());
                    }
                }
            }
            Some(By::Applicant) => applicant = true,
            Some(By::System) => {}
            // Versions written before `by:` existed: the applicant's, unless automatic.
            None => applicant |= !automatic,
        }
    }
    let department = state.and_then(|s| s.department.clone());
    Some(Receiver {
        state: id.to_string(),
        label: state_label(p, id),
        department_name: department.as_deref().map(|d| department_name(p, d)),
        department,
        role_names: roles.iter().map(|r| role_name(p, r)).collect(),
        roles,
        applicant,
    })
}

fn state_label(p: &Procedure, id: &str) -> String {
    p.state(id)
        .map_or_else(|| id.to_string(), |s| s.label.clone())
}

fn department_name(p: &Procedure, id: &str) -> String {
    p.departments
        .iter()
        .find(|d| d.id == id)
        .map_or_else(|| id.to_string(), |d| d.name.clone())
}

fn role_name(p: &Procedure, id: &str) -> String {
    p.roles
        .iter()
        .find(|r| r.id == id)
        .map_or_else(|| id.to_string(), |r| r.name.clone())
}

/// `t` in Vietnam's time to the minute, as the slip prints it.
pub fn local_minute(t: Timestamp) -> String {
    crate::messages::format::when(t)
}

/// What the slip prints for a class.
pub fn class_label(c: Class) -> &'static str {
    crate::messages::labels::class(c)
}

impl Slip {
    /// The slip as a text table with the form's headings, for a terminal or a printer.
    pub fn table(&self) -> String {
        let mut rows: Vec<[String; 6]> = vec![[
            "STT".into(),
            "Bên giao".into(),
            "Bên nhận".into(),
            "Thời gian".into(),
            "Thời hạn".into(),
            "Kết quả".into(),
        ]];
        for (i, h) in self.handovers.iter().enumerate() {
            let giver = if h.giver.actor == Actor::SYSTEM_ID {
                crate::messages::columns::SYSTEM.to_string()
            } else {
                let mut of = h.giver.role_names.clone();
                of.extend(h.giver.department_names.iter().cloned());
                if of.is_empty() {
                    h.giver.actor.clone()
                } else {
                    format!("{} ({})", h.giver.actor, of.join(", "))
                }
            };
            let receiver: Vec<String> = h
                .receivers
                .iter()
                .map(|r| match (&r.department_name, r.applicant) {
                    (_, true) => format!("Công dân ({})", r.label),
                    (Some(d), false) if !r.role_names.is_empty() => {
                        format!("{d} ({})", r.role_names.join(", "))
                    }
                    (Some(d), false) => d.clone(),
                    (None, false) => r.label.clone(),
                })
                .collect();
            let several = h.ended.len() > 1;
            let named = |e: &Ended, text: String| {
                if several {
                    format!("{}: {text}", e.label)
                } else {
                    text
                }
            };
            let budget: Vec<String> = h
                .ended
                .iter()
                .map(|e| {
                    let text = match (&e.budget, &e.due) {
                        (Some(b), Some(d)) => format!("{b} (đến {d})"),
                        (Some(b), None) => b.clone(),
                        (None, _) => "—".to_string(),
                    };
                    named(e, text)
                })
                .collect();
            let class: Vec<String> = h
                .ended
                .iter()
                .map(|e| named(e, e.class.map_or("—", class_label).to_string()))
                .collect();
            rows.push([
                (i + 1).to_string(),
                giver,
                receiver.join("; "),
                h.time.clone(),
                budget.join("; "),
                class.join("; "),
            ]);
        }
        let mut out = format!(
            "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ\nMã hồ sơ: {}\nThủ tục: {} ({}, phiên bản {})\n",
            self.dossier, self.procedure.name, self.procedure.code, self.procedure.version
        );
        if let Some(a) = &self.applicant {
            out.push_str(&format!("Người nộp: {a}\n"));
        }
        if let Some(a) = &self.appointment {
            out.push_str(&format!("Hẹn trả kết quả: {a}\n"));
        }
        out.push('\n');
        out.push_str(&align(&rows));
        out.push('\n');
        match &self.resolution {
            Some(r) => out.push_str(&format!(
                "Kết quả giải quyết: {} ({}, hẹn {})\n",
                class_label(r.class),
                r.time,
                r.appointment
            )),
            None => out.push_str("Kết quả giải quyết: chưa giải quyết xong\n"),
        }
        out
    }
}

/// Rows padded to their columns' widths (in characters: Vietnamese letters are one each).
fn align(rows: &[[String; 6]]) -> String {
    let mut widths = [0usize; 6];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        out.push_str(cells.join(" | ").trim_end());
        out.push('\n');
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("-+-"));
            out.push('\n');
        }
    }
    out
}
