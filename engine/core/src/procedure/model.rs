//! The procedure model: what a department writes in a procedure YAML file.
//!
//! These types are the single source of truth for the file format: serde reads them, schemars
//! derives `schemas/procedure.schema.json` from them, and the checker and the engine use them.
//! Everything here is plain data; see `check` for what makes a procedure valid.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::papers::PaperPolicy;
use crate::calendar::Duration;

/// One administrative procedure (thủ tục hành chính), at one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "motcua procedure")]
pub struct Procedure {
    /// Stable identifier, lowercase words joined by '-', e.g. `dang-ky-khai-sinh`.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))]
    pub id: String,
    /// The version of this definition, e.g. `2025.1`. Dossiers stay pinned to the version
    /// (and content hash) they were received under.
    pub version: String,
    /// National procedure code from the national database of procedures, e.g. `1.001193`.
    pub code: String,
    /// Vietnamese name, as published.
    pub name: String,
    /// English name, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// The competent agency (cơ quan có thẩm quyền) that decides and whose electronic id
    /// prefixes dossier codes.
    pub agency: Agency,
    /// Legal documents this procedure rests on.
    #[serde(default)]
    pub legal_basis: Vec<String>,
    /// First day this version may receive dossiers (YYYY-MM-DD).
    #[schemars(with = "String", regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    pub effective_from: jiff::civil::Date,
    /// Last day this version may receive dossiers, if it is being retired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>", regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    pub effective_until: Option<jiff::civil::Date>,
    /// The statutory time limit for the whole dossier.
    pub limit: Limit,
    /// Who may act, by role.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// The units that own steps (one-stop desk, specialised offices, other agencies).
    #[serde(default)]
    pub departments: Vec<Department>,
    /// The document checklist (thành phần hồ sơ).
    #[serde(default)]
    pub documents: Vec<Document>,
    /// The papers the procedure issues (the permit, the certificate, the extract): kinds
    /// the officers of a step may attach beside the checklist's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<ResultKind>,
    /// The rules for the papers' files: the largest size, office documents.
    #[serde(default, skip_serializing_if = "PaperPolicy::is_default")]
    pub papers: PaperPolicy,
    /// Fees and charges.
    #[serde(default)]
    pub fees: Vec<Fee>,
    /// JSON Schema (draft 2020-12) of the dossier's form data.
    #[serde(default = "empty_object_schema")]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub form: serde_json::Value,
    /// WASM plugins this procedure uses, pinned by hash.
    #[serde(default)]
    pub plugins: Vec<PluginRef>,
    /// Plugin validators run on submission (on an action, see [`Action::validators`]).
    #[serde(default)]
    pub validators: Vec<PluginCall>,
    /// The states of the dossier's graph; exactly one has `start: true`.
    pub states: Vec<State>,
    /// The moves between states.
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Warnings and escalations on the statutory clock (the appointment), e.g. a warning to
    /// the desk's leader when 80% of the limit is used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalation: Vec<Escalation>,
    /// Roles that may take the applicant's actions (`by: applicant`: a supplement, a
    /// withdrawal) for an applicant who hands them in on paper at the counter. Absent: the
    /// receiving desk's roles (those of the actions leaving the start state). The audit
    /// entry names the officer and the applicant they acted for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf: Option<Vec<String>>,
    /// Roles that assign and reassign a step to a named officer of its department (heads of
    /// department). Absent: the extension approvers (`limit.extension_approvers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigners: Option<Vec<String>>,
}

fn empty_object_schema() -> serde_json::Value {
    serde_json::json!({"type": "object"})
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    /// Electronic id of the agency (mã định danh điện tử), e.g. `000.17.22.H56`.
    pub id: String,
    pub name: String,
}

