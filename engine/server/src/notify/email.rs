//! Notices by e-mail over SMTP (lettre): plain text in UTF-8, one message per notice, its
//! `Message-ID` made of the notice's key so a mail system or reader sees a repeat as one.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use motcua::notice::Notice;
use serde::Deserialize;

use crate::feed::Retry;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain SMTP: only to a relay on the same machine or a trusted network.
    None,
    /// STARTTLS on the submission port (587): refused if the server does not offer it.
    Starttls,
    /// TLS from the first byte (465).
    Tls,
}

/// The `email:` section of the notices file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub host: String,
    #[serde(default)]
    pub port: Option<u16>,
    pub security: Security,
    #[serde(default)]
    pub username: Option<String>,
    /// The password, from a file readable by the server alone (never in the notices file).
    #[serde(default)]
    pub password_file: Option<std::path::PathBuf>,
    /// The sender, e.g. `Bộ phận Một cửa phường Hải Châu <motcua@haichau.danang.gov.vn>`.
    pub from: String,
}

impl Config {
    pub fn check(&self) -> Result<(), String> {
        if self.host.trim().is_empty() {
            return Err("email.host is empty".into());
        }
        let from: Mailbox = self
            .from
            .parse()
            .map_err(|e| format!("email.from '{}': {e}", self.from))?;
        if from.email.domain().is_empty() {
            return Err(format!("email.from '{}' has no domain", self.from));
        }
        if self.username.is_some() != self.password_file.is_some() {
            return Err("email.username and email.password_file go together".into());
        }
        if self.username.is_some() && self.security == Security::None {
            return Err(
                "email.username over security: none would send the password in the clear".into(),
            );
        }
        Ok(())
    }
}

pub struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Sender {
    pub fn new(c: &Config, retry: &Retry) -> Result<Sender, String> {
        let builder = match c.security {
            Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host),
            Security::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host)
                .map_err(|e| format!("email.host '{}': {e}", c.host))?,
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&c.host)
                .map_err(|e| format!("email.host '{}': {e}", c.host))?,
        };
        let mut builder = builder.timeout(Some(Duration::from_millis(retry.timeout_ms)));
        if let Some(port) = c.port {
            builder = builder.port(port);
        }
        if let (Some(user), Some(file)) = (&c.username, &c.password_file) {
            let password = std::fs::read_to_string(file)
                .map_err(|e| format!("email.password_file {}: {e}", file.display()))?;
            builder =
                builder.credentials(Credentials::new(user.clone(), password.trim().to_string()));
        }
        let from = c
            .from
            .parse()
            .map_err(|e| format!("email.from '{}': {e}", c.from))?;
        Ok(Sender {
            transport: builder.build(),
            from,
        })
    }

    pub async fn send(&self, notice: &Notice) -> Result<(), String> {
        let to: Mailbox = notice
            .to
            .parse()
            .map_err(|e| format!("the address '{}': {e}", notice.to))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(notice.subject.clone())
            .message_id(Some(format!(
                "<{}.{}@{}>",
                notice.key(),
                notice.dossier,
                self.from.email.domain()
            )))
            .header(ContentType::TEXT_PLAIN)
            .body(notice.text.clone())
            .map_err(|e| format!("the message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
