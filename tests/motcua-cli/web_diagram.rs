//! The procedure diagram opened from a dossier (issue 26): drawn for the version the dossier is
//! pinned to, its active states marked, legible at the default zoom, the zoom links changing
//! the drawn size, and no wider access than the dossier page's. Real binary, plain HTTP.

use crate::http;

use http::{ADMIN, AUDITOR, DESK, OTHER_DEPT, Server};

const MONDAY_MORNING: &str = "2026-12-07T08:30:00+07:00";
const PROCEDURE: &str = "cap-phep-xay-dung-nha-o";

fn page(s: &Server, cookie: &str, path: &str) -> (u16, String) {
    let r = s.request("GET", path, None, &[("cookie", cookie)], None);
    (r.status, r.text())
}

/// The inline SVG's opening tag.
fn svg_tag(page: &str) -> &str {
    let at = page.find("<svg").expect("an inline SVG");
    let end = page[at..].find('>').expect("tag end");
    &page[at..at + end]
}

fn attr(tag: &str, name: &str) -> String {
    let key = format!(" {name}=\"");
    let at = tag.find(&key).unwrap_or_else(|| panic!("{name} in {tag}")) + key.len();
    let end = tag[at..].find('"').expect("closing quote");
    tag[at..at + end].to_string()
}

fn number(tag: &str, name: &str) -> f64 {
    attr(tag, name).parse().expect("a number")
}

/// The state groups of the diagram the `current` class marks.
fn marked(page: &str) -> Vec<String> {
    page.split("<g class=\"")
        .skip(1)
        .filter(|g| {
            g.split('"')
                .next()
                .is_some_and(|c| c.split(' ').any(|k| k == "current"))
        })
        .map(|g| g.split("</g>").next().unwrap_or("").to_string())
        .collect()
}

