//! Receiving dossiers, reading them, acting on them, listing them.
//!
//! Longer than 600 lines: the request and answer types keep their OpenAPI annotations and
//! examples beside the handlers that take and give them, so the document cannot drift.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use motcua::dossier::transition::{ActionRequest, Submission};
use motcua::dossier::{Applicant, Channel, Dossier};
use motcua::store::Query;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::views::{self, DossierSummary, DossierView};
use super::{Caller, Shared, blocking, json};
use crate::access::{self, PORTAL_META};
use crate::auth::{APPLICANT, AUDITOR, PORTAL};
use crate::body::{Json, Params};
use crate::problem::Problem;

/// A submission. The receiving officer or portal comes from the credential, never the body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "procedure": "cap-phep-xay-dung-nha-o",
    "applicant": {"id": "048090001234", "name": "Nguyễn Văn An"},
    "channel": "desk",
    "data": {
        "ho_ten_chu_dau_tu": "Nguyễn Văn An", "so_cccd": "048090001234",
        "dia_chi_cong_trinh": "K12/5 Hoàng Diệu, phường Hải Châu", "so_thua_dat": "102",
        "so_to_ban_do": "18", "quan_huyen": "hai-chau", "dien_tich_dat": 90.0,
        "dien_tich_san": 240.0, "so_tang": 3, "chieu_cao": 11.5
    },
    "documents": ["don-de-nghi", "giay-to-dat", "ban-ve-thiet-ke"],
    "meta": {"ma_ho_so_cong_dvc": "G22.99-261207-0001"}
}))]
pub struct SubmitBody {
    pub procedure: String,
    pub applicant: ApplicantBody,
    /// `desk` (default for officers), `online` (portals and applicants) or `post`.
    #[serde(default)]
    pub channel: Option<ChannelName>,
    /// The form data, checked against the procedure's JSON Schema.
    #[schema(value_type = Object)]
    pub data: Value,
    /// Ids of the documents received, from the procedure's checklist.
    #[serde(default)]
    pub documents: Vec<String>,
    /// The papers themselves, attached by the receipt's own commit: files uploaded ahead
    /// (`POST /v1/documents`) or held in the applicant's earlier dossiers. An item with a
    /// paper counts as received.
    #[serde(default)]
    #[schema(max_items = 256)]
    pub papers: Vec<super::papers_ahead::PaperRef>,
    /// The portal's own references (never interpreted).
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
    /// The receiving officer's note, recorded on the receipt's audit entry (why a dossier is
    /// received without a required document, for instance).
    #[serde(default)]
    #[schema(max_length = 16384)]
    pub comment: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantBody {
    /// The citizen's id (CCCD) or the enterprise's code.
    pub id: String,
    pub name: String,
    /// A phone number to reach them (staff search finds it).
    #[serde(default)]
    #[schema(max_length = 32, pattern = r"^[0-9 .+()-]*$")]
    pub phone: Option<String>,
    /// An e-mail address for notices.
    #[serde(default)]
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// The channels the applicant agrees to be told by (`email`, `sms`): receipt,
    /// supplement requests, extensions, apologies, the result. Each needs its address.
    #[serde(default)]
    #[schema(max_items = 2)]
    pub notify_by: Vec<super::contact::NoticeBy>,
    #[serde(default)]
    pub disadvantaged_area: bool,
}

/// An action on a dossier.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "action": "chuyen-kiem-tra",
    "input": {},
    "comment": "Hồ sơ đủ thành phần, chuyển kiểm tra"
}))]
pub struct ActionBody {
    pub action: String,
    /// The action's declared inputs.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub input: Value,
    #[serde(default)]
    pub comment: Option<String>,
    /// An officer takes the applicant's action for them (a supplement or a withdrawal
    /// handed in on paper at the counter): only roles the procedure's `on_behalf` names (by
    /// default the receiving desk's). The audit entry names the officer and the applicant.
    #[serde(default)]
    pub on_behalf: bool,
}

