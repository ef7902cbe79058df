//! The author's screens (admin): the catalogue, each procedure's diagram drawn on the server
//! with its versions and effective dates, and an upload that shows every diagnostic at its
//! line and column beside the source before anything is stored. Also the diagram as seen
//! from a dossier (`/ho-so/{code}/so-do`): the version it is pinned to with its active states
//! marked, for whoever may read that dossier, admin or not.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;

use super::diagram;
use super::{Html, Nav, Screen, Viewer, page, page_with, see_other};
use crate::api::dossiers::readable;
use crate::api::procedures::{Summary, summary};
use crate::api::{Shared, blocking};
use crate::auth::ADMIN;
use crate::problem::Problem;
use motcua::messages::diagnostics;
use motcua::messages::errors::NoNames;
use motcua::messages::simulate::screen as w;
use motcua::procedure::Diagnostic;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/thu-tuc", get(catalogue))
        .route("/thu-tuc/tai-len", get(upload_page).post(upload))
        .route("/thu-tuc/{id}", get(detail))
        .route("/ho-so/{code}/so-do", get(dossier_diagram))
}

/// `?zoom=` as typed; anything but an offered zoom draws at the default.
#[derive(serde::Deserialize)]
struct ZoomParams {
    zoom: Option<String>,
}

/// A drawn diagram and the zoom links around it (`diagram_view.html`).
struct Drawn {
    svg: String,
    error: String,
    /// (percent, link, is the current zoom)
    zooms: Vec<(u16, String, bool)>,
}

impl Drawn {
    /// Draws off the async workers: layout is CPU work proportional to the procedure.
    async fn draw(
        c: std::sync::Arc<motcua::catalog::Compiled>,
        current: Vec<String>,
        zoom: u16,
        link: impl Fn(u16) -> String,
    ) -> Result<Drawn, Problem> {
        let drawn = blocking(move || diagram::svg(&c.procedure, &current, zoom)).await?;
        let (svg, error) = match drawn {
            Ok(svg) => (svg, String::new()),
            Err(e) => (String::new(), e),
        };
        Ok(Drawn {
            svg,
            error,
            zooms: diagram::ZOOMS
                .iter()
                .map(|&z| (z, link(z), z == zoom))
                .collect(),
        })
    }
}

fn admin(s: &crate::api::State, v: &Viewer) -> Result<(), Problem> {
    v.caller.require(s, &[ADMIN], "authoring procedures")
}

#[derive(Template)]
#[template(path = "catalogue.html")]
struct Catalogue {
    nav: Nav,
    procedures: Vec<(Summary, usize)>,
}

async fn catalogue(State(s): State<Shared>, v: Viewer) -> Screen {
    admin(&s, &v)?;
    let procedures = s
        .engine
        .procedures()
        .iter()
        .map(|c| {
            let versions = s.engine.procedure_versions(&c.procedure.id).len();
            (summary(c), versions)
        })
        .collect();
    Ok(Html(page(&Catalogue {
        nav: v.nav("/thu-tuc"),
        procedures,
    })))
}

#[derive(Template)]
#[template(path = "procedure.html")]
struct Detail {
    nav: Nav,
    p: Summary,
    versions: Vec<Summary>,
    drawn: Drawn,
    departments: Vec<String>,
    roles: Vec<String>,
    documents: Vec<String>,
    limit: String,
}

async fn detail(
    State(s): State<Shared>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<ZoomParams>,
) -> Screen {
    admin(&s, &v)?;
    let c = s
        .engine
        .procedure(&id)
        .ok_or_else(|| Problem::not_found(motcua::messages::requests::procedure_not_found(&id)))?;
    let link = {
        let id = c.procedure.id.clone();
        move |z| format!("/thu-tuc/{id}?zoom={z}#so-do")
    };
    let drawn = Drawn::draw(c.clone(), vec![], diagram::zoom(q.zoom.as_deref()), link).await?;
    let p = &c.procedure;
    Ok(Html(page(&Detail {
        nav: v.nav("/thu-tuc"),
        versions: s
            .engine
            .procedure_versions(&id)
            .iter()
            .map(|x| summary(x))
            .collect(),
        drawn,
        departments: p.departments.iter().map(|d| d.name.clone()).collect(),
        roles: p.roles.iter().map(|r| r.name.clone()).collect(),
        documents: p.documents.iter().map(|d| d.name.clone()).collect(),
        limit: super::fmt::duration(p.limit.duration),
        p: summary(&c),
    })))
}

#[derive(Template)]
#[template(path = "diagram.html")]
struct DossierDiagram {
    nav: Nav,
    code: String,
    procedure: String,
    version: String,
    /// The active states' labels, as the legend names them.
    at: Vec<String>,
    drawn: Drawn,
}

/// The diagram of the procedure version a dossier is pinned to, its active states marked (the
/// ending's state once it is closed). Read access is the dossier page's own (`readable`).
async fn dossier_diagram(
    State(s): State<Shared>,
    v: Viewer,
    Path(code): Path<String>,
    Query(q): Query<ZoomParams>,
) -> Screen {
    let state = s.clone();
    let caller = v.caller.clone();
    let (d, c) = blocking(move || readable(&state, &caller, &code)).await??;
    let mut current: Vec<String> = vec![];
    for st in d
        .tokens
        .iter()
        .map(|t| &t.state)
        .chain(d.ending.iter().map(|e| &e.state))
    {
        if !current.contains(st) {
            current.push(st.clone());
        }
    }
    let at = current
        .iter()
        .map(|id| {
            c.procedure
                .state(id)
                .map_or_else(|| id.clone(), |x| x.label.clone())
        })
        .collect();
    let link = {
        let code = d.code.clone();
        move |z| format!("/ho-so/{code}/so-do?zoom={z}")
    };
    let drawn = Drawn::draw(c.clone(), current, diagram::zoom(q.zoom.as_deref()), link).await?;
    Ok(Html(page(&DossierDiagram {
        nav: v.nav(""),
        code: d.code.clone(),
        procedure: c.procedure.name.clone(),
        version: d.procedure_version.clone(),
        at,
        drawn,
    })))
}

