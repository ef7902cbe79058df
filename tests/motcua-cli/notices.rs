//! Notices to the applicant from `motcua serve`, end to end: a real SMTP server (Debian's
//! aiosmtpd, writing a maildir) and an SMS provider on 127.0.0.1 (the webhook receiver,
//! which checks the HMAC signature).
//!
//! - a construction permit's life (received, a supplement asked and brought, an extension,
//!   an apology once late, the result) sends the applicant exactly those six notices by
//!   e-mail and by text message, in order, in Vietnamese, with the dates, the office's
//!   address from the offices file and the status page's link; a refusal says its reason;
//!   an applicant who agreed to nothing is sent nothing;
//! - the desk changes the contact (a new address, consent to e-mail only) and the next notice
//!   goes there, by e-mail only; who may not change it is refused;
//! - providers that are down delay notices and never an action; a notice given up is listed
//!   for the admin and sent again on request; SIGKILL mid-delivery and a restart send every
//!   notice at least once, a repeat carrying the same key.

use crate::http;
use crate::receiver::{self, Mode, Receiver};

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http::{ADMIN, AUDITOR, CITIZEN, Cred, DESK, HA_TANG, LEADER, Server};
use serde_json::{Value, json};

const MONDAY_MORNING: &str = "2026-12-07T08:30:00+07:00";
const SMS_SECRET: &str = "sms-secret-0123456789";
const PUBLIC: &str = "https://motcua.haichau.danang.gov.vn";

/// A real SMTP server: aiosmtpd's `Mailbox` handler writes each message it accepts into a
/// maildir, which [`Smtp::mails`] reads back decoded by Python's own e-mail parser.
struct Smtp {
    child: Child,
    maildir: PathBuf,
    port: u16,
}

/// One message as received.
#[derive(Debug, Clone)]
struct Mail {
    message_id: String,
    to: String,
    subject: String,
    body: String,
    /// The outbox sequence number in the Message-ID (`<motcua-email-<seq>.…>`).
    seq: u64,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Smtp {
    fn start(dir: &Path, port: u16) -> Smtp {
        let maildir = dir.join("maildir");
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-u", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd (Debian's python3-aiosmtpd; .ci/run installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Smtp {
            child,
            maildir,
            port,
        }
    }

    fn mails(&self) -> Vec<Mail> {
        const READ: &str = r#"
import email, email.policy, json, mailbox, sys
box = mailbox.Maildir(sys.argv[1], factory=None, create=False)
for key in box.keys():
    with box.get_file(key) as f:
        m = email.message_from_binary_file(f, policy=email.policy.default)
    print(json.dumps({"message_id": str(m["Message-ID"]), "to": str(m["To"]),
        "subject": str(m["Subject"]), "body": m.get_body(("plain",)).get_content()}))
"#;
        if !self.maildir.join("new").exists() {
            return vec![];
        }
        let out = Command::new("/usr/bin/python3")
            .args(["-c", READ])
            .arg(&self.maildir)
            .output()
            .expect("python3 reads the maildir");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut mails: Vec<Mail> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("json line");
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                let message_id = s("message_id");
                let seq = message_id
                    .trim_start_matches("<motcua-email-")
                    .split('.')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("Message-ID {message_id} carries no key"));
                Mail {
                    message_id,
                    to: s("to"),
                    subject: s("subject"),
                    // SMTP carries lines ending CRLF.
                    body: s("body").replace("\r\n", "\n"),
                    seq,
                }
            })
            .collect();
        mails.sort_by_key(|m| m.seq);
        mails
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn notices_file(dir: &Path, smtp_port: u16, sms_url: &str, retry: &str) -> String {
    let path = dir.join("notices.yaml");
    std::fs::write(
        &path,
        format!(
            "retry: {retry}\n\
             email:\n  host: 127.0.0.1\n  port: {smtp_port}\n  security: none\n  \
             from: \"Bộ phận Một cửa phường Hải Châu <motcua@haichau.danang.gov.vn>\"\n\
             sms:\n  url: {sms_url}\n  secret: {SMS_SECRET}\n"
        ),
    )
    .expect("notices file");
    path.display().to_string()
}

fn start(dir: &Path, notices: &str) -> Server {
    let offices = http::root().join("config/offices.yaml");
    Server::start(
        dir,
        &[
            "--now",
            MONDAY_MORNING,
            "--notices",
            notices,
            "--offices",
            &offices.display().to_string(),
            "--public-url",
            PUBLIC,
        ],
    )
}

