//! What the server's benchmarks share: knobs from the environment, the median of rounds, the
//! fixture procedures, and the server itself, in the benchmark's process on a free port.

// Each benchmark uses a part of this.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use motcua::Engine;
use motcua::clock::ManualClock;
use motcua_server::auth::TokenEntry;

/// A setting from the environment, or `default`.
pub fn knob<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a valid value")),
        Err(_) => default,
    }
}

/// The middle of the rounds (the upper middle of an even number).
pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The engine tests' fixture procedures, which every benchmark runs.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/engine")
}

/// Serves `engine` on a free port of 127.0.0.1 from a thread of this process, with these
/// credentials, the manual clock, no rate limit on credentials and `public_rate` per address
/// on the public pages; returns once it listens.
pub fn serve(
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    data: &Path,
    tokens: Vec<TokenEntry>,
    public_rate: u32,
) -> SocketAddr {
    serve_with(engine, clock, data, tokens, public_rate, None)
}

/// [`serve`] with notices to applicants configured.
pub fn serve_with(
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    data: &Path,
    tokens: Vec<TokenEntry>,
    public_rate: u32,
    notices: Option<motcua_server::notify::NoticesFile>,
) -> SocketAddr {
    let addr = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let config = motcua_server::Config {
        listen: addr,
        data: data.to_path_buf(),
        procedures: fixture_dir(),
        plugins: None,
        tokens,
        dev: false,
        jwt: None,
        webhooks: None,
        checkpoint_key: None,
        rate_per_second: 0,
        rate_burst: 0,
        public_rate_per_second: public_rate,
        manual_clock: Some(clock),
        limits: motcua_server::door::Limits::default(),
        public_url: None,
        offices: Default::default(),
        scenarios: Default::default(),
        notices,
    };
    std::thread::Builder::new()
        .name("bench-server".into())
        .spawn(move || {
            if let Err(e) = motcua_server::serve(engine, config) {
                eprintln!("the server stopped: {e}");
                std::process::exit(1);
            }
        })
        .expect("the server's thread");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the server did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    addr
}
