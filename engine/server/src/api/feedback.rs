//! The citizen heard over HTTP: a satisfaction rating and feedback sent with the slip's secret
//! (no sign-in, rate-limited like the status page, a wrong secret answered as an unknown
//! code), and a leader's answer with an officer's credential. The engine decides everything
//! else ([`motcua::dossier::transition::rate`], `feedback`, `answer_feedback`): once, bounded,
//! only that department's leaders.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use motcua::dossier::feedback::Level;
use motcua::dossier::transition::{AnswerRequest, FeedbackRequest, RateRequest};
use motcua::dossier::{Actor, Dossier};
use serde::Deserialize;
use utoipa::ToSchema;

use super::dossiers::{readable, view};
use super::status::{CitizenStatus, Peer, citizen_view};
use super::views::DossierView;
use super::{Caller, Shared, blocking, json};
use crate::access;
use crate::body::Json;
use crate::problem::Problem;

/// The national three-level scale.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LevelName {
    /// Rất hài lòng.
    VerySatisfied,
    /// Hài lòng.
    Satisfied,
    /// Không hài lòng.
    NotSatisfied,
}

impl From<LevelName> for Level {
    fn from(l: LevelName) -> Level {
        match l {
            LevelName::VerySatisfied => Level::VerySatisfied,
            LevelName::Satisfied => Level::Satisfied,
            LevelName::NotSatisfied => Level::NotSatisfied,
        }
    }
}

/// A rating, with the slip's secret.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"secret": "K7Q2-M9XD-4HPA", "level": "very_satisfied", "comment": "Cán bộ hướng dẫn tận tình"}))]
pub struct RatingBody {
    /// The secret printed on the appointment slip.
    pub secret: String,
    pub level: LevelName,
    /// At most 1000 characters.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Feedback (phản ánh, kiến nghị), with the slip's secret.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"secret": "K7Q2-M9XD-4HPA", "text": "Tôi chưa nhận được tin nhắn hẹn trả kết quả."}))]
pub struct FeedbackBody {
    pub secret: String,
    /// 1 to 2000 characters.
    pub text: String,
}

/// A leader's answer to feedback.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "Phòng đã liên hệ lại qua điện thoại; kết quả trả ngày 15/7."}))]
pub struct AnswerBody {
    /// 1 to 2000 characters.
    pub text: String,
}

/// The rate limit of the status page, then the secret: one answer for a wrong code and a
/// wrong secret, so nothing tells which dossiers exist.
pub(crate) fn admit(
    s: &super::State,
    peer: Option<std::net::IpAddr>,
    code: &str,
    secret: &str,
) -> Result<(), Problem> {
    let who = peer.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    if let Err(wait) = s.public_limit.take(&who) {
        return Err(Problem::too_many(wait));
    }
    if code.len() > 128 || !crate::status::check(&s.status_key, code, secret) {
        return Err(Problem::not_found(
            motcua::messages::requests::slip_not_found(),
        ));
    }
    Ok(())
}

/// The dossier's applicant as the engine knows them: the slip's secret stands for them.
pub(crate) fn applicant(d: &Dossier) -> Actor {
    Actor {
        id: d.applicant.id.clone(),
        roles: vec![crate::auth::APPLICANT.into()],
        departments: vec![],
    }
}

/// The feedback's number in a path: a problem like every refusal, not the router's plain text.
pub(crate) fn feedback_number(text: &str) -> Result<u32, Problem> {
    text.parse::<u32>().map_err(|e| {
        Problem::bad_request("invalid_request", format!("feedback number '{text}': {e}"))
    })
}

/// Rates the dossier `code` for its applicant; the status page's view after.
pub(crate) fn rate_blocking(
    s: &super::State,
    code: &str,
    level: Level,
    comment: Option<String>,
) -> Result<CitizenStatus, Problem> {
    let d = s.engine.dossier(code).map_err(Problem::from)?;
    let p = s.engine.pinned_procedure(&d).map_err(Problem::from)?;
    s.engine
        .rate(RateRequest {
            dossier: d.code.clone(),
            actor: applicant(&d),
            level,
            comment,
        })
        .map_err(|e| Problem::of(e, &p.procedure))?;
    s.committed();
    citizen_view(s, code)?
        .ok_or_else(|| Problem::not_found(motcua::messages::requests::slip_not_found()))
}

/// Sends feedback on dossier `code` for its applicant; the status page's view after.
pub(crate) fn send_blocking(
    s: &super::State,
    code: &str,
    text: String,
) -> Result<CitizenStatus, Problem> {
    let d = s.engine.dossier(code).map_err(Problem::from)?;
    let p = s.engine.pinned_procedure(&d).map_err(Problem::from)?;
    s.engine
        .send_feedback(FeedbackRequest {
            dossier: d.code.clone(),
            actor: applicant(&d),
            text,
        })
        .map_err(|e| Problem::of(e, &p.procedure))?;
    s.committed();
    citizen_view(s, code)?
        .ok_or_else(|| Problem::not_found(motcua::messages::requests::slip_not_found()))
}

/// Answers feedback `number` of dossier `code` as the caller; the dossier after.
pub(crate) fn answer_blocking(
    s: &super::State,
    caller: &Caller,
    code: &str,
    number: u32,
    text: String,
) -> Result<(Dossier, std::sync::Arc<motcua::catalog::Compiled>), Problem> {
    let (d, p) = readable(s, caller, code)?;
    if !caller.who.is_officer() {
        return Err(caller.forbid(
            s,
            format!(
                "{} is not an officer: leaders answer feedback",
                caller.who.subject
            ),
        ));
    }
    let actor = access::actor_for(&caller.who, &d).map_err(|reason| caller.forbid(s, reason))?;
    let after = s
        .engine
        .answer_feedback(AnswerRequest {
            dossier: d.code.clone(),
            actor,
            number,
            text,
        })
        .map_err(|e| Problem::of(e, &p.procedure))?;
    s.committed();
    Ok((after, p))
}

#[utoipa::path(post, path = "/v1/status/{public_code}/rating", operation_id = "rate_dossier", tag = "citizens",
    params(("public_code" = String, Path, description = "The code on the slip")),
    request_body = RatingBody,
    responses((status = 201, body = CitizenStatus),
        (status = 404, description = "No dossier with this code and secret"),
        (status = 409, description = "already_rated: a dossier is rated once"),
        (status = 422, description = "not_ratable: no result yet (nor refused or stopped); invalid_input: the comment is too long"),
        (status = 429, description = "Too many status requests from this address (see Retry-After)")))]
