-- Staff sessions for the admin API: bearer tokens stored as SHA-256, short-lived.

CREATE TABLE staff_sessions (
    id                      TEXT COLLATE "C" PRIMARY KEY,
    staff_id                TEXT COLLATE "C" NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    token_hash              BYTEA NOT NULL UNIQUE,      -- SHA-256 of the 256-bit bearer token
    created_at_ms           BIGINT NOT NULL,
    expires_at_ms           BIGINT NOT NULL
);
