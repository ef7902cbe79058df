//! Notices to applicants from the durable outbox: for each event a citizen is told of
//! (`motcua::notice::Kind::of`), a Vietnamese text worded from the province's templates
//! and the dossier's facts, sent by each channel the applicant agreed to: e-mail over SMTP
//! ([`email`]) and text messages through the province's SMS or Zalo provider ([`sms`]).
//! Each channel is a consumer of [`crate::feed`]: its own cursor (`notice/<channel>/cursor`),
//! leased to one node, in order, retried with back-off, dead-lettered and listed for an admin
//! to send again; at least once, each notice keyed `motcua-<channel>-<outbox seq>` for the
//! receiver to drop repeats. A provider that is down delays its notices and nothing else:
//! commits never wait on a notice.

pub mod email;
pub mod sms;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use motcua::dossier::NoticeChannel;
use motcua::dossier::transition::Event;
use motcua::notice::{Notice, Templates, Wording};
use serde::Deserialize;

use crate::feed::{self, DeadLetter, Done, Retry, Tried};
use crate::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    Config { path: String, message: String },
}

/// The `--notices` file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticesFile {
    /// Tries, back-off and the time one try may take, for both channels.
    #[serde(default)]
    pub retry: Retry,
    #[serde(default)]
    pub email: Option<email::Config>,
    #[serde(default)]
    pub sms: Option<sms::Config>,
    /// By notice kind: the wording for every procedure (the catalogue's where absent).
    #[serde(default)]
    pub templates: BTreeMap<String, Wording>,
    /// By procedure id, then notice kind: a procedure's own wording.
    #[serde(default)]
    pub procedures: BTreeMap<String, BTreeMap<String, Wording>>,
}

/// Reads and checks a notices file: the channels' settings and every template.
pub fn read(path: &Path) -> Result<NoticesFile, Error> {
    let err = |m: String| Error::Config {
        path: path.display().to_string(),
        message: m,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let file: NoticesFile = serde_yaml::from_str(&text).map_err(|e| err(e.to_string()))?;
    file.templates().map_err(|e| err(e.to_string()))?;
    if let Some(e) = &file.email {
        e.check().map_err(err)?;
    }
    if let Some(s) = &file.sms {
        s.check().map_err(err)?;
    }
    if file.retry.max_tries == 0 {
        return Err(err("retry.max_tries must be at least 1".into()));
    }
    Ok(file)
}

impl NoticesFile {
    pub fn templates(&self) -> Result<Templates, motcua::notice::Error> {
        Templates::new(motcua::notice::TemplateFile {
            templates: self.templates.clone(),
            procedures: self.procedures.clone(),
        })
    }
}

/// A channel's sender.
pub enum Sender {
    Email(email::Sender),
    Sms(sms::Sender),
}

impl Sender {
    async fn send(&self, notice: &Notice) -> Result<(), feed::Failure> {
        match self {
            Sender::Email(s) => s.send(notice).await,
            Sender::Sms(s) => s.send(notice).await,
        }
    }
}

/// Everything the notice channels share: the wording, the offices, how to link the status
/// page, and each configured channel's sender.
pub struct Notices {
    pub templates: Templates,
    pub offices: Arc<motcua::office::Offices>,
    pub retry: Retry,
    /// `<public url>/tra-cuu`.
    pub status_base: String,
    pub status_key: [u8; 32],
    pub senders: Vec<(NoticeChannel, Sender)>,
}

impl Notices {
    /// The channels and wording of `file`; the status page's links start with `base`.
    pub fn new(
        file: &NoticesFile,
        offices: Arc<motcua::office::Offices>,
        base: &str,
        status_key: [u8; 32],
    ) -> Result<Notices, String> {
        let mut senders = vec![];
        if let Some(c) = &file.email {
            senders.push((
                NoticeChannel::Email,
                Sender::Email(email::Sender::new(c, &file.retry)?),
            ));
        }
        if let Some(c) = &file.sms {
            senders.push((NoticeChannel::Sms, Sender::Sms(sms::Sender::new(c))));
        }
        Ok(Notices {
            templates: file.templates().map_err(|e| e.to_string())?,
            offices,
            retry: file.retry,
            status_base: format!("{}/tra-cuu", base.trim_end_matches('/')),
            status_key,
            senders,
        })
    }

    fn sender(&self, channel: NoticeChannel) -> Option<&Sender> {
        self.senders
            .iter()
            .find(|(c, _)| *c == channel)
            .map(|(_, s)| s)
    }

    /// The notices `event` calls for on `channel` (none, or one).
    pub fn notice_of(
        &self,
        engine: &motcua::Engine,
        channel: NoticeChannel,
        seq: u64,
        event: &Event,
    ) -> motcua::Result<Option<Notice>> {
        let link = |code: &str| {
            Some(format!(
                "{}/{code}?secret={}",
                self.status_base,
                crate::status::secret(&self.status_key, code)
            ))
        };
        let Some((facts, reach)) = motcua::notice::gather(engine, &self.offices, &link, event)?
        else {
            return Ok(None);
        };
        Ok(reach
            .into_iter()
            .find(|r| r.channel == channel)
            .map(|r| self.templates.render(seq, &facts, channel, &r.to)))
    }
}

/// The cursor's mark of a channel.
pub fn cursor_mark(channel: NoticeChannel) -> String {
    format!("notice/{}/cursor", channel.as_str())
}

/// The marks holding a channel's dead letters.
pub fn dead_prefix(channel: NoticeChannel) -> String {
    format!("notice/{}/dead/", channel.as_str())
}

struct Consumer {
    engine: Arc<motcua::Engine>,
    notices: Arc<Notices>,
    channel: NoticeChannel,
    metrics: Arc<Metrics>,
}

/// Runs one channel's notices until `stop` turns true.
pub async fn run(
    engine: Arc<motcua::Engine>,
    notices: Arc<Notices>,
    channel: NoticeChannel,
    metrics: Arc<Metrics>,
    bell: Arc<tokio::sync::Notify>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let consumer = Arc::new(Consumer {
        engine: engine.clone(),
        notices,
        channel,
        metrics: metrics.clone(),
    });
    feed::run(
        engine,
        cursor_mark(channel),
        feed::Start::Head,
        "notice",
        channel.as_str().to_string(),
        metrics,
        bell,
        stop,
        consumer,
    )
    .await;
}

/// What a dead letter keeps of a notice: which one and to whom, never its text (which holds the
/// status page's link with the slip's secret, and auditors read the list). Sending it again
/// words it anew from the outbox event, to the contact as it is then.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Listed {
    pub kind: String,
    pub dossier: String,
    pub to: String,
}

