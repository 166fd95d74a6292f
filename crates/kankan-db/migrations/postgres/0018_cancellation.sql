-- Account cancellation, crypto-shredding, deletion receipts and dormant accounts.
--
-- 1. An account in 'cancelling' has until cancel_ends_at_ms to continue; then its key is
--    shredded ('cancelled': key_wrapped, contact, nickname and password erased, the contact's
--    blind index replaced by a tombstone so that the identifier is free again) and its rows
--    and objects are purged. last_seen_at_ms (a login or a session's use) finds dormant
--    accounts; dormant_notice_at_ms is when the notice before their anonymisation went.
ALTER TABLE accounts ADD COLUMN cancel_ends_at_ms BIGINT;      -- 'cancelling' only: when the window ends
ALTER TABLE accounts ADD COLUMN last_seen_at_ms BIGINT;        -- last login or session use
ALTER TABLE accounts ADD COLUMN dormant_notice_at_ms BIGINT;   -- the dormancy notice; cleared by a login
UPDATE accounts SET last_seen_at_ms = COALESCE(
    (SELECT MAX(last_used_at_ms) FROM sessions WHERE sessions.account_id = accounts.id),
    created_at_ms);

-- 2. A deletion receipt: what was deleted and when, fetched with a random token (kept as its
--    SHA-256). No personal data and no account id: counts and times only.
CREATE TABLE deletion_receipts (
    id                      TEXT COLLATE "C" PRIMARY KEY,
    token_hash              BYTEA NOT NULL UNIQUE,      -- SHA-256 of the receipt token
    reason                  TEXT COLLATE "C" NOT NULL,             -- 'cancelled' | 'dormant' | 'operator'
    shredded_at_ms          BIGINT NOT NULL,          -- when the account key was destroyed
    purged_at_ms            BIGINT,                   -- when the last row and object went; NULL while purging
    counts                  TEXT COLLATE "C" NOT NULL,             -- what was deleted: "kind=count" pairs joined by commas
    expires_at_ms           BIGINT NOT NULL           -- the sweeper deletes the receipt then
);

-- 3. Shredded accounts whose rows and objects are still being removed (a durable, resumable
--    purge); the row goes with the account's last row.
CREATE TABLE account_purges (
    account_id              TEXT COLLATE "C" PRIMARY KEY,          -- no reference: the account row is deleted before this one
    receipt_id              TEXT COLLATE "C" NOT NULL,                    -- its receipt (a receipt may expire first)
    shredded_at_ms          BIGINT NOT NULL
);
