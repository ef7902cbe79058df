//! A sheet as an Excel workbook (`rust_xlsxwriter`): counts and shares stored as numbers
//! (a share as its fraction with a percent format, so Excel sums and charts them and prints
//! them in the reader's own locale), instants as Excel dates in Vietnam's local time, a bold
//! header row kept in view and filterable, columns wide enough for their text.

use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Workbook};

use super::{Cell, Error, Sheet};

/// Rows one worksheet holds, header included (Excel's limit).
pub const MAX_ROWS: usize = 1_048_576;

/// No column grows wider than this (characters); longer text wraps in Excel's cell view.
const WIDEST: usize = 60;

/// The workbook's bytes.
pub fn write(sheet: &Sheet) -> Result<Vec<u8>, Error> {
    if sheet.rows.len() >= MAX_ROWS {
        return Err(Error::TooManyRows {
            rows: sheet.rows.len(),
            max: MAX_ROWS - 1,
        });
    }
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet.name)?;
    let bold = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Top);
    let count = Format::new().set_num_format("#,##0");
    let serial = Format::new().set_num_format("0");
    let rate = Format::new().set_num_format("0.0%");
    let time = Format::new().set_num_format("dd/mm/yyyy hh:mm");
    let decimals: Vec<Format> = (0..=4)
        .map(|p| {
            let f = if p == 0 {
                "#,##0".to_string()
            } else {
                format!("#,##0.{}", "0".repeat(p))
            };
            Format::new().set_num_format(f)
        })
        .collect();
    let mut widths: Vec<usize> = sheet.header.iter().map(|h| width(h).min(24)).collect();
    for (c, h) in sheet.header.iter().enumerate() {
        ws.write_string_with_format(0, col(c)?, h, &bold)?;
    }
    for (r, cells) in sheet.rows.iter().enumerate() {
        // Checked above: fewer rows than MAX_ROWS, which fits u32.
        let r = u32::try_from(r + 1).map_err(|_| Error::TooManyRows {
            rows: sheet.rows.len(),
            max: MAX_ROWS - 1,
        })?;
        for (c, cell) in cells.iter().enumerate() {
            let cc = col(c)?;
            let shown = match cell {
                Cell::Text(s) => {
                    ws.write_string(r, cc, s)?;
                    width(s)
                }
                Cell::Count(n) => {
                    ws.write_number_with_format(r, cc, *n as f64, &count)?;
                    n.to_string().len() + n.to_string().len() / 3
                }
                Cell::Serial(n) => {
                    ws.write_number_with_format(r, cc, *n as f64, &serial)?;
                    n.to_string().len()
                }
                Cell::Decimal(x, places) => {
                    let f = &decimals[(*places).min(decimals.len() - 1)];
                    ws.write_number_with_format(r, cc, *x, f)?;
                    crate::messages::format::decimal(*x, *places).len()
                }
                Cell::Rate(x) => {
                    ws.write_number_with_format(r, cc, *x, &rate)?;
                    6
                }
                Cell::Time(t) => {
                    ws.write_datetime_with_format(r, cc, local(*t)?, &time)?;
                    16
                }
                Cell::Empty => 0,
            };
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).max(shown);
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(col(c)?, (w + 2).min(WIDEST) as f64)?;
    }
    ws.set_freeze_panes(1, 0)?;
    if !sheet.header.is_empty() {
        let last_row = u32::try_from(sheet.rows.len()).unwrap_or(u32::MAX);
        ws.autofilter(0, 0, last_row, col(sheet.header.len() - 1)?)?;
    }
    Ok(book.save_to_buffer()?)
}

fn col(c: usize) -> Result<u16, Error> {
    u16::try_from(c).map_err(|_| Error::Xlsx(rust_xlsxwriter::XlsxError::RowColumnLimitError))
}

/// Characters, not bytes: Vietnamese letters are two or three bytes each.
fn width(s: &str) -> usize {
    s.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// The instant as Vietnam's wall clock: Excel dates carry no zone, and the reader is there.
fn local(t: jiff::Timestamp) -> Result<ExcelDateTime, Error> {
    let tz = jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh")
        .unwrap_or_else(|_| jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(7)));
    let z = t.to_zoned_datetime(tz);
    let bad = |_| {
        Error::Xlsx(rust_xlsxwriter::XlsxError::DateTimeRangeError(
            t.to_string(),
        ))
    };
    let year = u16::try_from(z.year()).map_err(bad)?;
    let month = u8::try_from(z.month()).map_err(bad)?;
    let day = u8::try_from(z.day()).map_err(bad)?;
    let hour = u16::try_from(z.hour()).map_err(bad)?;
    let minute = u8::try_from(z.minute()).map_err(bad)?;
    let second = f64::from(z.second()) + f64::from(z.millisecond()) / 1000.0;
    Ok(ExcelDateTime::from_ymd(year, month, day)?.and_hms(hour, minute, second)?)
}