pub async fn rate(
    State(s): State<Shared>,
    Peer(peer): Peer,
    Path(code): Path<String>,
    Json(body): Json<RatingBody>,
) -> Result<Response, Problem> {
    admit(&s, peer, &code, &body.secret)?;
    let state = s.clone();
    let v =
        blocking(move || rate_blocking(&state, &code, body.level.into(), body.comment)).await??;
    Ok(json(StatusCode::CREATED, &v))
}

#[utoipa::path(post, path = "/v1/status/{public_code}/feedback", operation_id = "send_feedback", tag = "citizens",
    params(("public_code" = String, Path, description = "The code on the slip")),
    request_body = FeedbackBody,
    responses((status = 201, body = CitizenStatus),
        (status = 404, description = "No dossier with this code and secret"),
        (status = 422, description = "feedback_limit: the dossier holds 20 already; invalid_input: empty or over 2000 characters"),
        (status = 429, description = "Too many status requests from this address (see Retry-After)")))]
pub async fn send(
    State(s): State<Shared>,
    Peer(peer): Peer,
    Path(code): Path<String>,
    Json(body): Json<FeedbackBody>,
) -> Result<Response, Problem> {
    admit(&s, peer, &code, &body.secret)?;
    let state = s.clone();
    let v = blocking(move || send_blocking(&state, &code, body.text)).await??;
    Ok(json(StatusCode::CREATED, &v))
}

#[utoipa::path(post, path = "/v1/dossiers/{code}/feedback/{number}/answer", operation_id = "answer_feedback", tag = "dossiers",
    params(("code" = String, Path, description = "The dossier code"),
        ("number" = u32, Path, description = "The feedback's number, 1 for the dossier's first")),
    request_body = AnswerBody,
    responses((status = 200, body = DossierView),
        (status = 403, description = "Only a leader (an assigner role of the procedure) of the department the feedback was sent to"),
        (status = 404, description = "No such dossier, or no such feedback (unknown_feedback)"),
        (status = 409, description = "feedback_answered: answered already"),
        (status = 422, description = "invalid_input: empty or over 2000 characters")),
    security(("bearer" = [])))]
pub async fn answer(
    State(s): State<Shared>,
    caller: Caller,
    Path((code, number)): Path<(String, String)>,
    Json(body): Json<AnswerBody>,
) -> Result<Response, Problem> {
    let number = feedback_number(&number)?;
    let state = s.clone();
    let v = blocking(move || {
        let (d, p) = answer_blocking(&state, &caller, &code, number, body.text)?;
        Ok::<_, Problem>(view(&state, &caller, &d, &p))
    })
    .await??;
    Ok(json(StatusCode::OK, &v))
}
