//! The proof reaches the papers: every file an `attach` entry names must be kept by the store
//! and hash to the digest the entry records, so a scan altered or lost after the officer
//! decided on it is named, with its dossier, by `motcua audit verify` and `/v1/audit/verify`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::query::{self, Filter};
use crate::dossier::transition::ATTACH;
use crate::store::files::{Files, digest_of};
use crate::store::{AuditReader, Error};

/// What is wrong with one paper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The store keeps no file under the digest.
    Missing,
    /// The file's bytes hash to something else now.
    Altered { found: String },
}

/// One paper that fails, with the entry that attached it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failed {
    pub dossier: String,
    pub seq: u64,
    pub kind: String,
    pub sha256: String,
    #[serde(flatten)]
    pub problem: Problem,
}

/// The papers checked (each file once, however many entries name it) and those that fail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Checked {
    pub papers: u64,
    pub failed: Vec<Failed>,
}

/// Calls `each` with every `attach` entry of the log and the digest and kind it names.
fn each_attached(
    reader: &dyn AuditReader,
    mut each: impl FnMut(&super::Entry, &str, &str) -> Result<(), Error>,
) -> Result<(), Error> {
    let filter = Filter {
        action: Some(ATTACH.to_string()),
        ..Default::default()
    };
    let mut after: Option<String> = None;
    loop {
        let page = query::list(reader, &filter, after.as_deref(), query::MAX_PAGE)?;
        for e in &page.entries {
            if let (Some(sha), Some(kind)) = (
                e.input.get("sha256").and_then(|v| v.as_str()),
                e.input.get("kind").and_then(|v| v.as_str()),
            ) {
                each(e, sha, kind)?;
            }
        }
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(()),
        }
    }
}

/// Every digest the log's `attach` entries name.
pub fn referenced(reader: &dyn AuditReader) -> Result<std::collections::BTreeSet<String>, Error> {
    let mut all = std::collections::BTreeSet::new();
    each_attached(reader, |_, sha, _| {
        all.insert(sha.to_string());
        Ok(())
    })?;
    Ok(all)
}

/// Checks every file the log's `attach` entries name against `files`.
pub fn verify(reader: &dyn AuditReader, files: &dyn Files) -> Result<Checked, Error> {
    // digest → what is wrong with it, once per file
    let mut seen: BTreeMap<String, Option<Problem>> = BTreeMap::new();
    let mut checked = Checked::default();
    each_attached(reader, |e, sha, kind| {
        let problem = match seen.get(sha) {
            Some(p) => p.clone(),
            None => {
                let p = check(files, sha)?;
                checked.papers += 1;
                seen.insert(sha.to_string(), p.clone());
                p
            }
        };
        if let Some(problem) = problem {
            checked.failed.push(Failed {
                dossier: e.dossier.clone(),
                seq: e.seq,
                kind: kind.to_string(),
                sha256: sha.to_string(),
                problem,
            });
        }
        Ok(())
    })?;
    Ok(checked)
}

/// What a collection removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Collected {
    /// Files no entry names, kept longer than the grace period.
    pub removed: Vec<String>,
    /// Leftovers of uploads cut short.
    pub uploads_swept: u64,
}

/// Removes the files no `attach` entry names that were kept longer ago than `grace`, and
/// what uploads cut short left. A file named by an entry is never removed; the grace period
/// covers a file kept and not yet attached (its request is still on its way to the commit).
pub fn collect(
    reader: &dyn AuditReader,
    files: &dyn Files,
    grace: std::time::Duration,
) -> Result<Collected, Error> {
    // The candidates first, then the references: a file attached between the two readings
    // is among the references.
    let candidates = files
        .older_than(grace)
        .map_err(|e| Error::Read(format!("listing papers: {e}")))?;
    let named = referenced(reader)?;
    let mut collected = Collected::default();
    for sha in candidates {
        // Only if still old: kept again since the listing, it is on its way to an attach
        // the references read above may not show yet.
        if !named.contains(&sha)
            && files
                .remove_if_older(&sha, grace)
                .map_err(|e| Error::Read(format!("removing paper {sha}: {e}")))?
        {
            collected.removed.push(sha);
        }
    }
    collected.uploads_swept = files
        .sweep_uploads(grace)
        .map_err(|e| Error::Read(format!("sweeping uploads: {e}")))?;
    Ok(collected)
}

fn check(files: &dyn Files, sha256: &str) -> Result<Option<Problem>, Error> {
    let opened = files
        .open(sha256)
        .map_err(|e| Error::Read(format!("reading paper {sha256}: {e}")))?;
    let Some(mut bytes) = opened else {
        return Ok(Some(Problem::Missing));
    };
    let found =
        digest_of(&mut bytes).map_err(|e| Error::Read(format!("reading paper {sha256}: {e}")))?;
    Ok((found != sha256).then_some(Problem::Altered { found }))
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.problem {
            Problem::Missing => write!(
                f,
                "dossier {}: paper '{}' ({}), attached by entry {}, is missing",
                self.dossier, self.kind, self.sha256, self.seq
            ),
            Problem::Altered { found } => write!(
                f,
                "dossier {}: paper '{}' ({}), attached by entry {}, was altered (its bytes hash to {found})",
                self.dossier, self.kind, self.sha256, self.seq
            ),
        }
    }
}
