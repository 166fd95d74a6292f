//! Firmware updates against the real gateway and a local image server: a signed image is
//! installed and confirmed; a tampered one is refused; a cut download resumes; a failed
//! health check or a crash before confirmation rolls back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kankan_crypto::firmware::{SigningKey, image_sha256};
use kankan_gateway::Inbound;
use kankan_protocol::device::{Ack, CommandKind, FirmwareOffer, StateReport, UpdatePhase};
use kankan_sim::config::FIRMWARE;
use kankan_sim::firmware_image;
use kankan_sim::slots::{DIR, Slot, Slots};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use crate::support::{CAM, CAM_SECRET, SimDevice, TestGateway, config};

const MODEL: &str = "KK-C1";
const NEW: &str = "1.1.0";
const URL: &str = "/ingest/v1/KKCAM0000001/firmware/7";

/// Serves one image at [`URL`] over HTTP/1.1 with `Range: bytes=N-`, checking the device's
/// Basic credentials; can cut the first response short.
struct ImageServer {
    base: String,
    /// The `Range` header of each request (None: none sent).
    ranges: Arc<Mutex<Vec<Option<String>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ImageServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ImageServer {
    async fn start(image: Vec<u8>, cut_first_at: Option<usize>) -> ImageServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let ranges: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
        let seen = ranges.clone();
        let auth = format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("{CAM}:{CAM_SECRET}")
            )
        );
        let task = tokio::spawn(async move {
            let mut cut = cut_first_at;
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&req).to_string();
                let header = |name: &str| {
                    text.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                    })
                };
                let range = header("range");
                seen.lock().expect("lock").push(range.clone());
                if !text.starts_with(&format!("GET {URL} "))
                    || header("authorization") != Some(auth.clone())
                {
                    let _ = sock.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
                    continue;
                }
                let from = range
                    .as_deref()
                    .and_then(|r| r.strip_prefix("bytes="))
                    .and_then(|r| r.strip_suffix('-'))
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0);
                let body = &image[from.min(image.len())..];
                let head = if from > 0 {
                    format!(
                        "HTTP/1.1 206 Partial Content\r\ncontent-length: {}\r\ncontent-range: bytes {from}-{}/{}\r\nconnection: close\r\n\r\n",
                        body.len(),
                        image.len() - 1,
                        image.len()
                    )
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    )
                };
                let _ = sock.write_all(head.as_bytes()).await;
                let send = cut.take().map_or(body.len(), |at| at.min(body.len()));
                let _ = sock.write_all(&body[..send]).await;
                let _ = sock.shutdown().await;
            }
        });
        ImageServer { base, ranges, task }
    }
}

struct Signed {
    key: SigningKey,
    image: Vec<u8>,
}

impl Signed {
    fn new() -> Signed {
        let (key, _) = SigningKey::generate().expect("key");
        Signed { key, image: firmware_image(MODEL, NEW, 200_000) }
    }

    fn offer(&self) -> FirmwareOffer {
        FirmwareOffer {
            version: NEW.into(),
            url: URL.into(),
            size: self.image.len() as u64,
            sha256: image_sha256(&self.image),
            signature: self.key.sign(MODEL, NEW, &self.image),
        }
    }
}

fn device(
    gw: &TestGateway,
    dir: &std::path::Path,
    key: &Signed,
    server: &ImageServer,
) -> kankan_sim::DeviceConfig {
    let mut cfg = config(CAM, CAM_SECRET, dir, Some(gw.server()));
    cfg.model = Some(MODEL.into());
    cfg.firmware_key = Some(key.key.public_key());
    cfg.ingest_url = Some(server.base.clone());
    cfg
}

/// Reports from the camera until one with `phase` arrives; all of them. Acks, which the
/// gateway may deliver out of order with reports, are kept in `acks`.
async fn reports_until(gw: &mut TestGateway, phase: UpdatePhase) -> Vec<StateReport> {
    reports_and_acks(gw, phase, &mut Vec::new()).await
}

async fn reports_and_acks(
    gw: &mut TestGateway,
    phase: UpdatePhase,
    acks: &mut Vec<Ack>,
) -> Vec<StateReport> {
    let mut seen = Vec::new();
    loop {
        let m = gw.next().await;
        if m.uid == CAM && m.kind == Inbound::Ack {
            acks.push(serde_json::from_slice(&m.payload).expect("an ack"));
        }
        if m.uid != CAM || m.kind != Inbound::State {
            continue;
        }
        let r: StateReport = serde_json::from_slice(&m.payload).expect("a state report");
        let done = r.update.as_ref().is_some_and(|u| u.phase == phase);
        seen.push(r);
        if done {
            return seen;
        }
    }
}

/// The ack of command `id`, heard already or next.
async fn ack_of(gw: &mut TestGateway, acks: &[Ack], id: uuid::Uuid) -> Ack {
    if let Some(a) = acks.iter().find(|a| a.id == id) {
        return a.clone();
    }
    loop {
        let a = gw.next_ack(CAM).await;
        if a.id == id {
            return a;
        }
    }
}

