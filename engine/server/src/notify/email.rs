//! Notices by e-mail over SMTP (lettre's connection and message builder): plain text in UTF-8,
//! one message per notice, its `Message-ID` made of the notice's key so a mail system or reader
//! sees a repeat as one.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use motcua::notice::Notice;
use serde::Deserialize;

use crate::feed::{Failure, Retry};

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

/// The channel's one SMTP connection, kept between notices (the channel sends one at a time)
/// and opened again after a failure. Opened by hand rather than through lettre's transport so
/// the socket has `TCP_NODELAY`: lettre writes a message and its closing `.` in two writes, and
/// with Nagle's algorithm the second waits for the server's delayed acknowledgement, 40 ms a
/// notice (measured: 23 notices/s to a local server, against about 1 ms a message for it).
pub struct Sender {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    timeout: Duration,
    from: Mailbox,
    hello: ClientId,
    connection: tokio::sync::Mutex<Option<AsyncSmtpConnection>>,
}

impl Sender {
    pub fn new(c: &Config, retry: &Retry) -> Result<Sender, String> {
        let credentials = match (&c.username, &c.password_file) {
            (Some(user), Some(file)) => {
                let password = std::fs::read_to_string(file)
                    .map_err(|e| format!("email.password_file {}: {e}", file.display()))?;
                Some(Credentials::new(user.clone(), password.trim().to_string()))
            }
            _ => None,
        };
        let from = c
            .from
            .parse()
            .map_err(|e| format!("email.from '{}': {e}", c.from))?;
        Ok(Sender {
            host: c.host.clone(),
            port: c.port.unwrap_or(match c.security {
                Security::None => 25,
                Security::Starttls => 587,
                Security::Tls => 465,
            }),
            security: c.security,
            credentials,
            timeout: Duration::from_millis(retry.timeout_ms),
            from,
            hello: ClientId::default(),
            connection: tokio::sync::Mutex::new(None),
        })
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("connecting to {}:{}: {e}", self.host, self.port))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let tls = || TlsParameters::new(self.host.clone()).map_err(|e| e.to_string());
        let mut conn = match self.security {
            Security::Tls => {
                let connector = native_tls::TlsConnector::new().map_err(|e| e.to_string())?;
                let stream = tokio_native_tls::TlsConnector::from(connector)
                    .connect(&self.host, tcp)
                    .await
                    .map_err(|e| format!("TLS with {}: {e}", self.host))?;
                AsyncSmtpConnection::connect_with_transport(Box::new(Tls(stream)), &self.hello)
                    .await
                    .map_err(|e| e.to_string())?
            }
            Security::None | Security::Starttls => {
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                    .await
                    .map_err(|e| e.to_string())?
            }
        };
        if self.security == Security::Starttls {
            // Refused rather than sent in the clear when the server does not offer it.
            if !conn.can_starttls() {
                return Err(format!("{} does not offer STARTTLS", self.host));
            }
            conn.starttls(tls()?, &self.hello)
                .await
                .map_err(|e| format!("STARTTLS with {}: {e}", self.host))?;
        }
        if let Some(c) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], c)
                .await
                .map_err(|e| format!("authentication: {e}"))?;
        }
        Ok(conn)
    }

    pub async fn send(&self, notice: &Notice) -> Result<(), Failure> {
        let to: Mailbox = notice
            .to
            .parse()
            .map_err(|e| Failure::Permanent(format!("the address '{}': {e}", notice.to)))?;
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
            .map_err(|e| Failure::Permanent(format!("the message: {e}")))?;
        let bytes = message.formatted();
        let mut held = self.connection.lock().await;
        // A kept connection the server has since closed fails at once: one fresh try then.
        for fresh in [held.is_none(), true] {
            let mut conn = match held.take() {
                Some(c) if !fresh => c,
                _ => tokio::time::timeout(self.timeout, self.connect())
                    .await
                    .map_err(|_| format!("no connection in {:?}", self.timeout))
                    .and_then(|r| r)
                    .map_err(Failure::Again)?,
            };
            match conn.send(message.envelope(), &bytes).await {
                Ok(_) => {
                    *held = Some(conn);
                    return Ok(());
                }
                Err(e) if fresh => {
                    conn.abort().await;
                    // A 5xx reply refuses this message for good (no such mailbox, say).
                    return Err(if e.is_permanent() {
                        Failure::Permanent(e.to_string())
                    } else {
                        Failure::Again(e.to_string())
                    });
                }
                Err(_) => conn.abort().await,
            }
        }
        Err(Failure::Again("no try was made".into()))
    }
}

/// An implicitly encrypted stream (SMTPS) as lettre takes an existing one.
#[derive(Debug)]
struct Tls(tokio_native_tls::TlsStream<tokio::net::TcpStream>);

impl lettre::transport::smtp::client::AsyncTokioStream for Tls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().get_ref().get_ref().peer_addr()
    }
}

impl tokio::io::AsyncRead for Tls {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Tls {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
