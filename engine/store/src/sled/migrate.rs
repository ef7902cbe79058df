//! The store's layout version, and `motcua migrate`, which brings a store written by an older
//! motcua to this layout explicitly: never at open, never silently.
//!
//! Layout 1 hashed each audit entry over its re-serialised JSON, kept no dossier digests and
//! had no query index or report counters. Migrating verifies the old chain the old way (a chain
//! that fails is not migrated), then re-seals every entry in the canonical encoding with the
//! same numbers: the first new entry records the old count and head (`migrated`), and each
//! dossier's last entry the digest of its record. The query index and the report counters are
//! built from the entries and dossiers. A migration cut short is resumed by running it again
//! (the old head is recorded before anything is rewritten).

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::Tree;

use super::super::audit_index::Postings;
use super::super::batch::{
    AUDIT_INDEX, AUDIT_LOG, COUNTERS, DOSSIERS, META, REPORT, read_counters,
};
use super::super::keys;
use super::super::view::{Space, be_u64};
use super::{Error, TREE};
use motcua_core::audit::{self, Entry, Migrated, Place};

const LAYOUT_KEY: &[u8] = b"layout";
/// The layout this version writes and reads.
pub(crate) const LAYOUT: &[u8] = b"2";
/// Set while a migration runs: the old chain's count and head.
const MIGRATING: &[u8] = b"migrating";

