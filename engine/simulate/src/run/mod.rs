//! One replication: a discrete-event simulation of the catalogue under the plan's load. The
//! simulated clock jumps from event to event (an arrival, an officer finishing a step, an
//! applicant answering, a timer falling due); every change to a dossier is the real pure
//! transition — `submit`, `act`, `act_as_engine`, `fire` — on the real calendar, so budgets,
//! pauses, warnings, extensions and the on-time classification are the engine's own.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use jiff::Timestamp;
use motcua_core::calendar::{Duration, Unit};
use motcua_core::deadline::{Class, WorkingCalendar};
use motcua_core::dossier::{Applicant, Dossier};
use motcua_core::procedure::{By, StateKind};
use motcua_core::report::{FactState, Facts};
use motcua_core::transition::{self, Env, Submission, Timer, Transition, timers_of};

use crate::plan::Plan;
use crate::random::{Purpose, Stream};

mod officers;
mod step;

use crate::scenario::Discipline;
use officers::{PoolRt, Queue, Slab};
pub(crate) use step::everyone;

/// What one replication measured, in the counted window.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub procedures: Vec<ProcedureMeasure>,
    /// By (procedure index, state id).
    pub states: BTreeMap<(usize, String), StateMeasure>,
    /// Busy working hours of each pool in the window.
    pub pool_busy_hours: Vec<f64>,
    /// Working hours in the window (one officer's available time).
    pub window_hours: f64,
    /// Instants the queues were sampled at.
    pub samples_at: Vec<Timestamp>,
    /// Steps the pure transition refused, by refusal code (a scenario's branch a guard
    /// forbids, for instance).
    pub refused: BTreeMap<String, u64>,
    /// Dossiers left with a step no action could move.
    pub stuck: u64,
    /// Transitions computed (all of the run, warm-up included).
    pub transitions: u64,
    /// The run stopped at the plan's transition budget ([`Plan::max_transitions`]).
    pub exhausted: bool,
    /// Time spent inside the pure transition functions (for the benchmark's share; not part
    /// of any report, which must not depend on the machine).
    pub transition_time: std::time::Duration,
}

#[derive(Debug, Clone, Default)]
pub struct ProcedureMeasure {
    pub received: u64,
    pub early: u64,
    pub on_time: u64,
    pub late: u64,
    /// Of each dossier resolved in the window: working days from counting start (pauses
    /// excluded, as the report counts) and elapsed days from receipt.
    pub working_days: Vec<f64>,
    pub elapsed_days: Vec<f64>,
}

impl ProcedureMeasure {
    pub fn ended(&self) -> u64 {
        self.early + self.on_time + self.late
    }
}

#[derive(Debug, Clone, Default)]
pub struct StateMeasure {
    /// Officers' steps started in the window.
    pub steps: u64,
    /// Working hours each waited for an officer.
    pub waits: Vec<f64>,
    pub service_hours: f64,
    /// Steps waiting for an officer at each sample.
    pub queue: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrival(usize),
    Done(usize),
    Applicant { dossier: usize, work: usize },
    Timer { dossier: usize, slot: usize },
    Sample,
}

/// A step waiting for, or with, an officer (or an applicant).
#[derive(Debug, Clone)]
struct Work {
    dossier: usize,
    /// The procedure's index in the plan (the queue counts are kept by it).
    procedure: usize,
    state: String,
    /// The version the step's token entered in: work for a step since left is dropped.
    since: Option<u64>,
    /// Arrival order in the queues (earliest due breaks ties by it).
    seq: u64,
    action: String,
    pool: Option<usize>,
    /// Which of the pool's officers took it.
    officer: Option<u32>,
    hours: f64,
    enqueued: Timestamp,
    due: Option<Timestamp>,
}

struct Sim {
    def: usize,
    d: Dossier,
    rng: Stream,
    /// Tokens already given work: (state, version it entered in).
    taken: Vec<(String, Option<u64>)>,
    timers: Vec<Timer>,
    resolved: bool,
    /// Transitions this dossier has had: a branch that loops with no time passing would
    /// otherwise never end.
    steps: u32,
}

/// A real dossier has tens of steps; one with this many is caught in a loop the scenario's
/// branching made, and is let go (counted as stuck).
pub const MAX_STEPS_PER_DOSSIER: u32 = 10_000;

/// Where a replication's transitions go besides the simulated dossiers: nowhere by default;
/// a store, to fill it with a workload of known parameters (`motcua simulate --record`).
pub trait Sink {
    /// Keeps a transition; answers its dossiers as kept, in the order of its changes, with
    /// their codes assigned.
    fn record(&mut self, t: &Transition) -> Result<Vec<Dossier>, String>;
}

