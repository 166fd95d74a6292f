//! Uploads: one long chunked `POST .../live` while the network is up, and a
//! `PUT .../backfill` of what the SD card holds from an outage once it is back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kankan_base::ShutdownSignal;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::source::{Fragment, Started};
use super::{SdCard, VideoConfig, VideoStatus};
use crate::SimError;

/// Fragments sent this long before a cut may not have arrived: they are uploaded again
/// (the server skips what it has).
const RESEND_MS: i64 = 30_000;
const EPOCH_HEADER: &str = "Kankan-Media-Epoch";

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
        up: Arc<AtomicBool>,
        stream: u8,
    ) -> Result<Self, SimError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| SimError::Config(format!("HTTP client: {e}")))?;
        Ok(Uplink { cfg, started, sd, status, up, http, stream })
    }

    fn url(&self, what: &str) -> String {
        format!("{}/ingest/v1/{}/{what}?stream={}", self.cfg.ingest_url, self.cfg.uid, self.stream)
    }

    fn sd(&self) -> std::sync::MutexGuard<'_, SdCard> {
        self.sd.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub async fn run(self, mut frags: mpsc::Receiver<Fragment>, mut shutdown: ShutdownSignal) {
        let mut live: Option<Live> = None;
        let mut backfill_from: Option<i64> = None;
        let mut backfill: Option<(JoinHandle<Result<u64, String>>, i64)> = None;
        let (mut retry_at, mut delay) = (Instant::now(), self.cfg.retry);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                () = shutdown.wait() => {
                    if let Some(l) = live.take() {
                        drop(l.tx);
                        let _ = tokio::time::timeout(Duration::from_secs(5), l.req).await;
                    }
                    return;
                }
                f = frags.recv() => {
                    let Some(f) = f else { return };
                    self.sd().push(f.clone());
                    let up = self.up.load(Ordering::SeqCst);
                    if live.is_none() && up && Instant::now() >= retry_at {
                        live = Some(self.open_live(f.start_ms));
                    }
                    let mut sent = None;
                    if let Some(l) = &mut live {
                        if l.tx.try_send(f.bytes.clone()).is_ok() {
                            l.last_ms = f.start_ms;
                            sent = Some(f.end_ms);
                        } else if let Some(l) = live.take() {
                            backfill_from = Some(self.lost(l, backfill_from, "upload stalled"));
                        }
                    }
                    let sd_fragments = self.sd().frags.len();
                    self.status.send_modify(|s| {
                        s.made += 1;
                        s.sent_live += u64::from(sent.is_some());
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
        self.status.send_modify(|s| {
            s.live = false;
            s.last_error = Some(why.to_string());
        });
        let from = l.first_ms.max(l.last_ms - RESEND_MS);
        pending.map_or(from, |p| p.min(from))
    }

    fn open_live(&self, first_ms: i64) -> Live {
        let (tx, rx) = mpsc::channel::<Bytes>(16);
        let _ = tx.try_send(self.started.init.clone());
        let body =
            reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|b| (Ok::<Bytes, std::io::Error>(b), rx))
            }));
        let req = self
            .http
            .post(self.url("live"))
            .basic_auth(&self.cfg.uid, Some(&self.cfg.secret))
            .header(EPOCH_HEADER, self.started.epoch_ms.to_string())
            .header("content-type", "video/mp4")
            .body(body)
            .send();
        self.status.send_modify(|s| {
            s.connections += 1;
            s.live = true;
        });
        Live { tx, req: tokio::spawn(req), first_ms, last_ms: first_ms }
    }

    /// Uploads the SD card's fragments of `[from, to)`; the count uploaded.
    fn spawn_backfill(&self, from: i64, to: i64) -> JoinHandle<Result<u64, String>> {
        let frags = self.sd().between(from, to);
        let mut body = self.started.init.to_vec();
        for f in &frags {
            body.extend_from_slice(&f.bytes);
        }
        let n = frags.len() as u64;
        let req = self
            .http
            .put(self.url("backfill"))
            .basic_auth(&self.cfg.uid, Some(&self.cfg.secret))
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
