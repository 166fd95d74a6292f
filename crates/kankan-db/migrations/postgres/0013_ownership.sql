-- Ownership changes leave nothing behind.
--
-- 1. Event rows are keyed by their owner as well as the device: the same (uid, kind, start)
--    of two accounts are two rows, so a device bound to another account can neither update
--    nor be swallowed by the previous owner's rows.
-- 2. Device secret rotation: a new secret waits, as a keyed MAC and a sealed pairing key,
--    beside the current one until the device first logs in with it; the message that carries
--    it to the device (sealed under a key derived from the current secret) is kept so that it
--    can be sent again each time the device connects.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms.

ALTER TABLE events DROP CONSTRAINT events_uid_kind_started_at_ms_key;
ALTER TABLE events ADD CONSTRAINT events_account_id_uid_kind_started_at_ms_key
    UNIQUE (account_id, uid, kind, started_at_ms);
CREATE INDEX events_by_device ON events (uid);

ALTER TABLE devices ADD COLUMN next_secret_mac BYTEA;       -- keyed MAC of the secret being rolled out
ALTER TABLE devices ADD COLUMN next_pairing_key_enc BYTEA;  -- its pairing key, under the server data key
ALTER TABLE devices ADD COLUMN rotation_msg BYTEA;          -- the new secret, sealed for the device
ALTER TABLE devices ADD COLUMN rotation_started_at_ms BIGINT;
