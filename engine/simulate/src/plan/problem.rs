//! What is wrong with a scenario line, typed: `Display` is the English for the CLI and an
//! API problem's `cause`; `motcua::messages::simulate` words each for people.

use crate::span::Span;

/// Why one field of a scenario does not fit.
/// Exhaustive on purpose: the message catalogue words every variant, so a new one is a
/// compile error there, not a vague sentence.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("{0} is not a probability between 0 and 1")]
    NotProbability(f64),
    #[error("the shares add up to {0}, not 1")]
    SharesSum(f64),
    #[error("a {distribution} distribution needs '{field}'")]
    Needs {
        distribution: &'static str,
        field: &'static str,
    },
    #[error("a {distribution} distribution takes no '{field}'")]
    TakesNo {
        distribution: &'static str,
        field: &'static str,
    },
    #[error(
        "'{0}' must be working time ('working hours' or 'working days'): it is an officer's time"
    )]
    NotWorkingTime(Span),
    #[error(
        "'{0}' must be elapsed time ('hours', 'days'): the applicant does not keep office hours"
    )]
    NotElapsedTime(Span),
    #[error("'{0}' must be elapsed time ('days', 'hours'), not working time")]
    SpanNotElapsed(Span),
    #[error("the mean must be above zero")]
    MeanNotPositive,
    #[error("a lognormal needs 0 < median < p90")]
    LognormalOrder,
    #[error("an empirical distribution needs 'samples' (hours)")]
    NoSamples,
    #[error("samples are hours: finite, not negative, at most ten years")]
    BadSamples,
    #[error("a multiplier is between 0 and 100")]
    Multiplier,
    #[error("the span must be longer than the warm-up")]
    NotLongerThanWarmup,
    #[error("between 1 and {0}")]
    Replications(u32),
    #[error("the simulated span leaves the calendar's range")]
    OutOfRange,
    #[error("no procedure '{0}' in the catalogue")]
    UnknownProcedure(String),
    #[error("at least one procedure's arrivals")]
    NoArrivals,
    #[error("give exactly one of 'per_working_day' and 'per_hour'")]
    OneRate,
    #[error("the rate must be above zero (and sensible)")]
    Rate,
    #[error("a weekday is one of mon, tue, wed, thu, fri, sat, sun")]
    Weekday,
    #[error("an hour is 0 to 23")]
    Hour,
    #[error("the profile leaves no hour open")]
    ProfileClosed,
    #[error("the busiest hour would see {per_hour} arrivals, more than {max}")]
    TooBusy { per_hour: f64, max: f64 },
    #[error("a channel is desk, online or post")]
    Channel,
    #[error(
        "procedure '{0}' has no form example: give the form the simulated dossiers carry as 'data'"
    )]
    NoExample(String),
    #[error("the form is not valid for '{procedure}': {errors}")]
    InvalidForm { procedure: String, errors: String },
    #[error("no procedure has a role '{0}'")]
    UnknownRole(String),
    #[error("no procedure has a department '{0}'")]
    UnknownDepartment(String),
    #[error("at least one officer (and a sensible number)")]
    Officers,
    #[error("this role and department are listed twice")]
    PoolTwice,
    #[error("state '{state}' has two {line} lines")]
    Twice { state: String, line: &'static str },
    #[error("procedure '{procedure}' has no action '{action}'")]
    UnknownAction { procedure: String, action: String },
    #[error("action '{action}' does not leave state '{state}'")]
    NotFrom { action: String, state: String },
    #[error("state '{0}' does not wait on the applicant")]
    NotApplicant(String),
    #[error("procedure '{procedure}' has no state '{state}'")]
    NoStateIn { procedure: String, state: String },
    #[error("no procedure in the catalogue has a state '{0}'")]
    NoState(String),
}
