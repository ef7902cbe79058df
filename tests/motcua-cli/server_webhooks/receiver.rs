//! The webhook receiver of `tests/server_webhooks.rs`: a plain `TcpListener` speaking
//! HTTP/1.1 with keep-alive (as hyper's pooled client expects), answering each path as told,
//! and the signature check. Shared with `tests/server_crash.rs`, which uses only part of it.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// How the receiver answers on one path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Ok,
    /// 500 to everything.
    FailAll,
    /// 500 to the first `n` arrivals of each delivery id, then 200.
    FailFirst(u32),
    /// No answer at all to the first `n` arrivals of each id (the connection stays open until
    /// the server drops it), then 200.
    SilentFirst(u32),
    /// To the first `n` arrivals of each id, `200` and a content-length of 10, but no body
    /// (until the server drops the connection); then 200.
    StallBodyFirst(u32),
    /// `200` and an answer of 256 MiB, streamed until the server stops reading.
    HugeAnswer,
}

/// `Arrival::answered` for a 200 whose body was 256 MiB.
pub const HUGE: u16 = 2;
/// The huge answer's size.
pub const HUGE_BYTES: usize = 256 << 20;

/// `Arrival::answered` for a request left without an answer.
pub const SILENT: u16 = 0;
/// `Arrival::answered` for a 200 whose body never came.
pub const STALLED: u16 = 1;

/// One request the receiver read.
#[derive(Clone, Debug)]
pub struct Arrival {
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    pub id: u64,
    pub kind: String,
    pub dossier: String,
    pub json: Value,
    pub at: Instant,
    /// The status the receiver answered.
    pub answered: u16,
    /// 1 for the first arrival of this id on this path.
    pub nth: u32,
}

#[derive(Default)]
pub struct Inbox {
    pub arrivals: Vec<Arrival>,
    pub modes: HashMap<String, Mode>,
    pub counts: HashMap<(String, u64), u32>,
    /// Requests that could not be parsed as a delivery.
    pub malformed: Vec<String>,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    pub inbox: Arc<Mutex<Inbox>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("receiver port");
        let addr = listener.local_addr().expect("receiver address");
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let shared = inbox.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let inbox = shared.clone();
                std::thread::spawn(move || serve_connection(stream, inbox));
            }
        });
        Receiver { addr, inbox }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }

    pub fn set_mode(&self, path: &str, mode: Mode) {
        self.inbox
            .lock()
            .unwrap()
            .modes
            .insert(format!("/{path}"), mode);
    }

    pub fn arrivals(&self, path: &str) -> Vec<Arrival> {
        let path = format!("/{path}");
        self.inbox
            .lock()
            .unwrap()
            .arrivals
            .iter()
            .filter(|a| a.path == path)
            .cloned()
            .collect()
    }

    pub fn all_arrivals(&self) -> Vec<Arrival> {
        self.inbox.lock().unwrap().arrivals.clone()
    }

    pub fn malformed(&self) -> Vec<String> {
        self.inbox.lock().unwrap().malformed.clone()
    }
}

