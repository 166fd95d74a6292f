//! The Album end to end: `kankan-cam` streams to the real ingest port; a screenshot of the
//! live picture and a clip of the recorded footage are saved through the real HTTP port,
//! listed, downloaded (checked by decoding the JPEG and by ffprobe) and deleted. Only their
//! owner reaches them, and the blob store holds them only sealed.

use std::collections::HashSet;

use kankan_testkit::{TestApp, files_under};
use serde_json::{Value, json};

use crate::devices::{PW, bind, provision};
use crate::recording::{WAIT, probe, recorded_ms, recording_app, recording_camera, timeline_until};

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    app.send(app.http.post(app.url(path)).bearer_auth(token).json(&body)).await
}

async fn delete(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    app.send(app.http.delete(app.url(path)).bearer_auth(token)).await
}

/// An item's content: status, bytes, Content-Type, Content-Disposition.
async fn content(app: &TestApp, token: &str, item: &Value) -> (u16, Vec<u8>, String, String) {
    let url = item["content_url"].as_str().expect("content_url");
    let r = app.http.get(app.url(url)).bearer_auth(token).send().await.expect("request");
    let header = |name: &str| {
        r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    };
    let (ctype, disposition) = (header("content-type"), header("content-disposition"));
    (r.status().as_u16(), r.bytes().await.expect("body").to_vec(), ctype, disposition)
}

async fn album_ids(app: &TestApp, token: &str) -> Vec<String> {
    let (s, b) = app.get_authed("/api/v1/album", token).await;
    assert_eq!(s, 200, "{b}");
    b.as_array()
        .expect("a list")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_string())
        .collect()
}

/// Whether any file under `dir` contains `needle`.
async fn stored_anywhere(app: &TestApp, needle: &[u8]) -> bool {
    app.blobs().await.iter().any(|(_, b)| b.windows(needle.len()).any(|w| w == needle))
}

#[tokio::test]
async fn screenshots_and_clips_are_saved_sealed_listed_downloaded_and_deleted_by_their_owner_only()
{
    let app = recording_app().await;
    let (token, creds, cam, stop) = recording_camera(&app, "album@example.com").await;
    let uid = creds.uid.clone();
    let (s, b) = app
        .send(
            app.http
                .patch(app.url(&format!("/api/v1/devices/{uid}")))
                .bearer_auth(&token)
                .json(&json!({"name": "Porch"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    cam.wait_for("two fragments are sent", WAIT, |s| s.sent_live >= 2).await.expect("live");

    // A screenshot of the live picture: a JPEG of the camera's size.
    let (s, shot) = post(&app, &token, "/api/v1/album/screenshots", json!({"device": uid})).await;
    assert_eq!(s, 201, "{shot}");
    assert_eq!((shot["kind"].as_str(), shot["device"].as_str()), (Some("screenshot"), Some(&*uid)));
    assert_eq!(
        (shot["device_name"].as_str(), shot["duration_ms"].as_u64()),
        (Some("Porch"), Some(0))
    );
    let (s, jpeg, ctype, disposition) = content(&app, &token, &shot).await;
    assert_eq!((s, ctype.as_str()), (200, "image/jpeg"));
    assert!(disposition.starts_with("attachment; filename=") && disposition.ends_with(".jpg\""));
    assert_eq!(Some(jpeg.len() as u64), shot["bytes"].as_u64());
    let img = image::load_from_memory(&jpeg).expect("a decodable JPEG");
    assert_eq!((img.width(), img.height()), (320, 180));

    // A clip of the last 4 s of footage: an MP4 ffprobe reads as 4 s of H.264.
    timeline_until(&app, &token, &uid, "6 s recorded", |t| recorded_ms(t) >= 6_000).await;
    let (s, clip) =
        post(&app, &token, "/api/v1/album/clips", json!({"device": uid, "seconds": 4})).await;
    assert_eq!(s, 201, "{clip}");
    assert_eq!(clip["kind"].as_str(), Some("clip"));
    let ms = clip["duration_ms"].as_i64().expect("duration");
    assert!((ms - 4_000).abs() <= 500, "about 4 s: {clip}");
    let (s, mp4, ctype, disposition) = content(&app, &token, &clip).await;
    assert_eq!((s, ctype.as_str()), (200, "video/mp4"));
    assert!(disposition.ends_with(".mp4\""), "{disposition}");
    assert_eq!(&mp4[4..8], b"ftyp");
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("clip.mp4");
    std::fs::write(&file, &mp4).expect("write");
    let (codec, frames, duration) = probe(&file);
    assert_eq!(codec, "h264");
    assert!((duration - 4.0).abs() <= 0.5, "ffprobe: {duration} s");
    assert_eq!(frames, crate::recording::frames_at_15_fps(0, ms), "15 fps");
    stop.trigger();

    // Listed newest first, in every session of the account.
    let (s, again) = app.login("album@example.com", PW).await;
    assert_eq!(s, 200);
    let other_session = again["token"].as_str().expect("token");
    let ids = vec![clip["id"].as_str().expect("id"), shot["id"].as_str().expect("id")];
    assert_eq!(album_ids(&app, other_session).await, ids);

    // Sealed at rest: neither the picture nor the film is anywhere in the blob store.
    for plain in [&jpeg[..16], &jpeg[jpeg.len() / 2..jpeg.len() / 2 + 32], &mp4[..32], b"ftyp"] {
        assert!(!stored_anywhere(&app, plain).await, "{plain:?} is stored in clear");
    }
    assert!(files_under(&app.data_dir().join("album-staging")).is_empty(), "nothing left staged");

    // Another account neither sees, downloads nor deletes them, nor saves from this camera.
    let bob = app.register("bob@example.com", PW).await;
    assert!(album_ids(&app, &bob).await.is_empty());
    let (s, body, _, _) = content(&app, &bob, &shot).await;
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!((s, body["code"].as_str()), (404, Some("not-found")));
    let (s, b) = delete(&app, &bob, &format!("/api/v1/album/{}", ids[1])).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("not-found")));
    let (s, b) = post(&app, &bob, "/api/v1/album/screenshots", json!({"device": uid})).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("device-not-found")));
    let (s, b) =
        post(&app, &bob, "/api/v1/album/clips", json!({"device": uid, "seconds": 5})).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("device-not-found")));
    assert_eq!(album_ids(&app, &token).await, ids, "the owner's items are untouched");

    // The owner deletes the screenshot: its row and its object go.
    let before: HashSet<_> = app.blob_names().await.into_iter().collect();
    let (s, b) = delete(&app, &token, &format!("/api/v1/album/{}", ids[1])).await;
    assert_eq!(s, 204, "{b}");
    let after: HashSet<_> = app.blob_names().await.into_iter().collect();
    assert_eq!(before.difference(&after).count(), 1, "the screenshot's object is deleted");
    assert_eq!(album_ids(&app, &token).await, [ids[0]]);
    assert_eq!(content(&app, &token, &shot).await.0, 404);
    let (s, b) = delete(&app, &token, &format!("/api/v1/album/{}", ids[1])).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("not-found")));
    assert_eq!(content(&app, &token, &clip).await.0, 200, "the clip stays");
    drop(cam);
    app.stop().await;
}

