//! Why the pure step refuses a request.

use crate::deadline;
use crate::dossier::form::FieldError;

#[derive(Debug, thiserror::Error)]
// Exhaustive on purpose: `motcua::Code` maps every variant to a stable code, so a new
// variant is a compile error there, not a silent default.
pub enum Error {
    #[error("procedure '{procedure}' version {version} receives dossiers from {from}{}", until.map(|u| format!(" until {u}")).unwrap_or_default())]
    NotEffective {
        procedure: String,
        version: String,
        from: jiff::civil::Date,
        until: Option<jiff::civil::Date>,
    },
    #[error("the form data is invalid: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    InvalidForm(Vec<FieldError>),
    #[error("document '{document}' is not in the checklist of procedure '{procedure}'")]
    UnknownDocument { procedure: String, document: String },
    #[error("dossier {code} has ended ({outcome:?}); no action is possible")]
    Closed {
        code: String,
        outcome: crate::procedure::Outcome,
    },
    #[error("dossier {code} is at version {current}, not {seen}: reload it and decide again")]
    Conflict {
        code: String,
        seen: u64,
        current: u64,
    },
    #[error("procedure '{procedure}' has no action '{action}'")]
    UnknownAction { procedure: String, action: String },
    #[error("action '{action}' starts from '{from}', but the dossier is in {}", active_list(.active))]
    NotAvailable {
        action: String,
        from: String,
        active: Vec<String>,
    },
    #[error("action '{action}' needs one of the roles {roles:?}; actor '{actor}' has {has:?}")]
    RoleRequired {
        action: String,
        actor: String,
        roles: Vec<String>,
        has: Vec<String>,
    },
    #[error("action '{action}' is the applicant's own; '{actor}' is not this dossier's applicant")]
    ApplicantOnly { action: String, actor: String },
    #[error("action '{action}' is taken only by the engine itself; '{actor}' cannot take it")]
    SystemOnly { action: String, actor: String },
    /// Acting for the applicant: the action is not theirs, or the officer lacks a role the
    /// procedure's `on_behalf` allows.
    #[error("'{actor}' may not take action '{action}' for the applicant: {reason}")]
    NotOnBehalf {
        action: String,
        actor: String,
        reason: String,
    },
    #[error("invalid request: {0}")]
    BadRequest(#[from] crate::dossier::request::BadField),
    #[error("action '{action}' belongs to department '{department}'; actor '{actor}' is not in it")]
    DepartmentRequired {
        action: String,
        actor: String,
        department: String,
    },
    #[error("action '{action}' needs input '{input}'")]
    MissingInput { action: String, input: String },
    #[error("action '{action}': input '{input}' must be {expected}")]
    BadInput {
        action: String,
        input: String,
        expected: Expected,
    },
    #[error("action '{action}' takes no input '{input}' (it takes {known:?})")]
    UnknownInput {
        action: String,
        input: String,
        known: Vec<String>,
    },
    #[error("action '{action}' needs a comment stating the reason")]
    CommentRequired { action: String },
    #[error("action '{action}' needs these papers attached first: {kinds:?}")]
    PapersRequired { action: String, kinds: Vec<String> },
    #[error("a {media_type} file is not a paper this procedure accepts")]
    PaperNotAccepted { media_type: String, office: bool },
    #[error("a file of {size} bytes is over this procedure's limit of {limit} bytes")]
    PaperTooLarge { size: u64, limit: u64 },
    #[error("action '{action}' refused: {label}")]
    GuardRefused { action: String, label: String },
    #[error(transparent)]
    Guard(#[from] crate::dossier::guard::Error),
    #[error(transparent)]
    Deadline(#[from] deadline::Error),
    #[error("procedure '{procedure}' is inconsistent: {message}")]
    Definition { procedure: String, message: String },
    #[error("linked procedure '{0}' is not in the catalogue")]
    UnknownLinkedProcedure(String),
    #[error(
        "action '{action}' grants an extension, which needs an approver role {approvers:?}; actor '{actor}' has {has:?}"
    )]
    NotApprover {
        action: String,
        actor: String,
        approvers: Vec<String>,
        has: Vec<String>,
    },
    #[error(
        "action '{action}': an apology is for a dossier that is late or about to be (overdue, or past the warning share of its time); the appointment is {appointment} and the step is on time"
    )]
    ApologyTooEarly {
        action: String,
        appointment: jiff::Timestamp,
    },
    #[error(
        "action '{action}': an extension must be granted before the appointment ({appointment}); it has passed, so issue an apology instead"
    )]
    ExtensionTooLate {
        action: String,
        appointment: jiff::Timestamp,
    },
    #[error(
        "action '{action}': dossier {code} was resolved at {at} (its result issued); its deadline is counted and can no longer be extended or apologised for"
    )]
    AlreadyResolved {
        action: String,
        code: String,
        at: jiff::Timestamp,
    },
    #[error(
        "action '{action}': {asked} more would extend dossier {code} beyond limit.extension {cap} ({granted} granted already)"
    )]
    ExtensionCapped {
        action: String,
        code: String,
        asked: crate::calendar::Duration,
        granted: String,
        cap: crate::calendar::Duration,
    },
    #[error("dossier {code} has no result yet (nor was it refused or stopped): it cannot be rated")]
    NotRatable { code: String },
    #[error("dossier {code} was rated at {at}; a dossier is rated once")]
    AlreadyRated { code: String, at: jiff::Timestamp },
    #[error("dossier {code} holds {limit} pieces of feedback, the most it may")]
    FeedbackFull { code: String, limit: usize },
    #[error("dossier {code} has no feedback number {number}")]
    UnknownFeedback { code: String, number: u32 },
    #[error("feedback {number} of dossier {code} is answered already")]
    FeedbackAnswered { code: String, number: u32 },
    #[error(
        "'{actor}' is not a leader ({roles:?}) of department {department:?}, to which the feedback was sent"
    )]
    NotLeader {
        actor: String,
        department: Option<String>,
        roles: Vec<String>,
    },
    #[error("action '{action}': '{input}' must be 1 to {max} characters of text")]
    BadText {
        action: String,
        input: String,
        max: usize,
    },
}

