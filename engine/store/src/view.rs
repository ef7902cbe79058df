//! Reading the key layout: records by space, the chunked audit log and outbox, and the
//! listings (range scans with cursors). Shared by every store over a [`Kv`].

use bytes::Bytes;
use jiff::Timestamp;

use super::batch::{
    AUDIT_LOG, DOSSIERS, IDX, META, OUTBOX, PLUGINS, PROCS, STATE_DEPARTMENTS, TIMERS, corrupt,
    parse_record, read_counters,
};
use super::keys::{self, SEP};
use super::kv::Kv;
use super::{Error, Page, Query};
use motcua_core::audit;
use motcua_core::dossier::Dossier;
use motcua_core::transition::{Event, Timer, TimerKind};

mod delegate;
pub(crate) use delegate::{dossier_reads_through_view, reads_through_view};
mod chunks;
mod search;
#[cfg(test)]
use chunks::chunk_start;
pub(crate) use chunks::parse_entry;
pub(crate) use chunks::{chunk_holding, chunk_lines, chunk_raw};

/// The records of one kind: the keys that start with the space's byte, seen without it.
#[derive(Clone, Copy)]
pub(crate) struct Space<'a> {
    kv: &'a dyn Kv,
    id: u8,
}

pub(crate) type Entry = (Bytes, Bytes);

impl<'a> Space<'a> {
    pub(crate) fn of(kv: &'a dyn Kv, id: u8) -> Space<'a> {
        Space { kv, id }
    }

    pub(crate) fn key(&self, k: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(k.len() + 1);
        v.push(self.id);
        v.extend_from_slice(k);
        v
    }

    pub(crate) fn get(&self, k: &[u8]) -> Result<Option<Bytes>, Error> {
        self.kv.get(&self.key(k))
    }

    /// Entries with keys in `lower..upper` (`None`: to the end of the space), in key order.
    pub(crate) fn range(
        &self,
        lower: &[u8],
        upper: Option<&[u8]>,
    ) -> impl DoubleEndedIterator<Item = Result<Entry, Error>> + 'a {
        let lower = self.key(lower);
        let upper = match upper {
            Some(u) => self.key(u),
            None => vec![self.id + 1],
        };
        // An empty range rather than an inverted one (a cursor past the end).
        let upper = upper.max(lower.clone());
        self.kv.range(lower, upper).map(|item| {
            let (k, v) = item?;
            Ok((k.slice(1..), v))
        })
    }

    /// The last entry with a key at or before `k`.
    fn last_at_or_before(&self, k: &[u8]) -> Result<Option<Entry>, Error> {
        let mut upper = k.to_vec();
        upper.push(0);
        self.range(b"", Some(&upper)).next_back().transpose()
    }
}

/// What a store serves to readers, over its key space: everything up to the last audit entry
/// and outbox event made durable (`audit_through`, `outbox_through`), because a consumer that
/// acted on an entry keeps its number, which must never be reused after a crash.
pub(crate) struct View<'a> {
    pub(crate) kv: &'a dyn Kv,
    pub(crate) audit_through: u64,
    /// The chain's head at `audit_through` (empty or genesis for an empty log).
    pub(crate) audit_head: String,
    pub(crate) outbox_through: u64,
}

