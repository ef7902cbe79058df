//! The front door under abuse (issue 24), against the real binary on 127.0.0.1: each test is
//! a regression named for what a hostile probe found. A second client is played from
//! 127.0.0.2, so one address's abuse and another's service can be told apart.

use crate::http;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use http::{ADMIN, AUDITOR, CITIZEN, DESK, PORTAL, Server};
use serde_json::json;

/// A connection to the server from 127.0.0.2.
fn from_second_address(server: SocketAddr) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let local: SocketAddr = "127.0.0.2:0".parse().expect("address");
    socket.bind(&local.into()).expect("binding 127.0.0.2");
    socket.connect(&server.into()).expect("connecting");
    socket.into()
}

/// What the server sent before closing or `wait` passed, and whether it closed.
fn read_for(s: &mut TcpStream, wait: Duration) -> (String, bool) {
    s.set_read_timeout(Some(wait)).expect("timeout");
    let mut got = vec![];
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            // A reset is a close too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&got).into_owned(), true);
            }
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(pairs)
        .expect("form")
        .into_bytes()
}

fn sign_in(s: &Server, token: &str) -> http::Response {
    s.request(
        "POST",
        "/dang-nhap",
        None,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(&form(&[("token", token), ("next", "")])),
    )
}

fn cookie_of(r: &http::Response) -> String {
    r.header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string()
}

/// Regression: bodies had no deadline, so connections that sent `POST /dang-nhap` with
/// `Content-Length: 100` and never the body held every slot and `/healthz` stopped answering.
#[test]
fn a_slow_body_lock_out_attempt_leaves_healthz_answering() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(
        dir.path(),
        &[
            "--max-connections-per-address",
            "16",
            "--body-read-timeout",
            "2",
        ],
    );
    let head = "POST /dang-nhap HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\ntoken=";
    let mut held = vec![];
    for _ in 0..40 {
        let mut c = from_second_address(s.addr);
        c.write_all(head.as_bytes()).expect("head");
        held.push(c);
    }
    // Another address is served at once.
    let started = Instant::now();
    let health = s.get("/healthz", None);
    assert_eq!(health.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Past its cap of 16 the address is closed at once, without an answer.
    let mut closed_at_once = 0;
    for c in held.iter_mut().skip(16) {
        let (answer, closed) = read_for(c, Duration::from_millis(500));
        if closed && answer.is_empty() {
            closed_at_once += 1;
        }
    }
    assert_eq!(closed_at_once, 24);
    // The 16 it holds get 408 when their bodies are 2 s late, and are closed.
    for c in held.iter_mut().take(16) {
        let (answer, closed) = read_for(c, Duration::from_secs(10));
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("request_timeout") && closed, "{answer}");
    }
    // Its slots are free again.
    let mut c = from_second_address(s.addr);
    c.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .expect("request");
    let (answer, _) = read_for(&mut c, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Regression: the session store evicted the least recently used session when full, so
/// 10,001 sign-ins with a citizen's token signed out an officer working a moment before.
#[test]
fn ten_thousand_sign_ins_with_one_token_leave_an_officer_signed_in() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &[]);
    let officer = cookie_of(&sign_in(&s, DESK.token));
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|i| {
                let s = &s;
                scope.spawn(move || {
                    let n = if i == 0 { 2501 } else { 2500 };
                    (0..n)
                        .map(|_| sign_in(s, CITIZEN.token).status)
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    assert_eq!(statuses.len(), 10_001);
    let signed_in = statuses.iter().filter(|&&c| c == 303).count();
    let throttled = statuses.iter().filter(|&&c| c == 429).count();
    assert_eq!(signed_in + throttled, 10_001, "{statuses:?}");
    assert!(
        (30..100).contains(&signed_in),
        "{signed_in} sign-ins went through"
    );
    let r = sign_in(&s, CITIZEN.token);
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    let work = s.request("GET", "/viec-cua-toi", None, &[("cookie", &officer)], None);
    assert_eq!(work.status, 200, "the officer is still signed in");
}

/// Regression: the `next` of a listing was the hex index key, naming a hidden dossier's
/// applicant, code, procedure and day to a portal that may not read it.
#[test]
fn a_list_cursor_reveals_nothing_and_is_refused_to_another_caller() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &[]);
    let mut codes = vec![];
    for key in ["quay-1", "quay-2", "quay-3"] {
        let r = s.post(
            "/v1/dossiers",
            Some(DESK),
            &[("idempotency-key", key)],
            &http::house_permit(),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        codes.push(r.json()["code"].as_str().expect("code").to_string());
    }
    let list = |who, cursor: Option<&str>| {
        let mut path = format!("/v1/dossiers?applicant={}&limit=1", CITIZEN.subject);
        if let Some(c) = cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        s.get(&path, Some(who))
    };
    let page = list(PORTAL, None).json();
    assert_eq!(
        page["dossiers"],
        json!([]),
        "the portal received none of them"
    );
    let next = page["next"].as_str().expect("a next page").to_string();
    for secret in [CITIZEN.subject, "cap-phep", "H56"]
        .into_iter()
        .chain(codes.iter().map(String::as_str))
    {
        assert!(!next.contains(secret), "{next} shows {secret}");
    }
    assert_eq!(list(PORTAL, Some(&next)).status, 200);
    let foreign = list(AUDITOR, Some(&next));
    assert_eq!(
        (foreign.status, foreign.problem_code()),
        (400, "bad_cursor".into())
    );
    let mut tampered = next.clone().into_bytes();
    tampered[20] = if tampered[20] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    let r = list(PORTAL, Some(&tampered));
    assert_eq!((r.status, r.problem_code()), (400, "bad_cursor".into()));
    // The auditor's own pages still work, cursor after cursor.
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let p = list(AUDITOR, cursor.as_deref()).json();
        for d in p["dossiers"].as_array().expect("page") {
            seen.push(d["code"].as_str().expect("code").to_string());
        }
        match p["next"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, codes);
}

/// Regression: comments went raw into the inspector's CSV, so `=HYPERLINK(...)` arrived as a
/// live formula.
#[test]
fn a_formula_in_a_comment_arrives_in_the_csv_export_neutralised() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &[]);
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "csv")],
        &http::house_permit(),
    );
    let code = r.json()["code"].as_str().expect("code").to_string();
    let formula = "=HYPERLINK(\"http://evil.example\",\"x\")";
    let r = s.post(
        &format!("/v1/dossiers/{code}/actions"),
        Some(DESK),
        &[("if-match", "\"1\"")],
        &json!({"action": "chuyen-kiem-tra", "input": {}, "comment": formula}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let csv = s.get("/v1/audit?format=csv", Some(AUDITOR)).text();
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""),
        "{csv}"
    );
    assert!(!csv.contains(",\"=HYPERLINK") && !csv.contains(",=HYPERLINK"));
    // The JSON Lines export keeps the comment exactly.
    let jsonl = s.get("/v1/audit?format=jsonl", Some(AUDITOR)).text();
    assert!(jsonl.contains("\"comment\":\"=HYPERLINK("), "{jsonl}");
}

