//! Sharing a camera, in two real headless Chromiums with separate profiles (the owner's and
//! the member's): the owner opens the camera's Share page and makes an invitation (QR code and
//! link); the member, signed out, opens the link, logs in, comes back to the invitation, which
//! shows the owner's nickname and the camera's name and nothing else, and accepts. The camera
//! is in the member's list badged "Shared by <nickname>", without the owner's controls; the
//! owner lets the member play back (the member's page gains Playback); the member finds the
//! camera's motion alarm in their Message Center and watches it live, which the owner's access
//! log shows. The owner removes them (over the WebSocket player and over WebRTC):
//! the member's open live view stops within one second of the removal's answer, and the
//! camera's alarms leave their Message Center. The Album's Share button hands a
//! screenshot's file to the browser's share sheet, or downloads it where there is none.
//!
//! Every step waits for an element, a value or a URL; nothing sleeps a fixed time.

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use kankan_testkit::TestApp;
use kankan_testkit::browser::Browser;
use serde_json::{Value, json};

use super::browser::{
    loaded_image_src, log_in_watching_csp, open_app, save_screenshot, tid, video_past,
    wait_for_hash,
};
use super::devices::PW;
use super::live_on_demand::{FirmwareCamera, firmware_camera};
use super::recording::recording_camera;

const WAIT: Duration = Duration::from_secs(30);
/// The Bar: a removed member's open live view stops within this long.
const REMOVAL_STOPS_LIVE: Duration = Duration::from_secs(1);

/// The app with recordings in small segments; live view over WebRTC, or (`webrtc` false) the
/// WebSocket player only.
async fn sharing_app(webrtc: bool) -> TestApp {
    TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
        c.webrtc.enabled = webrtc;
    })
    .await
}

/// Sends `body` with `method` to `path` as `token`; the status and the JSON answer.
async fn call(app: &TestApp, token: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    app.send(app.http.request(method, app.url(path)).bearer_auth(token).json(&body)).await
}

/// Waits until the element `testid` is on the page and not hidden.
async fn shown(browser: &Browser, testid: &str) -> Result<()> {
    browser
        .wait_until(
            &format!("`{testid}` to show"),
            "const e = document.querySelector(`[data-testid=${arguments[0]}]`);
             return !!e && !e.hidden;",
            &[json!(testid)],
        )
        .await?;
    Ok(())
}

