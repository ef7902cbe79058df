//! Tiếp nhận: the desk picks a procedure, fills the form its JSON Schema generates, ticks the
//! documents handed in, and receives the dossier through the API's own `receive` (the same
//! rules, the same idempotency); then prints the appointment slip.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::Value;

use crate::api::contact::NoticeBy;
use motcua::dossier::NoticeChannel;
use motcua::dossier::form::FieldError;
use motcua::messages::fields as messages;

use super::desk_papers::{self, KeptFile, Offer};
use super::fields::{self, Field};
use super::{Html, Nav, Refused, Screen, Viewer, page, page_with, see_other};
use crate::access;
use crate::api::dossiers::{ApplicantBody, ChannelName, SubmitBody, receive};
use crate::api::{Shared, blocking};
use crate::problem::Problem;

pub fn routes() -> Router<Shared> {
    Router::new().route("/tiep-nhan", get(choose)).route(
        "/tiep-nhan/{id}",
        get(form)
            .post(submit)
            .layer(axum::extract::DefaultBodyLimit::max(desk_papers::DESK_BODY)),
    )
}

struct Choice {
    id: String,
    code: String,
    name: String,
    version: String,
    limit: String,
}

#[derive(Template)]
#[template(path = "desk_choose.html")]
struct Choose {
    nav: Nav,
    procedures: Vec<Choice>,
}

/// The procedures this officer may receive (in force now).
fn receivable(s: &crate::api::State, v: &Viewer) -> Vec<Arc<motcua::catalog::Compiled>> {
    s.engine
        .procedures()
        .into_iter()
        .filter(|c| access::receive_refusal(v.who(), &c.procedure).is_none())
        .collect()
}

async fn choose(State(s): State<Shared>, v: Viewer) -> Screen {
    if let Some(reason) = desk_refusal(&v) {
        return Err(v.caller.forbid(&s, reason).into());
    }
    let procedures = receivable(&s, &v)
        .iter()
        .map(|c| Choice {
            id: c.procedure.id.clone(),
            code: c.procedure.code.clone(),
            name: c.procedure.name.clone(),
            version: c.procedure.version.clone(),
            limit: super::fmt::duration(c.procedure.limit.duration),
        })
        .collect();
    Ok(Html(page(&Choose {
        nav: v.nav("/tiep-nhan"),
        procedures,
    })))
}

fn desk_refusal(v: &Viewer) -> Option<String> {
    (!v.who().is_officer()).then(|| format!("{} is not a desk officer", v.who().subject))
}

struct Doc {
    id: String,
    name: String,
    copies: u32,
    required: bool,
    ticked: bool,
    /// The scans kept for it so far (carried through the confirmation).
    kept: Vec<KeptFile>,
    /// The applicant's papers of this kind in earlier dossiers.
    offers: Vec<Offer>,
}

#[derive(Template)]
#[template(path = "desk_form.html")]
struct DeskForm {
    nav: Nav,
    procedure_id: String,
    procedure_name: String,
    procedure_code: String,
    fields: Vec<Field>,
    documents: Vec<Doc>,
    applicant_id: String,
    applicant_name: String,
    applicant_phone: String,
    applicant_email: String,
    /// The applicant agrees to notices by e-mail, by text message.
    notify_email: bool,
    notify_sms: bool,
    disadvantaged: bool,
    channel: String,
    /// A fresh idempotency key per form shown: posting it twice receives one dossier.
    form_key: String,
    /// What is wrong with the request as a whole (the applicant, the channel, the receipt).
    errors: Vec<String>,
    /// The fields' errors: a summary linking to them; each also shown under its field.
    invalid: fields::Invalid,
    /// The second step: what will be received, checked before anything is written.
    confirm: Option<Confirm>,
}

/// What the desk is about to receive, shown for a last look.
struct Confirm {
    /// (label, value) of the applicant and every field filled.
    lines: Vec<(String, String)>,
    received: Vec<String>,
    /// Required documents not ticked: receiving anyway needs a reason, recorded.
    missing: Vec<String>,
    reason: String,
    /// A digest of exactly what is confirmed: a change after the confirmation shows it again.
    digest: String,
}

