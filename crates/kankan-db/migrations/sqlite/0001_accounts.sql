-- Accounts, verification codes, sessions, login history, lockouts, staff and the job queue.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms. Ids are UUIDv7 text.

CREATE TABLE accounts (
    id                      TEXT PRIMARY KEY,          -- AccountId
    contact_kind            TEXT NOT NULL,             -- 'email' | 'phone'
    contact_index           BLOB NOT NULL UNIQUE,      -- keyed blind index (HMAC-SHA256) of the normalised contact
    contact_enc             BLOB NOT NULL,             -- the contact, AES-256-GCM under the account key
    key_wrapped             BLOB NOT NULL,             -- the account key, wrapped by the server's wrapping key
    password_hash           TEXT NOT NULL,             -- Argon2id PHC string
    nickname_enc            BLOB,                      -- nickname under the account key, NULL if unset
    avatar_blob             TEXT,                      -- BlobId of the encrypted avatar, NULL if unset
    state                   TEXT NOT NULL,             -- 'pending' | 'active' | 'banned'
    state_reason            TEXT,                      -- operator's note for a ban
    created_at_ms           INTEGER NOT NULL,
    verified_at_ms          INTEGER,                   -- when the contact was proven
    state_changed_at_ms     INTEGER NOT NULL
);

CREATE TABLE verification_codes (
    id                      TEXT PRIMARY KEY,
    purpose                 TEXT NOT NULL,             -- 'register' | 'reset'
    contact_index           BLOB NOT NULL,             -- blind index of the contact the code was sent to
    code_mac                BLOB NOT NULL,             -- keyed MAC of (id, code); the code itself is never stored
    created_at_ms           INTEGER NOT NULL,
    expires_at_ms           INTEGER NOT NULL,
    attempts                INTEGER NOT NULL DEFAULT 0, -- wrong guesses so far
    consumed_at_ms          INTEGER                    -- set once, when the code is used
);
CREATE INDEX verification_codes_by_contact ON verification_codes (contact_index, purpose, created_at_ms);

CREATE TABLE sessions (
    id                      TEXT PRIMARY KEY,          -- SessionId
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash              BLOB NOT NULL UNIQUE,      -- SHA-256 of the 256-bit bearer token
    client_enc              BLOB NOT NULL,             -- User-Agent under the account key
    ip_enc                  BLOB NOT NULL,             -- client IP under the account key
    created_at_ms           INTEGER NOT NULL,
    last_used_at_ms         INTEGER NOT NULL,
    expires_at_ms           INTEGER NOT NULL,
    revoked_at_ms           INTEGER
);
CREATE INDEX sessions_by_account ON sessions (account_id);

CREATE TABLE login_events (
    id                      TEXT PRIMARY KEY,
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at_ms                   INTEGER NOT NULL,
    outcome                 TEXT NOT NULL,             -- 'success' | 'bad-password' | 'locked' | 'banned'
    client_enc              BLOB NOT NULL,             -- User-Agent under the account key
    ip_enc                  BLOB NOT NULL,             -- client IP under the account key
    device_mac              BLOB NOT NULL,             -- keyed MAC of (account, client, ip): "seen before?"
    new_device              INTEGER NOT NULL           -- 1 when this client/IP had no earlier success
);
CREATE INDEX login_events_by_account ON login_events (account_id, at_ms);

CREATE TABLE login_failures (
    contact_index           BLOB PRIMARY KEY,          -- keyed on the identifier tried, existing or not
    failures                INTEGER NOT NULL,          -- failures in the current window
    window_start_ms         INTEGER NOT NULL,
    locked_until_ms         INTEGER                    -- logins refused until then
);

CREATE TABLE staff (
    id                      TEXT PRIMARY KEY,          -- StaffId
    username                TEXT NOT NULL UNIQUE,
    password_hash           TEXT NOT NULL,             -- Argon2id PHC string
    role                    TEXT NOT NULL,             -- 'admin'
    created_at_ms           INTEGER NOT NULL
);

CREATE TABLE jobs (
    id                      TEXT PRIMARY KEY,          -- JobId
    queue                   TEXT NOT NULL,             -- e.g. 'deliver-message'
    payload                 BLOB NOT NULL,             -- queue-specific; secrets inside are encrypted
    state                   TEXT NOT NULL,             -- 'pending' | 'running' | 'done' | 'dead'
    attempts                INTEGER NOT NULL DEFAULT 0,
    max_attempts            INTEGER NOT NULL,
    run_after_ms            INTEGER NOT NULL,          -- not before this time
    lease_until_ms          INTEGER,                   -- a running job whose lease lapsed is claimable again
    last_error              TEXT,
    created_at_ms           INTEGER NOT NULL,
    finished_at_ms          INTEGER
);
CREATE INDEX jobs_claimable ON jobs (queue, state, run_after_ms);
