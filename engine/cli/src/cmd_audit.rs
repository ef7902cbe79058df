//! `motcua audit`: prove the log (verify, against a signed checkpoint too), sign checkpoints,
//! and read it (list, export, the process-control slip: `cmd_audit_read`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use motcua::audit::checkpoint::{Checkpoint, KeyFile, PublicKeyFile};
use motcua::audit::{VerifyOptions, verify_store};
use motcua::store::Reader;
use motcua::store::sled::{Options, SledStore};

use crate::cmd_audit_read;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Prove the log: every entry hashed as stored and chained, the head and count the store
    /// records, every dossier record against the entry that wrote it, and with --checkpoint
    /// that the log still extends a signed checkpoint. Exit 0 `ok: N entries, head H`, exit 1
    /// naming the first bad entry or dossier.
    Verify(VerifyArgs),
    /// Create an Ed25519 signing key for checkpoints: FILE (secret, keep it safe) and
    /// FILE.pub (give it to whoever keeps checkpoints).
    Keygen {
        #[arg(long)]
        out: PathBuf,
        /// The agency the key signs for (its electronic id, e.g. 000.00.00.H17).
        #[arg(long)]
        agency: String,
    },
    /// Print a signed checkpoint of the log's count and head, for an outside party to keep.
    Checkpoint {
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// A PostgreSQL store (postgres://…) instead of the sled store in --data.
        #[arg(long)]
        store: Option<String>,
        #[arg(long)]
        key: PathBuf,
    },
    #[command(flatten)]
    Read(cmd_audit_read::Command),
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// A PostgreSQL store (postgres://…) instead of the sled store in --data: proved against
    /// one consistent snapshot, while the nodes keep running.
    #[arg(long)]
    pub store: Option<String>,
    /// Only the chain, not the dossier records.
    #[arg(long)]
    pub chain_only: bool,
    /// A checkpoint kept earlier (`motcua audit checkpoint`), which the log must extend.
    #[arg(long, requires = "pubkey")]
    pub checkpoint: Option<PathBuf>,
    /// The public key file (`FILE.pub` of `motcua audit keygen`) the checkpoint must verify with.
    #[arg(long, requires = "checkpoint")]
    pub pubkey: Option<PathBuf>,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Verify(a) => verify(a),
        Command::Keygen { out, agency } => keygen(&out, &agency),
        Command::Checkpoint { data, store, key } => checkpoint(&data, store.as_deref(), &key),
        Command::Read(c) => cmd_audit_read::run(c),
    }
}

/// Opens a store only to read it: the sled store in `data`, or a snapshot of the PostgreSQL
/// store at `url` (one consistent view, whatever the nodes commit meanwhile).
pub fn open_reading(data: &Path, url: Option<&str>) -> anyhow::Result<Box<dyn Reader>> {
    if let Some(url) = url {
        return motcua::store::pg::PgSnapshot::open(url)
            .map(|s| Box::new(s) as Box<dyn Reader>)
            .map_err(|e| {
                let e = motcua::Error::from(e);
                anyhow::anyhow!("error[{}]: {e}", e.code())
            });
    }
    SledStore::open_existing(
        data,
        Options {
            fsync: false,
            // Verification streams the whole log once: a small cache is enough.
            cache_bytes: 16 << 20,
            ..Options::default()
        },
    )
    .map(|s| Box::new(s) as Box<dyn Reader>)
    .map_err(|e| {
        let e = motcua::Error::from(e);
        anyhow::anyhow!("error[{}]: {e}", e.code())
    })
}

/// Key and checkpoint files are a few hundred bytes; anything past this is not one.
const MAX_SMALL_FILE: u64 = 64 * 1024;

pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<T> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {what} {}", path.display()))?
        .len();
    if size > MAX_SMALL_FILE {
        anyhow::bail!(
            "{what} {} is {size} bytes: not a {what} file",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {what} {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{what} {} is not valid", path.display()))
}

fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let store = open_reading(&a.data, a.store.as_deref())?;
    let kept = match (&a.checkpoint, &a.pubkey) {
        (Some(c), Some(k)) => Some((
            read_json::<Checkpoint>(c, "checkpoint")?,
            read_json::<PublicKeyFile>(k, "public key")?,
        )),
        _ => None,
    };
    let options = VerifyOptions {
        records: !a.chain_only,
        checkpoint: kept.as_ref().map(|(c, k)| (c, k)),
        live: false,
        ..Default::default()
    };
    match verify_store(&*store, &options) {
        Ok(v) => {
            // The chain holds; now the papers its entries name.
            let files: Box<dyn motcua::store::files::Files> = match a.store.as_deref() {
                Some(url) => Box::new(motcua::store::pg::PgFiles::open(url).map_err(|e| {
                    let e = motcua::Error::from(e);
                    anyhow::anyhow!("error[{}]: {e}", e.code())
                })?),
                None => Box::new(motcua::store::files::DirFiles::existing(
                    a.data.join("papers"),
                )),
            };
            let papers = motcua::audit::papers::verify(&*store, &*files).map_err(|e| {
                let e = motcua::Error::from(e);
                anyhow::anyhow!("error[{}]: {e}", e.code())
            })?;
            if !papers.failed.is_empty() {
                for f in &papers.failed {
                    println!("FAILED: {f}");
                }
                return Ok(ExitCode::from(1));
            }
            print!("ok: {} entries, head {}", v.count, v.head);
            if let Some((c, _)) = &kept {
                print!(
                    ", extends the checkpoint of {} entries signed by {}",
                    c.count, c.agency
                );
            }
            println!();
            println!(
                "papers: {} checked, each present and hashing to the digest its entry records",
                papers.papers
            );
            Ok(ExitCode::SUCCESS)
        }
        // Stored data that does not read back is a finding, not a usage error.
        Err(motcua::audit::proof::Error::Store(e @ motcua::store::Error::Corrupt(_))) => {
            println!("FAILED: {e}");
            Ok(ExitCode::from(1))
        }
        Err(motcua::audit::proof::Error::Store(e)) => {
            let e = motcua::Error::from(e);
            anyhow::bail!("error[{}]: {e}", e.code())
        }
        Err(e) => {
            println!("FAILED: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn keygen(out: &Path, agency: &str) -> anyhow::Result<ExitCode> {
    let key = KeyFile::generate(agency)?;
    let public = key.public()?;
    let pub_path = PathBuf::from(format!("{}.pub", out.display()));
    for path in [out, pub_path.as_path()] {
        if path.exists() {
            anyhow::bail!("{} exists: a key is never overwritten", path.display());
        }
    }
    write_secret(out, &serde_json::to_vec_pretty(&key)?)?;
    std::fs::write(&pub_path, serde_json::to_vec_pretty(&public)?)
        .with_context(|| format!("writing {}", pub_path.display()))?;
    println!(
        "secret key: {} (keep it safe)\npublic key: {} ({})",
        out.display(),
        pub_path.display(),
        public.public_key
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes a file only its owner can read, created new.
fn write_secret(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

fn checkpoint(data: &Path, url: Option<&str>, key: &Path) -> anyhow::Result<ExitCode> {
    let key: KeyFile = read_json(key, "key")?;
    let store = open_reading(data, url)?;
    // A checkpoint vouches for what it signs: only a log that verifies is signed.
    let v = match verify_store(&*store, &VerifyOptions::default()) {
        Ok(v) => v,
        Err(e) => {
            println!("FAILED: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let cp = key.sign(v.count, &v.head, jiff::Timestamp::now())?;
    println!("{}", serde_json::to_string_pretty(&cp)?);
    Ok(ExitCode::SUCCESS)
}

pub fn migrate(data: &Path, url: Option<&str>) -> anyhow::Result<ExitCode> {
    if let Some(url) = url {
        let applied = motcua::store::pg::migrate_url(url).map_err(|e| {
            let e = motcua::Error::from(e);
            anyhow::anyhow!("error[{}]: {e}", e.code())
        })?;
        match applied.schema.as_slice() {
            [] => println!(
                "already current: schema version {}",
                motcua::store::pg::SCHEMA_VERSION
            ),
            v => println!("migrated: applied schema versions {v:?}"),
        }
        if let Some(n) = applied.reindexed {
            println!("index rebuilt: {n} dossiers");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let m = motcua::store::sled::migrate(data).map_err(|e| {
        let e = motcua::Error::from(e);
        anyhow::anyhow!("error[{}]: {e}", e.code())
    })?;
    if m.reindexed {
        println!("index rebuilt: {} dossiers", m.dossiers);
    }
    if m.migrated {
        println!(
            "migrated: {} entries re-sealed, {} dossiers; old head {}, new head {}",
            m.entries, m.dossiers, m.old_head, m.new_head
        );
    } else {
        println!(
            "already current: {} entries, head {}",
            m.entries, m.new_head
        );
    }
    Ok(ExitCode::SUCCESS)
}
