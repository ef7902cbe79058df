-- motcua's records in PostgreSQL: the same ordered key space as the embedded store
-- (engine/src/store/keys.rs), one row per key, so every store runs the same commit rules.
CREATE TABLE motcua_kv (
    k bytea PRIMARY KEY,
    v bytea NOT NULL
);

-- The counters row (audit and outbox sequence, chain head, dossier count) is inserted by
-- the store right after the migrations (store::pg::migrate), encoded by batch::Counters:
-- every committing transaction locks it first, which keeps the audit chain one total order
-- across nodes.

-- Bookkeeping outside the chain (store::Marks): webhook cursors and dead letters, uploaded
-- procedure sources. A delivery cursor row is also its subscriber's lease (FOR UPDATE SKIP
-- LOCKED), so one node at a time delivers to a subscriber.
CREATE TABLE motcua_marks (
    -- Byte order, so listing by prefix pages the same whatever the database's locale.
    name text COLLATE "C" PRIMARY KEY,
    v bytea NOT NULL
);

-- Timers are claimed by shard of dossier code with FOR UPDATE SKIP LOCKED: the node that
-- holds a shard's row fires that shard's due timers; the others pass them over.
CREATE TABLE motcua_timer_shards (
    shard integer PRIMARY KEY
);
INSERT INTO motcua_timer_shards (shard) SELECT generate_series(0, 15);
