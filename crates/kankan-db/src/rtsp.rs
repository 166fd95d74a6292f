//! Rows of the RTSP camera registry.

use kankan_base::{AccountId, Timestamp};

/// An RTSP camera: where the server pulls its video from. The camera is also a bound
/// [`crate::Device`] (model `RTSP`); `owner` is that device's owner.
#[derive(Clone)]
pub struct RtspCamera {
    pub uid: String,
    pub owner: AccountId,
    /// URL and credentials as JSON, sealed under the owner's account key.
    pub source_enc: Vec<u8>,
    pub created_at: Timestamp,
}

impl std::fmt::Debug for RtspCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtspCamera").field("uid", &self.uid).field("owner", &self.owner).finish()
    }
}
