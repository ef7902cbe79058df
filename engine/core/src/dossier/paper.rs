//! A dossier's papers: the scans handed in at the desk, the files a portal uploads, the
//! replies of other agencies and the results issued. Each is a file the store keeps once
//! under its SHA-256 (`motcua_store::files`); the dossier records what it is and who brought
//! it, and the audit entry of its attachment names the digest, so the chain proves which
//! papers were before the officer who decided.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One version of one paper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paper {
    /// The checklist item it answers or the result kind it is (`giay-to-dat`, `giay-phep`).
    pub kind: String,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    /// The file name as brought, made safe (no folders, no control characters).
    pub name: String,
    /// The media type sniffed from the bytes (`application/pdf`, `image/jpeg`, …).
    pub media_type: String,
    pub size: u64,
    pub source: Source,
    /// Who attached it (an officer, the applicant, or a portal for them).
    pub by: String,
    pub at: Timestamp,
    /// 1 for the first file of its kind, then 2, 3, …: earlier versions are kept.
    pub version: u32,
    /// The earlier dossier of the same applicant this file was reused from (the citizen's
    /// store of papers): a reference to the same bytes, nothing uploaded again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// Where a paper came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Handed in on paper at the desk and scanned there.
    Desk,
    /// Uploaded by the applicant or a portal for them.
    Applicant,
    /// Attached by the officers of a step: a verification reply, a draft, a result.
    Officer,
}

/// A file as the store has it, with what the request says of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
    pub name: String,
}

/// A paper handed in with a submission: a file the store already keeps (scanned at the
/// desk or uploaded by a portal beforehand), or one reused from an earlier dossier of the
/// same applicant (`from`). The engine takes its size and media type from the store, not
/// from the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Brought {
    /// The checklist item it answers.
    pub kind: String,
    pub file: File,
    /// The earlier dossier of the same applicant that holds the same file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// The media types a paper may be: scans and photographs of A4 pages.
pub const ACCEPTED: &[&str] = &["application/pdf", "image/jpeg", "image/png", "image/tiff"];

/// The media type of a file from its first bytes, when it is one of [`ACCEPTED`]. Whatever a
/// client claims, HTML, SVG, scripts and executables are none of them.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        Some("image/tiff")
    } else {
        None
    }
}

/// A file name made safe to store and to send back in `Content-Disposition`: the last path
/// part, control characters, quotes and separators dropped, at most 120 characters, and
/// never empty.
pub fn safe_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';' | '\\' | '/'))
        .take(120)
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').to_string();
    if trimmed.is_empty() {
        "tep-dinh-kem".into()
    } else {
        trimmed
    }
}

/// The current version of each kind (the last attached), in the order kinds were first
/// attached.
pub fn current(papers: &[Paper]) -> Vec<&Paper> {
    let mut out: Vec<&Paper> = vec![];
    for p in papers {
        match out.iter_mut().find(|q| q.kind == p.kind) {
            Some(slot) => *slot = p,
            None => out.push(p),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_say_what_a_file_is_whatever_its_name_claims() {
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n"), Some("image/png"));
        assert_eq!(sniff(b"II*\0"), Some("image/tiff"));
        assert_eq!(sniff(b"<svg xmlns="), None);
        assert_eq!(sniff(b"<!DOCTYPE html>"), None);
        assert_eq!(sniff(b"MZ\x90\0"), None);
    }

    #[test]
    fn a_name_cannot_climb_folders_or_break_a_header() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\scan\\giấy tờ đất.pdf"), "giấy tờ đất.pdf");
        assert_eq!(safe_name("a\"; filename=x.html"), "a filename=x.html");
        assert_eq!(safe_name("..."), "tep-dinh-kem");
    }
}
