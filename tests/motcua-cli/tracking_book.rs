//! Form 07, the tracking book, and the QR code every printed paper carries, from the real
//! server on a manual clock: dossiers of two agencies received over three days, moved to
//! their result (one early or on time, one late); the book of one agency and two days lists
//! exactly its own, with their times, handovers and classes, on the page, over the API, in
//! CSV and in `.xlsx` (read back with calamine). Each form's top-left QR code is rasterised
//! from its SVG here and decoded with rqrr.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use motcua::messages::{columns, labels, requests};
use serde_json::{Value, json};

use crate::http::{self, ADMIN, AUDITOR, CITIZEN, Cred, DESK, HA_TANG, OTHER_DEPT, Server};

const MONDAY: &str = "2026-12-07T08:30:00+07:00";
const BIRTH: &str = "dang-ky-khai-sinh";
const WARD: &str = "000.20.31.H17";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

const HO_TICH: Cred = Cred {
    subject: "ho-tich-1",
    token: "tok-ho-tich-000001",
    roles: &["cong-chuc-ho-tich"],
    departments: &["tu-phap"],
};
const CHU_TICH: Cred = Cred {
    subject: "chu-tich-1",
    token: "tok-chu-tich-00001",
    roles: &["chu-tich-ubnd"],
    departments: &["lanh-dao"],
};

fn start(dir: &std::path::Path) -> Server {
    std::fs::create_dir_all(dir).expect("dir");
    let mut creds = http::ALL.to_vec();
    creds.extend([HO_TICH, CHU_TICH]);
    http::write_tokens(&dir.join("tokens.yaml"), &creds);
    Server::start(dir, &["--now", MONDAY])
}

fn sample(id: &str) -> serde_yaml::Value {
    let text = std::fs::read_to_string(http::root().join(format!("procedures/{id}.yaml")))
        .expect("sample procedure");
    serde_yaml::from_str(&text).expect("yaml")
}

/// A department's name in a sample procedure.
fn department(p: &serde_yaml::Value, id: &str) -> String {
    p["departments"]
        .as_sequence()
        .expect("departments")
        .iter()
        .find(|d| d["id"].as_str() == Some(id))
        .and_then(|d| d["name"].as_str())
        .expect("a department")
        .to_string()
}

/// A dossier of sample procedure `id` as its own form example fills it, with its required
/// documents.
fn submission(id: &str, applicant: &str, name: &str) -> Value {
    let p = sample(id);
    let docs: Vec<String> = p["documents"]
        .as_sequence()
        .expect("documents")
        .iter()
        .filter(|d| d["required"].as_bool().unwrap_or(true))
        .map(|d| d["id"].as_str().expect("id").to_string())
        .collect();
    json!({
        "procedure": id,
        "applicant": {"id": applicant, "name": name},
        "data": serde_json::to_value(p["form"]["examples"][0].clone()).expect("example"),
        "documents": docs,
    })
}

fn receive(s: &Server, id: &str, applicant: &str, name: &str, key: &str) -> String {
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", key)],
        &submission(id, applicant, name),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["code"].as_str().expect("code").to_string()
}

fn dossier(s: &Server, code: &str) -> Value {
    let r = s.get(&format!("/v1/dossiers/{code}"), Some(AUDITOR));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// Takes `action` on the dossier as it stands now.
fn act(s: &Server, who: Cred, code: &str, action: &str, input: Value) -> Value {
    let version = format!("\"{}\"", dossier(s, code)["version"]);
    let r = s.post(
        &format!("/v1/dossiers/{code}/actions"),
        Some(who),
        &[("if-match", &version)],
        &json!({"action": action, "input": input, "comment": "Ý kiến của cán bộ"}),
    );
    assert_eq!(r.status, 200, "{action} by {}: {}", who.subject, r.text());
    r.json()
}

fn set_clock(s: &Server, now: &str) {
    let r = s.post("/v1/clock", Some(ADMIN), &[], &json!({"now": now}));
    assert_eq!(r.status, 200, "{}", r.text());
}

/// An instant of the JSON as the book prints it: local `dd/mm/yyyy HH:MM`.
fn local(v: &Value) -> String {
    let t: jiff::Timestamp = v.as_str().expect("an instant").parse().expect("instant");
    t.to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(7)))
        .strftime("%d/%m/%Y %H:%M")
        .to_string()
}

