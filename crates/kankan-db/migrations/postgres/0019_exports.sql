-- Data exports ("Download my data"): a ZIP of the account's data, built in the background by
-- the `exports` worker, kept sealed and deleted when it expires (the `exports-sweeper`).
-- An export's content is a run of parts, each a sealed record file in the blob store under the
-- export's own data key, which is stored here only wrapped by the account key.
-- state: queued (waiting for the worker), running (being built; lease_until_ms says until when
-- the worker holding it is believed alive: a lapsed lease is claimed again and the export built
-- again from the start), ready (complete: its parts make the ZIP), failed (error holds a code).
-- Times are milliseconds since the Unix epoch (UTC), named *_ms.

CREATE TABLE exports (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- UUIDv7
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    media                   TEXT COLLATE "C" NOT NULL,             -- the media chosen (JSON: album, event clips, recording ranges)
    state                   TEXT COLLATE "C" NOT NULL CHECK (state IN ('queued', 'running', 'ready', 'failed')),
    attempts                BIGINT NOT NULL,          -- how many times a worker claimed it
    lease_until_ms          BIGINT,                   -- running: the holder's lease
    done                    BIGINT NOT NULL,          -- progress: files written ...
    total                   BIGINT NOT NULL,          -- ... of this many (0 until it runs)
    size_bytes              BIGINT NOT NULL,          -- the ZIP's size once ready (0 before)
    key_enc                 BYTEA,                      -- the data key of its parts, sealed under the account key
    error                   TEXT COLLATE "C",                      -- failed: a stable code
    created_at_ms           BIGINT NOT NULL,
    ready_at_ms             BIGINT,
    expires_at_ms           BIGINT NOT NULL           -- deleted (row and parts) after this
);
CREATE INDEX exports_by_account ON exports (account_id, created_at_ms);
CREATE INDEX exports_by_state ON exports (state, created_at_ms);
CREATE INDEX exports_by_expiry ON exports (expires_at_ms);

-- The sealed parts of an export's ZIP, in order; a part's blob goes to the trash with its row.
CREATE TABLE export_parts (
    export_id               TEXT COLLATE "C" NOT NULL REFERENCES exports (id) ON DELETE CASCADE,
    n                       BIGINT NOT NULL,          -- 0, 1, ...
    blob_id                 BYTEA NOT NULL,             -- 16-byte blob id of the sealed part
    bytes                   BIGINT NOT NULL,          -- the part's clear size
    PRIMARY KEY (export_id, n)
);
