//! Who is calling. Identity comes only from the credential (`Authorization: Bearer …`), never
//! from the request body: a static token from the tokens file (kept as its sha256), or a JWT
//! signed by the identity provider named in the JWT configuration.

use std::collections::HashMap;
use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The built-in roles; every other role is an officer's role from the procedures.
pub const APPLICANT: &str = "applicant";
pub const PORTAL: &str = "portal";
pub const AUDITOR: &str = "auditor";
pub const ADMIN: &str = "admin";
const BUILT_IN: [&str; 4] = [APPLICANT, PORTAL, AUDITOR, ADMIN];

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub roles: Vec<String>,
    pub departments: Vec<String>,
    /// The person's full name and title, as the credential states them (tokens file `name`
    /// and `title`, JWT claims `name` and `title`): what screens and printed forms show.
    pub name: Option<String>,
    pub title: Option<String>,
}

impl Principal {
    pub fn has(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The officer's roles: those the procedures define (not the built-in ones).
    pub fn officer_roles(&self) -> Vec<String> {
        self.roles
            .iter()
            .filter(|r| !BUILT_IN.contains(&r.as_str()))
            .cloned()
            .collect()
    }

    /// An officer holds an officer's role and neither of the citizen-side roles: a JWT that
    /// says `[applicant, offline_access]` is an applicant, not an officer.
    pub fn is_officer(&self) -> bool {
        !self.has(APPLICANT) && !self.has(PORTAL) && !self.officer_roles().is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    Config { path: String, message: String },
}

fn config_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Config {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// One entry of the tokens file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Hex sha256 of the token (what production files hold).
    #[serde(default)]
    pub token_sha256: Option<String>,
    /// The token itself: accepted only with `--dev`.
    #[serde(default)]
    pub token: Option<String>,
    pub subject: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub departments: Vec<String>,
    /// The officer's full name, shown instead of the subject.
    #[serde(default)]
    pub name: Option<String>,
    /// Their title (chức vụ), e.g. "Trưởng phòng Quản lý đô thị".
    #[serde(default)]
    pub title: Option<String>,
    /// Away for a span of days, their named work handed to a delegate (who sees it under
    /// "Giao cho tôi" meanwhile).
    #[serde(default)]
    pub away: Option<Away>,
}

/// An officer's absence: from and until (inclusive, local days), and who covers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Away {
    pub from: jiff::civil::Date,
    pub until: jiff::civil::Date,
    /// The covering officer's subject.
    pub delegate: String,
}

/// The JWT configuration (`--jwt-config`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// `HS256`, `RS256` or `ES256`.
    pub algorithm: String,
    /// The shared secret for HS256.
    #[serde(default)]
    pub secret: Option<String>,
    /// The PEM public key for RS256 / ES256, relative to the configuration file.
    #[serde(default)]
    pub public_key_file: Option<String>,
    pub issuer: String,
    pub audience: String,
    /// The claims that carry the subject, roles and departments.
    #[serde(default = "default_subject_claim")]
    pub subject_claim: String,
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    #[serde(default = "default_departments_claim")]
    pub departments_claim: String,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
}

fn default_subject_claim() -> String {
    "sub".into()
}
fn default_roles_claim() -> String {
    "roles".into()
}
fn default_departments_claim() -> String {
    "departments".into()
}
fn default_leeway() -> u64 {
    30
}

struct Jwt {
    key: DecodingKey,
    validation: Validation,
    config: JwtConfig,
}

