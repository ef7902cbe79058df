//! Diagnostics: one problem in a procedure file, with a stable code and a position.
//!
//! Codes never change meaning once released: portals, CI scripts and `docs/diagnostics.md` refer
//! to them. New checks get new codes; a retired check leaves its code unused.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How bad a diagnostic is. Errors make a procedure undeployable; warnings are advice
/// (`motcua validate --deny-warnings` turns them into failures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The procedure must not be deployed.
    Error,
    /// Advice; fails validation only with `--deny-warnings`.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $severity:ident, $title:literal;)*) => {
        /// A stable diagnostic code. See `docs/diagnostics.md` for one section per code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $(#[doc = $title] $variant,)*
        }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as printed, e.g. `E011`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// The severity diagnostics with this code always have.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// A short title, the heading of its section in `docs/diagnostics.md`.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }

            /// The code printed as `as_str`, if any.
            pub fn parse(s: &str) -> Option<Code> {
                match s { $($code => Some(Code::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    YamlSyntax = "E001", Error, "YAML syntax error";
    UnknownField = "E002", Error, "unknown field";
    MissingField = "E003", Error, "missing field";
    WrongType = "E004", Error, "wrong type or invalid value";
    InvalidDuration = "E005", Error, "invalid duration";
    DuplicateKey = "E006", Error, "duplicate key";
    InvalidId = "E007", Error, "invalid id";
    DuplicateId = "E010", Error, "duplicate id";
    UnknownState = "E011", Error, "unknown state";
    UnknownRole = "E012", Error, "unknown role";
    UnknownDepartment = "E013", Error, "unknown department";
    UnknownDocument = "E014", Error, "unknown document";
    UnknownPlugin = "E015", Error, "unknown plugin";
    UnknownAction = "E016", Error, "unknown action";
    NotAFork = "E017", Error, "join names a state that is not a fork";
    UnknownProcedure = "E018", Error, "unknown linked procedure";
    GuardSyntax = "E020", Error, "guard does not compile";
    GuardUnknownVariable = "E021", Error, "unknown variable in guard";
    GuardUnknownField = "E022", Error, "guard names a field the form does not declare";
    InvalidFormSchema = "E023", Error, "invalid form schema";
    LinkUnknownField = "E024", Error, "linked procedure copies a field the form does not declare";
    NoStart = "E030", Error, "no start state";
    SeveralStarts = "E031", Error, "several start states";
    Unreachable = "E032", Error, "unreachable state";
    NoWayToTerminal = "E033", Error, "no terminal state reachable";
    TerminalWithActions = "E034", Error, "terminal state with actions";
    TerminalWithoutOutcome = "E035", Error, "terminal state without outcome";
    OutcomeOnNonTerminal = "E036", Error, "outcome on a non-terminal state";
    ForkTooFewBranches = "E037", Error, "fork with fewer than two branches";
    ForkWithoutJoin = "E038", Error, "fork whose branches never meet at a join";
    JoinCannotComplete = "E039", Error, "join that cannot be completed";
    AutomaticWithoutPlugin = "E040", Error, "automatic state without plugin";
    ApplicantNoWayBack = "E041", Error, "applicant state with no way back";
    StatusOutOfRange = "E042", Error, "national status code out of range";
    ForkWithActions = "E043", Error, "fork state with actions";
    MisplacedField = "E044", Error, "field not allowed for this kind of state";
    NoTaker = "E045", Error, "action nobody may take";
    TakerWithRoles = "E046", Error, "roles on an action the applicant or the system takes";
    AutomaticNotSystem = "E047", Error, "action out of an automatic state not taken by the system";
    AutomaticCycle = "E048", Error, "cycle made only of automatic states";
    BranchLeavesRegion = "E049", Error, "fork branch leaves its region";
    BudgetExceedsLimit = "E050", Error, "step budgets exceed the statutory limit";
    EffectiveUntilBeforeFrom = "E051", Error, "effective_until before effective_from";
    DisadvantagedShorter = "E052", Error, "disadvantaged-area limit shorter than the limit";
    ExtensionTooLong = "E053", Error, "extension longer than the procedure allows";
    ExtensionApprover = "E054", Error, "extension without an approver who may take it";
    EscalationThreshold = "E055", Error, "escalation threshold missing, doubled or beyond the budget";
    EscalationAction = "E056", Error, "escalation takes an action the system cannot take from its state";
    ApologyAction = "E057", Error, "apology action that moves the dossier or also extends";
    FeePerField = "E058", Error, "fee counted per a field the form does not declare as an integer";
    PluginUnreadable = "E060", Error, "plugin file missing or unreadable";
    PluginHashMismatch = "E061", Error, "plugin file does not match its pinned sha256";
    NotAPlugin = "E062", Error, "not a motcua plugin";
    PluginMissingCapability = "E063", Error, "plugin does not implement a function the procedure uses";
    PluginConfigInvalid = "E064", Error, "plugin config does not match the plugin's config schema";
    PluginBadConfigSchema = "E065", Error, "plugin describes an invalid config schema";
    PluginConfigUnknownAction = "E066", Error, "plugin config names an action the call cannot take";
    PluginConfigUnknownDocument = "E067", Error, "plugin config names a document not in the checklist";
    MissingBudget = "W001", Warning, "state without a budget";
    EscalationWithoutBudget = "W002", Warning, "escalation on a state without a budget";
    CutoffOnLongLimit = "W003", Warning, "same-day cut-off on a limit longer than a day";
    GuardReadsOptionalField = "W004", Warning, "guard reads a field that may be absent";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Code::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown code '{s}'")))
    }
}

/// A position in a file: 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    /// The first character of a file.
    pub const START: Pos = Pos { line: 1, col: 1 };
}

/// One problem found in a procedure file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub col: u32,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The values the message names, by name (`id`, `kind`, `field`, `suggestion`,
    /// `first_line`, ...; `motcua::messages::diagnostics` lists them), so a screen can word the
    /// problem in another language without parsing `message`, which stays English for the CLI.
    /// Absent from JSON when empty, so diagnostics stored or sent before it read the same.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
}

