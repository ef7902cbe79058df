//! Text messages (SMS, Zalo) through the province's provider over HTTP: a POST to the
//! configured URL, the body JSON (or the provider's own shape from a template), signed with
//! an HMAC of the body as webhooks are (`X-Motcua-Signature`), or carrying a bearer token.
//! The notice's key rides in `X-Motcua-Notice` and the body for the receiver to drop repeats.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use motcua::notice::Notice;
use serde::Deserialize;

use crate::feed::Failure;

/// The `sms:` section of the notices file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// An `http://` URL (a TLS-terminating proxy in front for https, as for webhooks).
    pub url: String,
    /// The HMAC-SHA256 key of `X-Motcua-Signature`.
    #[serde(default)]
    pub secret: Option<String>,
    /// Sent as `Authorization: Bearer …`, for providers that take a token.
    #[serde(default)]
    pub token: Option<String>,
    /// The body in the provider's own shape: `{to}`, `{text}`, `{key}`, `{dossier}` and
    /// `{kind}` are replaced by JSON strings (quotes included). Default: a JSON object of the
    /// five and `id`, the outbox sequence number.
    #[serde(default)]
    pub body: Option<String>,
}

impl Config {
    pub fn check(&self) -> Result<(), String> {
        if !self.url.starts_with("http://") || self.url.parse::<hyper::Uri>().is_err() {
            return Err(format!(
                "sms.url '{}' must be an http:// URL (terminate TLS in a proxy)",
                self.url
            ));
        }
        match (&self.secret, &self.token) {
            (None, None) => {
                return Err("sms: give a secret (signed requests) or a token".into());
            }
            (Some(s), _) if s.len() < 16 => {
                return Err("sms.secret must be at least 16 bytes".into());
            }
            _ => {}
        }
        if let Some(body) = &self.body {
            let filled = fill(
                body,
                &Notice {
                    seq: 1,
                    kind: "received".into(),
                    dossier: "x".into(),
                    channel: motcua::dossier::NoticeChannel::Sms,
                    to: "0900000000".into(),
                    subject: String::new(),
                    text: "x".into(),
                },
            );
            serde_json::from_str::<serde_json::Value>(&filled)
                .map_err(|e| format!("sms.body is not JSON once filled: {e}"))?;
        }
        Ok(())
    }
}

pub struct Sender {
    config: Config,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// The template with each placeholder replaced in one pass, so a value holding `{text}` (an
/// officer's typed reason) is never read as a placeholder.
fn fill(template: &str, n: &Notice) -> String {
    let value = |f: &str| -> Option<String> {
        let v = match f {
            "to" => n.to.clone(),
            "text" => n.text.clone(),
            "dossier" => n.dossier.clone(),
            "kind" => n.kind.clone(),
            "key" => n.key(),
            _ => return None,
        };
        Some(serde_json::Value::String(v).to_string())
    };
    let mut out = String::with_capacity(template.len() + n.text.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .split_once('}')
            .and_then(|(f, tail)| Some((value(f)?, tail)))
        {
            Some((v, tail)) => {
                out.push_str(&v);
                rest = tail;
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

impl Sender {
    pub fn new(config: &Config) -> Sender {
        Sender {
            config: config.clone(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// The body sent for a notice.
    pub fn body(&self, n: &Notice) -> Vec<u8> {
        match &self.config.body {
            Some(t) => fill(t, n).into_bytes(),
            None => serde_json::to_vec(&serde_json::json!({
                "id": n.seq, "key": n.key(), "to": n.to, "text": n.text, "dossier": n.dossier,
                "kind": n.kind,
            }))
            .unwrap_or_default(),
        }
    }

    pub async fn send(&self, n: &Notice) -> Result<(), Failure> {
        let body = self.body(n);
        let mut req = hyper::Request::post(self.config.url.as_str())
            .header("content-type", "application/json")
            .header("x-motcua-notice", n.key());
        if let Some(secret) = &self.config.secret {
            let now = jiff::Timestamp::now().as_second();
            req = req.header(
                "x-motcua-signature",
                crate::webhook::signature(secret, now, &body),
            );
        }
        if let Some(token) = &self.config.token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| Failure::Permanent(e.to_string()))?;
        let res = self
            .client
            .request(req)
            .await
            .map_err(|e| Failure::Again(e.to_string()))?;
        let status = res.status();
        let refused_for_good = status.is_client_error()
            && status != hyper::StatusCode::REQUEST_TIMEOUT
            && status != hyper::StatusCode::TOO_MANY_REQUESTS;
        crate::webhook::answered(res).await.map_err(|e| {
            if refused_for_good {
                Failure::Permanent(e)
            } else {
                Failure::Again(e)
            }
        })
    }
}
