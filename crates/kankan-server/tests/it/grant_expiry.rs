//! A time box that passes ends what it covered: a member watching a shared camera live (the
//! WebSocket, a WebRTC session) when its grant's time box passes is cut off at the next sweep
//! of the revocation sweeper, which asks the one device decision again for every open stream;
//! the owner's live view of the same camera runs on.
//!
//! Fails without the fix: nothing took access away when a time box passed (no one acts), and
//! the sweeper checked only sessions, so the member watched on until the camera stopped or the
//! viewer left.

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use kankan_base::Clock as _;
use kankan_core::authz::CapabilitySet;
use kankan_core::revoke::SWEEP_EVERY;
use kankan_testkit::TestApp;
use tokio_tungstenite::tungstenite::Message;

use crate::authz_routes::{account_id, insert_grant};
use crate::devices::PW;
use crate::recording::{WAIT, link_for, recording_app, recording_camera};
use crate::webrtc::until_live;
use crate::webrtc_peer::Peer;

/// How long an ended stream may take to close here once the sweep has run (loose, so that a
/// busy test machine does not fail it; nothing here measures it).
const ENDS_WITHIN: Duration = Duration::from_secs(5);

/// The member's time box: it ends this long after the grant is made.
const TIME_BOX: Duration = Duration::from_secs(10);

type LiveSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the live socket with a live link of `token` and waits for video.
async fn live_socket(app: &TestApp, token: &str, uid: &str) -> LiveSocket {
    let (lt, base) = link_for(app, token, uid, "live").await;
    let url = app.url(&format!("{base}/live?t={lt}")).replacen("http://", "ws://", 1);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("the live socket opens");
    let first = tokio::time::timeout(WAIT, ws.next()).await.expect("in time");
    assert!(matches!(first, Some(Ok(Message::Binary(_)))), "video flows: {first:?}");
    ws
}

/// How the socket closed within [`ENDS_WITHIN`] (reading past the video still on its way):
/// the close frame's code and reason, `(0, "")` for a bare close, `None` when still open.
async fn closed(ws: &mut LiveSocket) -> Option<(u16, String)> {
    let deadline = Instant::now() + ENDS_WITHIN;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Close(Some(f))))) => {
                return Some((f.code.into(), f.reason.to_string()));
            }
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(None)))) => {
                return Some((0, String::new()));
            }
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// Whether the server has ended every WebRTC session within [`ENDS_WITHIN`].
async fn no_webrtc_sessions(app: &TestApp) -> bool {
    let deadline = Instant::now() + ENDS_WITHIN;
    while app.running().webrtc.sessions() > 0 {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

#[tokio::test]
async fn a_members_live_view_ends_at_the_first_sweep_after_its_time_box_passes() {
    let app = recording_app().await;
    let (owner, creds, cam, _stop) = recording_camera(&app, "boxed@example.com").await;
    cam.wait_for("streaming", WAIT, |s| s.sent_live_ms >= 1_000).await.expect("live");
    let uid = creds.uid.as_str();
    until_live(&app, uid).await;
    // A dog-sitter holds the default member capabilities until shortly.
    let sitter = app.register("sitter@example.com", PW).await;
    let pair = (account_id(&app, &owner).await, account_id(&app, &sitter).await);
    let until = Some(app.clock.now().plus(TIME_BOX));
    insert_grant(&app, uid, pair, CapabilitySet::member_default(), until).await;
    let services = &app.running().services;

    let mut theirs = live_socket(&app, &sitter, uid).await;
    let (live, _) = link_for(&app, &sitter, uid, "live").await;
    let mut peer = Peer::connect(&app, uid, &live).await.expect("a WebRTC session");
    peer.run_until(WAIT, "connected", |p| p.connected).await;
    let mut mine = live_socket(&app, &owner, uid).await;
    assert_eq!(app.running().webrtc.sessions(), 1);
    // Inside the time box the decision holds: a sweep ends nothing.
    let swept = services.revocations.sweep_access(&services.devices).await.expect("sweep");
    assert_eq!(swept, 0, "inside the time box");

    // The time box passes, and with it the sweeper's next deadline.
    app.clock.advance(TIME_BOX + SWEEP_EVERY);
    let how = closed(&mut theirs).await;
    assert_eq!(how, Some((1008, "revoked".to_string())), "the member's live socket ended");
    assert!(no_webrtc_sessions(&app).await, "the member's WebRTC session ended");
    // The owner's live view of the same camera runs on: video still flows.
    let next = tokio::time::timeout(WAIT, mine.next()).await.expect("in time");
    assert!(matches!(next, Some(Ok(Message::Binary(_)))), "the owner's runs on: {next:?}");
    // And the member cannot open it again.
    let (s, b) = app
        .send(
            app.http
                .post(app.url(&format!("/api/v1/devices/{uid}/recordings/link")))
                .json(&serde_json::json!({"purpose": "live"}))
                .bearer_auth(&sitter),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (404, Some("device-not-found")), "{b}");
    drop(peer);
}
