//! Live view across NAT: a live link carries STUN and a TURN credential of its own (the TURN
//! REST convention); a browser behind a NAT plays live over WebRTC through a real coturn,
//! relayed over UDP when its direct UDP to the server is dropped, over TCP when all its UDP
//! is, and over TLS when only TLS gets out; with ICE-TCP it connects to the server over TCP
//! without TURN; and with neither it falls back to the WebSocket player once ICE fails.
//!
//! The NAT test builds its network itself (`kankan_testkit::netns`): the test's namespace is
//! the server side (the server, its camera and coturn), a viewer namespace sits behind a
//! masquerading router namespace that drops the viewer's UDP. Chromium runs in
//! the viewer namespace. It needs root, iproute2, iptables and coturn and fails, saying so,
//! without them. It prints time to first frame and glass to glass for the same server watched
//! directly (loopback), through the NAT and TURN, and through them with `tc netem` (100 ms
//! round trip, 1 % loss towards the viewer); docs/benchmarks.md records them.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use kankan_base::{Secret, Shutdown};
use kankan_testkit::TestApp;
use kankan_testkit::browser::{Browser, LaunchOptions};
use kankan_testkit::coturn::{Coturn, CoturnConfig};
use kankan_testkit::netns::NatLab;
use kankan_testkit::relay::DelayRelay;
use serde_json::{Value, json};

use super::browser::{live_picture, log_in_watching_csp, tid, wait_for_hash};
use super::recording::{WAIT, recording_camera};
use super::webrtc::until_live;

const SECRET: &str = "nat-test-shared-secret-0123456789";

/// `base64(HMAC-SHA1(secret, username))`, computed here on its own.
fn turn_password(secret: &str, username: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn link(app: &TestApp, token: &str, uid: &str, purpose: &str) -> Value {
    let path = format!("/api/v1/devices/{uid}/recordings/link");
    let req = app.http.post(app.url(&path)).json(&json!({ "purpose": purpose })).bearer_auth(token);
    let (s, b) = app.send(req).await;
    assert_eq!(s, 200, "{b}");
    b
}

#[tokio::test]
async fn a_live_link_carries_stun_and_a_turn_credential_of_its_own() {
    let app = TestApp::spawn_with(|c| {
        c.webrtc.stun_urls = vec!["stun:turn.example:3478".into()];
        c.webrtc.turn_urls = vec!["turn:turn.example:3478?transport=tcp".into()];
        c.webrtc.turn_secret = Some(Secret::new(SECRET));
        c.webrtc.turn_ttl_secs = 600;
    })
    .await;
    let token = app.register("nat@example.com", crate::devices::PW).await;
    let creds = crate::devices::provision(&app, "KK-C1").await;
    let _dev = crate::devices::bind(&app, &token, &creds).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let mut users = Vec::new();
    for purpose in ["live", "talk", "live"] {
        let b = link(&app, &token, &creds.uid, purpose).await;
        assert!(!b.to_string().contains(SECRET), "the secret is never sent: {b}");
        let ice = b["ice_servers"].as_array().expect("ice_servers");
        assert_eq!(ice.len(), 2, "{b}");
        assert_eq!(ice[0], json!({"urls": ["stun:turn.example:3478"]}));
        assert_eq!(ice[1]["urls"], json!(["turn:turn.example:3478?transport=tcp"]));
        let user = ice[1]["username"].as_str().expect("username").to_owned();
        let (expiry, id) = user.split_once(':').expect("<expiry>:<id>");
        let expiry: u64 = expiry.parse().expect("Unix seconds");
        assert!((now + 600..=now + 605).contains(&expiry), "expires in 600 s: {user}");
        assert!(!id.is_empty() && !id.contains(&creds.uid), "a random id, naming nothing: {id}");
        assert_eq!(ice[1]["credential"], json!(turn_password(SECRET, &user)));
        users.push(user);
    }
    users.dedup();
    assert_eq!(users.len(), 3, "each link has a credential of its own");
    let b = link(&app, &token, &creds.uid, "playback").await;
    assert_eq!(b["ice_servers"], json!([]), "a playback link opens no WebRTC");
}

/// What one viewer measured.
#[derive(Debug)]
struct Watched {
    first_frame: Duration,
    /// Glass to glass: how far the picture on screen is behind the camera's clock (ms), a few
    /// readings a second apart.
    behind_ms: Vec<i64>,
    /// The selected candidate pair: the browser's side (type, relay protocol) and the server's.
    pair: Value,
}

/// Wraps `RTCPeerConnection` so the test can read the page's connections' stats.
const KEEP_PCS: &str = "if (!window.__pcs) {
    window.__pcs = [];
    const Base = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Base {
      constructor(config) { super(config); window.__pcs.push(this); }
    };
  }";

