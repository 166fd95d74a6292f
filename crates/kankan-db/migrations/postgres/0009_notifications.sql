-- Notifications: where an account's alerts go (browser push subscriptions, webhooks), how it
-- wants to be told (method, quiet hours), per-device preferences (which event kinds, snooze),
-- one delivery record per attempt, and server secrets (the VAPID key).
-- Secrets and addresses are sealed: push subscriptions and webhooks under the owner's account
-- key, server secrets under the server key. Times are milliseconds since the Unix epoch (UTC),
-- named *_ms; quiet hours are minutes after local midnight in the account's time zone.

CREATE TABLE push_subscriptions (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- UUIDv7
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    endpoint_index          BYTEA NOT NULL,             -- keyed blind index of the endpoint URL
    sub_enc                 BYTEA NOT NULL,             -- endpoint, p256dh and auth, sealed under the account key
    created_at_ms           BIGINT NOT NULL,
    UNIQUE (account_id, endpoint_index)                -- the same browser subscribing again replaces its row
);

CREATE TABLE notification_settings (
    account_id              TEXT COLLATE "C" PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    method                  TEXT COLLATE "C" NOT NULL CHECK (method IN ('push', 'email', 'sms', 'call', 'none')),
    quiet_start_min         BIGINT,                   -- NULL: no quiet hours; else 0..1439
    quiet_end_min           BIGINT,                   -- may be before the start (crosses midnight)
    time_zone               TEXT COLLATE "C" NOT NULL,             -- IANA name, for the quiet hours and "tomorrow"
    updated_at_ms           BIGINT NOT NULL
);

CREATE TABLE device_notification_settings (
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uid                     TEXT COLLATE "C" NOT NULL,             -- the device; a new owner starts from the defaults
    kinds                   TEXT COLLATE "C" NOT NULL,             -- comma-separated event kinds that notify
    snoozed_until_ms        BIGINT,                   -- NULL: not snoozed
    PRIMARY KEY (account_id, uid)
);

CREATE TABLE webhooks (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- UUIDv7
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url_enc                 BYTEA NOT NULL,             -- the URL, sealed under the account key
    secret_enc              BYTEA NOT NULL,             -- the HMAC signing secret, sealed under the account key
    created_at_ms           BIGINT NOT NULL
);
CREATE INDEX webhooks_by_account ON webhooks (account_id, created_at_ms);

CREATE TABLE notification_deliveries (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- UUIDv7
    event_id                TEXT COLLATE "C" NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    channel                 TEXT COLLATE "C" NOT NULL CHECK (channel IN ('push', 'webhook', 'email', 'sms', 'call')),
    target_id               TEXT COLLATE "C",                      -- the push subscription or webhook, if any
    attempt                 BIGINT NOT NULL,          -- 1, 2, ...; 0 for a suppressed decision
    status                  TEXT COLLATE "C" NOT NULL CHECK (status IN ('sent', 'retry', 'dead', 'suppressed', 'gone')),
    detail                  TEXT COLLATE "C" NOT NULL,             -- why, in words (never an address or a secret)
    at_ms                   BIGINT NOT NULL
);
CREATE INDEX notification_deliveries_by_event ON notification_deliveries (event_id, at_ms);
CREATE INDEX notification_deliveries_by_status ON notification_deliveries (account_id, status, at_ms);

CREATE TABLE server_secrets (
    name                    TEXT COLLATE "C" PRIMARY KEY,          -- e.g. 'vapid'
    value_enc               BYTEA NOT NULL,             -- sealed under the server key
    created_at_ms           BIGINT NOT NULL
);
