//! Syncing the blob files sled 0.34 writes outside its log.

use std::collections::HashSet;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Mutex;

/// sled 0.34 writes a record bigger than a quarter of a segment (128 KiB: a leaf of large
/// values, a WASM plugin) to its own file under `blobs/`, while it builds the log, and never
/// syncs it; the log then holds only a pointer. The apply thread syncs every blob file not yet
/// synced, and the folder, right after the batch that made it and before the flush that
/// writes the pointer, so a stored pointer never outlives its blob.
pub(super) struct BlobSync {
    dir: PathBuf,
    synced: HashSet<std::ffi::OsString>,
}

impl BlobSync {
    pub(super) fn new(dir: PathBuf) -> BlobSync {
        BlobSync {
            dir,
            synced: HashSet::new(),
        }
    }

    pub(super) fn sync_new(&mut self) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut present = HashSet::new();
        let mut new = false;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            if !self.synced.contains(&name) {
                match File::open(entry.path()) {
                    Ok(f) => f.sync_all()?,
                    // sled removed it (its segment was cleaned) since the listing.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
                new = true;
            }
            present.insert(name);
        }
        if new {
            File::open(&self.dir)?.sync_all()?;
        }
        self.synced = present;
        Ok(())
    }
}

pub(super) fn sync_blobs(blobs: &Mutex<BlobSync>) -> Result<(), String> {
    let mut blobs = blobs
        .lock()
        .map_err(|_| "the blob sync state is poisoned".to_string())?;
    blobs
        .sync_new()
        .map_err(|e| format!("syncing sled's blob files failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every blob file present is synced once, a file sled removed is forgotten, and a store
    /// that never made a blob has no folder to sync.
    #[test]
    fn blob_files_are_synced_once_each_and_a_missing_folder_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = dir.path().join("blobs");
        let mut sync = BlobSync::new(blobs.clone());
        sync.sync_new().unwrap();
        assert!(sync.synced.is_empty());
        std::fs::create_dir(&blobs).unwrap();
        std::fs::write(blobs.join("1048576"), b"leaf").unwrap();
        std::fs::write(blobs.join("2097152"), b"plugin").unwrap();
        sync.sync_new().unwrap();
        assert_eq!(sync.synced.len(), 2);
        std::fs::remove_file(blobs.join("1048576")).unwrap();
        std::fs::write(blobs.join("3145728"), b"leaf").unwrap();
        sync.sync_new().unwrap();
        let mut names: Vec<_> = sync.synced.iter().cloned().collect();
        names.sort();
        assert_eq!(names, ["2097152", "3145728"]);
    }
}