impl Diagnostic {
    /// A diagnostic with the code's own severity.
    pub fn new(code: Code, file: impl Into<PathBuf>, pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            file: file.into(),
            line: pos.line,
            col: pos.col,
            message: message.into(),
            hint: None,
            args: BTreeMap::new(),
        }
    }

    /// Records a value the message names (see [`Diagnostic::args`]).
    pub fn with_arg(mut self, name: &str, value: impl ToString) -> Self {
        self.args.insert(name.to_string(), value.to_string());
        self
    }

    /// A value recorded with [`Diagnostic::with_arg`].
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args.get(name).map(String::as_str)
    }

    /// Adds a hint (replacing any).
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `path:line:col: error[E012]: message`, then `  = hint: ...` on its own line when there is one.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}[{}]: {}",
            self.file.display(),
            self.line,
            self.col,
            self.severity,
            self.code,
            self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  = hint: {hint}")?;
        }
        Ok(())
    }
}

/// The closest of `candidates` to `word` when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_a_compiler() {
        let d = Diagnostic::new(
            Code::UnknownState,
            "procedures/xay-dung.yaml",
            Pos { line: 14, col: 9 },
            "unknown state 'aproved'",
        )
        .with_hint("did you mean 'approved'?");
        assert_eq!(
            d.to_string(),
            "procedures/xay-dung.yaml:14:9: error[E011]: unknown state 'aproved'\n  = hint: did you mean 'approved'?"
        );
    }

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert_eq!(Code::parse(c.as_str()), Some(*c));
        }
    }

    #[test]
    fn suggests_near_names_only() {
        assert_eq!(
            did_you_mean("aproved", ["approved", "refused"]),
            Some("approved")
        );
        assert_eq!(did_you_mean("xyz", ["approved", "refused"]), None);
    }
}