/// The appointment slip's data (form 01) and how the citizen follows the dossier.
#[derive(Serialize, ToSchema)]
pub struct Slip {
    pub code: String,
    pub procedure_name: String,
    pub applicant_name: String,
    pub received_at: String,
    pub appointment: String,
    pub documents: Vec<String>,
    pub fee_total: u64,
    /// Printed on the slip; with the code it opens the citizen's status page.
    pub status_secret: String,
    pub status_path: String,
}

#[derive(Serialize, ToSchema)]
pub struct Received {
    #[serde(flatten)]
    pub dossier: DossierView,
    pub slip: Slip,
    /// Child dossiers a linked group started.
    pub children_started: Vec<String>,
    /// True when the idempotency key had been seen: the first result, nothing new written.
    pub replayed: bool,
}

/// Where a dossier was handed in.
#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum ChannelName {
    Desk,
    Online,
    Post,
}

impl From<ChannelName> for Channel {
    fn from(c: ChannelName) -> Channel {
        match c {
            ChannelName::Desk => Channel::Desk,
            ChannelName::Online => Channel::Online,
            ChannelName::Post => Channel::Post,
        }
    }
}

pub(crate) fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// Reads `If-Match` as a version: the entity-tag `"3"` or `W/"3"` (RFC 9110), as the
/// document's pattern says.
pub(crate) fn if_match(headers: &HeaderMap) -> Result<u64, Problem> {
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Err(Problem::said(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
            "send If-Match with the version (ETag) you saw",
        ));
    };
    let text = raw.to_str().unwrap_or("").trim();
    let tag = text.strip_prefix("W/").unwrap_or(text);
    let digits = tag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|d| (1..=18).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("x");
    digits.parse().map_err(|_| {
        Problem::bad_request(
            "invalid_request",
            format!("If-Match '{text}' is not a dossier version"),
        )
    })
}

fn path_id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && !id.chars().any(|c| c.is_control())
}

/// Reads a dossier the caller may see, with its pinned procedure.
pub(crate) fn readable(
    s: &super::State,
    caller: &Caller,
    code: &str,
) -> Result<(Dossier, std::sync::Arc<motcua::catalog::Compiled>), Problem> {
    if !path_id_ok(code) {
        return Err(Problem::not_found(
            motcua::messages::requests::dossier_not_found(code),
        ));
    }
    let d = s.engine.dossier(code).map_err(Problem::from)?;
    let p = s.engine.pinned_procedure(&d).map_err(Problem::from)?;
    if !access::may_read(&caller.who, &d, &p.procedure) {
        return Err(caller.forbid(
            s,
            format!("{} may not see dossier {code}", caller.who.subject),
        ));
    }
    Ok((d, p))
}

pub(crate) fn view(
    s: &super::State,
    caller: &Caller,
    d: &Dossier,
    p: &motcua::catalog::Compiled,
) -> DossierView {
    let available = match access::actor_for(&caller.who, d) {
        Ok(actor) => s.engine.available_actions_of(d, &actor).unwrap_or_default(),
        Err(_) => vec![],
    };
    let clocks = s.engine.clocks(d).ok();
    views::dossier(
        &p.procedure,
        d,
        clocks.as_ref(),
        views::actions(&p.procedure, available),
    )
}

#[utoipa::path(post, path = "/v1/dossiers", operation_id = "submit_dossier", tag = "dossiers",
    request_body = SubmitBody,
    params(("Idempotency-Key" = String, Header, description = "Required; a retry with the same key and body returns the first result",
        min_length = 1, max_length = 120, pattern = r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$")),
    responses((status = 201, body = Received), (status = 400, description = "Malformed request or no Idempotency-Key"),
        (status = 403, description = "The credential may not receive this dossier"),
        (status = 404, description = "No such procedure"),
        (status = 422, description = "Invalid form data, unknown document, or the key reused with another body")),
    security(("bearer" = [])))]
