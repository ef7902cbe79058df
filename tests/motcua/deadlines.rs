//! Deadline enforcement on a real sled store with a clock moved by hand: warnings, breaches and
//! escalations fire at their exact minutes on the Vietnamese calendar (Tết 2027, a make-up
//! Saturday), pauses move the appointment by exactly the working time paused, and the
//! scheduler fires every timer once, in order, after restarts and in bulk.
//!
//! Longer than 600 lines: each test is one dated scenario on the same calendar fixture.

use crate::support;

conformance!();

use std::sync::Arc;

use motcua::Engine;
use motcua::clock::ManualClock;
use motcua::deadline::{Class, ClockState};
use motcua::dossier::Actor;
use motcua::dossier::transition::Firing;
use support::desk::*;
use support::*;

#[test]
fn warnings_breach_and_escalation_fire_at_their_exact_minutes_across_tet_2027() {
    // Received Wednesday 3 Feb 2027, the day before the Tết break (Thu 4 – Wed 10 Feb off).
    let desk = Desk::new("2027-02-03T09:00:00+07:00");
    let d = desk.receive();
    assert_eq!(
        d.clock.due_at,
        at("2027-02-17T09:00:00+07:00"),
        "5 working days"
    );
    desk.now("2027-02-03T10:00:00+07:00");
    let d = desk.take(&d, "chuyen", desk_officer()).unwrap();
    // Two working days from Wed 10:00: 6 h on Wednesday, 8 h on Thu 11, 2 h on Fri 12.
    assert_eq!(d.tokens[0].due_at, Some(at("2027-02-12T10:00:00+07:00")));

    assert!(
        desk.tick("2027-02-11T14:59:00+07:00").is_empty(),
        "nothing over Tết"
    );
    assert_eq!(
        kinds(&desk.tick("2027-02-11T15:00:00+07:00")),
        vec![fired("warning", Some("xu_ly"), "2027-02-11T15:00:00+07:00")],
        "75% of 16 working hours is 12: 15:00 on the first day back"
    );
    assert!(desk.tick("2027-02-11T16:59:00+07:00").is_empty());
    assert_eq!(
        kinds(&desk.tick("2027-02-11T17:00:00+07:00")),
        vec![fired("warning", Some("xu_ly"), "2027-02-11T17:00:00+07:00")],
        "2 working hours before Fri 10:00 is the close of Thursday"
    );
    let breach = desk.tick("2027-02-12T10:00:00+07:00");
    assert_eq!(
        kinds(&breach),
        vec![
            fired("step_due", Some("xu_ly"), "2027-02-12T10:00:00+07:00"),
            fired("escalation", Some("xu_ly"), "2027-02-12T10:00:00+07:00"),
        ]
    );
    let d = desk.get(&d);
    assert_eq!(
        d.tokens[0].overdue_since,
        Some(at("2027-02-12T10:00:00+07:00"))
    );
    let clocks = desk.engine.clocks(&d).unwrap();
    assert_eq!(clocks.steps[0].clock, ClockState::Overdue);
    assert_eq!(clocks.statutory.state, Some(ClockState::NotDue));

    // Four working hours after the breach the supervisor takes the dossier over.
    assert!(desk.tick("2027-02-12T14:59:00+07:00").is_empty());
    let taken = desk.tick("2027-02-12T15:00:00+07:00");
    assert_eq!(taken.len(), 1);
    assert_eq!(
        taken[0].did,
        vec![
            "notified department phong_kt",
            "took action 'chuyen_giam_sat'"
        ]
    );
    let d = desk.get(&d);
    assert_eq!(states(&d), vec!["giam_sat"]);
    assert_eq!(
        desk.actions(&d),
        vec![
            "submit",
            "chuyen",
            "system:warning",
            "system:warning",
            "system:overdue",
            "system:escalation",
            "system:escalation",
            "chuyen_giam_sat",
        ]
    );
    let history = desk.engine.history(&d.code).unwrap();
    let versions: Vec<u64> = history.iter().map(|e| e.version).collect();
    assert_eq!(versions, (1..=d.version).collect::<Vec<_>>());
    assert!(history[2..].iter().all(|e| e.actor == Actor::SYSTEM_ID));
    // The appraisal step ended late against its budget: the slip prints it.
    let left = &history.last().unwrap().steps[0];
    assert_eq!(
        (left.state.as_str(), left.class),
        ("xu_ly", Some(Class::Late))
    );

    // The statutory warning at 80% of 40 working hours: 32 h, Tue 16 Feb 09:00.
    assert_eq!(
        kinds(&desk.tick("2027-02-16T09:00:00+07:00")),
        vec![
            fired("step_due", Some("giam_sat"), "2027-02-15T15:00:00+07:00"),
            fired("warning", None, "2027-02-16T09:00:00+07:00"),
        ]
    );
    assert_eq!(
        kinds(&desk.tick("2027-02-17T09:00:00+07:00")),
        vec![
            fired("appointment", None, "2027-02-17T09:00:00+07:00"),
            fired("escalation", None, "2027-02-17T09:00:00+07:00"),
        ]
    );
    let overdue = desk
        .engine
        .list(
            &motcua::store::Query::Overdue {
                now: at("2027-02-17T09:01:00+07:00"),
            },
            None,
            10,
        )
        .unwrap();
    assert!(overdue.dossiers.is_empty() || overdue.dossiers[0].code == d.code);
    let events: Vec<String> = desk
        .engine
        .store()
        .outbox(0, 100)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.kind.as_str().to_string())
        .collect();
    for kind in ["deadline.warning", "deadline.overdue", "deadline.escalated"] {
        assert!(events.iter().any(|e| e == kind), "no {kind} in {events:?}");
    }
}