impl<'a> View<'a> {
    fn space(&self, id: u8) -> Space<'a> {
        Space::of(self.kv, id)
    }

    pub(crate) fn dossier(&self, code: &str) -> Result<Option<Dossier>, Error> {
        match self.space(DOSSIERS).get(code.as_bytes())? {
            None => Ok(None),
            Some(v) => Ok(Some(parse_record(code, &v)?.0)),
        }
    }

    pub(crate) fn history(&self, code: &str) -> Result<Vec<audit::Entry>, Error> {
        let Some(v) = self.space(DOSSIERS).get(code.as_bytes())? else {
            return Ok(vec![]);
        };
        let (seqs, _) = keys::parse_dossier_record(&v)
            .ok_or_else(|| corrupt(format!("dossier {code}: the record is truncated")))?;
        // Like `audit`, only what is durable: an entry a crash could still take back must not
        // be shown (or exported) as history.
        let through = self.audit_through;
        let log = self.space(AUDIT_LOG);
        seqs.into_iter()
            .filter(|seq| *seq <= through)
            .map(|seq| {
                let (first, chunk) = chunk_holding(log, seq)?
                    .ok_or_else(|| corrupt(format!("audit entry {seq} is missing")))?;
                let line = chunk
                    .split(|b| *b == b'\n')
                    .nth((seq - first) as usize)
                    .ok_or_else(|| corrupt(format!("audit entry {seq} is missing")))?;
                parse_entry(seq, line)
            })
            .collect()
    }

    pub(crate) fn audit(&self, from: u64, limit: usize) -> Result<Vec<audit::Entry>, Error> {
        let mut out = vec![];
        let mut failed = None;
        chunk_raw(
            self.space(AUDIT_LOG),
            from,
            self.audit_through,
            &mut |seq, line| {
                match parse_entry(seq, line) {
                    Ok(e) => out.push(e),
                    Err(e) => failed = Some(e),
                }
                failed.is_none() && out.len() < limit
            },
        )?;
        match failed {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Every stored line of the log through the durable head, in order, as stored: `f` gets
    /// each line's position (its chunk's first number plus its index) and bytes, and returns
    /// whether to go on.
    pub(crate) fn audit_lines(
        &self,
        from: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), Error> {
        chunk_raw(self.space(AUDIT_LOG), from, self.audit_through, f)
    }

    /// The number of entries served and the chain's head after the last.
    pub(crate) fn audit_head(&self) -> (u64, String) {
        if self.audit_through == 0 || self.audit_head.is_empty() {
            (self.audit_through, audit::GENESIS.to_string())
        } else {
            (self.audit_through, self.audit_head.clone())
        }
    }

    pub(crate) fn audit_index(
        &self,
        key: &super::AuditKey,
        after: u64,
        f: &mut dyn FnMut(u64) -> bool,
    ) -> Result<(), Error> {
        let prefix = key.prefix();
        let space = self.space(super::batch::AUDIT_INDEX);
        // Start at the posting that holds `after + 1`: the last one keyed at or before it.
        let mut probe = prefix.clone();
        probe.extend_from_slice(&after.saturating_add(1).to_be_bytes());
        let start = match space.last_at_or_before(&probe)? {
            Some((k, _)) if k.starts_with(&prefix) => k.to_vec(),
            _ => prefix.clone(),
        };
        let mut upper = prefix.clone();
        upper.extend_from_slice(&[0xff; 9]);
        for item in space.range(&start, Some(&upper)) {
            let (k, v) = item?;
            if !k.starts_with(&prefix) {
                break;
            }
            for seq in super::audit_index::posting_seqs(&v) {
                if seq <= after {
                    continue;
                }
                if seq > self.audit_through || !f(seq) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    pub(crate) fn audit_entry(&self, seq: u64) -> Result<Option<audit::Entry>, Error> {
        if seq == 0 || seq > self.audit_through {
            return Ok(None);
        }
        let Some((first, chunk)) = chunk_holding(self.space(AUDIT_LOG), seq)? else {
            return Ok(None);
        };
        match chunk.split(|b| *b == b'\n').nth((seq - first) as usize) {
            Some(line) => parse_entry(seq, line).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn report_counters(
        &self,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<Vec<super::CounterRow>, Error> {
        let space = self.space(super::batch::REPORT);
        let lower = motcua_core::report::day_key(from);
        let upper = match to.tomorrow() {
            Ok(d) => motcua_core::report::day_key(d).to_vec(),
            Err(_) => vec![0xff; 5],
        };
        space
            .range(&lower, Some(&upper))
            .map(|item| {
                let (k, v) = item?;
                let v = motcua_core::report::decode_value(&v)
                    .ok_or_else(|| corrupt("a report counter is corrupt"))?;
                Ok((k.to_vec(), v))
            })
            .collect()
    }

    /// Every stored line of the log from position `from`, durable or not.
    pub(crate) fn audit_lines_stored(
        &self,
        from: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), Error> {
        chunk_raw(self.space(AUDIT_LOG), from, u64::MAX, f)
    }

    /// Every stored dossier record, by code, as stored.
    pub(crate) fn dossier_records(
        &self,
        f: &mut dyn FnMut(&str, &[u8]) -> bool,
    ) -> Result<(), Error> {
        for item in self.space(DOSSIERS).range(b"", None) {
            let (k, v) = item?;
            let code =
                std::str::from_utf8(&k).map_err(|_| corrupt("a dossier key is not UTF-8"))?;
            if !f(code, &v) {
                break;
            }
        }
        Ok(())
    }

    pub(crate) fn list(
        &self,
        query: &Query,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        let after = match after {
            None => None,
            Some(c) => Some(hex::decode(c).map_err(|_| Error::BadCursor(c.to_string()))?),
        };
        let idx = self.space(IDX);
        match query {
            Query::State { procedure, state } => {
                // One `wk` prefix per department the state was ever owned by (usually one),
                // each in code order; merged by code.
                let sd = keys::prefix(&[procedure.as_bytes(), state.as_bytes()]);
                let mut scans = vec![];
                for item in self.space(STATE_DEPARTMENTS).range(&sd, None) {
                    let (k, _) = item?;
                    let Some(department) = k.strip_prefix(sd.as_slice()) else {
                        break;
                    };
                    // `department` is cut from a stored key, already escaped.
                    let mut scan = keys::join_escaped(&[
                        &keys::join(&[b"wk"]),
                        department,
                        &keys::join(&[state.as_bytes()]),
                        &keys::join(&[procedure.as_bytes()]),
                    ]);
                    scan.push(SEP);
                    scans.push(scan);
                }
                // A cursor of this listing is a `wk` key of this procedure and state.
                let after_code = match &after {
                    Some(k) => {
                        let own = keys::state_department_of(k).is_some_and(|x| x.starts_with(&sd));
                        if !own {
                            return Err(bad_cursor(k));
                        }
                        Some(keys::code_of(k).ok_or_else(|| bad_cursor(k))?.to_string())
                    }
                    None => None,
                };
                let mut found: Vec<(String, Vec<u8>)> = vec![];
                for prefix in scans {
                    let mut start = prefix.clone();
                    if let Some(code) = &after_code {
                        start.extend_from_slice(code.as_bytes());
                        start.push(0);
                    }
                    for item in idx.range(&start, None).take(limit.saturating_add(1)) {
                        let (k, _) = item?;
                        if !k.starts_with(&prefix) {
                            break;
                        }
                        if let Some(code) = keys::code_of(&k) {
                            found.push((code.to_string(), k.to_vec()));
                        }
                    }
                }
                found.sort();
                Ok(page(found, limit))
            }
            Query::Department { department, state } => {
                let prefix = match state {
                    Some(state) => keys::prefix(&[b"wk", department.as_bytes(), state.as_bytes()]),
                    None => keys::prefix(&[b"wk", department.as_bytes()]),
                };
                scan(idx, &prefix, &prefix, after, None, limit, keys::code_of)
            }
            Query::Applicant { applicant } => {
                let prefix = keys::prefix(&[b"ap", applicant.as_bytes()]);
                scan(idx, &prefix, &prefix, after, None, limit, keys::code_of)
            }
            Query::Received { agency, from, to } => {
                let prefix = keys::prefix(&[b"rc", agency.as_bytes()]);
                let mut start = prefix.clone();
                start.extend_from_slice(from.as_bytes());
                let mut upper = prefix.clone();
                upper.extend_from_slice(to.as_bytes());
                upper.push(SEP + 1);
                scan(
                    idx,
                    &prefix,
                    &start,
                    after,
                    Some(upper),
                    limit,
                    keys::code_of,
                )
            }
            Query::Search(q) => self.search(q, after, limit),
            Query::Overdue { now } => {
                // Two disjoint sources in one order (appointment, then code): clocks still
                // running past their appointment (its timer has not fired yet), and dossiers
                // whose breach was recorded (the `od` index). Each candidate is held to
                // `Dossier::is_overdue_at`, the rule every reader shares: the `od` index keeps
                // a breached dossier through a pause, and a paused clock is not overdue.
                let cursor = match &after {
                    Some(k) => match keys::timer_of_key(k) {
                        Some(t) if t.kind == TimerKind::Appointment => Some(t),
                        _ => return Err(bad_cursor(k)),
                    },
                    None => None,
                };
                let upper = keys::time_key(*now).to_vec();
                let mut found: Vec<(Timestamp, String)> = vec![];
                let mut lower = after.clone().unwrap_or_default();
                if !lower.is_empty() {
                    lower.push(0);
                }
                for item in self.space(TIMERS).range(&lower, Some(&upper)) {
                    let (k, _) = item?;
                    if let Some(t) = keys::timer_of_key(&k)
                        && t.kind == TimerKind::Appointment
                        && self.overdue(&t.dossier, *now)?
                    {
                        found.push((t.at, t.dossier));
                        if found.len() > limit {
                            break;
                        }
                    }
                }
                let prefix = keys::prefix(&[b"od"]);
                let mut lower = match &cursor {
                    Some(t) => keys::overdue_key_at(t.at, &t.dossier),
                    None => prefix.clone(),
                };
                lower.push(0);
                let mut breached = 0;
                for item in idx.range(&lower, None) {
                    let (k, _) = item?;
                    if !k.starts_with(&prefix) {
                        break;
                    }
                    let (at, code) = keys::overdue_of(&k)
                        .ok_or_else(|| corrupt("an overdue key does not parse"))?;
                    if at >= *now {
                        break;
                    }
                    if !self.overdue(&code, *now)? {
                        continue;
                    }
                    found.push((at, code));
                    breached += 1;
                    if breached > limit {
                        break;
                    }
                }
                found.sort();
                let found = found
                    .into_iter()
                    .map(|(at, dossier)| {
                        let key = keys::timer_key(&Timer {
                            at,
                            dossier: dossier.clone(),
                            kind: TimerKind::Appointment,
                        });
                        (dossier, key)
                    })
                    .collect();
                Ok(page(found, limit))
            }
        }
    }

    /// Whether the stored dossier `code` is overdue at `now` ([`Dossier::is_overdue_at`]).
    fn overdue(&self, code: &str, now: Timestamp) -> Result<bool, Error> {
        Ok(self.dossier(code)?.is_some_and(|d| d.is_overdue_at(now)))
    }

    pub(crate) fn has_timer(&self, timer: &Timer) -> Result<bool, Error> {
        Ok(self.space(TIMERS).get(&keys::timer_key(timer))?.is_some())
    }

    pub(crate) fn due_timers(
        &self,
        after: Option<&Timer>,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Timer>, Error> {
        let mut upper = keys::time_key(until).to_vec();
        upper.push(SEP + 1);
        let mut lower = after.map(keys::timer_key).unwrap_or_default();
        if !lower.is_empty() {
            // Strictly after the cursor's key.
            lower.push(0);
        }
        self.space(TIMERS)
            .range(&lower, Some(&upper))
            .take(limit)
            .map(|item| {
                let (k, _) = item?;
                keys::timer_of_key(&k).ok_or_else(|| corrupt("a timer key does not parse"))
            })
            .collect()
    }

    pub(crate) fn outbox(&self, after: u64, limit: usize) -> Result<Vec<(u64, Event)>, Error> {
        let through = self.outbox_through;
        chunk_lines(self.space(OUTBOX), after.saturating_add(1), through, limit)
    }

    pub(crate) fn procedures(&self) -> Result<Vec<(String, String)>, Error> {
        self.space(PROCS)
            .range(b"", None)
            .map(|item| {
                let (k, v) = item?;
                Ok((
                    String::from_utf8_lossy(&k).into_owned(),
                    String::from_utf8(v.to_vec()).map_err(corrupt)?,
                ))
            })
            .collect()
    }

    pub(crate) fn plugin(&self, sha256: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self
            .space(PLUGINS)
            .get(sha256.as_bytes())?
            .map(|v| v.to_vec()))
    }

    pub(crate) fn dossier_count(&self) -> Result<u64, Error> {
        Ok(read_counters(self.space(META))?.dossiers)
    }
}

pub(crate) fn be_u64(k: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(k.try_into().ok()?))
}

fn bad_cursor(key: &[u8]) -> Error {
    Error::BadCursor(hex::encode(key))
}

/// A page of the codes `code` finds in the keys of `space` that start with `prefix`, from
/// `start` on, after the key `after` and before `upper`.
fn scan(
    space: Space,
    prefix: &[u8],
    start: &[u8],
    after: Option<Vec<u8>>,
    upper: Option<Vec<u8>>,
    limit: usize,
    code: impl Fn(&[u8]) -> Option<&str>,
) -> Result<Page, Error> {
    let mut lower = start.to_vec();
    if let Some(mut a) = after {
        if !a.starts_with(prefix) {
            return Err(bad_cursor(&a));
        }
        // The smallest key after `a`.
        a.push(0);
        lower = lower.max(a);
    }
    let mut found = vec![];
    if limit == 0 {
        return Ok(Page::default());
    }
    for item in space.range(&lower, upper.as_deref()) {
        let (k, _) = item?;
        if !k.starts_with(prefix) {
            break;
        }
        if let Some(c) = code(&k) {
            found.push((c.to_string(), k.to_vec()));
            // One more than the page, to know whether another page follows.
            if found.len() > limit {
                break;
            }
        }
    }
    Ok(page(found, limit))
}

/// The first `limit` of `found` (in key order), with a cursor only if more were found.
fn page(mut found: Vec<(String, Vec<u8>)>, limit: usize) -> Page {
    let next = if found.len() > limit {
        found.truncate(limit);
        found.last().map(|(_, k)| hex::encode(k))
    } else {
        None
    };
    Page {
        codes: found.into_iter().map(|(c, _)| c).collect(),
        next,
        truncated: false,
    }
}

#[cfg(test)]
mod tests;
