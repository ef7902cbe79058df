//! Feedback (phản ánh, kiến nghị) on the staff screens: each piece on the dossier page with
//! its answer, the answer form for a leader of the department it was sent to, and the open
//! ones on the leader's screen. The answer posts through the API's own function
//! ([`crate::api::feedback::answer_blocking`]); the engine decides who may.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use motcua::audit::query::{Filter, list};
use motcua::dossier::Dossier;
use motcua::dossier::transition::leads;
use motcua::procedure::Procedure;

use super::{Screen, Viewer, fmt};
use crate::access;
use crate::api::Shared;
use crate::auth::Principal;
use crate::problem::Problem;

/// One piece of feedback as staff see it.
pub struct Line {
    pub number: u32,
    pub at: String,
    pub text: String,
    /// The department it was sent to, by name.
    pub department: String,
    /// Empty until answered.
    pub answer: String,
    pub answered: String,
    /// The viewer leads its department and it is unanswered.
    pub can_answer: bool,
}

/// The dossier page's card: the rating and every piece of feedback.
pub struct Card {
    /// "Rất hài lòng — comment", empty until rated.
    pub rating: String,
    pub lines: Vec<Line>,
}

fn actor_of(who: &Principal) -> motcua::dossier::Actor {
    motcua::dossier::Actor {
        id: who.subject.clone(),
        roles: who.roles.clone(),
        departments: who.departments.clone(),
    }
}

/// Whether `who` leads `department` for `p`, as the engine will check it.
fn may_answer(c: &motcua::catalog::Compiled, who: &Principal, department: Option<&str>) -> bool {
    who.is_officer() && leads(c, &actor_of(who), department)
}

fn department_name(p: &Procedure, id: Option<&str>) -> String {
    match id {
        Some(id) => p
            .departments
            .iter()
            .find(|d| d.id == id)
            .map_or_else(|| id.to_string(), |d| d.name.clone()),
        None => String::new(),
    }
}

pub fn card(s: &crate::api::State, v: &Viewer, c: &motcua::catalog::Compiled, d: &Dossier) -> Card {
    let p = &c.procedure;
    Card {
        rating: d
            .rating
            .as_ref()
            .map(|r| {
                let level = motcua::messages::labels::satisfaction(r.level);
                match &r.comment {
                    Some(text) => format!("{level} — {text}"),
                    None => level.to_string(),
                }
            })
            .unwrap_or_default(),
        lines: d
            .feedback
            .iter()
            .map(|f| Line {
                number: f.number,
                at: fmt::when(f.at),
                text: f.text.clone(),
                department: department_name(p, f.department.as_deref()),
                answer: f
                    .answer
                    .as_ref()
                    .map(|a| a.text.clone())
                    .unwrap_or_default(),
                answered: f
                    .answer
                    .as_ref()
                    .map(|a| format!("{}, {}", super::person(s, &a.officer), fmt::when(a.at)))
                    .unwrap_or_default(),
                can_answer: f.answer.is_none() && may_answer(c, v.who(), f.department.as_deref()),
            })
            .collect(),
    }
}

/// Answers a piece of feedback (`/v1/dossiers/{code}/feedback/{number}/answer` for the
/// viewer), then back to the dossier.
pub async fn answer(
    State(s): State<Shared>,
    v: Viewer,
    Path((code, number)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Screen {
    let posted = v.posted(&s, &headers, &body)?;
    let number = crate::api::feedback::feedback_number(&number)?;
    let text = posted.get("text").unwrap_or_default().to_string();
    // An empty or overlong answer shows the dossier's page again with why, as other posts do.
    let to = format!("/ho-so/{}", super::urlencode(&code));
    super::dossier::settle(&s, v, code, to, move |state, caller, code| {
        crate::api::feedback::answer_blocking(state, caller, code, number, text).map(|_| ())
    })
    .await
}

/// Unanswered feedback for the leader's screen.
pub struct Open {
    pub code: String,
    pub procedure: String,
    pub department: String,
    pub at: String,
    pub text: String,
}

/// How far back the leader's screen looks for feedback still unanswered.
const OPEN_DAYS: i64 = 90;
/// Pages of the audit log's postings it reads at most, so the screen stays within its time.
const OPEN_PAGES: usize = 4;

/// The feedback of the last 90 days still unanswered that `who` may answer, oldest first,
/// and whether the reading budget ran out before the end.
pub fn open_for(s: &crate::api::State, who: &Principal) -> Result<(Vec<Open>, bool), Problem> {
    if !who.is_officer() {
        return Ok((vec![], false));
    }
    let now = s.engine.clock().now();
    let filter = Filter {
        action: Some(motcua::dossier::transition::FEEDBACK.into()),
        from: now
            .checked_sub(jiff::SignedDuration::from_hours(24 * OPEN_DAYS))
            .ok(),
        ..Filter::default()
    };
    let mut seen = std::collections::HashSet::new();
    let mut out = vec![];
    let mut cursor: Option<String> = None;
    for _ in 0..OPEN_PAGES {
        let page = list(s.engine.store(), &filter, cursor.as_deref(), 200)
            .map_err(|e| Problem::from(motcua::Error::from(e)))?;
        for e in &page.entries {
            if !seen.insert(e.dossier.clone()) {
                continue;
            }
            let Ok(d) = s.engine.dossier(&e.dossier) else {
                continue;
            };
            let Ok(c) = s.engine.pinned_procedure(&d) else {
                continue;
            };
            if !access::may_read(who, &d, &c.procedure) {
                continue;
            }
            for f in d.feedback.iter().filter(|f| f.answer.is_none()) {
                if may_answer(&c, who, f.department.as_deref()) {
                    out.push(Open {
                        code: d.code.clone(),
                        procedure: c.procedure.name.clone(),
                        department: department_name(&c.procedure, f.department.as_deref()),
                        at: fmt::when(f.at),
                        text: f.text.clone(),
                    });
                }
            }
        }
        cursor = page.next;
        if cursor.is_none() {
            return Ok((out, false));
        }
    }
    Ok((out, true))
}
