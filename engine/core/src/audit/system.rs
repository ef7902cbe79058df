//! The engine's own steps, as audit entries name them (`action: "system:<what>"`).
//!
//! An entry's `action` is a procedure's action id, `submit`, or one of these. The stored
//! spelling ([`SystemAction::as_str`]) is part of the audit format: it never changes, so chains
//! written by earlier versions verify and read the same.

use std::fmt;

/// A step the engine takes by itself, never an officer or applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemAction {
    /// A step's budget or the appointment passed (`system:overdue`).
    Overdue,
    /// A warning threshold before a due instant was reached (`system:warning`).
    Warning,
    /// An escalation rule fired: leaders told, the step perhaps taken over (`system:escalation`).
    Escalation,
    /// A linked (liên thông) child dossier was started by its parent (`system:start-linked`).
    StartLinked,
    /// The statutory clock stopped: waiting on the applicant or an outside-budget step
    /// (`system:pause`).
    Pause,
    /// The statutory clock runs again (`system:resume`).
    Resume,
}

impl SystemAction {
    /// Every system action, for readers that list them.
    pub const ALL: [SystemAction; 6] = [
        SystemAction::Overdue,
        SystemAction::Warning,
        SystemAction::Escalation,
        SystemAction::StartLinked,
        SystemAction::Pause,
        SystemAction::Resume,
    ];

    /// The spelling stored in audit entries.
    pub const fn as_str(self) -> &'static str {
        match self {
            SystemAction::Overdue => "system:overdue",
            SystemAction::Warning => "system:warning",
            SystemAction::Escalation => "system:escalation",
            SystemAction::StartLinked => "system:start-linked",
            SystemAction::Pause => "system:pause",
            SystemAction::Resume => "system:resume",
        }
    }

    /// The system action an entry's `action` names, if it names one.
    pub fn of(action: &str) -> Option<SystemAction> {
        SystemAction::ALL.into_iter().find(|s| s.as_str() == action)
    }

    /// Whether an entry's `action` is the engine's own (any `system:` action, including ones a
    /// later version may add), rather than a person's.
    pub fn is_system(action: &str) -> bool {
        action.starts_with("system:")
    }
}

impl fmt::Display for SystemAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<SystemAction> for String {
    fn eq(&self, other: &SystemAction) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<SystemAction> for &str {
    fn eq(&self, other: &SystemAction) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::SystemAction;

    #[test]
    fn every_system_action_reads_back_from_its_stored_spelling() {
        for a in SystemAction::ALL {
            assert_eq!(SystemAction::of(a.as_str()), Some(a));
            assert!(SystemAction::is_system(a.as_str()));
        }
        assert_eq!(SystemAction::of("tiep-nhan"), None);
        assert!(!SystemAction::is_system("tiep-nhan"));
    }
}
