//! The address a node connects with: parsed once, shown without its password, and given the
//! settings that make a node cut off from the database let go of what it holds.
//!
//! Every node's commits queue behind the chain's head row, so a node that vanishes while it
//! holds that row's lock (a cable pulled, a VM frozen) would stop every other node until TCP
//! gave up, which on Linux takes hours. Each connection therefore asks the server to end a
//! session left idle inside a transaction, and both ends probe a silent peer with TCP
//! keepalives. Settings the address gives itself win: ours come first in `options`, and
//! PostgreSQL applies the last `-c` of a name.

use std::str::FromStr;
use std::time::Duration;

use super::super::Error;

/// How long a silent connection is left before the first keepalive probe, and between probes.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_RETRIES: u32 = 3;
/// A node that cannot reach the server within this gives up connecting (and retries).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// libpq's and the client's default idle time before the first probe (two hours).
const DEFAULT_KEEPALIVE_IDLE: Duration = Duration::from_secs(2 * 60 * 60);

pub(crate) struct Address {
    pub(crate) config: postgres::Config,
    /// The address as messages show it.
    pub(crate) shown: String,
}

impl Address {
    /// Parses `url` (a `postgres://` URL or a libpq `key=value` string) and adds the guards.
    /// `idle_in_transaction` is how long the server lets one of this node's sessions sit
    /// idle inside a transaction before it ends the session and releases its locks.
    pub(crate) fn parse(url: &str, idle_in_transaction: Duration) -> Result<Address, Error> {
        let shown = shown(url);
        let mut config = postgres::Config::from_str(url).map_err(|e| Error::Unusable {
            path: shown.clone().into(),
            problem: format!("not a PostgreSQL address: {e}"),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.keepalives(true);
        if config.get_keepalives_idle() == DEFAULT_KEEPALIVE_IDLE {
            config.keepalives_idle(KEEPALIVE_IDLE);
        }
        if config.get_keepalives_interval().is_none() {
            config.keepalives_interval(KEEPALIVE_INTERVAL);
        }
        if config.get_keepalives_retries().is_none() {
            config.keepalives_retries(KEEPALIVE_RETRIES);
        }
        let ours = format!(
            "-c idle_in_transaction_session_timeout={} -c tcp_keepalives_idle={} \
             -c tcp_keepalives_interval={} -c tcp_keepalives_count={}",
            idle_in_transaction.as_millis().max(1),
            KEEPALIVE_IDLE.as_secs(),
            KEEPALIVE_INTERVAL.as_secs(),
            KEEPALIVE_RETRIES,
        );
        let options = match config.get_options() {
            Some(theirs) if !theirs.trim().is_empty() => format!("{ours} {theirs}"),
            _ => ours,
        };
        config.options(&options);
        Ok(Address { config, shown })
    }
}

/// The address without its password, whether given in the URL's user part, as a
/// `password=` parameter of a URL, or as a `password=` pair of a `key=value` string.
pub(crate) fn shown(url: &str) -> String {
    let url = without_userinfo_password(url);
    let mut out = String::with_capacity(url.len());
    let mut rest = url.as_str();
    while let Some(i) = rest.find("password") {
        let (before, after) = rest.split_at(i + "password".len());
        out.push_str(before);
        let Some(value) = after.trim_start().strip_prefix('=') else {
            rest = after;
            continue;
        };
        let value = value.trim_start();
        out.push_str("=***");
        rest = &value[value_len(value)..];
    }
    out.push_str(rest);
    out
}

/// `scheme://user:password@host…` as `scheme://user:***@host…`; the user part ends at the
/// authority's last `@`, so a password holding `@` is hidden whole.
fn without_userinfo_password(url: &str) -> String {
    let Some(scheme) = url.find("://") else {
        return url.to_string();
    };
    let start = scheme + 3;
    let end = url[start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| start + i);
    match url[start..end].rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{}{user}:***@{host}{}", &url[..start], &url[end..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// The length of the value at the start of `s`: a libpq single-quoted value (with `\`
/// escapes), else up to whitespace or the next URL parameter.
fn value_len(s: &str) -> usize {
    let Some(quoted) = s.strip_prefix('\'') else {
        return s
            .find(|c: char| c.is_whitespace() || c == '&')
            .unwrap_or(s.len());
    };
    let mut escaped = false;
    for (i, c) in quoted.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '\'' => return 1 + i + 1,
            _ => {}
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_never_shown_in_any_address_form() {
        assert_eq!(
            shown("postgres://motcua:s3cret@db.so-xay-dung:5432/motcua"),
            "postgres://motcua:***@db.so-xay-dung:5432/motcua"
        );
        assert_eq!(
            shown("postgresql://db/motcua?user=motcua&password=s3cret&sslmode=disable"),
            "postgresql://db/motcua?user=motcua&password=***&sslmode=disable"
        );
        assert_eq!(
            shown("host=db user=motcua password=s3cret dbname=motcua"),
            "host=db user=motcua password=*** dbname=motcua"
        );
        assert_eq!(
            shown("host=db password = 'a b\\' c' dbname=motcua"),
            "host=db password=*** dbname=motcua"
        );
        assert_eq!(
            shown("host=db password='unterminated"),
            "host=db password=***"
        );
        assert_eq!(
            shown("postgres://motcua:p@ss@db/motcua"),
            "postgres://motcua:***@db/motcua"
        );
        assert_eq!(shown("host=db dbname=motcua"), "host=db dbname=motcua");
        assert_eq!(shown("postgres://db/motcua"), "postgres://db/motcua");
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

        let own = Address::parse(
            "host=db keepalives_idle=7 connect_timeout=3",
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(own.config.get_keepalives_idle(), Duration::from_secs(7));
        assert_eq!(
            own.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
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