/// The text a group shows, its wrapped lines joined by spaces.
fn shown(group: &str) -> String {
    group
        .split("<tspan ")
        .skip(1)
        .filter_map(|t| t.split_once('>').and_then(|(_, r)| r.split_once('<')))
        .map(|(text, _)| text)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_diagram_opened_from_a_dossier_marks_where_it_is_in_its_pinned_version_and_zooms() {
    let dir = tempfile::tempdir().expect("tmp");
    // A procedures folder of our own (with the plugins where its `file:`s point), so that a
    // new version can be uploaded without touching the repository's.
    let procedures = dir.path().join("procedures");
    let plugins = dir.path().join("plugins/dist");
    std::fs::create_dir_all(&procedures).expect("dir");
    std::fs::create_dir_all(&plugins).expect("dir");
    for f in std::fs::read_dir(http::root().join("plugins/dist")).expect("plugins") {
        let f = f.expect("entry").path();
        if f.extension().is_some_and(|e| e == "wasm") {
            std::fs::copy(&f, plugins.join(f.file_name().expect("name"))).expect("copy");
        }
    }
    let sample = http::root().join(format!("procedures/{PROCEDURE}.yaml"));
    std::fs::copy(&sample, procedures.join(format!("{PROCEDURE}.yaml"))).expect("copy");
    let s = Server::start_with_procedures(
        &dir.path().join("server"),
        &procedures,
        &["--now", MONDAY_MORNING],
    );

    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "web-diagram")],
        &http::house_permit(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let code = r.json()["code"].as_str().expect("code").to_string();
    let d = s.get(&format!("/v1/dossiers/{code}"), Some(AUDITOR)).json();
    let states: Vec<&str> = d["states"]
        .as_array()
        .expect("states")
        .iter()
        .filter_map(|x| x["state"].as_str())
        .collect();
    assert_eq!(states, ["tiep-nhan"], "{d}");

    // A later version renames the leader's step; the dossier stays on the one it was received
    // under.
    let source = std::fs::read_to_string(&sample).expect("sample");
    let renamed = source
        .replace("version: \"2025.1\"", "version: \"2026.1\"")
        .replace("effective_from: 2025-07-01", "effective_from: 2026-12-01")
        .replace(
            "label: Lãnh đạo ký giấy phép",
            "label: Lãnh đạo phê duyệt giấy phép",
        );
    let r = s.request(
        "PUT",
        &format!("/v1/procedures/{PROCEDURE}"),
        Some(ADMIN),
        &[("content-type", "application/yaml")],
        Some(renamed.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());

    // The dossier page links to its diagram.
    let desk = s.sign_in(DESK.token);
    let (status, dossier) = page(&s, &desk, &format!("/ho-so/{code}"));
    assert_eq!(status, 200, "{dossier}");
    let link = format!("/ho-so/{code}/so-do");
    assert!(dossier.contains(&format!("href=\"{link}\"")), "{dossier}");

    let (status, diagram) = page(&s, &desk, &link);
    assert_eq!(status, 200, "{diagram}");
    assert!(diagram.contains("Vị trí hiện tại của hồ sơ"), "the legend");
    let at = marked(&diagram);
    assert_eq!(at.len(), 1, "exactly the one active state is marked");
    let text = shown(&at[0]);
    assert!(
        text.contains("Tiếp nhận hồ sơ, ghi nhận giấy tờ đã nộp"),
        "{text}"
    );
    assert!(
        diagram.contains("Lãnh đạo ký giấy phép") && !diagram.contains("Lãnh đạo phê duyệt"),
        "drawn from the pinned version"
    );
    let drawing =
        &diagram[diagram.find("<svg").expect("svg")..diagram.find("</svg>").expect("end")];
    for id in [
        "tiep-nhan",
        "trinh-ky",
        "kiem-tra-quy-hoach",
        "chuyen-kiem-tra",
    ] {
        assert!(!drawing.contains(id), "raw id {id} in the drawing");
    }
    assert!(!drawing.contains("working day"), "budgets in Vietnamese");

    // Legible at the default zoom: the smallest font-size times the drawn scale.
    let tag = svg_tag(&diagram);
    let view: Vec<f64> = attr(tag, "viewBox")
        .split(' ')
        .map(|x| x.parse().expect("number"))
        .collect();
    let (w, h) = (number(tag, "width"), number(tag, "height"));
    let scale = w / view[2];
    let smallest = diagram
        .split("font-size=\"")
        .skip(1)
        .filter_map(|t| t.split('"').next()?.parse::<f64>().ok())
        .fold(f64::MAX, f64::min);
    assert!(smallest * scale >= 12.0, "{smallest} × {scale}");

    // Every zoom link is there and redraws at its size, the same drawing.
    for z in [50, 75, 150, 200] {
        let href = format!("{link}?zoom={z}");
        assert!(diagram.contains(&format!("href=\"{href}\"")), "zoom {z}");
        let (status, zoomed) = page(&s, &desk, &href);
        assert_eq!(status, 200);
        let t = svg_tag(&zoomed);
        let f = f64::from(z) / 100.0;
        assert!((number(t, "width") - w * f).abs() < 1.0, "{t}");
        assert!((number(t, "height") - h * f).abs() < 1.0, "{t}");
        assert_eq!(attr(t, "viewBox"), attr(tag, "viewBox"));
        assert!(zoomed.contains(&format!("<strong aria-current=\"true\">{z}%</strong>")));
        assert_eq!(marked(&zoomed).len(), 1);
    }
    let (_, odd) = page(&s, &desk, &format!("{link}?zoom=5000"));
    assert!(
        (number(svg_tag(&odd), "width") - w).abs() < 1.0,
        "unknown zoom: default"
    );

    // No wider than the dossier page: an officer of another department and an admin who may
    // not read the dossier get the same refusal for its diagram.
    for who in [OTHER_DEPT, ADMIN] {
        let cookie = s.sign_in(who.token);
        let (dossier_status, _) = page(&s, &cookie, &format!("/ho-so/{code}"));
        let (diagram_status, body) = page(&s, &cookie, &link);
        assert_ne!(dossier_status, 200, "{}", who.subject);
        assert_eq!(diagram_status, dossier_status, "{}: {body}", who.subject);
        assert!(!body.contains("<svg"), "{}", who.subject);
    }
    let (status, _) = page(&s, &desk, "/ho-so/KHONG-CO/so-do");
    assert_eq!(status, 404);

    // The author's screen draws the newest version, nothing marked, with the same zoom links.
    let admin = s.sign_in(ADMIN.token);
    let (status, author) = page(&s, &admin, &format!("/thu-tuc/{PROCEDURE}?zoom=150"));
    assert_eq!(status, 200, "{author}");
    assert!(author.contains("Lãnh đạo phê duyệt giấy phép"));
    assert!(marked(&author).is_empty());
    let t = svg_tag(&author);
    let view: Vec<f64> = attr(t, "viewBox")
        .split(' ')
        .map(|x| x.parse().expect("number"))
        .collect();
    assert!((number(t, "width") - view[2] * 1.5).abs() < 1.0, "{t}");
    assert!(author.contains(&format!("href=\"/thu-tuc/{PROCEDURE}?zoom=200#so-do\"")));
}
