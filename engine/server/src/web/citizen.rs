//! Tra cứu: the citizen's page, public, no sign-in. The code and the secret from the slip (or
//! its QR code) open the same view as `/v1/status`: the status, the appointment, each step's
//! state and what is awaited from the citizen, with no personal data and no officer's name.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;

use super::fmt;
use super::{Html, Refused, Screen, page, page_with, see_other};
use crate::api::status::{Awaited, Peer, citizen_view};
use crate::api::{Shared, blocking};
use crate::problem::Problem;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/tra-cuu", get(lookup))
        .route("/tra-cuu/{code}", get(status))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupParams {
    ma: Option<String>,
    secret: Option<String>,
}

#[derive(Template)]
#[template(path = "citizen_lookup.html")]
struct Lookup {
    error: bool,
}

async fn lookup(Query(q): Query<LookupParams>) -> Screen {
    match (q.ma, q.secret) {
        (Some(code), Some(secret)) if !code.trim().is_empty() => see_other(&format!(
            "/tra-cuu/{}?secret={}",
            super::urlencode(code.trim()),
            super::urlencode(secret.trim())
        )),
        _ => Ok(Html(page(&Lookup { error: false }))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusParams {
    secret: String,
}

struct StepLine {
    label: String,
    since: String,
    awaiting: bool,
}

struct AwaitedLine {
    label: String,
    request: String,
    documents: Vec<String>,
}

#[derive(Template)]
#[template(path = "citizen.html")]
struct Status {
    code: String,
    procedure: String,
    status: String,
    received_at: String,
    appointment: String,
    /// Paused, late by how much, or the working time left.
    standing: String,
    open: bool,
    result: String,
    steps: Vec<StepLine>,
    awaited: Vec<AwaitedLine>,
    papers: super::citizen_papers::Offered,
    /// Where the supplement form posts (the page's own address, secret included).
    upload_to: String,
    /// Overdue now, or resolved late.
    late: bool,
    /// The newest apology: (reason, the date now promised).
    apology: Option<(String, String)>,
    /// Extensions granted: (reason, new appointment).
    extensions: Vec<(String, String)>,
    office: Option<crate::api::status::OfficeView>,
    voice: super::citizen_voice::Voice,
}

fn instant(text: &str) -> String {
    text.parse::<jiff::Timestamp>()
        .map(fmt::when)
        .unwrap_or_else(|_| text.to_string())
}

/// The document names a request lists (its `documents` inputs hold checklist ids).
fn asked(a: &Awaited, names: &dyn Fn(&str) -> String) -> Vec<String> {
    a.details
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(|v| v.as_array())
        .flatten()
        .filter_map(|v| v.as_str())
        .map(names)
        .collect()
}

async fn status(
    State(s): State<Shared>,
    Peer(peer): Peer,
    Path(code): Path<String>,
    Query(q): Query<StatusParams>,
) -> Screen {
    let who = peer.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    if s.public_limit.take(&who).is_err() {
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Quá nhiều lượt tra cứu; vui lòng thử lại sau.",
        )
        .into());
    }
    let not_found = || Refused::page(page_with(StatusCode::NOT_FOUND, &Lookup { error: true }));
    if code.len() > 128 || !crate::status::check(&s.status_key, &code, &q.secret) {
        return Err(not_found());
    }
    let state = s.clone();
    let c = code.clone();
    let secret = q.secret.clone();
    let (view, names, standing, paused, papers) = blocking(move || {
        let view = citizen_view(&state, &c)?;
        let papers = state
            .engine
            .dossier(&c)
            .ok()
            .and_then(|d| {
                let p = state.engine.pinned_procedure(&d).ok()?;
                Some(super::citizen_papers::offered(&p, &d, &c, &secret))
            })
            .unwrap_or_default();
        // Where the clock stands (paused while the citizen supplements, late by how much),
        // beside the appointment it may move.
        let clocks = state
            .engine
            .dossier(&c)
            .ok()
            .and_then(|d| state.engine.clocks(&d).ok());
        let paused = clocks
            .as_ref()
            .is_some_and(|cl| cl.statutory.state == Some(motcua::deadline::ClockState::Paused));
        let standing = clocks
            .map(|cl| {
                fmt::standing(
                    state.engine.calendar().as_ref(),
                    state.engine.clock().now(),
                    cl.statutory.state,
                    Some(cl.statutory.due_at),
                    cl.statutory.paused_since,
                )
            })
            .unwrap_or_default();
        // Document names come from the dossier's pinned procedure, never its data.
        let names: Vec<(String, String)> = state
            .engine
            .dossier(&c)
            .ok()
            .and_then(|d| state.engine.pinned_procedure(&d).ok())
            .map(|p| {
                p.procedure
                    .documents
                    .iter()
                    .map(|d| (d.id.clone(), d.name.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok::<_, Problem>((view, names, standing, paused, papers))
    })
    .await??;
    let Some(v) = view else {
        return Err(not_found());
    };
    let name_of = |id: &str| {
        names
            .iter()
            .find(|(i, _)| i == id)
            .map_or_else(|| id.to_string(), |(_, n)| n.clone())
    };
    let voice = super::citizen_voice::voice(&v, &code, &q.secret);
    Ok(Html(page(&Status {
        late: v.late,
        apology: v
            .apology
            .as_ref()
            .map(|a| (a.reason.clone(), instant(&a.promised))),
        extensions: v
            .extensions
            .iter()
            .map(|x| (x.reason.clone(), instant(&x.new_appointment)))
            .collect(),
        office: v.office,
        voice,
        code: v.code,
        procedure: v.procedure,
        status: v.status_label,
        received_at: instant(&v.received_at),
        // A paused clock has no appointment yet: the old date would mislead; the time left
        // when the citizen's supplement arrives is what they can act on.
        appointment: if paused {
            standing.clone()
        } else {
            v.appointment
                .parse::<jiff::Timestamp>()
                .map(fmt::appointment)
                .unwrap_or_else(|_| v.appointment.clone())
        },
        standing: if paused { String::new() } else { standing },
        papers,
        upload_to: format!(
            "/tra-cuu/{}/giay-to?secret={}",
            super::urlencode(&code),
            super::urlencode(&q.secret)
        ),
        open: v.open,
        result: match v.result.as_deref() {
            Some("early") => "Trả kết quả sớm hạn",
            Some("on_time") => "Trả kết quả đúng hạn",
            Some("late") => "Trả kết quả trễ hạn",
            _ => "",
        }
        .to_string(),
        steps: v
            .steps
            .iter()
            .map(|st| StepLine {
                label: st.label.clone(),
                since: instant(&st.since),
                awaiting: st.awaiting_applicant,
            })
            .collect(),
        awaited: v
            .awaited
            .iter()
            .map(|a| AwaitedLine {
                label: a.label.clone(),
                request: a.request.clone().unwrap_or_default(),
                documents: asked(a, &name_of),
            })
            .collect(),
    })))
}
