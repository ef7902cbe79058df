//! Every word a person reads is Vietnamese: the real `motcua serve --dev` (the sample
//! procedures, one dossier of each received at the desk) is walked over plain HTTP as each of
//! its demo people, every screen and printed form reachable by links, while each dossier is
//! moved along its procedure state by state. A page fails on any phrase of [`ENGLISH`] and on
//! any raw id of a state, action, role, department, document or enumeration value that has a
//! label. Extend [`ENGLISH`] when an English text is found on a screen; fix the screen, never
//! the list.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::http::{Server, root};
use serde_json::{Value, json};

/// English that must not reach a person: the engine's and the libraries' messages, units and
/// words that leak from code.
pub const ENGLISH: &[&str] = &[
    // The engine's error texts.
    "is at version",
    "reload it",
    "no dossier",
    "not found",
    "needs one of the roles",
    "must be",
    "refused the data",
    "the form data is invalid",
    "is not in the checklist",
    "no action is possible",
    "working day",
    "working days",
    "working hours",
    " days",
    " hours",
    "version",
    "clock paused",
    "clock resumed",
    "system:",
    "Forbidden",
    "Not Found",
    "Unauthorized",
    "Unprocessable",
    "Internal Server Error",
    // jsonschema's and serde's messages.
    "is less than",
    "is greater than",
    "is not of type",
    "is a required property",
    "does not match",
    "is not one of",
    "is longer than",
    "is shorter than",
    "invalid type",
    "missing field",
    "unknown field",
    "expected",
    // Values leaking from code.
    "None",
    "Some(",
    "null",
    "true",
    "false",
    "undefined",
    "NaN",
    "ResultIssued",
    "Refused",
    "Withdrawn",
    "Desk",
    "Online",
    "Overdue",
    "DueSoon",
    "system",
];

/// The demo people of `--dev`, from the file it writes.
struct Person {
    subject: String,
    token: String,
    departments: Vec<String>,
    roles: Vec<String>,
}

fn people(data: &std::path::Path) -> Vec<Person> {
    let text = std::fs::read_to_string(data.join("dev-tokens.yaml")).expect("dev tokens");
    let list: Vec<Value> = serde_yaml::from_str(&text).expect("tokens yaml");
    list.iter()
        .map(|p| Person {
            subject: p["subject"].as_str().expect("subject").to_string(),
            token: p["token"].as_str().expect("token").to_string(),
            departments: strings(&p["departments"]),
            roles: strings(&p["roles"]),
        })
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Ids that have a label in some sample procedure, with what they are. Ids of one plain word
/// (`tra`, `du`) are Vietnamese words too and cannot be told from text, so only ids with a
/// `-` or `_` are checked; every sample's ids are of that kind but a handful.
fn labelled_ids() -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    let dir = root().join("procedures");
    for entry in std::fs::read_dir(&dir).expect("procedures") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let p: Value =
            serde_yaml::from_str(&std::fs::read_to_string(&path).expect("read")).expect("yaml");
        for (list, what) in [
            ("states", "state"),
            ("actions", "action"),
            ("roles", "role"),
            ("departments", "department"),
            ("documents", "document"),
        ] {
            for item in p[list].as_array().into_iter().flatten() {
                if let Some(id) = item["id"].as_str() {
                    ids.insert(id.to_string(), format!("{what} of {}", path.display()));
                }
            }
        }
        for (field, schema) in p["form"]["properties"].as_object().into_iter().flatten() {
            let labelled = schema.get("x-labels").is_some() || schema.get("oneOf").is_some();
            if !labelled {
                continue;
            }
            for v in strings(&schema["enum"]) {
                ids.insert(v, format!("value of {field} in {}", path.display()));
            }
            for v in schema["oneOf"].as_array().into_iter().flatten() {
                if let Some(c) = v["const"].as_str() {
                    ids.insert(
                        c.to_string(),
                        format!("value of {field} in {}", path.display()),
                    );
                }
            }
        }
    }
    ids.retain(|id, _| id.contains('-') || id.contains('_'));
    ids
}

