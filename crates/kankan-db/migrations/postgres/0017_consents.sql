-- Consents and policy acceptance, guardians of child accounts, and the operator's
-- announcements.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms. Ids are UUIDv7 text.

-- Every consent given or withdrawn, and every acceptance of a policy version: append-only,
-- the account's history. The state of a purpose is its newest row.
-- purpose: 'policy' (accepting a version of the privacy policy), 'face-recognition',
-- 'ai-descriptions', 'cloud-recording', or 'camera-disclaimer' (the disclaimer shown once when
-- adding a camera).
-- how: 'registration' | 'settings' | 'guardian' | 'policy-update'.
CREATE TABLE consents (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- UUIDv7
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose                 TEXT COLLATE "C" NOT NULL,
    version                 TEXT NOT NULL,             -- the policy version in force (accepted, for 'policy')
    granted                 BIGINT NOT NULL,           -- 1 given, 0 withdrawn
    how                     TEXT NOT NULL,
    at_ms                   BIGINT NOT NULL
);
CREATE INDEX consents_by_account ON consents (account_id, purpose, at_ms);

-- The guardian of a child account (registered as under the operator's child age): the child
-- may not sign in until the guardian proved their own identifier with a code and accepted the
-- policy on the child's behalf.
CREATE TABLE guardians (
    account_id              TEXT COLLATE "C" PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,  -- the child
    guardian_index          BYTEA NOT NULL,             -- keyed blind index of the guardian's identifier
    guardian_enc            BYTEA NOT NULL,             -- the guardian's identifier under the child's account key
    created_at_ms           BIGINT NOT NULL,
    consented_at_ms         BIGINT                    -- when the guardian consented; NULL until then
);
CREATE INDEX guardians_by_guardian ON guardians (guardian_index);

-- Notices the operator's staff send to every user (in the app, and by push to every
-- subscribed browser). Not personal data: the operator's own words.
CREATE TABLE announcements (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- UUIDv7
    title                   TEXT NOT NULL,
    body                    TEXT NOT NULL,
    staff_id                TEXT NOT NULL,             -- the staff member who sent it
    created_at_ms           BIGINT NOT NULL,
    pushed_through          TEXT COLLATE "C",                      -- the last push subscription id queued (ids ascend)
    push_done_at_ms         BIGINT                    -- when every subscription was queued
);
CREATE INDEX announcements_by_time ON announcements (created_at_ms);
