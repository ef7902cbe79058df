//! The catalogue: what a portal needs to build its forms, and uploads of new versions.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use motcua::catalog::Compiled;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::{Caller, Shared, blocking, json};
use crate::auth::ADMIN;
use crate::body::{MAX_BODY, Params};
use crate::problem::Problem;

/// A procedure version in the catalogue.
#[derive(Serialize, ToSchema)]
pub struct Summary {
    pub id: String,
    pub code: String,
    pub name: String,
    pub agency: String,
    pub version: String,
    /// sha256 of the version's source: what dossiers are pinned to.
    pub hash: String,
    pub effective_from: String,
    pub effective_until: Option<String>,
}

pub(crate) fn summary(c: &Compiled) -> Summary {
    let p = &c.procedure;
    Summary {
        id: p.id.clone(),
        code: p.code.clone(),
        name: p.name.clone(),
        agency: p.agency.id.clone(),
        version: p.version.clone(),
        hash: c.hash.clone(),
        effective_from: p.effective_from.to_string(),
        effective_until: p.effective_until.map(|d| d.to_string()),
    }
}

/// A procedure: the version in force with everything a form needs, and all its versions.
#[derive(Serialize, ToSchema)]
pub struct Detail {
    #[serde(flatten)]
    pub summary: Summary,
    pub versions: Vec<Summary>,
    /// The statutory limit and extension rules.
    #[schema(value_type = Object)]
    pub limit: Value,
    #[schema(value_type = Vec<Object>)]
    pub roles: Value,
    #[schema(value_type = Vec<Object>)]
    pub departments: Value,
    /// The document checklist.
    #[schema(value_type = Vec<Object>)]
    pub documents: Value,
    #[schema(value_type = Vec<Object>)]
    pub fees: Value,
    /// The JSON Schema of the form data.
    #[schema(value_type = Object)]
    pub form_schema: Value,
    #[schema(value_type = Vec<Object>)]
    pub states: Value,
    /// Every action: id, label, from, to, who takes it, inputs, whether a comment is required.
    #[schema(value_type = Vec<Object>)]
    pub actions: Value,
}

#[utoipa::path(get, path = "/v1/procedures", operation_id = "list_procedures", tag = "procedures",
    responses((status = 200, description = "The version in force of each procedure", body = [Summary])),
    security(("bearer" = [])))]
pub async fn list(State(s): State<Shared>, _caller: Caller) -> Response {
    let mut all: Vec<Summary> = s.engine.procedures().iter().map(|c| summary(c)).collect();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    json(StatusCode::OK, &all)
}

/// The version of `id` in force now.
fn in_force(s: &super::State, id: &str) -> Result<Arc<Compiled>, Problem> {
    s.engine.procedure(id).ok_or_else(|| {
        Problem::said(
            StatusCode::NOT_FOUND,
            "unknown_procedure",
            format!("no procedure '{id}'"),
        )
    })
}

fn field(p: &Value, name: &str) -> Value {
    p.get(name).cloned().unwrap_or(Value::Array(vec![]))
}

#[utoipa::path(get, path = "/v1/procedures/{id}", operation_id = "get_procedure", tag = "procedures",
    params(("id" = String, Path, description = "The procedure's id")),
    responses((status = 200, body = Detail), (status = 404, description = "No such procedure")),
    security(("bearer" = [])))]
pub async fn get(
    State(s): State<Shared>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let c = in_force(&s, &id)?;
    let p = serde_json::to_value(&c.procedure)
        .map_err(|e| Problem::internal(format!("writing the procedure: {e}")))?;
    let detail = Detail {
        summary: summary(&c),
        versions: s
            .engine
            .procedure_versions(&id)
            .iter()
            .map(|v| summary(v))
            .collect(),
        limit: p.get("limit").cloned().unwrap_or(Value::Null),
        roles: field(&p, "roles"),
        departments: field(&p, "departments"),
        documents: field(&p, "documents"),
        fees: field(&p, "fees"),
        form_schema: p.get("form").cloned().unwrap_or(json!({})),
        states: field(&p, "states"),
        actions: field(&p, "actions"),
    };
    Ok(json(StatusCode::OK, &detail))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GraphParams {
    /// `mermaid` (default) or `dot`.
    pub format: Option<GraphFormat>,
}

/// The notations a procedure's diagram is drawn in.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

#[utoipa::path(get, path = "/v1/procedures/{id}/graph", operation_id = "procedure_graph", tag = "procedures",
    params(("id" = String, Path, description = "The procedure's id"), GraphParams),
    responses((status = 200, description = "The diagram as text", content_type = "text/plain"),
        (status = 404, description = "No such procedure")),
    security(("bearer" = [])))]
pub async fn graph(
    State(s): State<Shared>,
    _caller: Caller,
    Path(id): Path<String>,
    Params(q): Params<GraphParams>,
) -> Result<Response, Problem> {
    let c = in_force(&s, &id)?;
    let text = match q.format.unwrap_or(GraphFormat::Mermaid) {
        GraphFormat::Mermaid => motcua::procedure::render::mermaid(&c.procedure),
        GraphFormat::Dot => motcua::procedure::render::dot(&c.procedure),
    };
    let mut res = text.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(res)
}

#[utoipa::path(put, path = "/v1/procedures/{id}", operation_id = "put_procedure", tag = "procedures",
    params(("id" = String, Path, description = "The procedure's id, as in the file", pattern = r"^[A-Za-z0-9._-]{1,128}$")),
    request_body(content = String, content_type = "application/yaml", description = "The procedure file"),
    responses((status = 201, description = "Stored as a new version, effective from its effective_from", body = Summary),
        (status = 422, description = "Refused with every diagnostic: errors [{code, severity, line, col, message, hint, detail}]; message and hint are English, detail is the problem in Vietnamese"),
        (status = 403, description = "Not an admin")),
    security(("bearer" = [])))]
pub async fn put(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require(&s, &[ADMIN], "uploading a procedure")?;
    let yaml = crate::body::media_type(&headers).is_some_and(|v| {
        matches!(
            v.as_str(),
            "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" | "text/plain"
        )
    });
    if !yaml {
        return Err(Problem::said(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the procedure file as application/yaml",
        ));
    }
    if body.len() > MAX_BODY {
        return Err(Problem::said(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the procedure file is over {MAX_BODY} bytes"),
        ));
    }
    let source = String::from_utf8(body.to_vec())
        .map_err(|_| Problem::bad_request("invalid_request", "the procedure file is not UTF-8"))?;
    let id_ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !id_ok {
        return Err(Problem::bad_request(
            "invalid_request",
            "the procedure id in the path is not a valid id",
        ));
    }
    let origin = s
        .procedures_dir
        .join(format!("{id}.yaml"))
        .display()
        .to_string();
    let engine = s.engine.clone();
    let expected = id.clone();
    let loaded = blocking(move || load_uploaded(&engine, &origin, &expected, source)).await??;
    Ok(json(StatusCode::CREATED, &summary(&loaded)))
}

/// Checks an uploaded file through the engine's one validation pipeline and keeps it.
pub(crate) fn load_uploaded(
    engine: &motcua::Engine,
    origin: &str,
    id: &str,
    source: String,
) -> Result<Arc<Compiled>, Problem> {
    // The id must be the file's own before anything is loaded.
    let parsed = motcua::procedure::load_and_check_str(&source, origin);
    if let Some(p) = &parsed.procedure
        && p.id != id
    {
        return Err(Problem::said(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_procedure",
            format!("the file is procedure '{}', not '{id}'", p.id),
        ));
    }
    engine.upload_procedure(id, source).map_err(Problem::from)
}
