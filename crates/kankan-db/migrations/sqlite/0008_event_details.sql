-- Event details: the doorbell's kinds (press, loiter) and tamper join motion; each event keeps
-- the playback range of its clip (a few seconds of pre-roll before it) and may have a
-- thumbnail; a deleted event leaves a tombstone, so an end (or a redelivered start) arriving
-- after the user deleted it does not bring it back. SQLite cannot alter a CHECK constraint:
-- the table is rebuilt (create, copy, drop, rename) and its index recreated.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms. Rows, tombstones included,
-- are deleted 30 days after they started.

CREATE TABLE events_new (
    id                      TEXT PRIMARY KEY,          -- UUIDv7
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uid                     TEXT NOT NULL,             -- the device
    kind                    TEXT NOT NULL CHECK (kind IN ('motion', 'press', 'loiter', 'tamper')),
    started_at_ms           INTEGER NOT NULL,
    ended_at_ms             INTEGER,                   -- NULL while it goes on (press, tamper: = start)
    zone                    INTEGER,                   -- the activity zone, if the device has zones
    read_at_ms              INTEGER,                   -- NULL until the user opened it
    created_at_ms           INTEGER NOT NULL,
    clip_from_ms            INTEGER NOT NULL,          -- playback range: start - 5 s (pre-roll) ...
    clip_to_ms              INTEGER NOT NULL,          -- ... to (end, or start while it goes on) + 2 s
    deleted_at_ms           INTEGER,                   -- the user deleted it: a tombstone, listed nowhere
    UNIQUE (uid, kind, started_at_ms)
);
INSERT INTO events_new (id, account_id, uid, kind, started_at_ms, ended_at_ms, zone, read_at_ms,
                        created_at_ms, clip_from_ms, clip_to_ms, deleted_at_ms)
    SELECT id, account_id, uid, kind, started_at_ms, ended_at_ms, zone, read_at_ms, created_at_ms,
           started_at_ms - 5000, COALESCE(ended_at_ms, started_at_ms) + 2000, NULL
    FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_by_account ON events (account_id, started_at_ms);

-- An event's picture: a JPEG sealed under the owner's account key (field
-- `event-thumbnail/{event id}`); it goes with its event (deleted, tombstoned or expired).
CREATE TABLE event_thumbnails (
    event_id                TEXT PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    jpeg_enc                BLOB NOT NULL,
    created_at_ms           INTEGER NOT NULL
);
