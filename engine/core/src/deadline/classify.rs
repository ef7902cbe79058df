//! Early, on time or late: how a dossier (when it ends) and each of its steps (when it is left)
//! are counted in the national service index (Decision 766/QĐ-TTg), and the rules that vary.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Error, WorkingCalendar};
use crate::procedure::Share;

/// How a dossier or a step ended against its due instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Sớm hạn: ended on a working day before the due instant's.
    Early,
    /// Đúng hạn: ended no later than the due instant.
    OnTime,
    /// Trễ hạn.
    Late,
}

impl Class {
    /// Early and on time both count as resolved on time.
    pub fn is_on_time(self) -> bool {
        self != Class::Late
    }
}

/// Why a dossier counts as late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LateReason {
    /// It ended after its appointment (moved only by pauses and legal extensions).
    PastAppointment,
    /// It had more supplement requests than the rules allow (nationally: more than one).
    Supplements,
    /// An apology for lateness was issued: the new date is a promise, not a new limit.
    Apology,
}

/// What counts as early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Early {
    /// Ended on a local day before the due instant's working day (the default).
    #[default]
    BeforeDueDay,
    /// Nothing is early: a dossier is on time or late (for provinces that do not report it).
    Never,
}

/// The classification rules that vary by law or province. [`Rules::NATIONAL`] (the default)
/// follows the national service index; a deployment may override any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// What counts as early.
    pub early: Early,
    /// A dossier with more supplement requests than this counts as late (national: 1).
    pub supplements_allowed: u32,
    /// A dossier with an apology for lateness counts as late (national: true).
    pub apology_is_late: bool,
    /// A clock is `due_soon` once this share of its budget is used (default 75%).
    pub due_soon: Share,
}

impl Rules {
    pub const NATIONAL: Rules = Rules {
        early: Early::BeforeDueDay,
        supplements_allowed: 1,
        apology_is_late: true,
        due_soon: Share::SEVENTY_FIVE,
    };
}

impl Default for Rules {
    fn default() -> Self {
        Rules::NATIONAL
    }
}

/// How one step of a dossier ended: what the process-control slip (form 06) prints for each
/// handover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepTiming {
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    pub entered_at: Timestamp,
    pub ended_at: Timestamp,
    /// The step's budget as the procedure declares it, e.g. `7 working days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Timestamp>,
    /// `None` for steps without a budget (waiting on the applicant, outside the budget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<Class>,
}

/// The working day a due instant belongs to. A period in calendar days ends at 24:00 of its
/// last day, which is stored as 00:00 of the next: the millisecond before names the day.
fn due_day(cal: &dyn WorkingCalendar, due: Timestamp) -> jiff::civil::Date {
    let before = due
        .checked_sub(jiff::SignedDuration::from_millis(1))
        .unwrap_or(due);
    cal.local_date(before)
}

/// Early, on time or late for something that ended at `ended` and was due at `due`.
pub fn against(
    cal: &dyn WorkingCalendar,
    rules: &Rules,
    ended: Timestamp,
    due: Timestamp,
) -> Class {
    if ended > due {
        Class::Late
    } else if rules.early == Early::BeforeDueDay && cal.local_date(ended) < due_day(cal, due) {
        Class::Early
    } else {
        Class::OnTime
    }
}

/// A dossier's class when it ends at `ended` with its appointment at `appointment` (already
/// moved by pauses and legal extensions), after `supplements` supplement requests and
/// `apologies` apologies.
pub fn dossier(
    cal: &dyn WorkingCalendar,
    rules: &Rules,
    ended: Timestamp,
    appointment: Timestamp,
    supplements: u32,
    apologies: usize,
) -> (Class, Vec<LateReason>) {
    let mut reasons = vec![];
    let by_time = against(cal, rules, ended, appointment);
    if by_time == Class::Late {
        reasons.push(LateReason::PastAppointment);
    }
    if supplements > rules.supplements_allowed {
        reasons.push(LateReason::Supplements);
    }
    if rules.apology_is_late && apologies > 0 {
        reasons.push(LateReason::Apology);
    }
    if reasons.is_empty() {
        (by_time, reasons)
    } else {
        (Class::Late, reasons)
    }
}

/// How a step that was due at `due` ended at `ended`; `None` without a due instant.
pub fn step(
    cal: &dyn WorkingCalendar,
    rules: &Rules,
    ended: Timestamp,
    due: Option<Timestamp>,
) -> Option<Class> {
    due.map(|due| against(cal, rules, ended, due))
}

/// Reads rules from a YAML file's text (every field optional; unknown fields refused).
pub fn rules_from_yaml(text: &str) -> Result<Rules, Error> {
    serde_yaml::from_str(text).map_err(|e| Error(format!("classification rules: {e}")))
}
