-- Person detection on motion events (kankan-events/src/person.rs): what the server's
-- detector made of the event, stored in clear like the event's kind (a label and numbers,
-- nothing that identifies anyone). Old nodes run with this schema unchanged (nullable
-- columns and one with a default only).

-- 'pending' while the analysis runs, then 'person', 'none' (the event ended without one) or
-- 'failed' (no picture could be analysed); NULL: not analysed (detection off, not motion).
ALTER TABLE events ADD COLUMN verdict TEXT;
-- 1: the camera alerts only on a person (alert_on = person): the dispatcher waits for the
-- verdict before telling anyone.
ALTER TABLE events ADD COLUMN hold_alert BIGINT NOT NULL DEFAULT 0;
-- The first person seen: 'person', its score and its box relative to the picture, all in
-- ten-thousandths (0-10000).
ALTER TABLE events ADD COLUMN label TEXT;
ALTER TABLE events ADD COLUMN score_e4 BIGINT;
ALTER TABLE events ADD COLUMN box_x_e4 BIGINT;
ALTER TABLE events ADD COLUMN box_y_e4 BIGINT;
ALTER TABLE events ADD COLUMN box_w_e4 BIGINT;
ALTER TABLE events ADD COLUMN box_h_e4 BIGINT;
CREATE INDEX events_label ON events (account_id, label, started_at_ms);
