-- Recording: each bound device's media data key, init segments, stored segments, the spans of
-- the timeline, storage use per account, and blobs waiting to be deleted.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms.

CREATE TABLE media_keys (
    uid                     TEXT PRIMARY KEY REFERENCES devices (uid) ON DELETE CASCADE,
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key_enc                 BLOB NOT NULL,             -- the device's data key, sealed under the owner's account key
    created_at_ms           INTEGER NOT NULL
);
CREATE INDEX media_keys_by_account ON media_keys (account_id);

CREATE TABLE media_inits (
    id                      INTEGER PRIMARY KEY,
    uid                     TEXT NOT NULL REFERENCES devices (uid) ON DELETE CASCADE,
    digest                  BLOB NOT NULL,             -- keyed hash of the init bytes: one row per distinct init
    blob_id                 BLOB NOT NULL,             -- 16-byte blob id of the sealed init segment
    codecs                  TEXT NOT NULL,             -- RFC 6381, e.g. avc1.64001f
    width                   INTEGER NOT NULL,
    height                  INTEGER NOT NULL,
    created_at_ms           INTEGER NOT NULL,
    UNIQUE (uid, digest)
);

-- Kept small on purpose (index bytes per stream-minute are a benchmark figure).
CREATE TABLE media_segments (
    id                      INTEGER PRIMARY KEY,
    uid                     TEXT NOT NULL REFERENCES devices (uid) ON DELETE CASCADE,
    stream                  INTEGER NOT NULL,          -- 0 main, 1 sub
    init_id                 INTEGER NOT NULL REFERENCES media_inits (id),
    start_ms                INTEGER NOT NULL,          -- wall clock of the first (key) frame
    duration_ms             INTEGER NOT NULL,
    bytes                   INTEGER NOT NULL,          -- sealed size in the blob store
    frames                  INTEGER NOT NULL,
    blob_id                 BLOB NOT NULL,             -- 16 bytes
    protected_until_ms      INTEGER                    -- an event keeps it from eviction until then
);
-- One segment per stream and start: a replayed journal or a repeated upload is a no-op.
CREATE UNIQUE INDEX media_segments_by_time ON media_segments (uid, stream, start_ms);
CREATE INDEX media_segments_by_start ON media_segments (start_ms);

CREATE TABLE media_spans (
    uid                     TEXT NOT NULL REFERENCES devices (uid) ON DELETE CASCADE,
    stream                  INTEGER NOT NULL,
    start_ms                INTEGER NOT NULL,
    end_ms                  INTEGER NOT NULL,
    PRIMARY KEY (uid, stream, start_ms)
) WITHOUT ROWID;

CREATE TABLE media_usage (
    account_id              TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    bytes                   INTEGER NOT NULL DEFAULT 0,
    evicted_bytes           INTEGER NOT NULL DEFAULT 0, -- footage removed early because the quota was full
    alert_at_ms             INTEGER                     -- last time the quota forced an eviction
);

-- Blobs whose rows are gone; a worker deletes the objects, then the row.
CREATE TABLE blob_trash (
    blob_id                 BLOB PRIMARY KEY,
    trashed_at_ms           INTEGER NOT NULL
) WITHOUT ROWID;