pub async fn submit(
    State(s): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<SubmitBody>,
) -> Result<Response, Problem> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            Problem::bad_request(
                "idempotency_key_required",
                "send an Idempotency-Key header, so a retry cannot receive the dossier twice",
            )
        })?;
    // What the document's pattern says: visible ASCII and spaces, at most 120 bytes.
    if key.len() > 120 || !key.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(Problem::bad_request(
            "invalid_request",
            "the Idempotency-Key must be at most 120 characters of visible ASCII",
        ));
    }
    let key = key.to_string();
    let state = s.clone();
    let (caller, answer) = blocking(move || {
        let r = receive(&state, &caller, body, &key);
        (caller, r)
    })
    .await?;
    let _ = caller;
    let answer = answer?;
    let d = &answer.dossier;
    let mut res = json(StatusCode::CREATED, &answer);
    res.headers_mut().insert(header::ETAG, etag(d.version));
    if let Ok(loc) = HeaderValue::from_str(&format!("/v1/dossiers/{}", d.code)) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    if answer.replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// Receives a submission for `caller` (every access rule of the API), on the blocking pool.
pub(crate) fn receive(
    s: &super::State,
    caller: &Caller,
    body: SubmitBody,
    key: &str,
) -> Result<Received, Problem> {
    if let Some(reason) = access::submit_refusal(&caller.who) {
        return Err(caller.forbid(s, reason));
    }
    if caller.who.is_officer()
        && let Some(p) = s.engine.procedure(&body.procedure)
        && let Some(reason) = access::receive_refusal(&caller.who, &p.procedure)
    {
        return Err(caller.forbid(s, reason));
    }
    let who = &caller.who;
    if body.meta.keys().any(|k| k.starts_with("motcua.")) {
        return Err(Problem::bad_request(
            "invalid_request",
            "meta keys starting with 'motcua.' are the server's",
        ));
    }
    let mut meta = body.meta;
    let channel = if who.is_officer() {
        body.channel.map_or(Channel::Desk, Channel::from)
    } else {
        // Portals and applicants submit online, whatever the body says.
        if body.channel.is_some_and(|c| c != ChannelName::Online) {
            return Err(caller.forbid(s, format!("{} submits only online", who.subject)));
        }
        Channel::Online
    };
    if !who.is_officer()
        && who.has(APPLICANT)
        && !who.has(PORTAL)
        && body.applicant.id != who.subject
    {
        return Err(caller.forbid(s, format!("{} may submit only for themselves", who.subject)));
    }
    if !who.is_officer() && who.has(PORTAL) {
        meta.insert(PORTAL_META.to_string(), who.subject.clone());
    }
    let mut papers = Vec::with_capacity(body.papers.len());
    for (i, r) in body.papers.into_iter().enumerate() {
        // A file uploaded ahead is this caller's only with its ticket; a reused one is
        // checked by the engine against the earlier dossier's applicant.
        let uploaded = r.upload.as_deref().and_then(|t| {
            super::papers_ahead::ticket_name(&s.status_key, &who.subject, &r.sha256, t)
        });
        // A reused paper is this caller's to name only if they may read the dossier that
        // holds it (the engine checks it is the same applicant's).
        let readable_from = r.from.as_deref().is_some_and(|from| {
            s.engine.dossier(from).ok().is_some_and(|d| {
                s.engine
                    .pinned_procedure(&d)
                    .is_ok_and(|p| access::may_read(who, &d, &p.procedure))
            })
        });
        if (r.from.is_none() && uploaded.is_none()) || (r.from.is_some() && !readable_from) {
            return Err(Problem::of(
                motcua::Error::UnknownFile(r.sha256.clone()),
                &motcua::messages::errors::NoNames,
            )
            .with("field", Value::String(format!("papers[{i}].upload"))));
        }
        papers.push(motcua::dossier::paper::Brought {
            kind: r.kind,
            file: motcua::dossier::paper::File {
                sha256: r.sha256,
                size: 0,
                media_type: String::new(),
                name: r.name.or(uploaded).unwrap_or_default(),
                pages: None,
            },
            from: r.from,
        });
    }
    let sub = Submission {
        papers,
        procedure: body.procedure,
        applicant: Applicant {
            id: body.applicant.id,
            name: body.applicant.name,
            phone: body.applicant.phone.filter(|p| !p.trim().is_empty()),
            email: body
                .applicant
                .email
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty()),
            notify_by: super::contact::channels(body.applicant.notify_by),
            disadvantaged_area: body.applicant.disadvantaged_area,
        },
        channel,
        data: body.data,
        documents: body.documents,
        // Keys are scoped by credential, so two portals' keys never meet.
        // The subject's length first, so no subject and key pair reads as another's.
        idempotency_key: Some(format!("{}:{}:{key}", who.subject.len(), who.subject)),
        received_by: access::receiver(who),
        meta,
        comment: body.comment.filter(|c| !c.trim().is_empty()),
    };
    let named = s.engine.procedure(&sub.procedure);
    let receipt = s.engine.submit(sub).map_err(|e| match &named {
        Some(p) => caller.engine_error(s, e, &p.procedure),
        None => caller.engine_error(s, e, &motcua::messages::errors::NoNames),
    })?;
    if !receipt.replayed {
        s.committed();
    }
    let d = receipt.dossier;
    let p = s.engine.pinned_procedure(&d).map_err(Problem::from)?;
    if receipt.replayed && !access::may_read(who, &d, &p.procedure) {
        return Err(caller.forbid(s, format!("{} may not see dossier {}", who.subject, d.code)));
    }
    let secret = crate::status::secret(&s.status_key, d.public_code());
    let slip = Slip {
        code: d.code.clone(),
        procedure_name: p.procedure.name.clone(),
        applicant_name: d.applicant.name.clone(),
        received_at: d.clock.received_at.to_string(),
        appointment: d.clock.due_at.to_string(),
        documents: d.documents.clone(),
        fee_total: d.fees.iter().map(|f| f.amount).sum(),
        status_path: format!("/v1/status/{}?secret={secret}", d.public_code()),
        status_secret: secret,
    };
    Ok(Received {
        dossier: view(s, caller, &d, &p),
        slip,
        children_started: receipt.children.iter().map(|c| c.code.clone()).collect(),
        replayed: receipt.replayed,
    })
}

