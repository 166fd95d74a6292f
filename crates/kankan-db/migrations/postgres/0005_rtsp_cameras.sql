-- RTSP/ONVIF cameras: ordinary cameras the server pulls video from. Each is also a `devices`
-- row (model 'RTSP'), bound to the account that added it; this table holds where to pull.
-- Times are milliseconds since the Unix epoch (UTC), named *_ms.

CREATE TABLE rtsp_cameras (
    uid                     TEXT COLLATE "C" PRIMARY KEY REFERENCES devices (uid) ON DELETE CASCADE,
    source_enc              BYTEA NOT NULL,             -- {"url","username","password"} JSON, sealed under the owner's account key
    created_at_ms           BIGINT NOT NULL
);
