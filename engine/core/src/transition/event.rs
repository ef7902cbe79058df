//! Outgoing events: what the outbox carries to portals, webhooks and the national portal sync.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// An event for the outbox: portals and the national portal sync consume these in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub dossier: String,
    pub at: Timestamp,
    pub status: u8,
    pub payload: serde_json::Value,
}

/// What happened. The serialised spelling (`dossier.received`, …) is what the outbox stores
/// and what consumers read: it never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// A dossier was received (submitted complete).
    #[serde(rename = "dossier.received")]
    Received,
    /// A dossier moved between states (an action, or a plugin's decision).
    #[serde(rename = "dossier.moved")]
    Moved,
    /// A parent dossier started a linked (liên thông) child.
    #[serde(rename = "dossier.linked")]
    Linked,
    /// A dossier reached a terminal state.
    #[serde(rename = "dossier.ended")]
    Ended,
    /// The appointment was extended (gia hạn), with the notice to the applicant.
    #[serde(rename = "dossier.extended")]
    Extended,
    /// An apology (xin lỗi) was issued, with the new promised date.
    #[serde(rename = "dossier.apologised")]
    Apologised,
    /// A warning threshold before a due instant was reached.
    #[serde(rename = "deadline.warning")]
    Warning,
    /// A step's budget or the appointment passed.
    #[serde(rename = "deadline.overdue")]
    Overdue,
    /// An escalation rule fired.
    #[serde(rename = "deadline.escalated")]
    Escalated,
}

impl EventKind {
    /// The stored spelling, e.g. `dossier.received`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Received => "dossier.received",
            EventKind::Moved => "dossier.moved",
            EventKind::Linked => "dossier.linked",
            EventKind::Ended => "dossier.ended",
            EventKind::Extended => "dossier.extended",
            EventKind::Apologised => "dossier.apologised",
            EventKind::Warning => "deadline.warning",
            EventKind::Overdue => "deadline.overdue",
            EventKind::Escalated => "deadline.escalated",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::EventKind::*;

    #[test]
    fn each_event_kind_is_stored_as_its_spelling() {
        for k in [
            Received, Moved, Linked, Ended, Extended, Apologised, Warning, Overdue, Escalated,
        ] {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<super::EventKind>(&json).unwrap(), k);
        }
    }
}
