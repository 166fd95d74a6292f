//! Live view over the WebSocket: a viewer of a recording camera gets the init segment, then
//! the current GOP from its keyframe, then fragments as they arrive; links and the device
//! policy guard it as they guard recordings.

use std::time::Duration;

use futures_util::StreamExt as _;
use kankan_media::{Limits, StreamItem, StreamParser};
use tokio_tungstenite::tungstenite::Message;

use crate::recording::{WAIT, link_for, recording_app, recording_camera};

/// Waits until the server has the camera's stream live.
async fn until_live(app: &kankan_testkit::TestApp, uid: &str) {
    let hub = app.running().services.recordings.live();
    let deadline = tokio::time::Instant::now() + WAIT;
    while hub.subscribe(uid, 0).is_none() {
        assert!(tokio::time::Instant::now() < deadline, "{uid} never went live");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ws_url(app: &kankan_testkit::TestApp, path: &str) -> String {
    app.url(path).replacen("http://", "ws://", 1)
}

type LiveSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A recording camera of a new account `who`, streaming for `ms`, and a viewer's open live
/// socket on it (with what keeps the camera running).
async fn watching(app: &kankan_testkit::TestApp, who: &str, ms: i64) -> (LiveSocket, impl Sized) {
    let (token, creds, cam, stop) = recording_camera(app, who).await;
    cam.wait_for("streaming", WAIT, |s| s.sent_live_ms >= ms).await.expect("live");
    until_live(app, &creds.uid).await;
    let (lt, base) = link_for(app, &token, &creds.uid, "live").await;
    let (ws, _) = tokio_tungstenite::connect_async(ws_url(app, &format!("{base}/live?t={lt}")))
        .await
        .expect("the live socket opens");
    (ws, (cam, stop))
}

#[tokio::test]
async fn a_viewer_gets_the_init_then_the_current_gop_then_live_fragments() {
    let app = recording_app().await;
    let (mut ws, _cam) = watching(&app, "live@example.com", 2_000).await;
    let mut parser = StreamParser::new(Limits::default());
    let (mut init, mut frags) = (None, Vec::new());
    while frags.len() < 3 {
        let msg = tokio::time::timeout(WAIT, ws.next()).await.expect("in time").expect("open");
        let Message::Binary(bytes) = msg.expect("a message") else { continue };
        for item in parser.push(&bytes).expect("valid fMP4") {
            match item {
                StreamItem::Init(i) => init = Some(i),
                StreamItem::Fragment(f) => frags.push(f),
            }
        }
    }
    let init = init.expect("the init segment comes first");
    assert!(frags[0].starts_with_keyframe(&init), "the first picture is a keyframe");
    let times: Vec<u64> =
        frags.iter().map(|f| f.video_run(&init).expect("video").base_decode_time).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "in order, live: {times:?}");
    assert_eq!(app.running().services.recordings.live().viewers(), 1);
    drop(ws);
}

#[tokio::test]
async fn a_viewer_sending_an_oversized_message_is_disconnected() {
    // fails without the fix: the live socket took client messages of up to 64 MiB, held in
    // memory, and stayed open.
    use futures_util::SinkExt as _;
    let app = recording_app().await;
    let (mut ws, _cam) = watching(&app, "live-big@example.com", 1_000).await;
    ws.send(Message::Binary(vec![7u8; 256 * 1024].into())).await.expect("sent");
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the server closed the socket");
}

#[tokio::test]
async fn live_view_needs_a_valid_link_for_that_device_and_a_streaming_camera() {
    let app = recording_app().await;
    let (token, creds, cam, stop) = recording_camera(&app, "guard@example.com").await;
    cam.wait_for("streaming", WAIT, |s| s.sent_live_ms >= 1_000).await.expect("live");
    until_live(&app, &creds.uid).await;
    let (lt, base) = link_for(&app, &token, &creds.uid, "live").await;
    let refused = |url: String| async move {
        match tokio_tungstenite::connect_async(url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
            Ok(_) => 101,
            Err(e) => panic!("unexpected: {e}"),
        }
    };
    assert_eq!(refused(ws_url(&app, &format!("{base}/live?t={lt}x"))).await, 403);
    let other = crate::devices::provision(&app, "KK-C1").await;
    let path = format!("/media/v1/{}/live?t={lt}", other.uid);
    assert_eq!(refused(ws_url(&app, &path)).await, 403, "a link opens only its device");
    // When the camera stops, its stream ends for viewers, and new ones are told at once that
    // it cannot be started (it is offline).
    let (mut ws, _) =
        tokio_tungstenite::connect_async(ws_url(&app, &format!("{base}/live?t={lt}")))
            .await
            .expect("open");
    stop.trigger();
    let ended = tokio::time::timeout(WAIT, async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Close(Some(c)) = m {
                return c.reason.to_string();
            }
        }
        String::new()
    })
    .await
    .expect("the stream ends");
    assert_eq!(ended, "ended");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(refused(ws_url(&app, &format!("{base}/live?t={lt}"))).await, 503);
}
