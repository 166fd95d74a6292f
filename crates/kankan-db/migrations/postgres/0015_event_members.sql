-- Events fan out to members: one event row stays the owner's; an account the owner granted
-- receive-alarms on the device sees the device's events with its own read state and its own
-- deletion, kept here (a row is written the first time the member reads or deletes one). A
-- member's delete hides the event for that member only. The rows go with their event (the
-- owner's delete leaves a tombstone, which lists nowhere; unbinding and expiry delete the
-- event) and with the member's account; removing a member deletes its rows for the device.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms.

CREATE TABLE event_members (
    event_id                TEXT COLLATE "C" NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,  -- the member
    read_at_ms              BIGINT,                    -- NULL until the member opened it
    deleted_at_ms           BIGINT,                    -- the member deleted it: hidden from the member
    PRIMARY KEY (event_id, account_id)
);
-- Removing a member finds its rows.
CREATE INDEX event_members_by_account ON event_members (account_id);
