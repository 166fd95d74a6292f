-- The Album: screenshots and clips a user saved from live view. Each item's content is a sealed
-- record file in the blob store under a random data key of its own, which is stored here only
-- wrapped by the owner's account key. Items belong to the account, not to the camera: they
-- outlive unbinding it (the camera's UID and name at the time are kept with them).
-- Times are milliseconds since the Unix epoch (UTC), named *_ms.

CREATE TABLE album_items (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- UUIDv7
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind                    TEXT COLLATE "C" NOT NULL CHECK (kind IN ('screenshot', 'clip')),
    uid                     TEXT COLLATE "C" NOT NULL,             -- the camera it was taken from
    device_name_enc         BYTEA,                      -- the camera's name then, sealed under the account key
    taken_at_ms             BIGINT NOT NULL,          -- wall clock of the picture (a clip: of its first frame)
    duration_ms             BIGINT NOT NULL,          -- 0 for a screenshot
    bytes                   BIGINT NOT NULL,          -- size of the content (JPEG or MP4) before sealing
    blob_id                 BYTEA NOT NULL,             -- 16-byte blob id of the sealed content
    key_enc                 BYTEA NOT NULL,             -- the item's data key, sealed under the account key
    created_at_ms           BIGINT NOT NULL           -- when it was saved
);
CREATE INDEX album_items_by_account ON album_items (account_id, created_at_ms);
