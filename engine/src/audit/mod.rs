//! The audit trail: one entry per transition step (who, role, department, when, from, to,
//! why), appended in commit order and chained by sha256 so that any edit or deletion breaks
//! verification.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One recorded step, as the pure core produces it. The store gives it a sequence number and
/// its place in the hash chain when it commits.
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
    /// The dossier version this step produced.
    pub version: u64,
    /// Hash of the previous entry (hex; 64 zeros for the first).
    pub prev_hash: String,
    /// sha256 over `prev_hash` and this entry's canonical JSON without `hash`.
    pub hash: String,
}

/// The hash that starts the chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl Entry {
    /// Computes this entry's hash from its content and `prev_hash`.
    pub fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        // serde_json writes struct fields in declaration order: a stable canonical form.
        let body = serde_json::to_vec(&unhashed).unwrap_or_default();
        let mut h = Sha256::new();
        h.update(self.prev_hash.as_bytes());
        h.update(&body);
        hex::encode(h.finalize())
    }

    /// Places the entry after `prev_hash` at `seq` and seals it.
    pub fn seal(&mut self, seq: u64, prev_hash: &str) {
        self.seq = seq;
        self.prev_hash = prev_hash.to_string();
        self.hash = self.compute_hash();
    }
}

/// Why a chain failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("audit entry {seq}: its hash does not match its content (edited)")]
    Tampered { seq: u64 },
    #[error("audit entry {seq}: it does not follow entry {prev} (deleted or reordered)")]
    Broken { seq: u64, prev: u64 },
}

/// Verifies a contiguous run of entries starting after `prev_hash`.
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
        if e.compute_hash() != e.hash {
            return Err(Error::Tampered { seq: e.seq });
        }
        prev = e.hash.clone();
        prev_seq = e.seq;
        count += 1;
    }
    Ok(count)
}
