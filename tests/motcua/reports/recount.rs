//! The report's figures counted again from scratch: from every audit entry in the store, read
//! in pages, and the procedure files; not from the counters, not from the dossier records.
//!
//! A dossier's life is replayed from its entries: its submission (procedure, channel, the
//! instant of receipt), each step's states left and entered (forks, joins, terminals as the
//! procedure file declares them), its pauses and resumes, the breach of its appointment, and
//! the entry that resolved it with its class. Its working time is recomputed with the calendar
//! from the counting start and the pause entries, and checked against the one recorded.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use jiff::civil::Date;
use motcua::calendar::Calendar;
use motcua::deadline::{Class, WorkingCalendar};
use motcua::dossier::feedback::Level;
use motcua::procedure::{Procedure, StateKind};
use motcua::report::{By, Query, Row};
use motcua::store::Reader;

use crate::support::fixture;

pub type Definitions = HashMap<String, Procedure>;

/// The fixture procedures the workload runs, by id.
pub fn definitions() -> Definitions {
    let mut out = HashMap::new();
    for dir in ["engine", "deadline"] {
        for file in std::fs::read_dir(fixture(dir)).expect("fixture folder") {
            let path = file.expect("entry").path();
            let loaded = motcua::procedure::load_file(&path).expect("readable");
            let p = loaded.procedure.expect("a procedure");
            out.insert(p.id.clone(), p);
        }
    }
    out
}

/// One dossier's life as its audit entries tell it.
#[derive(Debug, Default)]
pub struct Told {
    /// Received by a submission (a child of a linked group is started by the system).
    pub submitted: bool,
    pub procedure: String,
    pub channel: String,
    pub received_at: Timestamp,
    /// The states of its active steps, and the branches waiting at each join.
    active: Vec<String>,
    waiting: BTreeMap<String, usize>,
    pause: Option<Timestamp>,
    pauses: Vec<(Timestamp, Timestamp)>,
    pub overdue: bool,
    pub resolved: Option<Resolved>,
    /// The applicant's rating, from its `rate` entry.
    pub rated: Option<Level>,
}

#[derive(Debug)]
pub struct Resolved {
    pub at: Timestamp,
    pub class: Class,
    pub department: String,
    pub recorded_milli: u64,
    pub working_milli: u64,
}

/// Every dossier's life, by code, from the whole audit log.
pub fn tell(reader: &dyn Reader, defs: &Definitions, cal: &Calendar) -> BTreeMap<String, Told> {
    let mut lives: BTreeMap<String, Told> = BTreeMap::new();
    let mut from = 0;
    loop {
        let page = reader.audit(from, 1000).expect("audit page");
        let Some(last) = page.last() else { break };
        from = last.seq + 1;
        for e in &page {
            let p = &defs[&e.procedure];
            let t = lives.entry(e.dossier.clone()).or_insert_with(|| Told {
                submitted: e.action == "submit",
                procedure: e.procedure.clone(),
                channel: e.input["channel"].as_str().unwrap_or_default().to_string(),
                received_at: e.at,
                ..Told::default()
            });
            match e.action.as_str() {
                "system:pause" => t.pause = Some(e.at),
                "system:resume" => {
                    let since = t.pause.take().expect("a resume follows a pause");
                    t.pauses.push((since, e.at));
                }
                "system:overdue" if e.input["clock"] == "appointment" => t.overdue = true,
                "rate" => {
                    assert!(t.rated.is_none(), "{} rated twice", e.dossier);
                    t.rated = e.input["level"].as_str().and_then(Level::parse);
                    assert!(t.rated.is_some(), "{} rated with no level", e.dossier);
                }
                // Warnings, breaches, pauses, extensions and apologies leave the states as
                // they are: only steps that move have different states before and after.
                _ if e.from != e.to => t.moved(p, &e.from, &e.to),
                _ => {}
            }
            if let Some(r) = &e.resolution {
                assert!(t.resolved.is_none(), "{} resolved twice", e.dossier);
                let department = e
                    .from
                    .first()
                    .and_then(|s| department(p, s))
                    .or_else(|| department(p, &r.state));
                t.resolved = Some(Resolved {
                    at: e.at,
                    class: r.class,
                    department: department.unwrap_or_default(),
                    recorded_milli: r.working_milli,
                    working_milli: 0,
                });
            }
        }
    }
    for t in lives.values_mut() {
        let p = &defs[&t.procedure];
        if let Some(at) = t.resolved.as_ref().map(|r| r.at) {
            let milli = t.working_milli(cal, p, at);
            if let Some(r) = &mut t.resolved {
                r.working_milli = milli;
            }
        }
    }
    lives
}

