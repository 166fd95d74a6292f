-- AI descriptions of events: one sentence per event, written by the vision model the operator
-- configured (`[ai]`) for an owner who consented to `ai-descriptions` and turned them on for
-- the camera. The sentence describes people, so it is sealed under the owner's account key
-- (field `event-description/{event id}`). It goes with its event (deleted, tombstoned,
-- expired, the device unbound) and all of an account's go at once when it withdraws the
-- consent. Nothing else of the request (the frames) is stored.
CREATE TABLE event_descriptions (
    event_id                TEXT COLLATE "C" PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    text_enc                BYTEA NOT NULL,
    created_at_ms           BIGINT NOT NULL
);
CREATE INDEX event_descriptions_by_account ON event_descriptions (account_id);
