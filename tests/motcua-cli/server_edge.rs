//! The front door under bad input and at its edges, against the real binary: hostile bodies,
//! forged and expired credentials, idempotent retries, uploads of procedures, the rate limit,
//! the operational routes, and SIGTERM draining requests in flight.
//!
//! Longer than 600 lines: every edge drives the same real server, started once per test;
//! grouping them keeps its start-up helpers in one place.

use crate::http;

use std::path::Path;

use http::{ADMIN, AUDITOR, CITIZEN, DESK, HA_TANG, PORTAL, Server};
use serde_json::{Value, json};

fn count(s: &Server) -> u64 {
    let v = s.get("/v1/audit/verify", Some(AUDITOR)).json();
    assert_eq!(v["ok"], true, "{v}");
    v["count"].as_u64().expect("count")
}

#[test]
fn hostile_bodies_get_a_problem_never_a_500_and_store_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &[]);
    let before = count(&s);
    let key = [("idempotency-key", "hostile")];
    let post = |body: &[u8], ct: &str| {
        s.request(
            "POST",
            "/v1/dossiers",
            Some(DESK),
            &[("content-type", ct), ("idempotency-key", "hostile")],
            Some(body),
        )
    };
    let mut deep = String::new();
    for _ in 0..40 {
        deep.push('[');
    }
    let cases: Vec<(&str, Vec<u8>, &str, u16, &str)> = vec![
        (
            "too large",
            vec![b' '; 2 << 20],
            "application/json",
            413,
            "body_too_large",
        ),
        (
            "nested too deep",
            deep.into_bytes(),
            "application/json",
            400,
            "invalid_request",
        ),
        (
            "malformed",
            b"{\"procedure\": ".to_vec(),
            "application/json",
            400,
            "invalid_request",
        ),
        (
            "not JSON at all",
            b"\xff\xfe\x00".to_vec(),
            "application/json",
            400,
            "invalid_request",
        ),
        (
            "wrong media type",
            b"{}".to_vec(),
            "text/plain",
            415,
            "unsupported_media_type",
        ),
        (
            "trailing bytes",
            b"{} {}".to_vec(),
            "application/json",
            400,
            "invalid_request",
        ),
    ];
    for (what, body, ct, status, code) in cases {
        let r = post(&body, ct);
        assert_eq!(r.status, status, "{what}: {}", r.text());
        assert_eq!(r.problem_code(), code, "{what}");
    }
    // Unknown fields and wrong types are named.
    let mut body = http::house_permit();
    body["applicant"]["nmae"] = json!("x");
    let r = s.post("/v1/dossiers", Some(DESK), &key, &body);
    assert_eq!(
        (r.status, r.problem_code()),
        (400, "invalid_request".into())
    );
    assert!(r.text().contains("nmae"), "{}", r.text());
    let mut body = http::house_permit();
    body["documents"] = json!("don-de-nghi");
    let r = s.post("/v1/dossiers", Some(DESK), &key, &body);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["field"], "documents", "{}", r.text());
    // Form data against the procedure's schema: every wrong field, 422.
    let mut body = http::house_permit();
    body["data"]["so_cccd"] = json!("12");
    let r = s.post("/v1/dossiers", Some(DESK), &key, &body);
    assert_eq!(
        (r.status, r.problem_code()),
        (422, "invalid_form".into()),
        "{}",
        r.text()
    );
    assert_eq!(r.json()["errors"][0]["field"], "/so_cccd");
    // Unknown ids.
    let mut body = http::house_permit();
    body["procedure"] = json!("khong-co");
    let r = s.post("/v1/dossiers", Some(DESK), &key, &body);
    assert_eq!(
        (r.status, r.problem_code()),
        (404, "unknown_procedure".into())
    );
    let r = s.get("/v1/dossiers/NO-SUCH-CODE", Some(DESK));
    assert_eq!((r.status, r.problem_code()), (404, "not_found".into()));
    let r = s.get("/v1/nothing-here", Some(DESK));
    assert_eq!((r.status, r.problem_code()), (404, "not_found".into()));
    let r = s.request("DELETE", "/v1/dossiers", Some(DESK), &[], None);
    assert_eq!(
        (r.status, r.problem_code()),
        (405, "method_not_allowed".into())
    );
    // Query strings are strict too.
    let r = s.get("/v1/dossiers?departmnet=mot-cua", Some(DESK));
    assert_eq!(
        (r.status, r.problem_code()),
        (400, "invalid_request".into())
    );
    let r = s.get("/v1/dossiers?department=mot-cua&limit=-1", Some(DESK));
    assert_eq!(r.status, 400);
    let r = s.get("/v1/dossiers?department=mot-cua&cursor=forged", Some(DESK));
    assert!(r.status == 400 || r.status == 200, "{}", r.text());
    // Broken HTTP is answered or closed, and the server lives on.
    for raw in [
        &b"GARBAGE\r\n\r\n"[..],
        b"POST /v1/dossiers HTTP/1.1\r\nhost: x\r\ncontent-length: nope\r\n\r\n",
        b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx: \xff\xff\r\n\r\n",
    ] {
        if let Ok(r) = s.raw(raw) {
            assert!(r.status < 500, "{}", r.text());
        }
    }
    assert_eq!(s.get("/healthz", None).status, 200);
    assert_eq!(count(&s), before, "nothing was stored");
}

