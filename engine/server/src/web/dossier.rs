//! One dossier as an officer, leader or inspector sees it: the applicant's data, documents,
//! fees, the clocks, the timeline of its audit entries, and the actions the viewer may take
//! now as forms (their declared inputs, a comment where required). Acting goes through the
//! API's `act_blocking`, with the version the page was drawn from as If-Match.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use motcua::audit::Entry;
use motcua::dossier::Dossier;
use motcua::procedure::{Outcome, Procedure, StateKind};
use serde_json::Value;

use super::fields::{self, Field};
use super::fmt;
use super::{Html, Nav, Refused, Screen, Viewer, page_with, see_other};
use crate::access;
use crate::api::dossiers::{ActionBody, act_blocking, readable};
use crate::api::{Shared, blocking};
use crate::problem::Problem;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/ho-so/{code}", get(show).post(act))
        .route("/ho-so/{code}/giao", axum::routing::post(assign))
        .route(
            "/ho-so/{code}/lien-he",
            axum::routing::post(super::contact::change),
        )
        .route(
            "/ho-so/{code}/phan-anh/{number}",
            axum::routing::post(super::feedback::answer),
        )
}

/// One active step and who it is assigned to, with what this viewer may do about it.
pub struct StepAssignment {
    pub state: String,
    pub label: String,
    /// The assigned officer's name, or empty when the step waits for anyone of its roles.
    pub assignee: String,
    pub mine: bool,
    pub can_claim: bool,
    pub can_assign: bool,
}

/// The active steps of `d` in the viewer's departments, for the assignment card.
fn assignments(
    s: &crate::api::State,
    v: &Viewer,
    p: &Procedure,
    d: &Dossier,
) -> Vec<StepAssignment> {
    let who = v.who();
    if !who.is_officer() || !d.is_open() {
        return vec![];
    }
    let holds = |roles: &[&str]| roles.iter().any(|r| who.roles.iter().any(|h| h == r));
    let assigners = p.assigner_roles();
    d.tokens
        .iter()
        .filter(|t| !t.waiting)
        .filter(|t| {
            t.department
                .as_ref()
                .is_some_and(|dep| who.departments.contains(dep))
        })
        .filter(|t| {
            p.state(&t.state)
                .is_some_and(|x| x.kind != StateKind::Applicant)
        })
        .map(|t| {
            let work: Vec<&str> = p
                .actions_from(&t.state)
                .flat_map(|a| a.roles.iter().map(String::as_str))
                .collect();
            let mine = t.assignee.as_deref() == Some(who.subject.as_str());
            StepAssignment {
                state: t.state.clone(),
                label: p
                    .state(&t.state)
                    .map_or_else(|| t.state.clone(), |x| x.label.clone()),
                assignee: t
                    .assignee
                    .as_deref()
                    .map(|a| super::person(s, a))
                    .unwrap_or_default(),
                mine,
                can_claim: !mine && (holds(&work) || holds(&assigners)),
                can_assign: holds(&assigners),
            }
        })
        .collect()
}

/// Claims, assigns or gives back a step (`/v1/dossiers/{code}/assignments` for the viewer),
/// then back to the dossier; a refusal shows the page with why.
async fn assign(
    State(s): State<Shared>,
    v: Viewer,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Screen {
    let posted = v.posted(&s, &headers, &body)?;
    let seen: u64 = posted
        .get("version")
        .and_then(|x| x.parse().ok())
        .ok_or_else(|| Problem::bad_request("invalid_request", "biểu mẫu thiếu phiên bản hồ sơ"))?;
    let body = crate::api::assignments::AssignBody {
        state: posted.get("state").unwrap_or("").to_string(),
        assignee: posted
            .get("assignee")
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from),
        comment: None,
    };
    let to = format!("/ho-so/{code}");
    settle(&s, v, code, to, move |state, caller, code| {
        crate::api::assignments::assign_blocking(state, caller, code, seen, body).map(|_| ())
    })
    .await
}

