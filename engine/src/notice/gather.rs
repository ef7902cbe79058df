//! The facts of a notice, from the stored dossier as it is now (its contact above all: a
//! correction the desk made reaches the next notice), the event's own data (the dates an
//! extension or apology moved) and the entry that made the event (its reason, the papers it
//! asked for).

use std::collections::BTreeMap;

use super::{Facts, Kind};
use crate::audit::{Entry, SystemAction};
use crate::dossier::transition::Event;
use crate::dossier::{Dossier, NoticeChannel};
use crate::engine::Engine;
use crate::messages::format;
use crate::messages::notices::{NOT_GIVEN, office_unknown};
use crate::office::Offices;
use crate::procedure::{InputKind, Procedure};

/// Where a notice goes: a channel the applicant agreed to, with their address on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub channel: NoticeChannel,
    pub to: String,
}

/// The notice `event` calls for and who receives it, or `None`: not an event the applicant
/// is told of, a linked group's child (the parent's applicant hears of the parent), or an
/// applicant who agreed to no channel they have an address on. `status_link` makes the
/// status page's link of a dossier code (it holds the slip's secret, which the server keys).
pub fn gather(
    engine: &Engine,
    offices: &Offices,
    status_link: &dyn Fn(&str) -> Option<String>,
    event: &Event,
) -> crate::Result<Option<(Facts, Vec<Reach>)>> {
    let d = engine.dossier(&event.dossier)?;
    if d.parent.is_some() {
        return Ok(None);
    }
    let reach = reach(&d);
    if reach.is_empty() {
        return Ok(None);
    }
    let compiled = engine.pinned_procedure(&d)?;
    let p = &compiled.procedure;
    let Some(kind) = Kind::of(event, p) else {
        return Ok(None);
    };
    let history = match kind {
        Kind::Supplement | Kind::Refused | Kind::Stopped => engine.history(&d.code)?,
        _ => vec![],
    };
    Ok(Some((
        facts(kind, &d, p, offices, status_link, event, &history),
        reach,
    )))
}

fn reach(d: &Dossier) -> Vec<Reach> {
    let a = &d.applicant;
    a.notify_by
        .iter()
        .filter_map(|&channel| {
            let to = match channel {
                NoticeChannel::Email => a.email.clone(),
                NoticeChannel::Sms => a.phone.clone(),
            }?;
            Some(Reach { channel, to })
        })
        .collect()
}