/// What a person reads on a page: text outside `<script>`, `<style>`, `<textarea>` and
/// `<pre>` (a procedure's YAML source is the author's own text), and the attributes read
/// aloud or shown on hover.
fn readable(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&decode(&rest[..open]));
        out.push(' ');
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        // `translate="no"` marks a machine name shown on purpose (a procedure's file id on
        // the author's screen), as it tells translators to leave it alone.
        let machine = tag.contains("translate=\"no\"");
        if machine || ["script", "style", "textarea", "pre"].contains(&name.as_str()) {
            let end = format!("</{name}");
            match rest.find(&end) {
                Some(at) => rest = &rest[at..],
                None => break,
            }
            continue;
        }
        for attr in ["title", "placeholder", "aria-label", "alt"] {
            if let Some(v) = attribute(tag, attr) {
                out.push_str(&decode(&v));
                out.push(' ');
            }
        }
        if name == "input"
            && attribute(tag, "type").is_some_and(|t| t == "submit" || t == "button")
            && let Some(v) = attribute(tag, "value")
        {
            out.push_str(&decode(&v));
            out.push(' ');
        }
    }
    out.push_str(&decode(rest));
    out
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    let end = tag[at..].find('"')?;
    Some(tag[at..at + end].to_string())
}

fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

fn links(html: &str) -> Vec<String> {
    let mut out = vec![];
    let mut rest = html;
    while let Some(at) = rest.find("href=\"") {
        rest = &rest[at + 6..];
        let Some(end) = rest.find('"') else { break };
        let href = decode(&rest[..end]);
        rest = &rest[end..];
        let href = href.split('#').next().unwrap_or_default().to_string();
        let skip = !href.starts_with('/')
            || href.starts_with("//")
            || href.starts_with("/static/")
            || href.starts_with("/v1/")
            || href.starts_with("/dang-xuat")
            || href.starts_with("/openapi")
            || href.contains("dinh-dang=")
            || href.contains("format=");
        if !skip && !href.is_empty() {
            out.push(href);
        }
    }
    out
}

/// Whole-word occurrences: an id inside a longer id or a word is not it.
fn has_word(text: &str, word: &str) -> bool {
    let boundary =
        |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_'));
    let mut from = 0;
    while let Some(at) = text[from..].find(word) {
        let start = from + at;
        let end = start + word.len();
        if boundary(text[..start].chars().next_back()) && boundary(text[end..].chars().next()) {
            return true;
        }
        from = end;
    }
    false
}

struct Walk<'a> {
    server: &'a Server,
    ids: BTreeMap<String, String>,
    /// path → problems, so each page is reported once however many people saw it.
    problems: BTreeMap<String, BTreeSet<String>>,
    pages: usize,
    /// Every path read, by anyone.
    visited: BTreeSet<String>,
}

impl Walk<'_> {
    fn check(&mut self, path: &str, who: &str, html: &str) {
        self.pages += 1;
        self.visited.insert(path.to_string());
        let text = readable(html);
        let mut found = BTreeSet::new();
        for phrase in ENGLISH {
            let hit = if phrase.starts_with(' ') || phrase.contains(' ') {
                text.contains(phrase)
            } else {
                has_word(&text, phrase)
            };
            if hit {
                found.insert(format!("English {phrase:?}: …{}…", around(&text, phrase)));
            }
        }
        // Addresses printed for the citizen (the slip's status page) are not words.
        let words: String = text
            .split_whitespace()
            .filter(|w| !w.contains("://") && !w.starts_with('/'))
            .collect::<Vec<_>>()
            .join(" ");
        for (id, what) in &self.ids {
            if has_word(&words, id) {
                found.insert(format!("raw id {id:?} ({what}): …{}…", around(&text, id)));
            }
        }
        if !found.is_empty() {
            self.problems
                .entry(format!("{path} (as {who})"))
                .or_default()
                .extend(found);
        }
    }

    fn get(&self, path: &str, cookie: &str) -> crate::http::Response {
        self.server
            .request("GET", path, None, &[("cookie", cookie)], None)
    }

    /// Every page reachable by links from `start`, at most `budget` of them.
    fn crawl(&mut self, who: &str, cookie: &str, start: &[String], budget: usize) {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut queue: VecDeque<String> = start.iter().cloned().collect();
        while let Some(path) = queue.pop_front() {
            if seen.len() >= budget || !seen.insert(path.clone()) {
                continue;
            }
            let r = self.get(&path, cookie);
            if (300..400).contains(&r.status) {
                if let Some(to) = r.header("location") {
                    queue.push_back(to.to_string());
                }
                continue;
            }
            let html = r
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/html"));
            if !html {
                continue;
            }
            let body = r.text();
            self.check(&path, who, &body);
            let mut found = links(&body);
            // The slip prints the citizen's status page as an address (and a QR code).
            let mut rest = body.as_str();
            while let Some(at) = rest.find("/tra-cuu/") {
                let tail = &rest[at..];
                let end = tail
                    .find(|c: char| c.is_whitespace() || c == '<' || c == '"')
                    .unwrap_or(tail.len());
                found.push(decode(&tail[..end]));
                rest = &tail[end..];
            }
            for l in found {
                if !seen.contains(&l) {
                    queue.push_back(l);
                }
            }
        }
    }
}

