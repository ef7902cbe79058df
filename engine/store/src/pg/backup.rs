//! Backups of a PostgreSQL store, and restoring one into an empty database.
//!
//! A backup reads one `REPEATABLE READ` snapshot ([`PgSnapshot`]) while the nodes keep
//! writing: the key space and the marks exactly as of its first read. Papers are read from
//! the live table: a file is kept before any entry names it and never removed while one
//! does, so every file the snapshot's entries name is there. A restore writes everything in
//! one transaction (`COPY`, binary) and commits only once the whole backup was read and
//! checked, so an interrupted restore leaves the database as empty as it found it.

use std::io::Write;
use std::path::Path;

use super::address::Address;
use super::{Options, PgFiles, PgSnapshot, PgStore};
use crate::backup::{Error, LAYOUT, Manifest, Record, Summary};

fn pg(e: postgres::Error) -> Error {
    Error::Store(crate::Error::Read(format!("PostgreSQL: {e}")))
}

/// Writes a backup of the store at `url` as one snapshot sees it.
pub fn backup(url: &str, out: &mut dyn Write) -> Result<Summary, Error> {
    let snapshot = PgSnapshot::open(url)?;
    let counters = snapshot.counters()?;
    let manifest = Manifest {
        format: crate::backup::FORMAT,
        layout: LAYOUT.into(),
        created_at: jiff::Timestamp::now(),
        source: "postgres".into(),
        audit_count: counters.audit_seq,
        audit_head: counters.audit_head.clone(),
        outbox_seq: counters.outbox_seq,
        dossiers: counters.dossiers,
    };
    let marks = snapshot.marks()?;
    let files = PgFiles::open(url)?;
    let mut entries = snapshot.entries();
    crate::backup::write(out, manifest, &mut entries, marks, &files)
}

/// The file read again is the one checked, not one swapped in between.
fn same_file(found: &str, checked: &Summary) -> Result<(), Error> {
    if found == checked.checksum {
        Ok(())
    } else {
        Err(Error::Altered {
            expected: checked.checksum.clone(),
            found: found.to_string(),
        })
    }
}

/// Binary `COPY` rows: the header, then each row's fields, then the trailer.
struct CopyRows<W: Write>(W);

impl<W: Write> CopyRows<W> {
    fn start(mut w: W) -> std::io::Result<CopyRows<W>> {
        w.write_all(b"PGCOPY\n\xff\r\n\0")?;
        w.write_all(&0i32.to_be_bytes())?;
        w.write_all(&0i32.to_be_bytes())?;
        Ok(CopyRows(w))
    }
    fn row(&mut self, fields: &[&[u8]]) -> std::io::Result<()> {
        self.0.write_all(&(fields.len() as i16).to_be_bytes())?;
        for f in fields {
            self.0.write_all(&(f.len() as i32).to_be_bytes())?;
            self.0.write_all(f)?;
        }
        Ok(())
    }
    fn end(mut self) -> std::io::Result<W> {
        self.0.write_all(&(-1i16).to_be_bytes())?;
        Ok(self.0)
    }
}

/// Restores the backup at `from` into the database at `url`, which must be new: no dossier,
/// no audit entry, no mark (an uploaded procedure version, a cursor) and no file; migrated here
/// if it is not yet. No node may run on it (the tables are locked for the restore). The
/// backup is checked whole first; the writes are one transaction, committed at the end.
pub fn restore(url: &str, from: &Path) -> Result<Summary, Error> {
    let checked = crate::backup::check(std::fs::File::open(from)?)?;
    // The schema, migrated as a store opening it would.
    drop(PgStore::open(url, Options::default())?);
    let address = Address::parse(url, Options::default().idle_in_transaction)?;
    let mut client = address.config.connect(postgres::NoTls).map_err(pg)?;
    let mut tx = client.transaction().map_err(pg)?;
    tx.batch_execute("LOCK TABLE motcua_kv, motcua_marks, motcua_files IN EXCLUSIVE MODE")
        .map_err(pg)?;
    let held: i64 = tx
        .query_one(
            "SELECT (SELECT count(*) FROM motcua_kv WHERE substring(k FROM 1 FOR 1) IN ('\\x61'::bytea, '\\x64'::bytea)) \
             + (SELECT count(*) FROM motcua_marks) + (SELECT count(*) FROM motcua_files)",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(pg)?;
    if held != 0 {
        return Err(Error::NotEmpty(format!(
            "the database holds {held} dossiers, audit chunks, marks or files"
        )));
    }
    // What the store wrote when it was created (its counters, its index mark) is replaced by
    // the backup's.
    tx.batch_execute("DELETE FROM motcua_kv").map_err(pg)?;
    let open = || -> Result<_, Error> {
        crate::backup::Reader::open(std::io::BufReader::new(std::fs::File::open(from)?))
    };
    // The key space, then the marks (few), in one pass.
    let mut marks = vec![];
    {
        let writer = tx
            .copy_in("COPY motcua_kv (k, v) FROM STDIN (FORMAT binary)")
            .map_err(pg)?;
        let mut rows = CopyRows::start(writer)?;
        let mut reader = open()?;
        while reader.next(&mut |r| {
            match r {
                Record::Key(k, v) => rows.row(&[&k, &v])?,
                Record::Mark(k, v) => marks.push((k, v)),
                Record::File { .. } => {}
            }
            Ok(())
        })? {}
        same_file(&reader.checksum(), &checked)?;
        rows.end()?.finish().map_err(pg)?;
    }
    for (name, v) in &marks {
        let name = String::from_utf8_lossy(name).into_owned();
        tx.execute(
            "INSERT INTO motcua_marks (name, v) VALUES ($1, $2)",
            &[&name, v],
        )
        .map_err(pg)?;
    }
    // The papers, in the table's chunks.
    {
        let writer = tx
            .copy_in("COPY motcua_files (name, chunk, bytes) FROM STDIN (FORMAT binary)")
            .map_err(pg)?;
        let mut rows = CopyRows::start(writer)?;
        let mut reader = open()?;
        let mut buf = vec![0u8; super::files::CHUNK];
        while reader.next(&mut |r| {
            if let Record::File { sha256, reader, .. } = r {
                let mut chunk = 0i32;
                loop {
                    let mut filled = 0;
                    while filled < buf.len() {
                        match reader.read(&mut buf[filled..])? {
                            0 => break,
                            n => filled += n,
                        }
                    }
                    if filled == 0 && chunk > 0 {
                        break;
                    }
                    rows.row(&[sha256.as_bytes(), &chunk.to_be_bytes(), &buf[..filled]])?;
                    chunk += 1;
                    if filled < buf.len() {
                        break;
                    }
                }
            }
            Ok(())
        })? {}
        same_file(&reader.checksum(), &checked)?;
        rows.end()?.finish().map_err(pg)?;
    }
    tx.commit().map_err(pg)?;
    let store = PgStore::open(url, Options::default())?;
    let (count, head) = crate::read::AuditReader::audit_head(&store)?;
    if count != checked.manifest.audit_count || head != checked.manifest.audit_head {
        return Err(Error::Chain(format!(
            "the restored store ends at entry {count}, the backup at {}",
            checked.manifest.audit_count
        )));
    }
    Ok(checked)
}