/// The statutory limit (thời hạn giải quyết).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// The limit, e.g. `3 working days`, `15 days`, `4 working hours`.
    pub duration: Duration,
    /// A longer limit for disadvantaged areas (vùng có điều kiện kinh tế - xã hội đặc biệt khó
    /// khăn), e.g. `25 working days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disadvantaged: Option<Duration>,
    /// When the clock starts.
    #[serde(default)]
    pub counting: Counting,
    /// Marks a same-day procedure: the result is due at the close of office on the day of
    /// receipt, or of the next working day for dossiers received after this local time (HH:MM).
    /// `duration` (at most a working day) is then the envelope step budgets must fit in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>", regex(pattern = r"^\d{2}:\d{2}(:\d{2})?$"))]
    pub same_day_cutoff: Option<jiff::civil::Time>,
    /// The longest extension the agency may grant on written notice, e.g. `10 days`: the cap
    /// on all of a dossier's extensions together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<Duration>,
    /// Roles that may approve an extension (an action with `extends:`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension_approvers: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Counting {
    /// From receipt of a complete, valid dossier (the usual rule).
    #[default]
    FromCompleteReceipt,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Department {
    pub id: String,
    pub name: String,
    /// The agency this department belongs to when it is not the competent agency (liên thông).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
}

/// A paper the procedure issues, attached to the dossier by the officers who produce it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultKind {
    pub id: String,
    pub name: String,
    /// How long the result stays valid from the day it is attached (a construction permit
    /// lapses after 12 months unless work starts), recorded on the paper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_for: Option<super::papers::Validity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub id: String,
    pub name: String,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default = "one")]
    pub copies: u32,
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}

/// A fee: either a fixed amount in VND or computed by a plugin's `compute-fee`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    pub id: String,
    pub name: String,
    /// Fixed amount in VND.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<u64>,
    /// The fixed amount is per unit of this integer form field (e.g. copies asked for):
    /// charged `amount × data[per]`, itemised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    /// A plugin computes the amount from the dossier data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginCall>,
}

/// A WASM plugin pinned by the sha256 of its `.wasm` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginRef {
    pub id: String,
    /// Path of the `.wasm` component, relative to the procedure file.
    pub file: String,
    /// Hex sha256 of the file; a procedure version pins its plugin.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// Configuration passed to every call; checked against the plugin's config schema.
    #[serde(default = "empty_object")]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub config: serde_json::Value,
    /// CPU limit per call in milliseconds (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit_ms: Option<u64>,
    /// Memory cap per instance in MiB (default 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit_mib: Option<u64>,
}

fn empty_object() -> serde_json::Value {
    serde_json::json!({})
}

/// A use of a declared plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginCall {
    /// The id of an entry in `plugins`.
    pub plugin: String,
    /// Extra configuration merged over the plugin's own for this use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub config: Option<serde_json::Value>,
}

/// What a state is for; decides who moves the dossier on and whether the clock runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateKind {
    /// An officer acts (receive, appraise, sign).
    Task,
    /// Waiting on the applicant (supplement, payment): the clock pauses.
    Applicant,
    /// A plugin's `decide` picks the action.
    Automatic,
    /// Splits into parallel branches (liên thông); the dossier moves on at once.
    Fork,
    /// Waits until every branch of its fork has arrived, then acts like a task.
    Join,
    /// The dossier's life ends here with an outcome.
    Terminal,
}

/// How a dossier ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The result was issued (and returned).
    ResultIssued,
    /// The dossier was refused with reasons.
    Refused,
    /// The applicant withdrew it.
    Withdrawn,
    /// An officer stopped processing.
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub id: String,
    /// Vietnamese label shown to officers and on the process-control slip.
    pub label: String,
    pub kind: StateKind,
    /// The dossier starts here (exactly one state).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub start: bool,
    /// The department that owns the step (not needed for forks and terminals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The step budget, e.g. `10 working days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Duration>,
    /// The step is declared outside the agency's budget (e.g. a tax step, a 30-day public
    /// posting): its time does not count against the statutory limit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside_budget: bool,
    /// National status code (1–10) reported to the National Public Service Portal.
    #[schemars(range(min = 1, max = 10))]
    pub status: u8,
    /// For terminal states: how the dossier ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// For forks: the first state of each parallel branch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<String>,
    /// For joins: the fork whose branches meet here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork: Option<String>,
    /// For automatic states: the plugin whose `decide` picks the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginCall>,
    /// For automatic states: the action taken when the plugin fails (trap, limit, bad output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<String>,
    /// Linked procedures (liên thông) whose child dossiers start when this state is entered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub starts: Vec<ChildLink>,
    /// Warnings before the step's budget runs out and escalations after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalation: Vec<Escalation>,
}

