//! A report as a terminal and programs read it: an aligned table or JSON. The spreadsheets
//! people open (CSV for Excel, `.xlsx`) are the facade's `motcua::sheet`, which names rows
//! from the catalogue and words them in Vietnamese.

use serde::{Deserialize, Serialize};

use super::{Error, Report, Row};

/// How a report is written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Table,
    Json,
}

impl Report {
    /// The report in `format`; the text ends with a line break.
    pub fn render(&self, format: Format) -> Result<String, Error> {
        Ok(match format {
            Format::Table => self.table(),
            Format::Json => {
                let mut s = serde_json::to_string_pretty(self)?;
                s.push('\n');
                s
            }
        })
    }

    /// Aligned columns for a terminal: shares as percentages, times in working days.
    pub fn table(&self) -> String {
        let q = &self.query;
        let mut header = vec![q.by.name().to_string()];
        header.extend(
            [
                "received",
                "online",
                "early",
                "on time",
                "late",
                "ended",
                "on-time rate",
                "avg days",
                "open not due",
                "open overdue",
                "paused",
            ]
            .map(String::from),
        );
        let line = |r: &Row| {
            let key = if r.key.is_empty() {
                "(none)".to_string()
            } else {
                r.key.clone()
            };
            vec![
                key,
                r.received.to_string(),
                percent(r.online_share),
                r.early.to_string(),
                r.on_time.to_string(),
                r.late.to_string(),
                r.ended.to_string(),
                percent(r.on_time_rate),
                r.average_working_days
                    .map_or_else(|| "-".to_string(), |d| format!("{d:.2}")),
                r.open_not_due.to_string(),
                r.open_overdue.to_string(),
                r.paused.to_string(),
            ]
        };
        let mut lines: Vec<Vec<String>> = vec![header];
        lines.extend(self.rows.iter().map(line));
        let total = line(&self.total);
        let mut widths: Vec<usize> = vec![0; total.len()];
        for cells in lines.iter().chain(std::iter::once(&total)) {
            for (w, c) in widths.iter_mut().zip(cells) {
                *w = (*w).max(c.chars().count());
            }
        }
        let write = |out: &mut String, cells: &[String]| {
            let mut text = String::new();
            for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                let pad = " ".repeat(w - c.chars().count());
                // Names read left to right, numbers line up on their last digit.
                if i == 0 {
                    text.push_str(c);
                    text.push_str(&pad);
                } else {
                    text.push_str("  ");
                    text.push_str(&pad);
                    text.push_str(c);
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        let mut out = format!(
            "On-time report {} to {}, by {}\n",
            q.from,
            q.to,
            q.by.name()
        );
        for cells in &lines {
            write(&mut out, cells);
        }
        let rule: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
        out.push_str(&"-".repeat(rule));
        out.push('\n');
        write(&mut out, &total);
        out
    }
}

fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |x| format!("{:.1}%", x * 100.0))
}
