//! A dossier's papers on the engine: a file is kept by the store first (streamed, hashed,
//! durable), then attached by a transition that names its digest ([`transition::attach`]),
//! so a committed entry never names a file the store does not hold. A file kept but never
//! attached (refused, or the client gone) is garbage for the collector, never an error.

use std::io::Read;

use super::{Engine, Result};
use crate::dossier::paper::{self, Paper};
use crate::dossier::transition::{self, AttachRequest, Submission};
use crate::dossier::{Actor, Dossier};
use crate::error::Error;
use crate::store::files::Stored;

/// A paper the applicant already has in an earlier dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub dossier: String,
    pub procedure: String,
    pub received_at: jiff::Timestamp,
    pub paper: Paper,
}

/// A file the store now keeps, and what its bytes say it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub stored: Stored,
    pub media_type: &'static str,
    /// Pages, where the bytes say.
    pub pages: Option<u32>,
}

impl Kept {
    /// The file as an attach request names it.
    pub fn file(&self, name: String) -> paper::File {
        paper::File {
            sha256: self.stored.sha256.clone(),
            size: self.stored.size,
            media_type: self.media_type.to_string(),
            name,
            pages: self.pages,
        }
    }
}

/// Feeds every byte read through an [`paper::Inspector`] on its way to the store.
struct Inspecting<'a> {
    from: &'a mut dyn Read,
    inspector: paper::Inspector,
}

impl Read for Inspecting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.from.read(buf)?;
        self.inspector.feed(&buf[..n]);
        Ok(n)
    }
}

impl Engine {
    /// The store's files (checking them, collecting the unreferenced).
    pub fn files(&self) -> &dyn crate::store::files::Files {
        self.store.files()
    }

    /// Keeps the bytes of `from` (at most `limit`) in the store and reads what they are as
    /// they pass ([`paper::Inspector`]). A file that is neither a scan or photograph of pages
    /// ([`paper::ACCEPTED`]) nor an office file without macros ([`paper::OFFICE`]) is refused
    /// whatever its name or declared type says, and not kept; whether a procedure takes
    /// office files is the attach's decision.
    pub fn keep_file(&self, from: &mut dyn Read, limit: u64) -> Result<Kept> {
        let files = self.store.files();
        let mut reading = Inspecting {
            from,
            inspector: paper::Inspector::default(),
        };
        let stored = files.put(&mut reading, limit).map_err(Error::File)?;
        match reading.inspector.finish() {
            Some(seen) => Ok(Kept {
                stored,
                media_type: seen.media_type,
                pages: seen.pages,
            }),
            None => {
                // Removed only if this upload made it: a copy kept before may be named by a
                // committed entry (accepted by an earlier inspector). What stays unnamed is
                // collected after the grace period.
                if stored.fresh {
                    let _ = files.remove(&stored.sha256);
                }
                Err(Error::UnsupportedFile)
            }
        }
    }

    /// Whether `actor` may attach a paper of `kind` to `d` now (asked before keeping its
    /// bytes, so a refused upload stores nothing).
    pub fn may_attach(&self, d: &Dossier, actor: &Actor, kind: &str) -> Result<()> {
        let p = self.pinned(d)?;
        transition::may_attach(&p, d, actor, kind)?;
        Ok(())
    }

    /// Attaches a kept file to a dossier as a paper of `req.kind`; the dossier as stored
    /// after. Who may attach what is the pure step's decision.
    pub fn attach(&self, req: AttachRequest) -> Result<Dossier> {
        req.check().map_err(transition::Error::from)?;
        if req.actor.id == Actor::SYSTEM_ID {
            return Err(Error::ReservedActor(req.actor.id.clone()));
        }
        let present = self
            .store
            .files()
            .open(&req.file.sha256)
            .map_err(Error::File)?
            .is_some();
        if !present {
            return Err(Error::UnknownFile(req.file.sha256.clone()));
        }
        self.decide_and_commit(&req.dossier, |p, d, env| {
            Ok(transition::attach(p, d, &req, env)?)
        })
    }

