//! Pictures of a live stream, a few a second, for the server's person detection: the
//! stream is watched the way live view watches it (an on-demand camera is started for it and
//! stopped once nobody watches), every frame is decoded (H.264 needs them all) under the same
//! bounds as the motion watcher's (at most [`super::motion_watch::MAX_DECODE_FPS`] frames a
//! second per camera, the shared [`super::motion_watch::DecodePool`], nothing larger than
//! [`super::motion_watch::MAX_DECODE_PIXELS`]), and only the frames due at the sampling rate are
//! turned into RGB. The newest picture wins: a consumer that falls behind gets the latest one,
//! never a queue of old ones.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;

use bytes::Bytes;
use kankan_media::Limits;
use tokio::sync::watch;

use super::Recordings;
use super::motion_watch::{DecodePool, FrameBudget, MAX_DECODE_PIXELS, decode, open};
use kankan_core::CoreError;
use kankan_core::live::LivePart;
use kankan_devices::DeviceHandle;

/// Fragments waiting for the decoder; past this the sampler skips to the next keyframe.
const BACKLOG: usize = 64;

/// One sampled picture and the wall-clock ms it shows.
#[derive(Debug, Clone)]
pub struct Sampled {
    pub at_ms: i64,
    pub picture: Arc<image::RgbImage>,
}

/// The pictures of one stream; watching ends when this is dropped.
#[derive(Debug)]
pub struct Sampler {
    rx: watch::Receiver<Option<Sampled>>,
}

impl Sampler {
    /// The newest picture not yet taken; `None` once the stream ended.
    pub async fn next(&mut self) -> Option<Sampled> {
        loop {
            self.rx.changed().await.ok()?;
            if let Some(s) = self.rx.borrow_and_update().clone() {
                return Some(s);
            }
        }
    }
}

/// What the decoding thread is given.
enum Input {
    Init(Bytes),
    /// The GOP in progress when watching began (only its newest picture is sampled) and the
    /// wall-clock ms it ended at.
    Backlog(Vec<Bytes>, i64),
    Fragment(Bytes, i64),
}

impl Recordings {
    /// Samples `fps` pictures a second (1-30) of stream `stream` of the device `h` grants live
    /// view of, starting with the picture shown now (see [`Recordings::watch_live`] for the
    /// errors; `view-live`).
    pub async fn sample_live(
        &self,
        h: &DeviceHandle,
        stream: u8,
        fps: u32,
    ) -> Result<Sampler, CoreError> {
        let mut viewer = self.watch_live(h, stream).await?;
        let (tx, rx) = watch::channel(None);
        let (input, parts) = std_mpsc::sync_channel::<Input>(BACKLOG);
        let pool = self.inner.decoders.clone();
        let every_ms = 1000 / i64::from(fps.clamp(1, 30));
        let out = tx.clone();
        std::thread::Builder::new()
            .name(format!("sample-{}", h.uid()))
            .spawn(move || sample(&parts, &out, &pool, every_ms))
            .map_err(|e| CoreError::Internal(format!("sampler thread: {e}")))?;
        let now = self.clone();
        tokio::spawn(async move {
            let mut start = std::mem::take(&mut viewer.start).into_iter();
            let mut skipping = false;
            if let Some(init) = start.next() {
                let backlog = Input::Backlog(start.collect(), now.now().0);
                skipping =
                    input.try_send(Input::Init(init)).is_err() || input.try_send(backlog).is_err();
            }
            loop {
                let part = tokio::select! {
                    () = tx.closed() => return,
                    part = viewer.next() => part,
                };
                let part = match part {
                    None => return,
                    Some(LivePart::Init(b)) => Input::Init(b),
                    Some(LivePart::Fragment { keyframe: false, .. }) if skipping => continue,
                    Some(LivePart::Fragment { bytes, .. }) => Input::Fragment(bytes, now.now().0),
                };
                skipping = input.try_send(part).is_err();
            }
        });
        Ok(Sampler { rx })
    }
}

/// The decoding thread: decodes every fragment, converts the pictures due (one each
/// `every_ms`) and offers each as the newest.
fn sample(
    parts: &std_mpsc::Receiver<Input>,
    out: &watch::Sender<Option<Sampled>>,
    pool: &DecodePool,
    every_ms: i64,
) {
    let limits = Limits::default();
    let mut budget = FrameBudget::new();
    let mut stream = None;
    let mut anchor: Option<(i64, u64)> = None;
    let mut next_ms = i64::MIN;
    let offer = |pic: &kankan_video::Yuv420, at: i64| {
        if pic.width().saturating_mul(pic.height()) > MAX_DECODE_PIXELS {
            return;
        }
        let picture = Arc::new(kankan_video::to_rgb(pic));
        out.send_replace(Some(Sampled { at_ms: at, picture }));
    };
    while let Ok(part) = parts.recv() {
        if out.is_closed() {
            return;
        }
        match part {
            Input::Init(b) => {
                stream = open(&b, &limits);
                anchor = None;
                next_ms = i64::MIN;
            }
            Input::Backlog(frags, now) => {
                let Some((init, decoder)) = stream.as_mut() else { continue };
                // Anchor the media clock at the newest fragment, which ended about now.
                let end = |b: &Bytes| {
                    let f = kankan_media::parse_fragment(init, b, &limits).ok()?;
                    f.video_run(init).map(|r| r.end_decode_time())
                };
                anchor = frags.last().and_then(end).map(|end| (now, end));
                let _slot = pool.acquire();
                let last = frags.len().saturating_sub(1);
                for (i, b) in frags.iter().enumerate() {
                    decode(
                        init,
                        decoder,
                        b,
                        (now, &mut anchor),
                        &limits,
                        &mut budget,
                        |pic, at| {
                            if i == last {
                                offer(pic, at);
                                next_ms = at + every_ms;
                            }
                        },
                    );
                }
            }
            Input::Fragment(b, arrived) => {
                let Some((init, decoder)) = stream.as_mut() else { continue };
                let _slot = pool.acquire();
                let clock = (arrived, &mut anchor);
                decode(init, decoder, &b, clock, &limits, &mut budget, |pic, at| {
                    if at >= next_ms {
                        next_ms = at + every_ms;
                        offer(pic, at);
                    }
                });
            }
        }
    }
}
