//! A bound device's network ("network settings") and its SD card seen from afar.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new Wi-Fi network for a bound device: sent now to an online one (`/wifi`), or carried
/// by a rejoin QR/sound code for one that lost its network (`/wifi/code`).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WifiRequest {
    /// 1-32 bytes of UTF-8.
    #[schema(min_length = 1, max_length = 32)]
    pub ssid: String,
    /// 8-63 characters (WPA2), or empty for an open network. Sealed for the device: never
    /// stored, logged or sent in clear.
    pub password: String,
}

impl std::fmt::Debug for WifiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WifiRequest").field("ssid", &self.ssid).finish_non_exhaustive()
    }
}

/// The SD card's footage of one day, and the days it holds footage of.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CardDay {
    /// The day asked for (`YYYY-MM-DD`, in the device's time zone).
    pub day: String,
    /// The device's time zone the days are counted in.
    pub time_zone: String,
    /// Days with footage on the card, oldest first.
    pub days: Vec<String>,
    /// Spans of footage within `day` (milliseconds since the Unix epoch, end exclusive).
    pub spans: Vec<CardSpanInfo>,
    /// The card's state as the device last reported it (status, total and used MB).
    pub card: Option<crate::device::SdCard>,
}

/// A span of footage on the card.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct CardSpanInfo {
    pub start_ms: i64,
    pub end_ms: i64,
}