    /// Fills in what the store knows of each paper a submission brings: its size and media
    /// type come from the bytes kept, never from the request. A paper reused from an earlier
    /// dossier must be one of that dossier's, and the dossier the same applicant's; otherwise,
    /// as for a digest the store does not keep, the paper is unknown (saying which would tell
    /// a stranger that a file exists).
    pub(super) fn take_brought(&self, sub: &mut Submission) -> Result<()> {
        let files = self.store.files();
        // Each file is read once however often it is named.
        let mut seen: std::collections::BTreeMap<String, (u64, &'static str, Option<u32>)> =
            Default::default();
        for b in sub.papers.iter_mut() {
            let unknown = || Error::UnknownFile(b.file.sha256.clone());
            if let Some(from) = &b.from {
                let earlier = self.store.dossier(from)?.ok_or_else(unknown)?;
                if earlier.applicant.id != sub.applicant.id {
                    return Err(unknown());
                }
                let held = earlier
                    .papers
                    .iter()
                    .rev()
                    .find(|p| p.sha256 == b.file.sha256)
                    .ok_or_else(unknown)?;
                if files.size(&b.file.sha256).map_err(Error::File)?.is_none() {
                    return Err(unknown());
                }
                // What the earlier dossier recorded of the same bytes.
                b.file.size = held.size;
                b.file.media_type = held.media_type.clone();
                b.file.pages = held.pages;
                if b.file.name.trim().is_empty() {
                    b.file.name = held.name.clone();
                }
                b.file.name = paper::safe_name(&b.file.name);
                continue;
            }
            let (size, media_type, pages) = match seen.get(&b.file.sha256) {
                Some(known) => *known,
                None => {
                    let size = files
                        .size(&b.file.sha256)
                        .map_err(Error::File)?
                        .ok_or_else(unknown)?;
                    // Read through once more: the type and pages are the bytes', never the
                    // request's.
                    let mut bytes = files
                        .open(&b.file.sha256)
                        .map_err(Error::File)?
                        .ok_or_else(unknown)?;
                    let mut inspector = paper::Inspector::default();
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match bytes.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => inspector.feed(&buf[..n]),
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(e) => {
                                return Err(Error::File(crate::store::files::Error::Upload(e)));
                            }
                        }
                    }
                    let found = inspector.finish().ok_or(Error::UnsupportedFile)?;
                    let known = (size, found.media_type, found.pages);
                    seen.insert(b.file.sha256.clone(), known);
                    known
                }
            };
            b.file.size = size;
            b.file.media_type = media_type.to_string();
            b.file.pages = pages;
            b.file.name = paper::safe_name(&b.file.name);
        }
        Ok(())
    }

    /// The citizen's store of papers: the current papers of the applicant's dossiers (their
    /// results and what the desk received), newest dossier first, at most `limit`, for a new
    /// dossier to reuse by reference instead of asking for them again.
    pub fn applicant_papers(&self, applicant: &str, limit: usize) -> Result<Vec<Held>> {
        let query = crate::store::Query::Applicant {
            applicant: applicant.to_string(),
        };
        let mut held = vec![];
        let mut after: Option<String> = None;
        loop {
            let page = self.list(&query, after.as_deref(), 200)?;
            for d in &page.dossiers {
                for p in paper::current(&d.papers) {
                    held.push(Held {
                        dossier: d.code.clone(),
                        procedure: d.procedure.clone(),
                        received_at: d.clock.received_at,
                        paper: p.clone(),
                    });
                }
            }
            match page.next {
                Some(next) if held.len() < limit => after = Some(next),
                _ => break,
            }
        }
        held.sort_by(|a, b| {
            b.received_at
                .cmp(&a.received_at)
                .then(a.paper.kind.cmp(&b.paper.kind))
        });
        // One offer per file: the same scan reused by later dossiers is one paper.
        let mut seen = std::collections::BTreeSet::new();
        held.retain(|h| seen.insert(h.paper.sha256.clone()));
        held.truncate(limit);
        Ok(held)
    }

    /// The bytes of one of a dossier's papers (any version), with what the dossier records of
    /// it; `None` when the dossier has no paper with that digest. Reading rights are the
    /// caller's to check, as for the dossier itself.
    pub fn paper(
        &self,
        d: &Dossier,
        sha256: &str,
    ) -> Result<Option<(Paper, Box<dyn Read + Send>)>> {
        let Some(p) = d.papers.iter().rev().find(|p| p.sha256 == sha256) else {
            return Ok(None);
        };
        match self.store.files().open(sha256).map_err(Error::File)? {
            Some(bytes) => Ok(Some((p.clone(), bytes))),
            None => Err(Error::UnknownFile(sha256.to_string())),
        }
    }
}
