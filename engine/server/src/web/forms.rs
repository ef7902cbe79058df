//! The printed forms (Circular 03/2025 series; wording from the 01/2018 samples where known,
//! marked for checking where not): 01 appointment slip with its QR code, 02 supplement
//! request, 03 refusal, 04 apology and new date, 05 notice of stopping, 06 process-control
//! slip, and the extension notice. HTML with print CSS on one A4 page; browsers print them to
//! PDF. Each carries its own QR code at the top left (`qr::paper`: dossier code, procedure
//! code, applicant's ID, the paper's name). Every form is drawn from the stored dossier and
//! its audit entries, never from what the page was given. Form 07, the tracking book, is
//! `tracking_book`'s.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::routing::get;
use motcua::audit::Entry;
use motcua::dossier::Dossier;
use motcua::procedure::{InputKind, Outcome, Procedure, StateKind};

use super::dossier::document_names;
use super::fmt;
use super::{Html, Screen, Viewer, page};
use crate::api::dossiers::readable;
use crate::api::{Shared, blocking};
use crate::problem::Problem;

pub fn routes() -> Router<Shared> {
    Router::new().route("/ho-so/{code}/mau/{form}", get(show))
}

/// The head every form shares.
struct Head {
    agency: String,
    number: &'static str,
    title: &'static str,
    code: String,
    /// "Đà Nẵng, ngày … tháng … năm …" is the agency's place; the date is the event's.
    dated: String,
    /// The wording is not yet checked against the circular's sample.
    check: bool,
    /// The paper's own QR code at its top left (Circular 01/2023/TT-VPCP), inline SVG.
    qr: String,
}

struct Doc {
    name: String,
    copies: u32,
    /// The scans received with it at the counter: "2 tệp: gcn.pdf, gcn-trang-2.pdf".
    files: String,
}

#[derive(Template)]
#[template(path = "form_01.html")]
struct Form01 {
    head: Head,
    applicant: String,
    applicant_id: String,
    procedure: String,
    received_at: String,
    appointment: String,
    documents: Vec<Doc>,
    fees: Vec<(String, String)>,
    fee_total: String,
    officer: String,
    status_url: String,
    secret: String,
    qr: String,
}

#[derive(Template)]
#[template(path = "form_02.html")]
struct Form02 {
    head: Head,
    applicant: String,
    procedure: String,
    received_at: String,
    documents: Vec<String>,
    reason: String,
    officer: String,
}

#[derive(Template)]
#[template(path = "form_03.html")]
struct Form03 {
    head: Head,
    applicant: String,
    procedure: String,
    received_at: String,
    reason: String,
    officer: String,
}

#[derive(Template)]
#[template(path = "form_04.html")]
struct Form04 {
    head: Head,
    applicant: String,
    procedure: String,
    received_at: String,
    appointment: String,
    promised: String,
    reason: String,
    officer: String,
}

/// The written notice of a legal extension to the applicant (thông báo gia hạn).
#[derive(Template)]
#[template(path = "form_gia_han.html")]
struct FormExtension {
    head: Head,
    applicant: String,
    procedure: String,
    received_at: String,
    old_appointment: String,
    new_appointment: String,
    extension: String,
    reason: String,
    officer: String,
}

#[derive(Template)]
#[template(path = "form_05.html")]
struct Form05 {
    head: Head,
    applicant: String,
    procedure: String,
    received_at: String,
    reason: String,
    officer: String,
}

struct Handover {
    time: String,
    giver: String,
    receiver: String,
    what: String,
    ended: String,
}

#[derive(Template)]
#[template(path = "form_06.html")]
struct Form06 {
    head: Head,
    applicant: String,
    procedure: String,
    appointment: String,
    handovers: Vec<Handover>,
    result: String,
}

fn head(
    offices: &motcua::office::Offices,
    p: &Procedure,
    d: &Dossier,
    number: &'static str,
    title: &'static str,
    at: jiff::Timestamp,
    check: bool,
) -> Result<Head, Problem> {
    // From the stored dossier and its pinned procedure, like everything the form prints.
    let payload = super::qr::paper(
        &d.code,
        &p.code,
        &d.applicant.id,
        &super::qr::sentence_case(title),
    );
    Ok(Head {
        agency: p.agency.name.clone(),
        number,
        title,
        code: d.code.clone(),
        // "Đà Nẵng, ngày 07 tháng 12 năm 2026": the place from the agency's office, when known.
        dated: match offices.of(&p.agency.id).and_then(|o| o.place.as_deref()) {
            Some(place) => format!("{place}, {}", fmt::long_day(at)),
            None => fmt::long_day(at),
        },
        check,
        qr: super::qr::inline(&payload).map_err(Problem::internal)?,
    })
}

/// The base of links printed on paper: `--public-url`, else the address the desk used.
fn base_url(s: &crate::api::State, headers: &HeaderMap) -> String {
    if let Some(url) = &s.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'))
        })
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// The last entry that moved the dossier into a state of `kind`.
fn into_kind<'a>(p: &Procedure, history: &'a [Entry], kind: StateKind) -> Option<&'a Entry> {
    history.iter().rev().find(|e| {
        !motcua::audit::SystemAction::is_system(&e.action)
            && e.to
                .iter()
                .any(|s| p.state(s).is_some_and(|x| x.kind == kind))
    })
}