/// An Excel date cell (days since 1899-12-30, Vietnam's wall clock) as `dd/mm/yyyy HH:MM`.
fn excel_time(d: &Data) -> String {
    let days = match d {
        Data::DateTime(x) => x.as_f64(),
        Data::Empty => return String::new(),
        other => panic!("a date, not {other:?}"),
    };
    let ms = ((days - 25_569.0) * 86_400_000.0).round() as i64 - 7 * 3_600_000;
    let t = jiff::Timestamp::from_millisecond(ms).expect("instant");
    t.to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(7)))
        .strftime("%d/%m/%Y %H:%M")
        .to_string()
}

/// The text of each `<td class="{class}">` of the page's book rows, in order.
fn cells(page: &str, class: &str) -> Vec<String> {
    let open = format!("<td class=\"{class}\">");
    page.match_indices(&open)
        .map(|(at, _)| {
            let rest = &page[at + open.len()..];
            let end = rest.find("</td>").expect("a cell's end");
            strip_tags(&rest[..end])
        })
        .collect()
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => {
                inside = true;
                out.push('\n');
            }
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
}

struct Expected {
    code: String,
    received: String,
    appointment: String,
    result: String,
    returned: String,
    class: String,
    /// What the handovers' text must hold, in order.
    handovers: Vec<Vec<String>>,
}