/// A copy of the construction-permit sample whose first plugin is read from `file`.
fn with_plugin_file(source: &str, file: &str) -> String {
    source.replacen(
        "file: ../plugins/dist/cccd.wasm",
        &format!("file: {file}"),
        1,
    )
}

/// Regression: an uploaded procedure's plugin `file:` was read wherever it pointed:
/// `/etc/hostname` answered with its hash, a FIFO tied a worker up, `/dev/zero` grew the
/// process past 1.5 GiB.
#[test]
fn plugin_paths_outside_the_folders_fifos_and_devices_are_refused_promptly_with_memory_flat() {
    let dir = tempfile::tempdir().expect("tmp");
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
    let sample = http::root().join("procedures/cap-phep-xay-dung-nha-o.yaml");
    std::fs::copy(&sample, procedures.join("cap-phep-xay-dung-nha-o.yaml")).expect("copy");
    let status = std::process::Command::new("mkfifo")
        .arg(procedures.join("fifo.wasm"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    std::os::unix::fs::symlink("/dev/zero", procedures.join("zero.wasm")).expect("link");
    let s = Server::start_with_procedures(&dir.path().join("server"), &procedures, &[]);
    let source = std::fs::read_to_string(&sample).expect("sample");
    let put = |body: &str| {
        s.request(
            "PUT",
            "/v1/procedures/cap-phep-xay-dung-nha-o",
            Some(ADMIN),
            &[("content-type", "application/yaml")],
            Some(body.as_bytes()),
        )
    };
    let before = s.resident_kib();
    for file in [
        "/etc/hostname",
        "../../../../../../etc/hostname",
        "/dev/zero",
        "zero.wasm",
        "fifo.wasm",
    ] {
        let started = Instant::now();
        let r = put(&with_plugin_file(&source, file));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{file}: {:?}",
            started.elapsed()
        );
        assert_eq!(
            (r.status, r.problem_code()),
            (422, "invalid_procedure".into()),
            "{file}: {}",
            r.text()
        );
        let e = &r.json()["errors"][0];
        assert_eq!(e["code"], "E060", "{file}: {e}");
        assert!(e["line"].as_u64() > Some(0), "positioned: {e}");
        let text = r.text();
        assert!(
            !text.contains("sha256: ") && !text.contains("No such file"),
            "{file}: {text}"
        );
    }
    let after = s.resident_kib();
    assert!(
        after < before + 100 * 1024,
        "memory grew from {before} to {after} KiB"
    );
    // The folders' own files still load.
    let r = put(&source.replace("version: \"2025.1\"", "version: \"2025.2\""));
    assert_eq!(r.status, 201, "{}", r.text());
}

/// Regression: failed authentication was answered at about 5,000/s with a log line each.
#[test]
fn the_thousand_and_first_bad_token_from_one_address_gets_429() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &[]);
    let bad = |n: usize| -> Vec<u16> {
        (0..n)
            .map(|i| {
                s.request(
                    "GET",
                    "/v1/procedures",
                    None,
                    &[("authorization", &format!("Bearer forged-{i}"))],
                    None,
                )
                .status
            })
            .collect()
    };
    // A burst of 1,000, then one a second: on a loaded machine the first thousand take more
    // than a second, and each second refills one. So: every answer is 401 until the first
    // 429, which comes after at least 1,000 and at most 1,000 + the seconds elapsed (+1).
    let clock = std::time::Instant::now();
    let first = bad(1000);
    assert!(first.iter().all(|&c| c == 401), "{first:?}");
    let mut extra = 0u64;
    let r = loop {
        let r = s.request(
            "GET",
            "/v1/procedures",
            None,
            &[("authorization", &format!("Bearer forged-more-{extra}"))],
            None,
        );
        if r.status != 401 || extra > clock.elapsed().as_secs() + 1 {
            break r;
        }
        extra += 1;
    };
    assert_eq!((r.status, r.problem_code()), (429, "rate_limited".into()));
    assert!(
        extra <= clock.elapsed().as_secs() + 1,
        "{extra} more 401s after the burst, in {:?}",
        clock.elapsed()
    );
    assert!(
        r.header("retry-after")
            .is_some_and(|v| v.parse::<u64>().is_ok())
    );
    // A good token from the same address still passes: behind a proxy or an office NAT one
    // address is many people, and one of them guessing must not lock the others out.
    assert_eq!(s.get("/v1/procedures", Some(DESK)).status, 200);
    // Failed sign-ins from that address are throttled too; another address's are not.
    assert_eq!(sign_in(&s, "forged-sign-in").status, 429);
    let mut c = from_second_address(s.addr);
    let body = form(&[("token", "forged"), ("next", "")]);
    let mut req = format!(
        "POST /dang-nhap HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    c.write_all(&req).expect("request");
    let (answer, _) = read_for(&mut c, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    // The log is bounded: far fewer refusal lines than refusals.
    let lines = s
        .stderr_text()
        .lines()
        .filter(|l| l.contains("refused"))
        .count();
    assert!(lines < 200, "{lines} refusal lines for 1,001 refusals");
    assert!(s.stderr_text().contains("suppressed"));
}

#[test]
fn every_answer_says_nosniff_and_same_origin_referrer_and_the_bearer_scheme_is_case_insensitive() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &[]);
    let r = s.get("/healthz", None);
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("referrer-policy"), Some("same-origin"));
    for scheme in ["bearer", "BEARER", "Bearer", "bEaReR"] {
        let r = s.request(
            "GET",
            "/v1/procedures",
            None,
            &[("authorization", &format!("{scheme} {}", DESK.token))],
            None,
        );
        assert_eq!(r.status, 200, "{scheme}");
    }
}

