//! The audit trail: one entry per transition step (who, role, department, when, from, to,
//! why), appended in commit order and chained by sha256 over the exact stored bytes, so that
//! any edit, deletion, insertion or reordering breaks verification.
//!
//! An entry is stored as one line of RFC 8785 canonical JSON ([`canonical`]):
//!
//! ```text
//! {"body":{…what happened…},"dossier":"<code>","prev":"<hex>","record":"<hex>","replaces":"<hex>","seq":N}
//! ```
//!
//! `body` is what the pure step decided; the rest is the entry's place, which only the store's
//! single writer knows: its sequence number, the previous entry's hash, and the digest of the
//! dossier record its commit stored (`record`) and of the one that record replaced
//! (`replaces`). An entry's hash is sha256 of its line. [`verify`] streams lines and proves the
//! chain, its stored head and count, and (with the dossier records) that every stored dossier
//! is the one its last entry wrote.

pub mod canonical;
pub mod checkpoint;
mod system;
pub mod verify;

pub use system::SystemAction;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use verify::Verified;

/// One recorded step, as the pure core produces it. The store gives it a sequence number, its
/// place in the hash chain and its record digests when it commits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the global log, assigned at commit (0 until then).
    pub seq: u64,
    pub at: Timestamp,
    pub dossier: String,
    pub procedure: String,
    pub procedure_hash: String,
    /// `submit`, an action id, or `system:<what>` for engine-made steps.
    pub action: String,
    pub actor: String,
    pub roles: Vec<String>,
    pub departments: Vec<String>,
    /// States the step left (empty for a submission).
    pub from: Vec<String>,
    /// States the step entered.
    pub to: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub input: serde_json::Value,
    /// The applicant an officer acted for (an applicant's action handed in at the counter):
    /// `actor` is the officer, this the applicant's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf: Option<String>,
    /// The steps this entry ended, each early, on time or late against its budget (the
    /// process-control slip prints them per handover).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<crate::deadline::StepTiming>,
    /// Set on the entry whose step resolved the dossier: its class in the national index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<crate::dossier::Resolution>,
    /// The dossier version this step produced.
    pub version: u64,
    /// Digest ([`record_digest`], hex) of the dossier record this entry's commit stored. Only
    /// the last entry of a dossier's change in a commit carries it: the versions before it in
    /// the same commit (a pause recorded with the action that caused it) were never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// Digest of the record that `record` replaced (absent for a new dossier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// On the first entry of a chain re-sealed by `motcua migrate`: the chain it replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrated: Option<Migrated>,
    /// Hash of the previous entry (hex; [`GENESIS`] for the first).
    pub prev_hash: String,
    /// sha256 of this entry's stored line (hex).
    pub hash: String,
}

/// The hash that starts the chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The digest an entry records of a dossier record: sha256 over the code, a zero byte and the
/// record's stored bytes, so a record moved under another code does not match either.
pub fn record_digest(code: &str, record: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(code.as_bytes());
    h.update([0u8]);
    h.update(record);
    h.finalize().into()
}

/// What the body of a stored entry holds (the entry less its place in the chain), borrowed for
/// writing.
#[derive(Serialize)]
struct BodyRef<'a> {
    action: &'a str,
    actor: &'a str,
    at: &'a Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: &'a Option<String>,
    departments: &'a [String],
    from: &'a [String],
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    input: &'a serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_behalf: &'a Option<String>,
    procedure: &'a str,
    procedure_hash: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolution: &'a Option<crate::dossier::Resolution>,
    roles: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    steps: &'a [crate::deadline::StepTiming],
    to: &'a [String],
    version: u64,
}

/// The body, parsed: unknown fields are refused, so nothing can ride along unhashed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    action: String,
    actor: String,
    at: Timestamp,
    #[serde(default)]
    comment: Option<String>,
    departments: Vec<String>,
    from: Vec<String>,
    #[serde(default)]
    input: serde_json::Value,
    #[serde(default)]
    on_behalf: Option<String>,
    procedure: String,
    procedure_hash: String,
    #[serde(default)]
    resolution: Option<crate::dossier::Resolution>,
    roles: Vec<String>,
    #[serde(default)]
    steps: Vec<crate::deadline::StepTiming>,
    to: Vec<String>,
    version: u64,
}

/// A stored line, parsed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    body: Body,
    dossier: String,
    #[serde(default)]
    migrated: Option<Migrated>,
    prev: String,
    #[serde(default)]
    record: Option<String>,
    #[serde(default)]
    replaces: Option<String>,
    seq: u64,
}

/// What the first entry of a chain re-sealed by `motcua migrate` records of the chain it
/// replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Migrated {
    /// The layout the old chain was written in.
    pub format: u32,
    /// How many entries the old chain had, and its head hash.
    pub count: u64,
    pub head: String,
}

/// Where an entry goes in the chain: everything the writer adds to the body.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub seq: u64,
    pub prev: &'a str,
    pub record: Option<&'a str>,
    pub replaces: Option<&'a str>,
    pub migrated: Option<&'a Migrated>,
}