fn department(p: &Procedure, state: &str) -> Option<String> {
    p.state(state).and_then(|s| s.department.clone())
}

impl Told {
    fn moved(&mut self, p: &Procedure, from: &[String], to: &[String]) {
        if let Some(left) = from.first()
            && let Some(i) = self.active.iter().position(|s| s == left)
        {
            self.active.remove(i);
        }
        for s in to {
            let state = p.state(s).expect("a declared state");
            match state.kind {
                StateKind::Fork => {}
                StateKind::Join => {
                    let fork = state.fork.as_deref().and_then(|f| p.state(f));
                    let branches = fork.map_or(0, |f| f.branches.len());
                    let arrived = self.waiting.entry(s.clone()).or_default();
                    *arrived += 1;
                    if *arrived == branches {
                        *arrived = 0;
                        self.active.push(s.clone());
                    }
                }
                StateKind::Terminal => {
                    self.active.clear();
                    self.waiting.clear();
                }
                _ => self.active.push(s.clone()),
            }
        }
    }

    pub fn is_open(&self) -> bool {
        self.resolved.is_none()
    }

    pub fn is_paused(&self) -> bool {
        self.pause.is_some()
    }

    /// The department it counts under: the resolving step's, or its active steps' smallest,
    /// else the join its branches wait at, else none.
    pub fn department(&self, p: &Procedure) -> String {
        if let Some(r) = &self.resolved {
            return r.department.clone();
        }
        let active = self.active.iter().filter_map(|s| department(p, s)).min();
        let waiting = || {
            self.waiting
                .iter()
                .filter(|(_, n)| **n > 0)
                .filter_map(|(s, _)| department(p, s))
                .min()
        };
        active.or_else(waiting).unwrap_or_default()
    }

    /// Working time from the counting start to `at`, less every pause (its start no earlier
    /// than the counting start) that ended by then.
    fn working_milli(&self, cal: &Calendar, p: &Procedure, at: Timestamp) -> u64 {
        let counting =
            motcua::deadline::counting_start(cal, &p.limit, self.received_at).expect("in range");
        let elapsed = |a: Timestamp, b: Timestamp| {
            WorkingCalendar::elapsed_hours_milli(cal, a, b.max(a)).expect("in range")
        };
        let paused: u64 = self
            .pauses
            .iter()
            .filter(|(_, resumed)| *resumed <= at)
            .map(|(since, resumed)| elapsed((*since).max(counting), *resumed))
            .sum();
        elapsed(counting, at).saturating_sub(paused)
    }
}

/// The local day in Đà Nẵng, by the time zone database.
pub fn local_day(t: Timestamp) -> Date {
    let tz = jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").expect("zone");
    t.to_zoned_datetime(tz).date()
}

/// The integer figures of one row.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub received: i64,
    pub received_online: i64,
    pub early: i64,
    pub on_time: i64,
    pub late: i64,
    pub ended: i64,
    pub open_not_due: i64,
    pub open_overdue: i64,
    pub paused: i64,
    pub working_milli: i64,
    pub very_satisfied: i64,
    pub satisfied: i64,
    pub not_satisfied: i64,
    pub rated: i64,
}