#[test]
fn a_client_that_never_finishes_its_request_head_is_cut_off() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &["--header-read-timeout", "1"]);
    let started = std::time::Instant::now();
    let mut slow = std::net::TcpStream::connect(s.addr).expect("connect");
    slow.write_all(b"GET /v1/procedures HTTP/1.1\r\nhost: x\r\n")
        .expect("write");
    slow.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    let mut buf = vec![];
    let _ = slow.read_to_end(&mut buf);
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_secs(10),
        "closed after {waited:?}"
    );
    // An idle kept-alive connection is closed the same way, and the server serves on.
    let mut idle = std::net::TcpStream::connect(s.addr).expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .expect("write");
    idle.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    let mut buf = vec![];
    let _ = idle.read_to_end(&mut buf);
    assert!(
        String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(s.get("/healthz", None).status, 200);
}

#[test]
fn a_wrong_if_match_is_a_conflict_and_a_missing_one_is_428() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &[]);
    let d = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "m-1")],
        &http::house_permit(),
    );
    let code = d.json()["code"].as_str().expect("code").to_string();
    let path = format!("/v1/dossiers/{code}/actions");
    let body = json!({"action": "chuyen-kiem-tra"});
    let r = s.post(&path, Some(DESK), &[], &body);
    assert_eq!(
        (r.status, r.problem_code()),
        (428, "precondition_required".into())
    );
    let r = s.post(&path, Some(DESK), &[("if-match", "\"7\"")], &body);
    assert_eq!((r.status, r.problem_code()), (409, "conflict".into()));
    assert_eq!(r.json()["current_version"], 1);
    let r = s.post(&path, Some(DESK), &[("if-match", "yesterday")], &body);
    assert_eq!(r.status, 400);
    let r = s.post(&path, Some(DESK), &[("if-match", "W/\"1\"")], &body);
    assert_eq!(
        r.status,
        200,
        "a weak tag names the version too: {}",
        r.text()
    );
}

