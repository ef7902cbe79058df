//! Sign-in sessions for the web screens: a random id in an HttpOnly, SameSite=Strict cookie,
//! and a CSRF token every form carries back. Sessions live in memory (a restart signs everyone
//! out, which loses nothing: the credential signs them in again), keyed by the id's SHA-256 so
//! a memory dump holds no usable cookie.
//!
//! Bounds: a principal holds at most [`PER_PRINCIPAL`] sessions (a new sign-in ends that
//! principal's own oldest, never another's); a session ends after [`IDLE`] unused, after
//! [`LIFETIME`] in any case, and when the JWT that opened it expires. When the store is full
//! of other principals' live sessions, a sign-in is refused rather than evicting anyone.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::auth::Principal;

pub const COOKIE: &str = "motcua_session";
/// A session unused this long is gone.
pub const IDLE: Duration = Duration::from_secs(8 * 3600);
/// A session this old is gone however busy it is: a working day and some.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Sessions one principal may hold (a few browsers and devices).
pub const PER_PRINCIPAL: usize = 16;
/// Sessions held at most; past it a new sign-in is refused.
const MAX_SESSIONS: usize = 100_000;

#[derive(Clone)]
pub struct Session {
    pub who: Principal,
    /// Hidden in every form; a POST without it is refused.
    pub csrf: String,
    /// They may receive some procedure's dossiers (decided at sign-in).
    pub desk: bool,
    last_seen: Instant,
    opened: Instant,
    /// When it ends whatever happens: [`LIFETIME`] after sign-in, or the JWT's expiry.
    ends: Instant,
}

impl Session {
    fn live(&self, now: Instant) -> bool {
        now < self.ends && now.duration_since(self.last_seen) < IDLE
    }
}

/// No session could be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no randomness for a session id")]
    Randomness,
    #[error("the server holds {MAX_SESSIONS} live sessions of other principals")]
    Full,
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
    /// Opens a session for `who`, ending at the latest `credential_ends` (a JWT's expiry):
    /// the cookie's id and the session.
    pub fn open(
        &self,
        who: Principal,
        desk: bool,
        credential_ends: Option<Instant>,
    ) -> Result<(String, Session), OpenError> {
        let id = random_hex().ok_or(OpenError::Randomness)?;
        let now = Instant::now();
        let lifetime = now + LIFETIME;
        let session = Session {
            who,
            desk,
            csrf: random_hex().ok_or(OpenError::Randomness)?,
            last_seen: now,
            opened: now,
            ends: credential_ends.map_or(lifetime, |e| e.min(lifetime)),
        };
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.live(now));
        let mut mine: Vec<([u8; 32], Instant)> = map
            .iter()
            .filter(|(_, s)| s.who.subject == session.who.subject)
            .map(|(k, s)| (*k, s.opened))
            .collect();
        if mine.len() >= PER_PRINCIPAL {
            mine.sort_by_key(|(_, opened)| *opened);
            for (k, _) in &mine[..=mine.len() - PER_PRINCIPAL] {
                map.remove(k);
            }
        } else if map.len() >= MAX_SESSIONS {
            return Err(OpenError::Full);
        }
        map.insert(key(&id), session.clone());
        Ok((id, session))
    }

    /// The live session of cookie id `id`.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let k = key(id);
        let s = map.get_mut(&k)?;
        let now = Instant::now();
        if !s.live(now) {
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
            name: None,
            title: None,
        }
    }

    fn citizen() -> Principal {
        Principal {
            subject: "001090012345".into(),
            roles: vec!["applicant".into()],
            departments: vec![],
            name: None,
            title: None,
        }
    }

    /// Regression (issue 24): 10,001 sign-ins with a citizen's token evicted the least
    /// recently used session, an officer's who had been working two seconds earlier.
    #[test]
    fn ten_thousand_sign_ins_of_one_principal_end_only_that_principals_own_sessions() {
        let s = Sessions::default();
        let (officer, _) = s.open(who(), true, None).expect("open");
        let mut first_of_citizen = None;
        for i in 0..10_001 {
            let (id, _) = s.open(citizen(), false, None).expect("open");
            if i == 0 {
                first_of_citizen = Some(id);
            }
        }
        assert!(s.get(&officer).is_some(), "the officer is still signed in");
        assert!(s.get(&first_of_citizen.expect("one")).is_none());
        let map = s.map.lock().expect("lock");
        let citizens = map
            .values()
            .filter(|x| x.who.subject == "001090012345")
            .count();
        assert_eq!(citizens, PER_PRINCIPAL);
    }

    #[test]
    fn a_session_ends_when_the_jwt_that_opened_it_expires() {
        let s = Sessions::default();
        let (id, _) = s
            .open(
                who(),
                true,
                Some(Instant::now() + Duration::from_millis(30)),
            )
            .expect("open");
        assert!(s.get(&id).is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(s.get(&id).is_none(), "gone with its JWT");
    }

    #[test]
    fn a_session_is_found_by_its_cookie_and_gone_after_sign_out() {
        let s = Sessions::default();
        let (id, opened) = s.open(who(), true, None).expect("random");
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
        s.open(who(), true, None).expect("random");
        assert!(cookie_id(&format!("{COOKIE}=abc")).is_none());
        assert!(s.get(&"0".repeat(64)).is_none());
        assert!(!same_token("abcd", "abce"));
        assert!(!same_token("abc", "abcd"));
    }
}
