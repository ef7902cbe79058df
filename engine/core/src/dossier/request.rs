//! The requests portals send: a [`Submission`] receives a dossier, an [`ActionRequest`] moves
//! one. Both refuse unknown fields by name, so a misspelt field (an `idempotency_key` written
//! `idempotencyKey`) is an error, not a silently dropped retry guard.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Actor, Applicant, Channel};

/// A request to receive a new dossier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    pub procedure: String,
    pub applicant: Applicant,
    pub channel: Channel,
    #[serde(default)]
    pub data: serde_json::Value,
    /// Ids of the documents handed in, from the procedure's checklist.
    #[serde(default)]
    pub documents: Vec<String>,
    /// The papers themselves: files the store keeps, each answering a checklist item (an
    /// item with a paper counts as handed in). Attached by the receipt's own transition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub papers: Vec<crate::dossier::paper::Brought>,
    /// Portals retry with the same key; the same key returns the same dossier, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The officer receiving at the desk, or the portal's service account.
    pub received_by: Actor,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
    /// The receiving officer's note, recorded on the receipt's audit entry (the desk's reason
    /// for receiving without a required document, for instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A request to give an active step to a named officer (a claim when it is the actor
/// themself), or back to its department (`assignee: None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub dossier: String,
    /// The active step (its state id).
    pub state: String,
    /// The officer it goes to, by id; `None` gives it back to the department.
    pub assignee: Option<String>,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The dossier version the actor saw.
    pub seen_version: u64,
}

impl AssignRequest {
    /// Checks every id and bound (see [`limits`]); the first bad field is the error.
    pub fn check(&self) -> Result<(), BadField> {
        id(&self.dossier).map_err(|p| bad(|| "dossier".into(), p))?;
        id(&self.state).map_err(|p| bad(|| "state".into(), p))?;
        if let Some(a) = &self.assignee {
            id(a).map_err(|p| bad(|| "assignee".into(), p))?;
        }
        actor("actor", &self.actor)?;
        if let Some(c) = &self.comment {
            text(c, limits::TEXT_BYTES).map_err(|p| bad(|| "comment".into(), p))?;
        }
        Ok(())
    }
}

/// A request to attach a paper (already kept by the store) to a dossier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachRequest {
    pub dossier: String,
    /// The checklist item or result kind it is.
    pub kind: String,
    pub file: crate::dossier::paper::File,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl AttachRequest {
    /// Checks every id and bound (see [`limits`]); the first bad field is the error.
    pub fn check(&self) -> Result<(), BadField> {
        id(&self.dossier).map_err(|p| bad(|| "dossier".into(), p))?;
        id(&self.kind).map_err(|p| bad(|| "kind".into(), p))?;
        digest(&self.file.sha256).map_err(|p| bad(|| "file.sha256".into(), p))?;
        text(&self.file.name, 512).map_err(|p| bad(|| "file.name".into(), p))?;
        actor("actor", &self.actor)?;
        if let Some(c) = &self.comment {
            text(c, limits::TEXT_BYTES).map_err(|p| bad(|| "comment".into(), p))?;
        }
        Ok(())
    }
}

/// A request to perform an action on a dossier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub dossier: String,
    pub action: String,
    pub actor: Actor,
    #[serde(default)]
    pub input: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The dossier version the actor saw; a stale version is refused.
    pub seen_version: u64,
    /// An officer takes the applicant's action for them (a supplement or withdrawal handed in
    /// on paper at the counter): only the procedure's [`on_behalf`] roles may.
    ///
    /// [`on_behalf`]: crate::procedure::Procedure::on_behalf
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_behalf: bool,
}

/// Bounds on what a request may carry. Ids go into storage keys and audit entries, so they are
/// checked at the door: a control character (U+0000 above all, the key separator) or an id
/// of a megabyte is refused before anything is computed.
pub mod limits {
    /// Longest applicant, actor, role, department, procedure, action or dossier id, in bytes.
    pub const ID_BYTES: usize = 128;
    /// Longest idempotency key, in bytes.
    pub const IDEMPOTENCY_KEY_BYTES: usize = 256;
    /// Longest applicant name or comment, in bytes.
    pub const TEXT_BYTES: usize = 16 * 1024;
    /// Most roles or departments on an actor, documents on a submission, meta entries.
    pub const LIST_ITEMS: usize = 256;
}

