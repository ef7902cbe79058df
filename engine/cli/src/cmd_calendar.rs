//! `motcua calendar ...`: an exact contract, scripts depend on its output.
//!
//! - `lunar YYYY-MM-DD` → `YYYY-MM-DD` (lunar), then ` leap` in a leap month.
//! - `holidays --year YYYY [--calendar FILE]` → `YYYY-MM-DD<TAB>name` per day off that is not a
//!   plain weekend, sorted.
//! - `add --from RFC3339 --duration D [--calendar FILE]` → the due instant, RFC 3339 with the
//!   calendar zone's offset (+07:00). A period in calendar days ends at 24:00 of its last day,
//!   printed as 00:00 of the following day.
//! - `elapsed --from RFC3339 --to RFC3339 [--calendar FILE]` → working hours as a decimal with at
//!   most three decimals (0.001 h = 3.6 s, rounded half away from zero), no trailing zeros:
//!   `8`, `12.5`, `0.25`; negative (`-4`) when `--to` is before `--from`.
//! - `schema` → the JSON Schema of calendar files.
//!
//! Without `--calendar` the built-in national calendar (calendars/vn-national.yaml) is used.
//! Bad input is an `Err`, which main.rs turns into exit code 2.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use jiff::Timestamp;
use motcua::calendar::file::{self, CivilDate};
use motcua::calendar::{Calendar, Duration, lunar};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the Vietnamese lunar date of a solar date (YYYY-MM-DD, then " leap" in a leap month).
    Lunar {
        /// A Gregorian date, YYYY-MM-DD (1900–2100).
        date: String,
    },
    /// Print the days off of a year that are not plain weekends: YYYY-MM-DD<TAB>name.
    Holidays {
        #[arg(long)]
        year: i16,
        /// A calendar file (YAML); default: the built-in national calendar.
        #[arg(long)]
        calendar: Option<PathBuf>,
    },
    /// Print the due instant of a period starting at --from (RFC 3339, zone offset).
    Add {
        /// An RFC 3339 instant, e.g. 2026-11-16T09:00:00+07:00.
        #[arg(long)]
        from: String,
        /// "<n> working days", "<n> working hours" or "<n> days" (calendar days).
        #[arg(long)]
        duration: String,
        #[arg(long)]
        calendar: Option<PathBuf>,
    },
    /// Print the working hours between two instants (e.g. 12.5; negative if --to is earlier).
    Elapsed {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        calendar: Option<PathBuf>,
    },
    /// Print the JSON Schema of calendar files.
    Schema,
}

pub fn run(c: Command) -> anyhow::Result<ExitCode> {
    let mut out = String::new();
    match c {
        Command::Lunar { date } => {
            let date: CivilDate = date.parse().map_err(anyhow::Error::msg)?;
            writeln!(out, "{}", lunar::solar_to_lunar(date.0)?)?;
        }
        Command::Holidays { year, calendar } => {
            if !(lunar::FIRST_YEAR..=lunar::LAST_YEAR).contains(&year) {
                bail!("year {year} is outside 1900–2100, the years the calendar covers");
            }
            let cal = load(calendar.as_deref())?;
            for h in cal.holidays(year) {
                writeln!(out, "{}\t{}", h.date, h.name)?;
            }
        }
        Command::Add {
            from,
            duration,
            calendar,
        } => {
            let from = instant("--from", &from)?;
            let d: Duration = duration
                .parse()
                .with_context(|| format!("--duration '{duration}'"))?;
            let cal = load(calendar.as_deref())?;
            writeln!(out, "{}", cal.format(cal.add(from, d)?))?;
        }
        Command::Elapsed { from, to, calendar } => {
            let from = instant("--from", &from)?;
            let to = instant("--to", &to)?;
            let cal = load(calendar.as_deref())?;
            let ms = cal.elapsed(from, to)?.as_millis();
            writeln!(out, "{}", hours(ms))?;
        }
        Command::Schema => {
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&file::json_schema())?
            )?;
        }
    }
    // A reader that stops early (`| head`) is not an error of ours.
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn instant(flag: &str, s: &str) -> anyhow::Result<Timestamp> {
    s.parse::<Timestamp>().with_context(|| {
        format!("{flag} '{s}' is not an RFC 3339 instant like 2026-11-16T09:00:00+07:00")
    })
}

/// The calendar at `path` (its `extends:` resolved relative to each file), or the national one.
pub fn load(path: Option<&Path>) -> anyhow::Result<Calendar> {
    let Some(path) = path else {
        return Ok(Calendar::vietnam_default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read calendar file {}", path.display()))?;
    let mut resolve = |from: &str, name: &str| -> Result<(String, String), String> {
        let p = Path::new(from).parent().unwrap_or(Path::new("")).join(name);
        std::fs::read_to_string(&p)
            .map(|t| (t, p.display().to_string()))
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    Ok(Calendar::from_yaml(
        &text,
        &path.display().to_string(),
        &mut resolve,
    )?)
}

/// Milliseconds as decimal hours: at most three decimals, rounded half away from zero.
fn hours(ms: i128) -> String {
    let thousandths = (ms.abs() + 1_800) / 3_600;
    let sign = if ms < 0 && thousandths != 0 { "-" } else { "" };
    let (int, frac) = (thousandths / 1000, thousandths % 1000);
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        let frac = format!("{frac:03}");
        format!("{sign}{int}.{}", frac.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::hours;

    #[test]
    fn hours_are_printed_exactly() {
        assert_eq!(hours(8 * 3_600_000), "8");
        assert_eq!(hours(45_000_000), "12.5");
        assert_eq!(hours(900_000), "0.25");
        assert_eq!(hours(-4 * 3_600_000), "-4");
        assert_eq!(hours(0), "0");
        assert_eq!(hours(1_000), "0");
        assert_eq!(hours(1_800), "0.001");
    }
}
