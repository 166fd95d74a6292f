-- Recording modes: what of a device's video the server keeps, chosen by its owner in the
-- device's settings. Kept in clear beside the sealed settings, so that the ingest and the
-- retention sweep act on it without the owner's key:
--   'continuous' (everything, for the retention period; the default),
--   'events'     (only the footage an event protects: its pre-roll and clip),
--   'card-only'  (nothing: the video stays on the camera's SD card).
-- device_state goes with the binding (unbinding deletes the row), so a new owner starts
-- with 'continuous'. Times are milliseconds since the Unix epoch (UTC), named *_ms.

ALTER TABLE device_state ADD COLUMN recording_mode TEXT COLLATE "C" NOT NULL DEFAULT 'continuous'
    CHECK (recording_mode IN ('continuous', 'events', 'card-only'));
-- When the mode was chosen: it applies to footage from then on (what was recorded before
-- stays until retention, or until its owner deletes it).
ALTER TABLE device_state ADD COLUMN recording_mode_since_ms BIGINT NOT NULL DEFAULT 0;
