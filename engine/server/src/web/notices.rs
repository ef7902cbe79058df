//! The admin's screen of notices to applicants: each channel's backlog and the notices given
//! up after their last try, each with what went wrong and a button to send it again (the
//! API's `GET /v1/notices` and its replay).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use motcua::dossier::NoticeChannel;

use super::{Html, Nav, Screen, Viewer, fmt, page, see_other};
use crate::api::{Shared, blocking};
use crate::auth::ADMIN;
use crate::problem::Problem;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/thong-bao", get(show))
        .route("/thong-bao/{channel}/{id}", axum::routing::post(replay))
}

struct Letter {
    id: u64,
    dossier: String,
    to: String,
    what: String,
    tries: u32,
    at: String,
    error: String,
}

struct Channel {
    key: &'static str,
    name: &'static str,
    backlog: u64,
    letters: Vec<Letter>,
}

#[derive(Template)]
#[template(path = "notices.html")]
struct Screenful {
    nav: Nav,
    configured: bool,
    channels: Vec<Channel>,
    /// The outcome of a replay just asked for.
    said: Option<String>,
}

fn draw(s: &crate::api::State, v: &Viewer, said: Option<String>) -> Result<Screenful, Problem> {
    let states = crate::api::notices::channels(s).map_err(Problem::from)?;
    let channels = states
        .into_iter()
        .filter_map(|c| {
            let channel = NoticeChannel::ALL
                .into_iter()
                .find(|x| x.as_str() == c.channel)?;
            Some(Channel {
                key: channel.as_str(),
                name: motcua::messages::labels::notice_channel(channel),
                backlog: c.backlog,
                letters: c
                    .dead_letters
                    .iter()
                    .map(|l| {
                        let notice = serde_json::from_str::<crate::notify::Listed>(&l.body).ok();
                        Letter {
                            id: l.id,
                            dossier: notice
                                .as_ref()
                                .map(|n| n.dossier.clone())
                                .unwrap_or_default(),
                            to: notice.as_ref().map(|n| n.to.clone()).unwrap_or_default(),
                            what: notice
                                .as_ref()
                                .and_then(|n| motcua::notice::Kind::parse(&n.kind))
                                .map(|k| motcua::messages::labels::notice_kind(k).to_string())
                                .unwrap_or_else(|| {
                                    motcua::messages::labels::NOTICE_UNWORDED.into()
                                }),
                            tries: l.tries,
                            at: l
                                .at
                                .parse::<jiff::Timestamp>()
                                .map(fmt::when)
                                .unwrap_or_else(|_| l.at.clone()),
                            error: l.last_error.clone(),
                        }
                    })
                    .collect(),
            })
        })
        .collect();
    Ok(Screenful {
        nav: v.nav("/thong-bao"),
        configured: s.notices.is_some(),
        channels,
        said,
    })
}

async fn show(State(s): State<Shared>, v: Viewer) -> Screen {
    v.caller
        .require(&s, &[ADMIN], "reading notice deliveries")?;
    let state = s.clone();
    let screen = blocking(move || draw(&state, &v, None)).await??;
    Ok(Html(page(&screen)))
}

async fn replay(
    State(s): State<Shared>,
    v: Viewer,
    Path((channel, id)): Path<(String, u64)>,
    headers: HeaderMap,
    body: Bytes,
) -> Screen {
    v.caller.require(&s, &[ADMIN], "sending a notice again")?;
    v.posted(&s, &headers, &body)?;
    let not_found = || Problem::not_found(motcua::messages::requests::no_such_dead_letter());
    let channel = NoticeChannel::ALL
        .into_iter()
        .find(|c| c.as_str() == channel)
        .ok_or_else(not_found)?;
    let notices = s.notices.clone().ok_or_else(not_found)?;
    let said = match crate::notify::replay(&s.engine, &notices, channel, id).await? {
        None => return Err(not_found().into()),
        Some(Ok(())) => return see_other("/thong-bao"),
        Some(Err(e)) => motcua::messages::requests::notice_not_resent(&e),
    };
    let state = s.clone();
    let screen = blocking(move || draw(&state, &v, Some(said))).await??;
    Ok(Html(page(&screen)))
}
