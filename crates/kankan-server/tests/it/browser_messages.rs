//! The Message Center, the ring screen and web push in a real headless Chromium: motion a
//! firmware camera sees appears in the already open Message Center over the events stream
//! (no reload), opens into its detail with a Play link at the clip's start, and is deleted; a
//! doorbell press rings the open app (Answer leads to live view with talk); and the server's
//! push for a motion event, through a local push service, becomes the service worker's
//! notification.
//!
//! Every step waits for an element, a value or a URL; nothing sleeps a fixed time.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use kankan_protocol::device::Settings;
use kankan_testkit::browser::Browser;
use kankan_testkit::push::PushService;
use kankan_testkit::{TestApp, state_report};
use serde_json::{Value, json};

use super::browser::{log_in_watching_csp, open_app, save_screenshot, tid, wait_for_hash};
use super::devices::{PW, bind, provision, put_settings};
use super::live_on_demand::{FirmwareCamera, firmware_camera};
use super::notify::{call, event, motion, owner, subscribe};
use super::recording::{WAIT, recording_app};

/// Registers `email` with a device of `model` bound and online (it has sent its state, as an
/// MQTT test device); its token, UID and the device.
async fn online_device(
    app: &TestApp,
    email: &str,
    model: &str,
) -> Result<(String, String, kankan_testkit::TestDevice)> {
    let token = app.register(email, PW).await;
    let creds = provision(app, model).await;
    let dev = bind(app, &token, &creds).await;
    let mut report = state_report(1, json!(Settings::default()), 0);
    report["model"] = json!(model);
    dev.publish_json("state", &report).await?;
    Ok((token, creds.uid, dev))
}

/// The account's events, newest first.
async fn events(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, b) = app.get_authed("/api/v1/events", token).await;
    assert_eq!(s, 200, "{b}");
    b.as_array().cloned().unwrap_or_default()
}