#[test]
fn idempotent_retries_return_the_first_result() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &[]);
    let body = http::house_permit();
    let first = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "k-1")],
        &body,
    );
    assert_eq!(first.status, 201);
    let code = first.json()["code"].clone();
    let again = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "k-1")],
        &body,
    );
    assert_eq!(again.status, 201);
    assert_eq!(again.json()["code"], code);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let mut other = body.clone();
    other["applicant"]["name"] = json!("Trần Văn Bình");
    let r = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "k-1")],
        &other,
    );
    assert_eq!(
        (r.status, r.problem_code()),
        (422, "idempotency_mismatch".into())
    );
    let r = s.post("/v1/dossiers", Some(DESK), &[], &body);
    assert_eq!(
        (r.status, r.problem_code()),
        (400, "idempotency_key_required".into())
    );
    // Keys belong to their credential: the portal's "k-1" is its own.
    let mut online = body.clone();
    online["channel"] = json!("online");
    let p = s.post(
        "/v1/dossiers",
        Some(PORTAL),
        &[("idempotency-key", "k-1")],
        &online,
    );
    assert_eq!(p.status, 201, "{}", p.text());
    assert_ne!(p.json()["code"], code);
    assert_eq!(p.json()["channel"], "online");
    // The portal follows what it received; the citizen follows their own.
    let pc = p.json()["code"].as_str().expect("code").to_string();
    assert_eq!(
        s.get(&format!("/v1/dossiers/{pc}"), Some(PORTAL)).status,
        200
    );
    assert_eq!(
        s.get(
            &format!("/v1/dossiers/{}", code.as_str().expect("c")),
            Some(PORTAL)
        )
        .status,
        403
    );
    assert_eq!(
        s.get(&format!("/v1/dossiers/{pc}"), Some(CITIZEN)).status,
        200
    );
    let mine = s.get("/v1/dossiers", Some(CITIZEN)).json();
    assert_eq!(mine["dossiers"].as_array().map(Vec::len), Some(2), "{mine}");
    // A citizen submits only for themselves.
    let mut stranger = online.clone();
    stranger["applicant"]["id"] = json!("079090000001");
    let r = s.post(
        "/v1/dossiers",
        Some(CITIZEN),
        &[("idempotency-key", "c-1")],
        &stranger,
    );
    assert_eq!((r.status, r.problem_code()), (403, "forbidden".into()));
    // An officer receives only procedures of their own roles and departments.
    let r = s.post(
        "/v1/dossiers",
        Some(http::OTHER_DEPT),
        &[("idempotency-key", "o-1")],
        &body,
    );
    assert_eq!(
        (r.status, r.problem_code()),
        (403, "forbidden".into()),
        "{}",
        r.text()
    );
    // Admins list no dossiers; auditors and admins change nothing.
    assert_eq!(
        s.get("/v1/dossiers?applicant=001090012345", Some(ADMIN))
            .status,
        403
    );
    let r = s.post(
        "/v1/dossiers",
        Some(AUDITOR),
        &[("idempotency-key", "a-1")],
        &body,
    );
    assert_eq!(r.status, 403);
    assert_eq!(count(&s), 2);
}

fn openssl(args: &[&str]) {
    let ok = std::process::Command::new("openssl")
        .args(args)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(ok.success(), "openssl {args:?}");
}

fn claims(exp_offset: i64, iss: &str, aud: &str) -> Value {
    let now = jiff::Timestamp::now().as_second();
    json!({
        "sub": "sso-officer-7", "iss": iss, "aud": aud,
        "exp": now + exp_offset, "nbf": now - 60,
        "roles": ["can-bo-mot-cua"], "departments": ["mot-cua"],
    })
}

fn bearer(s: &Server, token: &str) -> u16 {
    let auth = format!("Bearer {token}");
    s.request(
        "GET",
        "/v1/procedures",
        None,
        &[("authorization", &auth)],
        None,
    )
    .status
}

fn jwt_server(dir: &Path, algorithm: &str, key_line: &str) -> Server {
    let cfg = dir.join("jwt.yaml");
    std::fs::write(
        &cfg,
        format!("algorithm: {algorithm}\n{key_line}\nissuer: https://sso.danang.gov.vn\naudience: motcua\n"),
    )
    .expect("jwt config");
    Server::start(dir, &["--jwt-config", cfg.to_str().expect("utf8")])
}