#[test]
fn a_make_up_saturday_counts_as_a_working_day_for_the_breach() {
    // Sat 22 Aug 2026 is worked (for Mon 31 Aug off).
    let desk = Desk::new("2026-08-21T08:00:00+07:00");
    let d = desk.receive();
    desk.now("2026-08-21T13:00:00+07:00");
    let d = desk.take(&d, "chuyen", desk_officer()).unwrap();
    // 4 h on Friday afternoon, 8 h on the make-up Saturday, 4 h on Monday morning.
    assert_eq!(d.tokens[0].due_at, Some(at("2026-08-24T12:00:00+07:00")));
    let before: Vec<_> = desk
        .tick("2026-08-24T11:59:00+07:00")
        .into_iter()
        .filter(|f| f.kind == "step_due")
        .collect();
    assert!(before.is_empty());
    let at_due = desk.tick("2026-08-24T12:00:00+07:00");
    assert_eq!(at_due[0].kind, "step_due");
    assert_eq!(at_due[0].due, at("2026-08-24T12:00:00+07:00"));
}

#[test]
fn a_pause_across_a_weekend_and_the_may_holidays_moves_the_appointment_by_the_working_time_paused()
{
    let desk = Desk::new("2027-04-26T09:00:00+07:00");
    let d = desk.receive();
    assert_eq!(d.clock.due_at, at("2027-05-05T09:00:00+07:00"));
    let d = desk.take(&d, "chuyen", desk_officer()).unwrap();
    // Supplement asked on Thursday 29 Apr at 15:00: Fri 30 Apr, Sat 1 May, Sun and Mon 3 May
    // (in lieu) are off; the applicant answers on Tuesday 4 May at 10:00.
    desk.now("2027-04-29T15:00:00+07:00");
    let d = desk.ask_supplement(&d);
    assert_eq!(d.clock.paused_since, Some(at("2027-04-29T15:00:00+07:00")));
    let clocks = desk.engine.clocks(&d).unwrap();
    assert_eq!(clocks.statutory.state, Some(ClockState::Paused));
    assert!(
        desk.engine
            .store()
            .due_timers(at("2030-01-01T00:00:00Z"), 10)
            .unwrap()
            .iter()
            .all(|t| t.dossier != d.code),
        "a paused dossier has no running timer"
    );
    desk.now("2027-05-04T10:00:00+07:00");
    let d = desk.take(&d, "nop_bo_sung", applicant_of(&d)).unwrap();
    assert_eq!(d.clock.paused_since, None);
    assert_eq!(
        d.clock.paused_hours_milli, 4_000,
        "2 h on Thursday, 2 h on Tuesday"
    );
    assert_eq!(d.clock.due_at, at("2027-05-05T14:00:00+07:00"));
    let history = desk.engine.history(&d.code).unwrap();
    let pause = history.iter().find(|e| e.action == "system:pause").unwrap();
    assert_eq!(pause.input["reason"], "waiting_on_applicant");
    assert!(pause.comment.as_deref().unwrap().contains("Chờ bổ sung"));
    let resume = history
        .iter()
        .find(|e| e.action == "system:resume")
        .unwrap();
    assert_eq!(
        resume.input["appointment_before"],
        serde_json::json!(at("2027-05-05T09:00:00+07:00"))
    );
    assert_eq!(
        resume.input["appointment"],
        serde_json::json!(at("2027-05-05T14:00:00+07:00"))
    );
    // The statutory warning moved with it: 80% of the limit is now 4 h later too.
    // 80% of the limit was Tue 4 May 09:00; it moves 4 h later with the appointment.
    assert_eq!(d.clock.alarms[0].at, at("2027-05-04T14:00:00+07:00"));
    assert!(
        desk.tick("2027-05-05T13:59:00+07:00")
            .iter()
            .all(|f| f.kind != "appointment")
    );
    assert!(
        desk.tick("2027-05-05T14:00:00+07:00")
            .iter()
            .any(|f| f.kind == "appointment")
    );
}

