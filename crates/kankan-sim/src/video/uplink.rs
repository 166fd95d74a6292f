//! Uploads: one long chunked `POST .../live` while the network is up, and a
//! `PUT .../backfill` of what the SD card holds from an outage once it is back. In the
//! owner's `card-only` recording mode the camera uploads only while the server asks for live
//! view and never backfills: its footage stays on the SD card.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kankan_base::ShutdownSignal;
use kankan_protocol::device::{RecordingMode, Settings};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::source::{Fragment, Started};
use super::{Links, SdCard, VideoConfig, VideoStatus};
use crate::SimError;

/// Fragments sent this long before a cut may not have arrived: they are uploaded again
/// (the server skips what it has).
const RESEND_MS: i64 = 30_000;
const EPOCH_HEADER: &str = "Kankan-Media-Epoch";
/// Fragments (frames) queued for the upload before it counts as stalled: a few seconds.
const UPLOAD_QUEUE: usize = 64;

type Request = JoinHandle<Result<reqwest::Response, reqwest::Error>>;

struct Live {
    tx: mpsc::Sender<Bytes>,
    req: Request,
    first_ms: i64,
    last_ms: i64,
}

pub(super) struct Uplink {
    cfg: VideoConfig,
    started: Started,
    sd: Arc<Mutex<SdCard>>,
    status: watch::Sender<VideoStatus>,
    up: Arc<AtomicBool>,
    /// The server asks for a live upload now (`stream-start` .. `stream-stop`).
    wanted: watch::Receiver<bool>,
    /// The owner's settings, for the recording mode.
    settings: Option<watch::Receiver<Settings>>,
    http: reqwest::Client,
    /// 0 main, 1 sub-stream.
    stream: u8,
}

