//! The checker on small variations of the minimal fixture.

use crate::procedure::{Code, load_and_check_str};

const MINIMAL: &str = include_str!("../../../../../tests/fixtures/valid-minimal.yaml");

fn codes(text: &str) -> Vec<(Code, u32, u32)> {
    load_and_check_str(text, "t.yaml")
        .diagnostics
        .iter()
        .map(|d| (d.code, d.line, d.col))
        .collect()
}

fn with_guard(expr_line: &str) -> String {
    MINIMAL.replace(
        "    to: da-tra\n    roles: [can-bo]\n",
        &format!("    to: da-tra\n    roles: [can-bo]\n    guard:\n{expr_line}\n      label: x\n"),
    )
}

#[test]
fn the_minimal_procedure_is_clean() {
    assert_eq!(codes(MINIMAL), vec![]);
}

#[test]
fn guard_columns_count_characters_after_vietnamese_text() {
    // `data` of data.tang starts 29 characters (31 bytes: "ữ" takes three) into the guard.
    let text = with_guard("      expr: data.so_tang == 1 && \"Nữ\" == data.tang");
    // so_tang is optional without a default: reading it is a warning (W004) too.
    assert_eq!(
        codes(&text),
        vec![
            (Code::GuardReadsOptionalField, 58, 13),
            (Code::GuardUnknownField, 58, 13 + 29)
        ]
    );
}

#[test]
fn guard_columns_inside_quotes() {
    let text = with_guard("      expr: 'data.so_tang >= 1 && data.tang > 0'");
    assert_eq!(
        codes(&text),
        vec![
            (Code::GuardReadsOptionalField, 58, 14),
            (Code::GuardUnknownField, 58, 14 + 21)
        ]
    );
}

#[test]
fn comprehension_variables_are_not_unknown() {
    let text =
        with_guard("      expr: '[1, 2].all(x, x > 0) && has(data.so_tang) && data.so_tang > 0'");
    assert_eq!(codes(&text), vec![]);
}

#[test]
fn guard_syntax_errors_point_into_the_expression() {
    let text = with_guard("      expr: data.so_tang >= 1 &&& true");
    let got = codes(&text);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, Code::GuardSyntax);
    assert!(got[0].2 > 13, "{got:?}");
}

/// The minimal procedure with xu-ly replaced by a fork into two branches of `a` and `b`
/// working days meeting at a 1-day join.
fn parallel(a: &str, b: &str, limit: &str) -> String {
    let states = [
        "  - id: xu-ly\n    label: Xử lý\n    kind: fork\n    status: 4\n    branches: [a, b]\n".to_string(),
        format!("  - id: a\n    label: A\n    kind: task\n    department: mot-cua\n    budget: {a} working days\n    status: 4\n"),
        format!("  - id: b\n    label: B\n    kind: task\n    department: mot-cua\n    budget: {b} working days\n    status: 4\n"),
        "  - id: hop\n    label: Hợp\n    kind: join\n    fork: xu-ly\n    department: mot-cua\n    budget: 1 working day\n    status: 4\n".to_string(),
    ]
    .concat();
    let actions = "  - id: xa\n    label: x\n    from: a\n    to: hop\n    roles: [can-bo]\n  - id: xb\n    label: x\n    from: b\n    to: hop\n    roles: [can-bo]\n";
    MINIMAL
        .replace(
            "  - id: xu-ly\n    label: Xử lý\n    kind: task\n    department: mot-cua\n    budget: 1 working day\n    status: 4\n",
            &states,
        )
        .replace("    from: xu-ly\n    to: da-tra\n", "    from: hop\n    to: da-tra\n")
        .replace("  duration: 3 working days", &format!("  duration: {limit}"))
        + actions
}

#[test]
fn parallel_branches_count_as_the_longest_branch() {
    // 1 (desk) + max(5, 3) + 1 (join) = 7
    assert_eq!(codes(&parallel("5", "3", "7 working days")), vec![]);
    let got = codes(&parallel("5", "3", "6 working days"));
    assert_eq!(got, vec![(Code::BudgetExceedsLimit, 11, 13)]);
}

#[test]
fn supplement_waits_and_excluded_steps_do_not_count() {
    let text = MINIMAL.replace(
        "    outcome: result_issued\n    status: 10\n",
        "    outcome: result_issued\n    status: 10\n  - id: cho\n    label: Chờ\n    kind: applicant\n    status: 5\n  - id: niem-yet\n    label: Niêm yết\n    kind: task\n    department: mot-cua\n    budget: 30 days\n    outside_budget: true\n    status: 4\n",
    ) + "  - id: bo-sung\n    label: b\n    from: xu-ly\n    to: cho\n    roles: [can-bo]\n  - id: nop\n    label: n\n    from: cho\n    to: niem-yet\n    by: applicant\n  - id: het\n    label: h\n    from: niem-yet\n    to: xu-ly\n    roles: [can-bo]\n";
    assert_eq!(codes(&text), vec![]);
}

#[test]
fn a_rework_loop_counts_each_step_once() {
    // tiep-nhan 1 + xu-ly 1 in a loop with tiep-nhan: 2 ≤ 3.
    let text = MINIMAL.to_string()
        + "  - id: tra-lai\n    label: Trả lại\n    from: xu-ly\n    to: tiep-nhan\n    roles: [can-bo]\n";
    assert_eq!(codes(&text), vec![]);
}
