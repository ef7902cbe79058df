//! The tracking book (sổ theo dõi hồ sơ, form 07): every dossier an agency received on the
//! local days of a period, in receipt order, with its applicant, procedure, receipt and
//! appointment, its handovers (the process-control slip's, [`super::slip`]), when its result
//! was issued and returned (the first entry into a state of national status 9 "Đã xử lý
//! xong" and 10 "Đã trả kết quả") and its class once resolved (`Clock::resolved`).
//!
//! The dossiers are listed through the store's `rc` index (agency and local day of receipt),
//! a page at a time; only the book's own rows are held, at most [`MAX_ROWS`], over at most
//! [`MAX_DAYS`] days.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use super::slip::{self, Handover};
use crate::catalog::Compiled;
use crate::deadline::Class;
use crate::dossier::Dossier;
use crate::procedure::Procedure;
use crate::store::{self, Query as Listing};

/// The longest period a book covers, in days (both ends included).
pub const MAX_DAYS: i64 = 366;
/// The most dossiers one book holds; a longer one must be read over a shorter period.
pub const MAX_ROWS: usize = 20_000;
/// Codes read from the index at a time.
const PAGE: usize = 500;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Engine(#[from] crate::Error),
    /// The period is reversed, longer than [`MAX_DAYS`], or outside 2000–2099 (the dossier
    /// code's two-digit year).
    #[error(
        "the period {from} to {to} is not one a tracking book covers (at most {max} days, from before to, in 2000-2099)"
    )]
    Period { from: Date, to: Date, max: i64 },
    /// The agency is not an id a procedure could name (empty, past 128 bytes, a control
    /// character).
    #[error("'{0}' is not an agency's electronic id")]
    Agency(String),
    #[error("more than {max} dossiers were received in the period: choose a shorter one")]
    TooMany { max: usize },
    #[error("the index names dossier {0}, which the store does not hold")]
    Missing(String),
}

/// Whose book, over which local days (both included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Query {
    pub agency: String,
    pub from: Date,
    pub to: Date,
}

impl Query {
    /// Refuses a reversed period, one over [`MAX_DAYS`] and days outside 2000–2099.
    pub fn check(&self) -> Result<(), Error> {
        if self.agency.is_empty()
            || self.agency.len() > 128
            || self.agency.chars().any(char::is_control)
        {
            return Err(Error::Agency(self.agency.chars().take(128).collect()));
        }
        let bad = || Error::Period {
            from: self.from,
            to: self.to,
            max: MAX_DAYS,
        };
        if self.from > self.to || !(2000..=2099).contains(&self.from.year()) {
            return Err(bad());
        }
        if !(2000..=2099).contains(&self.to.year()) {
            return Err(bad());
        }
        let days = self
            .from
            .until(self.to)
            .map_err(|_| bad())?
            .get_days()
            .saturating_add(1);
        if i64::from(days) > MAX_DAYS {
            return Err(bad());
        }
        Ok(())
    }
}

/// The book: its query, the agency's name, a row per dossier in receipt order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Book {
    pub query: Query,
    /// The agency's name in the procedures of its dossiers (its id when none was read).
    pub agency_name: String,
    pub rows: Vec<Row>,
}

/// One dossier in the book.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub code: String,
    pub applicant: String,
    pub applicant_id: String,
    pub procedure: String,
    /// The procedure's national code (e.g. `1.001193`).
    pub procedure_code: String,
    pub procedure_name: String,
    pub received_at: Timestamp,
    /// The appointment as it stands (moved by pauses and extensions).
    pub appointment: Timestamp,
    /// Every handover after the receipt, as the process-control slip lists them.
    pub handovers: Vec<Handover>,
    /// The first entry into a state of national status 9 (or 10, when the result was issued
    /// and returned in one step).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_at: Option<Timestamp>,
    /// The first entry into a state of national status 10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub returned_at: Option<Timestamp>,
    /// Early, on time or late, once resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<Class>,
    /// The national status now (1–10).
    pub status: u8,
}

