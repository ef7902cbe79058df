//! Signed checkpoints: a small statement — this agency's log had `count` entries ending at
//! `head` at `time` — signed with Ed25519, for an outside party (an inspector, the provincial
//! portal) to keep. Verifying the log against a kept checkpoint proves it still extends it,
//! which the log alone cannot: whoever can write the store can re-seal a whole chain, but not
//! without the signing key, and not under a head someone else already holds.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::canonical;

/// Prefixed to every signed statement, so a signature over a checkpoint means nothing else.
const DOMAIN: &[u8] = b"motcua audit checkpoint v1\n";

/// A checkpoint as kept: the statement and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub agency: String,
    pub count: u64,
    /// The hash of entry `count` (hex).
    pub head: String,
    pub time: Timestamp,
    /// The public key that signed it (hex), to pick the right key; trust comes from the key
    /// file the verifier holds, never from this field.
    pub public_key: String,
    /// Ed25519 over [`DOMAIN`] and the canonical JSON of the other fields (hex).
    pub signature: String,
}

/// The secret key file (`motcua audit keygen`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    pub agency: String,
    /// The 32-byte Ed25519 seed (hex).
    pub secret: String,
}

/// The public key file, given to whoever keeps checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKeyFile {
    pub agency: String,
    /// The 32-byte Ed25519 public key (hex).
    pub public_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("no randomness for a new key: {0}")]
    Entropy(String),
    #[error("the key is not a 32-byte hex Ed25519 key")]
    BadKey,
    #[error("the checkpoint's signature is not valid hex of 64 bytes")]
    BadSignature,
    #[error("the checkpoint was signed by key {signed_by}, not by the key given ({given})")]
    OtherKey { signed_by: String, given: String },
    #[error("the checkpoint's signature does not verify: it was altered or not signed by this key")]
    Forged,
    #[error("the checkpoint names agency '{checkpoint}' but the key is agency '{key}''s")]
    OtherAgency { checkpoint: String, key: String },
}

#[derive(Serialize)]
struct Statement<'a> {
    agency: &'a str,
    count: u64,
    head: &'a str,
    public_key: &'a str,
    time: &'a Timestamp,
}

fn message(s: &Statement) -> Vec<u8> {
    let mut m = DOMAIN.to_vec();
    // A statement of strings, a count and an instant always serialises.
    m.extend_from_slice(&canonical::to_vec(s).unwrap_or_default());
    m
}

impl KeyFile {
    /// A new key for `agency` from the operating system's randomness.
    pub fn generate(agency: &str) -> Result<KeyFile, Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::Entropy(e.to_string()))?;
        Ok(KeyFile {
            agency: agency.to_string(),
            secret: hex::encode(seed),
        })
    }

    fn signing_key(&self) -> Result<SigningKey, Error> {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(&self.secret, &mut seed).map_err(|_| Error::BadKey)?;
        Ok(SigningKey::from_bytes(&seed))
    }

    pub fn public(&self) -> Result<PublicKeyFile, Error> {
        Ok(PublicKeyFile {
            agency: self.agency.clone(),
            public_key: hex::encode(self.signing_key()?.verifying_key().to_bytes()),
        })
    }

    /// Signs the statement that the log had `count` entries ending at `head` at `time`.
    pub fn sign(&self, count: u64, head: &str, time: Timestamp) -> Result<Checkpoint, Error> {
        let key = self.signing_key()?;
        let public_key = hex::encode(key.verifying_key().to_bytes());
        let m = message(&Statement {
            agency: &self.agency,
            count,
            head,
            public_key: &public_key,
            time: &time,
        });
        Ok(Checkpoint {
            agency: self.agency.clone(),
            count,
            head: head.to_string(),
            time,
            public_key,
            signature: hex::encode(key.sign(&m).to_bytes()),
        })
    }
}

impl Checkpoint {
    /// Checks the signature against the public key the verifier trusts.
    pub fn verify_signature(&self, key: &PublicKeyFile) -> Result<(), Error> {
        if key.agency != self.agency {
            return Err(Error::OtherAgency {
                checkpoint: self.agency.clone(),
                key: key.agency.clone(),
            });
        }
        if !key.public_key.eq_ignore_ascii_case(&self.public_key) {
            return Err(Error::OtherKey {
                signed_by: self.public_key.clone(),
                given: key.public_key.clone(),
            });
        }
        let mut pk = [0u8; 32];
        hex::decode_to_slice(&key.public_key, &mut pk).map_err(|_| Error::BadKey)?;
        let vk = VerifyingKey::from_bytes(&pk).map_err(|_| Error::BadKey)?;
        let mut sig = [0u8; 64];
        hex::decode_to_slice(&self.signature, &mut sig).map_err(|_| Error::BadSignature)?;
        let m = message(&Statement {
            agency: &self.agency,
            count: self.count,
            head: &self.head,
            public_key: &self.public_key,
            time: &self.time,
        });
        vk.verify(&m, &Signature::from_bytes(&sig))
            .map_err(|_| Error::Forged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_with_its_key_and_not_once_altered() {
        let key = KeyFile::generate("000.00.00.H01").unwrap();
        let public = key.public().unwrap();
        let at: Timestamp = "2027-01-05T02:00:00Z".parse().unwrap();
        let cp = key.sign(1200, &"ab".repeat(32), at).unwrap();
        assert_eq!(cp.verify_signature(&public), Ok(()));
        let mut more = cp.clone();
        more.count = 1100;
        assert_eq!(more.verify_signature(&public), Err(Error::Forged));
        let other = KeyFile::generate("000.00.00.H01")
            .unwrap()
            .public()
            .unwrap();
        assert!(matches!(
            cp.verify_signature(&other),
            Err(Error::OtherKey { .. })
        ));
        // A forger who also swaps the key inside the checkpoint still fails against the key
        // the inspector holds.
        let forger = KeyFile::generate("000.00.00.H01").unwrap();
        let forged = forger.sign(1200, &"cd".repeat(32), at).unwrap();
        assert!(forged.verify_signature(&public).is_err());
    }
}