/// The documents the applicant was last asked to bring (form 02's list, "guide once"): those
/// the request's `documents` inputs named, or what an automatic completeness check wrote
/// into the form data under its plugin's `missing_field`.
pub fn asked_documents(p: &Procedure, d: &Dossier, request: &Entry) -> Vec<String> {
    let action = p.actions.iter().find(|a| a.id == request.action);
    let mut ids: Vec<String> = vec![];
    for input in action.map(|a| a.inputs.as_slice()).unwrap_or_default() {
        if input.kind == InputKind::Documents
            && let Some(list) = request.input.get(&input.name).and_then(|x| x.as_array())
        {
            ids.extend(list.iter().filter_map(|x| x.as_str()).map(String::from));
        }
    }
    if ids.is_empty() {
        for plugin in &p.plugins {
            if let Some(field) = plugin.config.get("missing_field").and_then(|f| f.as_str())
                && let Some(list) = d.data.get(field).and_then(|x| x.as_array())
            {
                ids.extend(list.iter().filter_map(|x| x.as_str()).map(String::from));
            }
        }
    }
    ids
}

/// The last request that sent `d` to the applicant, and the documents it asked for.
pub fn last_request(p: &Procedure, d: &Dossier, history: &[Entry]) -> Vec<String> {
    into_kind(p, history, StateKind::Applicant)
        .map(|e| asked_documents(p, d, e))
        .unwrap_or_default()
}

/// The entry that ended `d` with `outcome`, if it so ended.
fn ended_as<'a>(d: &Dossier, history: &'a [Entry], outcome: Outcome) -> Option<&'a Entry> {
    let end = d.ending.as_ref().filter(|e| e.outcome == outcome)?;
    history
        .iter()
        .rev()
        .find(|e| e.to.iter().any(|s| s == &end.state))
}

async fn show(
    State(s): State<Shared>,
    v: Viewer,
    Path((code, form)): Path<(String, String)>,
    headers: HeaderMap,
) -> Screen {
    let base = base_url(&s, &headers);
    let state = s.clone();
    let html = blocking(move || draw(&state, &v, &code, &form, &base)).await??;
    Ok(html)
}

