//! Spreadsheets people open in Excel, from the real server: the report and the audit log as
//! CSV (a UTF-8 byte-order mark, Vietnamese headers, names, local times, decimal commas; read
//! back here with an RFC 4180 reader) and as `.xlsx` (opened with calamine, a reader that is
//! not ours), holding the same figures as the JSON the same server answers.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use motcua::audit::Entry;
use motcua::messages::columns;
use serde_json::{Value, json};

use crate::http::{self, AUDITOR, DESK, Server};

const MONDAY_MORNING: &str = "2026-12-07T08:30:00+07:00";
const PERIOD: &str = "from=2026-12-01&to=2026-12-31";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// RFC 4180 records (quoted fields, doubled quotes, CRLF), the long way round.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = vec![];
    let mut row = vec![];
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "records end in CRLF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "the last record ends in CRLF"
    );
    rows
}

/// A CSV for Excel: the mark first, then UTF-8 records.
pub fn excel_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = bytes
        .strip_prefix(BOM)
        .expect("the UTF-8 byte-order mark comes first, or Excel reads mojibake");
    parse_csv(std::str::from_utf8(text).expect("UTF-8"))
}

/// The only sheet of a workbook, as rows of cells.
fn workbook(bytes: &[u8], sheet: &str) -> Vec<Vec<Data>> {
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("an .xlsx");
    assert_eq!(wb.sheet_names(), [sheet]);
    let range = wb.worksheet_range(sheet).expect("the sheet");
    range.rows().map(<[Data]>::to_vec).collect()
}

fn number(d: &Data) -> Option<f64> {
    match d {
        Data::Float(x) => Some(*x),
        Data::Int(n) => Some(*n as f64),
        Data::Empty => None,
        other => panic!("a number stored as {other:?}, not as a number"),
    }
}

