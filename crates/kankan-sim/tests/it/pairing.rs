//! Pairing from a QR image or a recording: the claim reaches the gateway with the right token,
//! the device learns the outcome, and bad codes fail clearly.

use kankan_crypto::pairing::token_text;
use kankan_gateway::{Inbound, Outbound};
use kankan_protocol::device::{Claim, ClaimResult};
use kankan_sim::pairing::{Source, read_and_join};
use kankan_sim::{ClaimOutcome, SimError, state};

use crate::support::{
    CAM, CAM_SECRET, Noise, SimDevice, TestGateway, WIFI_PASSWORD, config, dir_contains, qr_png,
    sealed_payload, wav,
};

const TOKEN: [u8; 16] = *b"bind-token-16byt";

/// Runs the camera with what it read from `source` and answers its claim with `result`.
async fn pair_and_answer(
    gw: &mut TestGateway,
    dir: &std::path::Path,
    source: Source<'_>,
    result: ClaimResult,
) -> SimDevice {
    let joined = read_and_join(source, CAM_SECRET).expect("join");
    assert_eq!(joined.server, gw.server());
    let mut cfg = config(CAM, CAM_SECRET, &dir.join("state"), None);
    cfg.pairing = Some(joined);
    let device = SimDevice::start(cfg);

    let claim: Claim =
        serde_json::from_slice(&gw.next_of(CAM, Inbound::Claim).await.payload).expect("claim");
    assert_eq!(claim.token, token_text(&TOKEN));
    gw.publish(CAM, Outbound::ClaimResult, serde_json::to_vec(&result).expect("ser")).await;
    device
}

#[tokio::test]
async fn pairing_from_a_qr_image_claims_the_token_and_reports_success() {
    let mut gw = TestGateway::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let png = qr_png(dir.path(), &sealed_payload(CAM_SECRET, &gw.server(), TOKEN));

    let ok = ClaimResult { ok: true, code: None };
    let device = pair_and_answer(&mut gw, dir.path(), Source::Qr(&png), ok).await;
    let status = device.wait("the claim is accepted", |s| s.claim.is_some()).await;
    assert_eq!(status.claim, Some(ClaimOutcome::Accepted));
    assert!(status.stored.bound);
    assert_eq!(status.last_report.expect("reported").ssid, "Kankan Lab");
    device.stop().await;

    let stored = state::load(&dir.path().join("state")).expect("load").expect("saved");
    assert!(stored.bound);
    assert_eq!(stored.ssid.as_deref(), Some("Kankan Lab"));
    assert_eq!(stored.server, Some(gw.server().to_string()));
    assert!(
        !dir_contains(&dir.path().join("state"), WIFI_PASSWORD.as_bytes()),
        "Wi-Fi password on disk"
    );
}

#[tokio::test]
async fn pairing_from_a_clean_and_a_noisy_recording_claims_the_token() {
    let mut gw = TestGateway::start().await;
    for snr in [None, Some(0.0)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = wav(dir.path(), &sealed_payload(CAM_SECRET, &gw.server(), TOKEN), snr);
        let ok = ClaimResult { ok: true, code: None };
        let device = pair_and_answer(&mut gw, dir.path(), Source::Wav(&path), ok).await;
        let status = device.wait("the claim is accepted", |s| s.claim.is_some()).await;
        assert_eq!(status.claim, Some(ClaimOutcome::Accepted), "snr {snr:?}");
        device.stop().await;
        assert!(!dir_contains(&dir.path().join("state"), WIFI_PASSWORD.as_bytes()));
    }
}

#[tokio::test]
async fn a_refused_claim_reports_the_servers_code() {
    let mut gw = TestGateway::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let png = qr_png(dir.path(), &sealed_payload(CAM_SECRET, &gw.server(), TOKEN));
    let refused = ClaimResult { ok: false, code: Some("already-bound".into()) };
    let device = pair_and_answer(&mut gw, dir.path(), Source::Qr(&png), refused).await;
    let status = device.wait("the claim is answered", |s| s.claim.is_some()).await;
    assert_eq!(status.claim, Some(ClaimOutcome::Refused("already-bound".into())));
    assert!(!status.stored.bound);
    device.stop().await;
}

#[tokio::test]
async fn a_code_made_for_another_device_is_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = kankan_sim::ServerAddr::parse("mqtt://127.0.0.1:1883").expect("addr");
    let payload = sealed_payload("someone-elses-secret", &server, TOKEN);
    let png = qr_png(dir.path(), &payload);
    let e = read_and_join(Source::Qr(&png), CAM_SECRET).expect_err("wrong device");
    assert!(matches!(e, SimError::WrongDevice), "{e:?}");
    assert!(e.to_string().contains("not made for this device"), "{e}");
    let path = wav(dir.path(), &payload, None);
    assert!(matches!(read_and_join(Source::Wav(&path), CAM_SECRET), Err(SimError::WrongDevice)));
}

#[tokio::test]
async fn unreadable_images_and_noise_only_recordings_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.png");
    std::fs::write(&junk, b"\x89PNG but not really").expect("write");
    let e = read_and_join(Source::Qr(&junk), CAM_SECRET).expect_err("junk image");
    assert!(matches!(e, SimError::UnreadableImage(_)), "{e:?}");

    let blank = dir.path().join("blank.png");
    image::GrayImage::from_pixel(200, 200, image::Luma([255])).save(&blank).expect("png");
    let e = read_and_join(Source::Qr(&blank), CAM_SECRET).expect_err("no code");
    assert!(matches!(e, SimError::NoQrCode), "{e:?}");

    let other = dir.path().join("other.png");
    let code = qrcode::QrCode::new("https://example.com/").expect("qr");
    code.render::<image::Luma<u8>>().min_dimensions(300, 300).build().save(&other).expect("png");
    let e = read_and_join(Source::Qr(&other), CAM_SECRET).expect_err("not ours");
    assert!(matches!(e, SimError::NotAPairingCode), "{e:?}");

    let noise = dir.path().join("noise.wav");
    let samples = Noise::new(3).samples(32_000, 0.2);
    std::fs::write(&noise, kankan_sonic::write_wav(&samples, 16_000)).expect("write");
    let e = read_and_join(Source::Wav(&noise), CAM_SECRET).expect_err("noise");
    assert!(matches!(e, SimError::Sound(_)), "{e:?}");
    assert!(e.to_string().contains("pairing sound"), "{e}");

    let missing = read_and_join(Source::Wav(&dir.path().join("missing.wav")), CAM_SECRET);
    assert!(matches!(missing, Err(SimError::Io { .. })));
}