/// The book of `query` from `engine`'s store: the dossiers `keep` accepts (the caller's
/// access rule), each with the procedure version it is pinned to.
pub fn read(
    engine: &crate::Engine,
    query: &Query,
    keep: &mut dyn FnMut(&Dossier, &Procedure) -> bool,
) -> Result<Book, Error> {
    query.check()?;
    let reader = engine.store();
    let listing = Listing::Received {
        agency: query.agency.clone(),
        from: yymmdd(query.from),
        to: yymmdd(query.to),
    };
    let mut pinned: HashMap<String, Arc<Compiled>> = HashMap::new();
    let mut rows = vec![];
    let mut agency_name = None;
    let mut after: Option<String> = None;
    loop {
        let page = reader.list(&listing, after.as_deref(), PAGE)?;
        for code in &page.codes {
            let d = reader
                .dossier(code)?
                .ok_or_else(|| Error::Missing(code.clone()))?;
            let c = match pinned.get(&d.procedure_hash) {
                Some(c) => c.clone(),
                None => {
                    let c = engine.pinned_procedure(&d)?;
                    pinned.insert(d.procedure_hash.clone(), c.clone());
                    c
                }
            };
            let p = &c.procedure;
            if !keep(&d, p) {
                continue;
            }
            if rows.len() >= MAX_ROWS {
                return Err(Error::TooMany { max: MAX_ROWS });
            }
            if agency_name.is_none() && p.agency.id == query.agency {
                agency_name = Some(p.agency.name.clone());
            }
            let history = reader.history(code)?;
            rows.push(row(p, &d, &history));
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(Book {
        agency_name: agency_name.unwrap_or_else(|| query.agency.clone()),
        query: query.clone(),
        rows,
    })
}

/// A dossier's row from its procedure version and history (pure).
pub fn row(p: &Procedure, d: &Dossier, history: &[super::Entry]) -> Row {
    let into = |status: &[u8]| {
        history
            .iter()
            .find(|e| {
                e.to.iter()
                    .any(|s| p.state(s).is_some_and(|x| status.contains(&x.status)))
            })
            .map(|e| e.at)
    };
    let handovers = slip::build(p, Some(d), history)
        .handovers
        .into_iter()
        .filter(|h| h.action != "submit")
        .collect();
    Row {
        code: d.code.clone(),
        applicant: d.applicant.name.clone(),
        applicant_id: d.applicant.id.clone(),
        procedure: d.procedure.clone(),
        procedure_code: p.code.clone(),
        procedure_name: p.name.clone(),
        received_at: d.clock.received_at,
        appointment: d.clock.due_at,
        handovers,
        result_at: into(&[9, 10]),
        returned_at: into(&[10]),
        class: d
            .clock
            .resolved
            .as_ref()
            .map(|r| r.class)
            .or_else(|| d.ending.as_ref().and_then(|e| e.class)),
        status: d.status,
    }
}

/// A local day as the `rc` index and the dossier code write it.
fn yymmdd(d: Date) -> String {
    format!("{:02}{:02}{:02}", d.year() % 100, d.month(), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(from: &str, to: &str) -> Query {
        Query {
            agency: "X".into(),
            from: from.parse().expect("day"),
            to: to.parse().expect("day"),
        }
    }

    #[test]
    fn a_period_is_forward_at_most_366_days_and_in_the_codes_century() {
        assert!(q("2026-12-01", "2026-12-31").check().is_ok());
        assert!(q("2024-01-01", "2024-12-31").check().is_ok(), "a leap year");
        assert!(q("2026-12-02", "2026-12-01").check().is_err());
        assert!(q("2025-01-01", "2026-01-02").check().is_err());
        assert!(q("1999-12-31", "2000-01-01").check().is_err());
        assert_eq!(yymmdd("2026-12-07".parse().expect("day")), "261207");
    }
}
