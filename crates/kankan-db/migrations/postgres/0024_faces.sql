-- Familiar faces (the account's optional `face-recognition`): each face an account's cameras
-- saw, as a template (the 128-number face embedding) sealed under the account key, with the
-- name the owner gave it (sealed; NULL while unnamed: a stranger) and its relation. Unnamed
-- faces are deleted two days after their last sighting; deleting a face deletes its
-- sightings with it (ON DELETE CASCADE), and so does deleting the event a sighting was in.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms.

CREATE TABLE faces (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- UUIDv7
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    template_enc            BYTEA NOT NULL,             -- the embedding, sealed under the account key
    name_enc                BYTEA,                      -- the name, sealed under the account key; NULL: unnamed
    relation                TEXT COLLATE "C" CHECK (relation IN ('family', 'friend')),
    first_seen_ms           BIGINT NOT NULL,
    last_seen_ms            BIGINT NOT NULL,
    created_at_ms           BIGINT NOT NULL
);
CREATE INDEX faces_by_account ON faces (account_id, last_seen_ms);
CREATE INDEX faces_unnamed_by_last_seen ON faces (last_seen_ms) WHERE name_enc IS NULL;

-- Each time a face was seen: in which event, on which camera, when, and the small picture of
-- the face (a JPEG sealed under the account key).
CREATE TABLE face_sightings (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- UUIDv7
    face_id                 TEXT COLLATE "C" NOT NULL REFERENCES faces (id) ON DELETE CASCADE,
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    event_id                TEXT COLLATE "C" NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    uid                     TEXT COLLATE "C" NOT NULL,             -- the camera
    seen_at_ms              BIGINT NOT NULL,
    crop_enc                BYTEA NOT NULL              -- the face's JPEG, sealed under the account key
);
CREATE INDEX face_sightings_by_face ON face_sightings (face_id, seen_at_ms);
CREATE INDEX face_sightings_by_event ON face_sightings (event_id);