/// Runs replication `index` of `plan` on `cal`.
pub fn replicate(plan: &Plan, cal: &dyn WorkingCalendar, index: u32) -> Measured {
    let mut r = Run::new(plan, cal, index, None);
    r.run();
    r.measured
}

/// Runs replication `index` of `plan` on `cal`, keeping every transition in `sink`; stops
/// at the first the sink refuses.
pub fn replicate_into(
    plan: &Plan,
    cal: &dyn WorkingCalendar,
    index: u32,
    sink: &mut dyn Sink,
) -> Result<Measured, String> {
    let mut r = Run::new(plan, cal, index, Some(sink));
    r.run();
    match r.failed.take() {
        Some(e) => Err(e),
        None => Ok(r.measured),
    }
}

struct Run<'a> {
    plan: &'a Plan,
    sink: Option<&'a mut dyn Sink>,
    failed: Option<String>,
    cal: &'a dyn WorkingCalendar,
    rep: u64,
    now: Timestamp,
    seq: u64,
    events: BinaryHeap<Reverse<(Timestamp, u64, Ev)>>,
    /// Dossiers by index; an ended one is dropped (None) so memory follows the open ones.
    dossiers: Vec<Option<Sim>>,
    by_code: HashMap<String, usize>,
    works: Slab<Work>,
    timer_slots: Slab<Timer>,
    pools: Vec<PoolRt>,
    arrival_streams: Vec<Stream>,
    arrivals_made: Vec<u64>,
    queued: BTreeMap<(usize, String), u32>,
    children: u64,
    measured: Measured,
}

const MS_PER_HOUR: f64 = 3_600_000.0;

/// What the simulated officers and the applicant write where a comment or a text is needed.
const NOTE: &str = "mô phỏng";

