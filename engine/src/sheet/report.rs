//! The on-time report (Decision 766) as a sheet: a row per agency, department, procedure or
//! channel by name, then the total; the same figures as the JSON report, shares as rates.

use super::{Cell, Names, Sheet};
use crate::messages::columns;
use crate::report::{Report, Row};

pub fn sheet(report: &Report, names: &Names) -> Sheet {
    let by = report.query.by;
    let mut header = vec![columns::report_group(by).to_string()];
    header.extend(columns::REPORT.iter().map(|h| h.to_string()));
    let mut rows: Vec<Vec<Cell>> = report
        .rows
        .iter()
        .map(|r| row(Cell::Text(names.group(by, &r.key)), r))
        .collect();
    rows.push(row(Cell::text(columns::TOTAL), &report.total));
    Sheet {
        name: columns::SHEET_REPORT,
        header,
        rows,
    }
}

fn row(key: Cell, r: &Row) -> Vec<Cell> {
    let rate = |x: Option<f64>| x.map_or(Cell::Empty, Cell::Rate);
    vec![
        key,
        Cell::Count(r.received),
        Cell::Count(r.received_online),
        Cell::Count(r.early),
        Cell::Count(r.on_time),
        Cell::Count(r.late),
        Cell::Count(r.ended),
        Cell::Count(r.open_not_due),
        Cell::Count(r.open_overdue),
        Cell::Count(r.paused),
        // Thousandths of a working hour, as hours.
        Cell::Decimal(r.working_milli as f64 / 1000.0, 2),
        rate(r.online_share),
        r.average_working_days
            .map_or(Cell::Empty, |d| Cell::Decimal(d, 2)),
        rate(r.on_time_rate),
        Cell::Count(r.very_satisfied),
        Cell::Count(r.satisfied),
        Cell::Count(r.not_satisfied),
        Cell::Count(r.rated),
        rate(r.rated_share),
    ]
}
