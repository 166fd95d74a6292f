-- Firmware updates: the operator's signed images, rollouts of them, and each device's
-- installed version and updates. Nothing here is personal data: an image is the operator's,
-- a version and an update's progress describe the device, so they are kept in clear (the
-- rollout worker chooses devices by them without any owner's key). Times are milliseconds
-- since the Unix epoch (UTC), named *_ms.

-- An image, uploaded by staff with the operator's Ed25519 signature over its model, version
-- and SHA-256 (checked before it is kept). The bytes are in the blob store as they came.
CREATE TABLE firmware_images (
    id                      TEXT PRIMARY KEY,
    model                   TEXT NOT NULL,
    version                 TEXT NOT NULL,
    size                    INTEGER NOT NULL,
    sha256                  TEXT NOT NULL,              -- lower hex
    signature               TEXT NOT NULL,              -- base64url Ed25519
    blob_id                 BLOB NOT NULL,
    created_at_ms           INTEGER NOT NULL,
    UNIQUE (model, version)
);

-- A rollout offers an image to the devices of its model inside its percentage (a stable hash
-- of the rollout and the UID) or its cohort, at the worker's pace, until paused.
CREATE TABLE firmware_rollouts (
    id                      TEXT PRIMARY KEY,
    image_id                TEXT NOT NULL REFERENCES firmware_images (id),
    percent                 INTEGER NOT NULL CHECK (percent BETWEEN 0 AND 100),
    paused                  INTEGER NOT NULL DEFAULT 0,
    created_at_ms           INTEGER NOT NULL,
    updated_at_ms           INTEGER NOT NULL
);

CREATE TABLE firmware_rollout_cohort (
    rollout_id              TEXT NOT NULL REFERENCES firmware_rollouts (id) ON DELETE CASCADE,
    uid                     TEXT NOT NULL,
    PRIMARY KEY (rollout_id, uid)
);

-- What each device last reported: the version it runs and its owner's auto-update switch as
-- the device applied it.
CREATE TABLE firmware_devices (
    uid                     TEXT PRIMARY KEY REFERENCES devices (uid) ON DELETE CASCADE,
    version                 TEXT NOT NULL,
    auto_update             INTEGER NOT NULL,
    reported_at_ms          INTEGER NOT NULL
);

-- One row per image offered to a device (by a rollout, or by its owner's Update): where that
-- update stands. phase: 'offered' (sent, not started yet), then the device's own phases
-- 'downloading' | 'verifying' | 'installing' | 'rebooting' | 'confirmed' | 'failed' |
-- 'rolled-back'.
CREATE TABLE firmware_updates (
    uid                     TEXT NOT NULL REFERENCES devices (uid) ON DELETE CASCADE,
    image_id                TEXT NOT NULL REFERENCES firmware_images (id),
    rollout_id              TEXT REFERENCES firmware_rollouts (id),
    from_version            TEXT NOT NULL,
    phase                   TEXT NOT NULL,
    percent                 INTEGER NOT NULL DEFAULT 0,
    error                   TEXT,
    command_id              TEXT,
    offered_at_ms           INTEGER NOT NULL,
    updated_at_ms           INTEGER NOT NULL,
    PRIMARY KEY (uid, image_id)
);
CREATE INDEX firmware_updates_by_rollout ON firmware_updates (rollout_id);
CREATE INDEX firmware_updates_by_phase ON firmware_updates (phase);