impl Uplink {
    pub fn new(
        cfg: VideoConfig,
        started: Started,
        sd: Arc<Mutex<SdCard>>,
        status: watch::Sender<VideoStatus>,
        links: Links,
        stream: u8,
    ) -> Result<Self, SimError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = crate::tls::http_client(&cfg.ingest_url, cfg.pin)?;
        let Links { up, wanted, settings } = links;
        Ok(Uplink { cfg, started, sd, status, up, wanted, settings, http, stream })
    }

    /// The owner keeps the video on the SD card only.
    fn card_only(&self) -> bool {
        self.settings.as_ref().is_some_and(|s| s.borrow().recording_mode == RecordingMode::CardOnly)
    }

    /// Upload live now: while the server asks, and always for a camera that records to the
    /// cloud continuously.
    fn upload_wanted(&self) -> bool {
        *self.wanted.borrow() || (!self.cfg.on_demand && !self.card_only())
    }

    fn url(&self, what: &str) -> String {
        format!("{}/ingest/v1/{}/{what}?stream={}", self.cfg.ingest_url, self.cfg.uid, self.stream)
    }

    fn sd(&self) -> std::sync::MutexGuard<'_, SdCard> {
        self.sd.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub async fn run(mut self, mut frags: mpsc::Receiver<Fragment>, mut shutdown: ShutdownSignal) {
        let mut live: Option<Live> = None;
        let mut backfill_from: Option<i64> = None;
        let mut backfill: Option<(JoinHandle<Result<u64, String>>, i64)> = None;
        let (mut retry_at, mut delay) = (Instant::now(), self.cfg.retry);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut wanted_closed = false;
        let mut settings = self.settings.clone();
        loop {
            tokio::select! {
                () = shutdown.wait() => {
                    if let Some(l) = live.take() {
                        drop(l.tx);
                        let _ = tokio::time::timeout(Duration::from_secs(5), l.req).await;
                    }
                    return;
                }
                changed = settings_changed(&mut settings) => {
                    if !changed {
                        settings = None;
                    }
                    if self.card_only() {
                        // The footage stays on the card: nothing of it is uploaded later.
                        backfill_from = None;
                        if let Some((task, _)) = backfill.take() {
                            task.abort();
                        }
                    }
                    let wanted = self.upload_wanted();
                    if wanted && live.is_none() && self.up.load(Ordering::SeqCst) {
                        live = self.open_live();
                    }
                    if let Some(l) = live.take_if(|_| !wanted) {
                        tracing::info!(uid = %self.cfg.uid, stream = self.stream, "card-only: upload stopped");
                        self.close(l);
                    }
                }
                changed = self.wanted.changed(), if !wanted_closed => {
                    wanted_closed = changed.is_err();
                    self.wanted.borrow_and_update();
                    let wanted = self.upload_wanted();
                    if wanted && live.is_none() && self.up.load(Ordering::SeqCst) {
                        // A viewer is waiting: start now, from the current GOP.
                        live = self.open_live();
                    }
                    if let Some(l) = live.take_if(|_| !wanted) {
                        tracing::info!(uid = %self.cfg.uid, stream = self.stream, "on-demand upload stopped");
                        self.close(l);
                    }
                }
                f = frags.recv() => {
                    let Some(f) = f else { return };
                    self.sd().push(f.clone());
                    let up = self.up.load(Ordering::SeqCst);
                    let wanted = self.upload_wanted();
                    let mut sent = None;
                    if live.is_none() && up && wanted && Instant::now() >= retry_at {
                        // The upload starts with the GOP in progress, this fragment included.
                        live = self.open_live();
                        sent = live.as_ref().map(|_| f.end_ms);
                    } else if let Some(l) = &mut live {
                        if l.tx.try_send(f.bytes.clone()).is_ok() {
                            l.last_ms = f.start_ms;
                            sent = Some(f.end_ms);
                            crate::mobile::add(&self.cfg.uid, f.bytes.len());
                        } else if let Some(l) = live.take() {
                            backfill_from = Some(self.lost(l, backfill_from, "upload stalled"));
                        }
                    }
                    let sd_fragments = self.sd().frags.len();
                    let ms = f.end_ms - f.start_ms;
                    self.status.send_modify(|s| {
                        s.made += 1;
                        s.made_ms += ms;
                        s.sent_live += u64::from(sent.is_some());
                        s.sent_live_ms += if sent.is_some() { ms } else { 0 };
                        s.last_sent_end_ms = sent.or(s.last_sent_end_ms);
                        s.sd_fragments = sd_fragments;
                    });
                }
                _ = tick.tick() => {
                    let up = self.up.load(Ordering::SeqCst);
                    if let Some(l) = live.take_if(|l| !up || l.req.is_finished()) {
                        let why = if up { self.finished(l.req.is_finished()) } else { "network cut".into() };
                        backfill_from = Some(self.lost(l, backfill_from, &why));
                        retry_at = Instant::now() + delay;
                        delay = (delay * 2).min(self.cfg.retry * 16);
                    }
                    if self.card_only() {
                        backfill_from = None;
                    }
                    if let (Some(l), Some(from)) = (&live, backfill_from) {
                        if l.last_ms > l.first_ms {
                            delay = self.cfg.retry;
                        }
                        if backfill.is_none() {
                            backfill = Some((self.spawn_backfill(from, l.first_ms), from));
                        }
                    }
                    if let Some((task, from)) = backfill.take_if(|(t, _)| t.is_finished()) {
                        match task.await {
                            Ok(Ok(n)) => {
                                backfill_from = backfill_from.filter(|b| *b < from);
                                self.status.send_modify(|s| {
                                    s.backfills += 1;
                                    s.backfilled += n;
                                });
                            }
                            Ok(Err(e)) => self.status.send_modify(|s| s.last_error = Some(e)),
                            Err(e) => self.status.send_modify(|s| s.last_error = Some(e.to_string())),
                        }
                    }
                }
            }
        }
    }

    fn finished(&self, done: bool) -> String {
        if done { "the server ended the upload".into() } else { "network cut".into() }
    }

    /// Ends a live upload; returns where the next backfill must start.
    fn lost(&self, l: Live, pending: Option<i64>, why: &str) -> i64 {
        l.req.abort();
        tracing::info!(uid = %self.cfg.uid, why, "live upload ended");
        if let Some(log) = &self.cfg.log {
            let at = self.cfg.clock.now().as_millis();
            log.record(at, &format!("upload of stream {} ended: {why}", self.stream));
        }
        self.status.send_modify(|s| {
            s.live = false;
            s.last_error = Some(why.to_string());
        });
        let from = l.first_ms.max(l.last_ms - RESEND_MS);
        pending.map_or(from, |p| p.min(from))
    }

    /// Ends an on-demand upload cleanly: the body ends, the server records what it got.
    fn close(&self, l: Live) {
        drop(l.tx);
        self.status.send_modify(|s| s.live = false);
    }

    /// Opens a live upload that starts with the SD card's GOP in progress; `None` before the
    /// first keyframe.
    fn open_live(&self) -> Option<Live> {
        let gop = self.sd().current_gop();
        let (first, last) = (gop.first()?.start_ms, gop.last()?.start_ms);
        let (tx, rx) = mpsc::channel::<Bytes>(UPLOAD_QUEUE.max(gop.len() + 1));
        let mut bytes = self.started.init.len();
        let _ = tx.try_send(self.started.init.clone());
        for f in gop {
            bytes += f.bytes.len();
            let _ = tx.try_send(f.bytes);
        }
        crate::mobile::add(&self.cfg.uid, bytes);
        let body =
            reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|b| (Ok::<Bytes, std::io::Error>(b), rx))
            }));
        let req = self
            .http
            .post(self.url("live"))
            .basic_auth(&self.cfg.uid, Some(self.cfg.current_secret()))
            .header(EPOCH_HEADER, self.started.epoch_ms.to_string())
            .header("content-type", "video/mp4")
            .body(body)
            .send();
        self.status.send_modify(|s| {
            s.connections += 1;
            s.live = true;
        });
        Some(Live { tx, req: tokio::spawn(req), first_ms: first, last_ms: last })
    }

    /// Uploads the SD card's fragments of `[from, to)`; the count uploaded.
    fn spawn_backfill(&self, from: i64, to: i64) -> JoinHandle<Result<u64, String>> {
        let frags = self.sd().between(from, to);
        let mut body = self.started.init.to_vec();
        for f in &frags {
            body.extend_from_slice(&f.bytes);
        }
        let n = frags.len() as u64;
        if n > 0 {
            crate::mobile::add(&self.cfg.uid, body.len());
        }
        let req = self
            .http
            .put(self.url("backfill"))
            .basic_auth(&self.cfg.uid, Some(self.cfg.current_secret()))
            .header(EPOCH_HEADER, self.started.epoch_ms.to_string())
            .header("content-type", "video/mp4")
            .body(body);
        tokio::spawn(async move {
            if n == 0 {
                return Ok(0);
            }
            let r = req.send().await.map_err(|e| format!("backfill: {e}"))?;
            if r.status().is_success() {
                Ok(n)
            } else {
                Err(format!("backfill refused: {}", r.text().await.unwrap_or_default()))
            }
        })
    }
}

/// Waits until the settings change; false once they never will (or there are none).
async fn settings_changed(rx: &mut Option<watch::Receiver<Settings>>) -> bool {
    match rx {
        Some(rx) => rx.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}