fn unusable(path: &Path, problem: impl Into<String>) -> Error {
    Error::Unusable {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

use super::kv::storage;

/// Refuses a store in another layout; marks a new, empty one with this layout.
/// Marks a restored key space with this layout when its source (PostgreSQL, which keeps its
/// schema version in its own table) wrote none.
pub(super) fn mark_layout(tree: &Tree) -> Result<(), Error> {
    let meta = Space::of(tree, META);
    if meta.get(LAYOUT_KEY)?.is_none() {
        tree.insert(meta.key(LAYOUT_KEY), LAYOUT).map_err(storage)?;
    }
    Ok(())
}

pub(super) fn check_layout(db: &sled::Db, tree: &Tree, path: &Path) -> Result<(), Error> {
    let meta = Space::of(tree, META);
    match meta.get(LAYOUT_KEY)? {
        Some(v) if v.as_ref() == LAYOUT => match crate::reindex::state(tree)? {
            crate::reindex::State::Current => Ok(()),
            crate::reindex::State::Empty => {
                let (k, v) = crate::reindex::mark();
                tree.insert(k, v.as_deref().unwrap_or_default())
                    .map_err(storage)?;
                db.flush().map_err(storage)?;
                Ok(())
            }
            crate::reindex::State::Newer => Err(unusable(
                path,
                "was written by a newer motcua (its index is of a later generation); run that \
                 version. Nothing was changed",
            )),
            crate::reindex::State::Stale => Err(unusable(
                path,
                format!(
                    "was written by an older motcua whose index has no staff search or \
                         due order; run `motcua migrate --data {}` to rebuild the index \
                         (records and the audit log are not touched). Nothing was changed",
                    path.display()
                ),
            )),
        },
        Some(v) => Err(unusable(
            path,
            format!(
                "has layout {}, which this version cannot read (it reads layout {})",
                String::from_utf8_lossy(&v),
                String::from_utf8_lossy(LAYOUT)
            ),
        )),
        None if tree.first().map_err(storage)?.is_none() => {
            tree.insert(meta.key(LAYOUT_KEY), LAYOUT).map_err(storage)?;
            let (k, v) = crate::reindex::mark();
            tree.insert(k, v.as_deref().unwrap_or_default())
                .map_err(storage)?;
            db.flush().map_err(storage)?;
            Ok(())
        }
        None => Err(unusable(
            path,
            format!(
                "was written by an older motcua (layout 1: its audit chain hashes re-serialised \
                 entries and does not cover the dossier records); run `motcua migrate --data {}` \
                 to re-seal it. Nothing was changed",
                path.display()
            ),
        )),
    }
}

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// False when the store was already in this layout.
    pub migrated: bool,
    /// The index was rebuilt (it predated this version's listing keys).
    pub reindexed: bool,
    pub entries: u64,
    pub dossiers: u64,
    pub old_head: String,
    pub new_head: String,
}

/// An audit entry as layout 1 stored it, fields in its order.
#[derive(Clone, Serialize, Deserialize)]
struct Legacy {
    seq: u64,
    at: jiff::Timestamp,
    dossier: String,
    procedure: String,
    procedure_hash: String,
    action: String,
    actor: String,
    roles: Vec<String>,
    departments: Vec<String>,
    from: Vec<String>,
    to: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    input: serde_json::Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    steps: Vec<motcua_core::deadline::StepTiming>,
    version: u64,
    prev_hash: String,
    hash: String,
}

impl Legacy {
    /// Layout 1's hash: sha256 of the previous hash and the entry's JSON (fields in
    /// declaration order) with `hash` empty.
    fn computed_hash(&self) -> Option<String> {
        let mut blank = self.clone();
        blank.hash.clear();
        let body = serde_json::to_vec(&blank).ok()?;
        let mut h = Sha256::new();
        h.update(self.prev_hash.as_bytes());
        h.update(&body);
        Some(hex::encode(h.finalize()))
    }

    fn into_entry(self) -> Entry {
        Entry {
            seq: self.seq,
            at: self.at,
            dossier: self.dossier,
            procedure: self.procedure,
            procedure_hash: self.procedure_hash,
            action: self.action,
            actor: self.actor,
            roles: self.roles,
            departments: self.departments,
            from: self.from,
            to: self.to,
            comment: self.comment,
            input: self.input,
            on_behalf: None,
            steps: self.steps,
            resolution: None,
            version: self.version,
            record: None,
            replaces: None,
            migrated: None,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }
}

type LineFn<'a> = dyn FnMut(u64, &[u8]) -> Result<(), Error> + 'a;

/// Every line of the audit log in order, with its number.
fn for_each_line(tree: &Tree, f: &mut LineFn) -> Result<(), Error> {
    for item in Space::of(tree, AUDIT_LOG).range(b"", None) {
        let (k, v) = item?;
        let first =
            be_u64(&k).ok_or_else(|| Error::Corrupt("a chunk key is not 8 bytes".into()))?;
        for (i, line) in v.split(|b| *b == b'\n').enumerate() {
            f(first + i as u64, line)?;
        }
    }
    Ok(())
}

/// The re-sealed chain and the stored records, verified like a current store.
fn prove(tree: &Tree, count: u64, head: &str) -> Result<(), Error> {
    let failed = |e: audit::verify::Error| {
        Error::Corrupt(format!(
            "the re-sealed log does not verify ({e}); not marked current"
        ))
    };
    let mut chain = audit::verify::Chain::new(audit::verify::Key::random());
    let mut first = None;
    for_each_line(tree, &mut |position, line| {
        if first.is_none()
            && let Err(e) = chain.push(position, line)
        {
            first = Some(e);
        }
        Ok(())
    })?;
    if let Some(e) = first {
        return Err(failed(e));
    }
    let finished = chain.finish(count, head).map_err(failed)?;
    let mut records = finished.records();
    for item in Space::of(tree, DOSSIERS).range(b"", None) {
        let (k, v) = item?;
        records.push(&String::from_utf8_lossy(&k), &v);
    }
    if !finished.matches(&records) {
        return Err(failed(audit::verify::Error::Records));
    }
    Ok(())
}

/// Migrates the store in `path` to this layout (see the module docs).
pub fn migrate(path: &Path) -> Result<Migration, Error> {
    if !path.join("db").is_file() {
        return Err(unusable(path, "holds no motcua store"));
    }
    let db = sled::Config::new()
        .path(path)
        .cache_capacity(64 << 20)
        .open()
        .map_err(storage)?;
    if let Some(old) = super::foreign_tree(&db) {
        return Err(unusable(
            path,
            format!(
                "was written by a motcua older than layout 1 (it has the tree '{}'); it cannot \
                 be migrated",
                String::from_utf8_lossy(&old)
            ),
        ));
    }
    let tree = db.open_tree(TREE).map_err(storage)?;
    let meta = Space::of(&tree, META);
    let mut counters = read_counters(meta)?;
    if let Some(v) = meta.get(LAYOUT_KEY)?
        && v.as_ref() != LAYOUT
    {
        return Err(unusable(
            path,
            format!(
                "has layout {}, which this version does not know how to migrate",
                String::from_utf8_lossy(&v)
            ),
        ));
    }
    if meta.get(LAYOUT_KEY)?.is_some() {
        let reindexed = reindex(&db, &tree, path)?;
        return Ok(Migration {
            migrated: false,
            reindexed,
            entries: counters.audit_seq,
            dossiers: counters.dossiers,
            old_head: counters.audit_head.clone(),
            new_head: counters.audit_head,
        });
    }
    // 1. The old chain, verified the old way, and recorded before anything is rewritten.
    let old = match meta.get(MIGRATING)? {
        Some(v) => serde_json::from_slice::<Migrated>(&v)
            .map_err(|e| Error::Corrupt(format!("the record of a migration in progress: {e}")))?,
        None => {
            let mut head = audit::GENESIS.to_string();
            let mut count = 0u64;
            for_each_line(&tree, &mut |position, line| {
                let e: Legacy = serde_json::from_slice(line).map_err(|e| {
                    unusable(
                        path,
                        format!(
                            "audit entry {}: not a layout-1 entry ({e}); not migrated",
                            count + 1
                        ),
                    )
                })?;
                if e.seq != count + 1
                    || position != e.seq
                    || e.prev_hash != head
                    || e.computed_hash().as_deref() != Some(&e.hash)
                {
                    return Err(unusable(
                        path,
                        format!(
                            "the old chain does not verify at entry {}: not migrated, nothing changed",
                            count + 1
                        ),
                    ));
                }
                head = e.hash;
                count += 1;
                Ok(())
            })?;
            if count != counters.audit_seq || head != counters.audit_head {
                return Err(unusable(
                    path,
                    format!(
                        "the old chain ends at entry {count}, but its counters name {}: not migrated",
                        counters.audit_seq
                    ),
                ));
            }
            let m = Migrated {
                format: 1,
                count,
                head,
            };
            let v = serde_json::to_vec(&m).map_err(|e| Error::Corrupt(e.to_string()))?;
            tree.insert(meta.key(MIGRATING), v).map_err(storage)?;
            db.flush().map_err(storage)?;
            m
        }
    };
    // 2. Each dossier's last entry, which will carry its record's digest.
    let mut last: HashMap<u64, (String, String)> = HashMap::new();
    let mut deltas = motcua_core::report::Deltas::new();
    let mut dossiers = 0u64;
    for item in Space::of(&tree, DOSSIERS).range(b"", None) {
        let (k, v) = item?;
        let code = String::from_utf8_lossy(&k).into_owned();
        let (seqs, json) = keys::parse_dossier_record(&v)
            .ok_or_else(|| Error::Corrupt(format!("dossier {code}: the record is truncated")))?;
        if let Some(s) = seqs.last() {
            if *s > old.count {
                return Err(Error::Corrupt(format!(
                    "dossier {code} names audit entry {s}, past the log's last ({})",
                    old.count
                )));
            }
            last.insert(
                *s,
                (code.clone(), hex::encode(audit::record_digest(&code, &v))),
            );
        }
        let d: motcua_core::dossier::Dossier = serde_json::from_slice(json)
            .map_err(|e| Error::Corrupt(format!("dossier {code}: {e}")))?;
        let facts = motcua_core::report::Facts::of(&d);
        motcua_core::report::deltas(None, facts.as_ref(), &mut deltas);
        dossiers += 1;
    }
    // 3. The index and counters are rebuilt whole (a resumed run may have written some).
    for space in [AUDIT_INDEX, REPORT] {
        let keys: Vec<sled::IVec> = Space::of(&tree, space)
            .range(b"", None)
            .map(|i| i.map(|(k, _)| Space::of(&tree, space).key(&k).into()))
            .collect::<Result<_, _>>()?;
        let mut b = sled::Batch::default();
        keys.into_iter().for_each(|k| b.remove(k));
        tree.apply_batch(b).map_err(storage)?;
    }
    // 4. Every entry re-sealed under its own number, chunk by chunk in place (the chunks keep
    //    their keys), a few hundred chunks per sled batch.
    let mut head = audit::GENESIS.to_string();
    let mut count = 0u64;
    let mut batch = sled::Batch::default();
    let mut in_batch = 0usize;
    let mut postings = Postings::default();
    for item in Space::of(&tree, AUDIT_LOG).range(b"", None) {
        let (k, v) = item?;
        let first =
            be_u64(&k).ok_or_else(|| Error::Corrupt("a chunk key is not 8 bytes".into()))?;
        let mut lines = Vec::with_capacity(v.len() * 5 / 4);
        for (i, line) in v.split(|b| *b == b'\n').enumerate() {
            let seq = first + i as u64;
            let entry = match Entry::from_line(line) {
                Ok(e) => e,
                Err(_) => serde_json::from_slice::<Legacy>(line)
                    .map_err(|e| Error::Corrupt(format!("audit entry {seq}: {e}")))?
                    .into_entry(),
            };
            let record = last.get(&seq);
            if let Some((code, _)) = record
                && *code != entry.dossier
            {
                return Err(Error::Corrupt(format!(
                    "dossier {code} names audit entry {seq} as its last, which is dossier {}'s",
                    entry.dossier
                )));
            }
            let (bytes, hash) = entry
                .unsealed()
                .map_err(|e| Error::Corrupt(e.to_string()))?
                .seal(&Place {
                    seq,
                    prev: &head,
                    record: record.map(|(_, d)| d.as_str()),
                    replaces: None,
                    migrated: (seq == 1).then_some(&old),
                });
            head = hash;
            postings.add(seq, &entry);
            count += 1;
            if i > 0 {
                lines.push(b'\n');
            }
            lines.extend_from_slice(&bytes);
        }
        batch.insert(Space::of(&tree, AUDIT_LOG).key(&k), lines);
        in_batch += 1;
        if in_batch == 256 {
            for (pk, pv) in std::mem::take(&mut postings).into_writes() {
                batch.insert(Space::of(&tree, AUDIT_INDEX).key(&pk), pv);
            }
            tree.apply_batch(std::mem::take(&mut batch))
                .map_err(storage)?;
            in_batch = 0;
        }
    }
    for (pk, pv) in postings.into_writes() {
        batch.insert(Space::of(&tree, AUDIT_INDEX).key(&pk), pv);
    }
    tree.apply_batch(batch).map_err(storage)?;
    // 5. The new chain and the records proved as `motcua audit verify` will, before the
    //    store is marked current: a failure leaves it refused at open, to be migrated again.
    prove(&tree, count, &head)?;
    // 6. Counters, the new head and the layout, then everything to disk.
    let mut b = sled::Batch::default();
    for (k, v) in deltas {
        b.insert(
            Space::of(&tree, REPORT).key(&k),
            motcua_core::report::encode_value(&v),
        );
    }
    counters.audit_head = head.clone();
    b.insert(Space::of(&tree, META).key(COUNTERS), counters.encode());
    b.insert(Space::of(&tree, META).key(LAYOUT_KEY), LAYOUT);
    b.remove(Space::of(&tree, META).key(MIGRATING));
    tree.apply_batch(b).map_err(storage)?;
    db.flush().map_err(storage)?;
    std::fs::File::open(path.join("db"))
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::Read(e.to_string()))?;
    let reindexed = reindex(&db, &tree, path)?;
    Ok(Migration {
        migrated: true,
        reindexed,
        entries: count,
        dossiers,
        old_head: old.head,
        new_head: head,
    })
}

/// Rebuilds the index if it predates this version's ([`crate::reindex`]), then syncs; whether
/// it did.
fn reindex(db: &sled::Db, tree: &Tree, path: &Path) -> Result<bool, Error> {
    use crate::kv::Kv;
    match crate::reindex::state(tree)? {
        crate::reindex::State::Current => return Ok(false),
        crate::reindex::State::Newer => {
            return Err(unusable(
                path,
                "was written by a newer motcua (its index is of a later generation); it is not \
                 migrated back",
            ));
        }
        _ => {}
    }
    crate::reindex::rebuild(tree, &mut |writes| tree.apply(writes))?;
    db.flush().map_err(storage)?;
    std::fs::File::open(path.join("db"))
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::Read(e.to_string()))?;
    Ok(true)
}
