//! Sign-in sessions for the web screens: a random id in an HttpOnly, SameSite=Strict cookie,
//! and a CSRF token every form carries back. Sessions live in memory (a restart signs everyone
//! out, which loses nothing: the credential signs them in again), keyed by the id's SHA-256 so
//! a memory dump holds no usable cookie.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::auth::Principal;

pub const COOKIE: &str = "motcua_session";
/// A session unused this long is gone.
const IDLE: Duration = Duration::from_secs(8 * 3600);
/// At most this many sessions; the least recently used goes first.
const MAX_SESSIONS: usize = 10_000;

#[derive(Clone)]
pub struct Session {
    pub who: Principal,
    /// Hidden in every form; a POST without it is refused.
    pub csrf: String,
    /// They may receive some procedure's dossiers (decided at sign-in).
    pub desk: bool,
    /// Sessions idle for [`IDLE`] end; a JWT's own expiry is not carried over (documented).
    last_seen: Instant,
}

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

fn random_hex() -> Option<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).ok()?;
    Some(hex::encode(b))
}

impl Sessions {
    /// Opens a session for `who`: the cookie's id and the session.
    pub fn open(&self, who: Principal, desk: bool) -> Option<(String, Session)> {
        let id = random_hex()?;
        let session = Session {
            who,
            desk,
            csrf: random_hex()?,
            last_seen: Instant::now(),
        };
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        map.retain(|_, s| now.duration_since(s.last_seen) < IDLE);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.last_seen).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(key(&id), session.clone());
        Some((id, session))
    }

    /// The live session of cookie id `id`.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let k = key(id);
        let s = map.get_mut(&k)?;
        let now = Instant::now();
        if now.duration_since(s.last_seen) >= IDLE {
            map.remove(&k);
            return None;
        }
        s.last_seen = now;
        Some(s.clone())
    }

    pub fn close(&self, id: &str) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&key(id));
    }
}

/// The session id in a `Cookie` header.
pub fn cookie_id(header: &str) -> Option<&str> {
    header
        .split(';')
        .map(str::trim)
        .find_map(|kv| kv.strip_prefix(COOKIE)?.strip_prefix('='))
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `Set-Cookie` value for a new session (or, with `None`, one that ends it).
pub fn set_cookie(id: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match id {
        Some(id) => format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

/// Compares two CSRF tokens in constant time.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> Principal {
        Principal {
            subject: "can-bo".into(),
            roles: vec!["can-bo-mot-cua".into()],
            departments: vec!["mot-cua".into()],
        }
    }

    #[test]
    fn a_session_is_found_by_its_cookie_and_gone_after_sign_out() {
        let s = Sessions::default();
        let (id, opened) = s.open(who(), true).expect("random");
        let header = format!("theme=dark; {COOKIE}={id}; other=1");
        let found = s.get(cookie_id(&header).expect("cookie")).expect("live");
        assert_eq!(found.who.subject, "can-bo");
        assert!(same_token(&found.csrf, &opened.csrf));
        s.close(&id);
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn a_forged_or_malformed_cookie_finds_nothing() {
        let s = Sessions::default();
        s.open(who(), true).expect("random");
        assert!(cookie_id(&format!("{COOKIE}=abc")).is_none());
        assert!(s.get(&"0".repeat(64)).is_none());
        assert!(!same_token("abcd", "abce"));
        assert!(!same_token("abc", "abcd"));
    }
}
