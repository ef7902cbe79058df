//! A dossier's papers on the engine: a file is kept by the store first (streamed, hashed,
//! durable), then attached by a transition that names its digest ([`transition::attach`]),
//! so a committed entry never names a file the store does not hold. A file kept but never
//! attached (refused, or the client gone) is garbage for the collector, never an error.

use std::io::Read;

use super::{Engine, Result};
use crate::dossier::paper::{self, Paper};
use crate::dossier::transition::{self, AttachRequest};
use crate::dossier::{Actor, Dossier};
use crate::error::Error;
use crate::store::files::Stored;

/// A file the store now keeps, and what its bytes say it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub stored: Stored,
    pub media_type: &'static str,
}

impl Engine {
    /// The store's files (checking them, collecting the unreferenced).
    pub fn files(&self) -> &dyn crate::store::files::Files {
        self.store.files()
    }

    /// Keeps the bytes of `from` (at most `limit`) in the store and sniffs what they are. A
    /// file that is not a scan or a photograph of pages ([`paper::ACCEPTED`]) is refused
    /// whatever its name or declared type says, and not kept.
    pub fn keep_file(&self, from: &mut dyn Read, limit: u64) -> Result<Kept> {
        let files = self.store.files();
        let stored = files.put(from, limit).map_err(Error::File)?;
        match paper::sniff(&stored.head) {
            Some(media_type) => Ok(Kept { stored, media_type }),
            None => {
                // The same bytes sniff the same, so no accepted paper shares this digest.
                let _ = files.remove(&stored.sha256);
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
