-- Notifications: where an account's alerts go (browser push subscriptions, webhooks), how it
-- wants to be told (method, quiet hours), per-device preferences (which event kinds, snooze),
-- one delivery record per attempt, and server secrets (the VAPID key).
-- Secrets and addresses are sealed: push subscriptions and webhooks under the owner's account
-- key, server secrets under the server key. Times are milliseconds since the Unix epoch (UTC),
-- named *_ms; quiet hours are minutes after local midnight in the account's time zone.

CREATE TABLE push_subscriptions (
    id                      TEXT PRIMARY KEY,          -- UUIDv7
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    endpoint_index          BLOB NOT NULL,             -- keyed blind index of the endpoint URL
    sub_enc                 BLOB NOT NULL,             -- endpoint, p256dh and auth, sealed under the account key
    created_at_ms           INTEGER NOT NULL,
    UNIQUE (account_id, endpoint_index)                -- the same browser subscribing again replaces its row
);

CREATE TABLE notification_settings (
    account_id              TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    method                  TEXT NOT NULL CHECK (method IN ('push', 'email', 'sms', 'call', 'none')),
    quiet_start_min         INTEGER,                   -- NULL: no quiet hours; else 0..1439
    quiet_end_min           INTEGER,                   -- may be before the start (crosses midnight)
    time_zone               TEXT NOT NULL,             -- IANA name, for the quiet hours and "tomorrow"
    updated_at_ms           INTEGER NOT NULL
);

CREATE TABLE device_notification_settings (
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uid                     TEXT NOT NULL,             -- the device; a new owner starts from the defaults
    kinds                   TEXT NOT NULL,             -- comma-separated event kinds that notify
    snoozed_until_ms        INTEGER,                   -- NULL: not snoozed
    PRIMARY KEY (account_id, uid)
);

CREATE TABLE webhooks (
    id                      TEXT PRIMARY KEY,          -- UUIDv7
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url_enc                 BLOB NOT NULL,             -- the URL, sealed under the account key
    secret_enc              BLOB NOT NULL,             -- the HMAC signing secret, sealed under the account key
    created_at_ms           INTEGER NOT NULL
);
CREATE INDEX webhooks_by_account ON webhooks (account_id, created_at_ms);

CREATE TABLE notification_deliveries (
    id                      TEXT PRIMARY KEY,          -- UUIDv7
    event_id                TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    channel                 TEXT NOT NULL CHECK (channel IN ('push', 'webhook', 'email', 'sms', 'call')),
    target_id               TEXT,                      -- the push subscription or webhook, if any
    attempt                 INTEGER NOT NULL,          -- 1, 2, ...; 0 for a suppressed decision
    status                  TEXT NOT NULL CHECK (status IN ('sent', 'retry', 'dead', 'suppressed', 'gone')),
    detail                  TEXT NOT NULL,             -- why, in words (never an address or a secret)
    at_ms                   INTEGER NOT NULL
);
CREATE INDEX notification_deliveries_by_event ON notification_deliveries (event_id, at_ms);
CREATE INDEX notification_deliveries_by_status ON notification_deliveries (account_id, status, at_ms);

CREATE TABLE server_secrets (
    name                    TEXT PRIMARY KEY,          -- e.g. 'vapid'
    value_enc               BLOB NOT NULL,             -- sealed under the server key
    created_at_ms           INTEGER NOT NULL
);
