-- Event details: the doorbell's kinds (press, loiter) and tamper join motion; each event keeps
-- the playback range of its clip (a few seconds of pre-roll before it) and may have a
-- thumbnail; a deleted event leaves a tombstone, so an end (or a redelivered start) arriving
-- after the user deleted it does not bring it back. (SQLite rebuilds the table for the new
-- CHECK constraint; PostgreSQL alters it in place.)
-- Times are milliseconds since the Unix epoch (UTC), named *_ms. Rows, tombstones included,
-- are deleted 30 days after they started.

ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check
    CHECK (kind IN ('motion', 'press', 'loiter', 'tamper'));
ALTER TABLE events ADD COLUMN clip_from_ms BIGINT;        -- playback range: start - 5 s (pre-roll) ...
ALTER TABLE events ADD COLUMN clip_to_ms BIGINT;          -- ... to (end, or start while it goes on) + 2 s
ALTER TABLE events ADD COLUMN deleted_at_ms BIGINT;       -- the user deleted it: a tombstone, listed nowhere
UPDATE events SET clip_from_ms = started_at_ms - 5000,
                  clip_to_ms = COALESCE(ended_at_ms, started_at_ms) + 2000;
ALTER TABLE events ALTER COLUMN clip_from_ms SET NOT NULL;
ALTER TABLE events ALTER COLUMN clip_to_ms SET NOT NULL;

-- An event's picture: a JPEG sealed under the owner's account key (field
-- `event-thumbnail/{event id}`); it goes with its event (deleted, tombstoned or expired).
CREATE TABLE event_thumbnails (
    event_id                TEXT COLLATE "C" PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    jpeg_enc                BYTEA NOT NULL,
    created_at_ms           BIGINT NOT NULL
);