/// A field of a request that cannot be accepted, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct BadField {
    /// Where, as a dotted path (`applicant.id`, `actor.roles[2]`).
    pub field: String,
    pub problem: String,
}

// The checks run on every request, so a field's name is only formatted when it is bad.

fn bad(field: impl FnOnce() -> String, problem: String) -> BadField {
    BadField {
        field: field(),
        problem,
    }
}

fn id(value: &str) -> Result<(), String> {
    token(value, limits::ID_BYTES)
}

/// Non-empty, at most `max` bytes, no control character, no white space around it.
fn token(value: &str, max: usize) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.len() > max {
        return Err(format!(
            "is {} bytes long; at most {max} are allowed",
            value.len()
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(format!(
            "contains the control character U+{:04X}",
            u32::from(c)
        ));
    }
    if value.trim() != value {
        return Err("must not start or end with white space".into());
    }
    Ok(())
}

fn text(value: &str, max: usize) -> Result<(), String> {
    if value.len() > max {
        return Err(format!(
            "is {} bytes long; at most {max} are allowed",
            value.len()
        ));
    }
    if value.contains('\0') {
        return Err("contains U+0000".into());
    }
    Ok(())
}

/// A file's name in the store: 64 lower-case hex digits.
fn digest(value: &str) -> Result<(), String> {
    let ok = value.len() == 64
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err("must be 64 lower-case hex digits".into())
    }
}

fn list<T>(items: &[T]) -> Result<(), String> {
    if items.len() > limits::LIST_ITEMS {
        return Err(format!(
            "has {} entries; at most {} are allowed",
            items.len(),
            limits::LIST_ITEMS
        ));
    }
    Ok(())
}

fn actor(field: &str, a: &Actor) -> Result<(), BadField> {
    id(&a.id).map_err(|p| bad(|| format!("{field}.id"), p))?;
    list(&a.roles).map_err(|p| bad(|| format!("{field}.roles"), p))?;
    list(&a.departments).map_err(|p| bad(|| format!("{field}.departments"), p))?;
    for (i, r) in a.roles.iter().enumerate() {
        id(r).map_err(|p| bad(|| format!("{field}.roles[{i}]"), p))?;
    }
    for (i, d) in a.departments.iter().enumerate() {
        id(d).map_err(|p| bad(|| format!("{field}.departments[{i}]"), p))?;
    }
    Ok(())
}

/// Checks an applicant's contact: a phone of digits, an e-mail address of one mailbox, and a
/// consent naming each channel once and only a channel the contact has an address for.
fn contact(
    field: &str,
    phone: Option<&str>,
    email: Option<&str>,
    notify_by: &[crate::dossier::NoticeChannel],
) -> Result<(), BadField> {
    use crate::dossier::NoticeChannel;
    if let Some(phone) = phone {
        let ok = phone.len() <= 32
            && phone
                .chars()
                .all(|c| c.is_ascii_digit() || " .+-()".contains(c));
        if !ok {
            return Err(bad(
                || format!("{field}.phone"),
                "must be at most 32 characters of digits, spaces and + . - ( )".into(),
            ));
        }
    }
    if let Some(email) = email
        && !is_mailbox(email)
    {
        return Err(bad(
            || format!("{field}.email"),
            "must be one e-mail address (name@domain.vn), at most 254 characters".into(),
        ));
    }
    for (i, c) in notify_by.iter().enumerate() {
        if notify_by[..i].contains(c) {
            return Err(bad(
                || format!("{field}.notify_by[{i}]"),
                format!("names '{}' twice", c.as_str()),
            ));
        }
        let has = match c {
            NoticeChannel::Email => email.is_some(),
            NoticeChannel::Sms => phone.is_some_and(|p| p.chars().any(|c| c.is_ascii_digit())),
        };
        if !has {
            return Err(bad(
                || format!("{field}.notify_by[{i}]"),
                format!(
                    "consent to '{}' needs the {}",
                    c.as_str(),
                    match c {
                        NoticeChannel::Email => "e-mail address",
                        NoticeChannel::Sms => "phone number",
                    }
                ),
            ));
        }
    }
    Ok(())
}