/// A post on the dossier page through the API's `call`: on to `to` when taken; refused in a
/// way the officer can fix, the page again with why; else the problem.
pub(super) async fn settle(
    s: &Shared,
    v: Viewer,
    code: String,
    to: String,
    call: impl FnOnce(&crate::api::State, &crate::api::Caller, &str) -> Result<(), Problem>
    + Send
    + 'static,
) -> Screen {
    let state = s.clone();
    let outcome = blocking(move || match call(&state, &v.caller, &code) {
        Ok(()) => Acted::Moved(to),
        Err(p) if p.status.is_client_error() => {
            match draw(&state, &v, &code, super::desk::error_lines(&p), None) {
                Ok(page) => Acted::Again(p.status, Box::new(page)),
                Err(_) => Acted::Refused(p),
            }
        }
        Err(p) => Acted::Refused(p),
    })
    .await?;
    match outcome {
        Acted::Moved(to) => see_other(&to),
        Acted::Again(status, page) => Err(Refused::page(page_with(status, &*page))),
        Acted::Refused(p) => Err(p.into()),
    }
}

pub struct DataLine {
    pub title: String,
    pub value: String,
}

pub struct ClockLine {
    pub what: String,
    pub due: String,
    pub state: String,
    /// Late by how much, or the working time left (days and hours).
    pub standing: String,
    /// The share of the time used, capped at 100, for the bar's width.
    pub bar: u64,
}

pub struct Step {
    pub seq: u64,
    pub at: String,
    pub what: String,
    pub actor: String,
    pub moved: String,
    pub comment: Option<String>,
}

pub struct ActionForm {
    pub id: String,
    pub label: String,
    pub to: String,
    pub fields: Vec<Field>,
    pub comment_required: bool,
    pub refused: Option<String>,
    /// The applicant's action, recorded by this officer for the applicant at the counter.
    pub on_behalf: bool,
    /// The comment typed before a refusal, shown again.
    pub comment: String,
    /// An extension or an apology: shown apart from the work's own actions.
    pub exceptional: bool,
    /// An apology, which makes the dossier count as late.
    pub apology: bool,
}

