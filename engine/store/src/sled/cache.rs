//! The sled store's cache of parsed dossiers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use motcua_core::dossier::Dossier;

/// Parsed dossiers recently committed or read, so that the officer who acts next does not
/// wait for sled (whose readers queue behind the writer's batch) nor parse the JSON again.
///
/// It never serves a version older than one acknowledged: a commit puts the acknowledged
/// version (never an older over a newer) and bumps its shard's generation; a reader that
/// missed puts what it read from sled only if the generation has not moved since it looked,
/// so a slow reader cannot put back a version that a commit (or the clearing of a full shard)
/// has since superseded. Bounded by clearing a full shard.
#[derive(Default)]
pub(super) struct DossierCache {
    shards: [Mutex<Shard>; CACHE_SHARDS],
}

#[derive(Default)]
struct Shard {
    dossiers: HashMap<String, Arc<Dossier>>,
    generation: u64,
}

const CACHE_SHARDS: usize = 16;
/// Dossiers per shard: 16 × 512 = 8,192 dossiers, a few tens of MiB.
const CACHE_PER_SHARD: usize = 512;

pub(super) enum Lookup {
    Hit(Arc<Dossier>),
    /// Not cached; the shard's generation when it was looked at.
    Miss(u64),
}

impl DossierCache {
    fn shard(&self, code: &str) -> &Mutex<Shard> {
        // FNV-1a: cheap, and codes differ in their last digits.
        let h = code.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        &self.shards[(h % CACHE_SHARDS as u64) as usize]
    }

    pub(super) fn get(&self, code: &str) -> Lookup {
        let Ok(shard) = self.shard(code).lock() else {
            return Lookup::Miss(u64::MAX);
        };
        match shard.dossiers.get(code) {
            Some(d) => Lookup::Hit(d.clone()),
            None => Lookup::Miss(shard.generation),
        }
    }

    /// An acknowledged version.
    pub(super) fn put_committed(&self, d: &Dossier) {
        let Ok(mut shard) = self.shard(&d.code).lock() else {
            return;
        };
        shard.generation += 1;
        if shard
            .dossiers
            .get(&d.code)
            .is_some_and(|c| c.version >= d.version)
        {
            return;
        }
        if shard.dossiers.len() >= CACHE_PER_SHARD {
            shard.dossiers.clear();
        }
        shard.dossiers.insert(d.code.clone(), Arc::new(d.clone()));
    }

    /// A version read from sled after a miss at `generation`.
    pub(super) fn put_read(&self, d: &Dossier, generation: u64) {
        let Ok(mut shard) = self.shard(&d.code).lock() else {
            return;
        };
        if shard.generation != generation || shard.dossiers.contains_key(&d.code) {
            return;
        }
        if shard.dossiers.len() >= CACHE_PER_SHARD {
            shard.generation += 1;
            shard.dossiers.clear();
        }
        shard.dossiers.insert(d.code.clone(), Arc::new(d.clone()));
    }

    pub(super) fn evict(&self, code: &str) {
        if let Ok(mut shard) = self.shard(code).lock() {
            shard.generation += 1;
            shard.dossiers.remove(code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dossier(version: u64) -> Dossier {
        serde_json::from_value(serde_json::json!({
            "code": "000.17.22.H56-260601-0001",
            "procedure": "cap-phep-xay-dung-thu-nghiem",
            "procedure_version": "1",
            "procedure_hash": "ab",
            "agency": "000.17.22.H56",
            "applicant": {"id": "079090001234", "name": "Nguyễn Văn An", "disadvantaged_area": false},
            "channel": "desk",
            "data": {},
            "documents": [],
            "tokens": [],
            "clock": {"received_at": "2026-06-01T02:00:00Z", "due_at": "2026-06-22T02:00:00Z",
                      "supplements": 0, "extensions": 0},
            "status": 2,
            "version": version,
            "created_at": "2026-06-01T02:00:00Z",
            "updated_at": "2026-06-01T02:00:00Z"
        }))
        .unwrap()
    }

    fn cached_version(cache: &DossierCache) -> Option<u64> {
        match cache.get("000.17.22.H56-260601-0001") {
            Lookup::Hit(d) => Some(d.version),
            Lookup::Miss(_) => None,
        }
    }

    /// Regression (review): a reader that read version 1 from sled, then was descheduled while
    /// version 2 was committed and its shard cleared, put version 1 back, and every officer
    /// acting on it got a conflict until the shard was cleared again.
    #[test]
    fn a_slow_reader_never_puts_back_a_version_a_commit_superseded() {
        let cache = DossierCache::default();
        let Lookup::Miss(seen) = cache.get("000.17.22.H56-260601-0001") else {
            panic!("empty cache");
        };
        // Version 2 is acknowledged while the reader parses version 1.
        cache.put_committed(&dossier(2));
        cache.put_read(&dossier(1), seen);
        assert_eq!(cached_version(&cache), Some(2));
        // The same, with the shard cleared in between.
        cache.evict("000.17.22.H56-260601-0001");
        let Lookup::Miss(seen) = cache.get("000.17.22.H56-260601-0001") else {
            panic!("evicted");
        };
        cache.put_committed(&dossier(3));
        cache.evict("000.17.22.H56-260601-0001");
        cache.put_read(&dossier(2), seen);
        assert_eq!(cached_version(&cache), None);
        // An undisturbed reader fills the cache; an older commit never replaces a newer one.
        let Lookup::Miss(seen) = cache.get("000.17.22.H56-260601-0001") else {
            panic!("evicted");
        };
        cache.put_read(&dossier(3), seen);
        assert_eq!(cached_version(&cache), Some(3));
        cache.put_committed(&dossier(2));
        assert_eq!(cached_version(&cache), Some(3));
    }
}
