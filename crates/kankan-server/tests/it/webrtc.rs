//! Live view over WebRTC (WHEP) and two-way talk, end to end: str0m plays the browser
//! (`webrtc_peer`), `kankan-cam` the camera. The peer decodes every frame and reads the
//! camera's burned-in clock; refusals use the live WebSocket's codes; sessions end on DELETE,
//! when the camera stops and when the server stops, leaving no task behind; talk audio reaches
//! the camera's speaker, its microphone reaches the viewer, and none of it is stored.

use std::path::Path;
use std::time::{Duration, Instant};

use kankan_base::Shutdown;
use kankan_sim::talk::TalkHandle;
use kankan_sim::video::VideoHandle;
use kankan_testkit::TestApp;

use crate::devices::{Creds, bind, eventually, provision};
use crate::live_on_demand::{FirmwareCamera, firmware_camera};
use crate::recording::{WAIT, link_for, recording_app, recording_camera};
use crate::webrtc_peer::{Peer, post_offer, tone_of};

/// Waits until the server has `uid`'s stream live.
pub(crate) async fn until_live(app: &TestApp, uid: &str) {
    let hub = app.running().services.recordings.live();
    let deadline = Instant::now() + WAIT;
    while hub.subscribe(uid, 0).is_none() {
        assert!(Instant::now() < deadline, "{uid} never went live");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until no WebRTC session or task is left.
async fn until_no_sessions(app: &TestApp) {
    let w = &app.running().webrtc;
    let deadline = Instant::now() + WAIT;
    while w.sessions() + w.tasks() > 0 {
        assert!(Instant::now() < deadline, "{} sessions, {} tasks left", w.sessions(), w.tasks());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn delete(app: &TestApp, location: &str, token: &str) -> u16 {
    let r = app.http.delete(app.url(&format!("{location}?t={token}"))).send().await;
    r.expect("the DELETE is sent").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webrtc_viewer_decodes_the_camera_live_until_it_deletes_the_session() {
    let app = recording_app().await;
    let (token, creds, cam, _stop) = recording_camera(&app, "webrtc@example.com").await;
    cam.wait_for("streaming", WAIT, |s| s.sent_live_ms >= 1_000).await.expect("live");
    until_live(&app, &creds.uid).await;
    let (lt, _) = link_for(&app, &token, &creds.uid, "live").await;
    let mut peer = Peer::connect(&app, &creds.uid, &lt).await.expect("the offer is answered");
    assert!(
        peer.location.starts_with(&format!("/media/v1/{}/whep/", creds.uid)),
        "{}",
        peer.location
    );
    assert_eq!(app.running().webrtc.sessions(), 1);
    let metrics = app.http.get(app.url("/metrics")).send().await.expect("metrics");
    let metrics = metrics.text().await.expect("text");
    assert!(metrics.contains("\nkankan_webrtc_sessions 1\n"), "{metrics}");
    peer.run_until(WAIT, "a first picture", |p| !p.stamps.is_empty()).await;
    // The current GOP arrives at once to start the picture; then frames come as made.
    peer.run_for(Duration::from_secs(1)).await;
    let (from, t0) = (peer.stamps.len() - 1, Instant::now());
    peer.run_for(Duration::from_secs(3)).await;
    let secs = t0.elapsed().as_secs_f64();
    let stamps: Vec<_> = peer.stamps[from..].to_vec();
    assert!(stamps.len() > 15, "pictures keep coming: {} in {secs:.1} s", stamps.len());
    let numbers: Vec<u32> = stamps.iter().map(|s| s.0.frame).collect();
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "every picture the camera made arrives, in order: {numbers:?}"
    );
    let (last, seen_ms) = stamps[stamps.len() - 1];
    let behind = seen_ms as i64 - last.capture_ms as i64;
    eprintln!(
        "webrtc: {} frames decoded in {secs:.1} s ({:.1} frames/s); last picture {behind} ms \
         behind the camera",
        stamps.len() - 1,
        (stamps.len() - 1) as f64 / secs
    );

    assert_eq!(delete(&app, &peer.location, &lt).await, 204);
    peer.run_until(WAIT, "the server to say goodbye", |p| p.closed).await;
    until_no_sessions(&app).await;
    assert_eq!(delete(&app, &peer.location, &lt).await, 404, "already gone");
    assert_eq!(app.running().services.recordings.live().viewers(), 0, "the viewer is released");
}

#[tokio::test]
async fn offers_are_refused_like_the_live_websocket_with_stable_codes() {
    let app = recording_app().await;
    let (token, creds, cam, _stop) = recording_camera(&app, "owner@example.com").await;
    cam.wait_for("streaming", WAIT, |s| s.sent_live_ms >= 1_000).await.expect("live");
    until_live(&app, &creds.uid).await;
    let (lt, _) = link_for(&app, &token, &creds.uid, "live").await;
    let uid = &creds.uid;
    let refused = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        (status, body["code"].as_str().unwrap_or_default().to_string())
    };
    let offer = Peer::offer_sdp(true, true);

    let r = post_offer(&app, uid, &lt, "hello, server", "application/sdp").await;
    assert_eq!(refused(r).await, (400, "invalid-sdp".into()));
    let unsigned = offer.replace("a=fingerprint", "a=x");
    let r = post_offer(&app, uid, &lt, &unsigned, "application/sdp").await;
    assert_eq!(refused(r).await, (400, "invalid-sdp".into()), "no DTLS fingerprint");
    let r = post_offer(&app, uid, &lt, &Peer::offer_sdp(false, true), "application/sdp").await;
    assert_eq!(refused(r).await, (400, "sdp-no-h264".into()), "nothing to show the video on");
    let r = post_offer(&app, uid, &lt, &offer, "text/plain").await;
    assert_eq!(refused(r).await, (415, "unsupported-media-type".into()));

    let r = post_offer(&app, uid, &format!("{lt}x"), &offer, "application/sdp").await;
    assert_eq!(refused(r).await, (403, "invalid-link".into()), "a forged token");
    // Another user's valid link, replayed for this camera, opens nothing.
    let (other_token, other_creds, _, _other_stop) =
        recording_camera(&app, "other@example.com").await;
    let (other_lt, _) = link_for(&app, &other_token, &other_creds.uid, "live").await;
    let r = post_offer(&app, uid, &other_lt, &offer, "application/sdp").await;
    assert_eq!(refused(r).await, (403, "invalid-link".into()), "another user's link");
    // A camera that is bound but offline cannot be started: the WebSocket's answer too.
    let offline = provision(&app, "KK-C1").await;
    drop(bind(&app, &token, &offline).await);
    eventually(&app, &token, &offline.uid, "offline", |v| v["online"] == false).await;
    let (offline_lt, _) = link_for(&app, &token, &offline.uid, "live").await;
    let r = post_offer(&app, &offline.uid, &offline_lt, &offer, "application/sdp").await;
    assert_eq!(refused(r).await, (503, "stream-not-started".into()));
    let ws = app.url(&format!("/media/v1/{}/live?t={offline_lt}", offline.uid));
    match tokio_tungstenite::connect_async(ws.replacen("http://", "ws://", 1)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 503),
        other => panic!("the live socket refuses too: {:?}", other.map(|_| ())),
    }

    // A session can be ended only with its owner's link.
    let peer = Peer::connect(&app, uid, &lt).await.expect("answered");
    assert_eq!(delete(&app, &peer.location, &other_lt).await, 403);
    let guessed = format!("/media/v1/{uid}/whep/{}", "0".repeat(32));
    assert_eq!(delete(&app, &guessed, &lt).await, 404);
    assert_eq!(app.running().webrtc.sessions(), 1, "refusals leave no session behind");
    assert_eq!(delete(&app, &peer.location, &lt).await, 204);
    until_no_sessions(&app).await;
}

#[tokio::test]
async fn with_webrtc_turned_off_offers_get_503_and_the_websocket_still_plays() {
    let app = TestApp::spawn_with(|c| {
        c.recording.max_clock_skew_secs = 3600;
        c.webrtc.enabled = false;
    })
    .await;
    let (token, creds, cam, _stop) = recording_camera(&app, "off@example.com").await;
    cam.wait_for("streaming", WAIT, |s| s.sent_live_ms >= 1_000).await.expect("live");
    let (lt, _) = link_for(&app, &token, &creds.uid, "live").await;
    let refused = Peer::connect(&app, &creds.uid, &lt).await.err().expect("refused");
    assert_eq!((refused.status, refused.code()), (503, "webrtc-disabled"));
    let ws = app.url(&format!("/media/v1/{}/live?t={lt}", creds.uid)).replacen("http", "ws", 1);
    assert!(tokio_tungstenite::connect_async(ws).await.is_ok(), "the fallback is there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_cannot_take_every_webrtc_session_of_the_server() {
    // fails without the fix: one account could open sessions up to the server's whole cap.
    let app = kankan_testkit::TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
        c.webrtc.max_sessions_per_account = 2;
    })
    .await;
    let (token, creds, cam, _stop) = recording_camera(&app, "greedy@example.com").await;
    let (token2, creds2, cam2, _stop2) = recording_camera(&app, "fair@example.com").await;
    for (c, creds) in [(&cam, &creds), (&cam2, &creds2)] {
        c.wait_for("streaming", WAIT, |s| s.sent_live_ms >= 1_000).await.expect("live");
        until_live(&app, &creds.uid).await;
    }
    let (lt, _) = link_for(&app, &token, &creds.uid, "live").await;
    let offer = Peer::offer_sdp(true, false);
    let mut open = Vec::new();
    for _ in 0..2 {
        let r = post_offer(&app, &creds.uid, &lt, &offer, "application/sdp").await;
        assert_eq!(r.status(), 201);
        open.push(r.headers()["location"].to_str().expect("ascii").to_string());
    }
    let r = post_offer(&app, &creds.uid, &lt, &offer, "application/sdp").await;
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    assert_eq!((status, body["code"].as_str()), (429, Some("webrtc-account-limit")), "{body}");
    let (lt2, _) = link_for(&app, &token2, &creds2.uid, "live").await;
    let r = post_offer(&app, &creds2.uid, &lt2, &offer, "application/sdp").await;
    assert_eq!(r.status(), 201, "another account still gets one");
    // Closing one makes room at once, while its task may still be ending (fails without the
    // fix: the account's place was given back only when the task ended, so closing a view
    // and opening the next was refused now and then).
    for _ in 0..5 {
        assert_eq!(delete(&app, &open.remove(0), &lt).await, 204);
        let r = post_offer(&app, &creds.uid, &lt, &offer, "application/sdp").await;
        let body = format!("{:?}", r.headers().get("location"));
        assert_eq!(r.status(), 201, "closing one made room for another at once: {body}");
        open.push(r.headers()["location"].to_str().expect("ascii").to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_sessions_opened_and_closed_leave_no_session_task_or_viewer() {
    let app = recording_app().await;
    let (token, creds, cam, stop) = recording_camera(&app, "soak@example.com").await;
    cam.wait_for("streaming", WAIT, |s| s.sent_live_ms >= 1_000).await.expect("live");
    until_live(&app, &creds.uid).await;
    let (lt, _) = link_for(&app, &token, &creds.uid, "live").await;
    let w = app.running().webrtc.clone();
    for i in 0..30 {
        let mut peer = Peer::connect(&app, &creds.uid, &lt).await.expect("answered");
        if i % 3 == 0 {
            // Every third one connects and gets a picture before it is closed.
            peer.run_until(WAIT, "a picture", |p| !p.stamps.is_empty()).await;
        }
        assert_eq!(delete(&app, &peer.location, &lt).await, 204);
    }
    until_no_sessions(&app).await;
    assert_eq!(app.running().services.recordings.live().viewers(), 0);
    assert_eq!(w.talk().channels(), 0);

    // The camera's stream ending ends its sessions.
    let mut peer = Peer::connect(&app, &creds.uid, &lt).await.expect("answered");
    peer.run_until(WAIT, "a picture", |p| !p.stamps.is_empty()).await;
    stop.trigger();
    peer.run_until(WAIT, "the session to end with the stream", |p| p.closed).await;
    until_no_sessions(&app).await;
    assert_eq!(w.ended("stream-ended"), 1, "the camera's stream ending ended it");

    // And the server stopping ends every session and waits for it.
    let (token2, creds2, cam2, stop2) = recording_camera(&app, "soak2@example.com").await;
    cam2.wait_for("streaming", WAIT, |s| s.sent_live_ms >= 1_000).await.expect("live");
    until_live(&app, &creds2.uid).await;
    let (lt2, _) = link_for(&app, &token2, &creds2.uid, "live").await;
    let _open = Peer::connect(&app, &creds2.uid, &lt2).await.expect("answered");
    assert_eq!(w.tasks(), 1);
    let stopping = tokio::spawn(app.stop());
    let deadline = Instant::now() + WAIT;
    while w.sessions() + w.tasks() > 0 {
        assert!(Instant::now() < deadline, "the session outlived the server");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The camera's upload ends with the server too, so whether it still streams here is a
    // race; why the session ended is not.
    assert_eq!(w.ended("shutdown"), 1, "the shutdown ended the session");
    assert_eq!(w.ended("stream-ended"), 1, "not the camera's stream ending");
    // The server waits for the camera's upload to end before it is done.
    stop2.trigger();
    stopping.await.expect("the server stops");
}

/// A bound camera running as firmware over MQTT with video and a talk channel; what its
/// speaker plays goes to `wav`.
pub(crate) async fn talking_camera(
    app: &TestApp,
    who: &str,
    wav: &Path,
) -> (String, Creds, VideoHandle, TalkHandle, Shutdown, tempfile::TempDir) {
    let FirmwareCamera { token, creds, cam, talk, stop, dir } =
        firmware_camera(app, who, Some(false), Some(wav)).await;
    (token, creds, cam.expect("video"), talk.expect("talk"), stop, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talk_reaches_the_camera_and_its_microphone_the_viewer_and_nothing_is_stored() {
    let app = recording_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let wav = tmp.path().join("speaker.wav");
    let (token, creds, cam, talk, _stop, _dir) =
        talking_camera(&app, "talk@example.com", &wav).await;
    cam.wait_for("streaming", WAIT, |s| s.sent_live_ms >= 1_000).await.expect("live");
    until_live(&app, &creds.uid).await;
    let (lt, _) = link_for(&app, &token, &creds.uid, "talk").await;
    let mut peer = Peer::connect(&app, &creds.uid, &lt).await.expect("answered");
    peer.run_until(WAIT, "connected", |p| p.connected).await;
    assert_eq!(talk.status().connections, 0, "no channel until someone talks");

    // Hold "talk" for two seconds.
    peer.talk(true);
    let t0 = Instant::now();
    peer.run_until(WAIT, "the camera to hear and be heard", |p| {
        talk.status().frames_received >= 25 && p.heard.len() >= 8_000 && t0.elapsed().as_secs() >= 2
    })
    .await;
    peer.talk(false);
    let s = talk.status();
    assert!(s.open && s.connections == 1, "{s:?}");
    // The channel closes by itself once nobody talks (silence, then the grace period).
    let closing = Instant::now();
    while talk.status().open || talk.status().wav_written == 0 {
        assert!(closing.elapsed() < WAIT, "the talk channel never closed: {:?}", talk.status());
        peer.run_for(Duration::from_millis(100)).await;
    }
    assert_eq!(app.running().webrtc.talk().open_channels(), 0);

    // The camera's speaker played the viewer's 1 kHz tone...
    let (samples, rate) = kankan_sonic::read_wav(&std::fs::read(&wav).expect("the WAV file"))
        .expect("a valid WAV file");
    assert_eq!(rate, 8_000);
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    assert!(peak > 0.2, "the speaker played sound, not silence: peak {peak}");
    let pcmu: Vec<u8> =
        samples.iter().map(|s| kankan_media::g711::encode((s * 32767.0) as i16)).collect();
    let hz = tone_of(&pcmu);
    assert!((900.0..1100.0).contains(&hz), "the speaker played the 1 kHz tone: {hz} Hz");
    // ...and the viewer heard the camera's 440 Hz microphone.
    let hz = tone_of(&peer.heard);
    assert!((400.0..480.0).contains(&hz), "the viewer heard the camera's 440 Hz: {hz} Hz");
    eprintln!(
        "talk: the camera got {} frames ({} bytes), the viewer {} bytes",
        talk.status().frames_received,
        talk.status().bytes_received,
        peer.heard.len()
    );

    // Nothing of what was said is kept anywhere in the data directory.
    let said = peer.said[..160].to_vec();
    assert_eq!(delete(&app, &peer.location, &lt).await, 204);
    until_no_sessions(&app).await;
    for file in kankan_testkit::files_under(&app.config.data_dir) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !bytes.windows(said.len()).any(|w| w == said.as_slice()),
            "{} holds talk audio",
            file.display()
        );
    }
}

#[tokio::test]
async fn a_talk_channel_opens_only_for_the_device_itself_and_only_when_asked() {
    use base64::Engine as _;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let app = TestApp::spawn().await;
    let creds = provision(&app, "KK-C1").await;
    let url = app.url(&format!("/ingest/v1/{}/talk", creds.uid)).replacen("http", "ws", 1);
    let attempt = |secret: String| {
        let mut req = url.clone().into_client_request().expect("a request");
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{secret}", creds.uid));
        req.headers_mut().insert("authorization", format!("Basic {basic}").parse().expect("ascii"));
        async move {
            match tokio_tungstenite::connect_async(req).await {
                Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
                Ok(_) => 101,
                Err(e) => panic!("{e}"),
            }
        }
    };
    assert_eq!(attempt("wrong".into()).await, 401);
    assert_eq!(attempt(creds.secret.clone()).await, 409, "nobody asked it to open");
}