/// A source line with the diagnostics that point into it.
struct Line {
    number: u32,
    text: String,
    notes: Vec<Note>,
}

/// One problem shown under its line, in the author's words (`motcua::messages::diagnostics`);
/// the code, a stable reference for the docs and support, is shown small beside it.
struct Note {
    at: String,
    code: String,
    message: String,
    hint: String,
    error: bool,
}

impl Note {
    fn of(d: &Diagnostic) -> Note {
        Note {
            at: format!("Dòng {}, cột {}", d.line, d.col),
            code: d.code.to_string(),
            message: diagnostics::sentence(d),
            hint: diagnostics::hint(d).unwrap_or_default(),
            error: d.is_error(),
        }
    }
}

/// What checking an upload found: diagnostics at their lines, or a refusal of the engine that
/// is not about a line (a plugin that does not compile, the store).
struct Found {
    diagnostics: Vec<Diagnostic>,
    refusal: Option<Note>,
}

impl Found {
    fn count(&self) -> usize {
        self.diagnostics.len() + usize::from(self.refusal.is_some())
    }
}

#[derive(Template)]
#[template(path = "upload.html")]
struct Upload {
    nav: Nav,
    id: String,
    source: String,
    lines: Vec<Line>,
    notes: usize,
    checked: bool,
    /// The server's scenarios, for "Dự báo" (name, its procedures, chosen).
    scenarios: Vec<(String, String, bool)>,
}

async fn upload_page(State(s): State<Shared>, v: Viewer) -> Screen {
    admin(&s, &v)?;
    Ok(Html(page(&Upload {
        nav: v.nav("/thu-tuc"),
        id: String::new(),
        source: String::new(),
        lines: vec![],
        notes: 0,
        checked: false,
        scenarios: super::forecast::choices(&s, None, ""),
    })))
}

/// The source with each diagnostic beside its line (a refusal without a line goes under the
/// first).
fn annotate(source: &str, found: Found) -> Vec<Line> {
    let mut lines: Vec<Line> = source
        .lines()
        .enumerate()
        .map(|(i, t)| Line {
            number: i as u32 + 1,
            text: t.to_string(),
            notes: vec![],
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line {
            number: 1,
            text: String::new(),
            notes: vec![],
        });
    }
    for d in &found.diagnostics {
        let idx = (d.line.max(1) as usize).min(lines.len()) - 1;
        lines[idx].notes.push(Note::of(d));
    }
    if let Some(refusal) = found.refusal {
        lines[0].notes.push(refusal);
    }
    lines
}

async fn upload(State(s): State<Shared>, v: Viewer, headers: HeaderMap, body: Bytes) -> Screen {
    admin(&s, &v)?;
    let posted = v.posted(&s, &headers, &body)?;
    let source = posted.get("source").unwrap_or("").replace("\r\n", "\n");
    let store = posted.get("store").is_some();
    let state = s.clone();
    let checked = {
        let source = source.clone();
        blocking(move || {
            let loaded = motcua::procedure::load_and_check_str(&source, "upload.yaml");
            let id = loaded.procedure.as_ref().map(|p| p.id.clone());
            let errors = loaded.has_errors();
            let mut found = Found {
                diagnostics: loaded.diagnostics,
                refusal: None,
            };
            if errors || !store {
                return Ok::<_, Problem>((id, found, None));
            }
            let Some(id) = id else {
                return Ok((None, found, None));
            };
            // The engine's own pipeline (plugins included) decides; its diagnostics too. The
            // id is the file's own, so the API's check that they agree has nothing to do here.
            match state.engine.upload_procedure(&id, source) {
                Ok(c) => Ok((Some(id), found, Some(summary(&c)))),
                Err(motcua::Error::Catalog(motcua::catalog::Error::Invalid {
                    diagnostics,
                    ..
                })) => {
                    found.diagnostics.extend(diagnostics);
                    Ok((Some(id), found, None))
                }
                Err(e) => {
                    found.refusal = Some(Note {
                        at: String::new(),
                        code: e.code().as_str().to_string(),
                        // The screen ends every note with its own full stop.
                        message: motcua::messages::errors::error(&e, &NoNames)
                            .trim_end_matches('.')
                            .to_string(),
                        hint: String::new(),
                        error: true,
                    });
                    Ok((Some(id), found, None))
                }
            }
        })
        .await??
    };
    let (id, found, stored) = checked;
    if let Some(stored) = stored {
        return see_other(&format!("/thu-tuc/{}", stored.id));
    }
    let notes = found.count();
    let status = if notes == 0 {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let shown = Upload {
        nav: v.nav("/thu-tuc"),
        id: id.unwrap_or_default(),
        lines: annotate(&source, found),
        notes,
        source,
        checked: true,
        scenarios: super::forecast::choices(&s, None, ""),
    };
    Ok(Html(page_with(status, &shown)))
}
