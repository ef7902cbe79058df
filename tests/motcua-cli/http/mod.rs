//! Running `motcua serve` (the real binary) on 127.0.0.1 and talking HTTP/1.1 to it over a
//! plain TcpStream, so tests can also send what no client library would (hostile bodies,
//! broken headers). Shared by the server's test files.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A credential of the test tokens file.
#[derive(Clone, Copy, Debug)]
pub struct Cred {
    pub subject: &'static str,
    pub token: &'static str,
    pub roles: &'static [&'static str],
    pub departments: &'static [&'static str],
}

/// Officers of the construction-permit procedure, and the built-in roles.
pub const DESK: Cred = Cred {
    subject: "desk-1",
    token: "tok-desk-0000000001",
    roles: &["can-bo-mot-cua"],
    departments: &["mot-cua"],
};
pub const HA_TANG: Cred = Cred {
    subject: "ha-tang-1",
    token: "tok-ha-tang-000001",
    roles: &["chuyen-vien-ha-tang", "truong-phong-ha-tang"],
    departments: &["ha-tang"],
};
pub const LEADER: Cred = Cred {
    subject: "lanh-dao-1",
    token: "tok-lanh-dao-00001",
    roles: &["lanh-dao-ubnd"],
    departments: &["lanh-dao"],
};
pub const OTHER_DEPT: Cred = Cred {
    subject: "thue-1",
    token: "tok-thue-000000001",
    roles: &["chuyen-vien-ha-tang", "can-bo-mot-cua"],
    departments: &["thue"],
};
pub const AUDITOR: Cred = Cred {
    subject: "thanh-tra-1",
    token: "tok-auditor-000001",
    roles: &["auditor"],
    departments: &[],
};
pub const ADMIN: Cred = Cred {
    subject: "quan-tri-1",
    token: "tok-admin-00000001",
    roles: &["admin"],
    departments: &[],
};
pub const PORTAL: Cred = Cred {
    subject: "cong-dvc",
    token: "tok-portal-0000001",
    roles: &["portal"],
    departments: &[],
};
pub const CITIZEN: Cred = Cred {
    subject: "001090012345",
    token: "tok-citizen-000001",
    roles: &["applicant"],
    departments: &[],
};
pub const ALL: [Cred; 8] = [
    DESK, HA_TANG, LEADER, OTHER_DEPT, AUDITOR, ADMIN, PORTAL, CITIZEN,
];

fn sha256_hex(s: &str) -> String {
    use std::fmt::Write as _;
    // Test-side sha256 through the server crate's own helper would hide a bug in it; the
    // `sha256sum`-compatible digest is computed by the system tool instead.
    let out = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().expect("stdin").write_all(s.as_bytes())?;
            c.wait_with_output()
        })
        .expect("sha256sum");
    let text = String::from_utf8(out.stdout).expect("utf8");
    let mut hex = String::new();
    let _ = write!(hex, "{}", text.split_whitespace().next().expect("digest"));
    hex
}

/// Writes the tokens file (sha256 only, as in production) for `creds`.
pub fn write_tokens(path: &Path, creds: &[Cred]) {
    let mut y = String::new();
    for c in creds {
        y.push_str(&format!(
            "- token_sha256: {}\n  subject: \"{}\"\n  roles: {:?}\n  departments: {:?}\n",
            sha256_hex(c.token),
            c.subject,
            c.roles,
            c.departments
        ));
    }
    std::fs::write(path, y).expect("tokens file");
}

/// A running server and its folders.
pub struct Server {
    pub dir: PathBuf,
    pub addr: SocketAddr,
    pub child: Child,
    pub args: Vec<String>,
    pub stderr: PathBuf,
    /// Everything it printed on stdout so far.
    pub printed: std::sync::Arc<std::sync::Mutex<String>>,
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_motcua"))
}

impl Server {
    /// Starts the binary on a free port with the sample procedures, the test tokens and
    /// `extra` flags; waits until it listens.
    pub fn start(dir: &Path, extra: &[&str]) -> Server {
        std::fs::create_dir_all(dir).expect("dir");
        let tokens = dir.join("tokens.yaml");
        if !tokens.exists() {
            write_tokens(&tokens, &ALL);
        }
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--data".into(),
            dir.join("data").display().to_string(),
            "--procedures".into(),
            root().join("procedures").display().to_string(),
            "--tokens".into(),
            tokens.display().to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        Server::spawn(dir, args)
    }

    /// [`Server::start`] with another procedures folder.
    pub fn start_with_procedures(dir: &Path, procedures: &Path, extra: &[&str]) -> Server {
        std::fs::create_dir_all(dir).expect("dir");
        let tokens = dir.join("tokens.yaml");
        if !tokens.exists() {
            write_tokens(&tokens, &ALL);
        }
        let mut args: Vec<String> = [
            "serve",
            "--data",
            &dir.join("data").display().to_string(),
            "--procedures",
            &procedures.display().to_string(),
            "--tokens",
            &tokens.display().to_string(),
            "--listen",
            "127.0.0.1:0",
        ]
        .map(String::from)
        .to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        Server::spawn(dir, args)
    }

