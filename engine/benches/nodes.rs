//! Durable transitions per second on PostgreSQL, one, two and three engine nodes, side by
//! side with the embedded sled store and with a raw PostgreSQL baseline, in the same run.
//!
//! `cargo bench -p motcua --bench nodes` starts a throwaway PostgreSQL cluster (the tests'
//! harness, `tests/support/pg.rs`: initdb in a temp folder, fsync and synchronous_commit on)
//! on this machine, then alternates for [`ROUNDS`] rounds of [`RUN`] each:
//! - raw PostgreSQL: what the store writes for 64 transitions, without the engine, from one
//!   connection: one transaction with the head row locked, one upsert of 64 dossier records
//!   of 1.5 KB with their index and timer keys, one delete of the keys they leave, the audit
//!   and outbox chunks and the counters, COMMIT;
//! - sled: the engine on the embedded store, 64 threads walking dossiers through their life
//!   (receipt, two parallel appraisals, consolidation, signature, return: 7 transitions each);
//! - the same load on PostgreSQL through 1, 2 and 3 nodes (an `Engine` with its own
//!   `PgStore`, writer and connections each; the 64 threads spread over them), every
//!   transition committed before it is answered.
//!
//! Each node prints its round trips to the server per transition (BEGIN, the head's lock,
//! the batch's reads, the writes, NOTIFY, COMMIT, divided by the transitions answered).

#[path = "../../tests/support/calendar.rs"]
mod calendar;
#[path = "../../tests/support/pg.rs"]
mod pg;
mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use motcua::Engine;
use motcua::clock::ManualClock;
use motcua::store::Store;

use support::walk::{self, THREADS, fixture_dir, start_clock};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RUN: Duration = Duration::from_secs(4);
const ROUNDS: usize = 2;

fn engine_on(store: Arc<dyn Store>, clock: Arc<ManualClock>) -> Arc<Engine> {
    let engine = Engine::new(store, Arc::new(calendar::test_calendar()), clock).unwrap();
    engine.load_procedures_dir(&fixture_dir()).unwrap();
    Arc::new(engine)
}

/// The shared walk over `engines`: durable transitions per second.
fn load(engines: &[Arc<Engine>], clock: &Arc<ManualClock>) -> f64 {
    let (n, took) = walk::walk(engines, clock, RUN);
    n as f64 / took.as_secs_f64()
}

fn on_sled() -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let clock = start_clock();
    let store = motcua::store::sled::SledStore::open(dir.path(), Default::default()).unwrap();
    let engine = engine_on(Arc::new(store), clock.clone());
    load(&[engine], &clock)
}

fn on_postgres(nodes: usize) -> (f64, f64, f64) {
    let url = pg::cluster().fresh_database();
    let clock = start_clock();
    let stores: Vec<Arc<motcua::store::pg::PgStore>> = (0..nodes)
        .map(|_| Arc::new(motcua::store::pg::PgStore::open(&url, Default::default()).unwrap()))
        .collect();
    let engines: Vec<Arc<Engine>> = stores
        .iter()
        .map(|s| engine_on(s.clone(), clock.clone()))
        .collect();
    let rate = load(&engines, &clock);
    let (mut batches, mut transitions, mut trips) = (0, 0, 0);
    let mut phases = [0u64; 5];
    for s in &stores {
        let st = s.stats();
        batches += st.batches.load(Ordering::Relaxed);
        transitions += st.transitions.load(Ordering::Relaxed);
        trips += st.round_trips.load(Ordering::Relaxed);
        for (p, c) in phases.iter_mut().zip([
            &st.lock_nanos,
            &st.read_nanos,
            &st.rules_nanos,
            &st.write_nanos,
            &st.commit_nanos,
        ]) {
            *p += c.load(Ordering::Relaxed);
        }
    }
    let per = |n: u64| n as f64 / 1e3 / transitions.max(1) as f64;
    println!(
        "  per transition in the writers: lock {:.0} µs, reads {:.0} µs, rules {:.0} µs, \
         writes {:.0} µs, COMMIT {:.0} µs",
        per(phases[0]),
        per(phases[1]),
        per(phases[2]),
        per(phases[3]),
        per(phases[4])
    );
    (
        rate,
        transitions as f64 / batches.max(1) as f64,
        trips as f64 / transitions.max(1) as f64,
    )
}