#[utoipa::path(get, path = "/v1/dossiers/{code}", operation_id = "get_dossier", tag = "dossiers",
    params(("code" = String, Path, description = "The dossier code")),
    responses((status = 200, body = DossierView, headers(("ETag" = String, description = "The version"))),
        (status = 403, description = "Not the caller's dossier"), (status = 404, description = "No such dossier")),
    security(("bearer" = [])))]
pub async fn get(
    State(s): State<Shared>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Response, Problem> {
    let state = s.clone();
    let (caller, answer) = blocking(move || {
        let r = readable(&state, &caller, &code).map(|(d, p)| view(&state, &caller, &d, &p));
        (caller, r)
    })
    .await?;
    let _ = caller;
    let v = answer?;
    let mut res = json(StatusCode::OK, &v);
    res.headers_mut().insert(header::ETAG, etag(v.version));
    Ok(res)
}

#[utoipa::path(post, path = "/v1/dossiers/{code}/actions", operation_id = "act_on_dossier", tag = "dossiers",
    params(("code" = String, Path, description = "The dossier code"),
        ("If-Match" = String, Header, description = "The version (ETag) the decision was made on",
            pattern = r#"^(W/)?"[0-9]{1,18}"$"#)),
    request_body = ActionBody,
    responses((status = 200, body = DossierView), (status = 403, description = "Role or department"),
        (status = 404, description = "No such dossier"),
        (status = 409, description = "Stale version: current_version names the current one"),
        (status = 422, description = "Invalid input or a guard refused"),
        (status = 428, description = "If-Match missing")),
    security(("bearer" = [])))]
pub async fn act(
    State(s): State<Shared>,
    caller: Caller,
    Path(code): Path<String>,
    headers: HeaderMap,
    Json(body): Json<ActionBody>,
) -> Result<Response, Problem> {
    let seen = if_match(&headers)?;
    let state = s.clone();
    let (caller, answer) = blocking(move || {
        let r = act_blocking(&state, &caller, &code, seen, body);
        (caller, r)
    })
    .await?;
    let _ = caller;
    let v = answer?;
    let mut res = json(StatusCode::OK, &v);
    res.headers_mut().insert(header::ETAG, etag(v.version));
    Ok(res)
}

pub(crate) fn act_blocking(
    s: &super::State,
    caller: &Caller,
    code: &str,
    seen: u64,
    body: ActionBody,
) -> Result<DossierView, Problem> {
    let (d, p) = readable(s, caller, code)?;
    let actor = access::actor_for(&caller.who, &d).map_err(|reason| caller.forbid(s, reason))?;
    let req = ActionRequest {
        dossier: d.code.clone(),
        action: body.action,
        actor,
        input: if body.input.is_null() {
            Value::Object(Default::default())
        } else {
            body.input
        },
        comment: body.comment,
        seen_version: seen,
        on_behalf: body.on_behalf,
    };
    let next = s
        .engine
        .act(req)
        .map_err(|e| caller.engine_error(s, e, &p.procedure))?;
    s.committed();
    Ok(view(s, caller, &next, &p))
}

#[derive(Deserialize, IntoParams, Default, Clone)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Open dossiers with an active step in this state (with `procedure` or `department`).
    pub state: Option<String>,
    pub department: Option<String>,
    pub procedure: Option<String>,
    /// The applicant's id.
    pub applicant: Option<String>,
    /// Only open dossiers past their appointment now.
    pub overdue: Option<bool>,
    /// Only open dossiers whose appointment is before this instant (RFC 3339).
    #[param(format = DateTime)]
    pub due_before: Option<String>,
    /// Staff search: a dossier code whole or in part, the applicant's id, phone or name
    /// (accents and case ignored; "tran van binh" finds "Trần Văn Bình").
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// National status code.
    #[param(minimum = 1, maximum = 10)]
    pub status: Option<u8>,
    /// Open dossiers with a step assigned to this officer (their id).
    pub assignee: Option<String>,
    pub channel: Option<ChannelName>,
    /// Received on or after this local day (YYYY-MM-DD, Asia/Ho_Chi_Minh).
    #[param(format = Date)]
    pub received_from: Option<String>,
    /// Received on or before this local day.
    #[param(format = Date)]
    pub received_to: Option<String>,
    /// Staff listing: `open` (default), `closed` (handled) or `all`.
    pub scope: Option<ScopeName>,
    /// Staff listing order: `due` (default; open dossiers only), `received` (latest first)
    /// or `code`.
    pub sort: Option<SortName>,
    /// The `next` of the previous page (sealed: good only for this caller and these filters).
    #[param(pattern = "^[A-Za-z0-9_-]{38,2731}$")]
    pub cursor: Option<String>,
    /// At most this many (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "dossiers": [{
        "code": "000.00.12.H17-261207-0001", "procedure": "cap-phep-xay-dung-nha-o",
        "applicant_name": "Nguyễn Văn An", "status": 2,
        "states": [{
            "state": "tiep-nhan", "label": "Tiếp nhận hồ sơ", "department": "mot-cua",
            "entered_at": "2026-12-07T02:00:00Z", "due_at": "2026-12-07T06:00:00Z",
            "waiting": false, "applicant": false, "overdue_since": null
        }],
        "received_at": "2026-12-07T02:00:00Z", "appointment": "2026-12-29T02:00:00Z",
        "paused": false, "open": true, "version": 1
    }],
    "next": "k3B1lq0P2m1dZ9Gv8xQn0wYx4oTq1Rj"
}))]
pub struct ListPage {
    pub dossiers: Vec<DossierSummary>,
    /// Pass as `cursor` for the next page; absent on the last. A staff listing with filters
    /// may give fewer than `limit` with a `next`: it examined its share and goes on from there.
    pub next: Option<String>,
    /// A search matched more than it sorts at once (1,000): narrow `q`.
    pub truncated: bool,
}

