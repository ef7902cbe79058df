//! Named officers over HTTP: claiming a step, assigning it to a named officer, giving it
//! back. The engine decides who may ([`motcua::dossier::transition::assign`]); the actor is
//! the credential's, as for every action.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use motcua::dossier::transition::AssignRequest;
use serde::Deserialize;
use utoipa::ToSchema;

use super::dossiers::{etag, if_match, readable, view};
use super::views::DossierView;
use super::{Caller, Shared, blocking, json};
use crate::access;
use crate::body::Json;
use crate::problem::Problem;

/// Who an active step goes to.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"state": "kiem-tra-quy-hoach", "assignee": "ha-tang-2", "comment": "Anh Nam xử lý hồ sơ này"}))]
pub struct AssignBody {
    /// The active step, by its state id.
    pub state: String,
    /// The officer's id (your own to claim it); `null` gives it back to the department.
    pub assignee: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[utoipa::path(post, path = "/v1/dossiers/{code}/assignments", operation_id = "assign_step", tag = "dossiers",
    params(("code" = String, Path, description = "The dossier code"),
        ("If-Match" = String, Header, description = "The version (ETag) the assignment was decided on",
            pattern = r#"^(W/)?"[0-9]{1,18}"$"#)),
    request_body = AssignBody,
    responses((status = 200, body = DossierView),
        (status = 403, description = "Claiming needs a role of the step in its department; assigning someone else needs an assigner role (the procedure's `assigners`, by default its extension approvers)"),
        (status = 404, description = "No such dossier"),
        (status = 409, description = "Stale version: current_version names the current one"),
        (status = 422, description = "No such active step, or already assigned to that officer"),
        (status = 428, description = "If-Match missing")),
    security(("bearer" = [])))]
pub async fn assign(
    State(s): State<Shared>,
    caller: Caller,
    Path(code): Path<String>,
    headers: HeaderMap,
    Json(body): Json<AssignBody>,
) -> Result<Response, Problem> {
    let seen = if_match(&headers)?;
    let state = s.clone();
    let v = blocking(move || assign_blocking(&state, &caller, &code, seen, body)).await??;
    let mut res = json(StatusCode::OK, &v);
    res.headers_mut().insert(header::ETAG, etag(v.version));
    Ok(res)
}

pub(crate) fn assign_blocking(
    s: &super::State,
    caller: &Caller,
    code: &str,
    seen: u64,
    body: AssignBody,
) -> Result<DossierView, Problem> {
    let (d, p) = readable(s, caller, code)?;
    let actor = access::actor_for(&caller.who, &d).map_err(|reason| caller.forbid(s, reason))?;
    if !caller.who.is_officer() {
        return Err(caller.forbid(
            s,
            format!(
                "{} is not an officer: only officers take steps",
                caller.who.subject
            ),
        ));
    }
    // With a tokens file the server knows its officers: a step goes only to one who works
    // in its department (a typo would otherwise hide it from the department's pool).
    if let Some(to) = body.assignee.as_deref().filter(|a| !a.trim().is_empty())
        && to != caller.who.subject
        && s.auth.has_tokens()
    {
        let department = p
            .procedure
            .state(&body.state)
            .and_then(|st| st.department.clone());
        let fits = s.auth.principal(to).is_some_and(|o| {
            o.is_officer()
                && department
                    .as_ref()
                    .is_none_or(|dep| o.departments.contains(dep))
        });
        if !fits {
            return Err(Problem::said(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                format!("'{to}' is not an officer of this step's department"),
            )
            .with("field", serde_json::Value::String("assignee".into())));
        }
    }
    let req = AssignRequest {
        dossier: d.code.clone(),
        state: body.state,
        assignee: body.assignee.filter(|a| !a.trim().is_empty()),
        actor,
        comment: body.comment.filter(|c| !c.trim().is_empty()),
        seen_version: seen,
    };
    let next = s
        .engine
        .assign(req)
        .map_err(|e| caller.engine_error(s, e, &p.procedure))?;
    s.committed();
    Ok(view(s, caller, &next, &p))
}