/// The newest connection's selected candidate pair, from `getStats`.
const SELECTED_PAIR: &str = "const pc = window.__pcs[window.__pcs.length - 1];
  return pc.getStats().then((stats) => {
    let pair = null;
    stats.forEach((r) => {
      if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
    });
    if (!pair) return null;
    const local = stats.get(pair.localCandidateId);
    const remote = stats.get(pair.remoteCandidateId);
    return { state: pair.state, local: local.candidateType, protocol: local.protocol,
             relayProtocol: local.relayProtocol || null,
             remote: remote.candidateType, remoteAddress: remote.address,
             iceServers: pc.getConfiguration().iceServers.length };
  });";

/// Opens `uid`'s Live page from its device page and measures it playing over WebRTC.
async fn watch(browser: &Browser, base: &str, uid: &str) -> Result<Watched> {
    browser.goto(&format!("{base}/#/devices/{uid}")).await?;
    wait_for_hash(browser, &format!("#/devices/{uid}")).await?;
    browser.execute(KEEP_PCS, &[]).await?;
    let started = Instant::now();
    browser.click(&tid("device-live")).await?;
    browser
        .wait_until(
            "a first frame over WebRTC",
            "const v = document.querySelector('[data-testid=live-video]');
             return v && v.srcObject && v.getVideoPlaybackQuality().totalVideoFrames > 0;",
            &[],
        )
        .await?;
    let first_frame = started.elapsed();
    let transport = browser
        .wait_until(
            "the page to say it plays over WebRTC",
            "const v = document.querySelector('[data-testid=live-video]');
             const s = document.querySelector('[data-testid=live-status]');
             return s && s.dataset.state === 'live' && v.dataset.transport ? v.dataset.transport : null;",
            &[],
        )
        .await?;
    ensure!(transport == json!("webrtc"), "the transport is {transport}, not webrtc");
    let pair = browser.wait_until("a selected candidate pair", SELECTED_PAIR, &[]).await?;
    let mut behind_ms = Vec::new();
    for _ in 0..5 {
        behind_ms.push(live_picture(browser).await?.1);
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    Ok(Watched { first_frame, behind_ms, pair })
}

fn report(what: &str, w: &Watched) {
    let mut b = w.behind_ms.clone();
    b.sort_unstable();
    eprintln!(
        "webrtc nat: {what}: first frame {} ms, glass to glass median {} ms (of {:?}), pair {}",
        w.first_frame.as_millis(),
        b[b.len() / 2],
        w.behind_ms,
        w.pair
    );
}

async fn browser_in(ns: Option<&str>, base: &str) -> Result<Browser> {
    let options = LaunchOptions {
        timeout: Duration::from_secs(30),
        // The app is served over plain HTTP on a non-loopback address.
        // coturn's TLS certificate is the test's own, self-signed.
        extra_args: vec![
            format!("--unsafely-treat-insecure-origin-as-secure={base}"),
            "--ignore-certificate-errors".into(),
        ],
        netns: ns.map(str::to_owned),
        ..LaunchOptions::default()
    };
    let mut browser = Browser::launch_with(options).await?;
    browser.goto(&format!("{base}/#/login")).await?;
    browser.find(&tid("page-login")).await?;
    browser.set_timeout(WAIT);
    Ok(browser)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_behind_a_nat_watches_live_through_turn_over_udp_tcp_and_tls() -> Result<()> {
    let lab = NatLab::create()?;
    // The viewer's UDP never reaches the server directly.
    lab.block_udp_to(lab.server_ip)?;
    let coturn = Coturn::start(&CoturnConfig {
        ip: lab.turn_ip,
        peer: lab.server_ip,
        secret: SECRET.into(),
    })?;
    // TURN over TCP and the web app reach the viewer through relays that can add a delay,
    // for kernels without `tc netem` (they pass bytes on at once until told otherwise).
    let turn_tcp =
        DelayRelay::start((lab.turn_ip, 0).into(), (coturn.ip, coturn.port).into()).await?;
    let server_ip = lab.server_ip;
    let turn_urls = vec![
        format!("turn:{}:{}?transport=udp", coturn.ip, coturn.port),
        format!("turn:{}?transport=tcp", turn_tcp.addr),
        format!("turns:{}:{}?transport=tcp", coturn.ip, coturn.tls_port),
    ];
    let app = TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
        c.server.listen = (server_ip, 0).into();
        c.webrtc.ips = vec![server_ip.into()];
        c.webrtc.stun_urls = vec![format!("stun:{}:{}", coturn.ip, coturn.port)];
        c.webrtc.turn_urls = turn_urls;
        c.webrtc.turn_secret = Some(Secret::new(SECRET));
    })
    .await;
    let web = DelayRelay::start((server_ip, 0).into(), app.running().addr).await?;
    let viewer_base = format!("http://{}", web.addr);
    let email = "nat-viewer@example.com";
    let (_token, creds, cam, _stop) = recording_camera(&app, email).await;
    cam.wait_for("a second is sent", WAIT, |s| s.sent_live_ms >= 1_000).await?;
    until_live(&app, &creds.uid).await;

    // The same server, watched from its own namespace: the direct path.
    let direct = browser_in(None, &app.base_url).await?;
    log_in_watching_csp(&direct, email).await?;
    let loopback = watch(&direct, &app.base_url, &creds.uid).await?;
    report("loopback (direct)", &loopback);
    ensure!(loopback.pair["local"] != json!("relay"), "direct, not relayed: {}", loopback.pair);
    direct.close().await?;

    // Behind the NAT, without direct UDP to the server: relayed by TURN over UDP.
    let viewer = browser_in(Some(&lab.viewer_ns), &viewer_base).await?;
    log_in_watching_csp(&viewer, email).await?;
    let coturn_log = || format!("coturn's log:\n{}", coturn.log());
    let udp = watch(&viewer, &viewer_base, &creds.uid).await.with_context(coturn_log)?;
    report("behind a NAT, no direct UDP to the server, TURN over UDP", &udp);
    ensure!(udp.pair["local"] == json!("relay"), "the browser relays: {}", udp.pair);
    ensure!(udp.pair["relayProtocol"] == json!("udp"), "over UDP: {}", udp.pair);
    ensure!(udp.pair["remoteAddress"] == json!(server_ip.to_string()), "{}", udp.pair);

    // No UDP gets out at all: only a TURN relay over TCP connects.
    lab.block_udp()?;
    let nat = watch(&viewer, &viewer_base, &creds.uid).await.with_context(coturn_log)?;
    report("behind a NAT dropping UDP, TURN over TCP", &nat);
    ensure!(nat.pair["local"] == json!("relay"), "the browser relays: {}", nat.pair);
    ensure!(nat.pair["relayProtocol"] == json!("tcp"), "over TCP: {}", nat.pair);
    ensure!(nat.pair["remoteAddress"] == json!(server_ip.to_string()), "{}", nat.pair);

    // The same through a slow, lossy network (100 ms round trip, 1 % loss towards the
    // viewer): a fresh session.
    let how = if lab.has_netem() {
        lab.netem(50, 1.0)?;
        "tc netem"
    } else {
        turn_tcp.set_delay(Duration::from_millis(50));
        web.set_delay(Duration::from_millis(50));
        lab.lose_towards_viewer(1.0)?;
        "no netem in this kernel: 50 ms each way in the TCP relays, iptables random loss"
    };
    let slow = watch(&viewer, &viewer_base, &creds.uid).await.with_context(coturn_log)?;
    report(&format!("the same, 100 ms RTT and 1 % loss ({how})"), &slow);
    ensure!(slow.pair["local"] == json!("relay"), "the browser relays: {}", slow.pair);
    lab.clear_netem()?;

    // Only TLS gets out (TURN over TCP is blocked too): relayed by TURN over TLS.
    lab.block_tcp_to(turn_tcp.addr)?;
    let tls = watch(&viewer, &viewer_base, &creds.uid).await.with_context(coturn_log)?;
    report("behind a NAT letting only TLS out, TURN over TLS", &tls);
    ensure!(tls.pair["local"] == json!("relay"), "the browser relays: {}", tls.pair);
    ensure!(tls.pair["relayProtocol"] == json!("tls"), "over TLS: {}", tls.pair);
    let blocked: Value = viewer.execute("return window.cspViolations;", &[]).await?;
    ensure!(blocked == json!([]), "nothing was blocked by the CSP: {blocked}");
    viewer.close().await?;
    Ok(())
}