impl Counts {
    pub fn of(r: &Row) -> Counts {
        Counts {
            received: r.received,
            received_online: r.received_online,
            early: r.early,
            on_time: r.on_time,
            late: r.late,
            ended: r.ended,
            open_not_due: r.open_not_due,
            open_overdue: r.open_overdue,
            paused: r.paused,
            working_milli: r.working_milli,
            very_satisfied: r.very_satisfied,
            satisfied: r.satisfied,
            not_satisfied: r.not_satisfied,
            rated: r.rated,
        }
    }

    fn add(&mut self, o: &Counts) {
        self.received += o.received;
        self.received_online += o.received_online;
        self.early += o.early;
        self.on_time += o.on_time;
        self.late += o.late;
        self.ended += o.ended;
        self.open_not_due += o.open_not_due;
        self.open_overdue += o.open_overdue;
        self.paused += o.paused;
        self.working_milli += o.working_milli;
        self.very_satisfied += o.very_satisfied;
        self.satisfied += o.satisfied;
        self.not_satisfied += o.not_satisfied;
        self.rated += o.rated;
    }
}

/// The figures of `q`, by key, and their total, from the lives the audit log told.
pub fn expected(
    lives: &BTreeMap<String, Told>,
    defs: &Definitions,
    q: &Query,
) -> (BTreeMap<String, Counts>, Counts) {
    let in_period = |t: Timestamp| (q.from..=q.to).contains(&local_day(t));
    let mut rows: BTreeMap<String, Counts> = BTreeMap::new();
    let mut total = Counts::default();
    // A linked group's children are not counted: the group counts once, as its parent.
    for t in lives.values().filter(|t| t.submitted) {
        let p = &defs[&t.procedure];
        let mut c = Counts::default();
        if in_period(t.received_at) {
            c.received = 1;
            c.received_online = i64::from(t.channel == "online");
            if t.is_open() {
                match (t.overdue, t.is_paused()) {
                    (true, _) => c.open_overdue = 1,
                    (false, true) => c.paused = 1,
                    (false, false) => c.open_not_due = 1,
                }
            }
        }
        if let Some(r) = t.resolved.as_ref().filter(|r| in_period(r.at)) {
            c.ended = 1;
            c.working_milli = i64::try_from(r.working_milli).expect("small");
            match r.class {
                Class::Early => c.early = 1,
                Class::OnTime => c.on_time = 1,
                Class::Late => c.late = 1,
            }
            // A rating counts with the resolution it rates, whenever it was given.
            if let Some(level) = t.rated {
                c.rated = 1;
                match level {
                    Level::VerySatisfied => c.very_satisfied = 1,
                    Level::Satisfied => c.satisfied = 1,
                    Level::NotSatisfied => c.not_satisfied = 1,
                }
            }
        }
        if c == Counts::default() {
            continue;
        }
        let key = match q.by {
            By::Agency => p.agency.id.clone(),
            By::Department => t.department(p),
            By::Procedure => t.procedure.clone(),
            By::Channel => t.channel.clone(),
        };
        rows.entry(key).or_default().add(&c);
        total.add(&c);
    }
    (rows, total)
}

/// The shares of a row, computed from its recounted figures.
pub fn assert_shares(r: &Row, c: &Counts) {
    let share = |n: i64, of: i64| (of != 0).then(|| n as f64 / of as f64);
    let close = |what: &str, got: Option<f64>, want: Option<f64>| match (got, want) {
        (Some(g), Some(w)) => assert!((g - w).abs() < 1e-12, "{} {what}: {g} != {w}", r.key),
        _ => assert_eq!(got, want, "{} {what}", r.key),
    };
    close(
        "online share",
        r.online_share,
        share(c.received_online, c.received),
    );
    close(
        "on-time rate",
        r.on_time_rate,
        share(c.early + c.on_time, c.ended),
    );
    close(
        "average working days",
        r.average_working_days,
        share(c.working_milli, c.ended).map(|m| m / 8000.0),
    );
    close("rated share", r.rated_share, share(c.rated, c.ended));
}