#[test]
fn the_tracking_book_lists_exactly_the_agencys_dossiers_of_the_period_with_times_handovers_and_classes()
 {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let birth = sample(BIRTH);
    let tu_phap = department(&birth, "tu-phap");
    let lanh_dao = department(&birth, "lanh-dao");
    let mot_cua = department(&birth, "mot-cua");

    // Monday: two births at the ward, a house permit at another ward.
    let early = receive(&s, BIRTH, "001090012345", "Nguyễn Thị Mai", "k1");
    set_clock(&s, "2026-12-07T08:40:00+07:00");
    let late = receive(&s, BIRTH, "001090054321", "Trần Văn Bình", "k2");
    let other = receive(
        &s,
        "cap-phep-xay-dung-nha-o",
        "001090099999",
        "Lê Văn Cường",
        "k3",
    );
    // The first goes through the same morning and is returned after lunch.
    set_clock(&s, "2026-12-07T09:00:00+07:00");
    act(&s, DESK, &early, "chuyen-ho-tich", json!({}));
    set_clock(&s, "2026-12-07T10:00:00+07:00");
    act(&s, HO_TICH, &early, "trinh-ky", json!({}));
    set_clock(&s, "2026-12-07T11:00:00+07:00");
    act(&s, CHU_TICH, &early, "ky", json!({}));
    set_clock(&s, "2026-12-07T14:00:00+07:00");
    act(&s, DESK, &early, "tra-trich-luc", json!({}));

    // Tuesday: a third, which stays at the desk.
    set_clock(&s, "2026-12-08T09:15:00+07:00");
    let open = receive(&s, BIRTH, "001090011111", "Phạm Thị Dung", "k4");
    // Wednesday: a fourth, after the period.
    set_clock(&s, "2026-12-09T09:00:00+07:00");
    let after = receive(&s, BIRTH, "001090022222", "Hoàng Văn Em", "k5");
    // Thursday: the second is signed, days late, and not yet returned.
    set_clock(&s, "2026-12-10T09:30:00+07:00");
    act(&s, DESK, &late, "chuyen-ho-tich", json!({}));
    act(&s, HO_TICH, &late, "trinh-ky", json!({}));
    set_clock(&s, "2026-12-10T10:00:00+07:00");
    act(&s, CHU_TICH, &late, "ky", json!({}));

    let resolved = |code: &str| {
        dossier(&s, code)["clock"]["resolved"]["class"]
            .as_str()
            .map(String::from)
    };
    assert_eq!(resolved(&late).as_deref(), Some("late"));
    let early_class = resolved(&early).expect("resolved");
    assert_ne!(early_class, "late");
    let early_label = labels::class(if early_class == "early" {
        motcua::deadline::Class::Early
    } else {
        motcua::deadline::Class::OnTime
    });
    let expected =
        |code: &str, result: &str, returned: &str, class: &str, handovers: Vec<Vec<String>>| {
            let d = dossier(&s, code);
            Expected {
                code: code.to_string(),
                received: local(&d["clock"]["received_at"]),
                appointment: local(&d["clock"]["due_at"]),
                result: result.into(),
                returned: returned.into(),
                class: class.into(),
                handovers,
            }
        };
    let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let rows = [
        expected(
            &early,
            "07/12/2026 11:00",
            "07/12/2026 14:00",
            early_label,
            vec![
                v(&[
                    "07/12/2026 09:00",
                    "desk-1",
                    &mot_cua,
                    &format!("→ {tu_phap}"),
                ]),
                v(&["07/12/2026 10:00", "ho-tich-1", &format!("→ {lanh_dao}")]),
                v(&["07/12/2026 11:00", "chu-tich-1", &format!("→ {mot_cua}")]),
                v(&["07/12/2026 14:00", "desk-1"]),
            ],
        ),
        expected(
            &late,
            "10/12/2026 10:00",
            "",
            labels::class(motcua::deadline::Class::Late),
            vec![
                v(&["10/12/2026 09:30", &format!("→ {tu_phap}")]),
                v(&["10/12/2026 09:30", &format!("→ {lanh_dao}")]),
                v(&["10/12/2026 10:00", &format!("→ {mot_cua}")]),
            ],
        ),
        expected(&open, "", "", "", vec![]),
    ];
    assert_eq!(rows[0].received, "07/12/2026 08:30");
    assert_eq!(rows[2].received, "08/12/2026 09:15");

    // The page, as the desk officer prints it.
    let cookie = s.sign_in(DESK.token);
    let path = format!("/so-theo-doi?co-quan={WARD}&tu=2026-12-07&den=2026-12-08");
    let r = s.request("GET", &path, None, &[("cookie", &cookie)], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.text();
    assert!(page.contains("SỔ THEO DÕI HỒ SƠ") && page.contains("Mẫu số 07"));
    assert!(
        page.contains("Hồ sơ tiếp nhận từ ngày 07/12/2026 đến ngày 08/12/2026"),
        "{page}"
    );
    assert!(page.contains("class=\"sheet book\""), "the landscape sheet");
    let codes: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(
        cells(&page, "code"),
        codes,
        "exactly the ward's dossiers of the two days, in receipt order"
    );
    for absent in [&other, &after] {
        assert!(
            !page.contains(absent.as_str()),
            "{absent} is not in the book"
        );
    }
    assert!(!page.contains("Lê Văn Cường"), "nor its applicant");
    let handovers = cells(&page, "handovers");
    for (i, e) in rows.iter().enumerate() {
        assert_eq!(cells(&page, "received")[i], e.received, "{}", e.code);
        assert_eq!(cells(&page, "appointment")[i], e.appointment, "{}", e.code);
        assert_eq!(cells(&page, "result")[i], e.result, "{}", e.code);
        assert_eq!(cells(&page, "returned")[i], e.returned, "{}", e.code);
        assert_eq!(cells(&page, "class")[i], e.class, "{}", e.code);
        let lines: Vec<&str> = handovers[i].lines().collect();
        assert_eq!(lines.len(), e.handovers.len(), "{}: {lines:?}", e.code);
        for (line, parts) in lines.iter().zip(&e.handovers) {
            for part in parts {
                assert!(line.contains(part.as_str()), "{line:?} names {part:?}");
            }
        }
    }
    assert!(page.contains("Nguyễn Thị Mai") && page.contains("Số định danh 001090012345"));
    assert!(
        page.contains("Mã 1.001193"),
        "the procedure's national code"
    );

    // The same book as an .xlsx workbook (from the page and from the API), under the
    // catalogue's headers.
    for (xlsx, via) in [
        (
            s.request(
                "GET",
                &format!("{path}&dinh-dang=xlsx"),
                None,
                &[("cookie", &cookie)],
                None,
            ),
            "page",
        ),
        (
            s.get(
                &format!(
                    "/v1/reports/tracking-book?agency={WARD}&from=2026-12-07&to=2026-12-08&format=xlsx"
                ),
                Some(AUDITOR),
            ),
            "api",
        ),
    ] {
        assert_eq!(xlsx.status, 200, "{via}: {}", xlsx.text());
        assert_eq!(xlsx.header("content-type"), Some(XLSX), "{via}");
        let mut wb: Xlsx<_> =
            open_workbook_from_rs(Cursor::new(xlsx.body.clone())).expect("an .xlsx");
        assert_eq!(wb.sheet_names(), [columns::SHEET_BOOK]);
        let range = wb.worksheet_range(columns::SHEET_BOOK).expect("the sheet");
        let sheet: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
        let texts = |r: &[Data]| r.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert_eq!(texts(&sheet[0]), columns::BOOK, "{via}");
        assert_eq!(sheet.len(), rows.len() + 1, "{via}");
        for (cells, e) in sheet[1..].iter().zip(&rows) {
            assert_eq!(cells[1], Data::String(e.code.clone()), "{via}");
            assert_eq!(cells[5], Data::String("1.001193".into()));
            assert_eq!(excel_time(&cells[6]), e.received, "{via} {}", e.code);
            assert_eq!(excel_time(&cells[7]), e.appointment, "{via} {}", e.code);
            assert_eq!(excel_time(&cells[9]), e.result, "{via} {}", e.code);
            assert_eq!(excel_time(&cells[10]), e.returned, "{via} {}", e.code);
            assert_eq!(cells[11].to_string(), e.class, "{via} {}", e.code);
            let lines = cells[8].to_string();
            assert_eq!(
                lines.lines().count(),
                e.handovers.len(),
                "{via} {}: {lines}",
                e.code
            );
        }
    }

    // CSV for Excel, and JSON with the instants exactly.
    let csv = s.request(
        "GET",
        &format!("{path}&dinh-dang=csv"),
        None,
        &[("cookie", &cookie)],
        None,
    );
    assert_eq!(csv.status, 200);
    let records = crate::spreadsheets::excel_csv(&csv.body);
    assert_eq!(records[0], columns::BOOK);
    let listed: Vec<&str> = records[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(listed, codes);
    assert_eq!(records[1][6], rows[0].received);
    let api = s.get(
        &format!("/v1/reports/tracking-book?agency={WARD}&from=2026-12-07&to=2026-12-08"),
        Some(AUDITOR),
    );
    assert_eq!(api.status, 200, "{}", api.text());
    let book = api.json();
    let listed: Vec<&str> = book["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["code"].as_str())
        .collect();
    assert_eq!(listed, codes);
    assert_eq!(book["rows"][1]["class"], "late");
    assert!(book["rows"][1]["returned_at"].is_null());

    // The other agency's book holds its own only; an officer of neither ward reads no row;
    // a citizen reads no book.
    let permit = s
        .get(
            "/v1/reports/tracking-book?agency=000.17.22.H17&from=2026-12-07&to=2026-12-08",
            Some(AUDITOR),
        )
        .json();
    assert_eq!(permit["rows"][0]["code"], json!(other));
    assert_eq!(permit["rows"].as_array().map(Vec::len), Some(1));
    let stranger = s
        .get(
            &format!("/v1/reports/tracking-book?agency={WARD}&from=2026-12-07&to=2026-12-08"),
            Some(OTHER_DEPT),
        )
        .json();
    assert_eq!(stranger["rows"], json!([]), "{stranger}");
    let r = s.get(
        &format!("/v1/reports/tracking-book?agency={WARD}&from=2026-12-07&to=2026-12-08"),
        Some(CITIZEN),
    );
    assert_eq!(r.status, 403);

    // A reversed period, one too long, a day that is none: refused in Vietnamese.
    for (from, to) in [
        ("2026-12-08", "2026-12-07"),
        ("2025-12-01", "2026-12-08"),
        ("2026-13-01", "2026-12-08"),
    ] {
        let r = s.get(
            &format!("/v1/reports/tracking-book?agency={WARD}&from={from}&to={to}"),
            Some(AUDITOR),
        );
        assert_eq!(r.status, 400, "{from}..{to}: {}", r.text());
        assert_eq!(r.problem_code(), "invalid_period");
        assert_eq!(r.json()["detail"], json!(requests::book_period(366)));
        let r = s.request(
            "GET",
            &format!("/so-theo-doi?co-quan={WARD}&tu={from}&den={to}"),
            None,
            &[("cookie", &cookie)],
            None,
        );
        assert_eq!(r.status, 400);
        assert!(r.text().contains(&requests::book_period(366)));
    }

    // The report screen leads to the book.
    let r = s.request("GET", "/bao-cao", None, &[("cookie", &cookie)], None);
    assert!(r.text().contains("href=\"/so-theo-doi"), "{}", r.text());
}

/// The `<svg>` of the element with `id` in a page.
fn svg_in(page: &str, id: &str) -> String {
    let at = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let start = at + page[at..].find("<svg").expect("an svg");
    let end = start + page[start..].find("</svg>").expect("its end") + 6;
    page[start..end].to_string()
}

/// The text a QR code drawn by the `qrcode` crate's SVG renderer holds: its dark modules
/// (`M{x} {y}h{w}v{h}H{x}V{y}` rectangles in one path) painted on a white bitmap at 4 pixels
/// a unit, decoded by rqrr.
fn decode_svg(svg: &str) -> String {
    let number = |s: &str| -> usize { s.parse().expect("a coordinate") };
    let view = svg
        .split("viewBox=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a viewBox");
    let dims: Vec<usize> = view.split_whitespace().map(number).collect();
    let (w, h) = (dims[2], dims[3]);
    const SCALE: usize = 4;
    let mut bitmap = vec![255u8; w * h * SCALE * SCALE];
    let d = svg
        .split(" d=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a path");
    for rect in d.split('M').filter(|r| !r.is_empty()) {
        // "x y" h w v h H x V y
        let (xy, rest) = rect.split_once('h').expect("h");
        let (x, y) = xy.split_once(' ').expect("x y");
        let (rw, rest) = rest.split_once('v').expect("v");
        let (rh, _) = rest.split_once('H').expect("H");
        let (x, y, rw, rh) = (number(x), number(y), number(rw), number(rh));
        for py in y * SCALE..(y + rh) * SCALE {
            for px in x * SCALE..(x + rw) * SCALE {
                bitmap[py * w * SCALE + px] = 0;
            }
        }
    }
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w * SCALE, h * SCALE, |x, y| {
        bitmap[y * w * SCALE + x]
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("the QR code decodes").1
}

/// The `key: value` lines of a paper's QR code.
fn fields(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|l| {
            let (k, v) = l.split_once(": ").expect("key: value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn every_printed_paper_carries_a_qr_code_with_the_dossier_procedure_applicant_and_papers_name() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    // A birth asked to supplement, then withdrawn by its applicant (forms 01, 02, 05); one
    // refused (03); a house permit extended, then late and apologised for (gia-han, 04, 06).
    let withdrawn = receive(&s, BIRTH, CITIZEN.subject, "Nguyễn Thị Mai", "q1");
    act(&s, DESK, &withdrawn, "yeu-cau-bo-sung", json!({}));
    act(&s, CITIZEN, &withdrawn, "rut-ho-so", json!({}));
    let refused = receive(&s, BIRTH, "001090054321", "Trần Văn Bình", "q2");
    act(&s, DESK, &refused, "tu-choi", json!({}));
    let permit = receive(
        &s,
        "cap-phep-xay-dung-nha-o",
        "001090099999",
        "Lê Văn Cường",
        "q3",
    );
    act(&s, DESK, &permit, "chuyen-kiem-tra", json!({}));
    act(&s, HA_TANG, &permit, "xong-quy-hoach", json!({}));
    act(&s, HA_TANG, &permit, "xong-ket-cau", json!({}));
    act(&s, HA_TANG, &permit, "gia-han", json!({}));
    let appointment: jiff::Timestamp = dossier(&s, &permit)["clock"]["due_at"]
        .as_str()
        .expect("appointment")
        .parse()
        .expect("instant");
    let past = appointment + jiff::SignedDuration::from_hours(26);
    set_clock(&s, &past.to_string());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while dossier(&s, &permit)["clock"]["overdue_since"].is_null() {
        assert!(
            std::time::Instant::now() < deadline,
            "the breach was recorded"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let promised = motcua::report::local_day(past + jiff::SignedDuration::from_hours(24 * 7));
    act(
        &s,
        HA_TANG,
        &permit,
        "xin-loi-tong-hop",
        json!({"promised": promised.to_string()}),
    );

    let cookie = s.sign_in(AUDITOR.token);
    let papers = [
        (
            &withdrawn,
            BIRTH,
            "01",
            "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
        ),
        (
            &withdrawn,
            BIRTH,
            "02",
            "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
        ),
        (&withdrawn, BIRTH, "05", "Thông báo dừng giải quyết hồ sơ"),
        (
            &refused,
            BIRTH,
            "03",
            "Phiếu từ chối tiếp nhận, giải quyết hồ sơ",
        ),
        (
            &permit,
            "cap-phep-xay-dung-nha-o",
            "gia-han",
            "Thông báo gia hạn thời gian giải quyết hồ sơ",
        ),
        (
            &permit,
            "cap-phep-xay-dung-nha-o",
            "04",
            "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
        ),
        (
            &permit,
            "cap-phep-xay-dung-nha-o",
            "06",
            "Phiếu kiểm soát quá trình giải quyết hồ sơ",
        ),
    ];
    for (code, procedure, form, name) in papers {
        let r = s.request(
            "GET",
            &format!("/ho-so/{code}/mau/{form}"),
            None,
            &[("cookie", &cookie)],
            None,
        );
        assert_eq!(r.status, 200, "form {form}: {}", r.text());
        let page = r.text();
        let national = sample(procedure)["code"]
            .as_str()
            .expect("a national code")
            .to_string();
        let applicant = dossier(&s, code)["applicant"]["id"]
            .as_str()
            .expect("applicant")
            .to_string();
        let text = decode_svg(&svg_in(&page, "paper-qr"));
        assert_eq!(
            fields(&text),
            [
                ("ma_ho_so".to_string(), code.to_string()),
                ("ma_thu_tuc".to_string(), national),
                ("so_dinh_danh".to_string(), applicant),
                ("ten_giay_to".to_string(), name.to_string()),
            ],
            "form {form}"
        );
    }

    // Form 01 keeps its status-page link for whoever receives it, beside the paper's code.
    let desk = s.sign_in(DESK.token);
    let page = s
        .request(
            "GET",
            &format!("/ho-so/{withdrawn}/mau/01"),
            None,
            &[("cookie", &desk)],
            None,
        )
        .text();
    let link = decode_svg(&svg_in(&page, "slip-qr"));
    assert!(
        link.contains(&format!("/tra-cuu/{withdrawn}?secret=")),
        "{link}"
    );
    assert!(fields(&decode_svg(&svg_in(&page, "paper-qr")))[0].1 == *withdrawn);

    // The tracking book's head names the agency, the period and the book.
    let page = s
        .request(
            "GET",
            &format!("/so-theo-doi?co-quan={WARD}&tu=2026-12-01&den=2026-12-31"),
            None,
            &[("cookie", &cookie)],
            None,
        )
        .text();
    let head = fields(&decode_svg(&svg_in(&page, "paper-qr")));
    assert_eq!(
        head,
        [
            ("co_quan".to_string(), WARD.to_string()),
            ("tu_ngay".to_string(), "01/12/2026".to_string()),
            ("den_ngay".to_string(), "31/12/2026".to_string()),
            ("ten_giay_to".to_string(), "Sổ theo dõi hồ sơ".to_string()),
        ]
    );
}
