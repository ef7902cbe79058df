//! The simulator as an author uses it: the same seed gives the same report, more officers
//! never make a queue later, an impossible budget shows as late, a what-if on common random
//! numbers sees a cut limit, and a scenario that does not fit its catalogue says where.

use crate::{plan_of, simulate};

const PERMIT: &str = "procedures: [../../../procedures/cap-phep-xay-dung-nha-o.yaml]
start: 2027-01-04T08:00:00+07:00
duration: 60 days
warmup: 10 days
replications: 4
seed: 7
arrivals:
  - procedure: cap-phep-xay-dung-nha-o
    per_working_day: 3
    channels: {desk: 0.7, online: 0.3}
staff:
  - {role: chuyen-vien-ha-tang, department: ha-tang, officers: 2}
service:
  - {state: kiem-tra-quy-hoach, distribution: lognormal, median: 3 working hours, p90: 8 working hours}
  - {state: kiem-tra-ket-cau, distribution: lognormal, median: 2 working hours, p90: 6 working hours}
branching:
  - state: kiem-tra-thanh-phan
    actions: {du: 0.9, thieu: 0.1}
  - state: cho-bo-sung
    actions: {nop-bo-sung: 0.9, rut-ho-so: 0.1}
    response: {distribution: lognormal, median: 3 days, p90: 10 days}
  - state: tong-hop
    actions: {trinh-lanh-dao: 0.8, yeu-cau-bo-sung-tham-dinh: 0.1, gia-han: 0.1}
  - state: cho-bo-sung-tham-dinh
    actions: {nop-bo-sung-tham-dinh: 1}
    response: {distribution: exponential, mean: 4 days}
";

fn json(text: &str) -> String {
    serde_json::to_string_pretty(&simulate(text)).expect("the report serialises")
}

#[test]
fn the_same_seed_gives_the_same_report_byte_for_byte_and_another_seed_another() {
    let a = json(PERMIT);
    assert_eq!(a, json(PERMIT));
    assert_ne!(a, json(&PERMIT.replace("seed: 7", "seed: 8")));
    // The permit's real graph ran: parallel branches met, supplements paused the clock,
    // extensions were granted, dossiers ended. The law refuses an extension asked after the
    // appointment or beyond the cap, and the report counts those refusals; such a step then
    // takes its way to a result, so nothing is stuck.
    let o = simulate(PERMIT);
    assert!(o.total.ended > 50.0, "{:?}", o.total);
    for state in [
        "kiem-tra-quy-hoach",
        "kiem-tra-ket-cau",
        "tong-hop",
        "trinh-ky",
    ] {
        assert!(
            o.states.iter().any(|s| s.state == state && s.steps > 0.0),
            "no steps in {state}"
        );
    }
    for kind in o.refused.keys() {
        assert!(kind.starts_with("Extension"), "refused: {:?}", o.refused);
    }
    assert_eq!(o.stuck, 0);
}

fn queue(officers: u32, service: &str) -> String {
    format!(
        "procedures: [procedures/mmc.yaml]
start: 2027-01-04T08:00:00+07:00
duration: 90 days
warmup: 10 days
replications: 5
seed: 3
arrivals:
  - procedure: mmc
    per_working_day: 6
staff:
  - {{role: chuyen-vien, department: phong, officers: {officers}}}
service:
  - {{state: xu-ly, {service}}}
"
    )
}

#[test]
fn more_officers_never_lower_the_on_time_rate() {
    let service = "distribution: exponential, mean: 1.8 working hours";
    let mut last = -1.0;
    for officers in 1..=4 {
        let o = simulate(&queue(officers, service));
        let rate = o.total.on_time_rate.expect("dossiers ended").mean;
        assert!(rate >= last, "{officers} officers: {rate} after {last}");
        last = rate;
    }
    // With no one waiting, a step is on time when its own service fits the 3 hours:
    // 1 − e^(−3/1.8) = 0.811. Four officers for six dossiers a day come close to that.
    let bound = 1.0 - (-3.0f64 / 1.8).exp();
    assert!(
        (last - bound).abs() < 0.05,
        "four officers: {last}, no queue at all: {bound}"
    );
}

#[test]
fn a_budget_that_cannot_be_met_shows_as_late() {
    // mmc.yaml gives 3 working hours; the step takes 4.
    let o = simulate(&queue(3, "distribution: fixed, value: 4 working hours"));
    let rate = o.total.on_time_rate.expect("dossiers ended");
    assert_eq!(rate.mean, 0.0);
    assert!(o.total.late > 0.0);
    assert_eq!(o.total.late, o.total.ended);
}