#[test]
fn a_timer_for_a_step_already_left_does_nothing_and_leaves_no_audit_entry() {
    let desk = Desk::new("2027-02-03T10:00:00+07:00");
    let d = desk
        .take(&desk.receive(), "chuyen", desk_officer())
        .unwrap();
    let timers = desk
        .engine
        .store()
        .due_timers(at("2027-02-12T10:00:00+07:00"), 100)
        .unwrap();
    assert!(timers.iter().any(|t| matches!(&t.kind, motcua::dossier::transition::TimerKind::Alarm { state: Some(s), .. } if s == "xu_ly")));
    let d = desk.take(&d, "trinh", appraiser()).unwrap();
    let entries = desk.engine.history(&d.code).unwrap().len();
    // The timers read before the move are stale now: firing one on the dossier does nothing.
    let p = desk.engine.procedure("tham-dinh-co-han").unwrap();
    let lookup = |_: &str| None;
    let cal = support::calendar::test_calendar();
    let env = motcua::dossier::transition::Env::new(&cal, &lookup, at("2027-02-12T10:00:00+07:00"));
    for t in timers
        .iter()
        .filter(|t| !matches!(t.kind, motcua::dossier::transition::TimerKind::Appointment))
    {
        if matches!(
            &t.kind,
            motcua::dossier::transition::TimerKind::Alarm { state: None, .. }
        ) {
            continue;
        }
        assert!(
            motcua::dossier::transition::fire(&p, &d, t, &env)
                .unwrap()
                .is_none()
        );
    }
    let fired = desk.tick("2027-02-12T10:00:00+07:00");
    assert!(
        fired.iter().all(|f| f.state.as_deref() != Some("xu_ly")),
        "{fired:?}"
    );
    let history = desk.engine.history(&d.code).unwrap();
    let noise = history[entries..]
        .iter()
        .filter(|e| e.input["state"] == "xu_ly")
        .count();
    assert_eq!(noise, 0, "no audit noise for the step left");
    // What did fire was the sign-off step's own breach (due Thu 11 Feb 10:00).
    assert_eq!(
        kinds(&fired),
        vec![fired_at(
            "step_due",
            Some("ky"),
            "2027-02-11T10:00:00+07:00"
        )]
    );
}

#[test]
fn after_a_restart_timers_that_came_due_fire_in_order_and_none_twice() {
    let desk = Desk::new("2027-03-01T08:00:00+07:00");
    let mut codes = vec![];
    for hour in 8..12 {
        desk.now(&format!("2027-03-01T{hour:02}:00:00+07:00"));
        codes.push(desk.receive().code);
    }
    // The engine stops; a week goes by.
    let desk = desk.reopen();
    desk.now("2027-03-10T12:00:00+07:00");
    let engine = Arc::new(desk.engine);
    let seen = Arc::new(std::sync::Mutex::new(vec![]));
    let scheduler = {
        let seen = seen.clone();
        motcua::scheduler::Scheduler::start(engine.clone(), move |f: &Firing| {
            seen.lock().unwrap().push(f.clone());
        })
        .unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // Each dossier: the desk step's breach, the 80% warning, the appointment and its escalation.
    while seen.lock().unwrap().len() < 16 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    scheduler.stop();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 16, "{seen:?}");
    let dues: Vec<_> = seen.iter().map(|f| f.due).collect();
    let mut sorted = dues.clone();
    sorted.sort();
    assert_eq!(dues, sorted, "fired in due order");
    assert!(
        engine
            .fire_due(at("2027-03-10T12:00:00+07:00"))
            .unwrap()
            .is_empty()
    );
    for code in &codes {
        let system = system_actions(&engine, code);
        assert_eq!(
            system,
            vec![
                "system:overdue",
                "system:warning",
                "system:overdue",
                "system:escalation"
            ],
            "{code}"
        );
    }
}

