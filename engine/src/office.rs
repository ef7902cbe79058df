//! Where the citizen goes: each agency's one-stop office (bộ phận một cửa), its address, opening
//! hours and how to reach it, from the province's offices file. The status page and the
//! notices sent to applicants say it, and the printed forms are dated at its place; the
//! procedures name only the agency's electronic id, so one file serves all of its procedures.

use std::path::Path;

use serde::Deserialize;

/// One agency's office.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Office {
    /// The agency's electronic id, as the procedures' `agency.id` (e.g. `000.17.22.H17`).
    pub agency: String,
    /// The office's name, e.g. "Bộ phận Một cửa phường Hải Châu".
    pub name: String,
    pub address: String,
    /// Opening hours as people read them: "Thứ Hai – Thứ Sáu: 7:30–11:30, 13:30–17:00".
    pub hours: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// The place a printed form is dated at ("Đà Nẵng, ngày …").
    #[serde(default)]
    pub place: Option<String>,
}

/// The offices file (`motcua serve --offices FILE`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offices {
    pub offices: Vec<Office>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// The longest a text in the file may be: it is printed on paper and sent in an SMS.
const MAX_TEXT: usize = 300;

impl Offices {
    /// The office of the agency with this electronic id.
    pub fn of(&self, agency: &str) -> Option<&Office> {
        self.offices.iter().find(|o| o.agency == agency)
    }

    /// Reads and checks an offices file: every agency once, no empty name, address or hours,
    /// no text past 300 characters or with a control character.
    pub fn read(path: &Path) -> Result<Offices, Error> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: shown.clone(),
            source,
        })?;
        Offices::parse(&text).map_err(|message| Error::Invalid {
            path: shown,
            message,
        })
    }

    /// Parses and checks the text of an offices file.
    pub fn parse(text: &str) -> Result<Offices, String> {
        let file: Offices = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        let mut seen = std::collections::HashSet::new();
        for (i, o) in file.offices.iter().enumerate() {
            let at = |m: String| format!("offices[{i}] ({}): {m}", o.agency);
            if !seen.insert(o.agency.as_str()) {
                return Err(at("the agency appears twice".into()));
            }
            for (field, value) in [
                ("agency", Some(&o.agency)),
                ("name", Some(&o.name)),
                ("address", Some(&o.address)),
                ("hours", Some(&o.hours)),
                ("phone", o.phone.as_ref()),
                ("email", o.email.as_ref()),
                ("place", o.place.as_ref()),
            ] {
                let Some(v) = value else { continue };
                if v.trim().is_empty() {
                    return Err(at(format!("{field} is empty")));
                }
                if v.chars().count() > MAX_TEXT {
                    return Err(at(format!("{field} is longer than {MAX_TEXT} characters")));
                }
                if v.chars().any(char::is_control) {
                    return Err(at(format!("{field} holds a control character")));
                }
            }
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agency_is_found_by_its_electronic_id() {
        let o = Offices::parse(
            "offices:\n  - agency: 000.17.22.H17\n    name: Bộ phận Một cửa phường Hải Châu\n    address: 270 Trưng Nữ Vương\n    hours: 7:30–17:00\n",
        )
        .unwrap();
        assert_eq!(o.of("000.17.22.H17").unwrap().address, "270 Trưng Nữ Vương");
        assert!(o.of("000.00.14.H17").is_none());
    }

    #[test]
    fn a_repeated_agency_an_empty_address_and_an_unknown_field_are_refused() {
        let twice = "offices:\n  - {agency: a, name: n, address: x, hours: h}\n  - {agency: a, name: n, address: x, hours: h}\n";
        assert!(Offices::parse(twice).unwrap_err().contains("twice"));
        let empty = "offices:\n  - {agency: a, name: n, address: ' ', hours: h}\n";
        assert!(
            Offices::parse(empty)
                .unwrap_err()
                .contains("address is empty")
        );
        let unknown = "offices:\n  - {agency: a, name: n, address: x, hours: h, fax: 1}\n";
        assert!(Offices::parse(unknown).unwrap_err().contains("fax"));
    }
}
