//! What a procedure says of its papers: how large one file may be, whether office documents
//! are accepted beside scans and photographs, and how long a result it issues stays valid.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The largest file any procedure may accept: a hundred scanned A4 pages at 300 dpi.
pub const MAX_SIZE_MIB: u32 = 50;

/// The papers' rules of one procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaperPolicy {
    /// The largest file, in MiB (1 to 50; 50 by default: a scanned A4 dossier).
    #[serde(default = "max_size")]
    #[schemars(range(min = 1, max = 50))]
    pub max_size_mib: MaxSize,
    /// Accept word-processor and spreadsheet files (DOCX, XLSX, ODT, ODS) beside PDF, JPEG,
    /// PNG and TIFF. Files with macros are refused all the same.
    #[serde(default)]
    pub office: bool,
}

impl Default for PaperPolicy {
    fn default() -> Self {
        PaperPolicy {
            max_size_mib: max_size(),
            office: false,
        }
    }
}

impl PaperPolicy {
    /// The largest file, in bytes.
    pub fn limit_bytes(&self) -> u64 {
        u64::from(self.max_size_mib.0) << 20
    }

    /// Whether a file of `media_type` may be one of this procedure's papers.
    pub fn accepts(&self, media_type: &str) -> bool {
        crate::dossier::paper::ACCEPTED.contains(&media_type)
            || (self.office && crate::dossier::paper::OFFICE.contains(&media_type))
    }

    pub fn is_default(&self) -> bool {
        *self == PaperPolicy::default()
    }
}

fn max_size() -> MaxSize {
    MaxSize(MAX_SIZE_MIB)
}

/// A size limit in MiB, 1 to [`MAX_SIZE_MIB`]; anything else is refused where it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "u32", into = "u32")]
pub struct MaxSize(pub u32);

impl TryFrom<u32> for MaxSize {
    type Error = String;
    fn try_from(v: u32) -> Result<Self, String> {
        if (1..=MAX_SIZE_MIB).contains(&v) {
            Ok(MaxSize(v))
        } else {
            Err(format!("max_size_mib must be 1 to {MAX_SIZE_MIB}, not {v}"))
        }
    }
}

impl From<MaxSize> for u32 {
    fn from(v: MaxSize) -> u32 {
        v.0
    }
}

/// How long a result stays valid from the day it is issued: `5 years`, `12 months`,
/// `90 days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Validity {
    pub count: u16,
    pub unit: ValidityUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidityUnit {
    Days,
    Months,
    Years,
}

impl Validity {
    /// The last day a result issued on `issued` is valid, when the calendar has it.
    pub fn until(&self, issued: jiff::civil::Date) -> Option<jiff::civil::Date> {
        let n = i64::from(self.count);
        let span = match self.unit {
            ValidityUnit::Days => jiff::Span::new().try_days(n).ok()?,
            ValidityUnit::Months => jiff::Span::new().try_months(n).ok()?,
            ValidityUnit::Years => jiff::Span::new().try_years(n).ok()?,
        };
        let end = issued.checked_add(span).ok()?;
        // A month or a year counted from the 31st may end in a shorter month: the term then
        // runs to that month's last day (which the calendar already gave), not the day before.
        if end.day() < issued.day() {
            Some(end)
        } else {
            end.yesterday().ok()
        }
    }
}

impl TryFrom<String> for Validity {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let bad = || format!("'{s}' is not a validity like '5 years', '12 months' or '90 days'");
        let mut words = s.split_whitespace();
        let count: u16 = words.next().and_then(|n| n.parse().ok()).ok_or_else(bad)?;
        let unit = match words.next() {
            Some("day" | "days") => ValidityUnit::Days,
            Some("month" | "months") => ValidityUnit::Months,
            Some("year" | "years") => ValidityUnit::Years,
            _ => return Err(bad()),
        };
        if count == 0 || words.next().is_some() {
            return Err(bad());
        }
        Ok(Validity { count, unit })
    }
}

impl From<Validity> for String {
    fn from(v: Validity) -> String {
        let unit = match v.unit {
            ValidityUnit::Days => "days",
            ValidityUnit::Months => "months",
            ValidityUnit::Years => "years",
        };
        format!("{} {unit}", v.count)
    }
}

impl JsonSchema for Validity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Validity".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": r"^[1-9][0-9]* (day|days|month|months|year|years)$",
            "description": "How long a result stays valid from the day it is issued, e.g. `5 years`."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permit_valid_for_a_year_ends_the_day_before_its_anniversary() {
        let v = Validity::try_from("12 months".to_string()).expect("valid");
        let issued = jiff::civil::date(2026, 12, 7);
        assert_eq!(v.until(issued), Some(jiff::civil::date(2027, 12, 6)));
        let v = Validity::try_from("90 days".to_string()).expect("valid");
        assert_eq!(v.until(issued), Some(jiff::civil::date(2027, 3, 6)));
        let month = Validity::try_from("1 month".to_string()).expect("valid");
        assert_eq!(
            month.until(jiff::civil::date(2027, 1, 31)),
            Some(jiff::civil::date(2027, 2, 28)),
            "from the 31st, to the end of a shorter month"
        );
        assert!(Validity::try_from("forever".to_string()).is_err());
        assert!(Validity::try_from("0 years".to_string()).is_err());
        assert_eq!(String::from(v), "90 days");
    }

    #[test]
    fn a_size_limit_stays_within_what_the_store_takes() {
        assert!(MaxSize::try_from(0).is_err());
        assert!(MaxSize::try_from(51).is_err());
        let p = PaperPolicy::default();
        assert_eq!(p.limit_bytes(), 50 << 20);
        assert!(p.accepts("application/pdf") && !p.accepts(crate::dossier::paper::OFFICE[0]));
    }
}
