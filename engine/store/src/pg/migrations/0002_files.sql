-- The dossiers' papers (store::files): each file once, under its SHA-256, in chunks of at
-- most 1 MiB so that no row is large and an upload streams. An upload in progress writes its
-- chunks under a temporary name ('tmp-…') and renames them in one transaction at its end.
CREATE TABLE motcua_files (
    name text COLLATE "C" NOT NULL,
    chunk integer NOT NULL,
    bytes bytea NOT NULL,
    -- When the chunk was written: files no entry names are collected after a grace period.
    kept_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, chunk)
);
