//! Deadline enforcement as declared: warnings and escalations (thresholds that can fire,
//! actions the system can take), legal extensions (an approver who may grant them) and
//! apologies (which promise a date and move nothing).

use super::Checker;
use crate::calendar::{Duration, Unit};
use crate::procedure::diagnostic::Code;
use crate::procedure::model::{By, Escalation};

impl Checker<'_> {
    pub(super) fn deadlines(&mut self) {
        let p = self.p;
        let roles: Vec<&str> = p.roles.iter().map(|r| r.id.as_str()).collect();
        for (i, r) in p.assigners.iter().flatten().enumerate() {
            self.reference(
                Code::UnknownRole,
                "role",
                r,
                &roles,
                &format!("/assigners/{i}"),
            );
        }
        for (i, r) in p.on_behalf.iter().flatten().enumerate() {
            self.reference(
                Code::UnknownRole,
                "role",
                r,
                &roles,
                &format!("/on_behalf/{i}"),
            );
        }
        for (i, r) in p.limit.extension_approvers.iter().enumerate() {
            self.reference(
                Code::UnknownRole,
                "role",
                r,
                &roles,
                &format!("/limit/extension_approvers/{i}"),
            );
        }
        // Warnings must fit the shorter limit (the longer one is for disadvantaged areas); a
        // same-day limit runs to the close of the day.
        let limit = if p.limit.same_day_cutoff.is_some() || p.limit.duration.is_zero() {
            Duration::working_days(1)
        } else {
            p.limit.duration
        };
        for (j, e) in p.escalation.iter().enumerate() {
            let base = format!("/escalation/{j}");
            self.threshold(e, &base, Some(limit), "the statutory limit");
            for (k, r) in e.notify.iter().enumerate() {
                self.reference(
                    Code::UnknownRole,
                    "role",
                    r,
                    &roles,
                    &format!("{base}/notify/{k}"),
                );
            }
            if let Some(d) = &e.department {
                let departments: Vec<&str> = p.departments.iter().map(|d| d.id.as_str()).collect();
                self.reference(
                    Code::UnknownDepartment,
                    "department",
                    d,
                    &departments,
                    &format!("{base}/department"),
                );
            }
            if e.take.is_some() {
                self.emit(
                    Code::EscalationAction,
                    self.sm.key(&format!("{base}/take")),
                    "a rule on the statutory clock cannot take an action: the dossier may be in any state when it fires".into(),
                    Some("put the rule under the state whose action it takes".into()),
                );
            }
        }
        for (i, s) in p.states.iter().enumerate() {
            for (j, e) in s.escalation.iter().enumerate() {
                let base = format!("/states/{i}/escalation/{j}");
                self.threshold(e, &base, s.budget, &format!("the budget of '{}'", s.id));
                let Some(take) = &e.take else { continue };
                let pos = self.at(&format!("{base}/take"));
                match p.action(take) {
                    None => {
                        let known: Vec<&str> = p.actions_from(&s.id).map(|a| a.id.as_str()).collect();
                        self.reference(Code::UnknownAction, "action", take, &known, &format!("{base}/take"));
                    }
                    Some(a) if a.from != s.id => self.emit(
                        Code::EscalationAction,
                        pos,
                        format!("escalation of '{}' takes '{take}', which leaves '{}', not this state", s.id, a.from),
                        Some("name an action whose 'from' is this state".into()),
                    ),
                    Some(a) if a.taker() != Some(By::System) => self.emit(
                        Code::EscalationAction,
                        pos,
                        format!("escalation of '{}' takes '{take}', which is not taken 'by: system'", s.id),
                        Some("declare a separate action with 'by: system' for the engine to take on escalation".into()),
                    ),
                    Some(a) if a.to == s.id => self.emit(
                        Code::EscalationAction,
                        pos,
                        format!("escalation of '{}' takes '{take}', which stays in the state: it would start the step's budget again", s.id),
                        Some("take an action that moves the dossier on (to the supervisor, a tacit decision)".into()),
                    ),
                    Some(a) if needs_an_officer(a) => self.emit(
                        Code::EscalationAction,
                        pos,
                        format!("escalation of '{}' takes '{take}', which needs what the system cannot give (a reason, inputs, validators, or an officer's notice)", s.id),
                        Some("the system takes an action with no input: declare one for it".into()),
                    ),
                    Some(_) => {}
                }
            }
        }
        for (i, a) in p.actions.iter().enumerate() {
            let base = format!("/actions/{i}");
            if a.extends.is_some() {
                let approver = a
                    .roles
                    .iter()
                    .any(|r| p.limit.extension_approvers.contains(r));
                if !approver {
                    let hint = if p.limit.extension_approvers.is_empty() {
                        "name who may approve extensions: 'limit.extension_approvers: [<role>]'"
                            .to_string()
                    } else {
                        format!(
                            "give the action one of the approver roles {}",
                            p.limit.extension_approvers.join(", ")
                        )
                    };
                    self.emit(
                        Code::ExtensionApprover,
                        self.sm.key(&format!("{base}/extends")),
                        format!("action '{}' grants an extension, but none of its roles is an extension approver", a.id),
                        Some(hint),
                    );
                }
            }
            if a.apology && (a.from != a.to || a.extends.is_some()) {
                self.emit(
                    Code::ApologyAction,
                    self.sm.key(&format!("{base}/apology")),
                    format!("apology '{}' must stay in its state and extend nothing: an apology promises a date, it neither moves the dossier nor its appointment", a.id),
                    Some("write 'to:' equal to 'from:', and declare any legal extension as its own action".into()),
                );
            }
        }
    }

    fn threshold(&mut self, e: &Escalation, base: &str, budget: Option<Duration>, what: &str) {
        let given: Vec<&str> = [
            e.used.map(|_| "used"),
            e.before.map(|_| "before"),
            e.after.map(|_| "after"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if given.len() != 1 {
            self.emit(
                Code::EscalationThreshold,
                self.at(base),
                format!(
                    "an escalation rule needs exactly one threshold of 'used', 'before' and 'after'; it has {}",
                    if given.is_empty() { "none".to_string() } else { given.join(" and ") }
                ),
                Some("e.g. 'used: 75%', 'before: 1 working day' or 'after: 0 working hours'".into()),
            );
            return;
        }
        if let (Some(share), Some(budget)) = (e.used, budget)
            && budget.unit == Unit::CalendarDays
            && budget.milli * u64::from(share.permille()) / 1000 / 1000 == 0
        {
            self.emit(
                Code::EscalationThreshold,
                self.at(&format!("{base}/used")),
                format!("'used: {share}' of {what} ({budget}) is less than a whole day: it would fire as the clock starts"),
                Some("budgets in days count whole days: warn with 'before:' or a larger share".into()),
            );
        }
        let (Some(before), Some(budget)) = (e.before, budget) else {
            return;
        };
        let calendar = |d: Duration| d.unit == Unit::CalendarDays;
        if calendar(before) != calendar(budget) {
            self.emit(
                Code::EscalationThreshold,
                self.at(&format!("{base}/before")),
                format!("'before: {before}' does not count like {what} ({budget})"),
                Some(
                    "count working time before a working-time budget, days before a budget in days"
                        .into(),
                ),
            );
        } else if before.nominal_day_milli() >= budget.nominal_day_milli() {
            self.emit(
                Code::EscalationThreshold,
                self.at(&format!("{base}/before")),
                format!("'before: {before}' is not inside {what} ({budget}): it would fire as the clock starts"),
                Some("warn a shorter time before the due instant".into()),
            );
        }
    }
}

/// An action the engine cannot take on its own: it needs a reason, inputs, a validator's
/// judgement, or is an officer's notice.
fn needs_an_officer(a: &crate::procedure::model::Action) -> bool {
    a.apology
        || a.extends.is_some()
        || a.comment_required
        || !a.validators.is_empty()
        || a.inputs.iter().any(|i| i.required)
}
