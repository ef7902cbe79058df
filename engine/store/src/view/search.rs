//! Staff search and the all-dossiers list ([`Query::Search`](crate::Query::Search)): text
//! through the `sx` term index, filters checked on the dossiers found, orders from the `dd`,
//! `du` and `rt` indexes (layout in [`crate::keys`]).
//!
//! Cursors are the position of the last dossier given: `t` + its sort key for a text search
//! (the matches are found again and the page resumes after it), `k` + the index key for a
//! listing walk. Either is sealed by the server before it reaches a caller.

use std::collections::HashSet;

use jiff::Timestamp;
use motcua_core::dossier::Channel;
use motcua_core::search;
use serde::Deserialize;

use super::{View, bad_cursor};
use crate::batch::{DOSSIERS, IDX, corrupt};
use crate::keys::{self, SEP};
use crate::{Error, Page, SCAN_BUDGET, SEARCH_MATCHES, Scope, Search, Sort};

/// Dossiers read in one round trip while walking a listing.
const LOAD_BATCH: usize = 64;

/// What the filters and orders read of a stored dossier record: parsed without the form data,
/// fees, notices and alarms, so a search that sorts a thousand matches stays within its time.
#[derive(Deserialize)]
struct Brief {
    code: String,
    procedure: String,
    applicant: BriefApplicant,
    channel: Channel,
    status: u8,
    #[serde(default)]
    tokens: Vec<BriefToken>,
    clock: BriefClock,
    #[serde(default)]
    ending: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct BriefApplicant {
    id: String,
    name: String,
    #[serde(default)]
    phone: Option<String>,
}

#[derive(Deserialize)]
struct BriefToken {
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    assignee: Option<String>,
}

#[derive(Deserialize)]
struct BriefClock {
    received_at: Timestamp,
    due_at: Timestamp,
    #[serde(default)]
    resolved: Option<BriefResolution>,
}

#[derive(Deserialize)]
struct BriefResolution {
    #[serde(default)]
    department: Option<String>,
}

impl Brief {
    fn is_open(&self) -> bool {
        self.ending.is_none()
    }
    fn terms(&self) -> Vec<String> {
        search::terms_of(
            &self.code,
            &self.applicant.name,
            &self.applicant.id,
            self.applicant.phone.as_deref(),
        )
    }
}

impl View<'_> {
    pub(crate) fn search(
        &self,
        q: &Search,
        after: Option<Vec<u8>>,
        limit: usize,
    ) -> Result<Page, Error> {
        if limit == 0 {
            return Ok(Page::default());
        }
        match q.text.as_deref().and_then(search::Query::parse) {
            Some(text) => self.text_search(q, &text, after, limit),
            None if q.text.as_deref().is_some_and(|t| !t.trim().is_empty()) => {
                // Typed, but nothing a dossier is found by (punctuation only).
                Ok(Page::default())
            }
            None => self.walk(q, after, limit),
        }
    }

    fn text_search(
        &self,
        q: &Search,
        text: &search::Query,
        after: Option<Vec<u8>>,
        limit: usize,
    ) -> Result<Page, Error> {
        let after = match after {
            None => None,
            Some(a) => match a.split_first() {
                Some((b't', key)) => Some(key.to_vec()),
                _ => return Err(bad_cursor(&a)),
            },
        };
        let (found, truncated) = self.matches(text)?;
        let mut hits: Vec<(Vec<u8>, String)> = self
            .load(&found)?
            .into_iter()
            .filter(|d| keep(q, d))
            .map(|d| (sort_key(q.sort, &d), d.code))
            .filter(|(k, _)| after.as_ref().is_none_or(|a| k > a))
            .collect();
        hits.sort();
        let next = if hits.len() > limit {
            hits.truncate(limit);
            hits.last().map(|(k, _)| {
                let mut c = vec![b't'];
                c.extend_from_slice(k);
                hex::encode(c)
            })
        } else {
            None
        };
        Ok(Page {
            codes: hits.into_iter().map(|(_, c)| c).collect(),
            next,
            truncated,
        })
    }

