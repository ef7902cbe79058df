//! Dossiers (hồ sơ) and the pure state machine that moves them.
//!
//! A [`Dossier`] is the whole state of one application: its form data, the documents received,
//! its active tokens (one per parallel branch), its clock and its version. [`transition`] holds
//! the pure step `(procedure, dossier, action, actor, now, calendar) -> Transition`; it reads no
//! clock, touches no disk and is the only code that decides how a dossier changes.

pub mod definition;
pub mod feedback;
pub mod form;
pub mod guard;
pub mod paper;
pub mod request;
pub mod status;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::procedure::Outcome;

/// How the dossier was handed in (national channel codes 1, 2, 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// At the one-stop desk (1).
    Desk,
    /// Online, through a portal (2).
    Online,
    /// By public postal service (3).
    Post,
}

impl Channel {
    /// The national portal's code for the channel.
    pub fn national_code(self) -> u8 {
        match self {
            Channel::Desk => 1,
            Channel::Online => 2,
            Channel::Post => 3,
        }
    }
}

/// The citizen or organisation that applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Applicant {
    /// A stable identifier: citizen id (CCCD), tax code, or the portal's account id.
    pub id: String,
    pub name: String,
    /// A phone number to reach them, as given (staff search finds it, `+84` or `0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// An e-mail address for notices, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The channels the applicant agreed to be told by (receipt, supplement requests,
    /// extensions, apologies, the result): their consent, taken at receipt and changed by the
    /// desk. Empty: no notices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify_by: Vec<NoticeChannel>,
    /// Receipt in a disadvantaged area, where the longer statutory limit applies.
    #[serde(default)]
    pub disadvantaged_area: bool,
}

/// How an applicant is told of their dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeChannel {
    /// To `Applicant::email`.
    Email,
    /// A text message to `Applicant::phone` (SMS or Zalo, through the province's provider).
    Sms,
}

impl NoticeChannel {
    pub const ALL: [NoticeChannel; 2] = [NoticeChannel::Email, NoticeChannel::Sms];

    /// The stored spelling, also the delivery cursor's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            NoticeChannel::Email => "email",
            NoticeChannel::Sms => "sms",
        }
    }
}

/// Who performs an action: an officer (cán bộ) with roles in departments, the applicant, or
/// the system (timers, plugins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    pub id: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub departments: Vec<String>,
}

impl Actor {
    /// The id of the engine's own actor, reserved: no request from outside may use it.
    pub const SYSTEM_ID: &'static str = "system";

    /// The engine itself (automatic states, timers); it takes only actions `by: system`.
    pub fn system() -> Actor {
        Actor {
            id: Actor::SYSTEM_ID.into(),
            roles: vec![],
            departments: vec![],
        }
    }
}

/// One active position in the graph. A dossier has one token, or one per parallel branch
/// between a fork and its join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub state: String,
    /// The department that owns the step (copied from the procedure so that indexes can be
    /// derived from the dossier alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    pub entered_at: Timestamp,
    /// When the step's budget runs out (None for unbudgeted or paused steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Timestamp>,
    /// The fork this token's branch came from and the branch's index in `branches`, innermost
    /// fork last; joins match on it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lineage: Vec<(String, usize)>,
    /// The token has reached a join and waits for its sibling branches.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub waiting: bool,
    /// The step's warnings and escalations still to fire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<Alarm>,
    /// The step's budget ran out at this instant and the breach was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue_since: Option<Timestamp>,
    /// The dossier version in which the token entered its state. An officer who saw any
    /// version since then saw this step as it is: a move on a sibling branch in between is
    /// no conflict for them (absent on tokens stored before it was kept: exact versions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_version: Option<u64>,
    /// The named officer the step is assigned to (claimed, or given by a head of department);
    /// absent, it waits for anyone of its roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
}

/// A warning or escalation rule waiting to fire: the rule's index in its `escalation` list
/// (the state's for a step, the procedure's for the statutory clock) and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alarm {
    pub at: Timestamp,
    pub rule: usize,
}

/// The data of a legal extension notice (thông báo gia hạn).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionNotice {
    pub at: Timestamp,
    pub action: String,
    pub reason: String,
    /// The extension granted, e.g. `10 days`.
    pub extension: crate::calendar::Duration,
    pub old_appointment: Timestamp,
    pub new_appointment: Timestamp,
    /// The officer who approved it, and the approver roles they hold.
    pub approver: String,
    pub approver_roles: Vec<String>,
}

/// The data of an apology letter (phiếu xin lỗi và hẹn lại ngày trả kết quả, form 04).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Apology {
    pub at: Timestamp,
    pub action: String,
    pub reason: String,
    /// The appointment the dossier has missed or will miss (unchanged by the apology).
    pub appointment: Timestamp,
    /// The promise made before this one, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_promise: Option<Timestamp>,
    /// The new promised date and time of return.
    pub promised: Timestamp,
    pub officer: String,
    pub departments: Vec<String>,
}

