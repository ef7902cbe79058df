//! Exports of the audit log for inspectors, streamed: an entry is written as soon as it is
//! read, so exporting ten million entries holds no more in memory than exporting ten.
//!
//! - **JSONL**: each entry's stored line, byte for byte, one per line (`\n`). Exported whole
//!   (no filter), line `i` is entry `i`, and sha256 of line `i`'s bytes (without its `\n`) is
//!   the `prev` member of line `i + 1`; the first line's `prev` is [`super::GENESIS`] and the
//!   last line's hash is the head `motcua audit verify` prints, so an inspector re-proves the
//!   chain with nothing but sha256. Filtered, the lines are still the stored ones (each can be
//!   rehashed and found in a full export), but they no longer chain to each other.
//! - **CSV**, for people opening it in Excel ([`crate::sheet`]): the UTF-8 byte-order mark,
//!   a Vietnamese header ([`crate::messages::columns::AUDIT`]), then one RFC 4180 record per
//!   entry (CRLF; fields with a comma, semicolon, quote, CR or LF quoted, quotes doubled, no
//!   cell starting a formula): seq, local time (`dd/mm/yyyy HH:MM`, Asia/Ho_Chi_Minh),
//!   dossier, procedure, action, officer, roles, departments, from, to, comment, version,
//!   hash, each by its name where [`Names`] knows it; lists are joined with `; `. The exact
//!   instant and ids are the JSON Lines export's.
//! - **XLSX**: the same rows as an Excel workbook (times as Excel dates, seq and version as
//!   numbers), built in memory and so bounded: at most [`XLSX_MAX`] entries, more is refused
//!   before anything is written.

use std::io::Write;

use super::Entry;
use super::query::{self, Filter};
use crate::sheet::{self, Names};
use crate::store::{self, AuditReader};

/// What an export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
    Xlsx,
}

/// The most entries one `.xlsx` export holds: a workbook is built whole in memory, and a
/// longer selection is the CSV's or the JSON Lines' (both streamed).
pub const XLSX_MAX: usize = 100_000;

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "jsonl" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            other => Err(format!(
                "unknown export format '{other}' (jsonl, csv or xlsx)"
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    /// More entries match than one workbook holds; nothing was written.
    #[error(
        "{XLSX_MAX} entries at most fit one .xlsx export: narrow the filter or export CSV or JSON Lines"
    )]
    TooMany,
    #[error(transparent)]
    Sheet(#[from] sheet::Error),
    /// The output refused the bytes (a closed pipe, a full disk): the export is incomplete.
    #[error("writing the export failed: {0}")]
    Write(#[from] std::io::Error),
}

/// Writes every entry matching `filter`, in sequence order, to `out` as `format`, and returns
/// how many it wrote; the CSV names what `names` knows. Writes go straight to `out`: give it
/// a buffered writer.
pub fn export(
    reader: &dyn AuditReader,
    filter: &Filter,
    format: Format,
    names: &Names,
    out: &mut dyn Write,
) -> Result<u64, Error> {
    let mut written = 0u64;
    let mut failed: Option<Error> = None;
    let mut row = Vec::with_capacity(1024);
    let mut rows: Vec<Vec<sheet::Cell>> = Vec::new();
    if format == Format::Csv {
        let mut head = sheet::csv::BOM.to_vec();
        sheet::csv::header(&mut head, &sheet::audit::header());
        out.write_all(&head)?;
    }
    if format == Format::Jsonl && filter.is_empty() {
        // The whole log: copy the stored bytes, no need to parse a line.
        reader.audit_lines(1, &mut |_, line| {
            match out.write_all(line).and_then(|()| out.write_all(b"\n")) {
                Ok(()) => written += 1,
                Err(e) => failed = Some(e.into()),
            }
            failed.is_none()
        })?;
    } else {
        query::walk(reader, filter, 0, None, &mut |e, line| {
            let done = match format {
                Format::Jsonl => jsonl(reader, e, line, out),
                Format::Csv => {
                    row.clear();
                    sheet::csv::row(&mut row, &sheet::audit::row(e, names));
                    out.write_all(&row).map_err(Error::from)
                }
                Format::Xlsx if rows.len() >= XLSX_MAX => Err(Error::TooMany),
                Format::Xlsx => {
                    rows.push(sheet::audit::row(e, names));
                    Ok(())
                }
            };
            match done {
                Ok(()) => written += 1,
                Err(e) => failed = Some(e),
            }
            failed.is_none()
        })?;
    }
    if let Some(e) = failed {
        return Err(e);
    }
    if format == Format::Xlsx {
        let book = sheet::xlsx::write(&sheet::Sheet {
            name: crate::messages::columns::SHEET_AUDIT,
            header: sheet::audit::header(),
            rows,
        })?;
        out.write_all(&book)?;
    }
    out.flush()?;
    Ok(written)
}

/// Writes `e`'s stored line; a dossier's history comes parsed, so its line is read again.
fn jsonl(
    reader: &dyn AuditReader,
    e: &Entry,
    line: Option<&[u8]>,
    out: &mut dyn Write,
) -> Result<(), Error> {
    match line {
        Some(l) => out.write_all(l)?,
        None => out.write_all(&query::entry_at(reader, e.seq)?.1)?,
    }
    out.write_all(b"\n")?;
    Ok(())
}