/// The permit with its drawing missing (the automatic check asks for it), from an applicant
/// reached at `email` and `phone` who agreed to `notify_by`.
fn permit(email: Option<&str>, notify_by: Value) -> Value {
    let mut body = http::house_permit();
    body["documents"] = json!(["don-de-nghi", "giay-to-dat"]);
    body["applicant"]["phone"] = json!("0905 123 456");
    if let Some(e) = email {
        body["applicant"]["email"] = json!(e);
    }
    body["applicant"]["notify_by"] = notify_by;
    body
}

fn submit(s: &Server, key: &str, body: &Value) -> Value {
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", key)],
        body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

fn act(s: &Server, who: Cred, d: &Value, action: &str, input: Value) -> Value {
    let code = d["code"].as_str().expect("code");
    let etag = format!("\"{}\"", d["version"]);
    let r = s.post(
        &format!("/v1/dossiers/{code}/actions"),
        Some(who),
        &[("if-match", &etag)],
        &json!({"action": action, "input": input, "comment": "Bản vẽ thiếu mặt cắt công trình"}),
    );
    assert_eq!(r.status, 200, "{action} by {}: {}", who.subject, r.text());
    r.json()
}

fn dossier(s: &Server, code: &str) -> Value {
    s.get(&format!("/v1/dossiers/{code}"), Some(AUDITOR)).json()
}

fn wait_for<T>(what: &str, timeout: Duration, mut got: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(t) = got() {
            return t;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The channels' backlogs are 0 and nothing new arrived for a second.
fn wait_quiet(s: &Server, smtp: &Smtp, rx: &Receiver) {
    let mut last = (usize::MAX, usize::MAX, Instant::now());
    wait_for("the notices to settle", Duration::from_secs(60), || {
        let list = s.get("/v1/notices", Some(ADMIN)).json();
        let idle = list
            .as_array()
            .is_some_and(|cs| cs.iter().all(|c| c["backlog"] == 0));
        let now = (smtp.mails().len(), rx.arrivals("sms").len());
        if (now.0, now.1) != (last.0, last.1) {
            last = (now.0, now.1, Instant::now());
        }
        (idle && last.2.elapsed() > Duration::from_secs(1)).then_some(())
    });
}

fn states(d: &Value) -> Vec<String> {
    let mut s: Vec<String> = d["states"]
        .as_array()
        .expect("states")
        .iter()
        .map(|t| t["state"].as_str().unwrap_or_default().to_string())
        .collect();
    s.sort();
    s
}

/// The provider's request is signed as webhooks are: `t=<unix>,v1=<HMAC-SHA256 of "<t>.<body>">`.
fn check_signed(a: &receiver::Arrival) {
    use hmac::{Hmac, Mac};
    let sig = a.headers.get("x-motcua-signature").expect("signed");
    let (t, v1) = sig
        .split_once(',')
        .and_then(|(t, v)| Some((t.strip_prefix("t=")?, v.strip_prefix("v1=")?)))
        .expect("t=…,v1=…");
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(SMS_SECRET.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&a.body);
    assert_eq!(v1, receiver::hex(&mac.finalize().into_bytes()), "{}", a.id);
}

#[test]
fn a_permits_life_tells_the_citizen_each_step_by_email_and_text_in_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let smtp = Smtp::start(dir.path(), free_port());
    let rx = Receiver::start();
    let notices = notices_file(dir.path(), smtp.port, &rx.url("sms"), "{backoff_ms: 50}");
    let s = start(dir.path(), &notices);

    let received = submit(
        &s,
        "life-1",
        &permit(Some("mai.nguyen@example.vn"), json!(["email", "sms"])),
    );
    let code = received["code"].as_str().expect("code").to_string();
    let secret = received["slip"]["status_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    // Two more: one refused at the desk with its reason, one whose applicant agreed to
    // nothing (never told).
    let refused = submit(
        &s,
        "life-2",
        &permit(Some("binh.tran@example.vn"), json!(["email"])),
    );
    let silent = submit(&s, "life-3", &permit(Some("an@example.vn"), json!([])));
    act(&s, DESK, &refused, "tu-choi-tiep-nhan", json!({}));
    act(&s, DESK, &silent, "tu-choi-tiep-nhan", json!({}));

    // The completeness check finds the drawing missing: a supplement request.
    let d = act(&s, DESK, &received, "chuyen-kiem-tra", json!({}));
    assert_eq!(states(&d), ["cho-bo-sung"], "{d}");
    let d = act(
        &s,
        CITIZEN,
        &d,
        "nop-bo-sung",
        json!({"giay-to-bo-sung": ["ban-ve-thiet-ke"]}),
    );
    let d = act(&s, DESK, &d, "chuyen-kiem-tra", json!({}));
    assert_eq!(
        states(&d),
        ["kiem-tra-ket-cau", "kiem-tra-quy-hoach"],
        "{d}"
    );
    let d = act(&s, HA_TANG, &d, "xong-quy-hoach", json!({}));
    let d = act(&s, HA_TANG, &d, "xong-ket-cau", json!({}));
    let d = act(&s, HA_TANG, &d, "gia-han", json!({}));
    let extended: jiff::Timestamp = d["appointment"]
        .as_str()
        .expect("appointment")
        .parse()
        .expect("instant");
    // Past the extended appointment: the breach is recorded, the head apologises.
    let late = extended + jiff::SignedDuration::from_hours(26);
    let r = s.post(
        "/v1/clock",
        Some(ADMIN),
        &[],
        &json!({"now": late.to_string()}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let d = wait_for("the breach", Duration::from_secs(20), || {
        let d = dossier(&s, &code);
        (!d["clock"]["overdue_since"].is_null()).then_some(d)
    });
    let promised = motcua::report::local_day(late + jiff::SignedDuration::from_hours(24 * 7));
    let d = act(
        &s,
        HA_TANG,
        &d,
        "xin-loi-tong-hop",
        json!({"promised": promised.to_string()}),
    );
    let d = act(&s, HA_TANG, &d, "trinh-lanh-dao", json!({}));
    let d = act(&s, LEADER, &d, "ky-giay-phep", json!({}));
    assert_eq!(d["status"], 9);
    let d = act(&s, DESK, &d, "tra-giay-phep", json!({}));
    assert_eq!(d["status"], 10);
    wait_quiet(&s, &smtp, &rx);

    let mails = smtp.mails();
    let to_mai: Vec<&Mail> = mails
        .iter()
        .filter(|m| m.to == "mai.nguyen@example.vn")
        .collect();
    let subjects: Vec<&str> = to_mai.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            format!("Hồ sơ {code} đã được tiếp nhận"),
            format!("Hồ sơ {code}: đề nghị bổ sung giấy tờ"),
            format!("Hồ sơ {code} tiếp tục được giải quyết"),
            format!("Hồ sơ {code}: gia hạn thời gian trả kết quả"),
            format!("Thư xin lỗi và hẹn lại ngày trả kết quả hồ sơ {code}"),
            format!("Hồ sơ {code} đã có kết quả"),
        ],
        "{mails:#?}"
    );
    let link = format!("{PUBLIC}/tra-cuu/{code}?secret={secret}");
    for m in &to_mai {
        assert!(
            m.body.contains("Kính gửi ông/bà Nguyễn Thị Mai"),
            "{}",
            m.body
        );
        assert!(m.body.contains(&link), "the status link: {}", m.body);
        assert!(
            m.body.contains("270 Trưng Nữ Vương, phường Hải Châu"),
            "the office's address from the offices file: {}",
            m.body
        );
        assert!(
            m.message_id.ends_with("@haichau.danang.gov.vn>"),
            "{}",
            m.message_id
        );
    }
    let body = |i: usize| to_mai[i].body.as_str();
    assert!(body(0).contains("tiếp nhận hồ sơ"), "{}", body(0));
    assert!(body(0).contains("lúc 07/12/2026 08:30"), "{}", body(0));
    assert!(
        body(1).contains("\n- Bản vẽ thiết kế xây dựng (mặt bằng, mặt cắt, mặt đứng, móng)\n"),
        "what to bring: {}",
        body(1)
    );
    assert!(body(1).contains("tạm dừng"), "{}", body(1));
    let extended_text = motcua::messages::format::appointment(extended);
    assert!(
        body(3).contains(&format!("gia hạn đến {extended_text}")),
        "{}",
        body(3)
    );
    assert!(
        body(3).contains("Lý do: Bản vẽ thiếu mặt cắt"),
        "{}",
        body(3)
    );
    assert!(
        body(4).contains(&format!(
            "Ngày hẹn trả kết quả mới: {}",
            motcua::messages::format::date(promised)
        )),
        "{}",
        body(4)
    );
    assert!(
        body(5).contains("mang theo giấy tiếp nhận hồ sơ"),
        "{}",
        body(5)
    );

    // The refusal names its reason; the silent applicant heard nothing.
    let refused_code = refused["code"].as_str().expect("code");
    let to_binh: Vec<&Mail> = mails
        .iter()
        .filter(|m| m.to == "binh.tran@example.vn")
        .collect();
    assert_eq!(to_binh.len(), 2, "{to_binh:#?}");
    assert_eq!(
        to_binh[1].subject,
        format!("Hồ sơ {refused_code} không được giải quyết")
    );
    assert!(
        to_binh[1].body.contains("Lý do: Bản vẽ thiếu mặt cắt"),
        "{}",
        to_binh[1].body
    );
    assert!(
        mails.iter().all(|m| m.to != "an@example.vn"),
        "no consent, no mail"
    );
    assert_eq!(mails.len(), 8, "{mails:#?}");

    // The same six by text message, signed, to the phone, in outbox order.
    let sms = rx.arrivals("sms");
    assert_eq!(sms.len(), 6, "{sms:#?}");
    let kinds: Vec<&str> = sms
        .iter()
        .map(|a| a.json["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "received",
            "supplement",
            "resumed",
            "extended",
            "apology",
            "result"
        ]
    );
    for a in &sms {
        check_signed(a);
        assert_eq!(a.json["to"], "0905 123 456");
        assert_eq!(a.json["dossier"], code.as_str());
        assert_eq!(a.json["key"], format!("motcua-sms-{}", a.id));
        assert_eq!(
            a.headers.get("x-motcua-notice"),
            Some(&format!("motcua-sms-{}", a.id))
        );
        assert!(
            a.json["text"].as_str().unwrap_or("").contains(&code),
            "{}",
            a.json
        );
    }
    let ids: Vec<u64> = sms.iter().map(|a| a.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order: {ids:?}");
    // An e-mail and a text of one event carry the same sequence number.
    let mail_seqs: Vec<u64> = to_mai.iter().map(|m| m.seq).collect();
    assert_eq!(mail_seqs, ids);
    assert_eq!(s.terminate().code(), Some(0));
}

#[test]
fn the_desk_changes_where_notices_go_and_the_next_one_goes_there() {
    let dir = tempfile::tempdir().expect("tmp");
    let smtp = Smtp::start(dir.path(), free_port());
    let rx = Receiver::start();
    let notices = notices_file(dir.path(), smtp.port, &rx.url("sms"), "{backoff_ms: 50}");
    let s = start(dir.path(), &notices);
    let d = submit(&s, "contact-1", &permit(None, json!(["sms"])));
    let code = d["code"].as_str().expect("code").to_string();
    let change = |who: Cred, version: u64, body: Value| {
        s.post(
            &format!("/v1/dossiers/{code}/contact"),
            Some(who),
            &[("if-match", &format!("\"{version}\""))],
            &body,
        )
    };
    let v = d["version"].as_u64().expect("version");
    // Consent to e-mail without an address, an officer who is not the desk, a stale page.
    let r = change(
        DESK,
        v,
        json!({"phone": "0905 123 456", "notify_by": ["email"]}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.json()["detail"]
            .as_str()
            .is_some_and(|t| !t.contains("consent")),
        "{}",
        r.text()
    );
    let new = json!({"phone": "0905 123 456", "email": "mai.moi@example.vn", "notify_by": ["email"],
        "comment": "Công dân đổi địa chỉ thư tại quầy"});
    assert_eq!(change(HA_TANG, v, new.clone()).status, 403);
    assert_eq!(change(DESK, v + 5, new.clone()).status, 409);
    let r = change(DESK, v, new.clone());
    assert_eq!(r.status, 200, "{}", r.text());
    let changed = r.json();
    assert_eq!(changed["applicant"]["email"], "mai.moi@example.vn");
    assert_eq!(changed["applicant"]["notify_by"], json!(["email"]));
    // The same again is no change.
    let again = change(DESK, changed["version"].as_u64().unwrap(), new);
    assert_eq!(again.status, 422, "{}", again.text());
    // The chain records who changed it, from what.
    let history = s
        .get(&format!("/v1/dossiers/{code}/audit"), Some(AUDITOR))
        .json();
    let entry = history
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["action"] == "contact")
        .expect("the contact entry")
        .clone();
    assert_eq!(entry["actor"], DESK.subject);
    assert_eq!(entry["input"]["previous"]["notify_by"], json!(["sms"]));
    // The next notice (the supplement request) goes by e-mail to the new address only.
    act(&s, DESK, &changed, "chuyen-kiem-tra", json!({}));
    wait_quiet(&s, &smtp, &rx);
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_eq!(mails[0].to, "mai.moi@example.vn");
    assert_eq!(
        mails[0].subject,
        format!("Hồ sơ {code}: đề nghị bổ sung giấy tờ")
    );
    let sms = rx.arrivals("sms");
    assert_eq!(sms.len(), 1, "only the receipt went by text: {sms:#?}");
    assert_eq!(sms[0].json["kind"], "received");
}

#[test]
fn a_channel_turned_on_later_sends_only_what_happens_from_then_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let smtp = Smtp::start(dir.path(), free_port());
    let rx = Receiver::start();
    // A month without notices: consent is taken all the same.
    let s = Server::start(dir.path(), &["--now", MONDAY_MORNING]);
    let before = submit(
        &s,
        "before-1",
        &permit(Some("mai.nguyen@example.vn"), json!(["email"])),
    );
    act(&s, DESK, &before, "tu-choi-tiep-nhan", json!({}));
    assert_eq!(s.terminate().code(), Some(0));
    // Notices turned on: only the receipt made from then on is sent, not the month before.
    let notices = notices_file(dir.path(), smtp.port, &rx.url("sms"), "{backoff_ms: 50}");
    let s = start(dir.path(), &notices);
    let after = submit(
        &s,
        "after-1",
        &permit(Some("mai.nguyen@example.vn"), json!(["email"])),
    );
    wait_quiet(&s, &smtp, &rx);
    let mails = smtp.mails();
    let code = after["code"].as_str().expect("code");
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_eq!(mails[0].subject, format!("Hồ sơ {code} đã được tiếp nhận"));
}

#[test]
fn providers_down_delay_notices_never_actions_and_a_restart_sends_each_at_least_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let smtp_port = free_port();
    let rx = Receiver::start();
    rx.set_mode("sms", Mode::FailAll);
    let notices = notices_file(
        dir.path(),
        smtp_port,
        &rx.url("sms"),
        "{max_tries: 2, backoff_ms: 50, timeout_ms: 2000}",
    );
    let s = start(dir.path(), &notices);
    // No SMTP server at all and a provider answering 500: the desk works as ever.
    let started = Instant::now();
    let mut codes = vec![];
    for i in 0..5 {
        let d = submit(
            &s,
            &format!("down-{i}"),
            &permit(Some("mai.nguyen@example.vn"), json!(["email", "sms"])),
        );
        codes.push(d["code"].as_str().expect("code").to_string());
        act(&s, DESK, &d, "tu-choi-tiep-nhan", json!({}));
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "ten actions took {:?} with the providers down",
        started.elapsed()
    );
    // Each notice is tried twice, then listed for the admin.
    let dead = wait_for("the dead letters", Duration::from_secs(60), || {
        let list = s.get("/v1/notices", Some(ADMIN)).json();
        let channels = list.as_array()?.clone();
        let counts: Vec<usize> = channels
            .iter()
            .map(|c| c["dead_letters"].as_array().map_or(0, Vec::len))
            .collect();
        (counts == [10, 10]).then_some(channels)
    });
    assert_eq!(dead[0]["channel"], "email");
    assert!(
        dead[0]["dead_letters"][0]["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{}",
        dead[0]
    );
    assert_eq!(s.get("/v1/notices", Some(DESK)).status, 403);
    let m = s.get("/metrics", None).text();
    assert!(m.contains("motcua_notice_dead_letters_total 20"), "{m}");

    // The SMTP server comes back: the admin sends one again, and it leaves the list.
    // The list names the notice and its recipient, never its text: the text carries the status
    // page's link with the slip's secret, and auditors read this list.
    let listed = s.get("/v1/notices", Some(AUDITOR)).text();
    assert!(!listed.contains("secret"), "{listed}");
    assert!(!listed.contains("tra-cuu"), "{listed}");
    let body: Value =
        serde_json::from_str(dead[0]["dead_letters"][0]["body"].as_str().expect("body"))
            .expect("the listed notice");
    assert_eq!(body["kind"], "received");
    assert_eq!(body["to"], "mai.nguyen@example.vn");
    let of = body["dossier"].as_str().expect("dossier").to_string();

    // The applicant gave a wrong address; the desk corrects it; the SMTP server comes back and
    // the admin sends the notice again: it goes to the address as it is now.
    let d = dossier(&s, &of);
    let r = s.post(
        &format!("/v1/dossiers/{of}/contact"),
        Some(DESK),
        &[("if-match", &format!("\"{}\"", d["version"]))],
        &json!({"phone": "0905 123 456", "email": "mai.dung@example.vn", "notify_by": ["email", "sms"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let smtp = Smtp::start(dir.path(), smtp_port);
    let first = dead[0]["dead_letters"][0]["id"].as_u64().expect("id");
    let r = s.post(
        &format!("/v1/notices/email/dead-letters/{first}/replay"),
        Some(ADMIN),
        &[],
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["delivered"], true, "{}", r.text());
    assert_eq!(smtp.mails().len(), 1);
    assert_eq!(smtp.mails()[0].seq, first);
    assert_eq!(smtp.mails()[0].to, "mai.dung@example.vn");
    let missing = s.post(
        "/v1/notices/email/dead-letters/999999/replay",
        Some(ADMIN),
        &[],
        &json!({}),
    );
    assert_eq!(missing.status, 404);
    // A provider still down: the letter stays, with one more try.
    let sms_first = dead[1]["dead_letters"][0]["id"].as_u64().expect("id");
    let r = s.post(
        &format!("/v1/notices/sms/dead-letters/{sms_first}/replay"),
        Some(ADMIN),
        &[],
        &json!({}),
    );
    assert_eq!(r.json()["delivered"], false, "{}", r.text());

    // Now the provider hangs on its first try of each notice: SIGKILL mid-delivery, restart.
    rx.set_mode("sms", Mode::SilentFirst(1));
    let d = submit(
        &s,
        "after-kill",
        &permit(Some("mai.nguyen@example.vn"), json!(["email", "sms"])),
    );
    let code = d["code"].as_str().expect("code").to_string();
    wait_for("the hanging try", Duration::from_secs(20), || {
        rx.arrivals("sms")
            .iter()
            .any(|a| a.json["dossier"] == code.as_str())
            .then_some(())
    });
    let s = s.kill_and_restart();
    act(
        &s,
        DESK,
        &dossier(&s, &code),
        "tu-choi-tiep-nhan",
        json!({}),
    );
    wait_quiet(&s, &smtp, &rx);
    let got: Vec<_> = rx
        .arrivals("sms")
        .into_iter()
        .filter(|a| a.json["dossier"] == code.as_str())
        .collect();
    // The receipt twice (its first try hung when the server was killed; the restart sent it
    // again), with one key and one body; then the refusal, whose first try hung too and timed
    // out, sent again by the retry.
    let seen: Vec<(u64, &str, u32, u16)> = got
        .iter()
        .map(|a| {
            (
                a.id,
                a.json["kind"].as_str().unwrap_or(""),
                a.nth,
                a.answered,
            )
        })
        .collect();
    let kinds: Vec<(&str, u32)> = seen.iter().map(|s| (s.1, s.2)).collect();
    assert_eq!(
        kinds,
        [
            ("received", 1),
            ("received", 2),
            ("refused", 1),
            ("refused", 2)
        ],
        "{seen:?}"
    );
    for pair in got.chunks(2) {
        assert_eq!(pair[0].json["key"], pair[1].json["key"]);
        assert_eq!(pair[0].body, pair[1].body, "a repeat is the same notice");
    }
    assert_eq!(seen[1].3, 200);
    let mails: Vec<Mail> = smtp
        .mails()
        .into_iter()
        .filter(|m| m.subject.contains(&code))
        .collect();
    let keys: std::collections::BTreeSet<u64> = mails.iter().map(|m| m.seq).collect();
    assert_eq!(
        keys.len(),
        2,
        "both notices by e-mail, at least once: {mails:#?}"
    );
}
