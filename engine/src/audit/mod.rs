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
    /// The steps this entry ended, each early, on time or late against its budget (the
    /// process-control slip prints them per handover).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<crate::deadline::StepTiming>,
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

    /// The entry serialised before its place in the chain is known (see [`Unsealed`]).
    pub fn unsealed(&self) -> Result<Unsealed, serde_json::Error> {
        let json = if self.seq == 0 && self.prev_hash.is_empty() && self.hash.is_empty() {
            serde_json::to_vec(self)?
        } else {
            let mut blank = self.clone();
            blank.seq = 0;
            blank.prev_hash.clear();
            blank.hash.clear();
            serde_json::to_vec(&blank)?
        };
        Ok(Unsealed { json })
    }
}

/// An entry serialised with `seq` 0 and empty hashes, so that the store's single writer, which
/// alone knows the sequence number and the previous hash, only splices them in and hashes:
/// the expensive serialisation happens on the caller's thread, in parallel.
#[derive(Debug, Clone)]
pub struct Unsealed {
    json: Vec<u8>,
}

const UNSEALED_HEAD: &[u8] = b"{\"seq\":0,";
const UNSEALED_TAIL: &[u8] = b"\"prev_hash\":\"\",\"hash\":\"\"}";

impl Unsealed {
    /// The stored JSON of the entry at `seq` after `prev_hash`, and its hash. The bytes are
    /// exactly what serialising the sealed [`Entry`] gives (serde writes fields in declaration
    /// order, `seq` first and the two hashes last), so [`verify`] recomputes the same hash.
    pub fn seal(&self, seq: u64, prev_hash: &str) -> Option<(Vec<u8>, String)> {
        let middle = self
            .json
            .strip_prefix(UNSEALED_HEAD)?
            .strip_suffix(UNSEALED_TAIL)?;
        let mut out = Vec::with_capacity(self.json.len() + 160);
        out.extend_from_slice(b"{\"seq\":");
        out.extend_from_slice(seq.to_string().as_bytes());
        out.push(b',');
        out.extend_from_slice(middle);
        out.extend_from_slice(b"\"prev_hash\":");
        // The previous hash is our own hex (or the genesis zeros); serde escapes nothing in it.
        out.push(b'"');
        out.extend_from_slice(prev_hash.as_bytes());
        out.extend_from_slice(b"\",\"hash\":\"");
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(&out);
        h.update(b"\"}");
        let hash = hex::encode(h.finalize());
        out.extend_from_slice(hash.as_bytes());
        out.extend_from_slice(b"\"}");
        Some((out, hash))
    }
}

/// Why a chain failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(comment: Option<&str>, input: serde_json::Value) -> Entry {
        Entry {
            seq: 0,
            at: "2026-11-24T08:30:00+07:00".parse().unwrap(),
            dossier: "000.17.22.H56-261124-0007".into(),
            procedure: "cap-phep-xay-dung".into(),
            procedure_hash: "ab".repeat(32),
            action: "yeu_cau_bo_sung".into(),
            actor: "cv01".into(),
            roles: vec!["chuyen_vien".into()],
            departments: vec!["phong_qlxd".into()],
            from: vec!["tong_hop".into()],
            to: vec!["cho_bo_sung".into()],
            comment: comment.map(String::from),
            input,
            steps: vec![],
            version: 4,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    /// The writer's fast seal must give the very bytes and hash of the slow one, or a verified
    /// chain would fail after a restart.
    #[test]
    fn the_spliced_seal_is_byte_identical_to_serialising_the_sealed_entry() {
        let cases = [
            entry(None, serde_json::Value::Null),
            entry(
                Some("Thiếu bản vẽ \"mặt bằng\"\nvà giấy phép {cũ}"),
                serde_json::json!({"giay_to_can_bo_sung": ["ban_ve"], "hash": "\"}"}),
            ),
        ];
        let mut prev = GENESIS.to_string();
        let mut chain = vec![];
        for (i, e) in cases.iter().enumerate() {
            let seq = 41 + i as u64;
            let (bytes, hash) = e.unsealed().unwrap().seal(seq, &prev).unwrap();
            let mut slow = e.clone();
            slow.seal(seq, &prev);
            assert_eq!(hash, slow.hash);
            assert_eq!(
                String::from_utf8(bytes.clone()).unwrap(),
                serde_json::to_string(&slow).unwrap()
            );
            let stored: Entry = serde_json::from_slice(&bytes).unwrap();
            chain.push(stored);
            prev = hash;
        }
        assert_eq!(verify(GENESIS, &chain), Ok(2));
    }

    #[test]
    fn an_entry_sealed_before_is_blanked_first() {
        let mut e = entry(None, serde_json::Value::Null);
        e.seal(9, GENESIS);
        let (_, hash) = e.unsealed().unwrap().seal(9, GENESIS).unwrap();
        assert_eq!(hash, e.hash);
    }
}