/// A server on the lab's server address, adjusted by `ice_tcp`, with a camera streaming live
/// to `email`'s account: the app, the camera's uid and what keeps the camera running.
async fn nat_app(lab: &NatLab, ice_tcp: bool, email: &str) -> Result<(TestApp, String, Shutdown)> {
    let server_ip = lab.server_ip;
    let app = TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
        c.server.listen = (server_ip, 0).into();
        c.webrtc.ips = vec![server_ip.into()];
        c.webrtc.ice_tcp = ice_tcp;
    })
    .await;
    let (_token, creds, cam, stop) = recording_camera(&app, email).await;
    cam.wait_for("a second is sent", WAIT, |s| s.sent_live_ms >= 1_000).await?;
    until_live(&app, &creds.uid).await;
    Ok((app, creds.uid, stop))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ice_tcp_a_viewer_whose_udp_is_blocked_connects_over_tcp_without_turn() -> Result<()> {
    let lab = NatLab::create()?;
    lab.block_udp()?;
    let email = "nat-ice-tcp@example.com";
    let (app, uid, _stop) = nat_app(&lab, true, email).await?;
    let viewer = browser_in(Some(&lab.viewer_ns), &app.base_url).await?;
    log_in_watching_csp(&viewer, email).await?;
    let tcp = watch(&viewer, &app.base_url, &uid).await?;
    report("behind a NAT dropping UDP, no TURN, ICE-TCP", &tcp);
    ensure!(tcp.pair["protocol"] == json!("tcp"), "over TCP: {}", tcp.pair);
    ensure!(tcp.pair["local"] != json!("relay"), "not relayed: {}", tcp.pair);
    ensure!(tcp.pair["remoteAddress"] == json!(lab.server_ip.to_string()), "{}", tcp.pair);
    viewer.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_turn_a_viewer_behind_the_nat_falls_back_to_the_websocket_once_ice_fails()
-> Result<()> {
    let lab = NatLab::create()?;
    lab.block_udp()?;
    let email = "nat-fallback@example.com";
    let (app, uid, _stop) = nat_app(&lab, false, email).await?;
    let mut viewer = browser_in(Some(&lab.viewer_ns), &app.base_url).await?;
    log_in_watching_csp(&viewer, email).await?;
    viewer.goto(&format!("{}/#/devices/{uid}", app.base_url)).await?;
    viewer.execute(KEEP_PCS, &[]).await?;
    let started = Instant::now();
    viewer.click(&tid("device-live")).await?;
    viewer.set_timeout(Duration::from_secs(45));
    let transport = viewer
        .wait_until(
            "the page to play live",
            "const v = document.querySelector('[data-testid=live-video]');
             const s = document.querySelector('[data-testid=live-status]');
             return s && s.dataset.state === 'live' && v.dataset.transport ? v.dataset.transport : null;",
            &[],
        )
        .await?;
    ensure!(transport == json!("mse"), "ICE cannot connect, so the WebSocket plays: {transport}");
    eprintln!(
        "webrtc nat: no TURN, UDP dropped: the WebSocket plays {} ms after the click",
        started.elapsed().as_millis()
    );
    let tried: Value = viewer.execute("return window.__pcs.length;", &[]).await?;
    ensure!(tried.as_u64() >= Some(1), "WebRTC was tried first: {tried}");
    viewer.close().await?;
    Ok(())
}
