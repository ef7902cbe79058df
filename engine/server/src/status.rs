//! The citizen's secret: printed on the appointment slip, it opens the public status page of
//! one dossier. It is derived (HMAC-SHA256 of the public code under a key kept in the data
//! folder), so nothing per dossier is stored and a leaked secret opens one dossier only.

use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Hex digits of the secret: 80 bits, short enough to type from paper.
const SECRET_HEX: usize = 20;

fn mac(key: &[u8; 32], public_code: &str) -> Hmac<Sha256> {
    // A 32-byte key is always accepted.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(b"motcua-status\0");
    m.update(public_code.as_bytes());
    m
}

/// The secret printed for `public_code`.
pub fn secret(key: &[u8; 32], public_code: &str) -> String {
    let tag = mac(key, public_code).finalize().into_bytes();
    hex::encode(tag)[..SECRET_HEX].to_string()
}

/// Whether `given` is the secret of `public_code`, in constant time.
pub fn check(key: &[u8; 32], public_code: &str, given: &str) -> bool {
    let Ok(bytes) = hex::decode(given.trim().to_ascii_lowercase()) else {
        return false;
    };
    if bytes.len() * 2 != SECRET_HEX {
        return false;
    }
    mac(key, public_code).verify_truncated_left(&bytes).is_ok()
}

/// Reads the key from `<data>/status.key`, creating it (0600) at first start.
pub fn load_key(data: &Path) -> std::io::Result<[u8; 32]> {
    let path = data.join("status.key");
    match std::fs::read(&path) {
        Ok(bytes) => {
            let hex_text = String::from_utf8_lossy(&bytes);
            let raw = hex::decode(hex_text.trim()).map_err(|_| bad(&path))?;
            <[u8; 32]>::try_from(raw.as_slice()).map_err(|_| bad(&path))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(std::io::Error::other)?;
            let tmp = data.join("status.key.tmp");
            {
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create(true).truncate(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                let mut f = opts.open(&tmp)?;
                f.write_all(hex::encode(key).as_bytes())?;
                f.sync_all()?;
            }
            std::fs::rename(&tmp, &path)?;
            Ok(key)
        }
        Err(e) => Err(e),
    }
}

fn bad(path: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{} does not hold a 32-byte hex key", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_opens_its_dossier_only() {
        let key = [7u8; 32];
        let s = secret(&key, "H56-261201-0001");
        assert_eq!(s.len(), SECRET_HEX);
        assert!(check(&key, "H56-261201-0001", &s));
        assert!(check(&key, "H56-261201-0001", &s.to_uppercase()));
        assert!(!check(&key, "H56-261201-0002", &s));
        assert!(!check(&key, "H56-261201-0001", &s[..18]));
        assert!(!check(&[8u8; 32], "H56-261201-0001", &s));
        assert!(!check(&key, "H56-261201-0001", "not hex at all"));
    }
}