/// Which dossiers a staff listing covers.
#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum ScopeName {
    Open,
    Closed,
    All,
}

/// A staff listing's order.
#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum SortName {
    Due,
    Received,
    Code,
}

#[utoipa::path(get, path = "/v1/dossiers", operation_id = "list_dossiers", tag = "dossiers", params(ListParams),
    responses((status = 200, body = ListPage), (status = 400, description = "No selective filter, a bad one, or a cursor not given to this caller for this listing (bad_cursor)"),
        (status = 403, description = "A department not the caller's, or a listing the role may not make")),
    security(("bearer" = [])))]
pub async fn list(
    State(s): State<Shared>,
    caller: Caller,
    Params(q): Params<ListParams>,
) -> Result<Response, Problem> {
    let state = s.clone();
    let (caller, answer) = blocking(move || {
        let r = list_blocking(&state, &caller, q);
        (caller, r)
    })
    .await?;
    let _ = caller;
    Ok(json(StatusCode::OK, &answer?))
}

pub(crate) fn list_blocking(
    s: &super::State,
    caller: &Caller,
    q: ListParams,
) -> Result<ListPage, Problem> {
    let found = find(s, caller, q)?;
    Ok(ListPage {
        dossiers: found
            .dossiers
            .iter()
            .map(|(d, p)| views::summary(&p.procedure, d))
            .collect(),
        next: found.next,
        truncated: found.truncated,
    })
}

