//! Spreadsheets for people: the report, the audit log, the tracking book (form 07) and the
//! staff search list as the provincial offices open them in Excel. A [`Sheet`] is typed cells
//! under Vietnamese headers ([`crate::messages::columns`]); it is written either as CSV
//! ([`csv`]: a UTF-8 byte-order mark, local times, decimal commas, through the one CSV writer
//! that neutralises formulas) or as `.xlsx` ([`xlsx`]: numbers as numbers, instants as Excel
//! dates, a bold header).
//! Names replace ids wherever the catalogue knows them ([`Names`]).
//!
//! The machine exports (JSON, JSON Lines) are not made here and keep every value exactly.

pub mod audit;
pub mod book;
pub mod csv;
mod names;
pub mod report;
pub mod xlsx;

pub use names::Names;

use jiff::Timestamp;

/// One cell, typed so each writer can print it its own way.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// A count: dots between thousands in CSV, a number with a thousands format in `.xlsx`.
    Count(i64),
    /// A sequence or version number: plain digits, never grouped (people quote them).
    Serial(u64),
    /// A figure with this many decimals.
    Decimal(f64, usize),
    /// A share (0.875): `87,5` in CSV under a header ending `(%)`, a percent-formatted
    /// fraction in `.xlsx`.
    Rate(f64),
    /// An instant, in Asia/Ho_Chi_Minh.
    Time(Timestamp),
    Empty,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
}

/// A table under one header row.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// The worksheet's name in `.xlsx` (at most 31 characters, none of `[]:*?/\`).
    pub name: &'static str,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// Why a sheet could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("writing the spreadsheet failed: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// More rows than one worksheet holds (or than a download may hold in memory).
    #[error("{rows} rows do not fit in one sheet (at most {max}): narrow the filter or export CSV")]
    TooManyRows { rows: usize, max: usize },
    #[error("writing the spreadsheet failed: {0}")]
    Write(#[from] std::io::Error),
}
