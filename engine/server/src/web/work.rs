//! Việc của tôi (an officer's steps to act on) and the leader's view of what is late or
//! nearly so. Both read pages of the store's indexes (a department's open steps, the overdue
//! appointments), never the whole store, so a page costs the same with 100,000 dossiers.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use motcua::audit::SystemAction;
use motcua::deadline::ClockState;
use motcua::dossier::Dossier;
use motcua::store::Query as Index;
use serde::Deserialize;

use super::fmt;
use super::{Html, Nav, Screen, Viewer, page};
use crate::access;
use crate::api::{Shared, blocking};
use crate::problem::Problem;
use motcua::messages::simulate::screen as w;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/viec-cua-toi", get(inbox))
        .route("/lanh-dao", get(leader))
}

/// A step waiting on someone, as a row.
pub struct Row {
    pub code: String,
    pub procedure: String,
    pub applicant: String,
    pub state: String,
    pub department: String,
    /// The department's id (the leader's counts group by it).
    pub department_id: String,
    pub due: String,
    pub appointment: String,
    /// `overdue`, `due_soon`, `not_due` or `paused`.
    pub clock: &'static str,
    pub clock_label: &'static str,
    /// Late by how much, or the working time left, in days and hours.
    pub standing: String,
    /// The share of the step's budget used, capped at 100 for the bar's width.
    pub bar: u64,
    /// Escalations and warnings the scheduler fired on this dossier (leader's view).
    pub escalations: Vec<String>,
    /// Covering for an absent colleague: "Thay … (vắng đến …)"; empty for my own.
    pub covering: String,
    rank: (u8, i64),
}

/// The clock's CSS class, its words and its place in the list (overdue first).
fn clock_words(c: ClockState) -> (&'static str, &'static str, u8) {
    let order = match c {
        ClockState::Overdue => 0,
        ClockState::DueSoon => 1,
        ClockState::NotDue => 2,
        ClockState::Paused => 3,
    };
    (
        super::labels::clock_class(c),
        super::labels::clock(Some(c)),
        order,
    )
}

/// The rows of `d`'s active steps that `keep` accepts.
fn rows_of(
    s: &crate::api::State,
    d: &Dossier,
    keep: &dyn Fn(&motcua::procedure::Procedure, &motcua::dossier::Token) -> bool,
) -> Vec<Row> {
    let Ok(c) = s.engine.pinned_procedure(d) else {
        return vec![];
    };
    let p = &c.procedure;
    let Ok(clocks) = s.engine.clocks(d) else {
        return vec![];
    };
    d.tokens
        .iter()
        .filter(|t| !t.waiting && keep(p, t))
        .map(|t| {
            let step = clocks.steps.iter().find(|x| x.state == t.state);
            let state = step.map_or(ClockState::NotDue, |x| x.clock);
            let (clock, clock_label, order) = clock_words(state);
            let used = fmt::percent(step.and_then(|x| x.used_permille));
            let due = step.and_then(|x| x.due_at).or(t.due_at);
            let standing = fmt::standing(
                s.engine.calendar().as_ref(),
                s.engine.clock().now(),
                Some(state),
                due,
                None,
            );
            Row {
                code: d.code.clone(),
                procedure: p.name.clone(),
                applicant: d.applicant.name.clone(),
                state: p
                    .state(&t.state)
                    .map_or_else(|| t.state.clone(), |x| x.label.clone()),
                department: t
                    .department
                    .as_ref()
                    .and_then(|id| p.departments.iter().find(|x| &x.id == id))
                    .map_or_else(String::new, |x| x.name.clone()),
                department_id: t.department.clone().unwrap_or_default(),
                due: due.map(fmt::appointment).unwrap_or_else(|| "—".into()),
                appointment: fmt::appointment(d.clock.due_at),
                clock,
                clock_label,
                standing,
                bar: used.min(100),
                escalations: vec![],
                covering: String::new(),
                rank: (order, due.unwrap_or(d.clock.due_at).as_millisecond()),
            }
        })
        .collect()
}

/// Overdue first, then due soon, each earliest due first.
fn sort(rows: &mut [Row]) {
    rows.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.code.cmp(&b.code)));
}

