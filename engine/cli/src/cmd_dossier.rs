//! Dossier commands over a data folder: `submit`, `act`, `show`, `history`, `actions`, `list`,
//! `audit-verify`, and `demo`, which walks every sample procedure from receipt to result.
//!
//! Requests and results are JSON so scripts and portals in any language can drive the engine
//! before the HTTP server exists. Refusals print `error[<code>]: <message>` on stderr and exit 1;
//! usage and I/O problems exit 2.
//!
//! Longer than 600 lines: `demo` walks every sample procedure with the same request builders
//! the other commands use; it is most of the file and reads best beside them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use jiff::Timestamp;
use motcua::Engine;
use motcua::calendar::Calendar;
use motcua::clock::{ManualClock, SystemClock, TimeSource};
use motcua::deadline::WorkingCalendar;
use motcua::dossier::transition::{ActionRequest, Submission};
use motcua::dossier::{Actor, Applicant, Channel, Dossier};
use motcua::procedure::{InputKind, Outcome, StateKind};
use motcua::store::Query;
use motcua::store::sled::{Options, SledStore};

#[derive(clap::Args, Clone)]
pub struct EngineArgs {
    /// The data folder (a sled store). Commands that write create it if missing; commands that
    /// only read refuse a folder without a store.
    #[arg(long, default_value = "data", global = true)]
    pub data: PathBuf,
    /// A PostgreSQL store (postgres://user@host:port/db) shared by several nodes, instead of
    /// the sled store in --data; --data then holds only this node's files (the citizen-status
    /// key, credentials, the plugin cache). Migrations are applied at start.
    #[arg(long, global = true)]
    pub store: Option<String>,
    /// Folder of procedure files loaded as the current versions (by the commands that write;
    /// reading uses the versions the store pinned).
    #[arg(long, default_value = "procedures", global = true)]
    pub procedures: PathBuf,
    /// A calendar file (national → province → agency); the built-in national calendar if absent.
    #[arg(long, global = true)]
    pub calendar: Option<PathBuf>,
    /// Act as if it were this instant (RFC 3339), e.g. to replay or test; the system clock otherwise.
    #[arg(long, global = true)]
    pub now: Option<String>,
    /// Classification rules (YAML: early, supplements_allowed, apology_is_late, due_soon);
    /// the national rules if absent.
    #[arg(long, global = true)]
    pub rules: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Receive a dossier: a Submission as JSON (file or - for stdin); prints the stored dossier.
    Submit { request: PathBuf },
    /// Perform an action: an ActionRequest as JSON (file or -); prints the new version.
    Act { request: PathBuf },
    /// Print a dossier as JSON, with its clocks (due instants, share used, not_due, due_soon,
    /// overdue or paused) and, once ended, its classification.
    Show { code: String },
    /// Fire every timer due at `--now` (or now): breaches, warnings, escalations. Prints one
    /// JSON line per fired timer.
    Tick,
    /// Run the deadline scheduler until interrupted, printing each fired timer as a JSON line.
    Schedule,
    /// Print a dossier's audit entries as JSON lines.
    History { code: String },
    /// Print the actions an actor may take now, as JSON.
    Actions {
        code: String,
        /// The actor as `id:role1,role2:department1,department2`.
        #[arg(long)]
        actor: String,
    },
    /// List dossiers (codes, states and appointments), one per line.
    List {
        #[arg(long, conflicts_with_all = ["department", "applicant", "overdue"], requires = "procedure")]
        state: Option<String>,
        #[arg(long)]
        procedure: Option<String>,
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        applicant: Option<String>,
        /// Open dossiers past their appointment now.
        #[arg(long)]
        overdue: bool,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Continue a listing from the cursor a previous page printed.
        #[arg(long)]
        after: Option<String>,
    },
    /// Verify the audit log (as `motcua audit verify`, which also prints the head and takes a
    /// checkpoint).
    AuditVerify,
}

