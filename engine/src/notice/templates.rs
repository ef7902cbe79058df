//! The wording of notices: the catalogue's ([`crate::messages::notices`]), replaced by the
//! province's notices file where it gives a text, for all procedures or for one.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Facts, Kind, Notice};
use crate::dossier::NoticeChannel;

/// The facts a template may name, between braces.
pub const PLACEHOLDERS: [&str; 19] = [
    "ma_ho_so",
    "thu_tuc",
    "nguoi_nop",
    "co_quan",
    "ngay_nop",
    "ngay_hen",
    "ngay_hen_cu",
    "ngay_hen_moi",
    "ngay_su_kien",
    "ly_do",
    "giay_to",
    "giay_to_ngan",
    "noi_nhan",
    "noi_nhan_ngan",
    "dia_chi",
    "gio_lam_viec",
    "dien_thoai",
    "tra_cuu",
    "ket_qua",
];

/// A template as the notices file gives it: any of the three texts; the others stay the
/// catalogue's (or the file's for all procedures, under a procedure's own).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wording {
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub sms: Option<String>,
}

/// The templates part of the notices file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateFile {
    /// By notice kind (`received`, `supplement`, …): for every procedure.
    #[serde(default)]
    pub templates: BTreeMap<String, Wording>,
    /// By procedure id, then notice kind: that procedure's own.
    #[serde(default)]
    pub procedures: BTreeMap<String, BTreeMap<String, Wording>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("{at}: unknown notice '{kind}' (one of {known})")]
    UnknownKind {
        at: String,
        kind: String,
        known: String,
    },
    #[error("{at}: unknown placeholder {{{name}}} (one of {known})")]
    UnknownPlaceholder {
        at: String,
        name: String,
        known: String,
    },
    #[error("{at}: a subject is one line")]
    SubjectLines { at: String },
    #[error("{at}: longer than {max} characters")]
    TooLong { at: String, max: usize },
}

/// Longest template text, in characters.
const MAX_TEMPLATE: usize = 8_000;

/// Every notice's wording, checked.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    file: TemplateFile,
}

impl Templates {
    /// The catalogue's wording, replaced where `file` says so; every kind, placeholder and
    /// bound checked, naming where (`templates.received.sms`).
    pub fn new(file: TemplateFile) -> Result<Templates, Error> {
        let check = |at: String, w: &Wording| -> Result<(), Error> {
            for (part, text) in [
                ("subject", &w.subject),
                ("email", &w.email),
                ("sms", &w.sms),
            ] {
                let Some(text) = text else { continue };
                let at = format!("{at}.{part}");
                if text.chars().count() > MAX_TEMPLATE {
                    return Err(Error::TooLong {
                        at,
                        max: MAX_TEMPLATE,
                    });
                }
                if part == "subject" && text.contains(['\n', '\r']) {
                    return Err(Error::SubjectLines { at });
                }
                for name in names(text) {
                    if !PLACEHOLDERS.contains(&name) {
                        return Err(Error::UnknownPlaceholder {
                            at,
                            name: name.to_string(),
                            known: PLACEHOLDERS.join(", "),
                        });
                    }
                }
            }
            Ok(())
        };
        let kind = |at: &str, k: &str| -> Result<(), Error> {
            match Kind::parse(k) {
                Some(_) => Ok(()),
                None => Err(Error::UnknownKind {
                    at: at.to_string(),
                    kind: k.to_string(),
                    known: Kind::ALL.map(Kind::as_str).join(", "),
                }),
            }
        };
        for (k, w) in &file.templates {
            kind("templates", k)?;
            check(format!("templates.{k}"), w)?;
        }
        for (p, ws) in &file.procedures {
            for (k, w) in ws {
                kind(&format!("procedures.{p}"), k)?;
                check(format!("procedures.{p}.{k}"), w)?;
            }
        }
        Ok(Templates { file })
    }