/// Waits for the Live page's status to be one of `states`; returns the one it is.
async fn live_state(browser: &Browser, what: &str, states: &[&str]) -> Result<String> {
    let v = browser
        .wait_until(
            what,
            "const s = document.querySelector('[data-testid=live-status]')?.dataset.state;
             return arguments[0].includes(s) ? s : null;",
            &[json!(states)],
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_member_accepts_watches_live_and_removal_stops_the_live_view_within_a_second()
-> Result<()> {
    invite_watch_remove("mse").await
}

/// The same journey with live view over WebRTC: the server's goodbye ends the member's view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_stops_a_members_webrtc_live_view_within_a_second() -> Result<()> {
    invite_watch_remove("webrtc").await
}

/// Invite, accept, grant, alarm, live view over `transport` (`mse` or `webrtc`), removal.
async fn invite_watch_remove(transport: &str) -> Result<()> {
    let app = sharing_app(transport == "webrtc").await;
    let owner_email = "owner.share@example.com";
    let member_email = "member.share@example.com";
    // A streaming camera whose motion detector reports through the firmware.
    let FirmwareCamera { token, creds, stop, dir: _dir, .. } =
        firmware_camera(&app, owner_email, Some(false), None).await;
    let uid = creds.uid.clone();
    let (s, b) = call(&app, &token, "PATCH", "/api/v1/me", json!({"nickname": "Mika"})).await;
    assert_eq!(s, 200, "{b}");
    let path = format!("/api/v1/devices/{uid}");
    let (s, b) = call(&app, &token, "PATCH", &path, json!({"name": "Garden"})).await;
    assert_eq!(s, 200, "{b}");
    let member_token = app.register(member_email, PW).await;
    let (s, b) = call(&app, &member_token, "PATCH", "/api/v1/me", json!({"nickname": "Sam"})).await;
    assert_eq!(s, 200, "{b}");

    // The owner: the device page leads to Share; an invitation with its QR code and link.
    let owner = open_app(&app).await?;
    log_in_watching_csp(&owner, owner_email).await?;
    owner.click(&tid("device-card")).await?;
    wait_for_hash(&owner, &format!("#/devices/{uid}")).await?;
    owner.click(&tid("device-share")).await?;
    wait_for_hash(&owner, &format!("#/devices/{uid}/share")).await?;
    shown(&owner, "members-none").await?;
    owner.click(&tid("share-create")).await?;
    loaded_image_src(&owner, "share-qr").await?;
    let link = owner.find(&tid("share-link")).await?.property("value").await?;
    let link = link.as_str().context("the link")?.to_owned();
    let at = link.find("#/invite/").context("the link opens the invitation page")?;
    let hash = link[at..].to_owned();
    owner.find(&tid("share-pending-item")).await?;
    save_screenshot(&owner, "share.png").await?;

    // The member, signed out, opens the link: log in first, then back at the invitation.
    let mut member = open_app(&app).await?;
    let watch = "window.cspViolations = [];
        document.addEventListener('securitypolicyviolation',
          (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));";
    member.goto(&app.url(&format!("/{hash}"))).await?;
    member.find(&tid("page-login")).await?;
    member.wait_for_text(&tid("login-notice"), "invitation").await?;
    member.execute(watch, &[]).await?;
    member.fill(&tid("login-identifier"), member_email).await?;
    member.fill(&tid("login-password"), PW).await?;
    member.click(&tid("login-submit")).await?;
    wait_for_hash(&member, &hash).await?;

    // The preview: the owner's nickname and the camera's name, nothing of the owner's account.
    member.find(&tid("invite-preview")).await?;
    ensure!(member.text(&tid("invite-inviter")).await? == "Mika");
    ensure!(member.text(&tid("invite-device")).await? == "Garden");
    let page = member.text(&tid("page-invite")).await?;
    ensure!(!page.contains(owner_email) && !page.contains(&uid), "only the nickname: {page}");
    save_screenshot(&member, "invite.png").await?;
    member.click(&tid("invite-accept")).await?;
    wait_for_hash(&member, "#/devices").await?;

    // In the member's list, after their own (none), badged as shared.
    let card = format!("[data-testid=device-card][data-uid='{uid}'][data-role=member]");
    member.find(&card).await?;
    member
        .wait_for_text(&format!("{card} [data-testid=device-card-shared]"), "Shared by Mika")
        .await?;
    save_screenshot(&member, "shared-devices.png").await?;

    // The camera's motion alarm is in the member's Message Center.
    let alarm = format!("[data-testid=message-item][data-device='{uid}']");
    member.click(&tid("nav-messages")).await?;
    wait_for_hash(&member, "#/messages").await?;
    member.find(&alarm).await?;
    save_screenshot(&member, "shared-messages.png").await?;
    member.click(&tid("nav-devices")).await?;
    wait_for_hash(&member, "#/devices").await?;

    // Its page: the badge, Live, no Share, no settings, Leave instead of unbinding.
    member.click(&card).await?;
    wait_for_hash(&member, &format!("#/devices/{uid}")).await?;
    member.wait_for_text(&tid("device-shared"), "Shared by Mika").await?;
    member.find(&tid("device-leave")).await?;
    for hidden in ["device-share", "device-unbind", "device-settings", "device-playback"] {
        ensure!(member.find_all(&tid(hidden)).await?.is_empty(), "a member has no {hidden}");
    }

    // The owner sees the new member and lets them play back recordings: the member's page
    // gains Playback.
    let row = "[data-testid=member-item]";
    owner.wait_for_text(&format!("{row} [data-testid=member-name]"), "Sam").await?;
    owner.click(&format!("{row} [data-testid=member-edit]")).await?;
    let id = owner
        .execute(
            "return document.querySelector(arguments[0]).id;",
            &[json!(format!("{row} [data-testid=member-cap-play-back]"))],
        )
        .await?;
    let id = id.as_str().context("the switch's id")?.to_owned();
    owner.click(&format!("label[for='{id}']")).await?; // the switch itself is drawn over
    owner.click(&format!("{row} [data-testid=member-save]")).await?;
    let members_path = format!("/api/v1/devices/{uid}/members");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (s, b) = app.get_authed(&members_path, &token).await;
        assert_eq!(s, 200, "{b}");
        if b[0]["capabilities"].as_array().is_some_and(|c| c.contains(&json!("play-back"))) {
            break;
        }
        ensure!(tokio::time::Instant::now() < deadline, "play-back was not granted: {b}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    member.find(&tid("device-playback")).await?;
    save_screenshot(&owner, "share-members.png").await?;

    // The member watches live.
    member.click(&tid("device-live")).await?;
    wait_for_hash(&member, &format!("#/devices/{uid}/live")).await?;
    live_state(&member, "the member's live view to play", &["live"]).await?;
    let played = member
        .wait_until(
            "the player to say its transport",
            "return document.querySelector('[data-testid=live-video]').dataset.transport || null;",
            &[],
        )
        .await?;
    ensure!(played == json!(transport), "live view over {transport}: {played}");
    let first = video_past(&member, "live-video", "the video to play", (0.0, 0), (0.0, 1)).await?;
    video_past(&member, "live-video", "the video to go on", first, (1.0, 10)).await?;
    // With play-back but not download: the Recordings link, no saving to the Album.
    member
        .wait_until(
            "only the member's extras to show",
            "const q = (t) => document.querySelector(`[data-testid=${t}]`);
             return !q('live-playback').hidden && q('live-screenshot').closest('[hidden]') !== null;",
            &[],
        )
        .await?;
    save_screenshot(&member, "shared-live.png").await?;

    // The owner's access log shows that the member watched live.
    owner
        .wait_for_text("[data-testid=share-access-item][data-kind=live]", "Sam watched live")
        .await?;

    // The member's page notes when its status changes; the owner's when the removal answers.
    member
        .execute(
            "const s = document.querySelector('[data-testid=live-status]');
             new MutationObserver(() => {
               if (!window.liveEndedAt && s.dataset.state !== 'live') window.liveEndedAt = Date.now();
             }).observe(s, { attributes: true });",
            &[],
        )
        .await?;
    owner
        .execute(
            "const f = window.fetch;
             window.fetch = async (url, init) => {
               const r = await f(url, init);
               if (init && init.method === 'DELETE' && String(url).includes('/members/'))
                 window.removedAt = Date.now();
               return r;
             };",
            &[],
        )
        .await?;

    // The owner removes the member (after confirming).
    owner.click(&format!("{row} [data-testid=member-remove]")).await?;
    owner.click(&tid("confirm-ok")).await?;
    owner.wait_until("the removal's answer", "return window.removedAt || null;", &[]).await?;

    // Within a second the member's live view has stopped.
    member.set_timeout(REMOVAL_STOPS_LIVE);
    let state =
        live_state(&member, "the live view to stop", &["ended", "not-found", "not-live"]).await?;
    member.set_timeout(WAIT);
    let removed_at = owner.execute("return window.removedAt;", &[]).await?;
    let ended_at = member.execute("return window.liveEndedAt;", &[]).await?;
    eprintln!(
        "the live view stopped ({state}) {} ms after the removal answered",
        ended_at.as_i64().unwrap_or_default() - removed_at.as_i64().unwrap_or_default()
    );
    owner.wait_gone(row).await?;
    shown(&owner, "members-none").await?;

    // It does not come back: the camera is no longer the member's to watch.
    live_state(&member, "the live view to know", &["not-found"]).await?;
    member.wait_for_text(&tid("live-hint"), "no longer shared with you").await?;
    let (s, b) = app.get_authed(&format!("/api/v1/devices/{uid}"), &member_token).await;
    assert_eq!(s, 404, "{b}");
    member.click(&tid("nav-devices")).await?;
    shown(&member, "devices-empty").await?;
    save_screenshot(&member, "shared-removed.png").await?;
    // And its alarms have left the member's Message Center.
    member.click(&tid("nav-messages")).await?;
    wait_for_hash(&member, "#/messages").await?;
    shown(&member, "messages-empty").await?;
    ensure!(member.find_all(&alarm).await?.is_empty(), "the camera's alarms are gone");

    for browser in [&owner, &member] {
        let blocked: Value = browser.execute("return window.cspViolations;", &[]).await?;
        assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");
    }
    owner.close().await?;
    member.close().await?;
    stop.trigger();
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_album_shares_a_screenshot_through_the_share_sheet_or_downloads_it() -> Result<()> {
    let app = sharing_app(false).await;
    let email = "albumshare@example.com";
    let (token, creds, cam, stop) = recording_camera(&app, email).await;
    cam.wait_for("a second is sent", WAIT, |s| s.sent_live_ms >= 1_000).await?;
    // A screenshot, once the camera streams.
    let deadline = tokio::time::Instant::now() + WAIT;
    let item = loop {
        let body = json!({"device": creds.uid});
        let (s, b) = call(&app, &token, "POST", "/api/v1/album/screenshots", body).await;
        if s == 201 || s == 200 {
            break b;
        }
        ensure!(tokio::time::Instant::now() < deadline, "no screenshot: {s} {b}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let bytes = item["bytes"].as_u64().context("its size")?;

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.click(&tid("nav-album")).await?;
    wait_for_hash(&browser, "#/album").await?;
    let card = "[data-testid=album-item]";
    loaded_image_src(&browser, "album-image").await?;

    // Where the browser has a share sheet that takes the file, the file goes to it.
    browser
        .execute(
            "window.shared = null;
             navigator.canShare = (data) => !!(data && data.files && data.files.length);
             navigator.share = async (data) => {
               const f = data.files[0];
               window.shared = { name: f.name, type: f.type, size: f.size, title: data.title };
             };",
            &[],
        )
        .await?;
    browser.click(&format!("{card} [data-testid=album-share]")).await?;
    let shared =
        browser.wait_until("the share sheet to get the file", "return window.shared;", &[]).await?;
    ensure!(shared["size"] == json!(bytes), "the whole screenshot: {shared} ({bytes} bytes)");
    ensure!(shared["type"].as_str().is_some_and(|t| t.starts_with("image/")), "{shared}");
    ensure!(shared["name"].as_str().is_some_and(|n| n.starts_with("kankan-")), "{shared}");
    browser.find(&format!("{card}[data-shared=shared]")).await?;

    // Where it cannot take files, the screenshot is downloaded instead.
    browser
        .execute(
            "window.shared = null;
             navigator.canShare = () => false;
             window.downloads = [];
             document.addEventListener('click', (e) => {
               const a = e.target.closest && e.target.closest('a[download]');
               if (a) { window.downloads.push([a.getAttribute('href'), a.getAttribute('download')]); e.preventDefault(); }
             }, true);",
            &[],
        )
        .await?;
    browser.click(&format!("{card} [data-testid=album-share]")).await?;
    browser.find(&format!("{card}[data-shared=downloaded]")).await?;
    let downloads = browser.execute("return window.downloads;", &[]).await?;
    let href = item["content_url"].as_str().context("content_url")?;
    ensure!(downloads[0][0] == json!(href), "the item's content is downloaded: {downloads}");
    ensure!(browser.execute("return window.shared;", &[]).await? == Value::Null);

    browser.close().await?;
    stop.trigger();
    drop(cam);
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scanner_opens_a_pasted_invitation_link_and_refuses_another() -> Result<()> {
    let app = sharing_app(false).await;
    let owner = app.register("owner.scan@example.com", PW).await;
    let creds = super::devices::provision(&app, "KK-C1").await;
    let _dev = super::devices::bind(&app, &owner, &creds).await;
    let body = json!({"devices": [creds.uid]});
    let (s, inv) = call(&app, &owner, "POST", "/api/v1/shares", body).await;
    assert_eq!(s, 201, "{inv}");
    let link = inv["link"].as_str().context("the link")?;
    let email = "member.scan@example.com";
    app.register(email, PW).await;

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.click(&tid("devices-empty-scan")).await?;
    wait_for_hash(&browser, "#/scan").await?;
    // Something that is not an invitation is refused; the link opens the invitation.
    browser.fill(&tid("scan-link"), "https://example.com/#/devices").await?;
    browser.click(&tid("scan-open")).await?;
    browser.wait_for_text(&tid("scan-alert"), "not a Kankan invitation").await?;
    browser.fill(&tid("scan-link"), link).await?;
    browser.click(&tid("scan-open")).await?;
    browser.find(&tid("invite-preview")).await?;
    let token = inv["token"].as_str().context("the token")?;
    wait_for_hash(&browser, &format!("#/invite/{token}")).await?;

    let blocked: Value = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");
    browser.close().await?;
    app.stop().await;
    Ok(())
}
