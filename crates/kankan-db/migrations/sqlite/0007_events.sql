-- Events: what a device noticed (motion so far), one row per event, owned by the account the
-- device was bound to when it happened. A start and its end arrive as two messages: the same
-- (uid, kind, started_at_ms) makes them one row, and a message delivered twice changes nothing.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms. Rows are deleted after 30 days.

CREATE TABLE events (
    id                      TEXT PRIMARY KEY,          -- UUIDv7
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uid                     TEXT NOT NULL,             -- the device
    kind                    TEXT NOT NULL CHECK (kind IN ('motion')),
    started_at_ms           INTEGER NOT NULL,
    ended_at_ms             INTEGER,                   -- NULL while it goes on
    zone                    INTEGER,                   -- the activity zone, if the device has zones
    read_at_ms              INTEGER,                   -- NULL until the user opened it
    created_at_ms           INTEGER NOT NULL,
    UNIQUE (uid, kind, started_at_ms)
);
CREATE INDEX events_by_account ON events (account_id, started_at_ms);