fn facts(
    kind: Kind,
    d: &Dossier,
    p: &Procedure,
    offices: &Offices,
    status_link: &dyn Fn(&str) -> Option<String>,
    event: &Event,
    history: &[Entry],
) -> Facts {
    let instant = |key: &str| {
        event
            .payload
            .get(key)
            .and_then(|v| serde_json::from_value::<jiff::Timestamp>(v.clone()).ok())
    };
    let text = |key: &str| {
        event
            .payload
            .get(key)
            .and_then(|v| v.as_str())
            .filter(|s| !s.trim().is_empty())
            .map(String::from)
    };
    let appointment = match kind {
        Kind::Received => instant("due_at").unwrap_or(d.clock.due_at),
        _ => d.clock.due_at,
    };
    let (old, new) = match kind {
        Kind::Extended => (instant("old_appointment"), instant("new_appointment")),
        Kind::Apology => (instant("appointment"), instant("promised")),
        _ => (None, None),
    };
    // The officer's entry that made the event: its comment is the reason, its documents
    // input the papers asked for.
    let action = text("action");
    let made = history.iter().rposition(|e| {
        e.at == event.at
            && !SystemAction::is_system(&e.action)
            && action.as_ref().is_none_or(|a| a == &e.action)
    });
    let entry = made.map(|i| &history[i]);
    let reason = match kind {
        Kind::Extended | Kind::Apology => text("reason"),
        _ => entry.and_then(|e| e.comment.clone()),
    }
    .filter(|r| !r.trim().is_empty())
    .map(|r| named_in(p, &r))
    .unwrap_or_else(|| NOT_GIVEN.into());
    let mut asked = entry.map(|e| asked_documents(p, e)).unwrap_or_default();
    // An automatic check names no papers in its entry: what to bring is then the required
    // checklist items the dossier lacks.
    // The dossier has moved on since (a supplement brought), so the papers held then are
    // today's less those first named by a later entry.
    if asked.is_empty() && kind == Kind::Supplement {
        let named = |es: &[Entry]| -> Vec<String> {
            es.iter().flat_map(|e| named_documents(p, e)).collect()
        };
        let split = made.map_or(history.len(), |i| i + 1);
        let (before, after) = history.split_at(split);
        let (before, after) = (named(before), named(after));
        let held =
            |id: &String| d.documents.contains(id) && (!after.contains(id) || before.contains(id));
        asked = p
            .documents
            .iter()
            .filter(|doc| doc.required && !held(&doc.id))
            .map(|doc| doc.name.clone())
            .collect();
    }
    let office = offices.of(&p.agency.id);
    let (place, place_short) = match office {
        Some(o) => {
            let mut long = format!("{}, {} ({})", o.name, o.address, o.hours);
            if let Some(phone) = &o.phone {
                long.push_str(&format!("; điện thoại {phone}"));
            }
            (long, format!("{}, {}", o.name, o.address))
        }
        None => {
            let unknown = office_unknown(&p.agency.name);
            (unknown.clone(), unknown)
        }
    };
    let given = |v: Option<&String>| v.cloned().unwrap_or_else(|| NOT_GIVEN.into());
    let result = d
        .active_states()
        .filter_map(|s| p.state(s))
        .map(|s| s.label.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let mut values: BTreeMap<&'static str, String> = BTreeMap::new();
    values.insert("ma_ho_so", d.code.clone());
    values.insert("thu_tuc", p.name.clone());
    values.insert("nguoi_nop", d.applicant.name.clone());
    values.insert("co_quan", p.agency.name.clone());
    values.insert("ngay_nop", format::when(d.clock.received_at));
    values.insert("ngay_hen", format::appointment(appointment));
    values.insert(
        "ngay_hen_cu",
        format::appointment(old.unwrap_or(appointment)),
    );
    values.insert(
        "ngay_hen_moi",
        format::appointment(new.unwrap_or(appointment)),
    );
    values.insert("ngay_su_kien", format::when(event.at));
    values.insert("ly_do", reason);
    values.insert(
        "giay_to",
        if asked.is_empty() {
            NOT_GIVEN.into()
        } else {
            asked
                .iter()
                .map(|n| format!("- {n}"))
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
    values.insert(
        "giay_to_ngan",
        if asked.is_empty() {
            NOT_GIVEN.into()
        } else {
            asked.join("; ")
        },
    );
    values.insert("noi_nhan", place);
    values.insert("noi_nhan_ngan", place_short);
    values.insert("dia_chi", given(office.map(|o| &o.address)));
    values.insert("gio_lam_viec", given(office.map(|o| &o.hours)));
    values.insert("dien_thoai", given(office.and_then(|o| o.phone.as_ref())));
    values.insert(
        "tra_cuu",
        status_link(d.public_code()).unwrap_or_else(|| NOT_GIVEN.into()),
    );
    values.insert(
        "ket_qua",
        if result.is_empty() {
            NOT_GIVEN.into()
        } else {
            result
        },
    );
    Facts {
        kind,
        procedure_id: p.id.clone(),
        values,
    }
}

/// `text` with each checklist id written in it (an automatic check's note names them) replaced
/// by the paper's name: the applicant reads names, never ids.
fn named_in(p: &Procedure, text: &str) -> String {
    let mut out = text.to_string();
    for doc in &p.documents {
        if doc.id.contains(['-', '_']) {
            out = out.replace(&doc.id, &doc.name);
        }
    }
    out
}

/// The checklist ids an entry names: its action's `documents` inputs, or a receipt's list.
fn named_documents(p: &Procedure, e: &Entry) -> Vec<String> {
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(String::from))
            .collect()
    };
    match p.actions.iter().find(|a| a.id == e.action) {
        Some(action) => action
            .inputs
            .iter()
            .filter(|i| i.kind == InputKind::Documents)
            .filter_map(|i| e.input.get(&i.name))
            .flat_map(ids)
            .collect(),
        None => e.input.get("documents").map(ids).unwrap_or_default(),
    }
}

/// The papers an officer's entry asked for, by name: its `documents` inputs only.
fn asked_documents(p: &Procedure, e: &Entry) -> Vec<String> {
    if p.actions.iter().all(|a| a.id != e.action) {
        return vec![];
    }
    named_documents(p, e)
        .into_iter()
        .map(|id| {
            p.documents
                .iter()
                .find(|doc| doc.id == id)
                .map_or_else(|| id.to_string(), |doc| doc.name.clone())
        })
        .collect()
}
