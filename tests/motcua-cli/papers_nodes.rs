//! A dossier's papers across nodes and across a SIGKILL, against the real binary:
//!
//! - three `motcua serve` nodes on one PostgreSQL database: a scan the desk uploads on one
//!   node is listed and downloaded byte for byte from the other two, and the clearer scan
//!   uploaded on the third is the current version on the first; the bytes live in the
//!   database the nodes share, not in the folder of the node that received them;
//! - a server killed with SIGKILL while a scan streams in attaches nothing: the chain verifies
//!   after the restart, and `motcua documents gc` leaves no byte of the cut-short upload in
//!   `data/papers`;
//! - a server killed with SIGKILL just after it answered 201 has the paper after the restart,
//!   whole: what was acknowledged was durable.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli::{run, text};
use crate::http::{self, AUDITOR, Cred, DESK, HA_TANG, Response, Server};
use crate::pg;
use crate::web_screens::{receive, start};
use serde_json::{Value, json};

const NOW: &str = "2026-12-01T08:00:00+07:00";

/// A scan of `kib` KiB: a PDF header, then bytes that differ with `seed`.
fn scan(kib: usize, seed: u64) -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n".to_vec();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while bytes.len() < kib * 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(kib * 1024);
    bytes
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

fn upload(s: &Server, who: Cred, code: &str, kind: &str, name: &str, bytes: &[u8]) -> Response {
    s.request(
        "POST",
        &format!("/v1/dossiers/{code}/documents?kind={kind}"),
        Some(who),
        &[
            ("content-type", "application/pdf"),
            (
                "content-disposition",
                &format!("attachment; filename=\"{name}\""),
            ),
        ],
        Some(bytes),
    )
}

fn papers(s: &Server, who: Cred, code: &str) -> Vec<Value> {
    let r = s.get(&format!("/v1/dossiers/{code}/documents"), Some(who));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["papers"].as_array().expect("papers").clone()
}

fn download(s: &Server, who: Cred, code: &str, sha: &str) -> Vec<u8> {
    let r = s.get(&format!("/v1/dossiers/{code}/documents/{sha}"), Some(who));
    assert_eq!(r.status, 200, "downloading {sha}: {}", r.text());
    r.body
}

fn version(s: &Server, code: &str) -> u64 {
    s.get(&format!("/v1/dossiers/{code}"), Some(AUDITOR)).json()["version"]
        .as_u64()
        .expect("version")
}

fn verified(s: &Server) -> Value {
    let v = s.get("/v1/audit/verify", Some(AUDITOR)).json();
    assert_eq!(v["ok"], true, "the chain and its papers verify: {v}");
    v
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = vec![];
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                found.push(p);
            }
        }
    }
    found.sort();
    found
}

fn database_of(url: &str) -> &str {
    url.rsplit('/').next().expect("a database name")
}

