//! The SD card from afar: its footage listed and played through the server without storing
//! anything. The server sends the device a `card-list` or `card-play` command naming a
//! request id; the device answers by posting the listing (JSON) or the footage (fMP4: init
//! segment, then fragments) to `/ingest/v1/{uid}/card/{request}`, and [`CardRelay`] hands
//! that body to the viewer waiting on the request, in memory, chunk by chunk. No journal,
//! segment, index row, blob or data key is made: the footage stays on the card (the founding
//! policy's "Card Recording" service). Reading needs `play-back`, as playing recordings does.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use kankan_core::authz::Capability;
use kankan_devices::DeviceHandle;
use kankan_media::{Limits, StreamItem, StreamParser};
use kankan_protocol::device::{CardListing, CardSpan, CommandKind};
use tokio::sync::{mpsc, oneshot};

use super::Recordings;
use crate::CoreError;

/// How long the device has to acknowledge a card command.
const ACK_WAIT: Duration = Duration::from_secs(5);
/// How long the device has to start posting its answer.
const ANSWER_WAIT: Duration = Duration::from_secs(15);
/// The largest listing a device may post.
pub const MAX_LISTING_BYTES: usize = 1 << 20;
/// Chunks of a device's answer buffered for a slow viewer before the device is held up.
const CHUNKS: usize = 16;

/// What a device's answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardAnswer {
    Listing,
    Footage,
}

struct Waiting {
    uid: String,
    kind: CardAnswer,
    tx: oneshot::Sender<mpsc::Receiver<Bytes>>,
}

/// The requests waiting for a device's answer, on this node (in memory only).
#[derive(Default)]
pub(crate) struct CardRelay {
    waiting: Mutex<HashMap<uuid::Uuid, Waiting>>,
}

impl CardRelay {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<uuid::Uuid, Waiting>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Removes a request when its viewer stops waiting, however that happens.
struct Registration<'a> {
    relay: &'a CardRelay,
    id: uuid::Uuid,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.relay.lock().remove(&self.id);
    }
}

/// Where a device's answer goes: send its body's chunks, in order; a send that fails means
/// the viewer left.
#[derive(Debug)]
pub struct CardDelivery {
    pub kind: CardAnswer,
    pub tx: mpsc::Sender<Bytes>,
}