/// What an action's input had to be, as data: the catalogue words it for people
/// (`motcua::messages`), `Display` for logs and integrators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// The whole input is a JSON object of named inputs.
    Object,
    Text,
    Number,
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// Ids of documents in the procedure's checklist.
    Documents,
    /// An extension of more than nothing.
    NotZero,
    /// An extension written like the procedure's cap (`"5 working days"`), at most it.
    AtMost(crate::calendar::Duration),
    /// A working day; `next` is the first one after the day given.
    WorkingDay {
        given: jiff::civil::Date,
        next: jiff::civil::Date,
    },
    /// A promised day after the appointment it apologises for missing.
    AfterAppointment(jiff::civil::Date),
    AfterToday,
    /// A promised day after the one promised in an earlier apology.
    AfterPromise(jiff::civil::Date),
    /// An officer other than the step's current assignee.
    OtherOfficer,
    /// Something other than what is recorded now (a contact changed to itself).
    Changed,
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expected::Object => f.write_str("an object"),
            Expected::Text => f.write_str("text"),
            Expected::Number => f.write_str("a number"),
            Expected::Boolean => f.write_str("true or false"),
            Expected::Date => f.write_str("a date YYYY-MM-DD"),
            Expected::Documents => f.write_str("a list of document ids from the checklist"),
            Expected::NotZero => f.write_str("more than nothing"),
            Expected::AtMost(max) => write!(f, "a duration of at most {max}"),
            Expected::WorkingDay { given, next } => {
                write!(f, "a working day ({given} is not one; the next is {next})")
            }
            Expected::AfterAppointment(day) => write!(
                f,
                "a date after the appointment {day}: an apology promises a later date than the one missed"
            ),
            Expected::AfterToday => f.write_str("a date after today"),
            Expected::AfterPromise(day) => {
                write!(f, "a date after the one promised before ({day})")
            }
            Expected::OtherOfficer => {
                f.write_str("an officer other than the one the step is assigned to now")
            }
            Expected::Changed => f.write_str("something other than what is recorded now"),
        }
    }
}

fn active_list(active: &[String]) -> String {
    if active.is_empty() {
        "no active state".into()
    } else {
        format!("{active:?}")
    }
}