impl feed::Handler for Consumer {
    fn handle<'a>(
        &'a self,
        seq: u64,
        event: Event,
        stop: &'a mut tokio::sync::watch::Receiver<bool>,
    ) -> Pin<Box<dyn Future<Output = Done> + Send + 'a>> {
        Box::pin(async move {
            let Some(sender) = self.notices.sender(self.channel) else {
                return Done::Skipped;
            };
            let dossier = event.dossier.clone();
            let (engine, notices, channel) =
                (self.engine.clone(), self.notices.clone(), self.channel);
            let made = tokio::task::spawn_blocking(move || {
                notices.notice_of(&engine, channel, seq, &event)
            })
            .await;
            let notice = match made {
                Ok(Ok(Some(n))) => n,
                Ok(Ok(None)) => return Done::Skipped,
                // A dossier that cannot be read for good (gone, or its version missing):
                // listed, so the admin sees which notice did not go out and why.
                Ok(Err(e))
                    if matches!(
                        e.code(),
                        motcua::Code::NotFound
                            | motcua::Code::PinnedVersionMissing
                            | motcua::Code::StoreCorrupt
                    ) =>
                {
                    let listed = Listed {
                        kind: String::new(),
                        dossier,
                        to: String::new(),
                    };
                    return self
                        .dead(seq, 0, format!("reading the dossier: {e}"), &listed)
                        .await;
                }
                // The store did not answer: the event is tried again after a pause.
                Ok(Err(_)) | Err(_) => return Done::Stopped,
            };
            let retry = self.notices.retry;
            match feed::with_retries(&retry, &self.metrics.notices, stop, || sender.send(&notice))
                .await
            {
                Tried::Delivered => Done::Delivered,
                Tried::Stopped => Done::Stopped,
                Tried::Failed(e) => {
                    let listed = Listed {
                        kind: notice.kind.clone(),
                        dossier: notice.dossier.clone(),
                        to: notice.to.clone(),
                    };
                    self.dead(seq, retry.max_tries, e, &listed).await
                }
            }
        })
    }
}

impl Consumer {
    async fn dead(&self, seq: u64, tries: u32, last_error: String, listed: &Listed) -> Done {
        feed::keep_dead(
            &self.engine,
            &self.metrics.notices,
            dead_prefix(self.channel),
            DeadLetter {
                id: seq,
                tries,
                last_error,
                at: jiff::Timestamp::now().to_string(),
                body: serde_json::to_string(listed).unwrap_or_default(),
            },
        )
        .await
    }
}

/// Sends a dead letter's notice again, once, worded anew from its outbox event for the contact
/// and consent as they are now; on success (or when there is nothing to send any more: the
/// applicant withdrew consent) it leaves the list, on failure it stays with the new error.
/// `None` when there is no such dead letter; else whether it went out, and the error if not.
pub async fn replay(
    engine: &Arc<motcua::Engine>,
    notices: &Arc<Notices>,
    channel: NoticeChannel,
    seq: u64,
) -> Result<Option<Result<(), String>>, crate::Problem> {
    use crate::api::blocking;
    let name = format!("{}{seq:020}", dead_prefix(channel));
    let (e2, n2) = (engine.clone(), name.clone());
    let Some(bytes) = blocking(move || e2.marks().mark(&n2).map_err(motcua::Error::from)).await??
    else {
        return Ok(None);
    };
    let Ok(mut letter) = serde_json::from_slice::<DeadLetter>(&bytes) else {
        return Ok(None);
    };
    let (e2, n2) = (engine.clone(), notices.clone());
    let notice = blocking(move || {
        let page = e2.store().outbox(seq.saturating_sub(1), 1)?;
        match page.into_iter().find(|(s, _)| *s == seq) {
            Some((_, event)) => n2.notice_of(&e2, channel, seq, &event),
            None => Ok(None),
        }
    })
    .await??;
    let outcome = match (&notice, notices.sender(channel)) {
        (Some(n), Some(sender)) => sender.send(n).await.map_err(feed::Failure::message),
        (None, _) => Ok(()),
        (_, None) => Err("the channel is not configured".into()),
    };
    let e2 = engine.clone();
    match &outcome {
        Ok(()) => {
            blocking(move || {
                e2.marks()
                    .set_mark(&name, None)
                    .map_err(motcua::Error::from)
            })
            .await??
        }
        Err(err) => {
            letter.tries += 1;
            letter.last_error = err.clone();
            letter.at = jiff::Timestamp::now().to_string();
            let bytes = serde_json::to_vec(&letter).unwrap_or_default();
            blocking(move || {
                e2.marks()
                    .set_mark(&name, Some(&bytes))
                    .map_err(motcua::Error::from)
            })
            .await??
        }
    }
    Ok(Some(outcome))
}