/// A child dossier of another procedure, started from a parent (Decree 63/2024 linked groups).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChildLink {
    /// The child procedure's id.
    pub procedure: String,
    /// Child form fields taken from the parent's data: child field → parent field.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

/// A warning or escalation rule on a clock: a step's budget (under a state) or the statutory
/// limit (under the procedure). Exactly one threshold says when it fires: `used` (a share of
/// the budget, a warning), `before` (working time before the due instant, a warning) or
/// `after` (time after the due instant, an escalation; `0 working hours` = at the breach).
/// When it fires, the engine records it in the audit log as the system, sends an outbox event
/// naming who is to be told, and, for a state's rule with `take`, takes that action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// Warn when this share of the budget is used, e.g. `75%`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>", regex(pattern = r"^\d{1,3}(\.\d)?%$"))]
    pub used: Option<Share>,
    /// Warn this long before the due instant, e.g. `1 working day`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Duration>,
    /// Escalate this long after the due instant (`0 working hours` = at the due instant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Duration>,
    /// Roles to notify.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<String>,
    /// Department to notify (defaults to the state's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// For a state's rule: an action `by: system` out of that state, taken when the rule fires
    /// (tacit approval where the law provides it, a transfer to the supervisor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take: Option<String>,
    /// For a state's rule: the step goes back to its department's pool when the rule fires
    /// (taken from a named officer who has not acted), for its head to give to someone else.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unassign: bool,
}

/// When an [`Escalation`] fires, relative to its clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    /// A share of the budget used, in thousandths (750 = 75%).
    Used(u16),
    Before(Duration),
    After(Duration),
}

impl Escalation {
    /// The rule's threshold; `None` unless exactly one is given (the validator refuses that,
    /// E055).
    pub fn threshold(&self) -> Option<Threshold> {
        match (self.used, self.before, self.after) {
            (Some(s), None, None) => Some(Threshold::Used(s.permille())),
            (None, Some(b), None) => Some(Threshold::Before(b)),
            (None, None, Some(a)) => Some(Threshold::After(a)),
            _ => None,
        }
    }
    /// A warning comes before the due instant; an escalation at or after it.
    pub fn is_warning(&self) -> bool {
        !matches!(self.threshold(), Some(Threshold::After(_)) | None)
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Threshold::Used(p) if p.is_multiple_of(10) => write!(f, "{}% used", p / 10),
            Threshold::Used(p) => write!(f, "{}.{}% used", p / 10, p % 10),
            Threshold::Before(d) => write!(f, "{d} before due"),
            Threshold::After(d) => write!(f, "{d} after due"),
        }
    }
}

/// A share of a budget written as a percentage, e.g. `75%` or `87.5%`, kept in thousandths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share(u16);

impl Share {
    pub const SEVENTY_FIVE: Share = Share(750);

    /// The share in thousandths of the budget (750 = 75%).
    pub fn permille(self) -> u16 {
        self.0
    }
}

impl std::str::FromStr for Share {
    type Err = String;
    fn from_str(s: &str) -> Result<Share, String> {
        let bad =
            || format!("'{s}' is not a share of the budget like '75%' (above 0%, below 100%)");
        let n = s.trim().strip_suffix('%').ok_or_else(bad)?.trim();
        let (whole, tenth) = match n.split_once('.') {
            Some((w, t)) if t.len() == 1 => (w, t),
            Some(_) => return Err(bad()),
            None => (n, "0"),
        };
        if whole.is_empty() || whole.len() > 3 || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let tenth: u16 = tenth.parse().map_err(|_| bad())?;
        let permille = whole.parse::<u16>().map_err(|_| bad())? * 10 + tenth;
        if permille == 0 || permille >= 1000 {
            return Err(bad());
        }
        Ok(Share(permille))
    }
}

impl std::fmt::Display for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_multiple_of(10) {
            write!(f, "{}%", self.0 / 10)
        } else {
            write!(f, "{}.{}%", self.0 / 10, self.0 % 10)
        }
    }
}

