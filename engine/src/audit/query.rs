//! Queries over the audit log: by dossier, actor, department, procedure, action and time
//! range, in sequence order, a page at a time.
//!
//! A query picks where its candidates come from, then checks every candidate against every
//! filter, so the plan changes only the cost, never the answer:
//! - a dossier's own history (its record lists its entries);
//! - else the most selective of the store's postings ([`AuditKey`]) the filter names: the
//!   actor, the procedure, the department, or every local day of a bounded time range merged
//!   in sequence order;
//! - else the whole log, streamed.
//!
//! The department filter matches the acting officer's departments as the entry records them
//! (what the index posts), not the department owning the step.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::Entry;
use crate::store::{AuditKey, AuditReader, Error, local_day};

/// The most entries one page returns, whatever the caller asks.
pub const MAX_PAGE: usize = 1000;

/// How many candidates one page examines at most (index postings or log lines) before it
/// returns what it found with a cursor to go on from: a filter that the indexes cannot narrow
/// (an action alone) must not make one request read the whole log.
pub const PAGE_WORK: usize = 20_000;

/// A time range of more days than this is not looked up day by day (each day is a seek per
/// page); the range then only filters the candidates of another plan.
pub const MAX_DAYS: i64 = 400;

/// Which entries to return. Every field set must hold (they are ANDed); an empty filter
/// matches the whole log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Filter {
    /// The dossier's code.
    pub dossier: Option<String>,
    /// The actor's id (`system` for the engine's own steps).
    pub actor: Option<String>,
    /// One of the acting officer's departments, as recorded in the entry.
    pub department: Option<String>,
    /// The procedure's id.
    pub procedure: Option<String>,
    /// `submit`, an action id, or `system:<what>`.
    pub action: Option<String>,
    /// Entries at or after this instant (inclusive).
    pub from: Option<Timestamp>,
    /// Entries before this instant (exclusive), so consecutive ranges `a..b`, `b..c` never
    /// count an entry twice.
    pub to: Option<Timestamp>,
}

impl Filter {
    /// Whether `e` satisfies every filter set.
    pub fn matches(&self, e: &Entry) -> bool {
        fn eq(want: &Option<String>, got: &str) -> bool {
            want.as_deref().is_none_or(|w| w == got)
        }
        eq(&self.dossier, &e.dossier)
            && eq(&self.actor, &e.actor)
            && eq(&self.procedure, &e.procedure)
            && eq(&self.action, &e.action)
            && self
                .department
                .as_deref()
                .is_none_or(|d| e.departments.iter().any(|x| x == d))
            && self.from.is_none_or(|f| e.at >= f)
            && self.to.is_none_or(|t| e.at < t)
    }

    /// Whether nothing is filtered.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// A range that ends at or before it starts holds nothing.
    fn is_void(&self) -> bool {
        matches!((self.from, self.to), (Some(f), Some(t)) if t <= f)
    }

    /// What a stored line must contain to hold a match, tested before parsing it. Stored
    /// lines are RFC 8785 canonical JSON (the chain proves it), so an entry whose `action` is
    /// `X` contains `"action":"X"` byte for byte; other members may contain the same bytes (an
    /// input named `action`), which parsing then rules out.
    fn needles(&self) -> Vec<Vec<u8>> {
        let member = |name: &str, value: &Option<String>| {
            value.as_deref().map(|v| {
                let mut n = Vec::with_capacity(name.len() + v.len() + 6);
                super::canonical::write_string(&mut n, name);
                n.push(b':');
                super::canonical::write_string(&mut n, v);
                n
            })
        };
        [
            member("dossier", &self.dossier),
            member("actor", &self.actor),
            member("procedure", &self.procedure),
            member("action", &self.action),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, _)) = needle.split_first() else {
        return true;
    };
    let mut at = 0;
    while let Some(i) = hay[at..].iter().position(|b| *b == first) {
        let start = at + i;
        if hay[start..].starts_with(needle) {
            return true;
        }
        at = start + 1;
    }
    false
}

/// One page of [`list`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// Pass as `after` for the next page; `None` when the log holds no more matches. A page
    /// may hold fewer than the limit, even none, and still have a `next`: it stopped at its
    /// work bound ([`PAGE_WORK`]).
    pub next: Option<String>,
}