/// The dossier's statutory clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    /// Receipt of the complete dossier: the clock starts here.
    pub received_at: Timestamp,
    /// The appointment (hẹn trả kết quả): when the result is due. Moves on pauses and
    /// extensions, never otherwise.
    pub due_at: Timestamp,
    /// The clock is paused (waiting on the applicant, or an outside-budget step) since then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_since: Option<Timestamp>,
    /// How many supplement requests the dossier has had; more than one counts as late in the
    /// national metric.
    #[serde(default)]
    pub supplements: u32,
    /// Extensions granted (with their reasons in the audit log).
    #[serde(default)]
    pub extensions: u32,
    /// Total working time the clock was paused, in thousandths of a working hour.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub paused_hours_milli: u64,
    /// Warnings and escalations on the statutory clock still to fire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<Alarm>,
    /// The appointment passed at this instant and the breach was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue_since: Option<Timestamp>,
    /// The legal extensions granted, as their notices state them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension_notices: Vec<ExtensionNotice>,
    /// Apologies for lateness; the last one's `promised` is the date the applicant now expects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apologies: Vec<Apology>,
    /// When the dossier was resolved and how it counts: the first of the result issued
    /// (entering a state with national status 9, done) and its end. The statutory clock stops
    /// there; returning the result to the applicant is the desk's own step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Resolution>,
}

/// The moment a dossier counts as resolved in the national index, and its class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    pub at: Timestamp,
    /// The state whose entry resolved it.
    pub state: String,
    pub class: crate::deadline::Class,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub late_because: Vec<crate::deadline::LateReason>,
    /// The appointment it was judged against (moved by pauses and legal extensions).
    pub appointment: Timestamp,
    /// The department the service report counts it under: the one whose step the resolving
    /// transition left (it issued the result, or refused), else the resolving state's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The agency's working time on the dossier: from the statutory counting start to the
    /// resolution, less the time the clock was paused, in thousandths of a working hour.
    #[serde(default)]
    pub working_milli: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Clock {
    /// The date the applicant was last promised: the newest apology's, else the appointment.
    pub fn promised(&self) -> Timestamp {
        self.apologies.last().map_or(self.due_at, |a| a.promised)
    }
}

/// How a dossier's life ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ending {
    pub outcome: Outcome,
    pub state: String,
    pub at: Timestamp,
    /// Counted as resolved on time (early or on time) by the national rule.
    pub on_time: bool,
    /// Early, on time or late (absent on dossiers that ended before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<crate::deadline::Class>,
    /// Why a late dossier counts as late.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub late_because: Vec<crate::deadline::LateReason>,
    /// The appointment it was judged against (moved by pauses and legal extensions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<Timestamp>,
}

/// A fee or charge the applicant owes, fixed by the procedure or computed by a plugin at
/// receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeCharge {
    pub id: String,
    pub name: String,
    /// Whole đồng.
    pub amount: u64,
    /// (label, amount) lines when a plugin itemised it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breakdown: Vec<(String, u64)>,
}

/// One application, as stored. Every change bumps `version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dossier {
    /// The national dossier code `<agency id>-<yymmdd>-<4-digit sequence>`; also the key.
    pub code: String,
    pub procedure: String,
    pub procedure_version: String,
    /// sha256 of the procedure file this dossier is pinned to.
    pub procedure_hash: String,
    pub agency: String,
    pub applicant: Applicant,
    pub channel: Channel,
    pub data: serde_json::Value,
    /// Ids of documents received, from the procedure's checklist.
    pub documents: Vec<String>,
    /// Fees and charges computed at receipt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fees: Vec<FeeCharge>,
    /// The papers attached, every version, in the order attached (see [`paper`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub papers: Vec<paper::Paper>,
    pub tokens: Vec<Token>,
    pub clock: Clock,
    /// National status code (1–10) of the dossier as a whole.
    pub status: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ending: Option<Ending>,
    /// For a child dossier of a linked group: the parent's code, which the citizen sees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Free-form metadata portals attach (their own ids); never interpreted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
    /// The applicant's satisfaction rating, given once after the result (absent: not rated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<feedback::Rating>,
    /// The applicant's feedback (phản ánh, kiến nghị) and the answers, in the order sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feedback: Vec<feedback::Feedback>,
}

impl Dossier {
    /// The code the citizen sees: the parent's for a child of a linked group.
    pub fn public_code(&self) -> &str {
        self.parent.as_deref().unwrap_or(&self.code)
    }
    pub fn is_open(&self) -> bool {
        self.ending.is_none()
    }
    /// The one overdue rule every listing uses: open, not yet resolved, past its appointment
    /// at `now`, and its clock running (a paused clock is not counting, whatever happened
    /// before the pause).
    pub fn is_overdue_at(&self, now: jiff::Timestamp) -> bool {
        self.is_open()
            && self.clock.resolved.is_none()
            && self.clock.paused_since.is_none()
            && self.clock.due_at < now
    }
    /// Active (not waiting) states.
    pub fn active_states(&self) -> impl Iterator<Item = &str> {
        self.tokens
            .iter()
            .filter(|t| !t.waiting)
            .map(|t| t.state.as_str())
    }
}
