//! The dossiers' papers in PostgreSQL (`motcua_files`), so every node reads every file: the
//! bytes in chunks of 1 MiB, written under a temporary name while they stream in and hashed,
//! then renamed to their SHA-256 in one transaction (or dropped, when the same bytes are
//! there already).

use std::io::Read;
use std::sync::Arc;

use super::conn::Pool;
use crate::files::{Error, Files, HEAD, Stored, check_digest};

pub(super) const CHUNK: usize = 1 << 20;

pub struct PgFiles {
    pub(crate) pool: Arc<Pool>,
}

impl PgFiles {
    /// The files of the database at `url`, for a reader outside a running store (the CLI's
    /// verification): one connection, no migration, nothing written but by `put`/`remove`.
    pub fn open(url: &str) -> Result<PgFiles, crate::Error> {
        let address =
            super::address::Address::parse(url, super::Options::default().idle_in_transaction)?;
        Ok(PgFiles {
            pool: Arc::new(Pool::new(address.config, 1)?),
        })
    }
}

fn storage(e: impl std::fmt::Display) -> Error {
    Error::Storage(format!("PostgreSQL: {e}"))
}

impl Files for PgFiles {
    fn put(&self, from: &mut dyn Read, limit: u64) -> Result<Stored, Error> {
        let mut conn = self.pool.lend().map_err(storage)?;
        let mut name = [0u8; 16];
        getrandom::fill(&mut name).map_err(storage)?;
        let tmp = format!("tmp-{}", hex::encode(name));
        let result = (|| {
            use sha2::Digest;
            let mut hasher = sha2::Sha256::new();
            let mut head = Vec::with_capacity(HEAD);
            let mut size: u64 = 0;
            let mut chunk = 0i32;
            let mut buf = vec![0u8; CHUNK];
            loop {
                // Fill a whole chunk (a reader may hand over a few bytes at a time).
                let mut filled = 0;
                while filled < CHUNK {
                    match from.read(&mut buf[filled..]) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(Error::Upload(e)),
                    }
                }
                if filled == 0 {
                    break;
                }
                size += filled as u64;
                if size > limit {
                    return Err(Error::TooLarge { limit });
                }
                if head.len() < HEAD {
                    let take = (HEAD - head.len()).min(filled);
                    head.extend_from_slice(&buf[..take]);
                }
                hasher.update(&buf[..filled]);
                conn.client
                    .execute(
                        "INSERT INTO motcua_files (name, chunk, bytes) VALUES ($1, $2, $3)",
                        &[&tmp, &chunk, &&buf[..filled]],
                    )
                    .map_err(storage)?;
                chunk += 1;
                if filled < CHUNK {
                    break;
                }
            }
            if size == 0 {
                return Err(Error::Empty);
            }
            let sha256 = hex::encode(hasher.finalize());
            let mut tx = conn.client.transaction().map_err(storage)?;
            // Two uploads of the same bytes at once take turns on the digest.
            tx.execute("SET LOCAL synchronous_commit = on", &[])
                .map_err(storage)?;
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 7406140002))",
                &[&sha256],
            )
            .map_err(storage)?;
            let there = tx
                .query_opt(
                    "SELECT 1 FROM motcua_files WHERE name = $1 AND chunk = 0",
                    &[&sha256],
                )
                .map_err(storage)?
                .is_some();
            if there {
                tx.execute("DELETE FROM motcua_files WHERE name = $1", &[&tmp])
                    .map_err(storage)?;
                // Kept again: young again, so a collection does not take it from the attach.
                tx.execute(
                    "UPDATE motcua_files SET kept_at = now() WHERE name = $1",
                    &[&sha256],
                )
                .map_err(storage)?;
            } else {
                tx.execute(
                    "UPDATE motcua_files SET name = $1 WHERE name = $2",
                    &[&sha256, &tmp],
                )
                .map_err(storage)?;
            }
            tx.commit().map_err(storage)?;
            Ok(Stored {
                sha256,
                size,
                head,
                fresh: !there,
            })
        })();
        if result.is_err() {
            // Chunks already written under the temporary name are garbage now.
            let _ = conn
                .client
                .execute("DELETE FROM motcua_files WHERE name = $1", &[&tmp]);
        }
        let _ = self.pool.give_back(conn);
        result
    }

    fn open(&self, sha256: &str) -> Result<Option<Box<dyn Read + Send>>, Error> {
        check_digest(sha256)?;
        let name = sha256.to_string();
        let chunks: i64 = self
            .pool
            .with(move |c| {
                c.client
                    .query_one(
                        "SELECT count(*) FROM motcua_files WHERE name = $1",
                        &[&name],
                    )
                    .and_then(|r| r.try_get(0))
            })
            .map_err(storage)?;
        if chunks == 0 {
            return Ok(None);
        }
        Ok(Some(Box::new(Chunks {
            pool: self.pool.clone(),
            name: sha256.to_string(),
            next: 0,
            count: chunks,
            current: std::io::Cursor::new(vec![]),
        })))
    }

    fn size(&self, sha256: &str) -> Result<Option<u64>, Error> {
        check_digest(sha256)?;
        let name = sha256.to_string();
        let (chunks, bytes): (i64, i64) = self
            .pool
            .with(move |c| {
                c.client
                    .query_one(
                        "SELECT count(*), coalesce(sum(octet_length(bytes)), 0)::bigint \
                         FROM motcua_files WHERE name = $1",
                        &[&name],
                    )
                    .and_then(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            })
            .map_err(storage)?;
        Ok((chunks > 0).then_some(bytes.max(0) as u64))
    }

    fn list(&self) -> Result<Vec<String>, Error> {
        self.pool
            .with(|c| {
                c.client
                    .query(
                        "SELECT name FROM motcua_files WHERE chunk = 0 \
                         AND name NOT LIKE 'tmp-%' ORDER BY name",
                        &[],
                    )
                    .map(|rows| rows.iter().filter_map(|r| r.try_get(0).ok()).collect())
            })
            .map_err(storage)
    }

    fn older_than(&self, age: std::time::Duration) -> Result<Vec<String>, Error> {
        let seconds = age.as_secs_f64();
        self.pool
            .with(move |c| {
                c.client
                    .query(
                        "SELECT name FROM motcua_files WHERE chunk = 0 AND name NOT LIKE 'tmp-%' \
                         AND kept_at < now() - make_interval(secs => $1) ORDER BY name",
                        &[&seconds],
                    )
                    .map(|rows| rows.iter().filter_map(|r| r.try_get(0).ok()).collect())
            })
            .map_err(storage)
    }

    fn sweep_uploads(&self, age: std::time::Duration) -> Result<u64, Error> {
        let seconds = age.as_secs_f64();
        self.pool
            .with(move |c| {
                c.client.execute(
                    "DELETE FROM motcua_files WHERE name IN (SELECT name FROM motcua_files \
                     WHERE name LIKE 'tmp-%' AND chunk = 0 \
                     AND kept_at < now() - make_interval(secs => $1))",
                    &[&seconds],
                )
            })
            .map_err(storage)
    }

    fn remove_if_older(&self, sha256: &str, age: std::time::Duration) -> Result<bool, Error> {
        check_digest(sha256)?;
        let (name, seconds) = (sha256.to_string(), age.as_secs_f64());
        self.pool
            .with(move |c| {
                c.client.execute(
                    "DELETE FROM motcua_files WHERE name = $1 AND (SELECT kept_at \
                     FROM motcua_files WHERE name = $1 AND chunk = 0) \
                     < now() - make_interval(secs => $2)",
                    &[&name, &seconds],
                )
            })
            .map(|n| n > 0)
            .map_err(storage)
    }

    fn remove(&self, sha256: &str) -> Result<(), Error> {
        check_digest(sha256)?;
        let name = sha256.to_string();
        self.pool
            .with(move |c| {
                c.client
                    .execute("DELETE FROM motcua_files WHERE name = $1", &[&name])
                    .map(|_| ())
            })
            .map_err(storage)
    }
}

/// A file read chunk by chunk, one query each, so a large file is never held whole.
struct Chunks {
    pool: Arc<Pool>,
    name: String,
    next: i64,
    count: i64,
    current: std::io::Cursor<Vec<u8>>,
}

impl Read for Chunks {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.current.read(out)?;
            if n > 0 || self.next >= self.count {
                return Ok(n);
            }
            let (name, chunk) = (self.name.clone(), self.next as i32);
            let bytes: Vec<u8> = self
                .pool
                .with(move |c| {
                    c.client
                        .query_one(
                            "SELECT bytes FROM motcua_files WHERE name = $1 AND chunk = $2",
                            &[&name, &chunk],
                        )
                        .and_then(|r| r.try_get(0))
                })
                .map_err(std::io::Error::other)?;
            self.next += 1;
            self.current = std::io::Cursor::new(bytes);
        }
    }
}