fn around(text: &str, phrase: &str) -> String {
    let at = text.find(phrase).unwrap_or(0);
    let start = text[..at]
        .char_indices()
        .rev()
        .nth(40)
        .map_or(0, |(i, _)| i);
    let end = text[at..]
        .char_indices()
        .nth(phrase.chars().count() + 40)
        .map_or(text.len(), |(i, _)| at + i);
    text[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// An input as an officer would fill it in.
fn filled(kind: &str) -> Value {
    match kind {
        "number" => json!(1),
        "boolean" => json!(true),
        // A working day well ahead (the dev server runs on the real clock).
        "date" => json!("2027-03-01"),
        "documents" => json!([]),
        _ => json!("Đã kiểm tra, đủ điều kiện"),
    }
}

/// Takes one action on `code` as the first person who may: the first action offered that is
/// not a refusal or a stop, else the first offered. Returns whether anything moved.
fn step(s: &Server, code: &str, people: &[Person]) -> bool {
    for p in people {
        let auth = format!("Bearer {}", p.token);
        let d = s.request(
            "GET",
            &format!("/v1/dossiers/{code}"),
            None,
            &[("authorization", auth.as_str())],
            None,
        );
        if d.status != 200 {
            continue;
        }
        let d = d.json();
        let mut offered: Vec<Value> = d["available_actions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        offered.retain(|a| !a["on_behalf"].as_bool().unwrap_or(false));
        offered.sort_by_key(|a| {
            let label = a["label"].as_str().unwrap_or_default().to_lowercase();
            [
                "từ chối",
                "rút",
                "dừng",
                "không cấp",
                "xin lỗi",
                "gia hạn",
                "bổ sung",
            ]
            .iter()
            .any(|w| label.contains(w))
        });
        for a in offered {
            let mut input = serde_json::Map::new();
            for i in a["inputs"].as_array().into_iter().flatten() {
                if i["required"].as_bool().unwrap_or(false) {
                    input.insert(
                        i["name"].as_str().unwrap_or_default().to_string(),
                        filled(i["kind"].as_str().unwrap_or_default()),
                    );
                }
            }
            let body = json!({
                "action": a["action"],
                "input": input,
                "comment": "Đã xem xét, đề nghị chuyển bước tiếp theo",
            });
            let auth = format!("Bearer {}", p.token);
            let version = format!("\"{}\"", d["version"]);
            let bytes = serde_json::to_vec(&body).expect("json");
            let r = s.request(
                "POST",
                &format!("/v1/dossiers/{code}/actions"),
                None,
                &[
                    ("authorization", auth.as_str()),
                    ("content-type", "application/json"),
                    ("if-match", version.as_str()),
                ],
                Some(&bytes),
            );
            if r.status < 300 {
                return true;
            }
        }
    }
    false
}

#[test]
fn every_screen_and_printed_form_speaks_vietnamese_and_names_things_by_their_labels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, printed) = Server::start_dev(dir.path());
    let everyone = people(&dir.path().join("data"));
    // The dossiers `--dev` received, by code, as it printed them.
    let codes: Vec<String> = printed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.contains(".H17-"))
        .map(String::from)
        .collect();
    assert!(codes.len() >= 8, "{printed}");
    let officers: Vec<&Person> = everyone
        .iter()
        .filter(|p| !p.departments.is_empty())
        .collect();
    let leader = everyone
        .iter()
        .find(|p| p.subject == "lanh-dao")
        .expect("a leader");
    let cookies: Vec<(String, String)> = everyone
        .iter()
        .filter(|p| !p.roles.iter().any(|r| r == "portal" || r == "applicant"))
        .map(|p| (p.subject.clone(), server.sign_in(&p.token)))
        .collect();

    let mut walk = Walk {
        server: &server,
        ids: labelled_ids(),
        problems: BTreeMap::new(),
        pages: 0,
        visited: BTreeSet::new(),
    };
    assert!(walk.ids.len() > 50, "{:?}", walk.ids);

    // As the dossiers stand after receipt: every person's whole reachable screen set.
    for (who, cookie) in &cookies {
        walk.crawl(who, cookie, &["/".to_string()], 250);
    }
    for screen in [
        "/tiep-nhan",
        "/viec-cua-toi",
        "/tim-kiem",
        "/lanh-dao",
        "/bao-cao",
        "/kiem-tra",
        "/thu-tuc",
    ] {
        assert!(walk.visited.contains(screen), "{screen} was never read");
    }
    // Pages nobody links to but people meet: a dossier that does not exist, a forbidden one,
    // the citizen's lookup.
    let (who, cookie) = &cookies[0];
    for path in [
        "/ho-so/000.00.00.H17-000000-0000",
        "/khong-co-trang-nay",
        "/tra-cuu",
    ] {
        let r = walk.get(path, cookie);
        let body = r.text();
        walk.check(path, who, &body);
    }

    // Each dossier moved along, state by state; at each state its pages as the leader (who
    // sees every department) and the auditor.
    let auditor = cookies
        .iter()
        .find(|(w, _)| w == "thanh-tra")
        .expect("the auditor")
        .1
        .clone();
    let leader_cookie = cookies
        .iter()
        .find(|(w, _)| *w == leader.subject)
        .expect("the leader")
        .1
        .clone();
    let acting: Vec<Person> = officers
        .iter()
        .map(|p| Person {
            subject: p.subject.clone(),
            token: p.token.clone(),
            departments: p.departments.clone(),
            roles: p.roles.clone(),
        })
        .collect();
    // The desk prints each slip; its status-page address leads to the citizen's page.
    let desk = cookies
        .iter()
        .find(|(w, _)| w == "can-bo-mot-cua")
        .expect("the desk")
        .1
        .clone();
    let slips: Vec<String> = codes.iter().map(|c| format!("/ho-so/{c}/mau/01")).collect();
    walk.crawl("can-bo-mot-cua", &desk, &slips, 40);
    let mut moves = 0;
    for code in &codes {
        for _ in 0..14 {
            let start = vec![format!("/ho-so/{code}")];
            walk.crawl("lanh-dao", &leader_cookie, &start, 20);
            walk.crawl("thanh-tra", &auditor, &start, 20);
            if !step(&server, code, &acting) {
                break;
            }
            moves += 1;
        }
    }
    // And the lists once more, with dossiers in every state.
    for (who, cookie) in &cookies {
        if who == "lanh-dao" || who == "thanh-tra" || who == "can-bo-mot-cua" {
            walk.crawl(who, cookie, &["/".to_string()], 250);
        }
    }

    assert!(walk.pages > 200, "only {} pages were read", walk.pages);
    // Every sample went past receipt, most of them to their result.
    assert!(moves >= 3 * codes.len(), "only {moves} actions were taken");
    assert!(
        walk.visited.iter().any(|p| p.starts_with("/tra-cuu/")),
        "the citizen's status page was never read"
    );
    let forms: BTreeSet<&str> = walk
        .visited
        .iter()
        .filter_map(|p| p.split("/mau/").nth(1))
        .collect();
    for form in ["01", "02", "06"] {
        assert!(
            forms.contains(form),
            "form {form} was never read: {forms:?}"
        );
    }
    let report: Vec<String> = walk
        .problems
        .iter()
        .map(|(page, found)| {
            format!(
                "{page}\n  {}",
                found.iter().cloned().collect::<Vec<_>>().join("\n  ")
            )
        })
        .collect();
    assert!(
        report.is_empty(),
        "{} of {} pages read show English or raw ids:\n{}",
        report.len(),
        walk.pages,
        report.join("\n")
    );
}