/// One plain mailbox `local@domain.tld`: no display name, comment, quoting, space or control
/// character, so the address cannot carry a second recipient or a header.
pub fn is_mailbox(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// A request to change how an applicant is reached: the desk records a new phone number,
/// e-mail address or consent to notices (the applicant asks at the counter or by phone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    pub dossier: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub notify_by: Vec<crate::dossier::NoticeChannel>,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The dossier version the desk saw.
    pub seen_version: u64,
}

impl ContactRequest {
    /// Checks every id and bound; the first bad field is the error.
    pub fn check(&self) -> Result<(), BadField> {
        id(&self.dossier).map_err(|p| bad(|| "dossier".into(), p))?;
        contact(
            "contact",
            self.phone.as_deref(),
            self.email.as_deref(),
            &self.notify_by,
        )?;
        actor("actor", &self.actor)?;
        if let Some(c) = &self.comment {
            text(c, limits::TEXT_BYTES).map_err(|p| bad(|| "comment".into(), p))?;
        }
        Ok(())
    }
}

impl Submission {
    /// Checks every id and bound (see [`limits`]); the first bad field is the error.
    pub fn check(&self) -> Result<(), BadField> {
        id(&self.procedure).map_err(|p| bad(|| "procedure".into(), p))?;
        id(&self.applicant.id).map_err(|p| bad(|| "applicant.id".into(), p))?;
        text(&self.applicant.name, limits::TEXT_BYTES)
            .map_err(|p| bad(|| "applicant.name".into(), p))?;
        contact(
            "applicant",
            self.applicant.phone.as_deref(),
            self.applicant.email.as_deref(),
            &self.applicant.notify_by,
        )?;
        if let Some(c) = &self.comment {
            text(c, limits::TEXT_BYTES).map_err(|p| bad(|| "comment".into(), p))?;
        }
        actor("received_by", &self.received_by)?;
        list(&self.documents).map_err(|p| bad(|| "documents".into(), p))?;
        for (i, d) in self.documents.iter().enumerate() {
            id(d).map_err(|p| bad(|| format!("documents[{i}]"), p))?;
        }
        list(&self.papers).map_err(|p| bad(|| "papers".into(), p))?;
        for (i, b) in self.papers.iter().enumerate() {
            id(&b.kind).map_err(|p| bad(|| format!("papers[{i}].kind"), p))?;
            digest(&b.file.sha256).map_err(|p| bad(|| format!("papers[{i}].file.sha256"), p))?;
            text(&b.file.name, 512).map_err(|p| bad(|| format!("papers[{i}].file.name"), p))?;
            if let Some(from) = &b.from {
                id(from).map_err(|p| bad(|| format!("papers[{i}].from"), p))?;
            }
        }
        if let Some(key) = &self.idempotency_key {
            token(key, limits::IDEMPOTENCY_KEY_BYTES)
                .map_err(|p| bad(|| "idempotency_key".into(), p))?;
        }
        if self.meta.len() > limits::LIST_ITEMS {
            return Err(bad(
                || "meta".into(),
                format!("has more than {} entries", limits::LIST_ITEMS),
            ));
        }
        for (k, v) in &self.meta {
            id(k).map_err(|p| bad(|| format!("meta key '{}'", k.escape_debug()), p))?;
            text(v, limits::TEXT_BYTES).map_err(|p| bad(|| format!("meta.{k}"), p))?;
        }
        Ok(())
    }
}

impl ActionRequest {
    /// Checks every id and bound (see [`limits`]); the first bad field is the error.
    pub fn check(&self) -> Result<(), BadField> {
        id(&self.dossier).map_err(|p| bad(|| "dossier".into(), p))?;
        id(&self.action).map_err(|p| bad(|| "action".into(), p))?;
        actor("actor", &self.actor)?;
        if let Some(c) = &self.comment {
            text(c, limits::TEXT_BYTES).map_err(|p| bad(|| "comment".into(), p))?;
        }
        Ok(())
    }
}
