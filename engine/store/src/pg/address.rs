//! The address a node connects with: parsed once, shown without its password, and given the
//! settings that make a node cut off from the database let go of what it holds.
//!
//! Every node's commits queue behind the chain's head row, so a node that hangs while its
//! writer holds that row's lock (a process stopped, a VM frozen) or vanishes (a cable pulled)
//! would stop every other node until TCP gave up, which on Linux takes hours. Each connection
//! therefore asks the server to end a session left idle inside a transaction, and both ends
//! probe a silent peer with TCP keepalives and give up on unacknowledged data after
//! [`USER_TIMEOUT`]. Transactions meant to sit idle (a lease through a delivery's retries,
//! an audit snapshot read by a slow pipe) switch the idle timeout off for themselves with
//! [`HELD_ON_PURPOSE`]; a timer claim stays under it and is renewed between pages of firing.
//!
//! The address's own `options` win over ours (ours come first, and PostgreSQL applies the
//! last `-c` of a name), and so do its keepalive, timeout and `keepalives=0` settings, except
//! values equal to the client's defaults, which cannot be told from unset ones.

use std::str::FromStr;
use std::time::Duration;

use super::super::Error;

/// How long a silent connection is left before the first keepalive probe, and between probes.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_RETRIES: u32 = 3;
/// Data unacknowledged this long ends the connection (keepalives are not sent while data
/// waits to be acknowledged; retransmission alone would last about 15 minutes).
const USER_TIMEOUT: Duration = Duration::from_secs(60);
/// A node that cannot reach the server within this gives up connecting (and retries).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The client's default idle time before the first probe (two hours, as libpq's).
const DEFAULT_KEEPALIVE_IDLE: Duration = Duration::from_secs(2 * 60 * 60);

/// Run first in a transaction that is idle on purpose: the idle timeout does not end it.
pub(crate) const HELD_ON_PURPOSE: &str = "SET LOCAL idle_in_transaction_session_timeout = 0";

pub(crate) struct Address {
    pub(crate) config: postgres::Config,
    /// The address as messages show it.
    pub(crate) shown: String,
}

