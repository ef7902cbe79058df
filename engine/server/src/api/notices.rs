//! Notices to applicants, for operators: each channel's cursor, backlog and dead letters,
//! and sending a dead letter again once the provider is back.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use motcua::dossier::NoticeChannel;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Shared, blocking, json};
use crate::auth::{ADMIN, AUDITOR};
use crate::feed::{self, DeadLetter};
use crate::notify;
use crate::problem::Problem;

/// One channel's delivery state.
#[derive(Serialize, ToSchema)]
pub struct ChannelState {
    /// `email` or `sms`.
    pub channel: String,
    /// The last outbox event passed (sent, dead-lettered or not a notice for it).
    pub cursor: u64,
    /// Outbox events after the cursor.
    pub backlog: u64,
    /// Notices given up after the last try, oldest first (at most 1,000): `body` is the
    /// notice as JSON (recipient, subject, text, key).
    #[schema(value_type = Vec<Object>)]
    pub dead_letters: Vec<DeadLetter>,
}

/// The channels configured and where each stands.
pub fn channels(s: &super::State) -> Result<Vec<ChannelState>, motcua::Error> {
    let Some(n) = &s.notices else {
        return Ok(vec![]);
    };
    let head = s.engine.store().outbox_head()?;
    let mut out = vec![];
    for (channel, _) in &n.senders {
        let cursor = feed::cursor(&s.engine, &notify::cursor_mark(*channel))?;
        out.push(ChannelState {
            channel: channel.as_str().into(),
            cursor,
            backlog: head.saturating_sub(cursor),
            dead_letters: feed::dead_letters(&s.engine, &notify::dead_prefix(*channel), 1000)?,
        });
    }
    Ok(out)
}

#[utoipa::path(get, path = "/v1/notices", tag = "notices", operation_id = "list_notice_channels",
    responses((status = 200, description = "Each notice channel's cursor, backlog and dead letters", body = [ChannelState]),
        (status = 403, description = "Neither an admin nor an auditor")),
    security(("bearer" = [])))]
pub async fn list(State(s): State<Shared>, caller: super::Caller) -> Result<Response, Problem> {
    caller.require(&s, &[ADMIN, AUDITOR], "reading notice deliveries")?;
    let state = s.clone();
    let list = blocking(move || channels(&state))
        .await?
        .map_err(Problem::from)?;
    Ok(json(StatusCode::OK, &list))
}

/// How sending a dead letter again went.
#[derive(Serialize, ToSchema)]
pub struct Replayed {
    pub delivered: bool,
    /// The provider's refusal, when it was not delivered (the letter stays listed).
    pub last_error: Option<String>,
}

#[utoipa::path(post, path = "/v1/notices/{channel}/dead-letters/{seq}/replay", tag = "notices",
    operation_id = "replay_notice",
    params(("channel" = super::contact::NoticeBy, Path, description = "`email` or `sms`"),
        ("seq" = u64, Path, description = "The dead letter's outbox sequence number")),
    responses((status = 200, description = "Sent (the letter leaves the list) or refused again (it stays, with the new error)", body = Replayed),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such channel or dead letter")),
    security(("bearer" = [])))]
pub async fn replay(
    State(s): State<Shared>,
    caller: super::Caller,
    Path((channel, id)): Path<(String, u64)>,
) -> Result<Response, Problem> {
    caller.require(&s, &[ADMIN], "sending a notice again")?;
    let not_found = || Problem::not_found(motcua::messages::requests::no_such_dead_letter());
    let channel = NoticeChannel::ALL
        .into_iter()
        .find(|c| c.as_str() == channel)
        .ok_or_else(not_found)?;
    let notices = s.notices.clone().ok_or_else(not_found)?;
    match notify::replay(&s.engine, &notices, channel, id).await? {
        None => Err(not_found()),
        Some(outcome) => Ok(json(
            StatusCode::OK,
            &Replayed {
                delivered: outcome.is_ok(),
                last_error: outcome.err(),
            },
        )),
    }
}