/// The entries matching `filter` in sequence order, at most `limit` (capped at
/// [`MAX_PAGE`]), strictly after the cursor `after` that a previous page returned as `next`.
/// A cursor this log cannot have returned is refused ([`Error::BadCursor`]).
pub fn list(
    reader: &dyn AuditReader,
    filter: &Filter,
    after: Option<&str>,
    limit: usize,
) -> Result<Page, Error> {
    list_within(reader, filter, after, limit, PAGE_WORK)
}

/// [`list`] with its own bound on the candidates one page examines (at least one), for an
/// embedder that answers requests under a tighter latency budget.
pub fn list_within(
    reader: &dyn AuditReader,
    filter: &Filter,
    after: Option<&str>,
    limit: usize,
    work: usize,
) -> Result<Page, Error> {
    let after = match after {
        Some(c) => parse_cursor(reader, c)?,
        None => 0,
    };
    let limit = limit.clamp(1, MAX_PAGE);
    let mut entries = Vec::new();
    let walked = walk(reader, filter, after, Some(work.max(1)), &mut |e, _| {
        entries.push(e.clone());
        entries.len() < limit
    })?;
    let next = match walked {
        Walked::Exhausted => None,
        Walked::Stopped { last } => Some(last.to_string()),
    };
    Ok(Page { entries, next })
}

/// Where a query's candidates come from (what [`list`] and the exports read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The dossier's own history.
    History(String),
    /// The postings of these keys, merged (several only for the days of a time range).
    Postings(Vec<AuditKey>),
    /// The whole log, streamed.
    Log,
}

/// The source [`list`] would read for `filter` after the cursor `after`: how a slow query is
/// explained.
pub fn source(
    reader: &dyn AuditReader,
    filter: &Filter,
    after: Option<&str>,
) -> Result<Source, Error> {
    let after = match after {
        Some(c) => parse_cursor(reader, c)?,
        None => 0,
    };
    if let Some(code) = &filter.dossier {
        return Ok(Source::History(code.clone()));
    }
    Ok(match plan(reader, filter, after)? {
        Some(c) => Source::Postings(c.stream.cursors.into_iter().map(|p| p.key).collect()),
        None => Source::Log,
    })
}

/// A cursor is the sequence number of the last entry a page examined, in decimal: anything
/// else, or a number past the log's end, was not returned by this log.
fn parse_cursor(reader: &dyn AuditReader, c: &str) -> Result<u64, Error> {
    let bad = || Error::BadCursor(c.to_string());
    let canonical = !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()) && !c.starts_with('0');
    if !canonical {
        return Err(bad());
    }
    let seq: u64 = c.parse().map_err(|_| bad())?;
    let (count, _) = reader.audit_head()?;
    if seq > count {
        return Err(bad());
    }
    Ok(seq)
}

/// How a walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Walked {
    /// Every candidate was examined.
    Exhausted,
    /// The visitor or the work bound stopped it; everything through `last` was examined.
    Stopped { last: u64 },
}

/// Visits every entry matching `filter` after sequence number `after`, in order, with its
/// stored line when the plan read it (a dossier's history comes parsed), until `visit` returns
/// false or `work` candidates were examined.
pub(crate) fn walk(
    reader: &dyn AuditReader,
    filter: &Filter,
    after: u64,
    work: Option<usize>,
    visit: &mut dyn FnMut(&Entry, Option<&[u8]>) -> bool,
) -> Result<Walked, Error> {
    if filter.is_void() {
        return Ok(Walked::Exhausted);
    }
    let mut budget = Budget { left: work };
    if let Some(code) = &filter.dossier {
        // A dossier's history is a few dozen entries: read it whole.
        for e in reader.history(code)? {
            if e.seq <= after {
                continue;
            }
            if budget.spent() {
                return Ok(Walked::Stopped { last: e.seq - 1 });
            }
            if filter.matches(&e) && !visit(&e, None) {
                return Ok(Walked::Stopped { last: e.seq });
            }
        }
        return Ok(Walked::Exhausted);
    }
    match plan(reader, filter, after)? {
        Some(mut candidates) => {
            let mut last = after;
            while let Some(seq) = candidates.next(reader)? {
                if budget.spent() {
                    return Ok(Walked::Stopped { last });
                }
                last = seq;
                let (e, line) = entry_at(reader, seq)?;
                if filter.matches(&e) && !visit(&e, Some(&line)) {
                    return Ok(Walked::Stopped { last });
                }
            }
            Ok(Walked::Exhausted)
        }
        None => scan(reader, filter, after, &mut budget, visit),
    }
}

