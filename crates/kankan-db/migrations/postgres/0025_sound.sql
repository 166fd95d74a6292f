-- Sound alarms: events of kind 'sound' (a loud noise or a sustained sound above the camera's
-- background level), with the loudest peak in dBFS; their duration is end - start.

ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check
    CHECK (kind IN ('motion', 'press', 'loiter', 'tamper', 'sound'));
ALTER TABLE events ADD COLUMN level_db SMALLINT;           -- sound: the loudest peak, dBFS (-100..0)