#[test]
fn a_commit_that_adds_an_earlier_timer_wakes_the_sleeping_scheduler() {
    let desk = Desk::new("2027-03-01T08:00:00+07:00");
    // In appraisal from Monday 08:00: its first warning (75% of 16 h) is Tuesday 12:00.
    let a = desk
        .take(&desk.receive(), "chuyen", desk_officer())
        .unwrap();
    let engine = Arc::new(desk.engine);
    let scheduler = motcua::scheduler::Scheduler::start(engine.clone(), |_: &Firing| {}).unwrap();
    let wait_for = |want: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while scheduler.planned() != Some(at(want)) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        scheduler.planned()
    };
    assert_eq!(
        wait_for("2027-03-02T12:00:00+07:00"),
        Some(at("2027-03-02T12:00:00+07:00"))
    );
    // A dossier received now has its desk step due at 12:00 today: earlier than the plan.
    let b = engine.submit(application()).unwrap().dossier;
    assert_eq!(b.tokens[0].due_at, Some(at("2027-03-01T12:00:00+07:00")));
    assert_eq!(
        wait_for("2027-03-01T12:00:00+07:00"),
        Some(at("2027-03-01T12:00:00+07:00"))
    );
    // A later timer does not disturb it.
    engine
        .act(motcua::dossier::transition::ActionRequest {
            dossier: a.code.clone(),
            action: "trinh".into(),
            actor: appraiser(),
            input: serde_json::json!({}),
            comment: None,
            seen_version: a.version,
            on_behalf: false,
        })
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(scheduler.planned(), Some(at("2027-03-01T12:00:00+07:00")));
    scheduler.stop();
}