/// Whether `who` holds a role of an action leaving state `state`: the step waits for them.
fn waits_for(who: &crate::auth::Principal, p: &motcua::procedure::Procedure, state: &str) -> bool {
    p.actions
        .iter()
        .filter(|a| a.from == state)
        .any(|a| a.roles.iter().any(|r| who.roles.contains(r)))
}

/// One page of a department's open steps, most urgent first, from the store's index.
fn department_page(
    s: &crate::api::State,
    department: &str,
    cursor: Option<&str>,
) -> Result<motcua::Listing, Problem> {
    // In due order across all pages (the `dd` index: each step's own due, else the
    // appointment), so page 1 holds the most urgent of the department, not of a code range.
    let query = Index::Search(Box::new(motcua::store::Search {
        department: Some(department.to_string()),
        scope: motcua::store::Scope::Open,
        sort: motcua::store::Sort::Due,
        ..Default::default()
    }));
    s.engine.list(&query, cursor, PAGE).map_err(Problem::from)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InboxParams {
    /// The department to show (one of the officer's).
    phong: Option<String>,
    /// The next page's cursor.
    sau: Option<String>,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct Inbox {
    nav: Nav,
    /// (id, name, shown now).
    departments: Vec<(String, String, bool)>,
    department: String,
    department_name: String,
    /// Steps given to me by name, in any of my departments.
    mine: Vec<Row>,
    rows: Vec<Row>,
    next: Option<String>,
}

const PAGE: usize = 50;
/// Pages of an index the leader's view reads at most per list, so it stays within its time
/// with any number of dossiers (what is past the budget is said on the page).
const LEADER_PAGES: usize = 6;

async fn inbox(State(s): State<Shared>, v: Viewer, Query(q): Query<InboxParams>) -> Screen {
    if !v.who().is_officer() {
        let reason = format!("{} is not an officer", v.who().subject);
        return Err(v.caller.forbid(&s, reason).into());
    }
    let department = match q.phong {
        Some(d) if v.who().departments.contains(&d) => d,
        Some(d) => {
            let reason = format!("{} is not in department {d}", v.who().subject);
            return Err(v.caller.forbid(&s, reason).into());
        }
        None => v
            .who()
            .departments
            .first()
            .cloned()
            .ok_or_else(|| Problem::forbidden("no department"))?,
    };
    let state = s.clone();
    let who = v.who().clone();
    let dep = department.clone();
    let scope = format!("viec-cua-toi\n{}\n{department}", who.subject);
    let (rows, next, mine) = blocking(move || {
        let cursor = match &q.sau {
            Some(c) => Some(state.cursors.open(&scope, c)?),
            None => None,
        };
        let page = department_page(&state, &dep, cursor.as_deref())?;
        let mut rows = vec![];
        let mut seen = std::collections::HashSet::new();
        for d in &page.dossiers {
            // A dossier with two steps here is listed once per step by the index.
            if !seen.insert(d.code.clone()) {
                continue;
            }
            let Ok(c) = state.engine.pinned_procedure(d) else {
                continue;
            };
            if !access::may_read(&who, d, &c.procedure) {
                continue;
            }
            // Waiting for anyone of my roles: not yet given to a named officer.
            rows.extend(rows_of(&state, d, &|p, t| {
                t.department.as_deref() == Some(dep.as_str())
                    && t.assignee.is_none()
                    && waits_for(&who, p, &t.state)
            }));
        }
        sort(&mut rows);
        let next = page.next.map(|n| state.cursors.seal(&scope, &n));
        // Given to me by name, most urgent first (the `as` index), before the rest.
        let assigned = state
            .engine
            .list(
                &Index::Search(Box::new(motcua::store::Search {
                    assignee: Some(who.subject.clone()),
                    scope: motcua::store::Scope::Open,
                    sort: motcua::store::Sort::Due,
                    ..Default::default()
                })),
                None,
                PAGE,
            )
            .map_err(Problem::from)?;
        let mut mine = vec![];
        let mut shown = std::collections::HashSet::new();
        for d in &assigned.dossiers {
            if !shown.insert(d.code.clone()) {
                continue;
            }
            let Ok(c) = state.engine.pinned_procedure(d) else {
                continue;
            };
            if !access::may_read(&who, d, &c.procedure) {
                continue;
            }
            mine.extend(rows_of(&state, d, &|_, t| {
                t.assignee.as_deref() == Some(who.subject.as_str())
            }));
        }
        // Colleagues away today whose named work I cover (the tokens file's `away`).
        let today = state
            .engine
            .calendar()
            .local_date(state.engine.clock().now());
        for (absent, away) in state.auth.covered_by(&who.subject, today) {
            let theirs = state
                .engine
                .list(
                    &Index::Search(Box::new(motcua::store::Search {
                        assignee: Some(absent.clone()),
                        scope: motcua::store::Scope::Open,
                        sort: motcua::store::Sort::Due,
                        ..Default::default()
                    })),
                    None,
                    PAGE,
                )
                .map_err(Problem::from)?;
            let note = format!(
                "Thay {} (vắng đến {})",
                super::person(&state, &absent),
                away.until.strftime("%d/%m/%Y")
            );
            for d in &theirs.dossiers {
                if !shown.insert(format!("{absent}\n{}", d.code)) {
                    continue;
                }
                let Ok(c) = state.engine.pinned_procedure(d) else {
                    continue;
                };
                if !access::may_read(&who, d, &c.procedure) {
                    continue;
                }
                for mut row in rows_of(&state, d, &|_, t| {
                    t.assignee.as_deref() == Some(absent.as_str())
                }) {
                    row.covering = note.clone();
                    mine.push(row);
                }
            }
        }
        sort(&mut mine);
        Ok::<_, Problem>((rows, next, mine))
    })
    .await??;
    let names = crate::api::audit::names(&s);
    let departments = v
        .who()
        .departments
        .iter()
        .map(|d| (d.clone(), names.department(d), d == &department))
        .collect();
    let department_name = names.department(&department);
    Ok(Html(page(&Inbox {
        nav: v.nav("/viec-cua-toi"),
        departments,
        department,
        department_name,
        mine,
        rows,
        next,
    })))
}

#[derive(Template)]
#[template(path = "leader.html")]
struct Leader {
    nav: Nav,
    /// The leader's departments (id, name, shown now); none shown means all.
    departments: Vec<(String, String, bool)>,
    /// Every department is shown (no `phong` filter).
    all: bool,
    /// Per department: (name, dossiers past their appointment, steps past their own budget,
    /// steps due soon).
    counts: Vec<(String, usize, usize, usize)>,
    overdue: Vec<Row>,
    /// Steps past their own budget in dossiers still within their appointment.
    late_steps: Vec<Row>,
    due_soon: Vec<Row>,
    /// The reading budget ran out before a full page was found: the lists may miss some.
    cut: bool,
    /// Feedback the leader may answer, still unanswered (and whether its reading was cut).
    feedback: Vec<super::feedback::Open>,
    feedback_cut: bool,
}

#[derive(serde::Deserialize, Default)]
struct LeaderParams {
    /// One of the leader's departments; all of them when absent.
    phong: Option<String>,
}

async fn leader(State(s): State<Shared>, v: Viewer, Query(q): Query<LeaderParams>) -> Screen {
    if !v.who().is_officer() {
        let reason = format!("{} is not an officer", v.who().subject);
        return Err(v.caller.forbid(&s, reason).into());
    }
    let shown = q.phong.filter(|d| !d.is_empty());
    if let Some(d) = &shown
        && !v.who().departments.contains(d)
    {
        let reason = format!("{} is not in department {d}", v.who().subject);
        return Err(v.caller.forbid(&s, reason).into());
    }
    let state = s.clone();
    let mut who = v.who().clone();
    if let Some(d) = &shown {
        who.departments = vec![d.clone()];
    }
    let departments_of = who.departments.clone();
    let lists = blocking(move || {
        let mine = |t: &motcua::dossier::Token| {
            t.department
                .as_ref()
                .is_some_and(|d| who.departments.contains(d))
        };
        let now = state.engine.clock().now();
        let mut cut = false;
        // Past the appointment: the store's overdue index, earliest appointment first, read
        // page by page until a page of the leader's own is found or the budget is spent.
        let mut overdue: Vec<Row> = vec![];
        let mut cursor: Option<String> = None;
        for read in 0.. {
            if read == LEADER_PAGES {
                cut = true;
                break;
            }
            let late = state
                .engine
                .list(&Index::Overdue { now }, cursor.as_deref(), PAGE)
                .map_err(Problem::from)?;
            for d in &late.dossiers {
                let Ok(c) = state.engine.pinned_procedure(d) else {
                    continue;
                };
                // The store's overdue listing already holds each dossier to
                // `Dossier::is_overdue_at`; checked again for the instant the page was read.
                if !d.is_overdue_at(now)
                    || !access::may_read(&who, d, &c.procedure)
                    || !d.tokens.iter().any(mine)
                {
                    continue;
                }
                let mut rows = rows_of(&state, d, &|_, t| mine(t));
                // The dossier's alarms once, on its first line.
                if let Some(first) = rows.first_mut() {
                    first.escalations = escalations(&state, d);
                }
                overdue.extend(rows);
            }
            cursor = late.next;
            if cursor.is_none() || overdue.len() >= PAGE {
                break;
            }
        }
        // Steps near or past their own budget, department by department, with the same budget.
        let mut due_soon: Vec<Row> = vec![];
        for dep in &who.departments {
            let mut cursor: Option<String> = None;
            for read in 0.. {
                if read == LEADER_PAGES {
                    cut = true;
                    break;
                }
                let page = department_page(&state, dep, cursor.as_deref())?;
                for d in &page.dossiers {
                    // A dossier late as a whole is listed there; one with steps in two of
                    // my departments is read once for each.
                    if overdue.iter().any(|r| r.code == d.code)
                        || due_soon
                            .iter()
                            .any(|r| r.code == d.code && &r.department_id == dep)
                    {
                        continue;
                    }
                    let mut rows = rows_of(&state, d, &|_, t| t.department.as_ref() == Some(dep));
                    rows.retain(|r| r.clock == "overdue" || r.clock == "due_soon");
                    if let Some(first) = rows.first_mut() {
                        first.escalations = escalations(&state, d);
                    }
                    due_soon.extend(rows);
                }
                cursor = page.next;
                if cursor.is_none() || due_soon.len() >= PAGE {
                    break;
                }
            }
        }
        // Each step in one list: a step past its own budget is not "due soon".
        let (mut late_steps, mut due_soon): (Vec<Row>, Vec<Row>) =
            due_soon.into_iter().partition(|r| r.clock == "overdue");
        sort(&mut overdue);
        sort(&mut late_steps);
        sort(&mut due_soon);
        let feedback = super::feedback::open_for(&state, &who)?;
        Ok::<_, Problem>((overdue, late_steps, due_soon, cut, feedback))
    })
    .await??;
    let (overdue, late_steps, due_soon, cut, (feedback, feedback_cut)) = lists;
    let names = crate::api::audit::names(&s);
    let counts = departments_of
        .iter()
        .map(|d| {
            let steps = |rows: &[Row]| rows.iter().filter(|r| &r.department_id == d).count();
            let late: std::collections::BTreeSet<&str> = overdue
                .iter()
                .filter(|r| &r.department_id == d)
                .map(|r| r.code.as_str())
                .collect();
            (
                names.department(d),
                late.len(),
                steps(&late_steps),
                steps(&due_soon),
            )
        })
        .collect();
    let departments = v
        .who()
        .departments
        .iter()
        .map(|d| (d.clone(), names.department(d), shown.as_ref() == Some(d)))
        .collect();
    Ok(Html(page(&Leader {
        nav: v.nav("/lanh-dao"),
        departments,
        all: shown.is_none(),
        counts,
        overdue,
        late_steps,
        due_soon,
        cut,
        feedback,
        feedback_cut,
    })))
}

/// The warnings and escalations the scheduler recorded on `d`, as lines.
fn escalations(s: &crate::api::State, d: &Dossier) -> Vec<String> {
    let Ok(history) = s.engine.history(&d.code) else {
        return vec![];
    };
    let procedure = s.engine.pinned_procedure(d).ok();
    history
        .iter()
        .filter_map(|e| match SystemAction::of(&e.action)? {
            a @ (SystemAction::Escalation | SystemAction::Warning | SystemAction::Overdue) => {
                Some((e, a))
            }
            _ => None,
        })
        .map(|(e, a)| {
            let said = match &procedure {
                Some(c) => {
                    motcua::messages::events::system_step(a, &e.input, &c.procedure, &|id| {
                        super::person(s, id)
                    })
                }
                None => super::labels::system_action(a).to_string(),
            };
            format!("{} — {said}", fmt::when(e.at))
        })
        .collect()
}
