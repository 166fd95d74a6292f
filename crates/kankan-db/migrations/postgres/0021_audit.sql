-- The audited staff: a tamper-evident log of every staff action and every access by staff or
-- the system to a user's personal data, the users' support grants, and the queue of
-- data-subject requests with their deadlines.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms. Ids are UUIDv7 text.

-- One row per entry, chained: hash = SHA-256(tag || previous entry's hash || the entry's
-- canonical encoding), the first entry's previous hash 32 zero bytes. Never updated or
-- deleted (no foreign keys: an account deleted later keeps the entries about it, naming only
-- its random id). Nothing personal in clear.
CREATE TABLE audit_log (
    seq                     BIGINT PRIMARY KEY,       -- 1, 2, 3 ... without gaps
    at_ms                   BIGINT NOT NULL,
    actor                   TEXT NOT NULL,             -- 'staff:<StaffId>' | 'system:<worker>' | 'account:<AccountId>' | 'operator:<cli>'
    action                  TEXT NOT NULL,             -- stable kebab-case, e.g. 'account-banned'
    subject_id              TEXT COLLATE "C",                      -- AccountId whose data or account it concerns, NULL if none
    detail                  TEXT NOT NULL,             -- ids and counts only, never personal data
    hash                    BYTEA NOT NULL              -- the chain link (32 bytes)
);
CREATE INDEX audit_log_by_subject ON audit_log (subject_id, seq);

-- The chain's head: one row (id 1), locked by every append, so appends from any number of
-- nodes form one chain and never fork. Created by the first append.
CREATE TABLE audit_head (
    id                      BIGINT PRIMARY KEY CHECK (id = 1),
    seq                     BIGINT NOT NULL,          -- the last entry's seq (0: none yet)
    hash                    BYTEA NOT NULL,             -- the last entry's hash
    checkpoint_at_ms        BIGINT                    -- when the last checkpoint was signed
);

-- Signed checkpoints: every 64 entries and at the first entry an hour or more after the last
-- one. mac = HMAC-SHA256 under a key derived from the master key over (seq, hash, at_ms).
CREATE TABLE audit_checkpoints (
    seq                     BIGINT PRIMARY KEY,       -- the entry it seals
    hash                    BYTEA NOT NULL,             -- that entry's hash
    at_ms                   BIGINT NOT NULL,
    mac                     BYTEA NOT NULL
);

-- Data-subject requests (access, export, rectification, erasure, cancellation, objection,
-- other), answered within privacy.response_working_days working days.
CREATE TABLE privacy_requests (
    id                      TEXT COLLATE "C" PRIMARY KEY,
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind                    TEXT NOT NULL CHECK (kind IN ('access', 'export', 'rectification', 'erasure', 'cancellation', 'objection', 'other')),
    origin                  TEXT NOT NULL CHECK (origin IN ('user', 'system')),  -- filed by the user, or by the product (a cancellation, an export)
    message_enc             BYTEA,                      -- the user's message under the account key, NULL without one
    received_at_ms          BIGINT NOT NULL,
    due_at_ms               BIGINT NOT NULL,          -- received + the working days to answer
    state                   TEXT NOT NULL CHECK (state IN ('open', 'done', 'refused')),
    closed_at_ms            BIGINT,
    closed_by               TEXT                       -- 'staff:<StaffId>' or 'operator:<cli>'
);
CREATE INDEX privacy_requests_by_state ON privacy_requests (state, due_at_ms);
CREATE INDEX privacy_requests_by_account ON privacy_requests (account_id, received_at_ms);

-- Support grants: the user lets staff see some of their devices' video until expires_at_ms.
CREATE TABLE support_grants (
    id                      TEXT COLLATE "C" PRIMARY KEY,
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at_ms           BIGINT NOT NULL,
    expires_at_ms           BIGINT NOT NULL,
    withdrawn_at_ms         BIGINT                    -- set when the user withdraws it
);
CREATE INDEX support_grants_by_account ON support_grants (account_id, expires_at_ms);

CREATE TABLE support_grant_devices (
    grant_id                TEXT COLLATE "C" NOT NULL REFERENCES support_grants (id) ON DELETE CASCADE,
    uid                     TEXT COLLATE "C" NOT NULL REFERENCES devices (uid) ON DELETE CASCADE,
    PRIMARY KEY (grant_id, uid)
);
CREATE INDEX support_grant_devices_by_uid ON support_grant_devices (uid);