/// The whole log from `after`, streamed.
fn scan(
    reader: &dyn AuditReader,
    filter: &Filter,
    after: u64,
    budget: &mut Budget,
    visit: &mut dyn FnMut(&Entry, Option<&[u8]>) -> bool,
) -> Result<Walked, Error> {
    let needles = filter.needles();
    let mut stopped = None;
    let mut failed = None;
    let mut last = after;
    reader.audit_lines(after.saturating_add(1), &mut |seq, line| {
        if budget.spent() {
            stopped = Some(last);
            return false;
        }
        last = seq;
        if !needles.iter().all(|n| contains(line, n)) {
            return true;
        }
        match parse(seq, line) {
            Ok(e) if filter.matches(&e) && !visit(&e, Some(line)) => {
                stopped = Some(seq);
                false
            }
            Ok(_) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(match stopped {
        Some(last) => Walked::Stopped { last },
        None => Walked::Exhausted,
    })
}

struct Budget {
    left: Option<usize>,
}

impl Budget {
    /// Counts one candidate; true once none is left.
    fn spent(&mut self) -> bool {
        match &mut self.left {
            None => false,
            Some(0) => true,
            Some(n) => {
                *n -= 1;
                false
            }
        }
    }
}

fn parse(seq: u64, line: &[u8]) -> Result<Entry, Error> {
    let e =
        Entry::from_line(line).map_err(|e| Error::Corrupt(format!("audit entry {seq}: {e}")))?;
    if e.seq != seq {
        return Err(Error::Corrupt(format!(
            "audit entry {seq}: the line stored in its place is entry {} (the log was altered)",
            e.seq
        )));
    }
    Ok(e)
}

/// The stored line numbered `seq` and the entry it holds.
pub(crate) fn entry_at(reader: &dyn AuditReader, seq: u64) -> Result<(Entry, Vec<u8>), Error> {
    let mut found = None;
    reader.audit_lines(seq, &mut |s, line| {
        if s == seq {
            found = Some(line.to_vec());
        }
        false
    })?;
    let line = found.ok_or_else(|| {
        Error::Corrupt(format!("audit entry {seq} is indexed but not in the log"))
    })?;
    Ok((parse(seq, &line)?, line))
}

/// How many postings each index is probed for, to estimate which is the most selective, and
/// how many a cursor reads at a time afterwards.
const PROBE: usize = 256;

/// The candidates of the most selective index the filter names, or `None` for a scan.
fn plan(
    reader: &dyn AuditReader,
    filter: &Filter,
    after: u64,
) -> Result<Option<Candidates>, Error> {
    let mut streams: Vec<Stream> = [
        filter.actor.clone().map(AuditKey::Actor),
        filter.procedure.clone().map(AuditKey::Procedure),
        filter.department.clone().map(AuditKey::Department),
    ]
    .into_iter()
    .flatten()
    .map(|k| Stream::new(vec![k], after))
    .collect();
    if let Some(days) = days_of(filter) {
        streams.push(Stream::new(
            days.into_iter().map(AuditKey::Day).collect(),
            after,
        ));
    }
    if streams.is_empty() {
        return Ok(None);
    }
    let (count, _) = reader.audit_head()?;
    let mut best: Option<(u64, Candidates)> = None;
    for stream in streams {
        let mut c = Candidates {
            ahead: VecDeque::with_capacity(PROBE),
            stream,
        };
        while c.ahead.len() < PROBE {
            match c.stream.next(reader)? {
                Some(seq) => c.ahead.push_back(seq),
                None => break,
            }
        }
        let estimate = match c.ahead.back() {
            None => 0,
            // Fewer than asked for: that is all there is.
            Some(_) if c.ahead.len() < PROBE => c.ahead.len() as u64,
            // As many postings per entry of the log as the probe saw.
            Some(&last) => {
                let span = last.saturating_sub(after).max(1);
                let rest = count.saturating_sub(after);
                (PROBE as u128 * rest as u128 / span as u128) as u64
            }
        };
        if best.as_ref().is_none_or(|(b, _)| estimate < *b) {
            best = Some((estimate, c));
        }
    }
    Ok(best.map(|(_, c)| c))
}

/// The local days `from..to` touches, if both are set and the range is not too long.
fn days_of(filter: &Filter) -> Option<Vec<jiff::civil::Date>> {
    let (from, to) = (filter.from?, filter.to?);
    // `to` is exclusive: the last day is the one of the instant just before it.
    let last = local_day(to.checked_sub(SignedDuration::from_nanos(1)).ok()?);
    let mut day = local_day(from);
    let span = day.until(last).ok()?.get_days() as i64;
    if span > MAX_DAYS {
        return None;
    }
    let mut days = Vec::new();
    while day <= last {
        days.push(day);
        day = day.tomorrow().ok()?;
    }
    Some(days)
}

/// The candidates a probe read already, then the rest of its stream.
struct Candidates {
    ahead: VecDeque<u64>,
    stream: Stream,
}

impl Candidates {
    fn next(&mut self, reader: &dyn AuditReader) -> Result<Option<u64>, Error> {
        match self.ahead.pop_front() {
            Some(seq) => Ok(Some(seq)),
            None => self.stream.next(reader),
        }
    }
}

/// The postings of one or more keys merged in ascending order without repeats (an entry is
/// posted once per key, but one key may post it twice: an officer listing a department
/// twice).
struct Stream {
    cursors: Vec<Postings>,
    /// The head of each cursor that has one, smallest first.
    heads: BinaryHeap<Reverse<(u64, usize)>>,
    started: bool,
    last: u64,
}

impl Stream {
    fn new(keys: Vec<AuditKey>, after: u64) -> Stream {
        Stream {
            cursors: keys
                .into_iter()
                .map(|key| Postings {
                    key,
                    buf: VecDeque::new(),
                    after,
                    done: false,
                })
                .collect(),
            heads: BinaryHeap::new(),
            started: false,
            last: after,
        }
    }

    fn next(&mut self, reader: &dyn AuditReader) -> Result<Option<u64>, Error> {
        if !self.started {
            self.started = true;
            for i in 0..self.cursors.len() {
                if let Some(seq) = self.cursors[i].pop(reader)? {
                    self.heads.push(Reverse((seq, i)));
                }
            }
        }
        while let Some(Reverse((seq, i))) = self.heads.pop() {
            if let Some(following) = self.cursors[i].pop(reader)? {
                self.heads.push(Reverse((following, i)));
            }
            if seq > self.last {
                self.last = seq;
                return Ok(Some(seq));
            }
        }
        Ok(None)
    }
}

/// One key's postings, read a few hundred at a time: a day range keeps one per day, so its
/// memory is bounded by days times the batch, not by the log.
struct Postings {
    key: AuditKey,
    buf: VecDeque<u64>,
    /// The last number read from the store.
    after: u64,
    done: bool,
}

impl Postings {
    fn pop(&mut self, reader: &dyn AuditReader) -> Result<Option<u64>, Error> {
        if self.buf.is_empty() && !self.done {
            let (buf, after) = (&mut self.buf, &mut self.after);
            reader.audit_index(&self.key, *after, &mut |seq| {
                buf.push_back(seq);
                *after = seq;
                buf.len() < PROBE
            })?;
            self.done = self.buf.len() < PROBE;
        }
        Ok(self.buf.pop_front())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_inclusive_at_its_start_and_exclusive_at_its_end() {
        let at: Timestamp = "2026-06-01T02:00:00Z".parse().unwrap_or_default();
        let e = Entry {
            seq: 1,
            at,
            dossier: "X-260601-0001".into(),
            procedure: "p".into(),
            procedure_hash: String::new(),
            action: "submit".into(),
            actor: "mc01".into(),
            roles: vec![],
            departments: vec!["mot_cua".into()],
            from: vec![],
            to: vec![],
            comment: None,
            input: serde_json::Value::Null,
            on_behalf: None,
            steps: vec![],
            resolution: None,
            version: 1,
            record: None,
            replaces: None,
            migrated: None,
            prev_hash: String::new(),
            hash: String::new(),
        };
        let from = Filter {
            from: Some(at),
            ..Filter::default()
        };
        let to = Filter {
            to: Some(at),
            ..Filter::default()
        };
        assert!(from.matches(&e));
        assert!(!to.matches(&e));
    }

    #[test]
    fn the_day_range_of_an_exclusive_end_at_local_midnight_stops_the_day_before() {
        let f = Filter {
            from: "2026-06-01T08:00:00+07:00".parse().ok(),
            to: "2026-06-03T00:00:00+07:00".parse().ok(),
            ..Filter::default()
        };
        let days: Vec<String> = days_of(&f)
            .unwrap_or_default()
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(days, ["2026-06-01", "2026-06-02"]);
    }

    #[test]
    fn a_needle_is_found_anywhere_in_a_line() {
        assert!(contains(
            br#"{"a":"xx","action":"ky"}"#,
            br#""action":"ky""#
        ));
        assert!(!contains(br#"{"action":"ky_duyet"}"#, br#""action":"ky""#));
    }
}