fn receive(s: &Server, key: &str) -> String {
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", key)],
        &http::house_permit(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["code"].as_str().expect("code").to_string()
}

/// The figures of a JSON report row in the sheet's column order (hours for working time).
fn figures(row: &Value) -> Vec<Option<f64>> {
    let n = |k: &str| row[k].as_f64();
    let mut out: Vec<Option<f64>> = [
        "received",
        "received_online",
        "early",
        "on_time",
        "late",
        "ended",
        "open_not_due",
        "open_overdue",
        "paused",
    ]
    .iter()
    .map(|k| n(k))
    .collect();
    out.push(n("working_milli").map(|m| m / 1000.0));
    out.extend(["online_share", "average_working_days", "on_time_rate"].map(n));
    out.extend(
        [
            "very_satisfied",
            "satisfied",
            "not_satisfied",
            "rated",
            "rated_share",
        ]
        .map(n),
    );
    out
}

#[test]
fn the_report_downloads_as_a_csv_and_an_xlsx_with_the_json_figures_under_vietnamese_headers() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);
    receive(&s, "k1");
    receive(&s, "k2");
    let url = |format: &str| format!("/v1/reports/on-time?{PERIOD}&by=procedure&format={format}");
    let report = s.get(&url("json"), Some(AUDITOR)).json();
    let rows = report["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(report["total"]["received"], 2);
    let key = rows[0]["key"].as_str().expect("key");
    let procedure = s
        .get(&format!("/v1/procedures/{key}"), Some(AUDITOR))
        .json();
    let name = procedure["name"].as_str().expect("the procedure's name");
    let mut header = vec![columns::report_group(motcua::report::By::Procedure).to_string()];
    header.extend(columns::REPORT.iter().map(|h| h.to_string()));

    let xlsx = s.get(&url("xlsx"), Some(AUDITOR));
    assert_eq!(xlsx.status, 200, "{}", xlsx.text());
    assert_eq!(xlsx.header("content-type"), Some(XLSX));
    assert!(
        xlsx.header("content-disposition")
            .is_some_and(|d| d.contains(".xlsx")),
        "a file to save"
    );
    let sheet = workbook(&xlsx.body, columns::SHEET_REPORT);
    let texts = |r: &[Data]| r.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    assert_eq!(texts(&sheet[0]), header, "Vietnamese headers");
    assert_eq!(sheet.len(), 3, "a row per procedure and the total");
    assert_eq!(
        sheet[1][0],
        Data::String(name.to_string()),
        "the name, not the id"
    );
    assert_eq!(sheet[2][0], Data::String(columns::TOTAL.into()));
    for (cells, json) in sheet[1..].iter().zip(rows.iter().chain([&report["total"]])) {
        let got: Vec<Option<f64>> = cells[1..].iter().map(number).collect();
        assert_eq!(got, figures(json), "{json}");
    }
    // A share is a number Excel formats as a percentage: the desk received both.
    assert_eq!(number(&sheet[2][11]), Some(0.0));

    let csv = s.get(&url("csv"), Some(AUDITOR));
    assert!(
        csv.header("content-type")
            .is_some_and(|c| c.starts_with("text/csv"))
    );
    let records = excel_csv(&csv.body);
    assert_eq!(records[0], header);
    assert_eq!(records[1][0], name, "Vietnamese reads back intact");
    assert_eq!(records[2][0], columns::TOTAL);
    assert_eq!(records[2][1..3], ["2", "0"], "counts");
    assert_eq!(records[2][11], "0,0", "a percentage with a decimal comma");
    assert_eq!(
        records[2][12..14],
        ["", ""],
        "nothing ended: no average, no rate"
    );
    assert_eq!(
        records[2][14..],
        ["0", "0", "0", "0", ""],
        "no rating, and no share rated of nothing ended"
    );

    // The screen's downloads are the same files.
    let cookie = s.sign_in(AUDITOR.token);
    let screen = |path: &str| s.request("GET", path, None, &[("cookie", cookie.as_str())], None);
    let from_screen = screen("/bao-cao.xlsx?tu=2026-12-01&den=2026-12-31&theo=procedure");
    assert_eq!(from_screen.status, 200, "{}", from_screen.text());
    assert_eq!(workbook(&from_screen.body, columns::SHEET_REPORT), sheet);
    let from_screen = screen("/bao-cao.csv?tu=2026-12-01&den=2026-12-31&theo=procedure");
    assert_eq!(excel_csv(&from_screen.body), records);
    let page = screen("/bao-cao?tu=2026-12-01&den=2026-12-31&theo=procedure").text();
    assert!(
        page.contains("/bao-cao.xlsx?"),
        "the screen offers the workbook"
    );
}

