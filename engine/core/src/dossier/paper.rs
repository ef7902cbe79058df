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
    /// Pages, where the file says (a PDF's page objects; one for a photograph).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
    /// For a result: the last day it is valid, from the validity the procedure declares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<jiff::civil::Date>,
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
    /// Pages, where the bytes say ([`Inspector`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
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

/// Word-processor and spreadsheet files, accepted only where a procedure allows them.
pub const OFFICE: &[&str] = &[
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
];

/// What a file is, read from all of its bytes as they stream past (nothing is held but a
/// short window): its media type, one of [`ACCEPTED`] or [`OFFICE`], and its pages where
/// known. The verdict is the bytes', whatever the pieces they arrive in. A PDF with scripts,
/// launch actions or embedded files is refused; an office file is a ZIP archive whose every
/// entry name is read (the local headers and the central directory Office itself reads), so
/// one carrying macros, ActiveX or OLE objects or programs is none of the accepted types,
/// whatever it is called.
#[derive(Debug, Default)]
pub struct Inspector {
    head: Vec<u8>,
    window: Vec<u8>,
    /// Where in `window` a ZIP header starts whose name has not all arrived: kept until it has.
    pending: Option<usize>,
    pages: u32,
    names: Vec<String>,
    active: bool,
}

/// How far back a pattern may straddle two chunks.
const CARRY: usize = 320;
const HEAD_KEEP: usize = 128;

/// The inspection's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub media_type: &'static str,
    pub pages: Option<u32>,
}

/// A ZIP header: its signature, where its name's length sits, where its name starts.
const ZIP_HEADERS: [(&[u8], usize, usize); 2] = [(b"PK\x03\x04", 26, 30), (b"PK\x01\x02", 28, 46)];

/// PDF actions that run or carry something: no scan of a paper has them.
const PDF_ACTIVE: [&[u8]; 3] = [b"/JavaScript", b"/Launch", b"/EmbeddedFile"];

/// An entry name that is code, or a container of it, in an office file.
fn active_entry(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    const EXTENSIONS: [&str; 16] = [
        ".exe", ".dll", ".js", ".vbs", ".vbe", ".wsf", ".hta", ".bat", ".cmd", ".ps1", ".lnk",
        ".jar", ".scr", ".msi", ".com", ".cpl",
    ];
    // A VBA project is a binary part whatever its relationships name it; printer settings are
    // the one binary part plain documents carry.
    (lower.ends_with(".bin") && !lower.contains("printersettings/"))
        || lower.contains("vbaproject")
        || lower.contains("vbadata")
        || lower.contains("macrosheets/")
        || lower.contains("activex/")
        || lower.contains("embeddings/")
        || lower.contains("oleobject")
        || lower.starts_with("basic/")
        || lower.starts_with("scripts/")
        || EXTENSIONS.iter().any(|e| lower.ends_with(e))
}