/// A blank form: nothing typed, nothing ticked. (`--dev` fills the store with sample
/// dossiers received by the server; it never types into the desk's form.)
fn form_of(
    s: &crate::api::State,
    c: &motcua::catalog::Compiled,
    v: &Viewer,
) -> Result<DeskForm, Problem> {
    let p = &c.procedure;
    let today = s.engine.calendar().local_date(s.engine.clock().now());
    let mut form_fields = fields::from_schema(&p.form, None, today);
    fields::in_source_order(&mut form_fields, &c.source, "/form/properties");
    // A field that takes the applicant's identity when left empty is not required here.
    for f in form_fields.iter_mut().filter(|f| f.same_as.is_some()) {
        f.required = false;
    }
    let mut key = [0u8; 16];
    getrandom::fill(&mut key).map_err(|e| Problem::internal(e.to_string()))?;
    Ok(DeskForm {
        nav: v.nav("/tiep-nhan"),
        procedure_id: p.id.clone(),
        procedure_name: p.name.clone(),
        procedure_code: p.code.clone(),
        fields: form_fields,
        documents: p
            .documents
            .iter()
            .map(|d| Doc {
                id: d.id.clone(),
                name: d.name.clone(),
                copies: d.copies,
                required: d.required,
                ticked: false,
                kept: vec![],
                offers: vec![],
            })
            .collect(),
        applicant_id: String::new(),
        applicant_name: String::new(),
        applicant_phone: String::new(),
        applicant_email: String::new(),
        notify_email: false,
        notify_sms: false,
        disadvantaged: false,
        channel: "desk".into(),
        form_key: hex::encode(key),
        errors: vec![],
        invalid: fields::Invalid::default(),
        confirm: None,
    })
}

fn procedure_for(
    s: &crate::api::State,
    v: &Viewer,
    id: &str,
) -> Result<Arc<motcua::catalog::Compiled>, Problem> {
    if let Some(reason) = desk_refusal(v) {
        return Err(v.caller.forbid(s, reason));
    }
    let c = s
        .engine
        .procedure(id)
        .ok_or_else(|| Problem::not_found(motcua::messages::requests::procedure_not_found(id)))?;
    if let Some(reason) = access::receive_refusal(v.who(), &c.procedure) {
        return Err(v.caller.forbid(s, reason));
    }
    Ok(c)
}

async fn form(State(s): State<Shared>, v: Viewer, Path(id): Path<String>) -> Screen {
    let c = procedure_for(&s, &v, &id)?;
    Ok(Html(page(&form_of(&s, &c, &v)?)))
}

/// The field errors a problem carries (`invalid_form`, `validation_failed`), as the engine
/// gave them.
pub fn field_errors(p: &Problem) -> Vec<FieldError> {
    match p.extra.get("errors") {
        Some(Value::Array(errors)) => errors
            .iter()
            .filter(|e| e.get("field").is_some())
            .filter_map(|e| serde_json::from_value(e.clone()).ok())
            .collect(),
        _ => vec![],
    }
}

/// The problem as lines a person reads: its detail, then each field error in the catalogue's
/// words (a plugin's own message once; fields named as the schema titles them, when given).
pub fn error_lines(p: &Problem) -> Vec<String> {
    let mut lines = vec![p.detail.clone()];
    let fields = field_errors(p);
    if fields.is_empty()
        && let Some(Value::Array(errors)) = p.extra.get("errors")
    {
        lines.extend(
            errors
                .iter()
                .filter_map(|e| e.get("message").and_then(Value::as_str))
                .map(String::from),
        );
    }
    lines.extend(fields.iter().map(|e| messages::sentence(&Value::Null, e)));
    lines
}

/// Words `errors` with the procedure's form schema and puts each under its field.
fn place_errors(shown: &mut DeskForm, schema: &Value, errors: &[FieldError]) {
    let said = messages::sentences(schema, errors);
    shown.invalid = fields::place(&mut shown.fields, said, "f.");
}

