//! A sheet as CSV for Excel: the UTF-8 byte-order mark first (without it Excel reads the
//! file in the machine's code page and Vietnamese turns to mojibake), then RFC 4180 records
//! through [`motcua_core::csv`], so no cell starts a formula. Figures are written the
//! Vietnamese way (`1.234`, `87,5`, `05/01/2026 14:30`); a cell holding a comma is quoted,
//! so the decimal comma never splits a cell.

use super::{Cell, Sheet};
use crate::messages::format;

/// UTF-8's byte-order mark, which tells Excel the file's encoding.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The whole sheet: the mark, the header, every row.
pub fn write(sheet: &Sheet) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 * (sheet.rows.len() + 1));
    out.extend_from_slice(BOM);
    header(&mut out, &sheet.header);
    for r in &sheet.rows {
        row(&mut out, r);
    }
    out
}

/// The header record (the mark is the caller's, once per file).
pub fn header<S: AsRef<str>>(out: &mut Vec<u8>, names: &[S]) {
    motcua_core::csv::record(out, names.iter().map(AsRef::as_ref));
}

/// One record of cells, CRLF included.
pub fn row(out: &mut Vec<u8>, cells: &[Cell]) {
    let texts: Vec<String> = cells.iter().map(text).collect();
    motcua_core::csv::record(out, texts.iter().map(String::as_str));
}

/// A cell as a Vietnamese reader writes it.
pub fn text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Count(n) => format::number(*n),
        Cell::Serial(n) => n.to_string(),
        Cell::Decimal(x, places) => format::decimal(*x, *places),
        Cell::Rate(x) => format::rate(*x),
        Cell::Time(t) => format::when(*t),
        Cell::Empty => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_starts_with_the_mark_and_decimal_commas_stay_in_their_cell() {
        let sheet = Sheet {
            name: "x",
            header: vec!["Đơn vị".into(), "Tỷ lệ (%)".into(), "Thời điểm".into()],
            rows: vec![vec![
                Cell::text("=Phòng Tư pháp"),
                Cell::Rate(0.875),
                Cell::Time("2026-01-05T17:00:00Z".parse().expect("instant")),
            ]],
        };
        let out = write(&sheet);
        assert!(out.starts_with(BOM));
        let text = std::str::from_utf8(&out[BOM.len()..]).expect("UTF-8");
        assert_eq!(
            text,
            "Đơn vị,Tỷ lệ (%),Thời điểm\r\n'=Phòng Tư pháp,\"87,5\",06/01/2026 00:00\r\n"
        );
        assert_eq!(super::text(&Cell::Count(12_345)), "12.345");
        assert_eq!(super::text(&Cell::Serial(12_345)), "12345");
    }
}
