-- Support tickets and cameras' logs (kankan-support).
--
-- support_tickets: one row per ticket an account opened. The subject is sealed under the
-- account's key (`subject_enc`, field `ticket-subject:<id>`); the device columns are what the
-- device was when the ticket was opened (a device the account could see). Deleted with the
-- account.
CREATE TABLE support_tickets (
    id                      TEXT PRIMARY KEY,
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    category                TEXT NOT NULL,  -- camera | app | account | billing | feedback | other
    subject_enc             BLOB NOT NULL,
    state                   TEXT NOT NULL,  -- 'open' | 'closed'
    device_uid              TEXT,
    device_model            TEXT,
    device_firmware         TEXT,
    device_online           INTEGER,        -- 0 | 1, NULL without a device
    assignee_staff_id       TEXT,           -- the staff member it is assigned to
    created_at_ms           INTEGER NOT NULL,
    updated_at_ms           INTEGER NOT NULL,
    closed_at_ms            INTEGER,
    user_read_through       TEXT              -- the last message the user has seen (ids are time-ordered)
);
CREATE INDEX support_tickets_by_account ON support_tickets (account_id, updated_at_ms);
CREATE INDEX support_tickets_by_state ON support_tickets (state, updated_at_ms);

-- support_messages: a ticket's thread. `body_enc` is sealed under the account's key (field
-- `ticket-message:<id>`); `staff_id` names the staff member of a staff reply.
CREATE TABLE support_messages (
    id                      TEXT PRIMARY KEY,
    ticket_id               TEXT NOT NULL REFERENCES support_tickets (id) ON DELETE CASCADE,
    author                  TEXT NOT NULL,  -- 'user' | 'staff'
    staff_id                TEXT,
    body_enc                BLOB NOT NULL,
    created_at_ms           INTEGER NOT NULL
);
CREATE INDEX support_messages_by_ticket ON support_messages (ticket_id, created_at_ms);

-- device_log_requests: a camera asked for its logs for a ticket. The text the camera uploads
-- is sealed under the account's key (`text_enc`, field `device-logs:<id>`). Not attached to a
-- ticket (`ticket_id` NULL) it is deleted at `expires_at_ms` (a day); attached, with the
-- ticket. Deleted with the account.
CREATE TABLE device_log_requests (
    id                      TEXT PRIMARY KEY,
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uid                     TEXT NOT NULL,
    state                   TEXT NOT NULL,  -- 'waiting' | 'ready' | 'failed'
    text_enc                BLOB,
    size_bytes              INTEGER,
    ticket_id               TEXT REFERENCES support_tickets (id) ON DELETE CASCADE,
    created_at_ms           INTEGER NOT NULL,
    expires_at_ms           INTEGER NOT NULL
);
CREATE INDEX device_log_requests_by_expiry ON device_log_requests (expires_at_ms);
CREATE INDEX device_log_requests_by_ticket ON device_log_requests (ticket_id);