impl Entry {
    fn body_ref(&self) -> BodyRef<'_> {
        BodyRef {
            action: &self.action,
            actor: &self.actor,
            at: &self.at,
            comment: &self.comment,
            departments: &self.departments,
            from: &self.from,
            input: &self.input,
            on_behalf: &self.on_behalf,
            procedure: &self.procedure,
            procedure_hash: &self.procedure_hash,
            resolution: &self.resolution,
            roles: &self.roles,
            steps: &self.steps,
            to: &self.to,
            version: self.version,
        }
    }

    /// The entry's body in canonical JSON, ready for the writer to place (see [`Unsealed`]).
    pub fn unsealed(&self) -> Result<Unsealed, serde_json::Error> {
        Ok(Unsealed {
            dossier: self.dossier.clone(),
            body: canonical::to_vec(&self.body_ref())?,
        })
    }

    /// The stored line this entry has (or would have) at its place, rebuilt from its fields:
    /// what an outside verifier does with an exported, parsed entry.
    pub fn line(&self) -> Result<Vec<u8>, serde_json::Error> {
        let place = Place {
            seq: self.seq,
            prev: &self.prev_hash,
            record: self.record.as_deref(),
            replaces: self.replaces.as_deref(),
            migrated: self.migrated.as_ref(),
        };
        Ok(self.unsealed()?.seal(&place).0)
    }

    /// Parses a stored line; the entry's hash is the line's.
    pub fn from_line(line: &[u8]) -> Result<Entry, serde_json::Error> {
        let s: Stored = serde_json::from_slice(line)?;
        let b = s.body;
        Ok(Entry {
            seq: s.seq,
            at: b.at,
            dossier: s.dossier,
            procedure: b.procedure,
            procedure_hash: b.procedure_hash,
            action: b.action,
            actor: b.actor,
            roles: b.roles,
            departments: b.departments,
            from: b.from,
            to: b.to,
            comment: b.comment,
            input: b.input,
            on_behalf: b.on_behalf,
            steps: b.steps,
            resolution: b.resolution,
            version: b.version,
            record: s.record,
            replaces: s.replaces,
            migrated: s.migrated,
            prev_hash: s.prev,
            hash: hex::encode(Sha256::digest(line)),
        })
    }
}

/// An entry's body serialised before its place in the chain is known, so the store's single
/// writer, which alone knows the sequence number, the previous hash and the record digests,
/// only concatenates and hashes: the canonical serialisation happens on the caller's thread.
#[derive(Debug, Clone)]
pub struct Unsealed {
    dossier: String,
    body: Vec<u8>,
}

impl Unsealed {
    /// The stored line at `place`, and its hash (hex). The envelope's members are written in
    /// their canonical (sorted) order, so the line is canonical JSON.
    pub fn seal(&self, place: &Place) -> (Vec<u8>, String) {
        let mut out = Vec::with_capacity(self.body.len() + 320);
        out.extend_from_slice(b"{\"body\":");
        out.extend_from_slice(&self.body);
        out.extend_from_slice(b",\"dossier\":");
        canonical::write_string(&mut out, &self.dossier);
        if let Some(m) = place.migrated {
            out.extend_from_slice(b",\"migrated\":");
            if let Ok(v) = serde_json::to_value(m) {
                canonical::write_value(&mut out, &v);
            }
        }
        // Hashes and digests are our own lowercase hex; nothing in them needs escaping.
        out.extend_from_slice(b",\"prev\":\"");
        out.extend_from_slice(place.prev.as_bytes());
        if let Some(r) = place.record {
            out.extend_from_slice(b"\",\"record\":\"");
            out.extend_from_slice(r.as_bytes());
        }
        if let Some(r) = place.replaces {
            out.extend_from_slice(b"\",\"replaces\":\"");
            out.extend_from_slice(r.as_bytes());
        }
        out.extend_from_slice(b"\",\"seq\":");
        out.extend_from_slice(place.seq.to_string().as_bytes());
        out.push(b'}');
        let hash = hex::encode(Sha256::digest(&out));
        (out, hash)
    }
}

/// Why a run of parsed entries failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("audit entry {seq}: its hash does not match its content (edited)")]
    Tampered { seq: u64 },
    #[error("audit entry {seq}: it does not follow entry {prev} (deleted or reordered)")]
    Broken { seq: u64, prev: u64 },
}

/// Verifies a contiguous run of parsed entries starting after `prev_hash`, rebuilding each
/// entry's canonical line from its fields: what an inspector does with an export. The store's
/// own verification ([`verify::Chain`]) hashes the stored bytes instead.
pub fn verify<'a>(
    prev_hash: &str,
    entries: impl IntoIterator<Item = &'a Entry>,
) -> Result<u64, Error> {
    let mut prev = prev_hash.to_string();
    let mut prev_seq = 0;
    let mut count = 0;
    for e in entries {
        if e.prev_hash != prev || (count > 0 && e.seq != prev_seq + 1) {
            return Err(Error::Broken {
                seq: e.seq,
                prev: prev_seq,
            });
        }
        let line = e.line().map_err(|_| Error::Tampered { seq: e.seq })?;
        if hex::encode(Sha256::digest(&line)) != e.hash {
            return Err(Error::Tampered { seq: e.seq });
        }
        prev = e.hash.clone();
        prev_seq = e.seq;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests;
