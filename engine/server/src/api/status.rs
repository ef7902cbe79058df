//! The citizen's status page: no sign-in, the code and the secret from the slip; no personal
//! data and no officer's name.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::views::status_label;
use super::{Shared, blocking, json};
use crate::body::Params;
use crate::problem::Problem;

/// The caller's address, as the accept loop recorded it.
pub struct Peer(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Peer, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatusParams {
    /// The secret printed on the appointment slip.
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct Step {
    pub label: String,
    pub since: String,
    /// The step waits on the citizen.
    pub awaiting_applicant: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Awaited {
    /// What the step asks of the citizen.
    pub label: String,
    /// The written request (the officer's note; guide once).
    pub request: Option<String>,
    /// The documents the request names, by input.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct CitizenStatus {
    pub code: String,
    pub procedure: String,
    pub status: u8,
    pub status_label: String,
    pub received_at: String,
    pub appointment: String,
    pub open: bool,
    /// `early`, `on_time` or `late`, once resolved.
    pub result: Option<String>,
    pub steps: Vec<Step>,
    pub awaited: Vec<Awaited>,
    /// Late: past the appointment with the clock running, or resolved after it.
    pub late: bool,
    /// The statutory clock is paused (waiting on the citizen, or a step outside the limit).
    pub paused: bool,
    /// The agency's apology for lateness, the newest, with the date it now promises.
    pub apology: Option<ApologyView>,
    /// Legal extensions granted, in order; the last one's date is the appointment.
    pub extensions: Vec<ExtensionView>,
    /// The agency's one-stop office, when the server knows it (`--offices`).
    pub office: Option<OfficeView>,
    /// The citizen may rate now: a result, a refusal or a stop, and no rating yet.
    pub may_rate: bool,
    pub rating: Option<RatingView>,
    /// The citizen may send more feedback (fewer than 20 sent).
    pub may_send_feedback: bool,
    pub feedback: Vec<FeedbackView>,
}

#[derive(Serialize, ToSchema)]
pub struct ApologyView {
    pub reason: String,
    /// The promised date and time of return.
    pub promised: String,
}

#[derive(Serialize, ToSchema)]
pub struct ExtensionView {
    pub reason: String,
    pub new_appointment: String,
}

#[derive(Serialize, ToSchema)]
pub struct OfficeView {
    pub name: String,
    pub address: String,
    pub hours: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RatingView {
    /// `very_satisfied`, `satisfied` or `not_satisfied`.
    pub level: String,
    /// The level in words (Rất hài lòng, Hài lòng, Không hài lòng).
    pub level_label: String,
    pub comment: Option<String>,
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct FeedbackView {
    pub number: u32,
    pub at: String,
    pub text: String,
    /// The leader's answer (never the officer's name).
    pub answer: Option<AnswerView>,
}

#[derive(Serialize, ToSchema)]
pub struct AnswerView {
    pub at: String,
    pub text: String,
}

#[utoipa::path(get, path = "/v1/status/{public_code}", operation_id = "citizen_status", tag = "citizens",
    params(("public_code" = String, Path, description = "The code on the slip"), StatusParams),
    responses((status = 200, body = CitizenStatus),
        (status = 404, description = "No dossier with this code and secret"),
        (status = 429, description = "Too many status requests from this address (see Retry-After)")))]
pub async fn status(
    State(s): State<Shared>,
    Peer(peer): Peer,
    Path(code): Path<String>,
    Params(q): Params<StatusParams>,
) -> Result<Response, Problem> {
    // Each address has its own bucket, so one guesser cannot lock citizens out; behind a
    // proxy every caller shares the proxy's.
    let who = peer.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    if let Err(wait) = s.public_limit.take(&who) {
        return Err(Problem::said(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many status requests; retry later",
        )
        .with(
            "retry_after_seconds",
            serde_json::json!(wait.ceil().max(1.0)),
        ));
    }
    // One answer for a wrong code and a wrong secret: nothing tells which dossiers exist.
    let unknown = || Problem::not_found(motcua::messages::requests::slip_not_found());
    if code.len() > 128 || !crate::status::check(&s.status_key, &code, &q.secret) {
        return Err(unknown());
    }
    let state = s.clone();
    let answer = blocking(move || citizen_view(&state, &code)).await?;
    match answer {
        Ok(Some(v)) => Ok(json(StatusCode::OK, &v)),
        Ok(None) => Err(unknown()),
        Err(e) => Err(e),
    }
}

/// The documents an officer's entry asked for: only its `documents` inputs, since other
/// inputs may hold notes or names the citizen's page must not show.
fn documents_asked(
    p: &motcua::procedure::Procedure,
    e: &motcua::audit::Entry,
) -> serde_json::Value {
    let Some(action) = p.actions.iter().find(|a| a.id == e.action) else {
        return serde_json::Value::Null;
    };
    let mut out = serde_json::Map::new();
    for input in &action.inputs {
        if input.kind == motcua::procedure::InputKind::Documents
            && let Some(v) = e.input.get(&input.name)
        {
            out.insert(input.name.clone(), v.clone());
        }
    }
    serde_json::Value::Object(out)
}

pub(crate) fn citizen_view(s: &super::State, code: &str) -> Result<Option<CitizenStatus>, Problem> {
    let d = match s.engine.dossier(code) {
        Ok(d) => d,
        Err(e) if e.code() == "not_found" => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let p = s.engine.pinned_procedure(&d).map_err(Problem::from)?;
    let proc_ = &p.procedure;
    let mut steps = vec![];
    let mut awaited = vec![];
    let history = s.engine.history(code).map_err(Problem::from)?;
    for t in &d.tokens {
        let Some(state) = proc_.state(&t.state) else {
            continue;
        };
        let applicant = state.kind == motcua::procedure::StateKind::Applicant;
        steps.push(Step {
            label: state.label.clone(),
            since: t.entered_at.to_string(),
            awaiting_applicant: applicant,
        });
        if applicant {
            // The officer's entry that asked: the last one moving into this state (the
            // clock's own pause entry follows it and says nothing to the citizen).
            let asked = history.iter().rev().find(|e| {
                !motcua::audit::SystemAction::is_system(&e.action)
                    && e.to.iter().any(|x| x == &t.state)
            });
            awaited.push(Awaited {
                label: state.label.clone(),
                request: asked.and_then(|e| e.comment.clone()),
                details: asked
                    .map(|e| documents_asked(proc_, e))
                    .unwrap_or(serde_json::Value::Null),
            });
        }
    }
    Ok(Some(CitizenStatus {
        code: d.public_code().to_string(),
        procedure: proc_.name.clone(),
        status: d.status,
        status_label: status_label(d.status).to_string(),
        received_at: d.clock.received_at.to_string(),
        appointment: d.clock.due_at.to_string(),
        open: d.is_open(),
        result: d.clock.resolved.as_ref().and_then(|r| {
            serde_json::to_value(r.class)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
        }),
        steps,
        awaited,
        late: late(&d, s.engine.clock().now()),
        paused: d.is_open() && d.clock.resolved.is_none() && d.clock.paused_since.is_some(),
        apology: d.clock.apologies.last().map(|a| ApologyView {
            reason: a.reason.clone(),
            promised: a.promised.to_string(),
        }),
        extensions: d
            .clock
            .extension_notices
            .iter()
            .map(|x| ExtensionView {
                reason: x.reason.clone(),
                new_appointment: x.new_appointment.to_string(),
            })
            .collect(),
        office: s.offices.of(&proc_.agency.id).map(|o| OfficeView {
            name: o.name.clone(),
            address: o.address.clone(),
            hours: o.hours.clone(),
            phone: o.phone.clone(),
            email: o.email.clone(),
        }),
        may_rate: d.rating.is_none() && motcua::dossier::transition::ratable(&d),
        rating: d.rating.as_ref().map(|r| RatingView {
            level: r.level.as_str().to_string(),
            level_label: motcua::messages::labels::satisfaction(r.level).to_string(),
            comment: r.comment.clone(),
            at: r.at.to_string(),
        }),
        may_send_feedback: d.feedback.len()
            < motcua::dossier::transition::feedback_limits::FEEDBACK,
        feedback: d
            .feedback
            .iter()
            .map(|f| FeedbackView {
                number: f.number,
                at: f.at.to_string(),
                text: f.text.clone(),
                answer: f.answer.as_ref().map(|a| AnswerView {
                    at: a.at.to_string(),
                    text: a.text.clone(),
                }),
            })
            .collect(),
    }))
}

/// Late as the citizen sees it: overdue now by the one overdue rule, or resolved (or ended)
/// after the appointment, or late by rule (an apology, supplements).
fn late(d: &motcua::dossier::Dossier, now: jiff::Timestamp) -> bool {
    use motcua::deadline::Class;
    let class = d
        .clock
        .resolved
        .as_ref()
        .map(|r| r.class)
        .or_else(|| d.ending.as_ref().and_then(|e| e.class));
    d.is_overdue_at(now) || class == Some(Class::Late) || !d.clock.apologies.is_empty()
}