#[tokio::test]
async fn bad_requests_get_stable_codes() {
    let app = recording_app().await;
    let token = app.register("quiet@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    // Bound, then gone offline: it cannot be started for a screenshot.
    drop(bind(&app, &token, &creds).await);
    crate::devices::eventually(&app, &token, &creds.uid, "offline", |v| v["online"] == false).await;
    let uid = creds.uid.as_str();
    let cases = [
        ("screenshots", json!({"device": uid}), 503, "stream-not-started"),
        ("screenshots", json!({"device": "KKNOSUCH01"}), 404, "device-not-found"),
        ("screenshots", json!({"device": "../etc"}), 404, "device-not-found"),
        ("clips", json!({"device": uid, "seconds": 10}), 404, "no-recording"),
        ("clips", json!({"device": uid, "seconds": 0}), 400, "invalid-device-input"),
        ("clips", json!({"device": uid, "seconds": 61}), 400, "invalid-device-input"),
        ("clips", json!({"device": uid, "seconds": -1}), 400, "invalid-body"),
        ("clips", json!({"device": uid}), 400, "invalid-body"),
        ("clips", json!({"device": "KKNOSUCH01", "seconds": 10}), 404, "device-not-found"),
        ("screenshots", json!({"device": uid, "extra": 1}), 400, "invalid-body"),
    ];
    for (what, body, status, code) in cases {
        let (s, b) = post(&app, &token, &format!("/api/v1/album/{what}"), body.clone()).await;
        assert_eq!((s, b["code"].as_str()), (status, Some(code)), "{what} {body}: {b}");
    }
    for path in [
        "/api/v1/album/not-a-uuid/content",
        "/api/v1/album/0190a0b0-0000-7000-8000-000000000000/content",
    ] {
        let (s, b) = app.get_authed(path, &token).await;
        assert_eq!((s, b["code"].as_str()), (404, Some("not-found")), "{path}");
    }
    let (s, _) = app.send(app.http.get(app.url("/api/v1/album"))).await;
    assert_eq!(s, 401, "the album needs a session");
    assert!(album_ids(&app, &token).await.is_empty(), "nothing was saved");
    app.stop().await;
}
