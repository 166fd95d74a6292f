-- Staff sessions for the admin API: bearer tokens stored as SHA-256, short-lived.

CREATE TABLE staff_sessions (
    id                      TEXT PRIMARY KEY,
    staff_id                TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    token_hash              BLOB NOT NULL UNIQUE,      -- SHA-256 of the 256-bit bearer token
    created_at_ms           INTEGER NOT NULL,
    expires_at_ms           INTEGER NOT NULL
);