pub fn run(args: EngineArgs, command: Command) -> anyhow::Result<ExitCode> {
    // Only the commands that write may create a store; a read on a mistyped folder is an
    // error naming it, not an empty answer.
    let mode = match command {
        Command::Submit { .. } | Command::Act { .. } => Mode::Create,
        Command::Tick | Command::Schedule => Mode::Fire,
        _ => Mode::Existing,
    };
    let (engine, _clock) = open(&args, mode)?;
    let out = match command {
        Command::Submit { request } => {
            let sub: Submission = read_json(&request)?;
            match engine.submit(sub) {
                Ok(r) => serde_json::to_string_pretty(&serde_json::json!({
                    "dossier": r.dossier,
                    "children": r.children,
                    "replayed": r.replayed,
                }))?,
                Err(e) => return Ok(refused(&e)),
            }
        }
        Command::Act { request } => {
            let req: ActionRequest = read_json(&request)?;
            match engine.act(req) {
                Ok(d) => serde_json::to_string_pretty(&d)?,
                Err(e) => return Ok(refused(&e)),
            }
        }
        Command::Show { code } => match engine.dossier(&code).and_then(|d| {
            let clocks = engine.clocks(&d)?;
            Ok((d, clocks))
        }) {
            Ok((d, clocks)) => {
                let mut v = serde_json::to_value(&d)?;
                if let Some(m) = v.as_object_mut() {
                    m.insert("clocks".into(), serde_json::to_value(&clocks)?);
                }
                serde_json::to_string_pretty(&v)?
            }
            Err(e) => return Ok(refused(&e)),
        },
        Command::Tick => {
            let now = engine.clock().now();
            match engine.fire_due(now) {
                Ok(fired) => fired
                    .iter()
                    .map(serde_json::to_string)
                    .collect::<Result<Vec<_>, _>>()?
                    .join("\n"),
                Err(e) => return Ok(refused(&e)),
            }
        }
        Command::Schedule => {
            let engine = Arc::new(engine);
            let scheduler = motcua::scheduler::Scheduler::start(engine, |f| {
                if let Ok(line) = serde_json::to_string(f) {
                    println!("{line}");
                }
            })?;
            // Runs until the process is stopped; the scheduler thread does the work.
            loop {
                std::thread::park();
                let _ = &scheduler;
            }
        }
        Command::History { code } => match engine.history(&code) {
            Ok(entries) => entries
                .iter()
                .map(serde_json::to_string)
                .collect::<Result<Vec<_>, _>>()?
                .join("\n"),
            Err(e) => return Ok(refused(&e)),
        },
        Command::Actions { code, actor } => {
            match engine.available_actions(&code, &parse_actor(&actor)?) {
                Ok(a) => serde_json::to_string_pretty(&a)?,
                Err(e) => return Ok(refused(&e)),
            }
        }
        Command::List {
            state,
            procedure,
            department,
            applicant,
            overdue,
            limit,
            after,
        } => {
            let query = match (state, procedure, department, applicant, overdue) {
                (Some(state), Some(procedure), None, None, false) => {
                    Query::State { procedure, state }
                }
                (None, _, Some(department), None, false) => Query::Department {
                    department,
                    state: None,
                },
                (None, _, None, Some(applicant), false) => Query::Applicant { applicant },
                (None, _, None, None, true) => Query::Overdue {
                    now: engine.clock().now(),
                },
                _ => anyhow::bail!(
                    "choose one of --state (with --procedure), --department, --applicant, --overdue"
                ),
            };
            let listing = match engine.list(&query, after.as_deref(), limit) {
                Ok(l) => l,
                Err(e) => return Ok(refused(&e)),
            };
            let mut lines: Vec<String> = listing.dossiers.iter().map(summary_line).collect();
            if let Some(next) = listing.next {
                lines.push(format!("more: --after {next}"));
            }
            lines.join("\n")
        }
        Command::AuditVerify => {
            let proof = motcua::audit::VerifyOptions {
                records: true,
                checkpoint: None,
                live: false,
                ..Default::default()
            };
            match motcua::audit::verify_store(engine.store(), &proof) {
                Ok(v) => format!("audit chain verified: {} entries", v.count),
                Err(e) => {
                    eprintln!("error[audit_broken]: {e}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
    };
    if !out.is_empty() {
        println!("{out}");
    }
    Ok(ExitCode::SUCCESS)
}

fn refused(e: &motcua::Error) -> ExitCode {
    eprintln!("error[{}]: {e}", e.code());
    ExitCode::from(1)
}

fn summary_line(d: &Dossier) -> String {
    let states: Vec<&str> = d.active_states().collect();
    let state = match &d.ending {
        Some(e) => format!("ended:{:?}", e.outcome).to_lowercase(),
        None => states.join(","),
    };
    format!("{}\t{}\t{}\t{}", d.code, d.procedure, state, d.clock.due_at)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text = if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading stdin")?;
        s
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    serde_json::from_str(&text).with_context(|| format!("{}: not a valid request", path.display()))
}

fn parse_actor(s: &str) -> anyhow::Result<Actor> {
    let mut parts = s.splitn(3, ':');
    let id = parts
        .next()
        .filter(|p| !p.is_empty())
        .context("actor needs an id: id:roles:departments")?;
    let list = |p: Option<&str>| {
        p.map(|p| {
            p.split(',')
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
    };
    Ok(Actor {
        id: id.to_string(),
        roles: list(parts.next()),
        departments: list(parts.next()),
    })
}

/// Whether opening may create the store.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Create the data folder and an empty store if there is none (commands that write).
    Create,
    /// Refuse a folder that holds no store (commands that only read).
    Existing,
    /// Refuse a folder without a store, and write durably with the versions it pinned (firing
    /// timers: no procedures folder needed).
    Fire,
}

/// `motcua init`: creates an empty store in the data folder (or checks the one there).
pub fn init(args: InitArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("creating {}", args.data.display()))?;
    let store = SledStore::open(&args.data, Options::default())?;
    println!(
        "store ready in {}: {} dossiers",
        args.data.display(),
        motcua::store::DossierReader::dossier_count(&store)?
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Clone)]
pub struct InitArgs {
    /// The data folder to create the store in.
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
}

/// Opens the engine on the data folder with the procedures folder loaded.
pub fn open(args: &EngineArgs, mode: Mode) -> anyhow::Result<(Engine, Option<Arc<ManualClock>>)> {
    let calendar = crate::cmd_calendar::load(args.calendar.as_deref())?;
    let (clock, manual): (Arc<dyn TimeSource>, Option<Arc<ManualClock>>) = match &args.now {
        Some(now) => {
            let t: Timestamp = now
                .parse()
                .with_context(|| format!("--now {now}: not an RFC 3339 instant"))?;
            let m = Arc::new(ManualClock::new(t));
            (m.clone(), Some(m))
        }
        None => (Arc::new(SystemClock), None),
    };
    let opened: Result<Arc<dyn motcua::store::Store>, motcua::store::Error> =
        match (mode, &args.store) {
            (_, Some(url)) => {
                if mode == Mode::Create {
                    std::fs::create_dir_all(&args.data)
                        .with_context(|| format!("creating {}", args.data.display()))?;
                }
                motcua::store::pg::PgStore::open(url, Default::default())
                    .map(|s| Arc::new(s) as Arc<dyn motcua::store::Store>)
            }
            (Mode::Create, None) => {
                std::fs::create_dir_all(&args.data)
                    .with_context(|| format!("creating {}", args.data.display()))?;
                SledStore::open(&args.data, Options::default()).map(|s| Arc::new(s) as _)
            }
            (Mode::Fire, None) => {
                SledStore::open_existing(&args.data, Options::default()).map(|s| Arc::new(s) as _)
            }
            // A command that only reads writes nothing to sync.
            (Mode::Existing, None) => SledStore::open_existing(
                &args.data,
                Options {
                    fsync: false,
                    ..Options::default()
                },
            )
            .map(|s| Arc::new(s) as _),
        };
    // A store that cannot be opened is reported with its code (`store_corrupt`,
    // `store_unusable`), like every other refusal, and exits 2.
    let store = opened.map_err(|e| {
        let e = motcua::Error::from(e);
        anyhow::anyhow!("error[{}]: {e}", e.code())
    })?;
    // Compiled plugins are kept beside the store, so a command does not run Cranelift again.
    let mut options = motcua::Options::with_plugin_cache(args.data.join("plugin-cache"));
    if let Some(path) = &args.rules {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        options = options.with_rules(motcua::deadline::classify::rules_from_yaml(&text)?);
    }
    let engine = Engine::open(store, Arc::new(calendar), clock, options)?;
    // Reading needs only the versions the store pinned its dossiers to (restored by
    // `Engine::open`); the procedures folder matters to what is received and moved next.
    if mode == Mode::Create {
        if !args.procedures.exists() {
            anyhow::bail!(
                "procedures folder {} does not exist",
                args.procedures.display()
            );
        }
        engine.load_procedures_dir(&args.procedures)?;
    }
    Ok((engine, manual))
}

/// The procedure's own example (the first of its form schema's `examples`), received at the
/// desk by an officer holding every role and department of it, with the required documents:
/// what `demo` walks and what `serve --dev` receives. `None` without an example.
pub fn sample_submission(
    proc_: &motcua::procedure::Procedure,
    officer_id: &str,
) -> Option<(Actor, Submission)> {
    let example = proc_
        .form
        .get("examples")
        .and_then(|e| e.as_array())
        .and_then(|e| e.first())
        .cloned()?;
    let officer = Actor {
        id: officer_id.into(),
        roles: proc_.roles.iter().map(|r| r.id.clone()).collect(),
        departments: proc_.departments.iter().map(|d| d.id.clone()).collect(),
    };
    let sub = Submission {
        papers: vec![],
        procedure: proc_.id.clone(),
        applicant: Applicant {
            id: "001090012345".into(),
            name: "Nguyễn Thị Mai".into(),
            phone: None,
            email: None,
            notify_by: vec![],
            disadvantaged_area: false,
        },
        channel: Channel::Desk,
        data: example,
        documents: proc_
            .documents
            .iter()
            .filter(|d| d.required)
            .map(|d| d.id.clone())
            .collect(),
        idempotency_key: None,
        received_by: officer.clone(),
        meta: Default::default(),
        comment: None,
    };
    Some((officer, sub))
}

/// `motcua demo`: every sample procedure with an example in its form schema is received and
/// walked to its result by officers holding the right roles, on a clock that moves an hour
/// per step from the next working morning. Prints the appointment slip and the process.
pub fn demo(mut args: EngineArgs) -> anyhow::Result<ExitCode> {
    let calendar = Calendar::vietnam_default();
    let start = match &args.now {
        Some(now) => now
            .parse::<Timestamp>()
            .with_context(|| format!("--now {now}"))?,
        None => {
            let tomorrow = Timestamp::now().checked_add(jiff::SignedDuration::from_hours(24))?;
            WorkingCalendar::next_working_instant(&calendar, tomorrow)
                .map_err(|e| anyhow::anyhow!("{e}"))?
        }
    };
    args.now = Some(start.to_string());
    let (engine, clock) = open(&args, Mode::Create)?;
    let clock = clock.context("the demo runs on its own clock")?;
    let mut walked = 0;
    for p in engine.procedures() {
        let Some((officer, sub)) = sample_submission(&p.procedure, "demo-officer") else {
            continue;
        };
        let proc_ = &p.procedure;
        let receipt = match engine.submit(sub) {
            Ok(r) => r,
            Err(e) => {
                println!("{}: not received: error[{}]: {e}\n", proc_.id, e.code());
                continue;
            }
        };
        let mut d = receipt.dossier;
        println!("━━ {} ({} v{})", proc_.name, proc_.id, proc_.version);
        println!("   Giấy tiếp nhận và hẹn trả kết quả: mã hồ sơ {}", d.code);
        println!(
            "   tiếp nhận {}  hẹn trả {}",
            local(&calendar, d.clock.received_at),
            local(&calendar, d.clock.due_at)
        );
        for fee in &d.fees {
            println!("   {}: {} đồng", fee.name, fee.amount);
        }
        for _ in 0..40 {
            if d.ending.is_some() {
                break;
            }
            let next_hour = WorkingCalendar::add(
                &calendar,
                engine.clock().now(),
                motcua::calendar::Duration::working_hours(1),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            clock.set(next_hour);
            let citizen = Actor {
                id: d.applicant.id.clone(),
                roles: vec![],
                departments: vec![],
            };
            // The demo's citizen takes their own actions; the officer is offered them too (to
            // record for a citizen at the counter), which the demo leaves to the citizen.
            let mut options: Vec<(Actor, _)> = engine
                .available_actions(&d.code, &officer)?
                .into_iter()
                .filter(|a| !a.on_behalf)
                .map(|a| (officer.clone(), a))
                .collect();
            options.extend(
                engine
                    .available_actions(&d.code, &citizen)?
                    .into_iter()
                    .map(|a| (citizen.clone(), a)),
            );
            let Some((actor, choice)) = choose(&p, &d, &options) else {
                break;
            };
            let action = proc_.action(&choice).context("chosen action exists")?;
            let input = demo_input(&p, action);
            let req = ActionRequest {
                dossier: d.code.clone(),
                action: choice.clone(),
                actor,
                input,
                comment: Some("Thực hiện theo quy trình (demo)".into()),
                seen_version: d.version,
                on_behalf: false,
            };
            match engine.act(req) {
                Ok(next) => {
                    // One line per audited step: plugin decisions show as their own steps.
                    let history = engine.history(&next.code)?;
                    for entry in history.iter().filter(|e| e.version > d.version) {
                        let label = proc_
                            .action(&entry.action)
                            .map_or(entry.action.as_str(), |a| a.label.as_str());
                        let to = if entry.to.is_empty()
                            || next.ending.is_some() && entry.version == next.version
                        {
                            "kết thúc".to_string()
                        } else {
                            entry.to.join(" + ")
                        };
                        let by = if entry.actor == Actor::system().id {
                            " (tự động)"
                        } else {
                            ""
                        };
                        println!("   {}  {label}{by} → {to}", local(&calendar, entry.at));
                    }
                    d = next;
                }
                Err(e) => {
                    println!("   refused {choice}: error[{}]: {e}", e.code());
                    break;
                }
            }
        }
        match &d.ending {
            Some(e) => println!(
                "   kết quả: {:?}, {}\n",
                e.outcome,
                match e.class {
                    Some(motcua::deadline::Class::Early) => "sớm hạn",
                    Some(motcua::deadline::Class::OnTime) => "đúng hạn",
                    Some(motcua::deadline::Class::Late) => "trễ hạn",
                    None if e.on_time => "đúng hạn",
                    None => "trễ hạn",
                }
            ),
            None => println!(
                "   still open in {:?}\n",
                d.active_states().collect::<Vec<_>>()
            ),
        }
        walked += 1;
    }
    let proof = motcua::audit::VerifyOptions {
        records: true,
        checkpoint: None,
        live: false,
        ..Default::default()
    };
    let n = motcua::audit::verify_store(engine.store(), &proof)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .count;
    println!(
        "{walked} procedures walked; {} dossiers stored in {}; audit chain verified ({n} entries)",
        engine.store().dossier_count()?,
        args.data.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Local time for people: a period that ends at midnight is written as 24:00 of its last day,
/// as the Civil Code words it, not 00:00 of the next.
fn local(cal: &Calendar, t: Timestamp) -> String {
    let z = t.to_zoned_datetime(cal.time_zone().clone());
    if z.hour() == 0
        && z.minute() == 0
        && let Ok(prev) = z.date().yesterday()
    {
        return format!("{} 24:00", prev.strftime("%d/%m/%Y"));
    }
    z.strftime("%d/%m/%Y %H:%M").to_string()
}

/// The demo prefers the road to a result: no refusals, withdrawals, stops or extensions, and
/// no supplement requests, except that the construction permit takes the supplement road once
/// to show the clock pausing.
fn choose(
    p: &motcua::catalog::Compiled,
    d: &Dossier,
    options: &[(Actor, motcua::dossier::transition::Availability)],
) -> Option<(Actor, String)> {
    let show_supplement = p.procedure.id.contains("xay-dung") && d.clock.supplements == 0;
    let score = |a: &motcua::dossier::transition::Availability| {
        let target = p.procedure.state(&a.to);
        let mut s = 0;
        if a.refused.is_some() {
            s += 100;
        }
        if a.to == a.from {
            s += 50;
        }
        match target.map(|t| (t.kind, t.outcome)) {
            Some((StateKind::Terminal, Some(Outcome::ResultIssued))) => {}
            Some((StateKind::Terminal, _)) => s += 40,
            Some((StateKind::Applicant, _)) if show_supplement => s -= 10,
            Some((StateKind::Applicant, _)) => s += 30,
            _ => {}
        }
        s
    };
    options
        .iter()
        .min_by_key(|(_, a)| score(a))
        .map(|(actor, a)| (actor.clone(), a.action.clone()))
}

fn demo_input(
    p: &motcua::catalog::Compiled,
    action: &motcua::procedure::Action,
) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for i in &action.inputs {
        let v = match i.kind {
            InputKind::Text => serde_json::json!("Theo quy định"),
            InputKind::Number => serde_json::json!(1),
            InputKind::Boolean => serde_json::json!(true),
            InputKind::Date => serde_json::json!("2026-01-02"),
            InputKind::Documents => serde_json::json!(
                p.procedure
                    .documents
                    .iter()
                    .take(1)
                    .map(|d| d.id.clone())
                    .collect::<Vec<_>>()
            ),
        };
        m.insert(i.name.clone(), v);
    }
    serde_json::Value::Object(m)
}