/// Reads requests one after another on a kept-alive connection (hyper's client pools them),
/// each framed by its content-length, and answers each.
pub fn serve_connection(stream: TcpStream, inbox: Arc<Mutex<Inbox>>) {
    let mut writer = stream.try_clone().expect("clone stream");
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let request_line = request_line.trim_end().to_string();
        if request_line.is_empty() {
            continue;
        }
        let mut headers = BTreeMap::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let length: usize = match headers.get("content-length").map(|v| v.parse()) {
            Some(Ok(n)) => n,
            _ => {
                inbox
                    .lock()
                    .unwrap()
                    .malformed
                    .push(format!("{request_line}: no content-length ({headers:?})"));
                let _ = writer.write_all(
                    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
                return;
            }
        };
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let status = {
            let mut inbox = inbox.lock().unwrap();
            match serde_json::from_slice::<Value>(&body) {
                Ok(v) if method == "POST" && v["id"].as_u64().is_some() => {
                    let id = v["id"].as_u64().unwrap_or_default();
                    let nth = {
                        let n = inbox.counts.entry((path.clone(), id)).or_insert(0);
                        *n += 1;
                        *n
                    };
                    let mode = inbox.modes.get(&path).copied().unwrap_or(Mode::Ok);
                    let status = match mode {
                        Mode::Ok => 200,
                        Mode::FailAll => 500,
                        Mode::FailFirst(n) if nth <= n => 500,
                        Mode::FailFirst(_) => 200,
                        Mode::SilentFirst(n) if nth <= n => SILENT,
                        Mode::StallBodyFirst(n) if nth <= n => STALLED,
                        Mode::HugeAnswer => HUGE,
                        Mode::SilentFirst(_) | Mode::StallBodyFirst(_) => 200,
                    };
                    inbox.arrivals.push(Arrival {
                        path: path.clone(),
                        headers: headers.clone(),
                        id,
                        kind: v["type"].as_str().unwrap_or_default().to_string(),
                        dossier: v["dossier"].as_str().unwrap_or_default().to_string(),
                        json: v,
                        body: body.clone(),
                        at: Instant::now(),
                        answered: status,
                        nth,
                    });
                    status
                }
                _ => {
                    inbox.malformed.push(format!(
                        "{request_line}: {}",
                        String::from_utf8_lossy(&body)
                    ));
                    400
                }
            }
        };
        if status == HUGE {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {HUGE_BYTES}\r\n\r\n"
            );
            if writer.write_all(head.as_bytes()).is_err() {
                return;
            }
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..HUGE_BYTES / chunk.len() {
                if writer.write_all(&chunk).is_err() {
                    return;
                }
            }
            continue;
        }
        if status == SILENT || status == STALLED {
            if status == STALLED {
                let _ = writer.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 10\r\n\r\n",
                );
            }
            // Hold the connection until the server gives up on it.
            let mut byte = [0u8; 1];
            let _ = reader.read(&mut byte);
            return;
        }
        let reason = if status == 200 { "OK" } else { "Oops" };
        let answer = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"
        );
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
        if headers
            .get("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
        {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Signatures

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `x-motcua-signature` against `secret` and the body, and the other headers against
/// the body. Panics with what is wrong.
pub fn check_signed(a: &Arrival, secret: &str) {
    let sig = a
        .headers
        .get("x-motcua-signature")
        .unwrap_or_else(|| panic!("delivery {} on {} has no signature", a.id, a.path));
    let (t, v1) = sig
        .split_once(',')
        .and_then(|(t, v)| Some((t.strip_prefix("t=")?, v.strip_prefix("v1=")?)))
        .unwrap_or_else(|| panic!("signature '{sig}' is not t=<unix>,v1=<hex>"));
    let t_num: i64 = t.parse().unwrap_or_else(|_| panic!("signature time '{t}'"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now - t_num).abs() < 600,
        "signature time {t_num} is far from now {now}"
    );
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&a.body);
    let expected = hex(&mac.finalize().into_bytes());
    assert_eq!(
        v1,
        expected,
        "delivery {} on {}: the signature does not verify for body {}",
        a.id,
        a.path,
        String::from_utf8_lossy(&a.body)
    );
    assert_eq!(
        a.headers.get("content-type").map(String::as_str),
        Some("application/json"),
        "delivery {}",
        a.id
    );
    assert_eq!(
        a.headers.get("x-motcua-event"),
        Some(&a.kind),
        "delivery {}: x-motcua-event vs the body's type",
        a.id
    );
    assert_eq!(
        a.headers.get("x-motcua-delivery"),
        Some(&a.id.to_string()),
        "delivery {}: x-motcua-delivery vs the body's id",
        a.id
    );
    for field in ["id", "type", "event", "dossier", "at", "status", "data"] {
        assert!(
            a.json.get(field).is_some(),
            "delivery {} has no '{field}': {}",
            a.id,
            a.json
        );
    }
    assert!(
        (1..=10).contains(&a.json["status"].as_u64().unwrap_or(0)),
        "delivery {}: status {}",
        a.id,
        a.json["status"]
    );
    let expected_type = match a.json["event"].as_str().unwrap_or_default() {
        "dossier.received" => "submitted",
        "dossier.ended" => "ended",
        "deadline.warning" => "due_soon",
        "deadline.overdue" => "overdue",
        "deadline.escalated" => "escalated",
        "dossier.moved" if a.json["status"] == 5 => "supplement_requested",
        _ => "state_changed",
    };
    assert_eq!(a.kind, expected_type, "delivery {}: {}", a.id, a.json);
}

// ---------------------------------------------------------------------------------------------
// Driving dossiers