#[test]
fn jwt_bearers_are_checked_for_signature_expiry_issuer_and_audience() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let iss = "https://sso.danang.gov.vn";
    let tmp = tempfile::tempdir().expect("tmp");

    // HS256: a shared secret.
    let secret = "a-shared-secret-of-at-least-32-bytes!";
    let dir = tmp.path().join("hs");
    std::fs::create_dir_all(&dir).expect("dir");
    let s = jwt_server(&dir, "HS256", &format!("secret: \"{secret}\""));
    let key = EncodingKey::from_secret(secret.as_bytes());
    let sign =
        |c: &Value, k: &EncodingKey| encode(&Header::new(Algorithm::HS256), c, k).expect("jwt");
    assert_eq!(bearer(&s, &sign(&claims(600, iss, "motcua"), &key)), 200);
    assert_eq!(
        bearer(&s, &sign(&claims(-600, iss, "motcua"), &key)),
        401,
        "expired"
    );
    assert_eq!(
        bearer(&s, &sign(&claims(600, "https://evil", "motcua"), &key)),
        401,
        "issuer"
    );
    assert_eq!(
        bearer(&s, &sign(&claims(600, iss, "other"), &key)),
        401,
        "audience"
    );
    let forged = EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!!");
    assert_eq!(
        bearer(&s, &sign(&claims(600, iss, "motcua"), &forged)),
        401,
        "signature"
    );
    let mut early = claims(600, iss, "motcua");
    early["nbf"] = json!(jiff::Timestamp::now().as_second() + 3600);
    assert_eq!(bearer(&s, &sign(&early, &key)), 401, "not yet valid");
    assert_eq!(
        bearer(&s, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
        401,
        "alg none"
    );
    // The subject and roles come from the claims: the officer receives at the desk.
    let token = sign(&claims(600, iss, "motcua"), &key);
    let auth = format!("Bearer {token}");
    let body = serde_json::to_vec(&http::house_permit()).expect("json");
    let r = s.request(
        "POST",
        "/v1/dossiers",
        None,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("idempotency-key", "j1"),
        ],
        Some(&body),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let code = r.json()["code"].as_str().expect("code").to_string();
    let history = s
        .get(&format!("/v1/dossiers/{code}/audit"), Some(AUDITOR))
        .json();
    assert_eq!(
        history[0]["actor"], "sso-officer-7",
        "the audit names the JWT's subject"
    );
    drop(s);

    // RS256 and ES256: public keys in PEM files beside the configuration.
    for (alg, keygen) in [
        (
            Algorithm::RS256,
            vec![
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ],
        ),
        (
            Algorithm::ES256,
            vec![
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ],
        ),
    ] {
        let dir = tmp.path().join(format!("{alg:?}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let private = dir.join("private.pem");
        let public = dir.join("public.pem");
        let mut args = keygen.clone();
        args.extend(["-out", private.to_str().expect("utf8")]);
        openssl(&args);
        openssl(&[
            "pkey",
            "-in",
            private.to_str().expect("utf8"),
            "-pubout",
            "-out",
            public.to_str().expect("utf8"),
        ]);
        let s = jwt_server(&dir, &format!("{alg:?}"), "public_key_file: public.pem");
        let pem = std::fs::read(&private).expect("pem");
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem).expect("rsa key"),
            _ => EncodingKey::from_ec_pem(&pem).expect("ec key"),
        };
        let good = encode(&Header::new(alg), &claims(600, iss, "motcua"), &key).expect("jwt");
        assert_eq!(bearer(&s, &good), 200, "{alg:?}");
        let expired = encode(&Header::new(alg), &claims(-600, iss, "motcua"), &key).expect("jwt");
        assert_eq!(bearer(&s, &expired), 401, "{alg:?} expired");
        // A token signed with the shared-secret algorithm over the public key is refused.
        let confused = encode(
            &Header::new(Algorithm::HS256),
            &claims(600, iss, "motcua"),
            &EncodingKey::from_secret(&std::fs::read(&public).expect("pub")),
        )
        .expect("jwt");
        assert_eq!(bearer(&s, &confused), 401, "{alg:?} algorithm confusion");
    }
}

#[test]
fn forged_tokens_are_refused_and_logged() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &[]);
    assert_eq!(s.get("/v1/procedures", None).status, 401);
    assert_eq!(bearer(&s, "tok-desk-0000000002"), 401);
    let r = s.request(
        "GET",
        "/v1/procedures",
        None,
        &[("authorization", "Basic Zm9vOmJhcg==")],
        None,
    );
    assert_eq!((r.status, r.problem_code()), (401, "unauthorized".into()));
    assert!(
        s.stderr_text().contains("unknown token"),
        "{}",
        s.stderr_text()
    );
}

