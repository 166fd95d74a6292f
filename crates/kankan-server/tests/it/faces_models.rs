//! Familiar faces with the real models: the person listener, given a real picture with a
//! person in it, finds the face with BlazeFace, embeds it with dlib's ResNet and records it;
//! the same person moved and rescaled is the same face (and, once named, says its name);
//! another person is another face; a camera without `familiar_faces`, or an owner without the
//! consent, gets nothing computed or stored.
//!
//! The pictures are the vision crate's test photos (`crates/kankan-vision/tests/data`: NASA's
//! public-domain astronaut portrait and a CC0 photograph, both from scikit-image's sample data;
//! see its README). The models come from `scripts/models` (`kankan_testkit::models_dir`).

use std::sync::{Arc, OnceLock};

use image::RgbImage;
use kankan_db::{Event, RelBox};
use kankan_events::{Detection, PERSON, PersonSeen};
use kankan_faces::{FaceListener, Seen};
use kankan_protocol::device::Settings;
use kankan_testkit::TestApp;
use serde_json::json;

use crate::authz_routes::account_id;
use crate::devices::put_settings;
use crate::notify::{Owner, call, event, motion, owner};

fn models() -> Arc<kankan_vision::Models> {
    static MODELS: OnceLock<Arc<kankan_vision::Models>> = OnceLock::new();
    MODELS
        .get_or_init(|| {
            let dir = kankan_testkit::models_dir();
            Arc::new(kankan_vision::Models::load(&dir).expect("the models load"))
        })
        .clone()
}

fn photo(name: &str) -> RgbImage {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kankan-vision/tests/data")
        .join(name);
    image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_rgb8()
}

/// The photo moved and rescaled: the crop `(x, y, w, h)` resized to `size`×`size`.
fn moved(img: &RgbImage, (x, y, w, h): (u32, u32, u32, u32), size: u32) -> RgbImage {
    let crop = image::imageops::crop_imm(img, x, y, w, h).to_image();
    image::imageops::resize(&crop, size, size, image::imageops::FilterType::Triangle)
}

/// What the person detector hands the listener: the picture and a person box over it.
fn seen(e: &Event, frame: RgbImage, person: RelBox) -> PersonSeen {
    PersonSeen {
        event: e.clone(),
        frame: Arc::new(frame),
        person: Detection {
            label: PERSON,
            score: 0.9,
            bbox: kankan_vision::BBox { x: person.x, y: person.y, w: person.w, h: person.h },
        },
    }
}

const WHOLE: RelBox = RelBox { x: 0.0, y: 0.0, w: 1.0, h: 1.0 };

async fn new_event(app: &TestApp, o: &Owner, offset_ms: i64) -> Event {
    let id = event(app, o, motion(kankan_base::Clock::now(&app.clock).0 + offset_ms)).await;
    let account = account_id(app, &o.token).await;
    let store = &app.running().services.store;
    store.event(account, id.parse().expect("uuid")).await.expect("event").expect("stored")
}

async fn familiar_faces(app: &TestApp, o: &Owner, on: bool) {
    let s = Settings { familiar_faces: on, ..Settings::default() };
    let (status, b) = put_settings(app, &o.token, &o.uid, &s).await;
    assert_eq!(status, 200, "{b}");
}

async fn consent(app: &TestApp, token: &str, granted: bool) {
    let path = "/api/v1/me/consents/face-recognition";
    let (s, b) = call(app, "PUT", path, token, Some(json!({"granted": granted}))).await;
    assert_eq!(s, 200, "{b}");
}

async fn look(listener: &FaceListener, s: &PersonSeen) -> Option<Seen> {
    listener.look(s).await.expect("the listener")
}

#[tokio::test]
async fn a_real_face_is_found_matched_and_named_and_another_person_is_another_face() {
    let app = TestApp::spawn().await;
    let o = owner(&app, "owner@example.com").await;
    let listener = FaceListener::new(app.running().services.faces.clone(), models());
    consent(&app, &o.token, true).await;
    familiar_faces(&app, &o, true).await;
    let astronaut = photo("astronaut.jpg");

    let first = new_event(&app, &o, 0).await;
    let s = look(&listener, &seen(&first, astronaut.clone(), WHOLE)).await.expect("a face");
    assert!(s.new && s.stranger, "{s:?}");
    // Its picture is a small JPEG of the face.
    let pic = app
        .http
        .get(app.url(&format!("/api/v1/faces/{}/picture", s.face)))
        .bearer_auth(&o.token)
        .send()
        .await
        .expect("picture");
    assert_eq!(pic.status(), 200);
    let crop = image::load_from_memory(&pic.bytes().await.expect("body")).expect("a JPEG");
    let side = crop.width().max(crop.height());
    assert!(side > 16 && side <= kankan_faces::CROP_MAX_SIDE, "a face-sized picture: {side}");

    let path = format!("/api/v1/faces/{}", s.face);
    let body = json!({"name": "Eileen", "relation": "friend"});
    assert_eq!(call(&app, "PUT", &path, &o.token, Some(body)).await.0, 200);

    // The same person, moved and rescaled, in a later event: the same face, named. The person
    // box is the left part of the picture, where she stands.
    let later = new_event(&app, &o, 1_000).await;
    let shifted = moved(&astronaut, (40, 0, 400, 400), 560);
    let left = RelBox { x: 0.0, y: 0.0, w: 0.9, h: 1.0 };
    let again = look(&listener, &seen(&later, shifted, left)).await.expect("a face");
    assert_eq!((again.face, again.name.as_deref(), again.new), (s.face, Some("Eileen"), false));
    assert!(again.distance.is_some_and(|d| d < kankan_faces::SAME_PERSON_MAX_DISTANCE));
    let (_, ev) = call(&app, "GET", &format!("/api/v1/events/{}", later.id), &o.token, None).await;
    assert_eq!(ev["face"], json!({"id": s.face, "name": "Eileen", "stranger": false}));

    // The cameraman: another face, a stranger.
    let other = look(&listener, &seen(&later, photo("camera.jpg"), WHOLE)).await.expect("a face");
    assert!(other.new && other.stranger && other.face != s.face, "{other:?}");
    let (_, l) = call(&app, "GET", "/api/v1/faces", &o.token, None).await;
    assert_eq!(l["gallery"][0]["name"], "Eileen", "{l}");
    assert_eq!(l["strangers"][0]["id"], json!(other.face), "{l}");
    app.stop().await;
}

#[tokio::test]
async fn nothing_is_computed_without_the_camera_setting_or_the_consent() {
    let app = TestApp::spawn().await;
    let o = owner(&app, "owner@example.com").await;
    let id = account_id(&app, &o.token).await;
    let listener = FaceListener::new(app.running().services.faces.clone(), models());
    let e = new_event(&app, &o, 0).await;
    let s = seen(&e, photo("astronaut.jpg"), WHOLE);
    let stored = || async { app.running().services.store.faces_of(id).await.expect("q").len() };

    // Consent given, the camera's setting off (the default).
    consent(&app, &o.token, true).await;
    assert_eq!(look(&listener, &s).await, None);
    assert_eq!(stored().await, 0);
    // The camera's setting on, the consent withdrawn.
    familiar_faces(&app, &o, true).await;
    consent(&app, &o.token, false).await;
    assert_eq!(look(&listener, &s).await, None);
    assert_eq!(stored().await, 0);
    // Both: processed.
    consent(&app, &o.token, true).await;
    assert!(look(&listener, &s).await.is_some());
    assert_eq!(stored().await, 1);
    app.stop().await;
}
