//! The SD card served from afar: on the server's `card-list` and `card-play` commands the
//! camera posts the spans of footage its card holds, or the footage of a range (the init
//! segment, then the fragments from the keyframe at or before its start), to
//! `/ingest/v1/{uid}/card/{request}`, which the server relays to the viewer who asked and
//! stores nowhere. See docs/ref/ingest.md.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kankan_protocol::device::{CARD_SPAN_GAP_MS, CardListing, CardSpan, CommandKind};

use super::source::Fragment;
use super::{SdCard, VideoConfig};

/// What the main stream's card holds and how to reach the server.
pub(crate) struct CardServer {
    pub(crate) sd: Arc<Mutex<SdCard>>,
    pub(crate) init: Bytes,
    pub(crate) cfg: VideoConfig,
    pub(crate) http: reqwest::Client,
}

impl std::fmt::Debug for CardServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardServer").field("uid", &self.cfg.uid).finish_non_exhaustive()
    }
}

/// The spans of `frags` (in time order) within `[from, to)`: runs without a gap longer than
/// [`CARD_SPAN_GAP_MS`].
pub fn spans_of(frags: &[(i64, i64)], from: i64, to: i64) -> Vec<CardSpan> {
    let mut spans: Vec<CardSpan> = Vec::new();
    for &(start, end) in frags.iter().filter(|(s, e)| *e > from && *s < to) {
        match spans.last_mut() {
            Some(last) if start - last.end_ms <= CARD_SPAN_GAP_MS && start >= last.start_ms => {
                last.end_ms = last.end_ms.max(end);
            }
            _ => spans.push(CardSpan { start_ms: start, end_ms: end }),
        }
    }
    spans
}

/// The index of the fragment a playback of `[from, to)` starts at: the last keyframe at or
/// before `from`, else the first keyframe inside the range.
pub fn start_index(frags: &[(i64, bool)], from: i64, to: i64) -> Option<usize> {
    let before = frags.iter().rposition(|&(s, key)| key && s <= from);
    before.or_else(|| frags.iter().position(|&(s, key)| key && s > from && s < to))
}

impl CardServer {
    fn sd(&self) -> std::sync::MutexGuard<'_, SdCard> {
        self.sd.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn listing(&self, from: i64, to: i64) -> CardListing {
        let sd = self.sd();
        let times: Vec<(i64, i64)> = sd.frags.iter().map(|f| (f.start_ms, f.end_ms)).collect();
        CardListing { spans: spans_of(&times, from, to) }
    }

    fn footage(&self, from: i64, to: i64) -> Option<Vec<u8>> {
        let sd = self.sd();
        let keys: Vec<(i64, bool)> = sd.frags.iter().map(|f| (f.start_ms, f.keyframe)).collect();
        let at = start_index(&keys, from, to)?;
        let frags: Vec<&Fragment> = sd.frags.range(at..).take_while(|f| f.start_ms < to).collect();
        let mut body = self.init.to_vec();
        for f in frags {
            body.extend_from_slice(&f.bytes);
        }
        Some(body)
    }

    /// Answers a card command by posting to the server; why it could not, if it could not.
    pub(crate) async fn answer(&self, kind: CommandKind) -> Result<(), String> {
        let (request, body, content_type) = match kind {
            CommandKind::CardList { request, from_ms, to_ms } => {
                let json =
                    serde_json::to_vec(&self.listing(from_ms, to_ms)).map_err(|e| e.to_string())?;
                (request, json, "application/json")
            }
            CommandKind::CardPlay { request, from_ms, to_ms } => {
                // Nothing in the range: an empty answer tells the viewer at once.
                let body = self.footage(from_ms, to_ms).unwrap_or_default();
                (request, body, "video/mp4")
            }
            other => return Err(format!("not a card command: {other:?}")),
        };
        let url = format!("{}/ingest/v1/{}/card/{request}", self.cfg.ingest_url, self.cfg.uid);
        let r = self
            .http
            .post(url)
            .basic_auth(&self.cfg.uid, Some(self.cfg.current_secret()))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("card answer: {e}"))?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(format!("card answer refused: {}", r.status()))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn spans_join_close_fragments_and_split_at_gaps() {
        let frags = [(0, 100), (100, 200), (200, 300), (5_000, 5_100), (5_100, 5_200)];
        let spans = spans_of(&frags, 0, 10_000);
        assert_eq!(
            spans,
            [CardSpan { start_ms: 0, end_ms: 300 }, CardSpan { start_ms: 5_000, end_ms: 5_200 }]
        );
        assert_eq!(spans_of(&frags, 5_050, 10_000).len(), 1, "only what overlaps the range");
        assert!(spans_of(&frags, 300, 5_000).is_empty());
    }

    #[test]
    fn playback_starts_at_the_keyframe_at_or_before_its_start() {
        let frags = [(0, true), (100, false), (200, true), (300, false), (400, false)];
        assert_eq!(start_index(&frags, 350, 1_000), Some(2));
        assert_eq!(start_index(&frags, 200, 1_000), Some(2));
        assert_eq!(start_index(&frags, 150, 1_000), Some(0));
        assert_eq!(start_index(&frags[1..], 0, 150), None, "no keyframe to start from");
        assert_eq!(start_index(&frags[1..], 50, 250), Some(1), "the first keyframe inside");
    }

    proptest! {
        #[test]
        fn spans_cover_every_fragment_in_range_and_never_overlap(
            steps in prop::collection::vec((1_i64..3_000, 1_i64..500), 0..60),
            from in 0_i64..50_000, len in 1_i64..100_000,
        ) {
            let mut t = 0;
            let frags: Vec<(i64, i64)> = steps.iter().map(|(gap, dur)| {
                t += gap;
                let f = (t, t + dur);
                t += dur;
                f
            }).collect();
            let to = from + len;
            let spans = spans_of(&frags, from, to);
            for w in spans.windows(2) {
                prop_assert!(w[0].end_ms + CARD_SPAN_GAP_MS < w[1].start_ms);
            }
            for (s, e) in frags.iter().filter(|(s, e)| *e > from && *s < to) {
                prop_assert!(spans.iter().any(|sp| sp.start_ms <= *s && sp.end_ms >= *e));
            }
        }
    }
}