#[test]
fn the_audit_log_downloads_as_a_csv_and_an_xlsx_with_local_times_and_labels() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);
    let code = receive(&s, "k1");
    let comment = "=Thiếu bản vẽ, \"mặt cắt\"";
    let r = s.post(
        &format!("/v1/dossiers/{code}/actions"),
        Some(DESK),
        &[("if-match", "\"1\"")],
        &json!({"action": "chuyen-kiem-tra", "input": {}, "comment": comment}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let filter = format!("dossier={code}");
    let entries: Vec<Entry> = s
        .get(&format!("/v1/audit?{filter}&format=jsonl"), Some(AUDITOR))
        .text()
        .lines()
        .map(|l| Entry::from_line(l.as_bytes()).expect("a stored line"))
        .collect();
    assert!(entries.len() >= 2, "{entries:?}");
    let submitted = &entries[0];

    let csv = s.get(&format!("/v1/audit?{filter}&format=csv"), Some(AUDITOR));
    let records = excel_csv(&csv.body);
    assert_eq!(records[0], columns::AUDIT);
    assert_eq!(records.len(), entries.len() + 1);
    let first = &records[1];
    assert_eq!(first[0], submitted.seq.to_string());
    assert_eq!(
        first[1], "07/12/2026 08:30",
        "Vietnam's wall clock, not UTC"
    );
    assert_eq!(first[2], code);
    assert_eq!(first[4], columns::SUBMIT);
    assert_ne!(first[3], submitted.procedure, "a name");
    let moved = records
        .iter()
        .find(|r| r[10].contains("Thiếu bản vẽ"))
        .expect("the forwarding");
    assert_eq!(
        moved[10],
        format!("'{comment}"),
        "no formula, Vietnamese intact"
    );
    assert_ne!(moved[4], "chuyen-kiem-tra", "the action's label");

    let xlsx = s.get(&format!("/v1/audit?{filter}&format=xlsx"), Some(AUDITOR));
    assert_eq!(xlsx.status, 200, "{}", xlsx.text());
    assert_eq!(xlsx.header("content-type"), Some(XLSX));
    let sheet = workbook(&xlsx.body, columns::SHEET_AUDIT);
    let texts = |r: &[Data]| r.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    assert_eq!(texts(&sheet[0]), columns::AUDIT);
    assert_eq!(sheet.len(), entries.len() + 1);
    for (cells, e) in sheet[1..].iter().zip(&entries) {
        assert_eq!(number(&cells[0]), Some(e.seq as f64), "seq as a number");
        assert_eq!(number(&cells[11]), Some(e.version as f64));
        assert_eq!(cells[12], Data::String(e.hash.clone()));
    }
    // An Excel date of the local wall clock: days since 1899-12-30 at UTC+7.
    let Data::DateTime(when) = &sheet[1][1] else {
        panic!("a date, not {:?}", sheet[1][1]);
    };
    let local_days =
        (submitted.at.as_millisecond() + 7 * 3_600_000) as f64 / 86_400_000.0 + 25_569.0;
    assert!(
        (when.as_f64() - local_days).abs() < 1e-6,
        "{} vs {local_days}",
        when.as_f64()
    );
    assert_eq!(
        texts(&sheet[1])[2..],
        first[2..],
        "the CSV's names and labels"
    );

    // The inspector's screen hands out the same workbook.
    let cookie = s.sign_in(AUDITOR.token);
    let from_screen = s.request(
        "GET",
        &format!("/kiem-tra/xuat?ho_so={code}&format=xlsx"),
        None,
        &[("cookie", cookie.as_str())],
        None,
    );
    assert_eq!(from_screen.status, 200, "{}", from_screen.text());
    assert_eq!(workbook(&from_screen.body, columns::SHEET_AUDIT), sheet);
}

#[test]
fn the_staff_search_list_downloads_whole_for_excel() {
    let dir = tempfile::tempdir().expect("dir");
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);
    let codes: Vec<String> = (0..3).map(|i| receive(&s, &format!("list-{i}"))).collect();
    let cookie = s.sign_in(DESK.token);
    let get = |path: &str| s.request("GET", path, None, &[("cookie", &cookie)], None);
    let page = get("/tim-kiem?q=nguyen+thi+mai").text();
    assert!(
        page.contains("id=\"search-xlsx\""),
        "offered beside the list"
    );

    let csv = get("/tim-kiem?q=nguyen+thi+mai&tai=csv");
    assert_eq!(csv.status, 200);
    let rows = excel_csv(&csv.body);
    assert_eq!(rows[0][0], "Mã hồ sơ");
    assert_eq!(rows.len(), 1 + codes.len(), "{rows:?}");
    for code in &codes {
        assert!(rows.iter().any(|r| &r[0] == code), "{code} listed");
    }
    assert!(
        rows[1..].iter().all(|r| r[2] == "Nguyễn Thị Mai"),
        "Vietnamese intact"
    );

    let xlsx = get("/tim-kiem?q=nguyen+thi+mai&tai=xlsx");
    assert_eq!(xlsx.status, 200);
    let sheet = workbook(&xlsx.body, "Hồ sơ");
    assert_eq!(sheet.len(), 1 + codes.len());
    assert_eq!(sheet[1][2], Data::String("Nguyễn Thị Mai".into()));
    assert!(
        matches!(sheet[1][6], Data::DateTime(_) | Data::Float(_)),
        "the receipt as an Excel date: {:?}",
        sheet[1][6]
    );
    // A format that is not offered is said on the page, not served.
    assert!(
        get("/tim-kiem?q=x&tai=pdf")
            .text()
            .contains("Định dạng tải về")
    );
}
