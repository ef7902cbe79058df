//! The scenario file (`schemas/scenario.schema.json`): what load a catalogue is put under —
//! arrivals, officers, how long steps take, which way dossiers go — and for how long. Read
//! with unknown fields refused, then checked against the catalogue into a [`Plan`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::span::Span;

/// A simulation scenario, as its YAML file reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "motcua simulation scenario")]
pub struct Scenario {
    /// What people read for the scenario on the screens ("Quý I, ba chuyên viên"); the
    /// procedures' names when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Procedure files, or one folder of them, relative to the scenario file.
    pub procedures: Procedures,
    /// When the simulated clock starts: an RFC 3339 instant with its offset.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub start: Timestamp,
    /// How long the simulated span runs (elapsed time, e.g. `120 days`).
    pub duration: Span,
    /// The first part of the span, not counted (the offices start empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<Span>,
    /// Independent runs; the figures' confidence intervals are across them.
    #[serde(default = "one")]
    pub replications: u32,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub calendar: CalendarChoice,
    /// Which waiting step an officer takes next.
    #[serde(default)]
    pub discipline: Discipline,
    pub arrivals: Vec<Arrival>,
    /// Officers per role and department; a pair not listed has as many as it needs (no queue).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub staff: Vec<Staff>,
    /// The officer time a step takes; a state not listed takes none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service: Vec<Service>,
    /// Which action a state's dossiers take, and, for the applicant's states, how long the
    /// applicant takes. A state not listed takes the action on its shortest way to a result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branching: Vec<Branching>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Procedures {
    Folder(String),
    Files(Vec<String>),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CalendarChoice {
    /// The national working-day calendar: office hours, weekends, solar and lunar holidays.
    #[default]
    National,
    /// Every hour counts (for checking against queueing theory).
    Continuous,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Discipline {
    /// First come, first served.
    #[default]
    Fifo,
    /// The step whose budget runs out first (then first come).
    EarliestDue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Arrival {
    pub procedure: String,
    /// Poisson arrivals during office hours, this many per working day on average.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_working_day: Option<f64>,
    /// Poisson arrivals at any hour (a portal open all night), this many per hour on average.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_hour: Option<f64>,
    /// Multipliers of the rate by weekday and by local hour (1 where not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// The share of each channel (`desk`, `online`, `post`); all at the desk when absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub channels: BTreeMap<String, f64>,
    /// The form every simulated dossier carries; the procedure's first example when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// By weekday: `mon` … `sun`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub weekdays: BTreeMap<String, f64>,
    /// By local hour, 0 to 23.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hours: BTreeMap<u8, f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Staff {
    pub role: String,
    pub department: String,
    pub officers: u32,
}

/// A distribution of time, by name and its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DistributionName {
    /// `mean`.
    Exponential,
    /// `median` and `p90`.
    Lognormal,
    /// `value`.
    Fixed,
    /// `samples`: observed times in hours (working hours for officers' steps), drawn with
    /// linear interpolation between neighbours.
    Empirical,
}

/// How long something takes: a distribution and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Time {
    pub distribution: DistributionName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<Vec<f64>>,
}

/// The officer time one step of a state takes: `state` (and `procedure`) with a [`Time`]'s
/// fields beside them, as authors write it (`- state: x, distribution: fixed, value: …`).
/// The fields are [`Time`]'s written out again rather than `#[serde(flatten)]`: serde
/// cannot refuse unknown fields through a flattened struct, and a misspelt `meen` must not
/// be ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub state: String,
    /// The procedure the state belongs to; every procedure with that state when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    pub distribution: DistributionName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<Vec<f64>>,
}

impl Service {
    pub fn time(&self) -> Time {
        Time {
            distribution: self.distribution,
            mean: self.mean,
            median: self.median,
            p90: self.p90,
            value: self.value,
            samples: self.samples.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Branching {
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    /// The probability of each action out of the state (they sum to 1).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub actions: BTreeMap<String, f64>,
    /// For a state waiting on the applicant: how long they take to act (elapsed time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Time>,
}

/// Why a scenario could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{file}: {source}")]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}:{line}:{col}: {message}")]
    Yaml {
        file: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
}

/// The largest scenario file read: the bounded parser's limit (a calibrated scenario of a
/// whole catalogue, 101 samples a state, stays far below).
pub const MAX_BYTES: u64 = motcua_core::procedure::source_map::limits::FILE_BYTES as u64;

impl Scenario {
    /// Reads a scenario file; unknown fields and wrong types are refused with their position.
    pub fn read(path: &Path) -> Result<Scenario, ReadError> {
        let io = |source| ReadError::Io {
            file: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.len() > MAX_BYTES {
            return Err(io(std::io::Error::other(format!(
                "a scenario file is at most {MAX_BYTES} bytes"
            ))));
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        Scenario::parse(&text, path)
    }

    /// Parses scenario text; `file` names it in errors. The YAML goes through the procedure
    /// loader's bounded parser (at most 1 MiB, 64 levels, 100,000 nodes with aliases
    /// expanded), so a few anchors and aliases cannot expand into all of memory; then serde
    /// types it, and the path of a wrong field is turned back into its line and column.
    pub fn parse(text: &str, file: &Path) -> Result<Scenario, ReadError> {
        use motcua_core::procedure::source_map;
        let at = |pos: motcua_core::procedure::diagnostic::Pos, message: String| ReadError::Yaml {
            file: file.to_path_buf(),
            line: pos.line as usize,
            col: pos.col as usize,
            message,
        };
        let parsed = source_map::parse(text).map_err(|e| at(e.pos, e.message))?;
        if let Some((pointer, pos)) = parsed.duplicate_keys.first() {
            let key = pointer.rsplit('/').next().unwrap_or_default();
            return Err(at(
                *pos,
                format!("key '{key}' is written twice in this mapping"),
            ));
        }
        let value = parsed.value.unwrap_or(serde_json::Value::Null);
        serde_path_to_error::deserialize(&value).map_err(|e| {
            let mut pointer = String::new();
            for segment in e.path().iter() {
                use serde_path_to_error::Segment;
                match segment {
                    Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                    Segment::Map { key } => {
                        pointer.push('/');
                        pointer.push_str(&source_map::escape(key));
                    }
                    Segment::Enum { .. } | Segment::Unknown => {}
                }
            }
            let path = e.path().to_string();
            let message = if path == "." {
                e.inner().to_string()
            } else {
                format!("{path}: {}", e.inner())
            };
            at(parsed.source_map.value(&pointer), message)
        })
    }

    /// The scenario as YAML text (what calibration writes).
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_default()
    }
}

/// The JSON Schema of scenario files, as `schemas/scenario.schema.json` holds it.
pub fn json_schema_text() -> String {
    let schema = schemars::schema_for!(Scenario);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