fn draw(
    s: &crate::api::State,
    v: &Viewer,
    code: &str,
    form: &str,
    base: &str,
) -> Result<Html, Problem> {
    let (d, c) = readable(s, &v.caller, code)?;
    let p = &c.procedure;
    let history = s.engine.history(&d.code).map_err(Problem::from)?;
    let applicant = d.applicant.name.clone();
    let received_at = fmt::when(d.clock.received_at);
    let none = || Problem::not_found(motcua::messages::requests::form_not_found(code, form));
    Ok(Html(match form {
        "01" => {
            // The API hands the secret only to whoever receives the dossier: here, a desk
            // officer of the procedure (reprinting the slip), its applicant or its portal.
            let who = v.who();
            let receiver = (who.is_officer() && crate::access::receive_refusal(who, p).is_none())
                || (who.has(crate::auth::APPLICANT) && d.applicant.id == who.subject)
                || (who.has(crate::auth::PORTAL)
                    && d.meta.get(crate::access::PORTAL_META) == Some(&who.subject));
            let (secret, status_url, qr) = if receiver {
                let secret = crate::status::secret(&s.status_key, d.public_code());
                let url = format!(
                    "{base}/tra-cuu/{}?secret={secret}",
                    super::urlencode(d.public_code())
                );
                let qr = super::qr::svg(&url).map_err(Problem::internal)?;
                (secret, url, qr)
            } else {
                (String::new(), String::new(), String::new())
            };
            let officer = history
                .iter()
                .find(|e| e.action == "submit")
                .map(|e| super::person(s, &e.actor))
                .unwrap_or_default();
            page(&Form01 {
                head: head(
                    &s.offices,
                    p,
                    &d,
                    "01",
                    "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
                    d.clock.received_at,
                    false,
                )?,
                applicant,
                applicant_id: d.applicant.id.clone(),
                procedure: p.name.clone(),
                received_at,
                // The appointment as the API's slip states it (an apology's later date is
                // form 04's).
                appointment: fmt::appointment(d.clock.due_at),
                documents: d
                    .documents
                    .iter()
                    .map(|id| {
                        let doc = p.documents.iter().find(|x| &x.id == id);
                        // The papers of the receipt itself: a reprint says what the slip said.
                        let at_receipt: Vec<&str> = d
                            .papers
                            .iter()
                            .filter(|x| &x.kind == id && x.at <= d.clock.received_at)
                            .map(|x| x.name.as_str())
                            .collect();
                        Doc {
                            name: doc.map_or_else(|| id.clone(), |x| x.name.clone()),
                            copies: doc.map_or(1, |x| x.copies),
                            files: match at_receipt.len() {
                                0 => String::new(),
                                n => format!("{n} tệp: {}", at_receipt.join(", ")),
                            },
                        }
                    })
                    .collect(),
                fees: d
                    .fees
                    .iter()
                    .map(|f| (f.name.clone(), fmt::dong(f.amount)))
                    .collect(),
                fee_total: fmt::dong(d.fees.iter().map(|f| f.amount).sum()),
                officer,
                status_url,
                secret,
                // The SVG document's XML declaration has no place inside HTML.
                qr: qr.find("<svg").map_or(qr.clone(), |i| qr[i..].to_string()),
            })
        }
        "02" => {
            let e = into_kind(p, &history, StateKind::Applicant).ok_or_else(none)?;
            let ids = asked_documents(p, &d, e);
            page(&Form02 {
                head: head(
                    &s.offices,
                    p,
                    &d,
                    "02",
                    "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
                    e.at,
                    false,
                )?,
                applicant,
                procedure: p.name.clone(),
                received_at,
                documents: document_names(p, &ids),
                reason: e.comment.clone().unwrap_or_default(),
                officer: super::person(s, &e.actor),
            })
        }
        "03" => {
            let e = ended_as(&d, &history, Outcome::Refused).ok_or_else(none)?;
            page(&Form03 {
                head: head(
                    &s.offices,
                    p,
                    &d,
                    "03",
                    "PHIẾU TỪ CHỐI TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ",
                    e.at,
                    false,
                )?,
                applicant,
                procedure: p.name.clone(),
                received_at,
                reason: e.comment.clone().unwrap_or_default(),
                officer: super::person(s, &e.actor),
            })
        }
        "04" => {
            let a = d.clock.apologies.last().ok_or_else(none)?;
            page(&Form04 {
                head: head(
                    &s.offices,
                    p,
                    &d,
                    "04",
                    "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
                    a.at,
                    false,
                )?,
                applicant,
                procedure: p.name.clone(),
                received_at,
                appointment: fmt::appointment(a.appointment),
                promised: fmt::appointment(a.promised),
                reason: a.reason.clone(),
                officer: super::person(s, &a.officer),
            })
        }
        "gia-han" => {
            let n = d.clock.extension_notices.last().ok_or_else(none)?;
            page(&FormExtension {
                head: head(
                    &s.offices,
                    p,
                    &d,
                    "",
                    "THÔNG BÁO GIA HẠN THỜI GIAN GIẢI QUYẾT HỒ SƠ",
                    n.at,
                    true,
                )?,
                applicant,
                procedure: p.name.clone(),
                received_at,
                old_appointment: fmt::appointment(n.old_appointment),
                new_appointment: fmt::appointment(n.new_appointment),
                extension: fmt::duration(n.extension),
                reason: n.reason.clone(),
                officer: super::person(s, &n.approver),
            })
        }
        "05" => {
            let e = ended_as(&d, &history, Outcome::Withdrawn).ok_or_else(none)?;
            page(&Form05 {
                head: head(
                    &s.offices,
                    p,
                    &d,
                    "05",
                    "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
                    e.at,
                    true,
                )?,
                applicant,
                procedure: p.name.clone(),
                received_at,
                reason: e
                    .comment
                    .clone()
                    .unwrap_or_else(|| super::dossier::action_label(p, &e.action)),
                officer: super::person(s, &e.actor),
            })
        }
        "06" => {
            let slip = motcua::audit::slip::for_dossier(s.engine.store(), &d.code)
                .map_err(|e| Problem::internal(e.to_string()))?;
            let handovers = slip
                .handovers
                .iter()
                .map(|h| Handover {
                    time: h.time.clone(),
                    giver: if h.giver.department_names.is_empty() {
                        super::person(s, &h.giver.actor)
                    } else {
                        format!(
                            "{} ({})",
                            super::person(s, &h.giver.actor),
                            h.giver.department_names.join(", ")
                        )
                    },
                    receiver: h
                        .receivers
                        .iter()
                        .map(|r| {
                            if r.applicant {
                                format!("{} (công dân)", r.label)
                            } else {
                                match &r.department_name {
                                    Some(dep) => format!("{dep}: {}", r.label),
                                    None => r.label.clone(),
                                }
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                    what: h.label.clone(),
                    ended: h
                        .ended
                        .iter()
                        .filter_map(|e| {
                            e.class
                                .map(|c| format!("{}: {}", e.label, super::labels::class(c)))
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                })
                .collect();
            page(&Form06 {
                head: head(
                    &s.offices,
                    p,
                    &d,
                    "06",
                    "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
                    d.updated_at,
                    false,
                )?,
                applicant,
                procedure: p.name.clone(),
                appointment: slip.appointment.clone().unwrap_or_default(),
                handovers,
                result: slip
                    .resolution
                    .as_ref()
                    .map(|r| format!("{} ({})", super::labels::class(r.class), r.time))
                    .unwrap_or_default(),
            })
        }
        _ => {
            return Err(Problem::not_found(
                motcua::messages::requests::form_not_found(code, form),
            ));
        }
    }))
}
