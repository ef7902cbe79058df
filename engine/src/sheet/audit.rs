//! Audit entries as sheet rows: the local time, names for the procedure, action, officer,
//! roles, departments and steps, the comment, and the seq, version and hash an inspector
//! quotes to find the entry in the JSON Lines export.

use super::{Cell, Names};
use crate::audit::Entry;
use crate::messages::columns;

pub fn header() -> Vec<String> {
    columns::AUDIT.iter().map(|h| h.to_string()).collect()
}

pub fn row(e: &Entry, names: &Names) -> Vec<Cell> {
    let list = |ids: &[String], name: &dyn Fn(&str) -> String| {
        ids.iter().map(|i| name(i)).collect::<Vec<_>>().join("; ")
    };
    let state = |s: &str| names.state(&e.procedure, s);
    let actor = match &e.on_behalf {
        // The applicant's own step, recorded by the officer at the desk.
        Some(applicant) => format!("{} (thay công dân {applicant})", names.person(&e.actor)),
        None => names.person(&e.actor),
    };
    vec![
        Cell::Serial(e.seq),
        Cell::Time(e.at),
        Cell::text(&e.dossier),
        Cell::Text(names.procedure(&e.procedure)),
        Cell::Text(names.action(&e.procedure, &e.action)),
        Cell::Text(actor),
        Cell::Text(list(&e.roles, &|r| names.role(r))),
        Cell::Text(list(&e.departments, &|d| names.department(d))),
        Cell::Text(list(&e.from, &state)),
        Cell::Text(list(&e.to, &state)),
        Cell::text(
            crate::messages::events::comment_of(
                &e.action,
                &e.actor,
                e.comment.as_deref(),
                &e.input,
                &crate::messages::errors::InProcedure {
                    names,
                    procedure: &e.procedure,
                },
                &|id| names.person(id),
            )
            .unwrap_or_default(),
        ),
        Cell::Serial(e.version),
        Cell::text(&e.hash),
    ]
}