#[test]
fn a_what_if_on_common_random_numbers_sees_a_shorter_limit() {
    let dir = tempfile_dir();
    let current = crate::fixtures().join("procedures/mmc.yaml");
    let text = std::fs::read_to_string(&current).unwrap();
    let proposed = dir.join("mmc.yaml");
    std::fs::write(
        &proposed,
        text.replace("duration: 3 working hours", "duration: 2 working hours"),
    )
    .unwrap();
    let scenario = queue(2, "distribution: exponential, mean: 1.8 working hours");
    let a = plan_of(&scenario).unwrap();
    let defs = motcua_simulate::plan::load_catalogue(&[proposed]).unwrap();
    let s = motcua_simulate::Scenario::parse(&scenario, &crate::fixtures().join("s.yaml")).unwrap();
    let b = motcua_simulate::Plan::new(&s, defs).unwrap();
    let c = motcua_simulate::compare(&a, &b);
    let d = c.difference[0].on_time_rate.expect("a difference");
    assert!(
        d.mean < 0.0,
        "a shorter limit cannot be more on time: {d:?}"
    );
    assert!(d.high.expect("five replications") < 0.0, "{d:?}");
    // Same arrivals in both: the streams are common.
    assert_eq!(c.current.total.received, c.proposed.total.received);
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("motcua-simulate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_scenario_that_does_not_fit_says_where() {
    let base = queue(1, "distribution: exponential, mean: 1 working hour");
    let cases = [
        (
            base.replace("seed: 3", "seed: 3\nspeed: 2"),
            "unknown field `speed`",
        ),
        (
            base.replace("state: xu-ly", "state: tham-dinh"),
            "service[0].state",
        ),
        (
            base.replace("mean: 1 working hour", "mean: 1 hours"),
            "must be working time",
        ),
        (
            base.replace("duration: 90 days", "duration: 5 days"),
            "duration",
        ),
        (
            base.replace("officers: 1", "officers: 0"),
            "staff[0].officers",
        ),
        (
            base.replace("procedure: mmc\n", "procedure: khong-co\n"),
            "arrivals[0].procedure",
        ),
        (
            base.replace("per_working_day: 6", "per_working_day: -1"),
            "arrivals[0]",
        ),
        (
            base.replace(
                "distribution: exponential, mean: 1 working hour",
                "distribution: lognormal, median: 2 working hours, p90: 1 working hour",
            ),
            "0 < median < p90",
        ),
        (
            format!("{base}branching:\n  - state: xu-ly\n    actions: {{tra: 0.5}}\n"),
            "add up to 0.5",
        ),
        (
            format!(
                "{base}branching:\n  - state: xu-ly\n    actions: {{tra: 1}}\n    response: {{distribution: fixed, value: 1 days}}\n"
            ),
            "does not wait on the applicant",
        ),
        (
            base.replace("duration: 90 days", "duration: 90 fortnights"),
            "is not a span",
        ),
    ];
    for (text, expected) in cases {
        let e = plan_of(&text).expect_err(expected);
        assert!(e.contains(expected), "expected {expected:?} in: {e}");
    }
    // A YAML error names its line and column.
    let e = plan_of("procedures: [procedures/mmc.yaml]\nstart: [").expect_err("broken YAML");
    assert!(e.contains("scenario.yaml:3:1"), "{e}");
    // A wrong field is named with its path and its own position.
    let e =
        plan_of(&base.replace("officers: 1", "officers: many")).expect_err("a word for a number");
    assert!(
        e.contains("scenario.yaml:11:54") && e.contains("staff[0].officers"),
        "{e}"
    );
    // Aliases cannot expand into all of memory (a "billion laughs").
    let mut laughs =
        String::from("procedures: [procedures/mmc.yaml]\na: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "a".to_string()
        } else {
            format!("b{}", i - 1)
        };
        laughs.push_str(&format!(
            "b{i}: &b{i} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        ));
    }
    let e = plan_of(&laughs).expect_err("nested aliases");
    assert!(e.contains("100000 nodes"), "{e}");
}

#[test]
fn earliest_due_serves_the_tight_limit_first() {
    // Two procedures share one officer: one due in 3 working hours, one in 3 working days.
    let scenario = |discipline: &str| {
        format!(
            "procedures: [procedures/mmc.yaml, procedures/mmc-dai.yaml]
start: 2027-01-04T08:00:00+07:00
duration: 60 days
warmup: 5 days
replications: 4
seed: 9
discipline: {discipline}
arrivals:
  - {{procedure: mmc, per_working_day: 3}}
  - {{procedure: mmc-dai, per_working_day: 3}}
staff:
  - {{role: chuyen-vien, department: phong, officers: 1}}
service:
  - {{state: xu-ly, distribution: exponential, mean: 1 working hour}}
"
        )
    };
    let rate = |o: &motcua_simulate::Outcome, id: &str| {
        let f = o
            .procedures
            .iter()
            .find(|f| f.procedure.as_deref() == Some(id))
            .unwrap();
        f.on_time_rate.unwrap().mean
    };
    let fifo = simulate(&scenario("fifo"));
    let due = simulate(&scenario("earliest_due"));
    assert!(
        rate(&due, "mmc") > rate(&fifo, "mmc") + 0.05,
        "tight limit: earliest due {} against first come {}",
        rate(&due, "mmc"),
        rate(&fifo, "mmc")
    );
    assert!(rate(&due, "mmc-dai") > 0.95, "the long limit is still met");
}

#[test]
fn an_unchanged_catalogue_in_another_order_differs_by_nothing() {
    // Regression: dossiers' streams were keyed by the procedure's place in the catalogue, so
    // a proposed catalogue listing the same versions in another order drew other numbers.
    let text = "procedures: [procedures/mmc.yaml, procedures/mmc-dai.yaml]
start: 2027-01-04T08:00:00+07:00
duration: 40 days
warmup: 5 days
replications: 3
seed: 4
arrivals:
  - {procedure: mmc, per_working_day: 3}
  - {procedure: mmc-dai, per_working_day: 3}
staff:
  - {role: chuyen-vien, department: phong, officers: 1}
service:
  - {state: xu-ly, distribution: exponential, mean: 1 working hour}
";
    let current = plan_of(text).unwrap();
    let reversed = plan_of(&text.replace(
        "[procedures/mmc.yaml, procedures/mmc-dai.yaml]",
        "[procedures/mmc-dai.yaml, procedures/mmc.yaml]",
    ))
    .unwrap();
    let c = motcua_simulate::compare(&current, &reversed);
    for d in &c.difference {
        let rate = d.on_time_rate.expect("dossiers ended");
        assert_eq!(
            (rate.mean, rate.low, rate.high),
            (0.0, Some(0.0), Some(0.0)),
            "{d:?}"
        );
    }
    assert_eq!(c.current.total, c.proposed.total);
}

#[test]
fn the_issues_example_scenario_is_accepted_as_written() {
    // The shape issue 30 gave (only the procedures' path differs: it is relative to the file).
    let text = "procedures: [../../../procedures/cap-phep-xay-dung-nha-o.yaml]
start: 2027-01-04T08:00:00+07:00
duration: 120 days
warmup: 10 days
replications: 10
seed: 7
calendar: national
arrivals:
  - procedure: cap-phep-xay-dung-nha-o
    per_working_day: 12
staff:
  - role: chuyen-vien-ha-tang
    department: ha-tang
    officers: 3
service:
  - state: kiem-tra-quy-hoach
    distribution: lognormal
    median: 3 working hours
    p90: 8 working hours
branching:
  - state: tong-hop
    actions: {trinh-lanh-dao: 0.85, yeu-cau-bo-sung-tham-dinh: 0.15}
";
    let o = simulate(text);
    // Twelve permits a day need about 3.9 hours each of three officers' 24: the queue for
    // the zoning check grows without end, and the forecast says so.
    let rate = o.total.on_time_rate.expect("dossiers ended").mean;
    assert!(rate < 0.5, "an overloaded office is not on time: {rate}");
    let zoning = o
        .states
        .iter()
        .find(|s| s.state == "kiem-tra-quy-hoach")
        .unwrap();
    assert!(zoning.utilisation.unwrap().mean > 0.95);
    assert!(
        zoning.queue.last() > zoning.queue.first(),
        "the queue grows"
    );
    // What it did not say is listed, not guessed silently.
    assert!(o.assumptions.iter().any(|a| matches!(
        a,
        motcua_simulate::plan::Assumption::Unstaffed { role, .. } if role == "can-bo-mot-cua"
    )));
}

#[test]
fn a_loop_that_takes_no_time_ends_and_says_so() {
    // Regression: every appraisal asks for a supplement, the applicant answers at once and
    // no step takes time, so the simulated clock never moved and the run never ended.
    let text = "procedures: [procedures/tham-dinh.yaml]
start: 2027-03-01T08:00:00+07:00
duration: 3 days
replications: 1
arrivals:
  - {procedure: tham-dinh, per_working_day: 1}
branching:
  - state: tham-dinh
    actions: {bo-sung: 1}
";
    let o = simulate(text);
    assert!(o.stuck > 0, "the looping dossiers are let go and counted");
    assert!(o.total.ended == 0.0);
}

#[test]
fn extreme_rates_and_budgets_do_not_panic_or_run_away() {
    let base = queue(1, "distribution: exponential, mean: 1 working hour");
    // A rate so small the first arrival falls past any calendar: nobody comes.
    let o = simulate(&base.replace(
        "per_working_day: 6",
        "per_working_day: 0.00000000000000000001",
    ));
    assert_eq!(o.total.received, 0.0);
    // A profile that multiplies a busy rate past the bound is refused where it is.
    let e = plan_of(&base.replace(
        "per_working_day: 6",
        "per_working_day: 6000\n    profile: {weekdays: {mon: 100}, hours: {9: 100}}",
    ))
    .expect_err("too busy");
    assert!(e.contains("arrivals[0].profile"), "{e}");
    // A caller's budget stops each replication and the report says it is partial.
    let mut plan = plan_of(&base).unwrap();
    plan.max_transitions = Some(50);
    let o = motcua_simulate::simulate(&plan);
    assert!(o.exhausted);
    assert!(o.total.received < 50.0);
}