#[test]
fn a_scan_uploaded_on_one_node_is_read_whole_on_the_others_and_a_new_version_comes_back() {
    let url = pg::cluster().fresh_database();
    let tmp = tempfile::tempdir().expect("tempdir");
    let nodes: Vec<Server> = (0..3)
        .map(|i| {
            let dir = tmp.path().join(format!("node{i}"));
            Server::start(&dir, &["--now", NOW, "--store", &url])
        })
        .collect();
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let r = a.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "papers-nodes-1")],
        &http::house_permit(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let code = r.json()["code"].as_str().expect("code").to_string();

    // The desk scans the land-use certificate on node A: three and a half 1 MiB chunks.
    let first = scan(3 * 1024 + 512, 1);
    let r = upload(a, DESK, &code, "giay-to-dat", "giấy tờ đất.pdf", &first);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["sha256"], sha256(&first));

    // Behind a load balancer the officer's next request lands anywhere: B and C both list it
    // and hand back the very bytes.
    for (node, name) in [(b, "B"), (c, "C")] {
        let listed = papers(node, HA_TANG, &code);
        assert_eq!(listed.len(), 1, "node {name}: {listed:?}");
        let p = &listed[0];
        assert_eq!(
            (&p["sha256"], &p["size"], &p["version"], &p["current"]),
            (
                &json!(sha256(&first)),
                &json!(first.len()),
                &json!(1),
                &json!(true)
            ),
            "node {name}: {p}"
        );
        assert_eq!(p["name"], "giấy tờ đất.pdf", "node {name}");
        assert_eq!(p["source"], "desk", "node {name}");
        let back = download(node, HA_TANG, &code, &sha256(&first));
        assert!(
            back == first,
            "node {name}: the download differs from the upload"
        );
    }

    // A clearer scan of the same paper, at the desk on node C: version 2 on node A.
    let clearer = scan(1536, 2);
    let r = upload(
        c,
        DESK,
        &code,
        "giay-to-dat",
        "giấy tờ đất (rõ).pdf",
        &clearer,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let listed = papers(a, HA_TANG, &code);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(
        (
            &listed[0]["sha256"],
            &listed[0]["version"],
            &listed[0]["current"]
        ),
        (&json!(sha256(&first)), &json!(1), &json!(false)),
    );
    assert_eq!(
        (
            &listed[1]["sha256"],
            &listed[1]["version"],
            &listed[1]["current"]
        ),
        (&json!(sha256(&clearer)), &json!(2), &json!(true)),
    );
    assert!(download(a, HA_TANG, &code, &sha256(&clearer)) == clearer);
    assert!(
        download(a, HA_TANG, &code, &sha256(&first)) == first,
        "the first version stays readable"
    );

    // The bytes are in the database every node reads, in no node's own folder.
    let kept = pg::cluster()
        .psql(
            database_of(&url),
            "SELECT count(DISTINCT name) FROM motcua_files WHERE name NOT LIKE 'tmp-%'",
        )
        .expect("psql");
    assert_eq!(kept, "2", "two files kept in motcua_files");
    for (i, n) in nodes.iter().enumerate() {
        let local: Vec<PathBuf> = files_under(&n.dir)
            .into_iter()
            .filter(|p| {
                p.file_name().is_some_and(|f| {
                    f.to_string_lossy() == sha256(&first) || f.to_string_lossy() == sha256(&clearer)
                })
            })
            .collect();
        assert!(
            local.is_empty(),
            "node {i} keeps a copy of its own: {local:?}"
        );
    }

    // Each node checks both files against the chain; so does the command.
    for n in &nodes {
        assert_eq!(verified(n)["papers"], 2);
    }
    let out = run(&["audit", "verify", "--store", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("papers: 2 checked"),
        "{}",
        text(&out.stdout)
    );
    for (i, n) in nodes.into_iter().enumerate() {
        assert!(n.terminate().success(), "node {i} stops cleanly");
    }
}

#[test]
fn a_server_killed_while_a_scan_streams_in_attaches_nothing_and_gc_leaves_no_stray_bytes() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let (code, _) = receive(
        &s,
        "papers-nodes-2",
        http::house_permit()["documents"].clone(),
    );
    let before = version(&s, &code);
    let papers_dir = dir.path().join("data/papers");
    let leftovers = || files_under(&papers_dir.join("tmp"));
    assert!(leftovers().is_empty(), "{:?}", leftovers());

    // An 8 MiB drawing declared; half of it sent, the rest never comes.
    let drawing = scan(8 * 1024, 3);
    let mut sending = TcpStream::connect(s.addr).expect("connect");
    let head = format!(
        "POST /v1/dossiers/{code}/documents?kind=ban-ve-thiet-ke HTTP/1.1\r\nhost: {}\r\n\
         authorization: Bearer {}\r\ncontent-type: application/pdf\r\n\
         content-disposition: attachment; filename=\"ban-ve.pdf\"\r\ncontent-length: {}\r\n\r\n",
        s.addr,
        DESK.token,
        drawing.len()
    );
    sending.write_all(head.as_bytes()).expect("head sent");
    sending
        .write_all(&drawing[..drawing.len() / 2])
        .expect("half the drawing sent");
    sending.flush().expect("flushed");
    // The server is keeping it: the temporary file grows in data/papers/tmp.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let written: u64 = leftovers()
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        if written >= 1 << 20 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the upload never reached the disk ({written} bytes): {}",
            s.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let s = s.kill_and_restart();
    drop(sending);
    assert!(papers(&s, DESK, &code).is_empty(), "nothing attached");
    assert_eq!(
        version(&s, &code),
        before,
        "no entry for the cut-short upload"
    );
    assert_eq!(verified(&s)["papers"], 0);
    // What the killed upload left is a temporary file no entry names.
    assert_eq!(leftovers().len(), 1, "{:?}", leftovers());
    assert!(s.terminate().success());

    let data = dir.path().join("data");
    let data = data.to_str().expect("path");
    let out = run(&["audit", "verify", "--data", data]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = run(&["documents", "gc", "--data", data, "--grace", "0s"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        "removed 0 unreferenced files, 1 unfinished uploads"
    );
    assert_eq!(
        files_under(&papers_dir),
        Vec::<PathBuf>::new(),
        "no stray file"
    );

    // The desk sends the drawing again, whole: attached as the first version.
    let s = start(dir.path());
    let r = upload(&s, DESK, &code, "ban-ve-thiet-ke", "ban-ve.pdf", &drawing);
    assert_eq!(r.status, 201, "{}", r.text());
    let listed = papers(&s, HA_TANG, &code);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["version"], 1);
    assert!(download(&s, HA_TANG, &code, &sha256(&drawing)) == drawing);
}

#[test]
fn a_server_killed_right_after_its_201_keeps_the_acknowledged_scan_whole() {
    let dir = tempfile::tempdir().expect("dir");
    let s = start(dir.path());
    let (code, _) = receive(
        &s,
        "papers-nodes-3",
        http::house_permit()["documents"].clone(),
    );
    let certificate = scan(4 * 1024 + 123, 4);
    let r = upload(&s, DESK, &code, "giay-to-dat", "gcn.pdf", &certificate);
    assert_eq!(r.status, 201, "{}", r.text());
    let acknowledged = r.json();

    // SIGKILL the moment the answer is in: no clean shutdown, no flush but the ones made.
    let s = s.kill_and_restart();
    let listed = papers(&s, HA_TANG, &code);
    assert_eq!(listed.len(), 1, "{listed:?}");
    for field in ["sha256", "size", "name", "version", "kind", "at"] {
        assert_eq!(listed[0][field], acknowledged[field], "{field}");
    }
    assert!(
        download(&s, HA_TANG, &code, &sha256(&certificate)) == certificate,
        "the download differs from the acknowledged upload"
    );
    assert_eq!(verified(&s)["papers"], 1);
    assert!(s.terminate().success());
    let data = dir.path().join("data");
    let out = run(&["audit", "verify", "--data", data.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("papers: 1 checked"),
        "{}",
        text(&out.stdout)
    );
}