fn phases(reports: &[StateReport]) -> Vec<(UpdatePhase, u8)> {
    let mut out: Vec<(UpdatePhase, u8)> =
        reports.iter().filter_map(|r| r.update.as_ref().map(|u| (u.phase, u.percent))).collect();
    out.dedup();
    out
}

fn slots(dir: &std::path::Path) -> Slots {
    let bytes = std::fs::read(dir.join(DIR).join("slots.json")).expect("slots");
    serde_json::from_slice(&bytes).expect("slots.json")
}

#[tokio::test]
async fn a_signed_update_is_downloaded_installed_rebooted_into_and_confirmed() {
    let mut gw = TestGateway::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let signed = Signed::new();
    let server = ImageServer::start(signed.image.clone(), None).await;
    let dev = SimDevice::start(device(&gw, dir.path(), &signed, &server));
    assert_eq!(gw.next_report(CAM).await.firmware, FIRMWARE);
    gw.command(CAM, CommandKind::PtzMove { pan: 3, tilt: 0 }).await;
    assert!(gw.next_ack(CAM).await.ok);

    gw.command(CAM, CommandKind::FirmwareUpdate { offer: signed.offer() }).await;
    let seen = reports_until(&mut gw, UpdatePhase::Confirmed).await;
    let p = phases(&seen);
    let order: Vec<UpdatePhase> = p.iter().map(|(ph, _)| *ph).fold(vec![], |mut v, ph| {
        if v.last() != Some(&ph) {
            v.push(ph);
        }
        v
    });
    assert_eq!(
        order,
        [
            UpdatePhase::Downloading,
            UpdatePhase::Verifying,
            UpdatePhase::Installing,
            UpdatePhase::Rebooting,
            UpdatePhase::Confirmed
        ],
        "{p:?}"
    );
    let downloading: Vec<u8> =
        p.iter().filter(|(ph, _)| *ph == UpdatePhase::Downloading).map(|(_, pc)| *pc).collect();
    assert!(
        downloading.len() >= 5 && downloading.windows(2).all(|w| w[0] < w[1]),
        "{downloading:?}"
    );
    let last = seen.last().expect("confirmed");
    assert_eq!(last.firmware, NEW);
    let before_reboot = seen
        .iter()
        .rfind(|r| r.update.as_ref().is_some_and(|u| u.phase == UpdatePhase::Installing));
    assert_eq!(
        before_reboot.map(|r| r.firmware.as_str()),
        Some(FIRMWARE),
        "switched only by the reboot"
    );
    dev.wait("rebooted once", |s| s.boots == 2).await;
    let stored = kankan_sim::state::load(dir.path()).expect("load").expect("state");
    assert_eq!(stored.ptz.pan, 30, "the reboot keeps the device's state");
    let s = slots(dir.path());
    assert_eq!((s.active, s.b.as_deref(), s.pending), (Slot::B, Some(NEW), None));
    assert!(!dir.path().join(DIR).join("download.part").exists());
    dev.stop().await;

    // The next power-on runs the new version.
    let dev = SimDevice::start(device(&gw, dir.path(), &signed, &server));
    assert_eq!(gw.next_report(CAM).await.firmware, NEW);
    dev.stop().await;
}

#[tokio::test]
async fn a_tampered_image_is_refused_deleted_and_the_old_version_kept() {
    let mut gw = TestGateway::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let signed = Signed::new();
    // The server holds other bytes than were signed; its offer names their true SHA-256.
    let mut tampered = signed.image.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    let server = ImageServer::start(tampered.clone(), None).await;
    let dev = SimDevice::start(device(&gw, dir.path(), &signed, &server));
    gw.next_report(CAM).await;
    let offer = FirmwareOffer { sha256: image_sha256(&tampered), ..signed.offer() };
    let id = gw.command(CAM, CommandKind::FirmwareUpdate { offer }).await;
    let mut acks = Vec::new();
    let failed =
        reports_and_acks(&mut gw, UpdatePhase::Failed, &mut acks).await.pop().expect("failed");
    let update = failed.update.expect("progress");
    assert_eq!((update.version.as_str(), update.error.as_deref()), (NEW, Some("signature")));
    assert_eq!(failed.firmware, FIRMWARE);
    let s = slots(dir.path());
    assert_eq!((s.active, s.b, s.pending), (Slot::A, None, None), "never written to a slot");
    let fw = dir.path().join(DIR);
    assert!(!fw.join("download.part").exists() && !fw.join("slot-b.bin").exists(), "deleted");
    assert_eq!(dev.handle.status().boots, 1, "never rebooted");
    let ack = ack_of(&mut gw, &acks, id).await;
    assert_eq!((ack.id, ack.ok), (id, true), "acked when the download started");

    // An image whose bytes do not match the offered SHA-256 is refused too.
    let offer = FirmwareOffer { sha256: image_sha256(b"other"), ..signed.offer() };
    gw.command(CAM, CommandKind::FirmwareUpdate { offer }).await;
    let failed = reports_until(&mut gw, UpdatePhase::Failed).await.pop().expect("failed");
    assert_eq!(failed.update.and_then(|u| u.error).as_deref(), Some("sha256"));
    dev.stop().await;
}