async fn submit(
    State(s): State<Shared>,
    v: Viewer,
    Path(id): Path<String>,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> Screen {
    use axum::extract::FromRequest;
    let c = procedure_for(&s, &v, &id)?;
    // With scans the form comes as multipart, streamed; without, as a plain form.
    let read = if crate::body::media_type(&headers).as_deref() == Some("multipart/form-data") {
        let form = axum::extract::Multipart::from_request(req, &s)
            .await
            .map_err(|e| Problem::bad_request("invalid_request", e.body_text()))?;
        let limit = c.procedure.papers.limit_bytes();
        desk_papers::read_checked(&s, &v, &headers, form, limit).await?
    } else {
        let body = Bytes::from_request(req, &s)
            .await
            .map_err(|e| Problem::bad_request("invalid_request", e.body_text()))?;
        desk_papers::Read {
            posted: v.posted(&s, &headers, &body)?,
            kept: vec![],
            errors: vec![],
        }
    };
    let posted = read.posted;
    let mut shown = form_of(&s, &c, &v)?;
    // What was typed stays on the form when it comes back with errors.
    for f in &mut shown.fields {
        f.value = posted
            .get(&format!("f.{}", f.name))
            .unwrap_or("")
            .to_string();
    }
    let mut ticked = posted.all("doc");
    let mut kept = read.kept;
    for d in &mut shown.documents {
        d.kept = kept.extract_if(.., |k| k.kind == d.id).collect();
    }
    // A scan for an item the procedure does not list is dropped (a forged field).
    kept.clear();
    let text = |name: &str| posted.get(name).unwrap_or("").trim().to_string();
    shown.applicant_id = text("applicant_id");
    shown.applicant_name = text("applicant_name");
    shown.applicant_phone = text("applicant_phone");
    shown.applicant_email = text("applicant_email");
    shown.notify_email = posted.get("notify_email").is_some();
    shown.notify_sms = posted.get("notify_sms").is_some();
    shown.disadvantaged = posted.get("disadvantaged").is_some();
    shown.channel = posted.get("channel").unwrap_or("desk").to_string();
    shown.form_key = posted.get("form_key").unwrap_or("").to_string();
    let doc_ids: Vec<String> = shown.documents.iter().map(|d| d.id.clone()).collect();
    let chosen: Vec<(String, String)> = posted
        .0
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("dung.")?.to_string(), v.clone())))
        .collect();
    let mut offers = desk_papers::offers(&s, &v, &shown.applicant_id, &doc_ids, &chosen).await?;
    for d in &mut shown.documents {
        d.offers = offers.extract_if(.., |o| o.kind == d.id).collect();
        // An item with a paper is received, ticked or not.
        if !d.kept.is_empty() || d.offers.iter().any(|o| o.chosen) {
            d.ticked = true;
            if !ticked.contains(&d.id) {
                ticked.push(d.id.clone());
            }
        }
        d.ticked = d.ticked || ticked.contains(&d.id);
    }
    // In the checklist's order, however the browser posted them: the confirmation's digest
    // must not change with the order of the boxes.
    let ticked: Vec<String> = shown
        .documents
        .iter()
        .filter(|d| d.ticked)
        .map(|d| d.id.clone())
        .collect();
    let refuse = |mut shown: DeskForm, errors: Vec<String>, status: StatusCode| {
        shown.errors = errors;
        shown.confirm = None;
        Err(Refused::page(page_with(status, &shown)))
    };
    let schema = &c.procedure.form;
    if shown.form_key.len() != 32 {
        return Err(
            Problem::bad_request("invalid_request", "biểu mẫu thiếu mã chống gửi trùng").into(),
        );
    }
    if !read.errors.is_empty() {
        // The scans kept stay on the form; the one refused is named, in the catalogue's words.
        return refuse(shown, read.errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    if shown.applicant_id.is_empty() || shown.applicant_name.is_empty() {
        return refuse(
            shown,
            vec!["Nhập số định danh và họ tên người nộp hồ sơ.".into()],
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    // The identity is typed once: fields the schema marks as the applicant's take it. Only
    // those values go before what was posted (a field's first value is read), so a checkbox
    // left unticked stays absent.
    let mut filled: Vec<(String, String)> = vec![];
    for f in &mut shown.fields {
        if f.value.trim().is_empty() {
            let value = match f.same_as.as_deref() {
                Some("applicant.name") => shown.applicant_name.clone(),
                Some("applicant.id") => shown.applicant_id.clone(),
                _ => continue,
            };
            f.value = value.clone();
            filled.push((format!("f.{}", f.name), value));
        }
    }
    let typed: Vec<(String, String)> = filled
        .into_iter()
        .chain(
            posted
                .0
                .iter()
                .filter(|(k, _)| k.starts_with("f."))
                .cloned(),
        )
        .collect();
    let data = match fields::read(&shown.fields, &typed, "f.") {
        Ok(d) => d,
        Err(bad) => {
            let said = bad
                .into_iter()
                .map(|b| (format!("/{}", b.field), b.message))
                .collect();
            shown.invalid = fields::place(&mut shown.fields, said, "f.");
            return refuse(shown, vec![], StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let Some(channel) = crate::body::by_name::<ChannelName>(&shown.channel) else {
        let line = format!(
            "Kênh tiếp nhận '{}' không có: chọn tại quầy, trực tuyến hoặc bưu chính.",
            shown.channel
        );
        return refuse(shown, vec![line], StatusCode::BAD_REQUEST);
    };
    // The schema's and the validators' checks before the confirmation, all shown at once
    // (the engine checks again at receipt, and runs validators only on a valid form).
    let today = s.engine.calendar().local_date(s.engine.clock().now());
    let mut checked = data.clone();
    c.form.apply_defaults(&mut checked);
    let mut wrong = c.form.check_on(&checked, today);
    let plugin_errors = {
        let c = c.clone();
        let seen = motcua::steps::plugin_data(&checked, &ticked, None);
        blocking(move || {
            motcua::steps::validate(
                &c,
                &c.procedure.validators,
                &seen,
                motcua::steps::Asking::Submission,
            )
        })
        .await?
    };
    match plugin_errors {
        Ok(()) => {}
        Err(motcua::Error::PluginRefused { errors, .. }) => {
            // A field the schema already refused keeps that one sentence: the validator
            // would say the same of the same text.
            let refused: Vec<String> = wrong.iter().map(|e| e.field.clone()).collect();
            wrong.extend(errors.into_iter().filter(|e| !refused.contains(&e.field)));
        }
        // A validator that cannot run now is met again at receipt, worded there.
        Err(_) => {}
    }
    if !wrong.is_empty() {
        place_errors(&mut shown, schema, &wrong);
        return refuse(shown, vec![], StatusCode::UNPROCESSABLE_ENTITY);
    }
    let missing: Vec<String> = shown
        .documents
        .iter()
        .filter(|d| d.required && !d.ticked)
        .map(|d| d.name.clone())
        .collect();
    let phone = Some(shown.applicant_phone.clone()).filter(|p| !p.trim().is_empty());
    let email = Some(shown.applicant_email.clone()).filter(|e| !e.is_empty());
    let notify_by: Vec<NoticeChannel> = [
        (shown.notify_email, NoticeChannel::Email),
        (shown.notify_sms, NoticeChannel::Sms),
    ]
    .into_iter()
    .filter_map(|(on, c)| on.then_some(c))
    .collect();
    let papers = {
        let kept: Vec<&KeptFile> = shown.documents.iter().flat_map(|d| &d.kept).collect();
        let offers: Vec<&Offer> = shown.documents.iter().flat_map(|d| &d.offers).collect();
        desk_papers::refs(&kept, &offers)
    };
    let digest = {
        use sha2::Digest;
        let what = serde_json::json!([
            id,
            shown.applicant_id,
            shown.applicant_name,
            phone,
            email,
            notify_by,
            shown.disadvantaged,
            shown.channel,
            data,
            ticked,
            papers
                .iter()
                .map(|r| (&r.kind, &r.sha256, &r.from))
                .collect::<Vec<_>>()
        ]);
        hex::encode(sha2::Sha256::digest(what.to_string().as_bytes()))
    };
    let reason = text("ly_do_thieu");
    let confirmed = posted.get("buoc") == Some("nhan") && posted.get("xac_nhan") == Some(&digest);
    if !confirmed || (!missing.is_empty() && reason.is_empty()) {
        let mut errors = vec![];
        if posted.get("buoc") == Some("nhan") {
            errors.push(if confirmed {
                "Còn thiếu giấy tờ bắt buộc: ghi lý do vẫn tiếp nhận (được lưu vào nhật ký), hoặc quay lại đánh dấu giấy tờ đã nhận.".to_string()
            } else {
                "Thông tin đã thay đổi sau khi kiểm tra: xem lại trước khi xác nhận.".to_string()
            });
        }
        let labels = |f: &Field| {
            let shown_value = match &f.kind {
                fields::Kind::Select(options) => options
                    .iter()
                    .find(|(v, _)| v == &f.value)
                    .map_or_else(|| f.value.clone(), |(_, l)| l.clone()),
                fields::Kind::Boolean => {
                    if posted.get(&format!("f.{}", f.name)).is_some() {
                        "Có".into()
                    } else {
                        "Không".into()
                    }
                }
                _ => f.value.clone(),
            };
            (f.title.clone(), shown_value)
        };
        let mut lines = vec![
            ("Người nộp".to_string(), shown.applicant_name.clone()),
            ("Số định danh".to_string(), shown.applicant_id.clone()),
        ];
        if let Some(p) = &phone {
            lines.push(("Số điện thoại".into(), p.clone()));
        }
        if let Some(e) = &email {
            lines.push(("Thư điện tử".into(), e.clone()));
        }
        lines.push((
            "Nhận thông báo".into(),
            motcua::messages::labels::notice_consent(&notify_by).into(),
        ));
        lines.extend(
            shown
                .fields
                .iter()
                .filter(|f| !f.value.trim().is_empty() || f.is("boolean"))
                .map(labels),
        );
        shown.confirm = Some(Confirm {
            lines,
            received: shown
                .documents
                .iter()
                .filter(|d| d.ticked)
                .map(|d| {
                    let files = papers.iter().filter(|r| r.kind == d.id).count();
                    match files {
                        0 => d.name.clone(),
                        n => format!("{} ({} tệp)", d.name, n),
                    }
                })
                .collect(),
            missing,
            reason,
            digest,
        });
        shown.errors = errors;
        return Ok(Html(page(&shown)));
    }
    let body = SubmitBody {
        procedure: id,
        applicant: ApplicantBody {
            id: shown.applicant_id.clone(),
            name: shown.applicant_name.clone(),
            phone,
            email,
            notify_by: notify_by
                .iter()
                .map(|c| match c {
                    NoticeChannel::Email => NoticeBy::Email,
                    NoticeChannel::Sms => NoticeBy::Sms,
                })
                .collect(),
            disadvantaged_area: shown.disadvantaged,
        },
        channel: Some(channel),
        data,
        documents: ticked,
        papers,
        meta: BTreeMap::new(),
        comment: (!missing.is_empty())
            .then(|| format!("Tiếp nhận khi còn thiếu giấy tờ: {reason}")),
    };
    let key = format!("web:{}", shown.form_key);
    let state = s.clone();
    let caller = v.caller;
    let answer = blocking(move || receive(&state, &caller, body, &key)).await?;
    match answer {
        Ok(received) => see_other(&format!("/ho-so/{}/mau/01", received.dossier.code)),
        Err(p) if p.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let wrong = field_errors(&p);
            if wrong.is_empty() {
                return refuse(shown, vec![p.detail.clone()], p.status);
            }
            place_errors(&mut shown, schema, &wrong);
            refuse(shown, vec![], p.status)
        }
        Err(p) => Err(p.into()),
    }
}
