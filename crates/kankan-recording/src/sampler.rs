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

#[cfg(test)]
mod tests {
    use super::*;

    /// Two seconds of a 15 fps camera (what the decode budget lets through at once) as one
    /// fragment per frame, and its init segment.
    fn stream() -> (Bytes, Vec<Bytes>) {
        let cfg = kankan_video::EncoderConfig {
            width: 320,
            height: 180,
            fps: 15,
            bitrate_bps: 300_000,
            gop: 15,
        };
        let camera = kankan_video::Prerecorded::new(cfg, 2).expect("encodes");
        let (sps, pps) = camera.parameter_sets();
        let init = kankan_media::write_init(&kankan_media::VideoParams {
            width: 320,
            height: 180,
            timescale: 90_000,
            sps: sps.to_vec(),
            pps: pps.to_vec(),
        });
        let frags = camera
            .frames()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let i = u32::try_from(i).expect("few");
                let sample = kankan_media::WriteSample {
                    data: &f.avcc,
                    duration: 6_000,
                    keyframe: f.keyframe,
                    cts_offset: 0,
                };
                Bytes::from(kankan_media::write_fragment(i + 1, 1, u64::from(i) * 6_000, &[sample]))
            })
            .collect();
        (Bytes::from(init), frags)
    }

    #[test]
    fn a_consumer_that_falls_behind_gets_the_newest_picture_and_nothing_queues() {
        // fails without the fix: every sampled picture waited in a queue for the detector.
        let (init, frags) = stream();
        let (input, parts) = std_mpsc::sync_channel(BACKLOG);
        let (out, rx) = watch::channel(None);
        let pool = DecodePool::new(1);
        let every_ms = 500;
        let n = frags.len();
        let last_ms = i64::try_from(n - 1).expect("few") * 1000 / 15;
        let decoding = std::thread::spawn(move || sample(&parts, &out, &pool, every_ms));
        input.send(Input::Init(init)).expect("sent");
        for (i, f) in frags.into_iter().enumerate() {
            let at = i64::try_from(i).expect("few") * 1000 / 15;
            input.send(Input::Fragment(f, at)).expect("sent");
        }
        drop(input);
        decoding.join().expect("the decoder ends with its input");
        // Nobody took a picture while 2 s went by at 2 a second: one is waiting, the newest.
        let newest = rx.borrow().clone().expect("a picture");
        assert!(newest.at_ms > last_ms - every_ms && newest.at_ms <= last_ms, "{}", newest.at_ms);
        assert_eq!(newest.picture.dimensions(), (320, 180));
    }
}
