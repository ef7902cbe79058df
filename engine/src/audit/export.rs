//! Exports of the audit log for inspectors, streamed: an entry is written as soon as it is
//! read, so exporting ten million entries holds no more in memory than exporting ten.
//!
//! - **JSONL**: each entry's stored line, byte for byte, one per line (`\n`). Exported whole
//!   (no filter), line `i` is entry `i`, and sha256 of line `i`'s bytes (without its `\n`) is
//!   the `prev` member of line `i + 1`; the first line's `prev` is [`super::GENESIS`] and the
//!   last line's hash is the head `motcua audit verify` prints, so an inspector re-proves the
//!   chain with nothing but sha256. Filtered, the lines are still the stored ones (each can be
//!   rehashed and found in a full export), but they no longer chain to each other.
//! - **CSV** (RFC 4180: CRLF records, fields with a comma, quote, CR or LF quoted, quotes
//!   doubled): a header, then one row per entry: `seq, at, dossier, procedure, action, actor,
//!   roles, departments, from, to, comment, version, hash`. Lists (roles, departments, states)
//!   are joined with `;`; `at` is RFC 3339 in UTC.

use std::io::Write;

use super::Entry;
use super::query::{self, Filter};
use crate::store::{self, AuditReader};

/// What an export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "jsonl" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            other => Err(format!("unknown export format '{other}' (jsonl or csv)")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The output refused the bytes (a closed pipe, a full disk): the export is incomplete.
    #[error("writing the export failed: {0}")]
    Write(#[from] std::io::Error),
}

/// The CSV header row.
pub const CSV_HEADER: &str =
    "seq,at,dossier,procedure,action,actor,roles,departments,from,to,comment,version,hash";

/// Writes every entry matching `filter`, in sequence order, to `out` as `format`, and returns
/// how many it wrote. Writes go straight to `out`: give it a buffered writer.
pub fn export(
    reader: &dyn AuditReader,
    filter: &Filter,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64, Error> {
    let mut written = 0u64;
    let mut failed: Option<Error> = None;
    let mut row = Vec::with_capacity(1024);
    if format == Format::Csv {
        out.write_all(CSV_HEADER.as_bytes())?;
        out.write_all(b"\r\n")?;
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
                    csv_row(&mut row, e);
                    out.write_all(&row).map_err(Error::from)
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

/// Appends `e` as one CSV record, CRLF included (through the one CSV writer).
pub fn csv_row(out: &mut Vec<u8>, e: &Entry) {
    let fields: [&str; 13] = [
        &e.seq.to_string(),
        &e.at.to_string(),
        &e.dossier,
        &e.procedure,
        &e.action,
        &e.actor,
        &e.roles.join(";"),
        &e.departments.join(";"),
        &e.from.join(";"),
        &e.to.join(";"),
        e.comment.as_deref().unwrap_or(""),
        &e.version.to_string(),
        &e.hash,
    ];
    motcua_core::csv::record(out, fields);
}
