-- Accounts, verification codes, sessions, login history, lockouts, staff and the job queue.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms. Ids are UUIDv7 text.

CREATE TABLE accounts (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- AccountId
    contact_kind            TEXT COLLATE "C" NOT NULL,             -- 'email' | 'phone'
    contact_index           BYTEA NOT NULL UNIQUE,      -- keyed blind index (HMAC-SHA256) of the normalised contact
    contact_enc             BYTEA NOT NULL,             -- the contact, AES-256-GCM under the account key
    key_wrapped             BYTEA NOT NULL,             -- the account key, wrapped by the server's wrapping key
    password_hash           TEXT COLLATE "C" NOT NULL,             -- Argon2id PHC string
    nickname_enc            BYTEA,                      -- nickname under the account key, NULL if unset
    avatar_blob             TEXT COLLATE "C",                      -- BlobId of the encrypted avatar, NULL if unset
    state                   TEXT COLLATE "C" NOT NULL,             -- 'pending' | 'active' | 'banned'
    state_reason            TEXT COLLATE "C",                      -- operator's note for a ban
    created_at_ms           BIGINT NOT NULL,
    verified_at_ms          BIGINT,                   -- when the contact was proven
    state_changed_at_ms     BIGINT NOT NULL
);

CREATE TABLE verification_codes (
    id                      TEXT COLLATE "C" PRIMARY KEY,
    purpose                 TEXT COLLATE "C" NOT NULL,             -- 'register' | 'reset'
    contact_index           BYTEA NOT NULL,             -- blind index of the contact the code was sent to
    code_mac                BYTEA NOT NULL,             -- keyed MAC of (id, code); the code itself is never stored
    created_at_ms           BIGINT NOT NULL,
    expires_at_ms           BIGINT NOT NULL,
    attempts                BIGINT NOT NULL DEFAULT 0, -- wrong guesses so far
    consumed_at_ms          BIGINT                    -- set once, when the code is used
);
CREATE INDEX verification_codes_by_contact ON verification_codes (contact_index, purpose, created_at_ms);

CREATE TABLE sessions (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- SessionId
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash              BYTEA NOT NULL UNIQUE,      -- SHA-256 of the 256-bit bearer token
    client_enc              BYTEA NOT NULL,             -- User-Agent under the account key
    ip_enc                  BYTEA NOT NULL,             -- client IP under the account key
    created_at_ms           BIGINT NOT NULL,
    last_used_at_ms         BIGINT NOT NULL,
    expires_at_ms           BIGINT NOT NULL,
    revoked_at_ms           BIGINT
);
CREATE INDEX sessions_by_account ON sessions (account_id);

CREATE TABLE login_events (
    id                      TEXT COLLATE "C" PRIMARY KEY,
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at_ms                   BIGINT NOT NULL,
    outcome                 TEXT COLLATE "C" NOT NULL,             -- 'success' | 'bad-password' | 'locked' | 'banned'
    client_enc              BYTEA NOT NULL,             -- User-Agent under the account key
    ip_enc                  BYTEA NOT NULL,             -- client IP under the account key
    device_mac              BYTEA NOT NULL,             -- keyed MAC of (account, client, ip): "seen before?"
    new_device              BIGINT NOT NULL           -- 1 when this client/IP had no earlier success
);
CREATE INDEX login_events_by_account ON login_events (account_id, at_ms);

CREATE TABLE login_failures (
    contact_index           BYTEA PRIMARY KEY,          -- keyed on the identifier tried, existing or not
    failures                BIGINT NOT NULL,          -- failures in the current window
    window_start_ms         BIGINT NOT NULL,
    locked_until_ms         BIGINT                    -- logins refused until then
);

CREATE TABLE staff (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- StaffId
    username                TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash           TEXT COLLATE "C" NOT NULL,             -- Argon2id PHC string
    role                    TEXT COLLATE "C" NOT NULL,             -- 'admin'
    created_at_ms           BIGINT NOT NULL
);

CREATE TABLE jobs (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- JobId
    queue                   TEXT COLLATE "C" NOT NULL,             -- e.g. 'deliver-message'
    payload                 BYTEA NOT NULL,             -- queue-specific; secrets inside are encrypted
    state                   TEXT COLLATE "C" NOT NULL,             -- 'pending' | 'running' | 'done' | 'dead'
    attempts                BIGINT NOT NULL DEFAULT 0,
    max_attempts            BIGINT NOT NULL,
    run_after_ms            BIGINT NOT NULL,          -- not before this time
    lease_until_ms          BIGINT,                   -- a running job whose lease lapsed is claimable again
    last_error              TEXT COLLATE "C",
    created_at_ms           BIGINT NOT NULL,
    finished_at_ms          BIGINT
);
CREATE INDEX jobs_claimable ON jobs (queue, state, run_after_ms);