impl<'a> Run<'a> {
    fn new(
        plan: &'a Plan,
        cal: &'a dyn WorkingCalendar,
        index: u32,
        sink: Option<&'a mut dyn Sink>,
    ) -> Run<'a> {
        let rep = u64::from(index);
        let pools = plan
            .pools
            .iter()
            .map(|p| PoolRt {
                officers: p.officers,
                free: (0..p.officers.unwrap_or(0)).rev().collect(),
                queue: match plan.discipline {
                    Discipline::Fifo => Queue::Fifo(VecDeque::new()),
                    Discipline::EarliestDue => Queue::Due(BinaryHeap::new()),
                },
            })
            .collect();
        let window_hours = cal
            .elapsed_hours_milli(plan.counted_from, plan.end)
            .unwrap_or(0) as f64
            / 1000.0;
        Run {
            plan,
            sink,
            failed: None,
            cal,
            rep,
            now: plan.start,
            seq: 0,
            events: BinaryHeap::new(),
            dossiers: vec![],
            by_code: HashMap::new(),
            works: Slab::new(),
            timer_slots: Slab::new(),
            pools,
            arrival_streams: (0..plan.arrivals.len())
                .map(|i| Stream::new(plan.seed, rep, Purpose::Arrivals, i as u64))
                .collect(),
            arrivals_made: vec![0; plan.arrivals.len()],
            queued: BTreeMap::new(),
            children: 0,
            measured: Measured {
                procedures: vec![ProcedureMeasure::default(); plan.definitions.len()],
                pool_busy_hours: vec![0.0; plan.pools.len()],
                window_hours,
                ..Measured::default()
            },
        }
    }

    fn at(&mut self, t: Timestamp, ev: Ev) {
        if t <= self.plan.end {
            self.seq += 1;
            self.events.push(Reverse((t, self.seq, ev)));
        }
    }

    fn run(&mut self) {
        for i in 0..self.plan.arrivals.len() {
            self.next_arrival(i, self.plan.start);
        }
        self.at(self.plan.counted_from, Ev::Sample);
        while let Some(Reverse((t, _, ev))) = self.events.pop() {
            if self.failed.is_some() {
                return;
            }
            if self
                .plan
                .max_transitions
                .is_some_and(|max| self.measured.transitions >= max)
            {
                self.measured.exhausted = true;
                return;
            }
            self.now = t;
            match ev {
                Ev::Arrival(i) => {
                    self.arrive(i);
                    self.next_arrival(i, t);
                }
                Ev::Done(w) => self.done(w),
                Ev::Applicant { dossier, work } => {
                    if let Some(w) = self.works.take(work)
                        && self.live(&w)
                    {
                        self.take(dossier, &w.state, &w.action, By::Applicant, None, None);
                    }
                }
                Ev::Timer { dossier, slot } => {
                    if let Some(timer) = self.timer_slots.take(slot) {
                        self.fire(dossier, &timer);
                    }
                }
                Ev::Sample => self.sample(),
            }
        }
    }

    fn sim(&self, i: usize) -> Option<&Sim> {
        self.dossiers.get(i).and_then(Option::as_ref)
    }

    /// Whether the step a work was made for is still there: its dossier open and its token
    /// in the state since the same version. A timer's take-over or a sibling branch ending
    /// the dossier leaves work behind; it is dropped, not done.
    fn live(&self, w: &Work) -> bool {
        self.sim(w.dossier).is_some_and(|s| {
            s.d.tokens
                .iter()
                .any(|t| !t.waiting && t.state == w.state && t.since_version == w.since)
        })
    }

    fn next_arrival(&mut self, i: usize, from: Timestamp) {
        let a = &self.plan.arrivals[i];
        let rate = a.per_hour * a.peak;
        let mut t = from;
        // Thinning: candidates at the peak rate, each kept with the profile's share.
        for _ in 0..1_000_000 {
            let gap = self.arrival_streams[i].exponential(1.0 / rate);
            let next = if a.working {
                let milli = (gap * 1000.0).round().max(1.0) as u64;
                self.cal
                    .add(t, Duration::new(milli, Unit::WorkingHours))
                    .ok()
            } else {
                jiff::SignedDuration::try_from_secs_f64(gap * 3600.0)
                    .ok()
                    .and_then(|d| t.checked_add(d).ok())
            };
            let Some(next) = next else { return };
            if next > self.plan.end {
                return;
            }
            t = next;
            let local = jiff::tz::Offset::constant(7).to_datetime(t);
            let wd = local.weekday().to_monday_zero_offset() as usize;
            let share = a.weekday[wd] * a.hour[local.hour() as usize] / a.peak;
            if share >= 1.0 || self.arrival_streams[i].uniform() < share {
                self.at(t, Ev::Arrival(i));
                return;
            }
        }
    }

    fn arrive(&mut self, i: usize) {
        let plan = self.plan;
        let a = &plan.arrivals[i];
        let def = Arc::clone(&plan.definitions[a.procedure]);
        let n = self.arrivals_made[i];
        self.arrivals_made[i] += 1;
        let channel = if a.channels.len() == 1 {
            a.channels[0].0
        } else {
            let weights: Vec<f64> = a.channels.iter().map(|c| c.1).collect();
            a.channels[self.arrival_streams[i].choose(&weights)].0
        };
        let p = &def.procedure;
        let sub = Submission {
            procedure: p.id.clone(),
            applicant: Applicant {
                id: format!("{:012}", (i as u64) * 1_000_000_000 + n),
                name: format!("Người nộp {n}"),
                phone: None,
                email: None,
                notify_by: vec![],
                disadvantaged_area: false,
            },
            channel,
            data: a.data.clone(),
            documents: p.documents.iter().map(|d| d.id.clone()).collect(),
            papers: vec![],
            idempotency_key: None,
            received_by: everyone(&def),
            meta: BTreeMap::new(),
            comment: None,
        };
        // Keyed by the scenario's arrival line, not the catalogue's order, so a proposed
        // catalogue sees the same dossiers draw the same numbers.
        let stream = Stream::new(
            plan.seed,
            self.rep,
            Purpose::Dossier,
            ((i as u64) << 40) | n,
        );
        let defs = &plan.definitions;
        let lookup = |id: &str| defs.iter().find(|d| d.procedure.id == id).cloned();
        let env = Env::new(self.cal, &lookup, self.now);
        let clock = std::time::Instant::now();
        let submitted = transition::submit(&def, &sub, &env);
        self.measured.transition_time += clock.elapsed();
        match submitted {
            Ok(t) => {
                if self.now >= plan.counted_from {
                    self.measured.procedures[a.procedure].received += 1;
                }
                self.apply(t, Some(stream));
            }
            Err(e) => self.refused(&e),
        }
    }

    /// Counts a refusal under the refusal's kind (its variant's name).
    fn refused(&mut self, e: &transition::Error) {
        let debug = format!("{e:?}");
        let kind = debug
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or_default()
            .to_string();
        *self.measured.refused.entry(kind).or_default() += 1;
    }

    /// Commits a transition to the simulated dossiers: placeholder codes become codes, a new
    /// dossier gets its own stream, and every changed dossier's steps and timers are picked
    /// up.
    fn apply(&mut self, t: Transition, first: Option<Stream>) {
        if self.failed.is_some() {
            return;
        }
        self.measured.transitions += 1;
        let kept = match self.sink.as_mut().map(|s| s.record(&t)) {
            Some(Ok(ds)) => Some(ds),
            Some(Err(e)) => {
                self.failed = Some(e);
                return;
            }
            None => None,
        };
        let mut codes: HashMap<String, String> = HashMap::new();
        for (k, c) in t.changes.iter().enumerate() {
            if c.dossier.code.starts_with(transition::NEW_CODE_PREFIX) {
                let code = match kept.as_ref().and_then(|ds| ds.get(k)) {
                    Some(d) => d.code.clone(),
                    None => format!("SIM-{}", self.dossiers.len() + codes.len()),
                };
                codes.insert(c.dossier.code.clone(), code);
            }
        }
        let fix = |s: &mut String| {
            if let Some(real) = codes.get(s.as_str()) {
                *s = real.clone();
            }
        };
        let mut first = first;
        let mut touched = vec![];
        for c in t.changes {
            let mut d = c.dossier;
            fix(&mut d.code);
            if let Some(p) = d.parent.as_mut() {
                fix(p);
            }
            d.children.iter_mut().for_each(fix);
            if let Some(&i) = self.by_code.get(&d.code) {
                if let Some(sim) = self.dossiers[i].as_mut() {
                    sim.d = d;
                    sim.steps += 1;
                    if sim.steps > MAX_STEPS_PER_DOSSIER {
                        let code = sim.d.code.clone();
                        self.by_code.remove(&code);
                        self.dossiers[i] = None;
                        self.measured.stuck += 1;
                        continue;
                    }
                    touched.push(i);
                }
                continue;
            }
            if c.expected_version.is_some() {
                // A dossier that ended and was let go: nothing of it is measured any more.
                continue;
            }
            let def = self
                .plan
                .definitions
                .iter()
                .position(|x| x.procedure.id == d.procedure)
                .unwrap_or(0);
            let rng = first.take().unwrap_or_else(|| {
                self.children += 1;
                Stream::new(
                    self.plan.seed,
                    self.rep,
                    Purpose::Dossier,
                    (1 << 62) | self.children,
                )
            });
            let i = self.dossiers.len();
            self.by_code.insert(d.code.clone(), i);
            self.dossiers.push(Some(Sim {
                def,
                d,
                rng,
                taken: vec![],
                timers: vec![],
                resolved: false,
                steps: 0,
            }));
            touched.push(i);
        }
        for i in touched {
            self.settle(i);
        }
    }

    /// After a change: record a resolution, schedule new timers, give new steps their work,
    /// and let an ended dossier go.
    fn settle(&mut self, i: usize) {
        let now = self.now;
        let plan = self.plan;
        let Some(sim) = self.dossiers.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        if !sim.resolved && sim.d.clock.resolved.is_some() {
            sim.resolved = true;
            if let Some(Facts {
                state:
                    FactState::Ended {
                        class,
                        working_milli,
                        ..
                    },
                ..
            }) = Facts::of(&sim.d)
                && now >= plan.counted_from
            {
                let m = &mut self.measured.procedures[sim.def];
                match class {
                    Class::Early => m.early += 1,
                    Class::OnTime => m.on_time += 1,
                    Class::Late => m.late += 1,
                }
                m.working_days
                    .push(working_milli as f64 / 1000.0 / plan.working_day_hours);
                let ms = now.duration_since(sim.d.clock.received_at).as_millis() as f64;
                m.elapsed_days.push(ms / MS_PER_HOUR / 24.0);
            }
        }
        if !sim.d.is_open() {
            let code = sim.d.code.clone();
            self.by_code.remove(&code);
            self.dossiers[i] = None;
            return;
        }
        let timers = timers_of(&sim.d);
        let new: Vec<Timer> = timers
            .iter()
            .filter(|t| !sim.timers.contains(t))
            .cloned()
            .collect();
        sim.timers = timers;
        for t in new {
            let at = t.at.max(now);
            let slot = self.timer_slots.insert(t);
            self.at(at, Ev::Timer { dossier: i, slot });
        }
        self.pick_up(i);
    }

    /// Gives each step of dossier `i` that has none yet its work: an officer's step joins its
    /// pool's queue, an automatic step is taken at once, an applicant's waits for them.
    fn pick_up(&mut self, i: usize) {
        let plan = self.plan;
        let Some(sim) = self.dossiers.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        let pi = sim.def;
        let def = Arc::clone(&plan.definitions[pi]);
        let p = &def.procedure;
        let tokens: Vec<(String, Option<u64>, Option<Timestamp>)> = sim
            .d
            .tokens
            .iter()
            .filter(|t| !t.waiting)
            // Earliest due: the step's own budget, or the appointment for a step without one.
            .map(|t| {
                let due = t.due_at.or(Some(sim.d.clock.due_at));
                (t.state.clone(), t.since_version, due)
            })
            .collect();
        sim.taken
            .retain(|k| tokens.iter().any(|t| t.0 == k.0 && t.1 == k.1));
        let mut fresh = vec![];
        for (state, since, due) in tokens {
            let key = (state.clone(), since);
            if sim.taken.contains(&key) {
                continue;
            }
            let Some(st) = p.state(&state) else { continue };
            if matches!(st.kind, StateKind::Fork | StateKind::Terminal) {
                continue;
            }
            sim.taken.push(key);
            fresh.push((state, since, due));
        }
        let mut automatic = vec![];
        for (state, since, due) in fresh {
            let Some(action) = self.choose(i, pi, &state) else {
                self.measured.stuck += 1;
                continue;
            };
            let key = (pi, state.clone());
            match p.action(&action).and_then(|a| a.taker()) {
                Some(By::System) => automatic.push((state, action)),
                Some(By::Applicant) => {
                    let hours = self.draw(i, plan.response.get(&key));
                    // A draw too long for the calendar answers after the end.
                    let at = jiff::SignedDuration::try_from_secs_f64(hours * 3600.0)
                        .ok()
                        .and_then(|d| self.now.checked_add(d).ok())
                        .unwrap_or(plan.end);
                    let w = self.work(i, pi, &state, since, &action, None, hours, due);
                    self.at(
                        at,
                        Ev::Applicant {
                            dossier: i,
                            work: w,
                        },
                    );
                }
                Some(By::Officer) => {
                    let hours = self.draw(i, plan.service.get(&key));
                    let pool = plan.pool_for(pi, &state, &action);
                    let w = self.work(i, pi, &state, since, &action, pool, hours, due);
                    *self.queued.entry(key).or_default() += 1;
                    self.enqueue(w);
                }
                None => self.measured.stuck += 1,
            }
        }
        for (state, action) in automatic {
            self.take(i, &state, &action, By::System, None, None);
        }
    }

    fn draw(&mut self, i: usize, d: Option<&crate::random::Distribution>) -> f64 {
        match (d, self.dossiers.get_mut(i).and_then(Option::as_mut)) {
            (Some(d), Some(sim)) => d.draw(&mut sim.rng),
            _ => 0.0,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn work(
        &mut self,
        dossier: usize,
        procedure: usize,
        state: &str,
        since: Option<u64>,
        action: &str,
        pool: Option<usize>,
        hours: f64,
        due: Option<Timestamp>,
    ) -> usize {
        self.seq += 1;
        self.works.insert(Work {
            dossier,
            procedure,
            state: state.to_string(),
            since,
            seq: self.seq,
            action: action.to_string(),
            pool,
            officer: None,
            hours,
            enqueued: self.now,
            due,
        })
    }

    /// The action a step takes: drawn from the scenario's branching, or the shortest way to
    /// a result.
    fn choose(&mut self, i: usize, pi: usize, state: &str) -> Option<String> {
        let key = (pi, state.to_string());
        if let Some(choices) = self.plan.branching.get(&key) {
            let weights: Vec<f64> = choices.iter().map(|c| c.1).collect();
            let sim = self.dossiers.get_mut(i).and_then(Option::as_mut)?;
            let k = sim.rng.choose(&weights);
            return Some(choices[k].0.clone());
        }
        self.plan.main_path.get(&key).cloned()
    }

    fn fire(&mut self, i: usize, timer: &Timer) {
        let plan = self.plan;
        let Some(sim) = self.sim(i) else { return };
        let def = Arc::clone(&plan.definitions[sim.def]);
        let defs = &plan.definitions;
        let lookup = |id: &str| defs.iter().find(|d| d.procedure.id == id).cloned();
        let env = Env::new(self.cal, &lookup, self.now);
        let clock = std::time::Instant::now();
        let fired = transition::fire(&def, &sim.d, timer, &env);
        self.measured.transition_time += clock.elapsed();
        match fired {
            Ok(Some(f)) => self.apply(f.transition, None),
            Ok(None) => {}
            Err(e) => self.refused(&e),
        }
    }

    fn sample(&mut self) {
        let n = self.measured.samples_at.len();
        self.measured.samples_at.push(self.now);
        for (key, queued) in &self.queued {
            let m = self.measured.states.entry(key.clone()).or_default();
            m.queue.resize(n, 0);
            m.queue.push(*queued);
        }
        if let Ok(next) = self.now.checked_add(jiff::SignedDuration::from_hours(24)) {
            self.at(next, Ev::Sample);
        }
    }
}
