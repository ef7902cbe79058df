//! What the citizen says back: one satisfaction rating once the result is issued (or the
//! dossier refused or stopped), and feedback (phản ánh, kiến nghị) at any time, each answered
//! by a leader of the department it was sent to. Both are recorded on the dossier by their
//! own transitions (`transition::feedback`).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The national three-level satisfaction scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Rất hài lòng.
    VerySatisfied,
    /// Hài lòng.
    Satisfied,
    /// Không hài lòng.
    NotSatisfied,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::VerySatisfied, Level::Satisfied, Level::NotSatisfied];

    /// The stored and API spelling, e.g. `very_satisfied`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::VerySatisfied => "very_satisfied",
            Level::Satisfied => "satisfied",
            Level::NotSatisfied => "not_satisfied",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == text)
    }
}

/// The applicant's rating of the service, given once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    pub level: Level,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub at: Timestamp,
}

/// One piece of feedback from the applicant, and its answer once given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    /// 1 for the dossier's first, in the order sent; answers name it.
    pub number: u32,
    pub at: Timestamp,
    pub text: String,
    /// The department in charge when it was sent, whose leaders answer it (`None`: no
    /// department owned the dossier nor its receiving step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
}

/// A leader's answer to a piece of feedback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    pub at: Timestamp,
    pub text: String,
    /// The officer who answered (shown to staff, never on the citizen's page).
    pub officer: String,
}