    /// The codes `text` matches (at most [`SEARCH_MATCHES`]), and whether there were more.
    /// The words run together first: one prefix of one term (a name from any word on, a code,
    /// an id or phone). Otherwise, words not consecutive: the narrowest word's dossiers, each
    /// held to every word.
    fn matches(&self, text: &search::Query) -> Result<(Vec<String>, bool), Error> {
        let mut found = self.term_prefix(&text.joined(), SEARCH_MATCHES + 1)?;
        if found.is_empty() && text.words.len() > 1 {
            let mut narrowest: Option<Vec<String>> = None;
            for w in &text.words {
                let codes = self.term_prefix(w, SEARCH_MATCHES + 1)?;
                if narrowest.as_ref().is_none_or(|n| codes.len() < n.len()) {
                    narrowest = Some(codes);
                }
            }
            let candidates = narrowest.unwrap_or_default();
            let truncated = candidates.len() > SEARCH_MATCHES;
            found = self
                .load(&candidates[..candidates.len().min(SEARCH_MATCHES)])?
                .iter()
                .filter(|d| text.matches(&d.terms()))
                .map(|d| d.code.clone())
                .collect();
            return Ok((found, truncated));
        }
        let truncated = found.len() > SEARCH_MATCHES;
        found.truncate(SEARCH_MATCHES);
        Ok((found, truncated))
    }

    /// Distinct codes of the `sx` keys whose term begins with `prefix`, at most `cap`.
    fn term_prefix(&self, prefix: &str, cap: usize) -> Result<Vec<String>, Error> {
        let scope = keys::join(&[b"sx", prefix.as_bytes()]);
        let mut upper = scope.clone();
        upper.push(0xff);
        let mut seen = HashSet::new();
        let mut codes = vec![];
        if prefix.is_empty() {
            return Ok(codes);
        }
        for item in self.space(IDX).range(&scope, Some(&upper)) {
            let (k, _) = item?;
            if !k.starts_with(&scope) {
                break;
            }
            if let Some(code) = keys::code_of(&k)
                && seen.insert(code.to_string())
            {
                codes.push(code.to_string());
                if codes.len() >= cap {
                    break;
                }
            }
        }
        Ok(codes)
    }

    /// What the filters read of the stored dossiers of `codes` that exist, in one round trip.
    fn load(&self, codes: &[String]) -> Result<Vec<Brief>, Error> {
        let space = self.space(DOSSIERS);
        let wanted: Vec<Vec<u8>> = codes.iter().map(|c| space.key(c.as_bytes())).collect();
        let mut out = Vec::with_capacity(codes.len());
        for (code, v) in codes.iter().zip(self.kv.get_many(&wanted)?) {
            if let Some(v) = v {
                let (_, json) = keys::parse_dossier_record(&v)
                    .ok_or_else(|| corrupt(format!("dossier {code}: the record is truncated")))?;
                let brief: Brief = serde_json::from_slice(json)
                    .map_err(|e| corrupt(format!("dossier {code}: {e}")))?;
                out.push(brief);
            }
        }
        Ok(out)
    }