/// The store's kind of write for 64 transitions per transaction, without the engine.
fn raw_postgres() -> f64 {
    let url = pg::cluster().fresh_database();
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute(
        "CREATE TABLE kv (k bytea PRIMARY KEY, v bytea NOT NULL);
         INSERT INTO kv VALUES ('\\x6d'::bytea, '\\x00'::bytea);",
    )
    .unwrap();
    let lock = c
        .prepare("SELECT v FROM kv WHERE k = $1 FOR UPDATE")
        .unwrap();
    let upsert = c
        .prepare(
            "INSERT INTO kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
             ON CONFLICT (k) DO UPDATE SET v = excluded.v",
        )
        .unwrap();
    let delete = c
        .prepare("DELETE FROM kv WHERE k = ANY($1::bytea[])")
        .unwrap();
    let key = |space: u8, n: u64, step: u64| {
        let mut k = vec![space; 40];
        k.extend_from_slice(&n.to_be_bytes());
        k.extend_from_slice(&step.to_be_bytes());
        k
    };
    let mut n: u64 = 0;
    let start = Instant::now();
    while start.elapsed() < RUN {
        let mut tx = c.transaction().unwrap();
        tx.query(&lock, &[&vec![b'm']]).unwrap();
        let (mut ks, mut vs, mut gone) = (vec![], vec![], vec![]);
        for i in 0..64u64 {
            let d = (n + i) % 1024;
            let step = (n + i) / 1024;
            let mut code = vec![b'd'];
            code.extend_from_slice(&d.to_be_bytes());
            ks.push(code);
            vs.push(vec![b'd'; 1500]);
            for space in [b'i', b't'] {
                for j in 0..2 {
                    gone.push(key(space + j, d, step.wrapping_sub(1)));
                    ks.push(key(space + j, d, step));
                    vs.push(vec![]);
                }
            }
        }
        for (space, bytes) in [(b'a', 64 * 400), (b'o', 64 * 200)] {
            let mut k = vec![space];
            k.extend_from_slice(&n.to_be_bytes());
            ks.push(k);
            vs.push(vec![space; bytes]);
        }
        ks.push(vec![b'm']);
        vs.push(vec![7; 88]);
        tx.execute(&upsert, &[&ks, &vs]).unwrap();
        tx.execute(&delete, &[&gone]).unwrap();
        tx.commit().unwrap();
        n += 64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let cluster = pg::cluster();
    let version = cluster
        .psql("postgres", "SHOW server_version")
        .unwrap_or_default();
    let settings = cluster
        .psql(
            "postgres",
            "SELECT string_agg(name || '=' || setting, ' ') FROM pg_settings \
             WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers', 'wal_level')",
        )
        .unwrap_or_default();
    println!("PostgreSQL {version} on this machine: {settings}");
    for round in 1..=ROUNDS {
        let raw = raw_postgres();
        let sled = on_sled();
        println!(
            "round {round}: raw PostgreSQL (64 per transaction, one connection) {raw:.0}/s; \
             sled, one engine {sled:.0}/s"
        );
        // `MOTCUA_BENCH_NODES=1` measures one node only (for profiling).
        let most: usize = std::env::var("MOTCUA_BENCH_NODES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(3);
        for nodes in 1..=most {
            let (rate, per_batch, trips) = on_postgres(nodes);
            println!(
                "round {round}: PostgreSQL, {nodes} node(s), {THREADS} clients: {rate:.0} \
                 durable transitions/s ({:.0}% of sled, {:.0}% of raw); {per_batch:.1} \
                 transitions per database transaction, {trips:.2} round trips per transition",
                rate * 100.0 / sled,
                rate * 100.0 / raw
            );
        }
    }
}