#[test]
fn a_procedure_upload_is_validated_stored_as_a_new_version_and_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &[]);
    let path = http::root().join("procedures/dang-ky-khai-sinh.yaml");
    let source = std::fs::read_to_string(&path).expect("sample");
    let put = |who, body: &str| {
        s.request(
            "PUT",
            "/v1/procedures/dang-ky-khai-sinh",
            Some(who),
            &[("content-type", "application/yaml")],
            Some(body.as_bytes()),
        )
    };
    assert_eq!(put(DESK, &source).status, 403, "only admins upload");
    // Every diagnostic comes back with its line and column.
    let broken = source.replacen("to: ", "to: khong-co-", 2);
    let r = put(ADMIN, &broken);
    assert_eq!(
        (r.status, r.problem_code()),
        (422, "invalid_procedure".into()),
        "{}",
        r.text()
    );
    let errors = r.json()["errors"].as_array().cloned().expect("errors");
    assert!(errors.len() >= 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|e| e["line"].as_u64() > Some(0) && e["col"].as_u64() > Some(0))
    );
    assert!(
        errors
            .iter()
            .all(|e| e["code"].as_str().is_some_and(|c| c.starts_with('E')))
    );
    // A file of another id is refused.
    let r = s.request(
        "PUT",
        "/v1/procedures/cap-phep-xay-dung-nha-o",
        Some(ADMIN),
        &[("content-type", "application/yaml")],
        Some(source.as_bytes()),
    );
    assert_eq!(r.status, 422);
    // A new version, effective next year.
    let mut next = String::new();
    for line in source.lines() {
        if line.starts_with("version:") {
            next.push_str("version: \"2027.1\"\n");
        } else if line.starts_with("effective_from:") {
            next.push_str("effective_from: 2027-01-01\n");
        } else {
            next.push_str(line);
            next.push('\n');
        }
    }
    assert!(
        next.contains("2027.1") && next.contains("2027-01-01"),
        "the sample has version and effective_from lines"
    );
    let r = put(ADMIN, &next);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["effective_from"], "2027-01-01");
    let versions = |s: &Server| {
        s.get("/v1/procedures/dang-ky-khai-sinh", Some(DESK)).json()["versions"]
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|x| x["version"].as_str().unwrap_or_default().to_string())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    assert!(
        versions(&s).contains(&"2027.1".to_string()),
        "{:?}",
        versions(&s)
    );
    let s = s.kill_and_restart();
    assert!(
        versions(&s).contains(&"2027.1".to_string()),
        "kept across a restart: {:?}",
        versions(&s)
    );
    let graph = s.get(
        "/v1/procedures/dang-ky-khai-sinh/graph?format=dot",
        Some(DESK),
    );
    assert!(graph.text().starts_with("digraph"), "{}", graph.text());
}

#[test]
fn one_credential_over_its_rate_does_not_starve_another() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &["--rate-limit", "2", "--rate-burst", "5"]);
    let statuses: Vec<u16> = (0..12)
        .map(|_| s.get("/v1/procedures", Some(PORTAL)).status)
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    let r = s.get("/v1/procedures", Some(PORTAL));
    if r.status == 429 {
        assert_eq!(r.problem_code(), "rate_limited");
    }
    assert_eq!(
        s.get("/v1/procedures", Some(DESK)).status,
        200,
        "the desk is served"
    );
}