#[test]
fn ten_thousand_timers_due_at_the_same_instant_each_fire_once() {
    // Codes run to 9999 per agency and day, so the ten thousand come on two days: Friday
    // after hours and Saturday. Both count from Monday 08:00; every desk step is due at 12:00.
    let desk = Desk::new("2027-03-05T17:30:00+07:00");
    let engine = Arc::new(desk.engine);
    let mut codes: Vec<String> = vec![];
    for day in ["2027-03-05T17:30:00+07:00", "2027-03-06T10:00:00+07:00"] {
        desk.clock.set(at(day));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let engine = engine.clone();
                std::thread::spawn(move || {
                    (0..625)
                        .map(|_| engine.submit(application()).unwrap().dossier.code)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        codes.extend(threads.into_iter().flat_map(|t| t.join().unwrap()));
    }
    assert_eq!(codes.len(), 10_000);
    let due = at("2027-03-08T12:00:00+07:00");
    let fired = engine.fire_due(due).unwrap();
    assert_eq!(fired.len(), 10_000);
    assert!(fired.iter().all(|f| f.kind == "step_due" && f.due == due));
    let mut fired_codes: Vec<&str> = fired.iter().map(|f| f.dossier.as_str()).collect();
    fired_codes.sort();
    fired_codes.dedup();
    assert_eq!(fired_codes.len(), 10_000);
    assert!(engine.fire_due(due).unwrap().is_empty());
    for code in codes.iter().step_by(97) {
        let overdue = engine
            .history(code)
            .unwrap()
            .iter()
            .filter(|e| e.action == "system:overdue")
            .count();
        assert_eq!(overdue, 1, "{code}");
    }
    let _ = desk.dir;
}

#[test]
fn the_overdue_listing_holds_breached_and_unfired_dossiers_but_not_a_paused_one() {
    let desk = Desk::new("2026-12-01T09:00:00+07:00");
    let a = desk.receive();
    desk.now("2026-12-01T10:00:00+07:00");
    let b = desk.receive();
    desk.now("2026-12-01T11:00:00+07:00");
    let c = desk.receive();
    let overdue = |now: &str, page: usize| -> Vec<String> {
        let mut codes = vec![];
        let mut after = None;
        loop {
            let l = desk
                .engine
                .list(
                    &motcua::store::Query::Overdue { now: at(now) },
                    after.as_deref(),
                    page,
                )
                .unwrap();
            codes.extend(l.dossiers.into_iter().map(|d| d.code));
            match l.next {
                Some(n) => after = Some(n),
                None => return codes,
            }
        }
    };
    // Appointments: Tue 8 Dec 09:00, 10:00 and 11:00.
    assert!(overdue("2026-12-08T09:00:00+07:00", 10).is_empty());
    // A reaches appraisal late, then its appointment's breach fires.
    desk.now("2026-12-08T09:10:00+07:00");
    desk.take(&a, "chuyen", desk_officer()).unwrap();
    // A's breach fires; B's and C's clocks still run past their appointments, unfired.
    desk.tick("2026-12-08T09:30:00+07:00");
    assert!(desk.get(&a).clock.overdue_since.is_some());
    assert_eq!(
        overdue("2026-12-08T11:30:00+07:00", 10),
        vec![a.code.clone(), b.code.clone(), c.code.clone()]
    );
    // A is paused for a supplement after its breach: a paused clock is not counting, so A
    // leaves the listing whether its breach fired before the pause or not (the documented
    // rule, which the API and the leader's screen always kept), on every page size.
    desk.now("2026-12-08T11:30:00+07:00");
    desk.ask_supplement(&a);
    assert!(desk.get(&a).clock.paused_since.is_some());
    for page in [1, 2, 3] {
        assert_eq!(
            overdue("2026-12-08T11:30:00+07:00", page),
            vec![b.code.clone(), c.code.clone()],
            "page size {page}"
        );
    }
    // Once it ends it leaves the listing.
    let b_now = desk.get(&b);
    let b_now = desk.take(&b_now, "chuyen", desk_officer()).unwrap();
    desk.take_with(
        &b_now,
        "tu_choi",
        appraiser(),
        serde_json::json!({}),
        Some("Không đủ điều kiện"),
    )
    .unwrap();
    assert_eq!(
        overdue("2026-12-08T11:30:00+07:00", 2),
        vec![c.code.clone()]
    );
}

#[test]
fn a_dossier_whose_timers_cannot_fire_is_reported_stuck_and_does_not_hold_up_the_others() {
    let store = Arc::new(motcua::store::memory::MemoryStore::new());
    let clock = Arc::new(ManualClock::new(at("2027-03-01T08:00:00+07:00")));
    let engine = Arc::new(
        Engine::new(
            store.clone(),
            Arc::new(support::calendar::test_calendar()),
            clock.clone(),
        )
        .unwrap(),
    );
    engine.load_procedures_dir(&fixture("deadline")).unwrap();
    let stuck = engine.submit(application()).unwrap().dossier;
    // Written behind the engine's back: pinned to a version nobody has.
    let mut orphan = stuck.clone();
    orphan.version += 1;
    orphan.procedure_hash = "0".repeat(64);
    let mut entry = engine.history(&stuck.code).unwrap().remove(0);
    entry.version = orphan.version;
    entry.action = "test:orphan".into();
    use motcua::store::Store;
    store
        .commit(motcua::dossier::transition::Transition {
            changes: vec![motcua::dossier::transition::Change {
                expected_version: Some(stuck.version),
                code_prefix: None,
                timers: motcua::dossier::transition::timers_of(&orphan),
                dossier: orphan,
                audit: vec![entry],
                events: vec![],
            }],
            idempotency: None,
            procedures: vec![],
            plugins: vec![],
        })
        .unwrap();
    clock.set(at("2027-03-01T10:00:00+07:00"));
    let healthy = engine.submit(application()).unwrap().dossier;

    // The orphan's desk step was due at 12:00, the healthy one's at 15:00 (lunch excluded).
    let fired = engine.fire_due(at("2027-03-01T12:30:00+07:00")).unwrap();
    assert!(fired.is_empty());
    assert_eq!(engine.stuck(), vec![stuck.code.clone()]);
    assert_eq!(
        engine.next_timer().unwrap(),
        Some(at("2027-03-01T15:00:00+07:00"))
    );
    // The scheduler plans for the healthy dossier; it retries the stuck one now and then,
    // not in a loop.
    clock.set(at("2027-03-01T12:30:00+07:00"));
    let scheduler = motcua::scheduler::Scheduler::start(engine.clone(), |_: &Firing| {}).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(scheduler.planned(), Some(at("2027-03-01T15:00:00+07:00")));
    scheduler.stop();
    let fired = engine.fire_due(at("2027-03-01T15:00:00+07:00")).unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].dossier, healthy.code);
    assert_eq!(engine.stuck(), vec![stuck.code]);
}

