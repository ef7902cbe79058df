//! An in-memory [`Store`]: the same key layout, commit rules and reads as the sled store
//! (`batch`, `view`), over a `BTreeMap`, with nothing on disk. Tests drive the state machine
//! against it (the model-based test) and embedders that need no durability can use it; a
//! commit is "durable" as soon as it is applied, so readers see everything at once.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;

use super::batch::{Answer, BatchError, BatchOutcome, Pending, RECENT_MAX, Recent, apply_batch};
use super::kv::MemKv;
use super::view::{View, dossier_reads_through_view, reads_through_view};
use super::{Committed, DossierReader, Error, Marks, Page, Query, Store};
use motcua_core::dossier::Dossier;
use motcua_core::transition::{Event, Transition};

/// A [`Store`] in memory. Commits are serialised by one lock; lists page and order exactly as
/// in the sled store, because they are the same code over the same keys.
#[derive(Debug, Default)]
pub struct MemoryStore {
    kv: MemKv,
    writer: Mutex<Writer>,
    /// The last audit number applied and the chain's head there.
    audit: Mutex<(u64, String)>,
    outbox_seq: AtomicU64,
    marks: Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
    files: crate::files::MemoryFiles,
}

#[derive(Debug, Default)]
struct Writer {
    recent: Recent,
    known: HashSet<Vec<u8>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn view(&self) -> View<'_> {
        // A panic elsewhere while holding the lock leaves the pair itself whole.
        let (audit_through, audit_head) = self
            .audit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        View {
            kv: &self.kv,
            audit_through,
            audit_head,
            outbox_through: self.outbox_seq.load(Ordering::SeqCst),
        }
    }
}

impl Store for MemoryStore {
    fn files(&self) -> &dyn crate::files::Files {
        &self.files
    }

    fn commit(&self, transition: Transition) -> Result<Committed, Error> {
        let pending = Pending::new(transition)?;
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| Error::NotWritten("the in-memory store is poisoned".into()))?;
        let BatchOutcome {
            mut outcomes,
            written,
            novel,
            counters,
        } = match apply_batch(&self.kv, &[&pending], &writer.recent, &writer.known, true) {
            Ok(outcome) => outcome,
            Err(BatchError::Building(e)) => return Err(e),
            // The map is written only after every check: a failure there wrote nothing.
            Err(BatchError::Applying(e)) => return Err(Error::NotWritten(e.to_string())),
        };
        if writer.recent.len() + written.len() > RECENT_MAX {
            writer.recent.clear();
        }
        writer.recent.extend(written);
        writer.known.extend(novel);
        *self
            .audit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            (counters.audit_seq, counters.audit_head.clone());
        self.outbox_seq.store(counters.outbox_seq, Ordering::SeqCst);
        match outcomes.pop() {
            Some(Answer::AsSent) => Ok(Committed::Applied(
                pending
                    .transition
                    .changes
                    .into_iter()
                    .map(|c| c.dossier)
                    .collect(),
            )),
            Some(Answer::Assigned(ds)) => Ok(Committed::Applied(ds)),
            Some(Answer::Replayed(d)) => Ok(Committed::Replayed(d)),
            Some(Answer::Refused(e)) => Err(e),
            None => Err(Error::NotWritten("the batch had no outcome".into())),
        }
    }
}

impl Marks for MemoryStore {
    fn mark(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
        let marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
        Ok(marks.get(name).cloned())
    }

    fn marks(&self, prefix: &str, f: &mut dyn FnMut(&str, &[u8]) -> bool) -> Result<(), Error> {
        let found: Vec<(String, Vec<u8>)> = {
            let marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
            marks
                .range(prefix.to_string()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        for (k, v) in found {
            if !f(&k, &v) {
                break;
            }
        }
        Ok(())
    }

    fn set_mark(&self, name: &str, value: Option<&[u8]>) -> Result<(), Error> {
        let mut marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
        match value {
            Some(v) => marks.insert(name.to_string(), v.to_vec()),
            None => marks.remove(name),
        };
        Ok(())
    }
}

impl DossierReader for MemoryStore {
    fn dossier(&self, code: &str) -> Result<Option<Dossier>, Error> {
        self.view().dossier(code)
    }
    dossier_reads_through_view!();
}

reads_through_view!(MemoryStore);