    /// A listing without text: the index of the order, walked from the cursor, each dossier
    /// held to the filters, at most [`SCAN_BUDGET`] examined.
    fn walk(&self, q: &Search, after: Option<Vec<u8>>, limit: usize) -> Result<Page, Error> {
        let (space, prefix, descending) = match (q.sort, &q.department) {
            (Sort::Due, _) if q.scope == Scope::Open && q.assignee.is_some() => (
                IDX,
                keys::prefix(&[b"as", q.assignee.as_deref().unwrap_or("").as_bytes()]),
                false,
            ),
            (Sort::Due, Some(dep)) if q.scope == Scope::Open => {
                (IDX, keys::prefix(&[b"dd", dep.as_bytes()]), false)
            }
            (Sort::Due, _) => (IDX, keys::prefix(&[b"du"]), false),
            (Sort::Received, _) => (IDX, keys::prefix(&[b"rt"]), true),
            (Sort::Code, _) => (DOSSIERS, vec![], false),
        };
        let after = match after {
            None => None,
            Some(a) => match a.split_first() {
                Some((b'k', key)) if key.starts_with(&prefix) => Some(key.to_vec()),
                _ => return Err(bad_cursor(&a)),
            },
        };
        let mut upper = prefix.clone();
        upper.push(0xff);
        let (lower, upper) = match (&after, descending) {
            (Some(a), false) => {
                let mut l = a.clone();
                l.push(0);
                (l, upper)
            }
            (Some(a), true) => (prefix.clone(), a.clone()),
            (None, _) => (prefix.clone(), upper),
        };
        let range = self.space(space).range(&lower, Some(&upper));
        let mut keys_in_order: Box<dyn Iterator<Item = _>> = if descending {
            Box::new(range.rev())
        } else {
            Box::new(range)
        };
        let mut found: Vec<(String, Vec<u8>)> = vec![];
        // A dossier with two steps in one department (or assigned to one officer) has a key
        // per step: listed once per page, at its most urgent.
        let mut listed: HashSet<String> = HashSet::new();
        let mut examined = 0usize;
        let mut last_key: Option<Vec<u8>> = None;
        let mut done = false;
        while !done && found.len() <= limit && examined < SCAN_BUDGET {
            let mut batch: Vec<(String, Vec<u8>)> = vec![];
            for item in keys_in_order.by_ref() {
                let (k, _) = item?;
                let code = if space == DOSSIERS {
                    std::str::from_utf8(&k).ok()
                } else {
                    keys::code_of(&k)
                };
                if let Some(code) = code {
                    batch.push((code.to_string(), k.to_vec()));
                }
                if batch.len() >= LOAD_BATCH.min(SCAN_BUDGET - examined) {
                    break;
                }
            }
            if batch.is_empty() {
                break;
            }
            done = batch.len() < LOAD_BATCH.min(SCAN_BUDGET - examined);
            let codes: Vec<String> = batch.iter().map(|(c, _)| c.clone()).collect();
            let loaded = self.load(&codes)?;
            let mut loaded = loaded.into_iter().peekable();
            for (code, key) in batch {
                examined += 1;
                let d = match loaded.peek() {
                    Some(d) if d.code == code => loaded.next(),
                    _ => None,
                };
                if let Some(d) = d
                    && keep(q, &d)
                    && listed.insert(code.clone())
                {
                    found.push((code, key.clone()));
                    if found.len() > limit {
                        break;
                    }
                }
                last_key = Some(key);
            }
        }
        let cursor = |k: &[u8]| {
            let mut c = vec![b'k'];
            c.extend_from_slice(k);
            hex::encode(c)
        };
        let next = if found.len() > limit {
            found.truncate(limit);
            found.last().map(|(_, k)| cursor(k))
        } else if !done && examined >= SCAN_BUDGET {
            // The budget ran out before the page filled: go on from the last one examined.
            last_key.as_deref().map(cursor)
        } else {
            None
        };
        Ok(Page {
            codes: found.into_iter().map(|(c, _)| c).collect(),
            next,
            truncated: false,
        })
    }
}

/// Whether `d` passes every filter of `q`.
fn keep(q: &Search, d: &Brief) -> bool {
    let scope = match q.scope {
        Scope::Open => d.is_open(),
        Scope::Closed => !d.is_open(),
        Scope::All => true,
    };
    scope
        && q.procedure.as_ref().is_none_or(|p| p == &d.procedure)
        && q.procedures
            .as_ref()
            .is_none_or(|ps| ps.contains(&d.procedure))
        && q.status.is_none_or(|s| s == d.status)
        && q.channel.is_none_or(|c| c == d.channel)
        && q.received_from.is_none_or(|t| d.clock.received_at >= t)
        && q.received_before.is_none_or(|t| d.clock.received_at < t)
        && q.department.as_ref().is_none_or(|dep| {
            d.tokens.iter().any(|t| t.department.as_ref() == Some(dep))
                || d.clock
                    .resolved
                    .as_ref()
                    .is_some_and(|r| r.department.as_ref() == Some(dep))
        })
        && q.assignee
            .as_ref()
            .is_none_or(|who| d.tokens.iter().any(|t| t.assignee.as_ref() == Some(who)))
        && (q.sort != Sort::Due || q.text.is_some() || d.is_open())
}

/// The bytes a text search's matches are sorted by (unique: the code ends them).
fn sort_key(sort: Sort, d: &Brief) -> Vec<u8> {
    let mut k = match sort {
        Sort::Due => keys::time_key(d.clock.due_at).to_vec(),
        // Latest first.
        Sort::Received => keys::time_key(d.clock.received_at).map(|b| !b).to_vec(),
        Sort::Code => vec![],
    };
    k.push(SEP);
    k.extend_from_slice(d.code.as_bytes());
    k
}
