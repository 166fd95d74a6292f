-- Devices: factory identities, binding to accounts, bind tokens, shadow state and commands.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms.

CREATE TABLE devices (
    uid                     TEXT COLLATE "C" PRIMARY KEY,          -- printed on the label, e.g. KK7Q2M9XD4TA
    model                   TEXT COLLATE "C" NOT NULL,             -- e.g. KK-C1
    kind                    TEXT COLLATE "C" NOT NULL,             -- 'camera' | 'doorbell'
    secret_mac              BYTEA NOT NULL,             -- keyed MAC of the device secret; the secret is never stored
    pairing_key_enc         BYTEA NOT NULL,             -- HMAC(secret, "pairing"), sealed under the server data key
    batch                   TEXT COLLATE "C" NOT NULL,             -- provisioning batch (operator's label)
    provisioned_at_ms       BIGINT NOT NULL,
    owner_id                TEXT COLLATE "C" REFERENCES accounts (id) ON DELETE SET NULL, -- NULL while unbound
    name_enc                BYTEA,                      -- the owner's name for it, under the owner's account key
    bound_at_ms             BIGINT
);
CREATE INDEX devices_by_owner ON devices (owner_id);

CREATE TABLE bind_tokens (
    token_hash              BYTEA PRIMARY KEY,          -- SHA-256 of the 128-bit token
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uid                     TEXT COLLATE "C" NOT NULL REFERENCES devices (uid) ON DELETE CASCADE,
    created_at_ms           BIGINT NOT NULL,
    expires_at_ms           BIGINT NOT NULL,
    used_at_ms              BIGINT                    -- set once, when a device claims it
);

CREATE TABLE device_state (
    uid                     TEXT COLLATE "C" PRIMARY KEY REFERENCES devices (uid) ON DELETE CASCADE,
    reported_enc            BYTEA,                      -- last StateReport JSON, under the owner's account key
    reported_at_ms          BIGINT,
    reported_version        BIGINT NOT NULL DEFAULT 0, -- settings_version the device says it applied
    desired_enc             BYTEA,                      -- desired Settings JSON, under the owner's account key
    desired_version         BIGINT NOT NULL DEFAULT 0, -- increases with every change by the owner
    online                  BIGINT NOT NULL DEFAULT 0,
    last_seen_ms            BIGINT
);

CREATE TABLE device_commands (
    id                      TEXT COLLATE "C" PRIMARY KEY,
    uid                     TEXT COLLATE "C" NOT NULL REFERENCES devices (uid) ON DELETE CASCADE,
    name                    TEXT COLLATE "C" NOT NULL,             -- e.g. 'reboot', 'ptz-move'
    args_json               TEXT COLLATE "C" NOT NULL,             -- the whole CommandKind as JSON
    status                  TEXT COLLATE "C" NOT NULL,             -- 'sent' | 'succeeded' | 'failed' | 'timed-out'
    error                   TEXT COLLATE "C",                      -- the device's reason when failed
    created_at_ms           BIGINT NOT NULL,
    deadline_ms             BIGINT NOT NULL,
    finished_at_ms          BIGINT
);
CREATE INDEX device_commands_by_device ON device_commands (uid, created_at_ms);
