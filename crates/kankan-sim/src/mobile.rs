//! The SIM's data counter of a 4G camera: the bytes its video uploads (live and backfill)
//! send, counted per UID in this process, reported in the state report's `sim.used_kb`.
//! Every camera counts; only a 4G model (its model name holds `4G`) reports a SIM.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

static SENT: LazyLock<Mutex<HashMap<String, u64>>> = LazyLock::new(Mutex::default);

/// Counts `bytes` sent by `uid`'s uploads.
pub fn add(uid: &str, bytes: usize) {
    if let Ok(mut m) = SENT.lock() {
        *m.entry(uid.to_owned()).or_default() += bytes as u64;
    }
}

/// What `uid` has sent so far, in KiB (rounded down).
pub fn used_kb(uid: &str) -> u64 {
    SENT.lock().map(|m| m.get(uid).copied().unwrap_or(0) / 1024).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_camera_counts_its_own_bytes_in_whole_kib() {
        add("MOBILETEST01", 1500);
        add("MOBILETEST01", 600);
        add("MOBILETEST02", 100);
        assert_eq!(used_kb("MOBILETEST01"), 2);
        assert_eq!(used_kb("MOBILETEST02"), 0);
        assert_eq!(used_kb("MOBILETEST03"), 0);
    }
}