/// A page of dossiers the caller may read, with their pinned procedures.
pub(crate) struct Found {
    pub dossiers: Vec<(Dossier, std::sync::Arc<motcua::catalog::Compiled>)>,
    /// Sealed for the caller and these filters.
    pub next: Option<String>,
    pub truncated: bool,
}

/// Every rule of `GET /v1/dossiers`: which listings the caller may make, the store's query,
/// the sealed cursors, and each dossier held to [`access::may_read`].
pub(crate) fn find(s: &super::State, caller: &Caller, mut q: ListParams) -> Result<Found, Problem> {
    let who = &caller.who;
    let now = s.engine.clock().now();
    if !who.has(AUDITOR) && !who.is_officer() {
        // Applicants see their own; portals list by applicant and see what they received.
        if who.has(APPLICANT) && !who.has(PORTAL) {
            match &q.applicant {
                Some(a) if a != &who.subject => {
                    return Err(caller.forbid(
                        s,
                        format!("{} may list only their own dossiers", who.subject),
                    ));
                }
                _ => q.applicant = Some(who.subject.clone()),
            }
        } else if !who.has(PORTAL) {
            return Err(caller.forbid(s, format!("{} lists no dossiers", who.subject)));
        } else if q.applicant.is_none() {
            return Err(caller.forbid(
                s,
                format!("{} lists dossiers only by applicant", who.subject),
            ));
        }
    }
    if let Some(dep) = &q.department
        && !who.has(AUDITOR)
        && !who.departments.contains(dep)
    {
        return Err(caller.forbid(s, format!("{} is not in department {dep}", who.subject)));
    }
    let due_before = match &q.due_before {
        None => None,
        Some(t) => Some(t.parse::<jiff::Timestamp>().map_err(|e| {
            Problem::bad_request("invalid_request", format!("due_before '{t}': {e}"))
                .with("field", Value::String("due_before".into()))
        })?),
    };
    let overdue_at = match (q.overdue, due_before) {
        (Some(true), Some(t)) => Some(t.min(now)),
        (Some(true), None) => Some(now),
        (_, t) => t,
    };
    let staff = who.is_officer() || who.has(AUDITOR);
    let filtered = q.q.is_some()
        || q.status.is_some()
        || q.assignee.is_some()
        || q.channel.is_some()
        || q.received_from.is_some()
        || q.received_to.is_some()
        || q.scope.is_some()
        || q.sort.is_some();
    let selective = q.applicant.is_some()
        || q.department.is_some()
        || (q.procedure.is_some() && q.state.is_some())
        || overdue_at.is_some();
    let query = if filtered || (staff && !selective) {
        if !staff {
            return Err(caller.forbid(
                s,
                format!("{} may not search dossiers (staff only)", who.subject),
            ));
        }
        Query::Search(Box::new(search_of(s, caller, &q)?))
    } else if let Some(a) = &q.applicant {
        Query::Applicant {
            applicant: a.clone(),
        }
    } else if let Some(dep) = &q.department {
        Query::Department {
            department: dep.clone(),
            state: q.state.clone(),
        }
    } else if let (Some(p), Some(st)) = (&q.procedure, &q.state) {
        Query::State {
            procedure: p.clone(),
            state: st.clone(),
        }
    } else if let Some(t) = overdue_at {
        Query::Overdue { now: t }
    } else {
        return Err(Problem::bad_request(
            "invalid_request",
            "give applicant, department, procedure with state, overdue=true or due_before",
        ));
    };
    // A cursor is good only for the caller and the filters it was given for.
    let scope = format!(
        "v1/dossiers\n{}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        who.subject,
        q.applicant,
        q.department,
        q.procedure,
        q.state,
        q.overdue,
        q.due_before,
        q.q,
        q.status,
        q.assignee,
        q.channel,
        q.received_from,
        q.received_to,
        q.scope,
        q.sort
    );
    let cursor = match &q.cursor {
        Some(c) => Some(s.cursors.open(&scope, c)?),
        None => None,
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Problem::bad_request(
            "invalid_request",
            "limit must be 1 to 200",
        ));
    }
    let searching = matches!(query, Query::Search(_));
    let page = s
        .engine
        .list(&query, cursor.as_deref(), limit)
        .map_err(Problem::from)?;
    let mut out = Vec::with_capacity(page.dossiers.len());
    for d in &page.dossiers {
        let Ok(p) = s.engine.pinned_procedure(d) else {
            continue;
        };
        let keep = access::may_read(who, d, &p.procedure)
            && q.procedure.as_ref().is_none_or(|x| x == &d.procedure)
            && q.state
                .as_ref()
                .is_none_or(|st| d.tokens.iter().any(|t| &t.state == st))
            && q.applicant.as_ref().is_none_or(|a| &d.applicant.id == a)
            && (searching
                || q.department
                    .as_ref()
                    .is_none_or(|dep| d.tokens.iter().any(|t| t.department.as_ref() == Some(dep))))
            && overdue_at.is_none_or(|t| d.is_overdue_at(t));
        if keep {
            out.push((d.clone(), p));
        }
    }
    Ok(Found {
        dossiers: out,
        next: page.next.map(|n| s.cursors.seal(&scope, &n)),
        truncated: page.truncated,
    })
}

