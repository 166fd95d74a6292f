-- Devices: factory identities, binding to accounts, bind tokens, shadow state and commands.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms.

CREATE TABLE devices (
    uid                     TEXT PRIMARY KEY,          -- printed on the label, e.g. KK7Q2M9XD4TA
    model                   TEXT NOT NULL,             -- e.g. KK-C1
    kind                    TEXT NOT NULL,             -- 'camera' | 'doorbell'
    secret_mac              BLOB NOT NULL,             -- keyed MAC of the device secret; the secret is never stored
    pairing_key_enc         BLOB NOT NULL,             -- HMAC(secret, "pairing"), sealed under the server data key
    batch                   TEXT NOT NULL,             -- provisioning batch (operator's label)
    provisioned_at_ms       INTEGER NOT NULL,
    owner_id                TEXT REFERENCES accounts (id) ON DELETE SET NULL, -- NULL while unbound
    name_enc                BLOB,                      -- the owner's name for it, under the owner's account key
    bound_at_ms             INTEGER
);
CREATE INDEX devices_by_owner ON devices (owner_id);

CREATE TABLE bind_tokens (
    token_hash              BLOB PRIMARY KEY,          -- SHA-256 of the 128-bit token
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uid                     TEXT NOT NULL REFERENCES devices (uid) ON DELETE CASCADE,
    created_at_ms           INTEGER NOT NULL,
    expires_at_ms           INTEGER NOT NULL,
    used_at_ms              INTEGER                    -- set once, when a device claims it
);

CREATE TABLE device_state (
    uid                     TEXT PRIMARY KEY REFERENCES devices (uid) ON DELETE CASCADE,
    reported_enc            BLOB,                      -- last StateReport JSON, under the owner's account key
    reported_at_ms          INTEGER,
    reported_version        INTEGER NOT NULL DEFAULT 0, -- settings_version the device says it applied
    desired_enc             BLOB,                      -- desired Settings JSON, under the owner's account key
    desired_version         INTEGER NOT NULL DEFAULT 0, -- increases with every change by the owner
    online                  INTEGER NOT NULL DEFAULT 0,
    last_seen_ms            INTEGER
);

CREATE TABLE device_commands (
    id                      TEXT PRIMARY KEY,
    uid                     TEXT NOT NULL REFERENCES devices (uid) ON DELETE CASCADE,
    name                    TEXT NOT NULL,             -- e.g. 'reboot', 'ptz-move'
    args_json               TEXT NOT NULL,             -- the whole CommandKind as JSON
    status                  TEXT NOT NULL,             -- 'sent' | 'succeeded' | 'failed' | 'timed-out'
    error                   TEXT,                      -- the device's reason when failed
    created_at_ms           INTEGER NOT NULL,
    deadline_ms             INTEGER NOT NULL,
    finished_at_ms          INTEGER
);
CREATE INDEX device_commands_by_device ON device_commands (uid, created_at_ms);
