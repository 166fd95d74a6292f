-- Ownership changes leave nothing behind.
--
-- 1. Event rows are keyed by their owner as well as the device: the same (uid, kind, start)
--    of two accounts are two rows, so a device bound to another account can neither update
--    nor be swallowed by the previous owner's rows. SQLite cannot change a table's UNIQUE
--    constraint: the table is renamed (its children follow the rename), rebuilt, and its
--    children (thumbnails, delivery records) rebuilt to point at the new table before the
--    old one is dropped, so that dropping it cascades to nothing.
-- 2. Device secret rotation: a new secret waits, as a keyed MAC and a sealed pairing key,
--    beside the current one until the device first logs in with it; the message that carries
--    it to the device (sealed under a key derived from the current secret) is kept so that it
--    can be sent again each time the device connects.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms.

ALTER TABLE events RENAME TO events_old;
CREATE TABLE events (
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
    dispatched_at_ms        INTEGER,                   -- NULL: notifications not queued yet
    UNIQUE (account_id, uid, kind, started_at_ms)
);
INSERT INTO events (id, account_id, uid, kind, started_at_ms, ended_at_ms, zone, read_at_ms,
                    created_at_ms, clip_from_ms, clip_to_ms, deleted_at_ms, dispatched_at_ms)
    SELECT id, account_id, uid, kind, started_at_ms, ended_at_ms, zone, read_at_ms,
           created_at_ms, clip_from_ms, clip_to_ms, deleted_at_ms, dispatched_at_ms
    FROM events_old;
DROP INDEX IF EXISTS events_by_account;
DROP INDEX IF EXISTS events_undispatched;
CREATE INDEX events_by_account ON events (account_id, started_at_ms);
CREATE INDEX events_undispatched ON events (created_at_ms) WHERE dispatched_at_ms IS NULL;
CREATE INDEX events_by_device ON events (uid);

CREATE TABLE event_thumbnails_new (
    event_id                TEXT PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    jpeg_enc                BLOB NOT NULL,
    created_at_ms           INTEGER NOT NULL
);
INSERT INTO event_thumbnails_new (event_id, jpeg_enc, created_at_ms)
    SELECT event_id, jpeg_enc, created_at_ms FROM event_thumbnails;
DROP TABLE event_thumbnails;
ALTER TABLE event_thumbnails_new RENAME TO event_thumbnails;

CREATE TABLE notification_deliveries_new (
    id                      TEXT PRIMARY KEY,          -- UUIDv7
    event_id                TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    channel                 TEXT NOT NULL CHECK (channel IN ('push', 'webhook', 'email', 'sms', 'call')),
    target_id               TEXT,                      -- the push subscription or webhook, if any
    attempt                 INTEGER NOT NULL,          -- 1, 2, ...; 0 for a suppressed decision
    status                  TEXT NOT NULL CHECK (status IN ('sent', 'retry', 'dead', 'suppressed', 'gone')),
    detail                  TEXT NOT NULL,             -- why, in words (never an address or a secret)
    at_ms                   INTEGER NOT NULL
);
INSERT INTO notification_deliveries_new (id, event_id, account_id, channel, target_id, attempt,
                                         status, detail, at_ms)
    SELECT id, event_id, account_id, channel, target_id, attempt, status, detail, at_ms
    FROM notification_deliveries;
DROP TABLE notification_deliveries;
ALTER TABLE notification_deliveries_new RENAME TO notification_deliveries;
CREATE INDEX notification_deliveries_by_event ON notification_deliveries (event_id, at_ms);
CREATE INDEX notification_deliveries_by_status ON notification_deliveries (account_id, status, at_ms);

-- Nothing refers to the old table any more: dropping it deletes nothing else.
DROP TABLE events_old;

ALTER TABLE devices ADD COLUMN next_secret_mac BLOB;       -- keyed MAC of the secret being rolled out
ALTER TABLE devices ADD COLUMN next_pairing_key_enc BLOB;  -- its pairing key, under the server data key
ALTER TABLE devices ADD COLUMN rotation_msg BLOB;          -- the new secret, sealed for the device
ALTER TABLE devices ADD COLUMN rotation_started_at_ms INTEGER;
