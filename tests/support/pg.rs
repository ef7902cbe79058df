//! A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` in a temp folder, a free
//! port on 127.0.0.1, started on first use and stopped when the process that started it ends
//! (a watchdog beside the server checks for it every second, so even a test killed with
//! SIGKILL leaves no server behind). The watchdog then removes the folder: the cluster lives
//! in a static, whose `TempDir` is never dropped, and a few hundred MB left in /tmp by every
//! test binary filled the disk CI shares. It runs as the invoking user, or as `postgres` when that
//! is root (PostgreSQL refuses to run as root). Each store gets a database of its own.
//!
//! The binaries come from `MOTCUA_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`
//! (Debian's `postgresql` package, which `.ci/run` installs), else `PATH`. A child process
//! (the crash tests' writer, a server node) finds its parent's cluster through
//! [`ENV_PORT`] instead of starting another.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Set for child processes: the port of the cluster their parent started.
pub const ENV_PORT: &str = "MOTCUA_TEST_PG_PORT";
const USER: &str = "motcua";

pub struct Cluster {
    pub port: u16,
    bin: PathBuf,
    /// Kept so the folder outlives the server; `None` in a child using its parent's.
    _dir: Option<tempfile::TempDir>,
    /// The watchdog shell that runs the server; it ends with this process, and the server
    /// with it.
    _server: Option<std::process::Child>,
}

fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MOTCUA_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => PathBuf::new(),
    }
}

fn is_root() -> bool {
    // The tests need no libc binding for this: `id -u` says.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A command run as the cluster's owner.
fn as_owner(bin: &Path, program: &str, root: bool) -> Command {
    let exe = if bin.as_os_str().is_empty() {
        PathBuf::from(program)
    } else {
        bin.join(program)
    };
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start() -> Cluster {
    let bin = bin_dir();
    if let Some(port) = std::env::var(ENV_PORT).ok().and_then(|p| p.parse().ok()) {
        return Cluster {
            port,
            bin,
            _dir: None,
            _server: None,
        };
    }
    let root = is_root();
    let dir = tempfile::Builder::new()
        .prefix("motcua-pg-")
        .tempdir()
        .expect("a temp folder for the cluster");
    if root {
        let ok = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cannot give the cluster's folder to the postgres user");
    }
    let data = dir.path().join("data");
    let out = as_owner(&bin, "initdb", root)
        .arg("-D")
        .arg(&data)
        .args([
            "-A",
            "trust",
            "-U",
            USER,
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run initdb ({e}): install PostgreSQL (Debian: apt-get install postgresql) \
                 or set MOTCUA_PG_BIN to its bin folder"
            )
        });
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let postgres = if bin.as_os_str().is_empty() {
        PathBuf::from("postgres")
    } else {
        bin.join("postgres")
    };
    // The server stops (fast shutdown) once this process is gone, and then its folder is
    // removed; a server that stopped early leaves its log for the panic below until then.
    // Paths go in as arguments, never pasted into the script.
    // fsync=off: a throwaway cluster needs no protection from an OS crash or a power cut, and
    // no test kills the server (they kill engine processes: a commit is in the server's WAL,
    // and the kernel's page cache, either way). The store still commits with
    // synchronous_commit on, so what a test checks is unchanged; only the disk flush per
    // commit is gone, which made the PostgreSQL runs wait on a disk that CI's builds share
    // (crash::the_same_tests_pass_on_postgresql: 148 s with fsync, 75 s without).
    let script = "\"$1\" -D \"$2\" -p \"$3\" -k \"$4\" -c listen_addresses=127.0.0.1 \
         -c max_connections=300 -c shared_buffers=128MB -c log_min_messages=warning \
         -c min_wal_size=32MB -c max_wal_size=96MB -c fsync=off >\"$4/server.log\" 2>&1 & pg=$!; \
         while [ -d \"/proc/$5\" ] && kill -0 $pg 2>/dev/null; do sleep 1; done; \
         kill -INT $pg 2>/dev/null; wait $pg; \
         while [ -d \"/proc/$5\" ]; do sleep 1; done; rm -rf -- \"$4\"";
    let mut sh = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]);
        c
    } else {
        Command::new("env")
    };
    sh.args(["sh", "-c", script, "motcua-pg-watchdog"])
        .arg(&postgres)
        .arg(&data)
        .arg(port.to_string())
        .arg(dir.path())
        .arg(std::process::id().to_string());
    let server = sh
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the cluster starts");
    let cluster = Cluster {
        port,
        bin,
        _dir: Some(dir),
        _server: Some(server),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if cluster.psql("postgres", "SELECT 1").is_ok() {
            return cluster;
        }
        if Instant::now() > deadline {
            let log = cluster
                ._dir
                .as_ref()
                .and_then(|d| std::fs::read_to_string(d.path().join("server.log")).ok())
                .unwrap_or_default();
            panic!("the test cluster did not start within 60 s:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// This process's cluster, started on first use.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(start)
}

impl Cluster {
    /// Runs SQL with psql; its output, or its error.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let psql = if self.bin.as_os_str().is_empty() {
            PathBuf::from("psql")
        } else {
            self.bin.join("psql")
        };
        let out = Command::new(psql)
            .args([
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                USER,
                "-d",
                db,
                "-c",
                sql,
            ])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).to_string())
        }
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// A new, empty database; its URL.
    pub fn fresh_database(&self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        self.create(&name);
        self.url(&name)
    }

    /// The database that stands for a store folder: the same folder gives the same
    /// database, in this process and its children, so a test that reopens a folder reopens
    /// its database.
    pub fn database_for(&self, folder: &Path) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        folder.hash(&mut h);
        let name = format!("f{:016x}", h.finish());
        let exists = self
            .psql(
                "postgres",
                &format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
            )
            .is_ok_and(|o| o == "1");
        if !exists {
            self.create(&name);
        }
        self.url(&name)
    }

    fn create(&self, name: &str) {
        match self.psql("postgres", &format!("CREATE DATABASE {name}")) {
            Ok(_) => {}
            Err(e) if e.contains("already exists") => {}
            Err(e) => panic!("CREATE DATABASE {name}: {e}"),
        }
    }

    /// The environment a child process needs to use this cluster.
    pub fn child_env(&self) -> [(&'static str, String); 1] {
        [(ENV_PORT, self.port.to_string())]
    }
}
