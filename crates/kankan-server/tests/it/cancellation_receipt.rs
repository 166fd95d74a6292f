//! The deletion receipt's claim, checked: after a cancellation, nothing of the user is left in
//! what the server stores (every file of the data directory and every value of the
//! database): not their contact, nickname or avatar, not the footage a real camera recorded,
//! not an event's thumbnail or an Album screenshot, in clear or sealed, and not the wrapped
//! account key that opened them.

use std::collections::BTreeSet;

use serde_json::json;

use crate::authz_routes::account_id;
use crate::cancellation::{cancel, pass_the_window, receipt_code};
use crate::events::events_until;
use crate::live_on_demand::{FirmwareCamera, firmware_camera};
use crate::recording::{recorded_ms, recording_app, timeline_until};

const WHO: &str = "zelda.receipt@example.org";
const NICK: &str = "Zelda-Qx7Receipt";

fn found(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A small PNG with a pattern of its own (so its bytes are nowhere else).
fn avatar_png() -> Vec<u8> {
    let img =
        image::RgbImage::from_fn(48, 48, |x, y| image::Rgb([(x * 5) as u8, (y * 3) as u8, 77]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}

/// Fails without the crypto-shred and the purge: the wrapped key, the sealed contact and
/// nickname, the sealed thumbnail and every blob file of the user stayed.
#[tokio::test]
async fn after_cancellation_nothing_of_the_user_is_left_in_files_or_database() {
    let app = recording_app().await;
    let FirmwareCamera { token, creds, stop, dir: _dir, .. } =
        firmware_camera(&app, WHO, Some(false), None).await;
    let uid = creds.uid.clone();
    let patch = app.http.patch(app.url("/api/v1/me")).bearer_auth(&token);
    assert_eq!(app.send(patch.json(&json!({"nickname": NICK}))).await.0, 200);
    let put = app.http.put(app.url("/api/v1/me/avatar")).bearer_auth(&token);
    let (s, b) = app.send(put.header("content-type", "image/png").body(avatar_png())).await;
    assert_eq!(s, 200, "{b}");
    let avatar = app.http.get(app.url("/api/v1/me/avatar")).bearer_auth(&token).send().await;
    let avatar = avatar.expect("avatar").bytes().await.expect("png").to_vec();

    // An event with its thumbnail, an Album screenshot, some seconds of footage.
    let list = events_until(&app, &token, "an event with a picture", |l| {
        l.iter().any(|e| e["thumbnail"] == true)
    })
    .await;
    let event = list.iter().find(|e| e["thumbnail"] == true).expect("one")["id"].clone();
    let event: uuid::Uuid = event.as_str().expect("id").parse().expect("uuid");
    let shot = app
        .send(
            app.http
                .post(app.url("/api/v1/album/screenshots"))
                .bearer_auth(&token)
                .json(&json!({"device": uid})),
        )
        .await;
    assert_eq!(shot.0, 201, "{}", shot.1);
    let url = shot.1["content_url"].as_str().expect("content_url").to_string();
    let screenshot = app.http.get(app.url(&url)).bearer_auth(&token).send().await.expect("get");
    let screenshot = screenshot.bytes().await.expect("jpeg").to_vec();
    timeline_until(&app, &token, &uid, "4 s recorded", |t| recorded_ms(t) >= 4_000).await;
    stop.trigger();

    // What is theirs, as stored: the account row's sealed fields, the sealed thumbnail, and
    // every object of the blob store (footage, init segments, the screenshot, the avatar).
    // A data export ready for download: its sealed parts are the user's objects too.
    super::exports::ready_export(&app, &token, serde_json::json!({"album": true})).await;

    let id = account_id(&app, &token).await;
    let store = app.running().services.store.clone();
    let row = store.account(id).await.expect("store").expect("row");
    let thumb = store.event_thumbnail(id, event).await.expect("store").expect("thumbnail");
    let blobs = app.blobs().await;
    let names: BTreeSet<_> = blobs.iter().map(|(n, _)| n.clone()).collect();
    assert!(names.len() >= 5, "segments, init, screenshot, avatar and export: {names:?}");
    let sealed: Vec<Vec<u8>> = blobs
        .iter()
        .map(|(_, b)| b[b.len() / 2..(b.len() / 2 + 48).min(b.len())].to_vec())
        .collect();

    let ends = cancel(&app, &token).await;
    pass_the_window(&app, ends, id).await;
    receipt_code(&app).await;

    let left: BTreeSet<_> = app.blob_names().await.into_iter().collect();
    assert!(names.is_disjoint(&left), "left: {:?}", names.intersection(&left));
    let mut needles: Vec<(&str, Vec<u8>)> = vec![
        ("the contact", WHO.as_bytes().to_vec()),
        ("the contact's local part", b"zelda.receipt".to_vec()),
        ("the nickname", NICK.as_bytes().to_vec()),
        ("the wrapped account key", row.key_wrapped.clone()),
        ("the sealed contact", row.contact_enc.clone()),
        ("the sealed nickname", row.nickname_enc.clone().expect("set")),
        ("the avatar", avatar[avatar.len() / 2..avatar.len() / 2 + 32].to_vec()),
        ("the sealed thumbnail", thumb[thumb.len() / 2..thumb.len() / 2 + 48].to_vec()),
        ("the screenshot", screenshot[screenshot.len() / 2..screenshot.len() / 2 + 32].to_vec()),
    ];
    needles.extend(sealed.into_iter().map(|s| ("a sealed object", s)));
    for (place, bytes) in app.stored_bytes().await {
        for (what, n) in &needles {
            assert!(!found(&bytes, n), "{what} is still in {place}");
        }
    }
    // The device itself stays, unbound, for its next owner.
    let d = store.device(&uid).await.expect("store").expect("device row");
    assert_eq!(d.owner, None);
}
