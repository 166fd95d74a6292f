//! Tunables of recording, validated at start-up.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordingConfig {
    /// Days of continuous footage kept (the default plan: 7).
    pub retention_days: u32,
    /// Footage one account may keep, in MiB; past it the oldest unprotected footage goes.
    pub quota_mib: u64,
    /// Target segment length; segments are cut at the first keyframe after it.
    pub segment_secs: u32,
    /// Sync what arrived to disk at least once a second of video (and at every keyframe), so
    /// a crash loses at most about 1 s. Off trades that guarantee for fewer disk syncs.
    pub checkpoint: bool,
    /// How far ahead of the server's clock a device's timestamps may run.
    pub max_clock_skew_secs: u32,
    /// How long playback and download links stay valid.
    pub link_ttl_secs: u32,
    /// How often the retention and quota worker runs.
    pub sweep_secs: u32,
    /// How long a viewer waits for a camera that streams on demand to start.
    pub live_start_wait_secs: u32,
    /// How long an on-demand stream runs on after its last viewer left (a viewer who comes
    /// back at once finds it still running).
    pub live_grace_secs: u32,
    /// Detect motion on the server for RTSP cameras (they have no detector of their own):
    /// their stream is decoded, 5 frames a second are analysed.
    pub rtsp_motion: bool,
    /// How many RTSP streams may be decoded for motion at the same moment, all cameras
    /// together (1-64); a camera waiting for its turn skips ahead to keyframes.
    pub rtsp_motion_decoders: usize,
    /// Footage kept before an event starts (its clip's pre-roll, protected with it), 0-60.
    pub event_preroll_secs: u32,
    /// Events-only cameras: how long footage waits, beyond the longest event clip (10 min)
    /// and the pre-roll, for an event that keeps it (a late event message), before the
    /// retention sweep deletes it, 10-86400.
    pub events_hold_secs: u32,
    /// Several nodes: a live upload open this long ends at its next keyframe (the server
    /// answers it as if the camera had finished), so the camera uploads again, from that
    /// keyframe, through the proxy and lands on the node its UID routes to now; 0 (the
    /// default) never, else 5-86400.
    pub live_upload_max_secs: u32,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        RecordingConfig {
            retention_days: 7,
            quota_mib: 200 * 1024,
            segment_secs: 4,
            checkpoint: true,
            max_clock_skew_secs: 30,
            link_ttl_secs: 900,
            sweep_secs: 60,
            live_start_wait_secs: 8,
            live_grace_secs: 10,
            rtsp_motion: true,
            rtsp_motion_decoders: 2,
            event_preroll_secs: 5,
            events_hold_secs: 120,
            live_upload_max_secs: 0,
        }
    }
}

impl RecordingConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=3650).contains(&self.retention_days) {
            return Err("recording.retention_days must be 1-3650".into());
        }
        if self.quota_mib == 0 {
            return Err("recording.quota_mib must be at least 1".into());
        }
        if !(1..=30).contains(&self.segment_secs) {
            return Err("recording.segment_secs must be 1-30".into());
        }
        if !(60..=86_400).contains(&self.link_ttl_secs) {
            return Err("recording.link_ttl_secs must be 60-86400".into());
        }
        if !(1..=86_400).contains(&self.sweep_secs) {
            return Err("recording.sweep_secs must be 1-86400".into());
        }
        if !(1..=86_400).contains(&self.max_clock_skew_secs) {
            return Err("recording.max_clock_skew_secs must be 1-86400".into());
        }
        if !(1..=60).contains(&self.live_start_wait_secs) {
            return Err("recording.live_start_wait_secs must be 1-60".into());
        }
        if !(1..=64).contains(&self.rtsp_motion_decoders) {
            return Err("recording.rtsp_motion_decoders must be 1-64".into());
        }
        if self.live_grace_secs > 600 {
            return Err("recording.live_grace_secs must be 0-600".into());
        }
        if self.event_preroll_secs > 60 {
            return Err("recording.event_preroll_secs must be 0-60".into());
        }
        if self.live_upload_max_secs != 0 && !(5..=86_400).contains(&self.live_upload_max_secs) {
            return Err("recording.live_upload_max_secs must be 0 or 5-86400".into());
        }
        if !(10..=86_400).contains(&self.events_hold_secs) {
            return Err("recording.events_hold_secs must be 10-86400".into());
        }
        Ok(())
    }

    pub fn event_preroll_ms(&self) -> i64 {
        i64::from(self.event_preroll_secs) * 1000
    }

    /// How old (by its end) an events-only camera's footage must be before the sweep may
    /// delete it when no event keeps it: the hold, the longest clip and the pre-roll.
    pub fn events_hold_ms(&self) -> i64 {
        i64::from(self.events_hold_secs) * 1000
            + kankan_db::EVENT_MAX_CLIP_MS
            + self.event_preroll_ms()
    }

    pub fn retention_ms(&self) -> i64 {
        i64::from(self.retention_days) * 86_400_000
    }

    pub fn quota_bytes(&self) -> u64 {
        self.quota_mib.saturating_mul(1024 * 1024)
    }
}
