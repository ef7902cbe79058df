//! `motcua backup` and `motcua restore`: a store's whole state in one checksummed file, and
//! back into an empty data folder or database, of either kind (restoring a sled backup into
//! PostgreSQL is how a province moves). See docs/operations.md.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use motcua::store::backup::{self, Summary};

#[derive(Args)]
pub struct BackupArgs {
    /// The sled store's data folder (the server stopped; while it runs, use --server).
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// A PostgreSQL store (postgres://…), backed up from one snapshot while its nodes run.
    #[arg(long)]
    pub store: Option<String>,
    /// A running `motcua serve` (http://host:port): the backup is taken by the server from its
    /// own store while it keeps working. Needs --token of an admin.
    #[arg(long)]
    pub server: Option<String>,
    /// An admin's bearer token, for --server.
    #[arg(long)]
    pub token: Option<String>,
    /// The backup file to write (written beside it first, renamed when complete).
    #[arg(long, short)]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The backup file.
    #[arg(long)]
    pub from: PathBuf,
    /// The data folder to restore a sled store into (absent or empty).
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// A PostgreSQL database to restore into instead (postgres://…; holding no dossier).
    #[arg(long)]
    pub store: Option<String>,
    /// Only check the backup (checksum, files, audit chain); write nothing.
    #[arg(long)]
    pub check: bool,
}

fn failed(e: backup::Error) -> anyhow::Error {
    anyhow::anyhow!("error: {e}")
}

fn report(verb: &str, s: &Summary) {
    println!(
        "{verb}: {} audit entries (head {}), {} dossiers, {} keys, {} marks, {} files ({} bytes); checksum {}",
        s.manifest.audit_count,
        s.manifest.audit_head,
        s.manifest.dossiers,
        s.keys,
        s.marks,
        s.files,
        s.file_bytes,
        s.checksum
    );
}

pub fn backup(a: BackupArgs) -> anyhow::Result<ExitCode> {
    let token = match (&a.server, a.token.as_deref()) {
        (Some(_), None) => anyhow::bail!("--server needs --token (an admin's)"),
        (_, t) => t.unwrap_or_default(),
    };
    let part = part_of(&a.out);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&part)?);
    let written = match (&a.server, &a.store) {
        (Some(server), _) => {
            download(server, token, &mut file)?;
            file.flush()?;
            // What arrived is checked like any backup before it is kept.
            backup::check(std::fs::File::open(&part)?).map_err(failed)?
        }
        (None, Some(url)) => motcua::store::pg::backup::backup(url, &mut file).map_err(failed)?,
        (None, None) => {
            // Read once, front to back: a small cache is enough (sled's default would hold a
            // gigabyte of pages the backup never reads again).
            let options = motcua::store::sled::Options {
                cache_bytes: 64 << 20,
                ..Default::default()
            };
            let store =
                motcua::store::sled::SledStore::open_existing(&a.data, options).map_err(|e| {
                    anyhow::anyhow!(
                        "error: {e}\n(while `motcua serve` runs on this folder it holds the store: \
                         take the backup through it with --server http://… --token …)"
                    )
                })?;
            let summary = store.backup(&mut file).map_err(failed)?;
            store.shutdown();
            summary
        }
    };
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&part, &a.out)?;
    if let Some(dir) = a.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    report(&format!("backed up to {}", a.out.display()), &written);
    Ok(ExitCode::SUCCESS)
}

pub fn restore(a: RestoreArgs) -> anyhow::Result<ExitCode> {
    if a.check {
        let s = backup::check(std::fs::File::open(&a.from)?).map_err(failed)?;
        report(
            &format!("{} is complete and its chain holds", a.from.display()),
            &s,
        );
        return Ok(ExitCode::SUCCESS);
    }
    let s = match &a.store {
        Some(url) => motcua::store::pg::backup::restore(url, &a.from).map_err(failed)?,
        None => motcua::store::sled::restore(&a.data, &a.from).map_err(failed)?,
    };
    let to = a.store.as_deref().map_or_else(
        || a.data.display().to_string(),
        |_| "the database".to_string(),
    );
    report(&format!("restored into {to} and verified"), &s);
    println!(
        "copy the data folder's keys (status.key, the tokens file, the checkpoint key) from the old \
         installation: a backup holds the store, not its secrets"
    );
    Ok(ExitCode::SUCCESS)
}

fn part_of(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    out.with_file_name(name)
}

/// Streams `GET /v1/backup` from a running server into `out`.
fn download(server: &str, token: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let rest = server.strip_prefix("http://").ok_or_else(|| {
        anyhow::anyhow!("--server must be http://host:port (behind TLS, run this on the host)")
    })?;
    let host = rest.trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host)?;
    write!(
        stream,
        "GET /v1/backup HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reader = std::io::BufReader::new(stream);
    let mut status = String::new();
    std::io::BufRead::read_line(&mut reader, &mut status)?;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut reader, &mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if line.eq_ignore_ascii_case("transfer-encoding: chunked") {
            chunked = true;
        }
    }
    if !status.contains(" 200 ") {
        let mut body = String::new();
        std::io::Read::read_to_string(&mut reader, &mut body)?;
        anyhow::bail!("the server refused: {} {}", status.trim(), body.trim());
    }
    if !chunked {
        std::io::copy(&mut reader, out)?;
        return Ok(());
    }
    loop {
        let mut size = String::new();
        std::io::BufRead::read_line(&mut reader, &mut size)?;
        let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| anyhow::anyhow!("the server's answer broke off"))?;
        if n == 0 {
            return Ok(());
        }
        std::io::copy(&mut std::io::Read::take(&mut reader, n as u64), out)?;
        let mut crlf = [0u8; 2];
        std::io::Read::read_exact(&mut reader, &mut crlf)?;
    }
}
