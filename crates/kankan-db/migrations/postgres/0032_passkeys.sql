-- Passkeys (WebAuthn credentials) of accounts, and the single-use challenges of their
-- ceremonies. Only public keys are kept: a passkey's private key never leaves the user's
-- authenticator. Times are milliseconds since the Unix epoch (UTC), named *_ms.

-- An account's passkeys. credential_id is the authenticator's id of the credential (unique
-- across accounts); public_key its COSE_Key as the authenticator sent it; sign_count the
-- signature counter last seen (a counter that does not grow refuses the assertion: clone).
CREATE TABLE passkeys (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- UUIDv7
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    credential_id           BYTEA NOT NULL UNIQUE,
    public_key              BYTEA NOT NULL,             -- COSE_Key
    alg                     BIGINT NOT NULL,           -- COSE algorithm: -7, -8 or -257
    sign_count              BIGINT NOT NULL CHECK (sign_count >= 0),
    name_enc                BYTEA NOT NULL,             -- the name the user gave, under the account key
    backup_eligible         BIGINT NOT NULL,          -- 1: a synced passkey
    backed_up               BIGINT NOT NULL,          -- 1: backed up when last seen
    created_at_ms           BIGINT NOT NULL,
    last_used_at_ms         BIGINT
);
CREATE INDEX passkeys_by_account ON passkeys (account_id, created_at_ms);

-- Challenges issued and not yet answered: single use (taken, i.e. deleted, by the answer),
-- expiring; only the SHA-256 of the challenge is kept. purpose: 'register' (an account adds a
-- passkey), 'login' (passkey-only login: no account until the answer names one),
-- 'second-factor' (bound to the login ticket by its hash).
CREATE TABLE passkey_challenges (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- UUIDv7
    purpose                 TEXT NOT NULL CHECK (purpose IN ('register', 'login', 'second-factor')),
    account_id              TEXT COLLATE "C" REFERENCES accounts (id) ON DELETE CASCADE,
    ticket_hash             BYTEA,                      -- SHA-256 of the second-factor ticket
    challenge_hash          BYTEA NOT NULL,             -- SHA-256 of the challenge
    created_at_ms           BIGINT NOT NULL,
    expires_at_ms           BIGINT NOT NULL
);
CREATE INDEX passkey_challenges_by_expiry ON passkey_challenges (expires_at_ms);