impl Recordings {
    /// Asks the device for the spans of footage its SD card holds in `[from_ms, to_ms)`
    /// (`play-back`). `DeviceOffline` when it is not connected; `CardUnavailable` when it
    /// refuses (no card, no video) or does not answer.
    pub async fn card_list(
        &self,
        h: &DeviceHandle,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<CardSpan>, CoreError> {
        h.require(Capability::PlayBack)?;
        let request = uuid::Uuid::now_v7();
        let kind = CommandKind::CardList { request, from_ms, to_ms };
        let mut rx = self.card_ask(h, request, kind, CardAnswer::Listing).await?;
        let mut body = Vec::new();
        while let Some(chunk) = rx.recv().await {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_LISTING_BYTES {
                return Err(CoreError::CardUnavailable("the listing is too large".into()));
            }
        }
        let listing: CardListing = serde_json::from_slice(&body)
            .map_err(|e| CoreError::CardUnavailable(format!("unreadable listing: {e}")))?;
        let mut spans: Vec<CardSpan> = listing
            .spans
            .into_iter()
            .filter(|s| s.end_ms > s.start_ms && s.end_ms > from_ms && s.start_ms < to_ms)
            .collect();
        spans.sort_by_key(|s| s.start_ms);
        Ok(spans)
    }

    /// Plays the SD card's footage of `[from_ms, to_ms)` (`play-back`, at most an hour): the
    /// device's fMP4, checked as it passes (an init segment, then fragments of it) and relayed
    /// chunk by chunk; the stream ends where the device's answer ends or stops parsing.
    /// Nothing is stored.
    pub async fn card_play(
        &self,
        h: &DeviceHandle,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static, CoreError> {
        h.require(Capability::PlayBack)?;
        let request = uuid::Uuid::now_v7();
        let kind = CommandKind::CardPlay { request, from_ms, to_ms };
        let mut rx = self.card_ask(h, request, kind, CardAnswer::Footage).await?;
        // The answer must start with an init segment: a device that sends anything else gets
        // its viewer a clear error rather than a broken video.
        let mut parser = StreamParser::new(Limits::default());
        let mut first = Vec::new();
        while first.is_empty() {
            let Some(chunk) = rx.recv().await else {
                return Err(CoreError::CardUnavailable("no footage in that range".into()));
            };
            first = checked(&mut parser, &chunk)
                .map_err(|e| CoreError::CardUnavailable(format!("unplayable footage: {e}")))?;
        }
        if !matches!(first.first(), Some(StreamItem::Init(_))) {
            return Err(CoreError::CardUnavailable("the footage has no init segment".into()));
        }
        let head = Bytes::from(items_bytes(&first));
        let rest = futures_util::stream::unfold(Some((rx, parser)), |st| async move {
            let (mut rx, mut parser) = st?;
            loop {
                let chunk = rx.recv().await?;
                match checked(&mut parser, &chunk) {
                    Ok(items) if items.is_empty() => continue,
                    Ok(items) => {
                        return Some((Ok(Bytes::from(items_bytes(&items))), Some((rx, parser))));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "card footage stopped parsing; relay ended");
                        return None;
                    }
                }
            }
        });
        Ok(futures_util::StreamExt::chain(futures_util::stream::iter([Ok(head)]), rest))
    }

    /// Registers `request`, sends the command and waits for the device to start answering.
    async fn card_ask(
        &self,
        h: &DeviceHandle,
        request: uuid::Uuid,
        kind: CommandKind,
        answer: CardAnswer,
    ) -> Result<mpsc::Receiver<Bytes>, CoreError> {
        let s = &self.inner;
        if h.is_rtsp() {
            return Err(CoreError::CardUnavailable(
                "an RTSP camera's card is not reachable".into(),
            ));
        }
        let online = s.store.device_state(h.uid()).await?.is_some_and(|st| st.online);
        if !online {
            return Err(CoreError::DeviceOffline);
        }
        let (tx, rx) = oneshot::channel();
        s.card.lock().insert(request, Waiting { uid: h.uid().to_string(), kind: answer, tx });
        let _registered = Registration { relay: &s.card, id: request };
        let outcome = s.devices.send_command(h, kind, ACK_WAIT).await?;
        if outcome.status == kankan_devices::CommandStatus::Failed {
            let why = outcome.error.unwrap_or_else(|| "refused".into());
            return Err(CoreError::CardUnavailable(why));
        }
        match tokio::time::timeout(ANSWER_WAIT, rx).await {
            Ok(Ok(body)) => Ok(body),
            _ => Err(CoreError::CardUnavailable("the camera did not answer".into())),
        }
    }

    /// Where the device `uid`'s answer to `request` goes; `NotFound` when nobody waits for it
    /// (unknown, answered already, given up, or another device's).
    pub fn card_delivery(&self, uid: &str, request: uuid::Uuid) -> Result<CardDelivery, CoreError> {
        let mut waiting = self.inner.card.lock();
        match waiting.get(&request) {
            Some(w) if w.uid == uid => {}
            _ => return Err(CoreError::NotFound("card request")),
        }
        let w = waiting.remove(&request).ok_or(CoreError::NotFound("card request"))?;
        let (tx, rx) = mpsc::channel(CHUNKS);
        w.tx.send(rx).map_err(|_| CoreError::NotFound("card request"))?;
        Ok(CardDelivery { kind: w.kind, tx })
    }
}

/// Feeds `chunk` to the parser; the complete items it made.
fn checked(parser: &mut StreamParser, chunk: &[u8]) -> Result<Vec<StreamItem>, CoreError> {
    Ok(parser.push(chunk)?)
}

fn items_bytes(items: &[StreamItem]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        match item {
            StreamItem::Init(i) => out.extend_from_slice(&i.bytes),
            StreamItem::Fragment(f) => out.extend_from_slice(&f.bytes),
        }
    }
    out
}
