//! List cursors handed to callers are sealed: the store's cursor is an index key (an
//! applicant's id, a procedure, a dossier code, a day), so it is encrypted and authenticated
//! with a server key (ChaCha20-Poly1305), bound to the caller and the listing it came from.
//! A cursor reveals nothing, and a tampered, foreign or other listing's cursor is a 400.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::problem::Problem;

/// Sealed cursors are at most this long (a store cursor is an index key of a few hundred
/// bytes); a longer one is refused before any work.
const MAX_SEALED: usize = 2048;
const NONCE: usize = 12;

pub struct Cursors {
    cipher: ChaCha20Poly1305,
}

impl Cursors {
    /// Cursors under a key derived from the server's status key (kept in the data folder),
    /// so cursors stay good across restarts and between nodes sharing that key.
    pub fn new(server_key: &[u8; 32]) -> Cursors {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(server_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(b"motcua list cursor v1");
        let key: [u8; 32] = mac.finalize().into_bytes().into();
        Cursors {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        }
    }

    /// Seals the store's `cursor` for `scope` (the caller and the listing).
    pub fn seal(&self, scope: &str, cursor: &str) -> String {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: cursor.as_bytes(),
                    aad: scope.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The store's cursor inside `sealed`, if it was sealed by this server for `scope`.
    pub fn open(&self, scope: &str, sealed: &str) -> Result<String, Problem> {
        let bad = || {
            Problem::bad_request(
                "bad_cursor",
                "the cursor is not one this server gave for this listing and caller",
            )
            .with("field", serde_json::Value::String("cursor".into()))
        };
        if sealed.len() > MAX_SEALED {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| bad())?;
        if bytes.len() <= NONCE {
            return Err(bad());
        }
        let (nonce, body) = bytes.split_at(NONCE);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: scope.as_bytes(),
                },
            )
            .map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_opens_only_for_its_scope_and_says_nothing_of_its_key() {
        let c = Cursors::new(&[7; 32]);
        let key = "ap|001090012345|000.00.12.H17-261207-0001";
        let sealed = c.seal("portal|applicant", key);
        assert!(!sealed.contains("001090012345") && !sealed.contains("H17"));
        assert_eq!(c.open("portal|applicant", &sealed).expect("opens"), key);
        assert_eq!(
            c.open("other|applicant", &sealed)
                .expect_err("foreign")
                .code,
            "bad_cursor"
        );
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert!(c.open("portal|applicant", &tampered).is_err());
        assert!(c.open("portal|applicant", "not base64 !").is_err());
        assert!(
            Cursors::new(&[8; 32])
                .open("portal|applicant", &c.seal("portal|applicant", key))
                .is_err()
        );
    }
}