#[tokio::test]
async fn without_a_firmware_key_every_update_is_refused() {
    let mut gw = TestGateway::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let signed = Signed::new();
    let server = ImageServer::start(signed.image.clone(), None).await;
    let mut cfg = device(&gw, dir.path(), &signed, &server);
    cfg.firmware_key = None;
    let dev = SimDevice::start(cfg);
    gw.next_report(CAM).await;
    let id = gw.command(CAM, CommandKind::FirmwareUpdate { offer: signed.offer() }).await;
    let mut acks = Vec::new();
    let report =
        reports_and_acks(&mut gw, UpdatePhase::Failed, &mut acks).await.pop().expect("failed");
    let ack = ack_of(&mut gw, &acks, id).await;
    assert_eq!((ack.ok, ack.error.as_deref()), (false, Some("no-firmware-key")));
    let update = report.update.expect("progress");
    assert_eq!(
        (update.phase, update.error.as_deref()),
        (UpdatePhase::Failed, Some("no-firmware-key"))
    );
    assert!(server.ranges.lock().expect("lock").is_empty(), "nothing downloaded");
    dev.stop().await;
}

#[tokio::test]
async fn a_cut_download_resumes_from_where_it_stopped() {
    let mut gw = TestGateway::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let signed = Signed::new();
    let cut_at = 85_000;
    let server = ImageServer::start(signed.image.clone(), Some(cut_at)).await;
    let dev = SimDevice::start(device(&gw, dir.path(), &signed, &server));
    gw.next_report(CAM).await;
    gw.command(CAM, CommandKind::FirmwareUpdate { offer: signed.offer() }).await;
    let last = reports_until(&mut gw, UpdatePhase::Confirmed).await.pop().expect("confirmed");
    assert_eq!(last.firmware, NEW);
    let ranges = server.ranges.lock().expect("lock").clone();
    assert_eq!(ranges, [None, Some(format!("bytes={cut_at}-"))], "resumed, not restarted");
    dev.stop().await;
}

#[tokio::test]
async fn a_failed_health_check_boots_the_old_version_again() {
    let mut gw = TestGateway::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let signed = Signed::new();
    let server = ImageServer::start(signed.image.clone(), None).await;
    let mut cfg = device(&gw, dir.path(), &signed, &server);
    cfg.fail_health = true;
    let dev = SimDevice::start(cfg);
    gw.next_report(CAM).await;
    gw.command(CAM, CommandKind::FirmwareUpdate { offer: signed.offer() }).await;
    let seen = reports_until(&mut gw, UpdatePhase::RolledBack).await;
    assert!(seen.iter().any(|r| r.firmware == NEW), "the new version did boot");
    let last = seen.last().expect("rolled back");
    let update = last.update.clone().expect("progress");
    assert_eq!((update.version.as_str(), update.error.as_deref()), (NEW, Some("health-check")));
    assert_eq!(last.firmware, FIRMWARE);
    let status = dev.wait("back on the old slot", |s| s.boots == 3).await;
    assert_eq!(status.stored.uid, CAM);
    let s = slots(dir.path());
    assert_eq!((s.active, s.pending), (Slot::A, None));
    dev.stop().await;
}

#[tokio::test]
async fn a_crash_before_confirmation_rolls_back_on_the_next_boot() {
    let mut gw = TestGateway::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let signed = Signed::new();
    let server = ImageServer::start(signed.image.clone(), None).await;
    let mut cfg = device(&gw, dir.path(), &signed, &server);
    // The health check never completes before the power goes.
    cfg.timings.health_check = Duration::from_secs(3600);
    let dev = SimDevice::start(cfg.clone());
    gw.next_report(CAM).await;
    gw.command(CAM, CommandKind::FirmwareUpdate { offer: signed.offer() }).await;
    gw.report_where(CAM, |r| r.firmware == NEW).await;
    dev.crash();
    assert_eq!(slots(dir.path()).pending.map(|p| p.tried), Some(true));

    let dev = SimDevice::start(cfg);
    let r = gw.report_where(CAM, |r| r.update.is_some()).await;
    let update = r.update.expect("progress");
    assert_eq!(
        (update.phase, update.error.as_deref()),
        (UpdatePhase::RolledBack, Some("health-check"))
    );
    assert_eq!(r.firmware, FIRMWARE);
    assert_eq!(slots(dir.path()).active, Slot::A);
    dev.stop().await;
}