/// Regression: instants carried nanoseconds from the system clock while timer keys keep
/// milliseconds, so a due instant never matched its key and stayed due for ever.
#[test]
fn a_clock_with_nanoseconds_still_fires_every_timer_once() {
    let desk = Desk::new("2027-03-01T09:00:00.123456789+07:00");
    let d = desk.receive();
    assert_eq!(d.clock.received_at, at("2027-03-01T09:00:00.123+07:00"));
    // Four working hours, lunch excluded.
    let due = d.tokens[0].due_at.unwrap();
    assert_eq!(due, at("2027-03-01T14:00:00.123+07:00"));
    let later = (due + jiff::SignedDuration::from_nanos(876_543)).to_string();
    let first = desk.tick(&later);
    assert_eq!(
        kinds(&first),
        vec![fired(
            "step_due",
            Some("tiep_nhan"),
            "2027-03-01T14:00:00.123+07:00"
        )]
    );
    assert!(desk.tick(&later).is_empty());
    assert!(
        desk.engine
            .store()
            .due_timers(at(&later), 10)
            .unwrap()
            .is_empty()
    );
}

/// An escalation whose action a guard refuses still fires: it is recorded as not taken, and
/// the dossier's other timers are not held up.
#[test]
fn an_escalation_whose_action_is_refused_is_recorded_as_not_taken() {
    let desk = Desk::new("2027-03-01T08:00:00+07:00");
    let mut sub = application();
    sub.data = serde_json::json!({"ten": "Trần Thị Bình", "giu_nguyen": true});
    let d = desk.engine.submit(sub).unwrap().dossier;
    let d = desk.take(&d, "chuyen", desk_officer()).unwrap();
    let fired = desk.tick("2027-03-03T12:00:00+07:00");
    let take = fired
        .iter()
        .find(|f| f.due == at("2027-03-03T12:00:00+07:00"))
        .unwrap();
    assert!(
        take.did[1].starts_with("could not take action 'chuyen_giam_sat'"),
        "{take:?}"
    );
    let d = desk.get(&d);
    assert_eq!(states(&d), vec!["xu_ly"]);
    let entry = desk.engine.history(&d.code).unwrap().pop().unwrap();
    assert_eq!(entry.action, "system:escalation");
    assert!(
        entry.input["not_taken"]
            .as_str()
            .unwrap()
            .contains("Hồ sơ không chuyển tự động")
    );
    assert!(desk.engine.stuck().is_empty());
}

/// Regression: a same-day procedure's statutory warnings counted a zero limit from receipt and
/// were pulled back to the close of office, where the breach is.
#[test]
fn a_same_day_warning_comes_two_hours_before_the_close_also_after_the_cut_off() {
    let h = Harness::new("2026-06-01T10:00:00+07:00");
    let birth = |h: &Harness| {
        let mut s = house_permit(serde_json::json!({"ho_ten_tre": "Nguyễn Văn Bé"}));
        s.procedure = "khai-sinh-trong-ngay-thu-nghiem".into();
        s.documents = vec![];
        s.received_by = officer("hc01", "tu_phap", "tu_phap_ho_tich");
        h.engine.submit(s).unwrap().dossier
    };
    let morning = birth(&h);
    assert_eq!(morning.clock.due_at, at("2026-06-01T17:00:00+07:00"));
    assert_eq!(morning.clock.alarms[0].at, at("2026-06-01T15:00:00+07:00"));
    // After the 15:00 cut-off, counting starts the next morning.
    h.now("2026-06-01T16:00:00+07:00");
    let late = birth(&h);
    assert_eq!(late.clock.due_at, at("2026-06-02T17:00:00+07:00"));
    assert_eq!(late.clock.alarms[0].at, at("2026-06-02T15:00:00+07:00"));
    let fired = h.engine.fire_due(at("2026-06-01T15:00:00+07:00")).unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(
        (fired[0].dossier.as_str(), fired[0].kind.as_str()),
        (morning.code.as_str(), "warning")
    );
}