/// The store's search for a staff listing: the caller's filters, and only procedures whose
/// dossiers the caller may read (an officer: those with a step in one of their departments;
/// every result is held to [`access::may_read`] again on its pinned version).
fn search_of(
    s: &super::State,
    caller: &Caller,
    q: &ListParams,
) -> Result<motcua::store::Search, Problem> {
    use motcua::store::{Scope, Search, Sort};
    let who = &caller.who;
    if let Some(text) = &q.q
        && text.chars().count() > 200
    {
        return Err(
            Problem::bad_request("invalid_request", "q is longer than 200 characters")
                .with("field", Value::String("q".into())),
        );
    }
    if let Some(st) = q.status
        && !(1..=10).contains(&st)
    {
        return Err(
            Problem::bad_request("invalid_request", "status must be 1 to 10")
                .with("field", Value::String("status".into())),
        );
    }
    let scope = match q.scope.unwrap_or(ScopeName::Open) {
        ScopeName::Open => Scope::Open,
        ScopeName::Closed => Scope::Closed,
        ScopeName::All => Scope::All,
    };
    let sort = match q.sort {
        Some(SortName::Due) => Sort::Due,
        Some(SortName::Received) => Sort::Received,
        Some(SortName::Code) => Sort::Code,
        // Handled dossiers have no due time left: newest first.
        None if scope == Scope::Open => Sort::Due,
        None => Sort::Received,
    };
    if sort == Sort::Due && scope != Scope::Open && q.q.is_none() {
        return Err(Problem::bad_request(
            "invalid_request",
            "sort=due lists open dossiers; use sort=received or sort=code with this scope",
        )
        .with("field", Value::String("sort".into())));
    }
    let procedures = if who.has(AUDITOR) {
        None
    } else {
        let mut ids: Vec<String> = s
            .engine
            .procedures()
            .iter()
            .filter(|c| {
                c.procedure.states.iter().any(|st| {
                    st.department
                        .as_ref()
                        .is_some_and(|d| who.departments.contains(d))
                })
            })
            .map(|c| c.procedure.id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        Some(ids)
    };
    let received_from = match &q.received_from {
        Some(d) => Some(crate::body::local_day_start("received_from", d, false)?),
        None => None,
    };
    let received_before = match &q.received_to {
        Some(d) => Some(crate::body::local_day_start("received_to", d, true)?),
        None => None,
    };
    Ok(Search {
        text: q.q.clone(),
        procedure: q.procedure.clone(),
        procedures,
        status: q.status,
        department: q.department.clone(),
        assignee: q.assignee.clone(),
        channel: q.channel.map(Channel::from),
        received_from,
        received_before,
        scope,
        sort,
    })
}

#[utoipa::path(get, path = "/v1/dossiers/{code}/audit", operation_id = "dossier_audit", tag = "audit",
    params(("code" = String, Path, description = "The dossier code")),
    responses((status = 200, description = "The dossier's audit entries, in order", body = [Object]),
        (status = 403, description = "The caller may not read this dossier"), (status = 404, description = "No such dossier")),
    security(("bearer" = [])))]
