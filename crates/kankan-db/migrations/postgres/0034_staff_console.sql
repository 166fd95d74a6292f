-- The operator's console: staff second factor, disabled staff, ban notes.
--
-- staff.totp_secret_enc: the staff member's TOTP secret sealed under the server data key
-- (purpose `staff-totp:<id>`); NULL until they enrol. totp_last_step: the last time step a
-- code was accepted for, so a code is never accepted twice. disabled_at_ms: a disabled
-- staff member cannot log in (their sessions end when disabled).
ALTER TABLE staff ADD COLUMN totp_secret_enc BYTEA;
ALTER TABLE staff ADD COLUMN totp_last_step BIGINT;
ALTER TABLE staff ADD COLUMN disabled_at_ms BIGINT;

-- An enrolment in progress: single use, short-lived; the token stored as SHA-256 only and the
-- new secret sealed like the staff row's.
CREATE TABLE staff_enrolments (
    token_hash              BYTEA PRIMARY KEY,
    staff_id                TEXT COLLATE "C" NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    secret_enc              BYTEA NOT NULL,
    expires_at_ms           BIGINT NOT NULL
);
CREATE INDEX staff_enrolments_by_staff ON staff_enrolments (staff_id);

-- Bans and their lifting with the reason staff wrote (kept here, with the account, not in the
-- audit log, whose details hold no free text); deleted with the account.
CREATE TABLE account_ban_notes (
    id                      TEXT COLLATE "C" PRIMARY KEY,
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    action                  TEXT NOT NULL,             -- 'ban' | 'unban'
    staff_id                TEXT,                      -- NULL: the operator at the command line
    reason                  TEXT NOT NULL,
    at_ms                   BIGINT NOT NULL
);
CREATE INDEX account_ban_notes_by_account ON account_ban_notes (account_id, at_ms);
