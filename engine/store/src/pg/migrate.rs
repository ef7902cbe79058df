//! Schema migrations, versioned in the repository (`migrations/NNNN_*.sql`) and applied in
//! order at open or by `motcua migrate --store postgres://…`. Nodes starting together take
//! turns on a row lock of `motcua_schema`, so each migration runs once.

use postgres::Client;

use crate::Error;
use crate::batch::{COUNTERS, Counters, META};

/// Every migration, in order: (version, name, SQL).
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "key space, marks, timer shards",
        include_str!("migrations/0001_key_space.sql"),
    ),
    (
        2,
        "the dossiers' papers",
        include_str!("migrations/0002_files.sql"),
    ),
];

fn failed(what: &str) -> impl Fn(postgres::Error) -> Error + '_ {
    move |e| Error::NotWritten(format!("PostgreSQL migration ({what}): {e}"))
}

/// Applies the migrations the database lacks; returns the versions applied now. A database
/// whose schema is newer than this build knows is refused, untouched.
pub fn migrate(client: &mut Client) -> Result<Vec<i32>, Error> {
    // Nodes starting together on a fresh database take turns from the very first statement
    // (two concurrent CREATE TABLE IF NOT EXISTS can both fail); the lock ends with the
    // transaction.
    client
        .batch_execute(
            "BEGIN; SELECT pg_advisory_xact_lock(7406140001);
             CREATE TABLE IF NOT EXISTS motcua_schema (
                 version integer PRIMARY KEY,
                 name text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now());
             INSERT INTO motcua_schema (version, name) VALUES (0, 'schema table')
                 ON CONFLICT (version) DO NOTHING;
             COMMIT",
        )
        .map_err(failed("the schema table"))?;
    let mut tx = client.transaction().map_err(failed("begin"))?;
    // Version 0's row is the turn: a second node waits here until the first has committed.
    tx.query(
        "SELECT version FROM motcua_schema WHERE version = 0 FOR UPDATE",
        &[],
    )
    .map_err(failed("the schema lock"))?;
    let current: i32 = tx
        .query_one("SELECT max(version) FROM motcua_schema", &[])
        .and_then(|r| r.try_get(0))
        .map_err(failed("the schema version"))?;
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(Error::Unusable {
            path: "postgres".into(),
            problem: format!(
                "the database's schema is at version {current}, newer than this motcua \
                 knows ({newest}); run a newer motcua"
            ),
        });
    }
    let mut applied = vec![];
    for (version, name, sql) in MIGRATIONS {
        if *version <= current {
            continue;
        }
        tx.batch_execute(sql).map_err(failed(name))?;
        tx.execute(
            "INSERT INTO motcua_schema (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .map_err(failed(name))?;
        applied.push(*version);
    }
    let empty = Counters {
        audit_seq: 0,
        outbox_seq: 0,
        dossiers: 0,
        audit_head: motcua_core::audit::GENESIS.to_string(),
    };
    let mut key = vec![META];
    key.extend_from_slice(COUNTERS);
    tx.execute(
        "INSERT INTO motcua_kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING",
        &[&key, &empty.encode()],
    )
    .map_err(failed("the counters row"))?;
    tx.commit().map_err(failed("commit"))?;
    Ok(applied)
}
