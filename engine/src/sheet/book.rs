//! The tracking book (form 07) as a sheet: a row per dossier in receipt order, its times as
//! instants, its handovers one per line in one cell, its class and status by their labels.

use super::{Cell, Names, Sheet};
use crate::audit::book::{Book, Row};
use crate::audit::slip::Handover;
use crate::messages::{columns, labels};

pub fn sheet(book: &Book, names: &Names) -> Sheet {
    Sheet {
        name: columns::SHEET_BOOK,
        header: columns::BOOK.iter().map(|h| h.to_string()).collect(),
        rows: book
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| row(i + 1, r, names))
            .collect(),
    }
}

fn row(n: usize, r: &Row, names: &Names) -> Vec<Cell> {
    let time = |t: Option<jiff::Timestamp>| t.map_or(Cell::Empty, Cell::Time);
    vec![
        Cell::Serial(n as u64),
        Cell::text(&r.code),
        Cell::text(&r.applicant),
        Cell::text(&r.applicant_id),
        Cell::text(&r.procedure_name),
        Cell::text(&r.procedure_code),
        Cell::Time(r.received_at),
        Cell::Time(r.appointment),
        Cell::Text(
            r.handovers
                .iter()
                .map(|h| handover(h, &|id| names.person(id)))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        time(r.result_at),
        time(r.returned_at),
        r.class
            .map_or(Cell::Empty, |c| Cell::text(labels::class(c))),
        Cell::text(labels::status(r.status)),
    ]
}

/// One handover as the book writes it: "07/12/2026 09:15 · Chuyển hộ tịch: Nguyễn Văn An
/// (Bộ phận tiếp nhận và trả kết quả) → Phòng Tư pháp". The giver by `person` (their name),
/// with their departments; each receiver by its department, else its step; the applicant
/// as "Công dân".
pub fn handover(h: &Handover, person: &dyn Fn(&str) -> String) -> String {
    let giver = if h.giver.department_names.is_empty() {
        person(&h.giver.actor)
    } else {
        format!(
            "{} ({})",
            person(&h.giver.actor),
            h.giver.department_names.join(", ")
        )
    };
    let mut receivers: Vec<String> = vec![];
    for r in &h.receivers {
        let name = if r.applicant {
            columns::APPLICANT.to_string()
        } else {
            r.department_name.clone().unwrap_or_else(|| r.label.clone())
        };
        if !receivers.contains(&name) {
            receivers.push(name);
        }
    }
    let to = if receivers.is_empty() {
        String::new()
    } else {
        format!(" → {}", receivers.join("; "))
    };
    format!("{} · {}: {giver}{to}", h.time, h.label)
}