/// Verifies credentials.
pub struct Auth {
    /// sha256 of each token → its principal. Looking up the digest, not the token, keeps the
    /// comparison's timing independent of how much of a guessed token is right.
    tokens: HashMap<[u8; 32], Principal>,
    /// Absences from the tokens file: (the absent officer's subject, the absence).
    away: Vec<(String, Away)>,
    jwt: Option<Jwt>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Auth {
    /// The officers away on `day` whose named work `subject` covers: (subject, absence).
    pub fn covered_by(&self, subject: &str, day: jiff::civil::Date) -> Vec<(String, Away)> {
        self.away
            .iter()
            .filter(|(_, a)| a.delegate == subject && a.from <= day && day <= a.until)
            .cloned()
            .collect()
    }

    /// The principal the tokens file names `subject`; `None` also when credentials come
    /// from JWTs alone (see [`Auth::has_tokens`]).
    pub fn principal(&self, subject: &str) -> Option<&Principal> {
        self.tokens.values().find(|p| p.subject == subject)
    }

    /// Whether a tokens file lists the credentials (a directory of officers to check against).
    pub fn has_tokens(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// The full name the tokens file gives `subject`, if it names them.
    pub fn name_of(&self, subject: &str) -> Option<&str> {
        self.tokens
            .values()
            .find(|p| p.subject == subject)
            .and_then(|p| p.name.as_deref())
    }

    /// Every (subject, full name) the tokens file names, for lists that print people.
    pub fn people(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tokens
            .values()
            .filter_map(|p| Some((p.subject.as_str(), p.name.as_deref()?)))
    }

    pub fn new(
        entries: Vec<TokenEntry>,
        jwt: Option<JwtConfig>,
        jwt_dir: &Path,
        dev: bool,
        origin: &Path,
    ) -> Result<Auth, Error> {
        let mut tokens = HashMap::new();
        let mut subjects = std::collections::HashSet::new();
        let mut away = vec![];
        let known: std::collections::HashSet<String> =
            entries.iter().map(|e| e.subject.clone()).collect();
        for (i, e) in entries.into_iter().enumerate() {
            let at = |m: &str| config_error(origin, format!("entry {}: {m}", i + 1));
            if e.subject.trim().is_empty() || e.subject.len() > 128 {
                return Err(at("subject must be 1 to 128 bytes"));
            }
            let key = match (&e.token_sha256, &e.token) {
                (Some(h), None) => {
                    let bytes = hex::decode(h).map_err(|_| at("token_sha256 is not hex"))?;
                    <[u8; 32]>::try_from(bytes.as_slice())
                        .map_err(|_| at("token_sha256 must be 64 hex digits"))?
                }
                (None, Some(t)) if dev => {
                    if t.len() < 16 {
                        return Err(at("a token must be at least 16 characters"));
                    }
                    digest(t)
                }
                (None, Some(_)) => {
                    return Err(at(
                        "a plain `token` is accepted only with --dev; store its token_sha256",
                    ));
                }
                _ => return Err(at("give exactly one of token_sha256 and token")),
            };
            // A subject names one credential: the audit log and idempotency keys rely on it.
            if !subjects.insert(e.subject.clone()) {
                return Err(at(&format!("subject '{}' appears twice", e.subject)));
            }
            if let Some(a) = &e.away {
                if a.until < a.from {
                    return Err(at("away: until is before from"));
                }
                if a.delegate == e.subject || !known.contains(&a.delegate) {
                    return Err(at(&format!(
                        "away: the delegate '{}' must be another officer of this file",
                        a.delegate
                    )));
                }
                away.push((e.subject.clone(), a.clone()));
            }
            let principal = Principal {
                subject: e.subject,
                roles: e.roles,
                departments: e.departments,
                name: e.name.filter(|n| !n.trim().is_empty()),
                title: e.title.filter(|n| !n.trim().is_empty()),
            };
            if tokens.insert(key, principal).is_some() {
                return Err(at("the same token appears twice"));
            }
        }
        let jwt = match jwt {
            None => None,
            Some(c) => Some(Jwt::new(c, jwt_dir)?),
        };
        Ok(Auth { tokens, away, jwt })
    }

    /// The principal the `Authorization` header's bearer credential names, or why not.
    pub fn verify(&self, authorization: Option<&str>) -> Result<Principal, String> {
        self.verify_expiring(authorization).map(|(p, _)| p)
    }

    /// Seconds past a JWT's `exp` it is still accepted (0 without JWTs).
    pub fn leeway_seconds(&self) -> u64 {
        self.jwt.as_ref().map_or(0, |j| j.config.leeway_seconds)
    }

    /// [`Auth::verify`], with when the credential expires (a JWT's `exp`, seconds since the
    /// epoch; tokens of the tokens file do not expire).
    pub fn verify_expiring(
        &self,
        authorization: Option<&str>,
    ) -> Result<(Principal, Option<u64>), String> {
        let Some(value) = authorization else {
            return Err("no credential: send `Authorization: Bearer <token>`".into());
        };
        // The scheme is case-insensitive (RFC 9110 §11.1).
        let token = match value.trim_start().split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token,
            _ => return Err("the Authorization header is not a Bearer credential".into()),
        };
        let token = token.trim();
        if token.is_empty() || token.len() > 8192 {
            return Err("the bearer credential is empty or too long".into());
        }
        if let Some(p) = self.tokens.get(&digest(token)) {
            return Ok((p.clone(), None));
        }
        match &self.jwt {
            Some(jwt) if token.matches('.').count() == 2 => jwt.verify(token),
            _ => Err("unknown token".into()),
        }
    }
}

impl Jwt {
    fn new(config: JwtConfig, dir: &Path) -> Result<Jwt, Error> {
        let origin = dir.join("jwt-config");
        let algorithm = match config.algorithm.as_str() {
            "HS256" => Algorithm::HS256,
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            other => {
                return Err(config_error(
                    &origin,
                    format!("algorithm '{other}': use HS256, RS256 or ES256"),
                ));
            }
        };
        let pem = |c: &JwtConfig| -> Result<Vec<u8>, Error> {
            let file = c.public_key_file.as_ref().ok_or_else(|| {
                config_error(&origin, format!("{} needs public_key_file", c.algorithm))
            })?;
            std::fs::read(dir.join(file))
                .map_err(|e| config_error(&origin, format!("reading {file}: {e}")))
        };
        let key = match algorithm {
            Algorithm::HS256 => {
                let secret = config
                    .secret
                    .as_ref()
                    .filter(|s| s.len() >= 32)
                    .ok_or_else(|| {
                        config_error(&origin, "HS256 needs a secret of at least 32 bytes")
                    })?;
                DecodingKey::from_secret(secret.as_bytes())
            }
            Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem(&config)?)
                .map_err(|e| config_error(&origin, format!("public key: {e}")))?,
            _ => DecodingKey::from_ec_pem(&pem(&config)?)
                .map_err(|e| config_error(&origin, format!("public key: {e}")))?,
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = config.leeway_seconds;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[config.issuer.as_str()]);
        validation.set_audience(&[config.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        Ok(Jwt {
            key,
            validation,
            config,
        })
    }

    fn verify(&self, token: &str) -> Result<(Principal, Option<u64>), String> {
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &self.key,
            &self.validation,
        )
        .map_err(|e| format!("the JWT is not accepted: {e}"))?;
        let claims = data.claims;
        let subject = claims
            .get(&self.config.subject_claim)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty() && s.len() <= 128)
            .ok_or_else(|| format!("the JWT has no '{}' claim", self.config.subject_claim))?;
        let list = |claim: &str| -> Result<Vec<String>, String> {
            match claims.get(claim) {
                None => Ok(vec![]),
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(String::from)
                            .ok_or_else(|| format!("the JWT claim '{claim}' holds a non-string"))
                    })
                    .collect(),
                Some(_) => Err(format!("the JWT claim '{claim}' is not a list")),
            }
        };
        let text = |claim: &str| {
            claims
                .get(claim)
                .and_then(|v| v.as_str())
                .map(|v| v.chars().take(200).collect::<String>())
                .filter(|v| !v.trim().is_empty())
        };
        let expires = claims.get("exp").and_then(serde_json::Value::as_u64);
        Ok((
            Principal {
                subject: subject.to_string(),
                roles: list(&self.config.roles_claim)?,
                departments: list(&self.config.departments_claim)?,
                name: text("name"),
                title: text("title"),
            },
            expires,
        ))
    }
}

/// Reads a tokens file (YAML list).
pub fn read_tokens(path: &Path) -> Result<Vec<TokenEntry>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| config_error(path, e.to_string()))?;
    serde_yaml::from_str(&text).map_err(|e| config_error(path, e.to_string()))
}

/// Reads a JWT configuration file (YAML).
pub fn read_jwt_config(path: &Path) -> Result<JwtConfig, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| config_error(path, e.to_string()))?;
    serde_yaml::from_str(&text).map_err(|e| config_error(path, e.to_string()))
}

/// A fresh random token for `--dev` (32 hex digits).
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// The sha256 a tokens file stores for `token`.
pub fn token_sha256(token: &str) -> String {
    hex::encode(digest(token))
}