/// The Origin check compares the scheme too: only `http://` or `https://` (a TLS proxy in
/// front) on this host is this site.
#[test]
fn a_form_posted_from_another_scheme_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &[]);
    let host = s.addr.to_string();
    let post = |origin: &str| {
        s.request(
            "POST",
            "/dang-nhap",
            None,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("origin", origin),
            ],
            Some(&form(&[("token", DESK.token), ("next", "")])),
        )
        .status
    };
    assert_eq!(post(&format!("http://{host}")), 303);
    assert_eq!(post(&format!("https://{host}")), 303);
    for scheme in ["ftp", "file", "chrome-extension", "ws"] {
        assert_eq!(post(&format!("{scheme}://{host}")), 403, "{scheme}");
    }
}

/// Officers of a department that has a step of the procedure, but not its receipt, may not
/// receive its dossiers at the desk.
#[test]
fn only_the_receiving_department_receives() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &[]);
    let r = s.post(
        "/v1/dossiers",
        Some(http::OTHER_DEPT),
        &[("idempotency-key", "thue")],
        &http::house_permit(),
    );
    assert_eq!(
        (r.status, r.problem_code()),
        (403, "forbidden".into()),
        "{}",
        r.text()
    );
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "mot-cua")],
        &http::house_permit(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
}
