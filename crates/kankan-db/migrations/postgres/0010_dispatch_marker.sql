-- Dispatch marks: an event's row records when its notifications were queued, so that a server
-- stopping between recording an event and queueing them can dispatch it after restarting
-- (the dispatcher looks for recent unmarked events at start-up and every minute).
-- Times are milliseconds since the Unix epoch (UTC), named *_ms.

ALTER TABLE events ADD COLUMN dispatched_at_ms BIGINT;  -- NULL: notifications not queued yet

-- Events recorded before this migration were dispatched (or are too old to matter).
UPDATE events SET dispatched_at_ms = created_at_ms;

-- The recovery scan reads only the unmarked rows, by creation time.
CREATE INDEX events_undispatched ON events (created_at_ms) WHERE dispatched_at_ms IS NULL;
