//! Notices to the applicant: which outbox events a citizen is told of ([`Kind::of`]), the
//! facts a notice is filled from ([`Facts`], gathered from the stored dossier and its entries
//! by [`gather`]), and the templates that word it ([`Templates`]: the catalogue's, replaced
//! where the province's notices file says so, per procedure where it wants).
//!
//! Deciding and wording are pure; delivery (SMTP, an SMS provider) is the server's, which
//! reads the outbox with a cursor per channel, so a notice never delays a transition.

mod gather;
mod templates;

pub use gather::{Reach, gather};
pub use templates::{Error, PLACEHOLDERS, TemplateFile, Templates, Wording};

use crate::dossier::NoticeChannel;
use crate::dossier::transition::{Event, EventKind};
use crate::procedure::{Outcome, Procedure, StateKind};

/// What the applicant is told of. The spelling (`received`, …) names a template in the
/// notices file and stays stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The dossier was received.
    Received,
    /// A supplement is requested: the clock pauses until the applicant brings it.
    Supplement,
    /// The supplement arrived; the clock runs again.
    Resumed,
    /// The appointment was extended.
    Extended,
    /// An apology with a new promised date.
    Apology,
    /// The result is ready to collect (or was returned).
    Result,
    /// The dossier was refused, with the reason.
    Refused,
    /// Processing was stopped, with the reason.
    Stopped,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Received,
        Kind::Supplement,
        Kind::Resumed,
        Kind::Extended,
        Kind::Apology,
        Kind::Result,
        Kind::Refused,
        Kind::Stopped,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Received => "received",
            Kind::Supplement => "supplement",
            Kind::Resumed => "resumed",
            Kind::Extended => "extended",
            Kind::Apology => "apology",
            Kind::Result => "result",
            Kind::Refused => "refused",
            Kind::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The notice an outbox event calls for, if any, read against the procedure version
    /// the dossier is pinned to: a move into a state of national status 9 or 10 from one
    /// of neither is the result; a move into a state waiting on the applicant is a
    /// supplement request, one out of it (the dossier still open) the resumption; endings
    /// by refusal or stopping say so. Warnings, escalations and moves between officers are
    /// the office's business, not the applicant's.
    pub fn of(event: &Event, p: &Procedure) -> Option<Kind> {
        match event.kind {
            EventKind::Received => Some(Kind::Received),
            EventKind::Extended => Some(Kind::Extended),
            EventKind::Apologised => Some(Kind::Apology),
            EventKind::Ended => {
                let outcome: Option<Outcome> = event
                    .payload
                    .get("outcome")
                    .and_then(|o| serde_json::from_value(o.clone()).ok());
                match outcome? {
                    Outcome::Refused => Some(Kind::Refused),
                    Outcome::Stopped => Some(Kind::Stopped),
                    // A withdrawal was the applicant's own request; a result was told of when
                    // it was issued.
                    Outcome::Withdrawn | Outcome::ResultIssued => None,
                }
            }
            EventKind::Moved => {
                let from = event
                    .payload
                    .get("from")
                    .and_then(|f| f.as_str())
                    .and_then(|f| p.state(f));
                let to: Vec<_> = event
                    .payload
                    .get("to")
                    .and_then(|t| t.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().and_then(|s| p.state(s)))
                    .collect();
                let done = |status: u8| status == 9 || status == 10;
                if to.iter().any(|s| done(s.status)) && from.is_none_or(|f| !done(f.status)) {
                    return Some(Kind::Result);
                }
                if to.iter().any(|s| s.kind == StateKind::Terminal) {
                    return None;
                }
                if to.iter().any(|s| s.kind == StateKind::Applicant) {
                    return Some(Kind::Supplement);
                }
                if from.is_some_and(|f| f.kind == StateKind::Applicant) {
                    return Some(Kind::Resumed);
                }
                None
            }
            EventKind::Linked | EventKind::Warning | EventKind::Overdue | EventKind::Escalated => {
                None
            }
        }
    }
}

/// The facts a notice is worded from, each as people read it (dates in Vietnamese formats,
/// labels, never ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub kind: Kind,
    /// The procedure's id, for its own templates.
    pub procedure_id: String,
    /// `placeholder → text`, for every name in [`PLACEHOLDERS`].
    pub values: std::collections::BTreeMap<&'static str, String>,
}

/// A notice ready to send.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notice {
    /// The outbox sequence number of the event: with the channel, the key a receiver drops
    /// repeats by.
    pub seq: u64,
    pub kind: String,
    pub dossier: String,
    pub channel: NoticeChannel,
    /// The e-mail address or phone number.
    pub to: String,
    /// Empty for a text message.
    pub subject: String,
    pub text: String,
}

impl Notice {
    /// The key a receiver deduplicates on: `motcua-<channel>-<seq>`; a notice sent again
    /// after a restart carries the same one.
    pub fn key(&self) -> String {
        format!("motcua-{}-{}", self.channel.as_str(), self.seq)
    }
}
