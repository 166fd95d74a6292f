-- Events: what a device noticed (motion so far), one row per event, owned by the account the
-- device was bound to when it happened. A start and its end arrive as two messages: the same
-- (uid, kind, started_at_ms) makes them one row, and a message delivered twice changes nothing.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms. Rows are deleted after 30 days.

CREATE TABLE events (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- UUIDv7
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uid                     TEXT COLLATE "C" NOT NULL,             -- the device
    kind                    TEXT COLLATE "C" NOT NULL CHECK (kind IN ('motion')),
    started_at_ms           BIGINT NOT NULL,
    ended_at_ms             BIGINT,                   -- NULL while it goes on
    zone                    BIGINT,                   -- the activity zone, if the device has zones
    read_at_ms              BIGINT,                   -- NULL until the user opened it
    created_at_ms           BIGINT NOT NULL,
    UNIQUE (uid, kind, started_at_ms)
);
CREATE INDEX events_by_account ON events (account_id, started_at_ms);