    /// The notice of `facts` for `channel`, to `to`.
    pub fn render(&self, seq: u64, facts: &Facts, channel: NoticeChannel, to: &str) -> Notice {
        let kind = facts.kind.as_str();
        let catalogue = crate::messages::notices::default(facts.kind);
        let own = self
            .file
            .procedures
            .get(&facts.procedure_id)
            .and_then(|ws| ws.get(kind));
        let all = self.file.templates.get(kind);
        let pick = |f: fn(&Wording) -> &Option<String>, fallback: &str| -> String {
            own.and_then(|w| f(w).clone())
                .or_else(|| all.and_then(|w| f(w).clone()))
                .unwrap_or_else(|| fallback.to_string())
        };
        let (subject, text) = match channel {
            NoticeChannel::Email => (
                // One line whatever the facts hold (a reason typed over several lines).
                fill(&pick(|w| &w.subject, &catalogue.subject), facts)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
                fill(&pick(|w| &w.email, &catalogue.email), facts),
            ),
            NoticeChannel::Sms => (
                String::new(),
                fill(&pick(|w| &w.sms, &catalogue.sms), facts),
            ),
        };
        Notice {
            seq,
            kind: kind.to_string(),
            dossier: facts.values.get("ma_ho_so").cloned().unwrap_or_default(),
            channel,
            to: to.to_string(),
            subject,
            text,
        }
    }
}

/// The placeholder names in a text: `{name}` with a lower-case ASCII name.
fn names(text: &str) -> impl Iterator<Item = &str> {
    text.split('{').skip(1).filter_map(|rest| {
        let (name, _) = rest.split_once('}')?;
        (!name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .then_some(name)
    })
}

/// `text` with each known placeholder replaced by its fact.
fn fill(text: &str, facts: &Facts) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.split_once('}') {
            Some((name, tail)) if facts.values.contains_key(name) => {
                out.push_str(&facts.values[name]);
                rest = tail;
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        let mut values = BTreeMap::new();
        for p in PLACEHOLDERS {
            values.insert(p, format!("<{p}>"));
        }
        values.insert("ma_ho_so", "000.17.22.H17-261207-0001".into());
        values.insert("ly_do", "thiếu bản vẽ\nmặt bằng".into());
        Facts {
            kind: Kind::Refused,
            procedure_id: "cap-phep-xay-dung-nha-o".into(),
            values,
        }
    }

    #[test]
    fn a_procedures_own_template_wins_over_the_files_and_the_catalogues() {
        let file: TemplateFile = serde_yaml::from_str(
            "templates:\n  refused: {sms: 'Tỉnh: {ma_ho_so}'}\nprocedures:\n  cap-phep-xay-dung-nha-o:\n    refused: {subject: 'Xây dựng: {ma_ho_so} {ly_do}'}\n",
        )
        .unwrap();
        let t = Templates::new(file).unwrap();
        let email = t.render(7, &facts(), NoticeChannel::Email, "an@example.vn");
        assert_eq!(
            email.subject,
            "Xây dựng: 000.17.22.H17-261207-0001 thiếu bản vẽ mặt bằng"
        );
        assert!(email.text.contains("Lý do: thiếu bản vẽ"), "{}", email.text);
        let sms = t.render(7, &facts(), NoticeChannel::Sms, "0905123456");
        assert_eq!(sms.text, "Tỉnh: 000.17.22.H17-261207-0001");
        assert_eq!(sms.key(), "motcua-sms-7");
    }

    #[test]
    fn an_unknown_placeholder_or_notice_is_named_where_it_is() {
        let file: TemplateFile =
            serde_yaml::from_str("templates:\n  result: {sms: 'Xin chào {ho_ten}'}\n").unwrap();
        assert_eq!(
            Templates::new(file)
                .unwrap_err()
                .to_string()
                .split(" (")
                .next(),
            Some("templates.result.sms: unknown placeholder {ho_ten}")
        );
        let file: TemplateFile =
            serde_yaml::from_str("templates:\n  ketqua: {sms: 'x'}\n").unwrap();
        assert!(
            Templates::new(file)
                .unwrap_err()
                .to_string()
                .starts_with("templates: unknown notice 'ketqua'")
        );
    }

    #[test]
    fn every_catalogue_template_names_only_known_facts() {
        for k in Kind::ALL {
            let w = crate::messages::notices::default(k);
            for text in [&w.subject, &w.email, &w.sms] {
                for n in names(text) {
                    assert!(PLACEHOLDERS.contains(&n), "{k:?}: {{{n}}}");
                }
            }
        }
    }
}
