//! The JSON shapes the dossier routes answer with, built from the engine's types.

use motcua::deadline::Clocks;
use motcua::dossier::Dossier;
use motcua::dossier::transition::Availability;
use motcua::procedure::Procedure;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// National status labels (1–10), as the National Public Service Portal names them.
pub fn status_label(status: u8) -> &'static str {
    motcua::messages::labels::status(status)
}

/// One active step.
#[derive(Serialize, ToSchema)]
pub struct StateView {
    pub state: String,
    pub label: String,
    pub department: Option<String>,
    pub entered_at: String,
    /// The step's own budget ends here (none for unbudgeted and applicant steps).
    pub due_at: Option<String>,
    /// Waiting at a join for the other branches.
    pub waiting: bool,
    /// Waiting on the applicant (the clock is paused).
    pub applicant: bool,
    pub overdue_since: Option<String>,
}

pub fn states(p: &Procedure, d: &Dossier) -> Vec<StateView> {
    d.tokens
        .iter()
        .map(|t| {
            let s = p.state(&t.state);
            StateView {
                state: t.state.clone(),
                label: s.map(|s| s.label.clone()).unwrap_or_default(),
                department: t.department.clone(),
                entered_at: t.entered_at.to_string(),
                due_at: t.due_at.map(|x| x.to_string()),
                waiting: t.waiting,
                applicant: s.is_some_and(|s| s.kind == motcua::procedure::StateKind::Applicant),
                overdue_since: t.overdue_since.map(|x| x.to_string()),
            }
        })
        .collect()
}

/// An input an action takes, as the procedure declares it.
#[derive(Serialize, ToSchema)]
pub struct InputView {
    pub name: String,
    pub label: Option<String>,
    /// `text`, `number`, `boolean`, `date`, `duration` or `documents`.
    pub kind: String,
    pub required: bool,
}

/// An action the caller may take now (or why not).
#[derive(Serialize, ToSchema)]
pub struct ActionView {
    pub action: String,
    pub label: String,
    pub from: String,
    /// The target state.
    pub to: String,
    pub inputs: Vec<InputView>,
    pub comment_required: bool,
    /// Why it cannot be taken now (a guard refuses); absent when it can.
    pub refused: Option<String>,
    /// The applicant's action, which this officer may take for them (a supplement or a
    /// withdrawal handed in at the counter): send it with `on_behalf: true`.
    pub on_behalf: bool,
}

pub fn actions(p: &Procedure, available: Vec<Availability>) -> Vec<ActionView> {
    available
        .into_iter()
        .map(|a| {
            let declared = p.actions.iter().find(|x| x.id == a.action);
            let inputs = declared
                .map(|x| {
                    x.inputs
                        .iter()
                        .map(|i| InputView {
                            name: i.name.clone(),
                            label: i.label.clone(),
                            kind: serde_json::to_value(i.kind)
                                .ok()
                                .and_then(|v| v.as_str().map(String::from))
                                .unwrap_or_default(),
                            required: i.required,
                        })
                        .collect()
                })
                .unwrap_or_default();
            ActionView {
                action: a.action,
                label: a.label,
                from: a.from,
                to: a.to,
                inputs,
                comment_required: a.comment_required,
                refused: a
                    .refused
                    .as_ref()
                    .map(|u| motcua::messages::errors::unavailable(u, p)),
                on_behalf: a.on_behalf,
            }
        })
        .collect()
}

/// A dossier as a caller who may read it sees it.
#[derive(Serialize, ToSchema)]
pub struct DossierView {
    pub code: String,
    /// The code the citizen sees (the parent's, for a child of a linked group).
    pub public_code: String,
    pub procedure: String,
    pub procedure_version: String,
    pub procedure_hash: String,
    pub agency: String,
    #[schema(value_type = Object)]
    pub applicant: Value,
    /// `desk`, `online` or `post`.
    pub channel: String,
    #[schema(value_type = Object)]
    pub data: Value,
    pub documents: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    pub fees: Value,
    /// National status code (1–10) and its label.
    pub status: u8,
    pub status_label: String,
    pub states: Vec<StateView>,
    /// Also the ETag; send it back as If-Match to act.
    pub version: u64,
    /// The appointment (the statutory due instant, as moved by pauses and extensions).
    pub appointment: String,
    /// The statutory clock as stored: pauses, supplements, extensions, apologies, resolution.
    #[schema(value_type = Object)]
    pub clock: Value,
    /// Each clock now: due instant, share used, not_due / due_soon / overdue / paused; null when
    /// they cannot be computed (a calendar without the days needed).
    #[schema(value_type = Option<Object>, required = true)]
    pub clocks: Value,
    /// How it ended (outcome, classification), or null while it is open.
    #[schema(value_type = Option<Object>, required = true)]
    pub ending: Value,
    pub parent: Option<String>,
    pub children: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    #[schema(value_type = Object)]
    pub meta: Value,
    pub available_actions: Vec<ActionView>,
}

pub fn dossier(
    p: &Procedure,
    d: &Dossier,
    clocks: Option<&Clocks>,
    available: Vec<ActionView>,
) -> DossierView {
    DossierView {
        code: d.code.clone(),
        public_code: d.public_code().to_string(),
        procedure: d.procedure.clone(),
        procedure_version: d.procedure_version.clone(),
        procedure_hash: d.procedure_hash.clone(),
        agency: d.agency.clone(),
        applicant: v(&d.applicant),
        channel: motcua::report::channel_name(d.channel).to_string(),
        data: d.data.clone(),
        documents: d.documents.clone(),
        fees: v(&d.fees),
        status: d.status,
        status_label: status_label(d.status).to_string(),
        states: states(p, d),
        version: d.version,
        appointment: d.clock.due_at.to_string(),
        clock: v(&d.clock),
        clocks: clocks.map(v).unwrap_or(Value::Null),
        ending: v(&d.ending),
        parent: d.parent.clone(),
        children: d.children.clone(),
        created_at: d.created_at.to_string(),
        updated_at: d.updated_at.to_string(),
        meta: v(&d.meta),
        available_actions: available,
    }
}

/// A line of a listing.
#[derive(Serialize, ToSchema)]
pub struct DossierSummary {
    pub code: String,
    pub procedure: String,
    pub applicant_name: String,
    pub status: u8,
    pub states: Vec<StateView>,
    pub received_at: String,
    pub appointment: String,
    pub paused: bool,
    pub open: bool,
    pub version: u64,
}

pub fn summary(p: &Procedure, d: &Dossier) -> DossierSummary {
    DossierSummary {
        code: d.code.clone(),
        procedure: d.procedure.clone(),
        applicant_name: d.applicant.name.clone(),
        status: d.status,
        states: states(p, d),
        received_at: d.clock.received_at.to_string(),
        appointment: d.clock.due_at.to_string(),
        paused: d.clock.paused_since.is_some(),
        open: d.is_open(),
        version: d.version,
    }
}

/// The engine's own types, as JSON.
fn v<T: Serialize>(x: &T) -> Value {
    serde_json::to_value(x).unwrap_or(Value::Null)
}
