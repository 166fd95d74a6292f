-- Device grants: capabilities an owner gives another account on one device (sharing). A grant
-- is time-boxed (expires_at_ms) and revocable (revoked_at_ms); it counts only while neither has
-- passed and while the account that granted it still owns the device. Unbinding the device
-- deletes its grants (in the unbind transaction).
-- capabilities is a comma-separated list of stable capability names, in any order:
-- view, view-live, play-back, download, talk, move-ptz, change-settings, receive-alarms,
-- share, unbind. A name this server does not know grants nothing.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms.

CREATE TABLE device_grants (
    id                      TEXT PRIMARY KEY,          -- UUIDv7
    uid                     TEXT NOT NULL REFERENCES devices (uid) ON DELETE CASCADE,  -- the device shared
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,  -- the account it is shared with
    granted_by              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,  -- the owner who granted it
    capabilities            TEXT NOT NULL,             -- comma-separated capability names (see above)
    created_at_ms           INTEGER NOT NULL,          -- when it was granted
    expires_at_ms           INTEGER,                   -- when it stops counting; NULL: until revoked
    revoked_at_ms           INTEGER                    -- when the owner revoked it; NULL: not revoked
);
-- The decision looks up one account's grants on one device.
CREATE INDEX device_grants_by_device ON device_grants (uid, account_id);
