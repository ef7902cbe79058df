//! The citizen heard, on the status page: the rating form once the result is out, feedback
//! and its answers, and the posts behind them (the same functions as
//! `/v1/status/{code}/rating` and `/feedback`, the same secret, the same rate limit).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::post;
use serde::Deserialize;

use super::{Posted, Screen, fmt, see_other};
use crate::api::feedback::{admit, rate_blocking, send_blocking};
use crate::api::status::{CitizenStatus, Peer};
use crate::api::{Shared, blocking};
use crate::problem::Problem;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/tra-cuu/{code}/danh-gia", post(rate))
        .route("/tra-cuu/{code}/phan-anh", post(send))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Secret {
    secret: String,
}

/// A piece of feedback as the page shows it.
pub struct FeedbackLine {
    pub number: u32,
    pub at: String,
    pub text: String,
    /// Empty until answered.
    pub answer: String,
    pub answered_at: String,
}

/// What the page says of the rating and feedback.
pub struct Voice {
    pub may_rate: bool,
    /// "Rất hài lòng" …, empty until rated.
    pub rated: String,
    pub rated_comment: String,
    pub may_send: bool,
    pub feedback: Vec<FeedbackLine>,
    pub rate_to: String,
    pub send_to: String,
}

fn instant(text: &str) -> String {
    text.parse::<jiff::Timestamp>()
        .map(fmt::when)
        .unwrap_or_else(|_| text.to_string())
}

pub fn voice(v: &CitizenStatus, code: &str, secret: &str) -> Voice {
    let to = |path: &str| {
        format!(
            "/tra-cuu/{}/{path}?secret={}",
            super::urlencode(code),
            super::urlencode(secret)
        )
    };
    Voice {
        may_rate: v.may_rate,
        rated: v
            .rating
            .as_ref()
            .map(|r| r.level_label.clone())
            .unwrap_or_default(),
        rated_comment: v
            .rating
            .as_ref()
            .and_then(|r| r.comment.clone())
            .unwrap_or_default(),
        may_send: v.may_send_feedback,
        feedback: v
            .feedback
            .iter()
            .map(|f| FeedbackLine {
                number: f.number,
                at: instant(&f.at),
                text: f.text.clone(),
                answer: f
                    .answer
                    .as_ref()
                    .map(|a| a.text.clone())
                    .unwrap_or_default(),
                answered_at: f
                    .answer
                    .as_ref()
                    .map(|a| instant(&a.at))
                    .unwrap_or_default(),
            })
            .collect(),
        rate_to: to("danh-gia"),
        send_to: to("phan-anh"),
    }
}

fn back(code: &str, secret: &str) -> Screen {
    see_other(&format!(
        "/tra-cuu/{}?secret={}",
        super::urlencode(code),
        super::urlencode(secret)
    ))
}

async fn rate(
    State(s): State<Shared>,
    Peer(peer): Peer,
    Path(code): Path<String>,
    Query(q): Query<Secret>,
    headers: HeaderMap,
    body: Bytes,
) -> Screen {
    let form = Posted::parse(&headers, &body, s.public_url.as_deref())?;
    admit(&s, peer, &code, &q.secret)?;
    let level = form
        .get("level")
        .and_then(motcua::dossier::feedback::Level::parse)
        .ok_or_else(|| {
            Problem::bad_request(
                "invalid_request",
                motcua::messages::requests::rating_level_missing(),
            )
        })?;
    let comment = form.get("comment").map(String::from);
    let (state, c) = (s.clone(), code.clone());
    blocking(move || rate_blocking(&state, &c, level, comment)).await??;
    back(&code, &q.secret)
}

async fn send(
    State(s): State<Shared>,
    Peer(peer): Peer,
    Path(code): Path<String>,
    Query(q): Query<Secret>,
    headers: HeaderMap,
    body: Bytes,
) -> Screen {
    let form = Posted::parse(&headers, &body, s.public_url.as_deref())?;
    admit(&s, peer, &code, &q.secret)?;
    let text = form.get("text").unwrap_or_default().to_string();
    let (state, c) = (s.clone(), code.clone());
    blocking(move || send_blocking(&state, &c, text)).await??;
    back(&code, &q.secret)
}
