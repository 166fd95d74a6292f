-- Second factors of accounts (kankan-accounts mfa*.rs): TOTP, recovery codes, the login
-- tickets between the password and the second factor, remembered devices, and how each
-- session signed in.

-- How the session signed in: 'password' | 'password+totp' | 'password+recovery-code' |
-- 'password+passkey' | 'passkey'.
ALTER TABLE sessions ADD COLUMN signed_in_with TEXT NOT NULL DEFAULT 'password';

-- account_totp: one authenticator per account. The secret is sealed under the account key;
-- enabled_at_ms is NULL until the first code confirms the enrolment. last_step is the last
-- 30-second step whose code was accepted: a code of that step or an earlier one is refused.
CREATE TABLE account_totp (
    account_id              TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret_enc              BLOB NOT NULL,
    enabled_at_ms           INTEGER,
    last_step               INTEGER,
    created_at_ms           INTEGER NOT NULL
);

-- recovery_codes: single-use codes, only a keyed MAC of each (the code is shown once).
CREATE TABLE recovery_codes (
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_mac                BLOB NOT NULL,
    created_at_ms           INTEGER NOT NULL,
    used_at_ms              INTEGER,
    PRIMARY KEY (account_id, code_mac)
);

-- second_factor_tickets: a password login waiting for its second factor. Only the SHA-256
-- of the ticket is stored; challenge is the WebAuthn challenge of the ticket. Single use,
-- a few attempts, minutes long.
CREATE TABLE second_factor_tickets (
    token_hash              BLOB PRIMARY KEY,
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    challenge               BLOB NOT NULL,
    attempts                INTEGER NOT NULL DEFAULT 0,
    created_at_ms           INTEGER NOT NULL,
    expires_at_ms           INTEGER NOT NULL,
    consumed_at_ms          INTEGER
);
CREATE INDEX second_factor_tickets_by_expiry ON second_factor_tickets (expires_at_ms);

-- remembered_devices: browsers whose logins skip the second factor. Only the SHA-256 of the
-- device cookie is stored; client_enc is the User-Agent sealed under the account key.
CREATE TABLE remembered_devices (
    id                      TEXT PRIMARY KEY,
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash              BLOB NOT NULL UNIQUE,
    client_enc              BLOB NOT NULL,
    created_at_ms           INTEGER NOT NULL,
    last_used_at_ms         INTEGER NOT NULL,
    expires_at_ms           INTEGER NOT NULL
);
CREATE INDEX remembered_devices_by_account ON remembered_devices (account_id);