impl Serialize for Share {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Share {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Share, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub id: String,
    pub label: String,
    /// The state the dossier (one of its branches) must be in.
    pub from: String,
    /// The state it moves to.
    pub to: String,
    /// Roles allowed to take the action (an officer holding one of them).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Who takes the action: `officer` (implied when `roles` are given), `applicant` (the
    /// dossier's own applicant, through a portal) or `system` (the engine itself: a plugin's
    /// decision out of an automatic state, a timer). Exactly one kind of taker per action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<By>,
    /// An optional CEL guard over `data`, `input`, `actor` and `dossier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<Guard>,
    /// Inputs the actor must (or may) provide.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Input>,
    /// Plugin validators run before the action is taken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validators: Vec<PluginCall>,
    /// A comment (reason) is required, e.g. for refusals and supplement requests.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub comment_required: bool,
    /// A legal extension (gia hạn): moves the appointment by at most this much (the input
    /// `extension` may ask for less). Needs a reason, an approver role from
    /// `limit.extension_approvers`, and must come before the appointment; all extensions of a
    /// dossier together stay within `limit.extension`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<Duration>,
    /// An apology for lateness (phiếu xin lỗi và hẹn lại ngày trả kết quả, form 04): a reason
    /// and a new promised date (the input `promised`, YYYY-MM-DD). The promise does not move
    /// the appointment: the dossier counts as late. The action stays in its state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub apology: bool,
    /// Checklist documents this action concerns: checked at receipt, requested in a supplement
    /// request, or issued as the result. Each is the id of an entry in `documents`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<String>,
    /// Papers that must be attached before this action is taken (e.g. the signed permit
    /// before it is returned): ids of `documents` or `results`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires_documents: Vec<String>,
}

/// Who takes an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum By {
    /// An officer holding one of the action's roles (in the step's department).
    Officer,
    /// The dossier's own applicant, authenticated by the portal.
    Applicant,
    /// The engine: plugin decisions in automatic states, timers. No request from outside.
    System,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Guard {
    /// A CEL expression that must be true, e.g. `data.dien_tich_san <= 500.0`.
    pub expr: String,
    /// Shown when the guard refuses the action.
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default)]
    pub kind: InputKind,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    #[default]
    Text,
    Number,
    Boolean,
    Date,
    /// A list of document ids from the checklist.
    Documents,
}

impl Action {
    /// Who takes the action: the declared `by`, else an officer when roles are given. `None`
    /// for an action nobody may take (the validator refuses it, E045).
    pub fn taker(&self) -> Option<By> {
        match self.by {
            Some(by) => Some(by),
            None if !self.roles.is_empty() => Some(By::Officer),
            None => None,
        }
    }
}

impl Procedure {
    pub fn state(&self, id: &str) -> Option<&State> {
        self.states.iter().find(|s| s.id == id)
    }
    pub fn action(&self, id: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.id == id)
    }
    pub fn start_state(&self) -> Option<&State> {
        self.states.iter().find(|s| s.start)
    }
    /// The roles that assign steps to named officers ([`Procedure::assigners`]).
    pub fn assigner_roles(&self) -> Vec<&str> {
        match &self.assigners {
            Some(roles) => roles.iter().map(String::as_str).collect(),
            None => self
                .limit
                .extension_approvers
                .iter()
                .map(String::as_str)
                .collect(),
        }
    }
    /// The roles that may take the applicant's actions for them ([`Procedure::on_behalf`]).
    /// The name of a kind of paper: a checklist document's or an issued result's.
    pub fn paper_kind(&self, id: &str) -> Option<&str> {
        self.documents
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.name.as_str())
            .or_else(|| {
                self.results
                    .iter()
                    .find(|r| r.id == id)
                    .map(|r| r.name.as_str())
            })
    }

    pub fn on_behalf_roles(&self) -> Vec<&str> {
        match &self.on_behalf {
            Some(roles) => roles.iter().map(String::as_str).collect(),
            None => {
                let start = self.start_state().map(|s| s.id.as_str());
                let mut roles: Vec<&str> = self
                    .actions
                    .iter()
                    .filter(|a| Some(a.from.as_str()) == start)
                    .flat_map(|a| a.roles.iter().map(String::as_str))
                    .collect();
                roles.sort_unstable();
                roles.dedup();
                roles
            }
        }
    }
    pub fn actions_from<'a>(&'a self, state: &'a str) -> impl Iterator<Item = &'a Action> + 'a {
        self.actions.iter().filter(move |a| a.from == state)
    }
    pub fn plugin(&self, id: &str) -> Option<&PluginRef> {
        self.plugins.iter().find(|p| p.id == id)
    }
}
