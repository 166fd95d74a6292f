-- Households: sharing devices by invitation, members' time boxes, and the membership history.
--
-- 1. Invitations: an owner offers one or more of its devices to whoever opens the link (or
--    only to the account holding one identifier). The token is kept only as its SHA-256; an
--    invitation is used once, expires, and can be revoked before use.
-- 2. A grant may hold a weekly schedule (JSON: an IANA time zone and periods per weekday);
--    outside it the grant gives nothing. The devices shared with an account are looked up by
--    the account.
-- 3. The membership history: who was invited, joined, changed, removed or left, per device and
--    owner. Unbinding the device deletes it with the grants.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms.

CREATE TABLE invitations (
    id                      TEXT PRIMARY KEY,          -- UUIDv7
    token_hash              BLOB NOT NULL UNIQUE,      -- SHA-256 of the token (never the token)
    inviter                 TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    devices                 TEXT NOT NULL,             -- the UIDs offered, comma-separated
    bound_index             BLOB,                      -- keyed blind index of the one identifier it is for; NULL: anyone
    created_at_ms           INTEGER NOT NULL,
    expires_at_ms           INTEGER NOT NULL,
    used_at_ms              INTEGER,                   -- NULL until accepted (once)
    used_by                 TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    revoked_at_ms           INTEGER                    -- the inviter took it back before use
);
CREATE INDEX invitations_by_inviter ON invitations (inviter, created_at_ms);

ALTER TABLE device_grants ADD COLUMN schedule TEXT;    -- weekly schedule (JSON); NULL: always
CREATE INDEX device_grants_by_account ON device_grants (account_id);

CREATE TABLE membership_history (
    id                      TEXT PRIMARY KEY,          -- UUIDv7
    uid                     TEXT NOT NULL REFERENCES devices (uid) ON DELETE CASCADE,
    owner                   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    member                  TEXT REFERENCES accounts (id) ON DELETE SET NULL,  -- NULL: an invitation
    action                  TEXT NOT NULL CHECK (action IN ('invited', 'joined', 'changed', 'removed', 'left')),
    at_ms                   INTEGER NOT NULL
);
CREATE INDEX membership_history_by_device ON membership_history (uid, owner, at_ms);