#[test]
fn operations_health_readiness_metrics_openapi_and_a_draining_sigterm() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(dir.path(), &[]);
    assert_eq!(s.get("/healthz", None).status, 200);
    let ready = s.get("/readyz", None);
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert_eq!(ready.json()["scheduler"], "running");
    let committed =
        std::fs::read_to_string(http::root().join("schemas/openapi.json")).expect("committed");
    assert_eq!(
        s.get("/openapi.json", None).text(),
        committed,
        "served = committed"
    );
    let d = s.post(
        "/v1/dossiers",
        Some(DESK),
        &[("idempotency-key", "m1")],
        &http::house_permit(),
    );
    assert_eq!(d.status, 201);
    let metrics = s.get("/metrics", None).text();
    for needle in [
        "motcua_http_requests_total{method=\"POST\",route=\"/v1/dossiers\",status=\"201\"} 1",
        "motcua_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/dossiers\",status=\"201\",le=\"+Inf\"} 1",
        "motcua_transitions_total 1",
        "motcua_dossiers_open 1",
        "motcua_plugin_calls_total",
    ] {
        assert!(metrics.contains(needle), "{needle} in\n{metrics}");
    }
    // SIGTERM while actions are in flight: each is answered in full, the process exits 0,
    // and every acknowledged one is there after a restart.
    let code = d.json()["code"].as_str().expect("code").to_string();
    let answered: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let mut handles = vec![];
        for i in 0..16 {
            let s = &s;
            handles.push(scope.spawn(move || {
                let body = http::house_permit();
                match s.raw(&request_bytes(s, &format!("drain-{i}"), &body)) {
                    Ok(r) if r.status == 201 => (r.status, r.json()),
                    Ok(r) => (r.status, Value::Null),
                    Err(_) => (0, Value::Null),
                }
            }));
        }
        std::thread::sleep(std::time::Duration::from_millis(30));
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &s.child.id().to_string()])
            .status();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut s = s;
    let status = loop {
        if let Some(st) = s.child.try_wait().expect("wait") {
            break st;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    assert!(s.stderr_text().contains("requests drained"));
    let s = s.kill_and_restart();
    for (st, v) in &answered {
        if *st == 201 {
            let c = v["code"].as_str().expect("code");
            assert_eq!(
                s.get(&format!("/v1/dossiers/{c}"), Some(DESK)).status,
                200,
                "{c} acknowledged"
            );
        }
    }
    assert_eq!(
        s.get(&format!("/v1/dossiers/{code}"), Some(HA_TANG)).status,
        200
    );
    count(&s);
}

fn request_bytes(s: &Server, key: &str, body: &Value) -> Vec<u8> {
    let b = serde_json::to_vec(body).expect("json");
    let mut raw = format!(
        "POST /v1/dossiers HTTP/1.1\r\nhost: {}\r\nconnection: close\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\nidempotency-key: {key}\r\ncontent-length: {}\r\n\r\n",
        s.addr,
        DESK.token,
        b.len()
    )
    .into_bytes();
    raw.extend_from_slice(&b);
    raw
}

/// `motcua serve` with `extra` flags, expected to refuse to start: its stderr.
fn refused_start(dir: &Path, extra: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--data", dir.join("d").to_str().expect("utf8")])
        .args([
            "--procedures",
            http::root().join("procedures").to_str().expect("utf8"),
        ])
        .args(extra)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn without_credentials_the_server_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let err = refused_start(dir.path(), &[]);
    assert!(err.contains("--dev"), "{err}");
    // A plain token outside --dev is refused at start.
    let tokens = dir.path().join("plain.yaml");
    std::fs::write(
        &tokens,
        "- token: a-plain-token-0001\n  subject: x\n  roles: [admin]\n",
    )
    .expect("write");
    let err = refused_start(dir.path(), &["--tokens", tokens.to_str().expect("utf8")]);
    assert!(err.contains("only with --dev"), "{err}");
}

#[test]
fn dev_mode_prints_working_demo_credentials_and_receives_the_samples_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let (s, printed) = Server::start_dev(dir.path());
    assert!(printed.contains("demo credentials"), "{printed}");
    assert!(printed.contains("received 8 sample dossiers"), "{printed}");
    let token = printed
        .lines()
        .find(|l| l.trim_start().starts_with("can-bo-mot-cua "))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("the desk's token")
        .to_string();
    let auth = format!("Bearer {token}");
    let r = s.request(
        "GET",
        "/v1/dossiers?department=mot-cua",
        None,
        &[("authorization", &auth)],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        !r.json()["dossiers"].as_array().expect("list").is_empty(),
        "the desk has work"
    );
    // The same credentials after a restart, and no second batch of samples.
    let s = s.kill_and_restart();
    let printed = s.printed.lock().map(|p| p.clone()).unwrap_or_default();
    assert!(printed.contains(&token), "{printed}");
    assert!(!printed.contains("received 8"), "{printed}");
}