impl Inspector {
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.head.len() < HEAD_KEEP {
            let take = (HEAD_KEEP - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        let carried = self.window.len();
        self.window.extend_from_slice(chunk);
        self.scan(carried);
        let mut keep_from = self.window.len().saturating_sub(CARRY);
        if let Some(p) = self.pending {
            keep_from = keep_from.min(p);
        }
        if keep_from > 0 {
            self.window.drain(..keep_from);
            self.pending = self.pending.map(|p| p - keep_from);
        }
    }

    /// Looks for page objects, active PDF keys and ZIP entries that end past `carried`
    /// (those ending inside the carried window were seen with the chunk before).
    fn scan(&mut self, carried: usize) {
        let w = &self.window;
        let pdf = self.head.starts_with(b"%PDF-");
        let zip = self.head.starts_with(b"PK\x03\x04");
        if pdf {
            for pat in [&b"/Type/Page"[..], &b"/Type /Page"[..]] {
                let mut at = 0;
                while let Some(i) = find(&w[at..], pat) {
                    let end = at + i + pat.len();
                    // "/Pages" is the tree, not a page: the next byte tells. It is counted by
                    // the scan that first sees that byte.
                    if end < w.len() && end >= carried && w[end] != b's' {
                        self.pages = self.pages.saturating_add(1);
                    }
                    at = end;
                }
            }
            if PDF_ACTIVE.iter().any(|pat| find(w, pat).is_some()) {
                self.active = true;
            }
        }
        if zip {
            self.pending = None;
            for (signature, len_at, name_at) in ZIP_HEADERS {
                let mut at = 0;
                while let Some(i) = find(&w[at..], signature) {
                    let start = at + i;
                    at = start + 4;
                    let Some(len) = w.get(start + len_at..start + len_at + 2) else {
                        self.pending = Some(self.pending.map_or(start, |p| p.min(start)));
                        break;
                    };
                    let name_end =
                        start + name_at + usize::from(u16::from_le_bytes([len[0], len[1]]));
                    if name_end > w.len() {
                        // The name arrives with a later chunk: keep the header till then.
                        self.pending = Some(self.pending.map_or(start, |p| p.min(start)));
                        continue;
                    }
                    if name_end <= carried {
                        continue;
                    }
                    let name = String::from_utf8_lossy(&w[start + name_at..name_end]).into_owned();
                    if active_entry(&name) {
                        self.active = true;
                    }
                    if self.names.len() < 64 {
                        self.names.push(name);
                    }
                }
            }
        }
    }

    /// What the file is, or `None` when it is none of the accepted kinds.
    pub fn finish(self) -> Option<Inspected> {
        if self.active {
            return None;
        }
        if let Some(media_type) = sniff(&self.head) {
            let pages = match media_type {
                "application/pdf" => (self.pages > 0).then_some(self.pages),
                "image/jpeg" | "image/png" => Some(1),
                _ => None,
            };
            return Some(Inspected { media_type, pages });
        }
        if !self.head.starts_with(b"PK\x03\x04") {
            return None;
        }
        let office = if let Some(odf) = odf_type(&self.head) {
            Some(odf)
        } else if self.names.iter().any(|n| n == "[Content_Types].xml") {
            if self.names.iter().any(|n| n.starts_with("word/")) {
                Some(OFFICE[0])
            } else if self.names.iter().any(|n| n.starts_with("xl/")) {
                Some(OFFICE[1])
            } else {
                None
            }
        } else {
            None
        };
        office.map(|media_type| Inspected {
            media_type,
            pages: None,
        })
    }
}

/// An OpenDocument file names its type in its first entry, `mimetype`, stored uncompressed.
fn odf_type(head: &[u8]) -> Option<&'static str> {
    if head.get(30..38) != Some(&b"mimetype"[..]) {
        return None;
    }
    let extra = usize::from(u16::from_le_bytes([*head.get(28)?, *head.get(29)?]));
    let body = head.get(38 + extra..)?;
    if body.starts_with(b"application/vnd.oasis.opendocument.text") {
        Some(OFFICE[2])
    } else if body.starts_with(b"application/vnd.oasis.opendocument.spreadsheet") {
        Some(OFFICE[3])
    } else {
        None
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

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

/// The name a paper is downloaded under: its own, with an extension that says what the bytes
/// are (`đơn.docm` of a DOCX is `đơn.docm.docx`), so no program opens it as something else.
pub fn download_name(name: &str, media_type: &str) -> String {
    let extensions: &[&str] = match media_type {
        "application/pdf" => &[".pdf"],
        "image/jpeg" => &[".jpg", ".jpeg"],
        "image/png" => &[".png"],
        "image/tiff" => &[".tif", ".tiff"],
        t if t == OFFICE[0] => &[".docx"],
        t if t == OFFICE[1] => &[".xlsx"],
        t if t == OFFICE[2] => &[".odt"],
        t if t == OFFICE[3] => &[".ods"],
        _ => &[".bin"],
    };
    let lower = name.to_lowercase();
    if extensions.iter().any(|e| lower.ends_with(e)) {
        name.to_string()
    } else {
        format!("{name}{}", extensions[0])
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

    #[test]
    fn a_download_is_named_for_what_its_bytes_are() {
        assert_eq!(download_name("đơn.docm", OFFICE[0]), "đơn.docm.docx");
        assert_eq!(download_name("Scan.PDF", "application/pdf"), "Scan.PDF");
        assert_eq!(download_name("anh", "image/jpeg"), "anh.jpg");
        assert_eq!(download_name("x.html", "application/pdf"), "x.html.pdf");
    }
}

#[cfg(test)]
mod inspect {
    use super::*;

    fn inspect(bytes: &[u8], chunk: usize) -> Option<Inspected> {
        let mut i = Inspector::default();
        for c in bytes.chunks(chunk) {
            i.feed(c);
        }
        i.finish()
    }

    /// A ZIP archive's local headers for `names` (stored, empty bodies except `mimetype`).
    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = vec![];
        for (name, body) in entries {
            out.extend_from_slice(b"PK\x03\x04");
            out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(body);
            out.extend(std::iter::repeat_n(0x5a, 700));
        }
        out
    }

    #[test]
    fn a_pdfs_pages_are_counted_whatever_the_chunks() {
        let mut pdf = b"%PDF-1.7\n1 0 obj<</Type/Pages/Count 3>>endobj\n".to_vec();
        for n in 0..3 {
            pdf.extend_from_slice(
                format!("{} 0 obj<</Type /Page/Parent 1 0 R>>endobj\n", n + 2).as_bytes(),
            );
        }
        for chunk in [1, 3, 7, 11, 64, 4096] {
            assert_eq!(
                inspect(&pdf, chunk),
                Some(Inspected {
                    media_type: "application/pdf",
                    pages: Some(3)
                }),
                "chunks of {chunk}"
            );
        }
    }

    #[test]
    fn office_files_are_told_apart_and_macros_refused() {
        let docx = zip(&[
            ("[Content_Types].xml", b""),
            ("_rels/.rels", b""),
            ("word/document.xml", b""),
        ]);
        let xlsx = zip(&[("[Content_Types].xml", b""), ("xl/workbook.xml", b"")]);
        let odt = zip(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", b""),
        ]);
        let docm = zip(&[
            ("[Content_Types].xml", b""),
            ("word/document.xml", b""),
            ("word/vbaProject.bin", b""),
        ]);
        let jar = zip(&[("META-INF/MANIFEST.MF", b""), ("Main.class", b"")]);
        for chunk in [5, 300, 1 << 16] {
            assert_eq!(inspect(&docx, chunk).map(|i| i.media_type), Some(OFFICE[0]));
            assert_eq!(inspect(&xlsx, chunk).map(|i| i.media_type), Some(OFFICE[1]));
            assert_eq!(inspect(&odt, chunk).map(|i| i.media_type), Some(OFFICE[2]));
            assert_eq!(inspect(&docm, chunk), None, "macros");
            assert_eq!(inspect(&jar, chunk), None, "not an office file");
        }
        // A macro part under another name, seen in the central directory only.
        let mut hidden = zip(&[("[Content_Types].xml", b""), ("word/document.xml", b"")]);
        let name = b"word/a.bin";
        hidden.extend_from_slice(b"PK\x01\x02");
        hidden.extend_from_slice(&[0; 24]);
        hidden.extend_from_slice(&(name.len() as u16).to_le_bytes());
        hidden.extend_from_slice(&[0; 16]);
        hidden.extend_from_slice(name);
        let mut ole = zip(&[("[Content_Types].xml", b""), ("word/document.xml", b"")]);
        ole.extend_from_slice(b"PK\x01\x02");
        ole.extend_from_slice(&[0; 24]);
        let ole_name = b"word/embeddings/oleObject1.bin";
        ole.extend_from_slice(&(ole_name.len() as u16).to_le_bytes());
        ole.extend_from_slice(&[0; 16]);
        ole.extend_from_slice(ole_name);
        // An entry name of 1,000 bytes, wherever the chunks cut it.
        let long = format!("word/{}.exe", "x".repeat(1000));
        let long_exe = zip(&[
            ("[Content_Types].xml", b""),
            ("word/document.xml", b""),
            (long.as_str(), b""),
        ]);
        for chunk in [7, 333, 4096] {
            assert_eq!(
                inspect(&hidden, chunk),
                None,
                "a binary part, in chunks of {chunk}"
            );
            assert_eq!(
                inspect(&ole, chunk),
                None,
                "an OLE object, in chunks of {chunk}"
            );
            assert_eq!(
                inspect(&long_exe, chunk),
                None,
                "a long program name, in chunks of {chunk}"
            );
        }
        let script = b"%PDF-1.7\n1 0 obj<</OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n";
        for chunk in [3, 64] {
            assert_eq!(inspect(script, chunk), None, "a PDF with a script");
        }
        assert_eq!(inspect(b"<svg onload=alert(1)>", 64), None);
        assert_eq!(
            inspect(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2], 2),
            Some(Inspected {
                media_type: "image/jpeg",
                pages: Some(1)
            })
        );
    }
}