    /// `motcua serve --dev` (no tokens file) on a free port, and what it printed before
    /// listening.
    pub fn start_dev(dir: &Path) -> (Server, String) {
        std::fs::create_dir_all(dir).expect("dir");
        let args: Vec<String> = vec![
            "serve".into(),
            "--dev".into(),
            "--data".into(),
            dir.join("data").display().to_string(),
            "--procedures".into(),
            root().join("procedures").display().to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ];
        let s = Server::spawn(dir, args);
        let printed = s.printed.lock().map(|p| p.clone()).unwrap_or_default();
        (s, printed)
    }

    fn spawn(dir: &Path, args: Vec<String>) -> Server {
        let stderr = dir.join(format!(
            "stderr-{}.log",
            Instant::now().elapsed().as_nanos()
        ));
        let err_file = std::fs::File::create(&stderr).expect("stderr file");
        let mut child = Command::new(binary())
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(err_file)
            .spawn()
            .expect("starting motcua serve");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let printed = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let keep = printed.clone();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(out).lines();
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if let Ok(mut p) = keep.lock() {
                    p.push_str(&line);
                    p.push('\n');
                }
                if let Some(a) = line.strip_prefix("listening on http://") {
                    let _ = tx.send(a.to_string());
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(a) => a.parse().expect("address"),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "motcua serve did not start: {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                );
            }
        };
        Server {
            dir: dir.to_path_buf(),
            addr,
            child,
            args,
            stderr,
            printed,
        }
    }

    /// SIGKILL, then the same command again (same data, a new port).
    pub fn kill_and_restart(mut self) -> Server {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (dir, args) = (self.dir.clone(), self.args.clone());
        Server::spawn(&dir, args)
    }

    /// SIGTERM and the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("motcua serve did not stop after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server process's resident memory (VmRSS), in KiB.
    pub fn resident_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Signs in on the screens with `token` through the sign-in form, as a browser does;
    /// the session cookie (`name=value`), which is HttpOnly and SameSite=Strict.
    pub fn sign_in(&self, token: &str) -> String {
        let body = serde_urlencoded::to_string([("token", token), ("next", "")]).expect("form");
        let r = self.request(
            "POST",
            "/dang-nhap",
            None,
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(body.as_bytes()),
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let cookie = r
            .header("set-cookie")
            .expect("a session cookie")
            .to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        cookie.split(';').next().expect("name=value").to_string()
    }

    pub fn get(&self, path: &str, who: Option<Cred>) -> Response {
        self.request("GET", path, who, &[], None)
    }

    pub fn post(
        &self,
        path: &str,
        who: Option<Cred>,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Response {
        let bytes = serde_json::to_vec(body).expect("json");
        let mut h: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.request("POST", path, who, &h, Some(&bytes))
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        who: Option<Cred>,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Response {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n",
            self.addr
        );
        if let Some(c) = who {
            head.push_str(&format!("authorization: Bearer {}\r\n", c.token));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = body {
            head.push_str(&format!("content-length: {}\r\n", b.len()));
        }
        head.push_str("\r\n");
        let mut raw = head.into_bytes();
        if let Some(b) = body {
            raw.extend_from_slice(b);
        }
        self.raw(&raw).expect("an HTTP answer")
    }

    /// Sends raw bytes and reads one response, or the I/O error.
    pub fn raw(&self, bytes: &[u8]) -> std::io::Result<Response> {
        let mut s = TcpStream::connect(self.addr)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        s.write_all(bytes)?;
        let mut buf = vec![];
        s.read_to_end(&mut buf)?;
        Response::parse(&buf)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn parse(buf: &[u8]) -> std::io::Result<Response> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        let end = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| bad("no end of headers"))?;
        let head = std::str::from_utf8(&buf[..end]).map_err(|_| bad("headers not UTF-8"))?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("bad status line"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut body = buf[end + 4..].to_vec();
        if headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
        {
            body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The problem document's code, asserting the media type.
    pub fn problem_code(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "status {} body {}",
            self.status,
            self.text()
        );
        self.json()["code"].as_str().unwrap_or_default().to_string()
    }
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![];
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..line_end]).ok()?.trim(), 16).ok()?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// The construction-permit example from the procedure's own form schema, with its required
/// documents: what the desk receives.
pub fn house_permit() -> Value {
    let text = std::fs::read_to_string(root().join("procedures/cap-phep-xay-dung-nha-o.yaml"))
        .expect("sample procedure");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    let example = doc["form"]["examples"][0].clone();
    let docs: Vec<String> = doc["documents"]
        .as_sequence()
        .expect("documents")
        .iter()
        // A document is required unless it says otherwise.
        .filter(|d| d["required"].as_bool().unwrap_or(true))
        .map(|d| d["id"].as_str().expect("id").to_string())
        .collect();
    serde_json::json!({
        "procedure": "cap-phep-xay-dung-nha-o",
        "applicant": {"id": "001090012345", "name": "Nguyễn Thị Mai"},
        "data": serde_json::to_value(example).expect("example"),
        "documents": docs,
    })
}