#[test]
fn the_inspector_pages_exports_verifies_and_takes_a_signed_checkpoint() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = dir.path().join("h17.key");
    let bin = env!("CARGO_BIN_EXE_motcua");
    let keygen = std::process::Command::new(bin)
        .args([
            "audit",
            "keygen",
            "--agency",
            "000.17.22.H17",
            "--out",
            key.to_str().expect("utf8"),
        ])
        .output()
        .expect("keygen");
    assert!(
        keygen.status.success(),
        "{}",
        String::from_utf8_lossy(&keygen.stderr)
    );
    let s = Server::start(
        dir.path(),
        &["--checkpoint-key", key.to_str().expect("utf8")],
    );
    for i in 0..3 {
        let r = s.post(
            "/v1/dossiers",
            Some(DESK),
            &[("idempotency-key", &format!("i{i}"))],
            &http::house_permit(),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    // Pages follow the cursor to the end, and filters hold.
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/audit?limit=2&cursor={c}"),
            None => "/v1/audit?limit=2".to_string(),
        };
        let page = s.get(&path, Some(AUDITOR)).json();
        seen.extend(
            page["entries"]
                .as_array()
                .expect("entries")
                .iter()
                .map(|e| e["seq"].as_u64().expect("seq")),
        );
        match page["next"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => break,
        }
    }
    let total = count(&s);
    assert_eq!(seen, (1..=total).collect::<Vec<_>>());
    let mine = s
        .get(&format!("/v1/audit?actor={}", DESK.subject), Some(AUDITOR))
        .json();
    assert!(
        mine["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .all(|e| e["actor"] == DESK.subject)
    );
    assert_eq!(
        s.get("/v1/audit", Some(DESK)).status,
        403,
        "officers do not read the whole log"
    );
    // The JSONL export is the stored lines; the CSV has a header and one row per entry.
    let jsonl = s.get("/v1/audit?format=jsonl", Some(AUDITOR));
    assert_eq!(jsonl.header("content-type"), Some("application/jsonl"));
    assert_eq!(jsonl.text().lines().count() as u64, total);
    let csv = s.get("/v1/audit?format=csv", Some(AUDITOR)).text();
    assert!(
        csv.starts_with("\u{feff}Số thứ tự,Thời điểm,Mã hồ sơ"),
        "{csv}"
    );
    assert_eq!(csv.lines().count() as u64, total + 1);
    let report = s.get(
        "/v1/reports/on-time?from=2020-01-01&to=2030-12-31&format=csv",
        Some(AUDITOR),
    );
    assert!(
        report
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/csv"))
    );
    let bad = s.get(
        "/v1/reports/on-time?from=2026-12-31&to=2026-01-01",
        Some(AUDITOR),
    );
    assert_eq!(
        (bad.status, bad.problem_code()),
        (400, "invalid_request".into())
    );
    // A signed checkpoint of the head, which the CLI proves against the log at rest.
    let cp = s.get("/v1/audit/checkpoint", Some(AUDITOR));
    assert_eq!(cp.status, 200, "{}", cp.text());
    assert_eq!(cp.json()["count"], total);
    let cp_file = dir.path().join("checkpoint.json");
    std::fs::write(&cp_file, &cp.body).expect("write");
    assert_eq!(s.terminate().code(), Some(0));
    let verified = std::process::Command::new(bin)
        .args([
            "audit",
            "verify",
            "--data",
            dir.path().join("data").to_str().expect("utf8"),
        ])
        .args(["--checkpoint", cp_file.to_str().expect("utf8")])
        .args(["--pubkey", &format!("{}.pub", key.display())])
        .output()
        .expect("verify");
    assert!(
        verified.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
}