pub async fn audit(
    State(s): State<Shared>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Response, Problem> {
    read_after_check(s, caller, code, |state, code| {
        state.engine.history(code).map_err(Problem::from)
    })
    .await
}

/// Checks the caller may read dossier `code`, then answers what `read` makes of it.
async fn read_after_check<T: Serialize + Send + 'static>(
    s: Shared,
    caller: Caller,
    code: String,
    read: impl FnOnce(&super::State, &str) -> Result<T, Problem> + Send + 'static,
) -> Result<Response, Problem> {
    let answer = blocking(move || {
        readable(&s, &caller, &code)?;
        read(&s, &code)
    })
    .await??;
    Ok(json(StatusCode::OK, &answer))
}

#[utoipa::path(get, path = "/v1/dossiers/{code}/slip", operation_id = "dossier_slip", tag = "audit",
    params(("code" = String, Path, description = "The dossier code")),
    responses((status = 200, description = "The process-control slip (form 06)", body = Object),
        (status = 403, description = "The caller may not read this dossier"), (status = 404, description = "No such dossier")),
    security(("bearer" = [])))]
pub async fn slip(
    State(s): State<Shared>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Response, Problem> {
    read_after_check(s, caller, code, |state, code| {
        motcua::audit::slip::for_dossier(state.engine.store(), code)
            .map_err(|e| Problem::internal(e.to_string()))
    })
    .await
}

/// Unused routes answer problem documents too: a page for a browser's address, a problem
/// document under the API's.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    let p = Problem::not_found(motcua::messages::requests::no_route());
    if uri.path().starts_with("/v1/") || uri.path().starts_with("/openapi") {
        p.into_response()
    } else {
        crate::web::error_page(&p)
    }
}