async fn events_until(
    app: &TestApp,
    token: &str,
    what: &str,
    ok: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let list = events(app, token).await;
        if ok(&list) {
            return list;
        }
        assert!(Instant::now() < deadline, "{what}: {list:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn set_motion(app: &TestApp, token: &str, uid: &str, enabled: bool) {
    let mut settings = Settings::default();
    settings.motion.enabled = enabled;
    let (s, b) = put_settings(app, token, uid, &settings).await;
    assert!(s == 200 || s == 202, "{s} {b}");
}

/// Waits until the app's events stream is connected.
pub(crate) async fn wait_stream_open(browser: &Browser) -> Result<()> {
    browser
        .wait_until(
            "the events stream to be open",
            "return document.documentElement.dataset.eventsStream === 'open';",
            &[],
        )
        .await?;
    Ok(())
}

/// The ids of the Message Center's rows, top first.
async fn row_ids(browser: &Browser) -> Result<Vec<String>> {
    let v = browser
        .execute(
            "return [...document.querySelectorAll('[data-testid=message-item]')].map((r) => r.dataset.id);",
            &[],
        )
        .await?;
    Ok(serde_json::from_value(v)?)
}

/// Chooses `kind` in the Message Center's type filter.
async fn set_kind(browser: &Browser, kind: &str) -> Result<()> {
    browser
        .execute(
            "const s = document.querySelector('[data-testid=messages-filter-kind]');
             s.value = arguments[0]; s.dispatchEvent(new Event('change', { bubbles: true }));",
            &[json!(kind)],
        )
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn motion_appears_live_in_the_open_message_center_and_opens_deletes() -> Result<()> {
    let app = recording_app().await;
    let email = "messages@example.com";
    let FirmwareCamera { token, creds, stop, dir: _dir, .. } =
        firmware_camera(&app, email, Some(false), None).await;
    let uid = creds.uid.clone();

    // A first motion event, ended by turning detection off: one row when the page opens.
    let first = events_until(&app, &token, "a motion event", |l| !l.is_empty()).await;
    let first_id = first[0]["id"].as_str().context("id")?.to_string();
    set_motion(&app, &token, &uid, false).await;
    events_until(&app, &token, "its end", |l| l.iter().all(|e| e["ended_at_ms"].is_i64())).await;

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.click(&tid("nav-messages")).await?;
    wait_for_hash(&browser, "#/messages").await?;
    browser.find(&format!("[data-testid=message-item][data-id='{first_id}']")).await?;
    wait_stream_open(&browser).await?;
    browser.execute("window.notReloaded = true;", &[]).await?;

    // The filters: no doorbell presses here; all types again shows the row.
    set_kind(&browser, "press").await?;
    browser.wait_for_text(&tid("messages-empty"), "Nothing matches").await?;
    wait_for_hash(&browser, "#/messages?kind=press").await?;
    set_kind(&browser, "").await?;
    wait_for_hash(&browser, "#/messages").await?;
    browser.find(&format!("[data-testid=message-item][data-id='{first_id}']")).await?;

    // Motion again: the new event arrives over the stream, on top, without a reload.
    set_motion(&app, &token, &uid, true).await;
    let ids = browser
        .wait_until(
            "a second row, on top",
            "const ids = [...document.querySelectorAll('[data-testid=message-item]')].map((r) => r.dataset.id);
             return ids.length >= 2 ? ids : null;",
            &[],
        )
        .await?;
    let ids: Vec<String> = serde_json::from_value(ids)?;
    ensure!(ids.last() == Some(&first_id), "the older event stays below: {ids:?}");
    let new_id = ids[0].clone();
    let reloaded: Value = browser.execute("return window.notReloaded === true;", &[]).await?;
    ensure!(reloaded == json!(true), "the page was not reloaded");
    let row = format!("[data-testid=message-item][data-id='{new_id}']");
    browser.find(&format!("{row} [data-testid=message-unread]")).await?;
    ensure!(browser.text(&format!("{row} [data-testid=message-kind]")).await? == "Motion");
    save_screenshot(&browser, "messages.png").await?;

    // Open it: the detail, with a Play link at the clip's start; it is now read.
    browser.click(&format!("{row} [data-testid=message-open]")).await?;
    browser.find(&tid("event-detail")).await?;
    let item = events(&app, &token)
        .await
        .into_iter()
        .find(|e| e["id"] == new_id.as_str())
        .context("listed")?;
    let at = item["clip_from_ms"].as_i64().or(item["started_at_ms"].as_i64()).context("a time")?;
    let href =
        browser.find(&tid("event-detail-play")).await?.attr("href").await?.unwrap_or_default();
    assert_eq!(href, format!("#/devices/{uid}/playback?at={at}"));
    browser.wait_for_text(&tid("event-detail-title"), "Motion").await?;
    browser
        .wait_until(
            "the thumbnail (or its placeholder)",
            "const img = document.querySelector('[data-testid=event-detail-thumb]');
             return !!document.querySelector('[data-testid=event-detail-thumb-none]')
               || (img && img.complete && img.naturalWidth > 0);",
            &[],
        )
        .await?;
    save_screenshot(&browser, "message-detail.png").await?;
    events_until(&app, &token, "marked read", |l| {
        l.iter().any(|e| e["id"] == new_id.as_str() && e["read"] == true)
    })
    .await;
    browser.wait_gone(&format!("{row} [data-testid=message-unread]")).await?;

    // Delete it (after confirming): gone from the page and from the server.
    browser.click(&tid("event-detail-delete")).await?;
    browser.click(&tid("confirm-ok")).await?;
    browser.wait_gone(&tid("event-detail")).await?;
    browser.wait_gone(&row).await?;
    ensure!(
        !events(&app, &token).await.iter().any(|e| e["id"] == new_id.as_str()),
        "deleted on the server"
    );
    ensure!(row_ids(&browser).await?.contains(&first_id), "the other event stays");

    let blocked: Value = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");
    browser.close().await?;
    stop.trigger();
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_doorbell_press_rings_the_open_app_and_answer_opens_live_talk() -> Result<()> {
    let app = TestApp::spawn().await;
    let email = "ring@example.com";
    let (token, uid, dev) = online_device(&app, email, "KK-D1").await?;
    let (s, b) = app
        .send(
            app.http
                .patch(app.url(&format!("/api/v1/devices/{uid}")))
                .bearer_auth(&token)
                .json(&json!({"name": "Front door"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    wait_stream_open(&browser).await?;

    // A press: the ring screen, over the devices page, names the doorbell.
    let now = || kankan_base::Clock::now(&kankan_base::RealClock).0;
    dev.publish_json("event", &json!({"type": "press", "at_ms": now()})).await?;
    browser.find(&tid("ring")).await?;
    browser.wait_for_text(&tid("ring"), "Someone is at the door").await?;
    browser.wait_for_text(&tid("ring-device"), "Front door").await?;
    browser.find(&tid("ring-answer")).await?;
    save_screenshot(&browser, "ring.png").await?;
    browser.click(&tid("ring-dismiss")).await?;
    browser.wait_gone(&tid("ring")).await?;
    wait_for_hash(&browser, "#/devices").await?;

    // The press is in the Message Center.
    let list =
        events_until(&app, &token, "the press", |l| l.iter().any(|e| e["kind"] == "press")).await;
    ensure!(list.iter().any(|e| e["device"] == uid.as_str()), "{list:?}");

    // Another press; Answer opens live view with talk asked for.
    dev.publish_json("event", &json!({"type": "press", "at_ms": now()})).await?;
    browser.click(&tid("ring-answer")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}/live?talk=1")).await?;
    browser.find(&tid("live-page")).await?;
    ensure!(!browser.is_displayed(&tid("ring")).await?, "the ring screen closed");

    let blocked: Value = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");
    browser.close().await?;
    app.stop().await;
    Ok(())
}

/// The service worker's registration id, read off `chrome://serviceworker-internals` (the
/// DevTools events that carry it cannot be read through chromedriver).
async fn registration_id(browser: &Browser, origin: &str) -> Result<String> {
    browser.goto("chrome://serviceworker-internals/").await?;
    let id = browser
        .wait_until(
            "the app's service worker registration",
            "const text = document.body.innerText;
             const at = text.indexOf(arguments[0]);
             if (at < 0) return null;
             const m = /Registration ID:\\s*(\\d+)/.exec(text.slice(at));
             return m ? m[1] : null;",
            &[json!(origin)],
        )
        .await?;
    id.as_str().map(str::to_owned).context("a registration id")
}

/// Motion → the server's encrypted push at the local RFC 8030 push service → decrypted with the
/// subscription's keys (Chromium cannot subscribe to a local push service, so the test plays
/// the browser's push client) → delivered to the app's service worker over DevTools → shown as
/// a notification that leads to the event's moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_motion_push_reaches_the_service_worker_and_becomes_a_notification() -> Result<()> {
    let app = TestApp::spawn().await;
    let push = PushService::start().await;
    let email = "pushsw@example.com";
    let o = owner(&app, email).await;
    let keys = subscribe(&app, &o.token, &push, "chromium").await;
    let rename = json!({"name": "Front door"});
    let path = format!("/api/v1/devices/{}", o.uid);
    let (s, b) = call(&app, "PATCH", &path, &o.token, Some(rename)).await;
    ensure!(s == 200 || s == 204, "rename: {s} {b}");
    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser
        .wait_until(
            "the service worker to be active",
            "return navigator.serviceWorker.ready.then((r) => !!r.active);",
            &[],
        )
        .await?;
    let origin = app.base_url.trim_end_matches('/').to_string();
    browser
        .cdp(
            "Browser.grantPermissions",
            json!({"origin": origin, "permissions": ["notifications"]}),
        )
        .await?;
    let id = registration_id(&browser, &origin).await?;

    let t = kankan_base::Clock::now(&app.clock).0;
    let event_id = event(&app, &o, motion(t)).await;
    let got = push.wait_for("chromium", 1, WAIT).await;
    let plain = String::from_utf8(keys.decrypt(&got[0].body))?;
    browser.cdp("ServiceWorker.enable", json!({})).await?;
    browser
        .cdp(
            "ServiceWorker.deliverPushMessage",
            json!({"origin": origin, "registrationId": id, "data": plain}),
        )
        .await?;

    browser.goto(&app.url("/#/messages")).await?;
    let shown = browser
        .wait_until(
            "the notification",
            "return navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((list) =>
               list.length ? list.map((n) => ({ title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url })) : null);",
            &[],
        )
        .await?;
    let n = shown.as_array().and_then(|l| l.first()).cloned().unwrap_or_default();
    if n.is_null() {
        bail!("no notification: {shown}");
    }
    assert_eq!(n["title"], "Motion at Front door", "{n}");
    assert!(n["body"].as_str().is_some_and(|b| !b.is_empty()), "{n}");
    assert_eq!(n["tag"], event_id.as_str());
    assert_eq!(n["url"], format!("#/devices/{}/playback?at={t}", o.uid));
    browser.close().await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_settings_save_push_failure_is_explained_and_a_camera_snoozes() -> Result<()> {
    let app = TestApp::spawn().await;
    let email = "prefs@example.com";
    let (token, uid, _dev) = online_device(&app, email, "KK-C1").await?;

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.click(&tid("nav-me")).await?;
    browser.click(&tid("me-notifications-link")).await?;
    wait_for_hash(&browser, "#/me/notifications").await?;
    browser.find(&tid("notify-settings-form")).await?;

    // E-mail, with quiet hours.
    browser.click("label:has([data-testid=notify-method-email])").await?;
    browser.click("label[for=notify-quiet]").await?;
    browser.click(&tid("notify-save")).await?;
    browser.wait_for_text(&tid("notify-settings-alert"), "Saved").await?;
    let (s, b) = app.get_authed("/api/v1/me/notification-settings", &token).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["method"], "email");
    assert_eq!(b["quiet_hours"], json!({"start": "22:00", "end": "07:00"}));

    // Headless Chromium has no push service: the page says so instead of failing silently.
    let origin = app.base_url.trim_end_matches('/').to_string();
    browser
        .cdp(
            "Browser.grantPermissions",
            json!({"origin": origin, "permissions": ["notifications"]}),
        )
        .await?;
    browser.click(&tid("push-enable")).await?;
    browser
        .wait_until(
            "push on, or a clear message why not",
            "const s = document.querySelector('[data-testid=push-status]')?.dataset.state;
             const a = document.querySelector('[data-testid=push-alert]');
             return s === 'on' || (a && !a.hidden && a.textContent.includes('push service')) ? s : null;",
            &[],
        )
        .await?;
    save_screenshot(&browser, "notifications.png").await?;

    // Snooze the camera for 30 minutes from its device page.
    browser.goto(&app.url(&format!("/#/devices/{uid}"))).await?;
    browser.click(&tid("device-snooze-30")).await?;
    browser.wait_for_text(&tid("device-snooze-status"), "Snoozed until").await?;
    let (s, b) = app.get_authed(&format!("/api/v1/devices/{uid}/notifications"), &token).await;
    assert_eq!(s, 200, "{b}");
    ensure!(b["snoozed_until_ms"].is_i64(), "snoozed: {b}");
    browser.click(&tid("device-snooze-resume")).await?;
    browser.wait_for_text(&tid("device-snooze-status"), "Notifications are on").await?;

    browser.close().await?;
    app.stop().await;
    Ok(())
}