#[derive(Template)]
#[template(path = "dossier.html")]
pub(super) struct DossierPage {
    nav: Nav,
    code: String,
    /// Who each of the viewer's departments' active steps is assigned to.
    assignments: Vec<StepAssignment>,
    procedure: String,
    procedure_version: String,
    status: String,
    version: u64,
    applicant_name: String,
    applicant_id: String,
    contact: super::contact::Card,
    channel: String,
    received_at: String,
    appointment: String,
    promised: Option<String>,
    result: Option<String>,
    data: Vec<DataLine>,
    documents: Vec<String>,
    papers: super::papers::Section,
    fees: Vec<(String, String)>,
    fee_total: String,
    clocks: Vec<ClockLine>,
    timeline: Vec<Step>,
    /// Extensions or apologies are offered (shown apart, folded).
    has_exceptional: bool,
    actions: Vec<ActionForm>,
    forms: Vec<(String, &'static str)>,
    errors: Vec<String>,
    /// The applicant's rating and feedback, with the answers.
    feedback: super::feedback::Card,
}

/// The label of an audit entry's action.
pub fn action_label(p: &Procedure, action: &str) -> String {
    if let Some(system) = motcua::audit::SystemAction::of(action) {
        return super::labels::system_action(system).into();
    }
    match action {
        "submit" => motcua::messages::columns::SUBMIT.into(),
        motcua::dossier::transition::ATTACH => motcua::messages::columns::ATTACH.into(),
        motcua::dossier::transition::RATE => motcua::messages::columns::RATE.into(),
        motcua::dossier::transition::FEEDBACK => motcua::messages::columns::FEEDBACK.into(),
        motcua::dossier::transition::ANSWER_FEEDBACK => {
            motcua::messages::columns::ANSWER_FEEDBACK.into()
        }
        motcua::dossier::transition::CONTACT => motcua::messages::columns::CONTACT.into(),
        other => p
            .actions
            .iter()
            .find(|a| a.id == other)
            .map_or_else(|| other.to_string(), |a| a.label.clone()),
    }
}

fn state_labels(p: &Procedure, states: &[String]) -> String {
    states
        .iter()
        .map(|s| p.state(s).map_or_else(|| s.clone(), |x| x.label.clone()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn timeline(s: &crate::api::State, p: &Procedure, history: &[Entry]) -> Vec<Step> {
    history
        .iter()
        .map(|e| Step {
            seq: e.seq,
            at: fmt::when(e.at),
            what: if e.action == motcua::dossier::transition::ASSIGN {
                assignment_line(s, p, e)
            } else {
                action_label(p, &e.action)
            },
            actor: match &e.on_behalf {
                Some(applicant) => {
                    format!(
                        "{} (ghi nhận thay công dân {applicant})",
                        super::person(s, &e.actor)
                    )
                }
                None => super::person(s, &e.actor),
            },
            moved: if e.to.is_empty() {
                String::new()
            } else {
                format!("→ {}", state_labels(p, &e.to))
            },
            comment: motcua::messages::events::comment_of(
                &e.action,
                &e.actor,
                e.comment.as_deref(),
                &e.input,
                p,
                &|id| super::person(s, id),
            ),
        })
        .collect()
}

/// An assignment as a sentence: who the step went to, or that it went back to its department.
fn assignment_line(s: &crate::api::State, p: &Procedure, e: &Entry) -> String {
    let state = e
        .input
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let step = p
        .state(state)
        .map_or_else(|| state.to_string(), |x| x.label.clone());
    match e.input.get("assignee").and_then(Value::as_str) {
        Some(who) => format!("Giao bước “{step}” cho {}", super::person(s, who)),
        None => format!("Trả bước “{step}” về phòng, chưa giao ai"),
    }
}

/// A stored value as people read it: days as dd/mm/yyyy, numbers with a decimal comma.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => match s.parse::<jiff::civil::Date>() {
            Ok(day) if s.len() == 10 => fmt::date(day),
            _ => s.clone(),
        },
        Value::Bool(true) => "Có".into(),
        Value::Bool(false) => "Không".into(),
        Value::Number(n) => fmt::figure(n),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(", "),
        Value::Object(m) => m.values().map(value_text).collect::<Vec<_>>().join("; "),
    }
}

/// The form data with the schema's titles, in the order the procedure file writes them.
pub fn data_lines(p: &Procedure, data: &Value, source: &str) -> Vec<DataLine> {
    let props = p.form.get("properties").and_then(Value::as_object);
    let Some(obj) = data.as_object() else {
        return vec![];
    };
    let mut keys: Vec<&String> = obj.keys().collect();
    if let Ok(parsed) = motcua::procedure::source_map::parse(source) {
        keys.sort_by_key(|k| {
            let at = parsed.source_map.key(&format!(
                "/form/properties/{}",
                motcua::procedure::source_map::escape(k)
            ));
            (at.line, at.col)
        });
    }
    keys.into_iter()
        .map(|k| (k, &obj[k]))
        .map(|(k, v)| DataLine {
            title: props
                .and_then(|ps| ps.get(k))
                .and_then(|x| x.get("title"))
                .and_then(Value::as_str)
                .unwrap_or(k)
                .to_string(),
            value: labelled(props.and_then(|ps| ps.get(k)), v),
        })
        .collect()
}

/// A stored value as people read it: the label the schema gives an enumeration's value
/// (`x-labels`, or a `oneOf` entry's `title`), else the value.
fn labelled(schema: Option<&Value>, v: &Value) -> String {
    let text = value_text(v);
    let Some(schema) = schema else {
        return text;
    };
    if let Some(label) = schema
        .get("x-labels")
        .and_then(|l| l.get(&text))
        .and_then(Value::as_str)
    {
        return label.to_string();
    }
    schema
        .get("oneOf")
        .and_then(Value::as_array)
        .and_then(|all| all.iter().find(|o| o.get("const") == Some(v)))
        .and_then(|o| o.get("title"))
        .and_then(Value::as_str)
        .map_or(text, String::from)
}

pub fn document_names(p: &Procedure, ids: &[String]) -> Vec<String> {
    ids.iter()
        .map(|id| {
            p.documents
                .iter()
                .find(|d| &d.id == id)
                .map_or_else(|| id.clone(), |d| d.name.clone())
        })
        .collect()
}

/// The printed forms this dossier has (number, title).
pub fn forms_of(p: &Procedure, d: &Dossier, history: &[Entry]) -> Vec<(String, &'static str)> {
    let mut out = vec![("01".to_string(), "Giấy tiếp nhận hồ sơ và hẹn trả kết quả")];
    let asked = history.iter().any(|e| {
        e.to.iter()
            .any(|s| p.state(s).is_some_and(|x| x.kind == StateKind::Applicant))
    });
    if asked {
        out.push(("02".into(), "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"));
    }
    match d.ending.as_ref().map(|e| e.outcome) {
        Some(Outcome::Refused) => out.push(("03".into(), "Phiếu từ chối giải quyết hồ sơ")),
        Some(Outcome::Withdrawn) => out.push(("05".into(), "Phiếu dừng giải quyết hồ sơ")),
        _ => {}
    }
    if !d.clock.apologies.is_empty() {
        out.push(("04".into(), "Phiếu xin lỗi và hẹn lại ngày trả kết quả"));
    }
    if !d.clock.extension_notices.is_empty() {
        out.push((
            "gia-han".into(),
            "Thông báo gia hạn thời gian giải quyết hồ sơ",
        ));
    }
    out.push(("06".into(), "Phiếu kiểm soát quá trình giải quyết hồ sơ"));
    out
}

/// The fields an action's form shows: its declared inputs, and the new date an apology
/// (form 04) promises.
fn action_fields(p: &Procedure, action: &motcua::procedure::Action) -> Vec<Field> {
    let mut out = fields::from_inputs(&action.inputs, &p.documents);
    if action.apology && !out.iter().any(|f| f.name == "promised") {
        out.push(Field {
            name: "promised".into(),
            title: "Ngày hẹn trả kết quả mới".into(),
            kind: fields::Kind::Date,
            required: true,
            pattern: None,
            value: String::new(),
            checked: vec![],
            min: None,
            max: None,
            maxlength: None,
            same_as: None,
            ..Field::default()
        });
    }
    out
}

/// A documents field with the documents asked for first, each marked, so the desk ticks off
/// what the applicant brought against what they were asked for.
fn requested_first(fields: &mut [Field], asked: &[String]) {
    for f in fields.iter_mut() {
        if let fields::Kind::Documents(docs) = &mut f.kind {
            docs.sort_by_key(|(id, _)| !asked.contains(id));
            for (id, name) in docs.iter_mut() {
                if asked.contains(id) {
                    name.push_str(" — đã yêu cầu bổ sung");
                }
            }
        }
    }
}

/// What an officer typed into an action's form before it was refused: shown again, so a
/// conflict or a bad value never costs them their comment and inputs.
pub struct Kept {
    pub action: String,
    pub posted: Vec<(String, String)>,
    /// `(pointer, sentence)` of the inputs refused, shown under their boxes.
    pub errors: Vec<(String, String)>,
}

impl Kept {
    fn fill(&self, form: &mut ActionForm) {
        if form.id != self.action {
            return;
        }
        let get = |name: &str| {
            self.posted
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        form.comment = get("comment").unwrap_or_default();
        fields::place(&mut form.fields, self.errors.clone(), "i.");
        for f in &mut form.fields {
            let name = format!("i.{}", f.name);
            if f.is("documents") {
                f.checked = self
                    .posted
                    .iter()
                    .filter(|(k, _)| *k == name)
                    .map(|(_, v)| v.clone())
                    .collect();
            } else if f.is("boolean") {
                f.value = if get(&name).is_some() {
                    "true".into()
                } else {
                    String::new()
                };
            } else {
                f.value = get(&name).unwrap_or_default();
            }
        }
    }
}

pub(super) fn draw(
    s: &crate::api::State,
    v: &Viewer,
    code: &str,
    errors: Vec<String>,
    kept: Option<&Kept>,
) -> Result<DossierPage, Problem> {
    let (d, c) = readable(s, &v.caller, code)?;
    let p = &c.procedure;
    let history = s.engine.history(&d.code).map_err(Problem::from)?;
    let available = match access::actor_for(v.who(), &d) {
        Ok(actor) => s
            .engine
            .available_actions_of(&d, &actor)
            .unwrap_or_default(),
        Err(_) => vec![],
    };
    let mut errors = errors;
    let actions: Vec<ActionForm> = available
        .into_iter()
        .map(|a| {
            let declared = p.actions.iter().find(|x| x.id == a.action);
            let mut fields = declared.map(|x| action_fields(p, x)).unwrap_or_default();
            if a.on_behalf {
                requested_first(&mut fields, &super::forms::last_request(p, &d, &history));
            }
            let mut form = ActionForm {
                fields,
                on_behalf: a.on_behalf,
                comment: String::new(),
                exceptional: declared.is_some_and(|x| x.apology || x.extends.is_some()),
                apology: declared.is_some_and(|x| x.apology),
                label: a.label,
                to: p
                    .state(&a.to)
                    .map_or_else(|| a.to.clone(), |x| x.label.clone()),
                id: a.action,
                comment_required: a.comment_required,
                refused: a
                    .refused
                    .as_ref()
                    .map(|u| motcua::messages::errors::unavailable(u, p)),
            };
            if let Some(k) = kept {
                k.fill(&mut form);
            }
            form
        })
        .collect();
    // The action is no longer offered (the dossier moved on): what was typed is shown
    // with the refusal rather than lost.
    if let Some(k) = kept
        && !actions.iter().any(|a| a.id == k.action)
        && let Some((_, c)) = k
            .posted
            .iter()
            .find(|(n, v)| n == "comment" && !v.trim().is_empty())
    {
        errors.push(format!(
            "Ý kiến anh/chị đã nhập (chưa được ghi nhận): “{}”",
            c.trim()
        ));
    }
    let mut clocks = vec![];
    if let Ok(cl) = s.engine.clocks(&d) {
        let words = super::labels::clock;
        let (calendar, now) = (s.engine.calendar().as_ref(), s.engine.clock().now());
        let used = fmt::percent(cl.statutory.used_permille);
        clocks.push(ClockLine {
            what: "Thời hạn giải quyết (hẹn trả)".into(),
            due: fmt::appointment(cl.statutory.due_at),
            state: words(cl.statutory.state).into(),
            standing: fmt::standing(
                calendar,
                now,
                cl.statutory.state,
                Some(cl.statutory.due_at),
                cl.statutory.paused_since,
            ),
            bar: used.min(100),
        });
        for st in &cl.steps {
            let used = fmt::percent(st.used_permille);
            clocks.push(ClockLine {
                what: p
                    .state(&st.state)
                    .map_or_else(|| st.state.clone(), |x| x.label.clone()),
                due: st
                    .due_at
                    .map(fmt::appointment)
                    .unwrap_or_else(|| "—".into()),
                state: words(Some(st.clock)).into(),
                standing: fmt::standing(calendar, now, Some(st.clock), st.due_at, None),
                bar: used.min(100),
            });
        }
    }
    let result = d
        .clock
        .resolved
        .as_ref()
        .map(|r| super::labels::class(r.class).to_string());
    let fee_total: u64 = d.fees.iter().map(|f| f.amount).sum();
    Ok(DossierPage {
        nav: v.nav(""),
        code: d.code.clone(),
        procedure: p.name.clone(),
        procedure_version: d.procedure_version.clone(),
        status: crate::api::views::status_label(d.status).to_string(),
        version: d.version,
        applicant_name: d.applicant.name.clone(),
        applicant_id: d.applicant.id.clone(),
        contact: super::contact::card(v, p, &d),
        feedback: super::feedback::card(s, v, &c, &d),
        channel: super::labels::channel(d.channel).into(),
        received_at: fmt::when(d.clock.received_at),
        appointment: fmt::appointment(d.clock.due_at),
        promised: d.clock.apologies.last().map(|a| fmt::when(a.promised)),
        result,
        data: data_lines(p, &d.data, &c.source),
        documents: document_names(p, &d.documents),
        papers: super::papers::section(s, v, &c, &d),
        fees: d
            .fees
            .iter()
            .map(|f| (f.name.clone(), fmt::dong(f.amount)))
            .collect(),
        fee_total: fmt::dong(fee_total),
        clocks,
        timeline: timeline(s, p, &history),
        forms: forms_of(p, &d, &history),
        assignments: assignments(s, v, p, &d),
        has_exceptional: actions.iter().any(|a| a.exceptional),
        actions,
        errors,
    })
}

async fn show(State(s): State<Shared>, v: Viewer, Path(code): Path<String>) -> Screen {
    let state = s.clone();
    let drawn = blocking(move || draw(&state, &v, &code, vec![], None)).await??;
    Ok(Html(page_with(StatusCode::OK, &drawn)))
}

/// Where an officer goes after an action: to the printed form the law asks for it, else back.
fn after(p: &Procedure, before: &Dossier, next: &crate::api::views::DossierView) -> String {
    let form = |n: &str| format!("/ho-so/{}/mau/{n}", next.code);
    if next.states.iter().any(|st| st.applicant)
        && !before.tokens.iter().any(|t| {
            p.state(&t.state)
                .is_some_and(|x| x.kind == StateKind::Applicant)
        })
    {
        return form("02");
    }
    let apologies = next
        .clock
        .get("apologies")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if apologies > before.clock.apologies.len() {
        return form("04");
    }
    let extensions = next
        .clock
        .get("extension_notices")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if extensions > before.clock.extension_notices.len() {
        return form("gia-han");
    }
    match next.ending.get("outcome").and_then(Value::as_str) {
        Some("refused") => form("03"),
        Some("withdrawn") => form("05"),
        _ => format!("/ho-so/{}", next.code),
    }
}

/// What an action post came to.
pub(super) enum Acted {
    /// Taken: where the officer goes next.
    Moved(String),
    /// Refused in a way the officer can fix: the dossier's page again, with the reasons.
    Again(StatusCode, Box<DossierPage>),
    Refused(Problem),
}

async fn act(
    State(s): State<Shared>,
    v: Viewer,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Screen {
    let posted = v.posted(&s, &headers, &body)?;
    let action = posted.get("action").unwrap_or("").to_string();
    let seen: u64 = posted
        .get("version")
        .and_then(|x| x.parse().ok())
        .ok_or_else(|| Problem::bad_request("invalid_request", "biểu mẫu thiếu phiên bản hồ sơ"))?;
    let on_behalf = posted.get("on_behalf") == Some("1");
    let comment = posted
        .get("comment")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from);
    let state = s.clone();
    let outcome = blocking(move || {
        let r = (|| {
            let (d, c) = readable(&state, &v.caller, &code)?;
            let p = &c.procedure;
            let declared = p.actions.iter().find(|a| a.id == action).ok_or_else(|| {
                Problem::said(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unknown_action",
                    format!("no action {action}"),
                )
            })?;
            let inputs = action_fields(p, declared);
            let input = fields::read(&inputs, &posted.0, "i.").map_err(|bad| {
                Problem::said(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_input",
                    bad.iter()
                        .map(|b| format!("{}: {}", b.field, b.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })?;
            let next = act_blocking(
                &state,
                &v.caller,
                &code,
                seen,
                ActionBody {
                    action: action.clone(),
                    input,
                    comment,
                    on_behalf,
                },
            )?;
            Ok::<_, Problem>(after(p, &d, &next))
        })();
        match r {
            Ok(to) => Acted::Moved(to),
            // A refusal is shown on the dossier's page with what the officer typed, when
            // they may still read it.
            Err(p) if p.status.is_client_error() => {
                let mut lines = super::desk::error_lines(&p);
                if p.status == StatusCode::CONFLICT {
                    lines.insert(
                        0,
                        "Hồ sơ vừa được người khác cập nhật; trang đã tải lại phiên bản mới."
                            .into(),
                    );
                }
                let kept = Kept {
                    action: action.clone(),
                    posted: posted.0.clone(),
                    errors: fields::input_errors(&p),
                };
                let drawn = draw(&state, &v, &code, lines, Some(&kept));
                match drawn {
                    Ok(page) => Acted::Again(p.status, Box::new(page)),
                    Err(_) => Acted::Refused(p),
                }
            }
            Err(p) => Acted::Refused(p),
        }
    })
    .await?;
    match outcome {
        Acted::Moved(to) => see_other(&to),
        Acted::Again(status, page) => Err(Refused::page(page_with(status, &*page))),
        Acted::Refused(p) => Err(p.into()),
    }
}