impl Address {
    /// Parses `url` (a `postgres://` URL or a libpq `key=value` string) and adds the guards.
    /// `idle_in_transaction` is how long the server lets one of this node's sessions sit
    /// idle inside a transaction before it ends the session and releases its locks; zero
    /// leaves that to the server's own setting.
    pub(crate) fn parse(url: &str, idle_in_transaction: Duration) -> Result<Address, Error> {
        let shown = shown(url);
        let mut config = postgres::Config::from_str(url).map_err(|e| Error::Unusable {
            path: shown.clone().into(),
            problem: format!("not a PostgreSQL address: {e}"),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_keepalives() {
            if config.get_keepalives_idle() == DEFAULT_KEEPALIVE_IDLE {
                config.keepalives_idle(KEEPALIVE_IDLE);
            }
            if config.get_keepalives_interval().is_none() {
                config.keepalives_interval(KEEPALIVE_INTERVAL);
            }
            if config.get_keepalives_retries().is_none() {
                config.keepalives_retries(KEEPALIVE_RETRIES);
            }
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(USER_TIMEOUT);
        }
        let mut ours = format!(
            "-c tcp_keepalives_idle={} -c tcp_keepalives_interval={} -c tcp_keepalives_count={} \
             -c tcp_user_timeout={}",
            KEEPALIVE_IDLE.as_secs(),
            KEEPALIVE_INTERVAL.as_secs(),
            KEEPALIVE_RETRIES,
            USER_TIMEOUT.as_millis(),
        );
        if !idle_in_transaction.is_zero() {
            // The setting is an int of milliseconds: a larger value would refuse the session.
            let ms = idle_in_transaction.as_millis().clamp(1, i32::MAX as u128);
            ours = format!("-c idle_in_transaction_session_timeout={ms} {ours}");
        }
        let options = match config.get_options() {
            Some(theirs) if !theirs.trim().is_empty() => format!("{ours} {theirs}"),
            _ => ours,
        };
        config.options(&options);
        Ok(Address { config, shown })
    }
}

/// The address without its password. Masking errs on the side of hiding too much: this is
/// only ever shown.
pub(crate) fn shown(url: &str) -> String {
    let scheme = ["postgres://", "postgresql://"]
        .iter()
        .find(|s| url.starts_with(*s))
        .map(|s| s.len());
    match scheme {
        Some(start) => shown_url(url, start),
        None => shown_pairs(url),
    }
}

/// URL form. The client ends the user part at the first `@` and reads the password after
/// its first `:`, so a password may hold `/`, `?` or `#`; when the host part up to the next
/// `/` or `?` holds another `@`, the password was likely meant to run to that one, and is hidden to
/// there. Then the value of each parameter whose (percent-decoded) name is `password`, up to
/// the next `&`, with the query found where the client finds it: after the user part.
fn shown_url(url: &str, start: usize) -> String {
    let mut out = String::with_capacity(url.len());
    let rest = &url[start..];
    let tail = match rest.find('@') {
        Some(at) => {
            let authority_end = rest[at..].find(['/', '?']).map_or(rest.len(), |i| at + i);
            let last_at = rest[..authority_end].rfind('@').unwrap_or(at);
            match rest[..at].find(':') {
                Some(colon) => {
                    out.push_str(&url[..start + colon + 1]);
                    out.push_str("***");
                    &rest[last_at..]
                }
                None => {
                    out.push_str(&url[..start + at]);
                    &rest[at..]
                }
            }
        }
        None => {
            out.push_str(&url[..start]);
            rest
        }
    };
    let Some((path, query)) = tail.split_once('?') else {
        out.push_str(tail);
        return out;
    };
    out.push_str(path);
    out.push('?');
    for (n, param) in query.split('&').enumerate() {
        if n > 0 {
            out.push('&');
        }
        match param.split_once('=') {
            Some((key, _)) if percent_decoded(key) == b"password" => {
                out.push_str(key);
                out.push_str("=***");
            }
            _ => out.push_str(param),
        }
    }
    out
}

fn percent_decoded(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// libpq `key=value` form, read as the client reads it: separators are any whitespace
/// (`char::is_whitespace`), a value is single-quoted or ends at whitespace, and `\` escapes
/// the next character in both.
fn shown_pairs(s: &str) -> String {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let byte = |i: usize| chars.get(i).map_or(s.len(), |&(b, _)| b);
    let skip_space = |mut i: usize| {
        while at(i).is_some_and(char::is_whitespace) {
            i += 1;
        }
        i
    };
    let mut out = String::with_capacity(s.len());
    let (mut i, mut copied) = (0, 0);
    while i < chars.len() {
        i = skip_space(i);
        let key_start = i;
        while at(i).is_some_and(|c| c != '=' && !c.is_whitespace()) {
            i += 1;
        }
        let key = &s[byte(key_start)..byte(i)];
        i = skip_space(i);
        if at(i) != Some('=') {
            continue;
        }
        i = skip_space(i + 1);
        let value_start = byte(i);
        if at(i) == Some('\'') {
            i += 1;
            while let Some(c) = at(i) {
                i += if c == '\\' { 2 } else { 1 };
                if c == '\'' {
                    break;
                }
            }
        } else {
            while let Some(c) = at(i).filter(|c| !c.is_whitespace()) {
                i += if c == '\\' { 2 } else { 1 };
            }
        }
        i = i.min(chars.len());
        if key == "password" {
            out.push_str(&s[copied..value_start]);
            out.push_str("***");
            copied = byte(i);
        }
    }
    out.push_str(&s[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_never_shown_in_any_address_form() {
        let cases = [
            (
                "postgres://motcua:s3cret@db.so-xay-dung:5432/motcua",
                "postgres://motcua:***@db.so-xay-dung:5432/motcua",
            ),
            // Generated passwords hold `/`, `?`, `#` and `@`.
            (
                "postgres://motcua:Ab/9+x?y#z@db/motcua",
                "postgres://motcua:***@db/motcua",
            ),
            (
                "postgres://motcua:p@ss@db/motcua",
                "postgres://motcua:***@db/motcua",
            ),
            (
                "postgresql://db/motcua?user=motcua&password=s3 cr=et&sslmode=disable",
                "postgresql://db/motcua?user=motcua&password=***&sslmode=disable",
            ),
            (
                "postgresql://db/motcua?pass%77ord=s3cret",
                "postgresql://db/motcua?pass%77ord=***",
            ),
            (
                "host=db user=motcua password=s3&cr\\ et dbname=motcua",
                "host=db user=motcua password=*** dbname=motcua",
            ),
            (
                "host=db password = 'a b\\' c' dbname=motcua",
                "host=db password = *** dbname=motcua",
            ),
            ("host=db password='unterminated", "host=db password=***"),
            ("host=db password=ends\\", "host=db password=***"),
            ("password=mật\\khẩu host=db", "password=*** host=db"),
            ("host=db dbname=motcua", "host=db dbname=motcua"),
            // Where the client finds the query and the end of the user part.
            (
                "postgres://u:p@h/db?application_name=a@b&password=secret",
                "postgres://u:***@h/db?application_name=a@b&password=***",
            ),
            (
                "postgres://u:p@h?password=x@y",
                "postgres://u:***@h?password=***",
            ),
            (
                "postgres://u@h:5432/db?password=x@y",
                "postgres://u@h:5432/db?password=***",
            ),
            (
                "postgres://u?x@h/db?password=s3cret",
                "postgres://u?x@h/db?password=***",
            ),
            // Any whitespace separates pairs, as the client reads them.
            ("host=db\u{a0}password=s3cret", "host=db\u{a0}password=***"),
            ("host=db\x0bpassword=s3cret", "host=db\x0bpassword=***"),
            (
                "password\u{3000}=s3cret host=db",
                "password\u{3000}=*** host=db",
            ),
            ("postgres://db/motcua", "postgres://db/motcua"),
        ];
        for (address, expected) in cases {
            assert_eq!(shown(address), expected, "{address}");
        }
    }

    #[test]
    fn masking_never_panics_on_odd_input() {
        for s in [
            "",
            "=",
            "==",
            "password",
            "password=",
            "'",
            "\\",
            "a=\\é",
            "postgres://",
            "postgres://:@",
            "postgres://a?",
            "postgres://a?&&=",
            "postgres://a?%",
            "postgres://a?%zz=1",
            "x = 'é\\",
        ] {
            let _ = shown(s);
        }
    }

    #[test]
    fn guards_are_added_and_the_address_own_settings_win() {
        let a = Address::parse(
            "postgres://motcua@db/motcua?options=-c%20idle_in_transaction_session_timeout%3D5000",
            Duration::from_secs(60),
        )
        .unwrap();
        let options = a.config.get_options().unwrap();
        let ours = options.find("=60000").unwrap();
        let theirs = options.find("=5000").unwrap();
        assert!(ours < theirs, "{options}");
        assert_eq!(a.config.get_keepalives_idle(), KEEPALIVE_IDLE);
        assert_eq!(a.config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        assert_eq!(a.config.get_tcp_user_timeout(), Some(&USER_TIMEOUT));

        let own = Address::parse(
            "host=db keepalives=0 keepalives_idle=7 connect_timeout=3",
            Duration::from_secs(60),
        )
        .unwrap();
        assert!(!own.config.get_keepalives());
        assert_eq!(own.config.get_keepalives_idle(), Duration::from_secs(7));
        assert_eq!(
            own.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
    }

    #[test]
    fn an_idle_timeout_of_zero_is_left_to_the_server_and_a_huge_one_is_clamped() {
        let off = Address::parse("host=db", Duration::ZERO).unwrap();
        let options = off.config.get_options().unwrap();
        assert!(!options.contains("idle_in_transaction"), "{options}");
        let huge = Address::parse("host=db", Duration::from_secs(u64::MAX)).unwrap();
        let options = huge.config.get_options().unwrap();
        assert!(
            options.contains(&format!("idle_in_transaction_session_timeout={}", i32::MAX)),
            "{options}"
        );
    }

    #[test]
    fn a_malformed_address_is_refused_without_its_password() {
        let Err(Error::Unusable { path, problem }) =
            Address::parse("postgres://u:s3cret@db:notaport/x", Duration::from_secs(1))
        else {
            panic!("a bad port was accepted");
        };
        assert!(!path.display().to_string().contains("s3cret"), "{path:?}");
        assert!(problem.contains("not a PostgreSQL address"), "{problem}");
    }
}
