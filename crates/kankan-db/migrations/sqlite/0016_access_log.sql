-- The access log: who watched a device live, played back, downloaded or talked through it,
-- and when, for its owner to read. A row is written when a signed media link is issued (live,
-- talk, playback) and when footage is copied (an MP4 export, an Album clip or screenshot);
-- repeats of the same account and kind on the same device within 5 minutes are one row.
-- Rows are deleted after 30 days (the retention worker) and with the device on unbind (in the
-- unbind transaction).
-- kind is one of: live, playback, download, talk.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms.

CREATE TABLE device_access_log (
    id                      TEXT PRIMARY KEY,          -- UUIDv7
    uid                     TEXT NOT NULL REFERENCES devices (uid) ON DELETE CASCADE,  -- the device accessed
    owner_id                TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,  -- its owner then
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,  -- the account that accessed it
    kind                    TEXT NOT NULL CHECK (kind IN ('live', 'playback', 'download', 'talk')),
    at_ms                   INTEGER NOT NULL           -- when
);
-- The owner reads one device's log, newest first; the repeat check looks back 5 minutes.
CREATE INDEX device_access_log_by_device ON device_access_log (uid, at_ms);
-- The retention sweep deletes by age.
CREATE INDEX device_access_log_by_time ON device_access_log (at_ms);
