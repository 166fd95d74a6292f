//! Three `kankan serve` nodes behind nginx (the repository's deploy/nginx/kankan.conf), sharing
//! one PostgreSQL database, one S3 bucket (moto) and one Mosquitto broker, all real processes on
//! loopback; `kankan-cam` cameras record through the proxy. Then one node is killed with
//! SIGKILL. The figures it prints are recorded in docs/deploy.md.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt as _;
use kankan_base::Shutdown;
use kankan_media::{Limits, StreamItem, StreamParser};
use kankan_sim::pairing::{Source, read_and_join};
use kankan_sim::video::{self, VideoHandle};
use kankan_sim::{ClaimOutcome, Device, DeviceConfig};
use kankan_testkit::ServerProcess;
use kankan_testkit::cluster::{Shared, start_node};
use kankan_testkit::engines::{Mosquitto, Nginx, Postgres, free_port};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::devices::{Creds, PW};
use crate::recording::small_video;

/// How long anything here may take; the bound a camera's recording must be back within.
const WAIT: Duration = Duration::from_secs(60);
const NODES: usize = 3;
/// Segments are cut every 2 s, so a lost one shows; uploads end every 5 s, so cameras come
/// back to a node that returns; an on-demand stream stops 2 s after its last viewer; 6 logins
/// a minute per client network.
const NODE_EXTRA: &str = "[recording]\nsegment_secs = 2\nmax_clock_skew_secs = 3600\n\
                          live_upload_max_secs = 5\nlive_grace_secs = 2\n\
                          [limits]\nlogin_per_ip = { count = 6, per_secs = 60 }\n";

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kankan"))
}

struct Deployment {
    root: tempfile::TempDir,
    shared: Shared,
    nodes: Vec<Option<ServerProcess>>,
    nginx: Nginx,
    broker: Mosquitto,
    _s3: kankan_blobs::testing::S3Server,
    http: reqwest::Client,
    _pg: Option<Postgres>,
}

impl Deployment {
    async fn start() -> Deployment {
        // The test's PostgreSQL server when one is given (scripts/test's second stage), else
        // a cluster of its own.
        let (pg, admin) = match std::env::var("KANKAN_TEST_PG_URL") {
            Ok(url) => (None, url),
            Err(_) => {
                let pg = Postgres::start().expect("PostgreSQL");
                let url = pg.url.clone();
                (Some(pg), url)
            }
        };
        let database_url =
            kankan_db::testing::fresh_postgres_database(&admin).await.expect("a database");
        let broker = Mosquitto::start().expect("Mosquitto");
        let s3 = kankan_blobs::testing::S3Server::start().await.expect("an S3 server");
        let root = tempfile::tempdir().expect("tmp");
        let port = free_port().expect("a port");
        let shared = Shared {
            database_url,
            broker: broker.addr,
            master_key_file: root.path().join("master.key"),
            blobs: s3.bucket("cluster").await.expect("a bucket"),
            public_url: format!("http://127.0.0.1:{port}"),
        };
        let mut nodes = Vec::new();
        // The first migrates the database and writes the master key the others load.
        for n in 1..=NODES {
            let node = start_node(&bin(), root.path(), n, &shared, NODE_EXTRA).await;
            nodes.push(Some(node.expect("a node starts")));
        }
        let addrs: Vec<SocketAddr> = nodes.iter().flatten().map(ServerProcess::addr).collect();
        let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx/kankan.conf");
        let nginx = Nginx::start(&site, port, &addrs).expect("nginx");
        let http = reqwest::Client::new();
        Deployment { root, shared, nodes, nginx, broker, _s3: s3, http, _pg: pg }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.nginx.url())
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.send().await.expect("the proxy answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Every message any node's development outbox holds.
    fn outbox(&self) -> Vec<kankan_testkit::OutboxEntry> {
        (1..=NODES)
            .flat_map(|n| {
                let dir = self.root.path().join(format!("node-{n}"));
                kankan_testkit::read_outbox(&dir.join("outbox.log"))
            })
            .collect()
    }

    async fn register(&self, who: &str) -> String {
        let body = json!({"identifier": who, "password": PW, "accept_policy": "1"});
        let (s, b) = self.send(self.http.post(self.url("/api/v1/auth/register")).json(&body)).await;
        assert_eq!(s, 202, "{b}");
        let code = poll("the code", || {
            let codes: Vec<String> = self
                .outbox()
                .iter()
                .filter(|e| e.subject.contains("code") || e.code().is_some())
                .filter_map(kankan_testkit::OutboxEntry::code)
                .collect();
            async move { codes.last().cloned() }
        })
        .await;
        let body = json!({"identifier": who, "code": code});
        let (s, b) =
            self.send(self.http.post(self.url("/api/v1/auth/register/verify")).json(&body)).await;
        assert_eq!(s, 200, "{b}");
        b["token"].as_str().expect("token").to_string()
    }

    /// Provisions `count` cameras through `kankan admin` on node 1's configuration.
    fn provision(&self, count: u32) -> Vec<Creds> {
        let out = self.root.path().join("factory.csv");
        let conf = self.root.path().join("node-1.toml");
        let data = self.root.path().join("admin");
        let (code, stdout, stderr) = kankan_testkit::run_cli(
            &bin(),
            &["--config", &conf.to_string_lossy(), "admin", "devices", "provision"]
                .into_iter()
                .chain(["--model", "KK-C1", "--count", &count.to_string()])
                .chain(["--out", &out.to_string_lossy()])
                .collect::<Vec<_>>(),
            &[("KANKAN__DATA_DIR", &data.to_string_lossy())],
            None,
        )
        .expect("kankan admin");
        assert_eq!(code, 0, "{stdout}{stderr}");
        let csv = std::fs::read_to_string(out).expect("the factory file");
        csv.lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                Creds { uid: f[0].into(), model: f[1].into(), secret: f[2].into() }
            })
            .collect()
    }

    /// Pairs `creds` from the QR image the API hands out (through the proxy), runs it as
    /// firmware on the broker, and starts its video through the proxy: continuous, or only
    /// between the server's `stream-start` and `stream-stop` (`on_demand`).
    async fn camera(
        &self,
        token: &str,
        creds: &Creds,
        on_demand: bool,
    ) -> (VideoHandle, Shutdown, tempfile::TempDir) {
        let body =
            json!({"uid": creds.uid, "ssid": "Home WiFi", "wifi_password": "wifi-secret-99"});
        let req = self.http.post(self.url("/api/v1/devices/pairings")).bearer_auth(token);
        let (s, b) = self.send(req.json(&body)).await;
        assert_eq!(s, 201, "{b}");
        let dir = tempfile::tempdir().expect("tmp");
        let png = STANDARD.decode(b["qr_png_base64"].as_str().expect("qr")).expect("base64");
        let file = dir.path().join("pairing.png");
        std::fs::write(&file, png).expect("write");
        let joined = read_and_join(Source::Qr(&file), &creds.secret).expect("the QR code reads");
        let state = dir.path().join("state");
        let mut cfg = DeviceConfig::new(&creds.uid, &creds.secret, state.clone());
        cfg.pairing = Some(joined);
        cfg.model = Some(creds.model.clone());
        cfg.timings.backoff.base = Duration::from_millis(50);
        cfg.timings.backoff.cap = Duration::from_millis(500);
        let (media, commands) = tokio::sync::mpsc::unbounded_channel();
        let device = Device::new(cfg).expect("device").with_media(media);
        let handle = device.handle();
        let (stop, signal) = Shutdown::new();
        tokio::spawn(device.run(signal.clone()));
        handle
            .wait_for("the claim is accepted", WAIT, |s| s.claim == Some(ClaimOutcome::Accepted))
            .await
            .expect("claimed through some node");
        let mut v = small_video(&self.nginx.url(), creds);
        v.secret_from = Some(state);
        v.on_demand = on_demand;
        let cam = video::start(v, signal).expect("the camera records");
        tokio::spawn(kankan_sim::media::serve(commands, cam.clone()));
        (cam, stop, dir)
    }

    async fn timeline(&self, token: &str, uid: &str) -> Value {
        let now = now_ms();
        let (from, to) = (now - 3_600_000, now + 3_600_000);
        let path = format!("/api/v1/devices/{uid}/recordings/timeline?from={from}&to={to}");
        let (s, b) = self.send(self.http.get(self.url(&path)).bearer_auth(token)).await;
        assert_eq!(s, 200, "{b}");
        b
    }

    /// Milliseconds of gaps (over 1 s) between the segments recorded in `window`, read from
    /// the HLS playlist of a playback link.
    async fn gaps(&self, token: &str, uid: &str, window: (i64, i64)) -> i64 {
        let req = self.http.post(self.url(&format!("/api/v1/devices/{uid}/recordings/link")));
        let (s, b) = self.send(req.json(&json!({"purpose": "playback"})).bearer_auth(token)).await;
        assert_eq!(s, 200, "{b}");
        let base = b["media_base"].as_str().expect("base").to_string();
        let base = base.strip_prefix(&self.shared.public_url).unwrap_or(&base).to_string();
        let (from, to, t) = (window.0, window.1, b["token"].as_str().expect("token"));
        let url = self.url(&format!("{base}/playlist.m3u8?from={from}&to={to}&t={t}"));
        let text = self.http.get(url).send().await.expect("playlist").text().await.expect("text");
        playlist_gaps(&text)
    }

    /// The node that opened the latest ingest of `uid` (its log says so).
    fn recording_node(&self, uid: &str) -> Option<usize> {
        self.nodes.iter().enumerate().find_map(|(i, n)| {
            let n = n.as_ref()?;
            let opened = n.log().lines().any(|l| l.contains("ingest opened") && l.contains(uid));
            opened.then_some(i)
        })
    }

    /// A live link's WebSocket URL, through the proxy.
    async fn live_url(&self, token: &str, uid: &str) -> String {
        let req = self.http.post(self.url(&format!("/api/v1/devices/{uid}/recordings/link")));
        let (s, b) = self.send(req.json(&json!({"purpose": "live"})).bearer_auth(token)).await;
        assert_eq!(s, 200, "{b}");
        let base = b["media_base"].as_str().expect("base").to_string();
        let base = base.strip_prefix(&self.shared.public_url).unwrap_or(&base).to_string();
        let t = b["token"].as_str().expect("token");
        self.url(&format!("{base}/live?t={t}")).replacen("http://", "ws://", 1)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("now").as_millis()
        as i64
}

/// Polls `f` until it answers, for at most [`WAIT`].
async fn poll<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The recorded spans of a timeline as (start, end) ms.
fn spans(t: &Value) -> Vec<(i64, i64)> {
    let spans = t["spans"].as_array().expect("spans");
    spans
        .iter()
        .map(|s| (s["start_ms"].as_i64().unwrap_or(0), s["end_ms"].as_i64().unwrap_or(0)))
        .collect()
}

/// Milliseconds of video missing between `from` and `to` (gaps between the spans there).
fn missing_ms(spans: &[(i64, i64)], from: i64, to: i64) -> i64 {
    let covered: i64 = spans.iter().map(|&(s, e)| (e.min(to) - s.max(from)).max(0)).sum();
    (to - from) - covered
}

/// The gaps a playlist marks (a program date-time after a gap over 1 s), in ms.
fn playlist_gaps(text: &str) -> i64 {
    let (mut cursor, mut gaps) = (None::<i64>, 0);
    for line in text.lines() {
        if let Some(at) = line.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
            let at: jiff::Timestamp = at.parse().expect("an RFC 3339 time");
            let at = at.as_millisecond();
            if let Some(c) = cursor {
                gaps += (at - c).max(0);
            }
            cursor = Some(at);
        } else if let Some(d) = line.strip_prefix("#EXTINF:") {
            let secs: f64 = d.trim_end_matches(',').parse().expect("a duration");
            cursor = cursor.map(|c| c + (secs * 1000.0).round() as i64);
        }
    }
    gaps
}

#[test]
fn gaps_are_read_from_the_playlist_s_date_times() {
    let text = "#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n#EXTINF:2.000,\nseg/a\n\
                #EXTINF:2.000,\nseg/b\n#EXT-X-DISCONTINUITY\n\
                #EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:05.500Z\n#EXTINF:2.000,\nseg/c\n";
    assert_eq!(playlist_gaps(text), 1_500);
}

/// Reads a live WebSocket until its first keyframe.
async fn first_picture(url: &str) -> Result<(), String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| e.to_string())?;
    let mut parser = StreamParser::new(Limits::default());
    let mut init = None;
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .map_err(|_| "no picture in 10 s".to_string())?
            .ok_or("closed")?
            .map_err(|e| e.to_string())?;
        let Message::Binary(bytes) = msg else { continue };
        for item in parser.push(&bytes).map_err(|e| e.to_string())? {
            match item {
                StreamItem::Init(i) => init = Some(i),
                StreamItem::Fragment(f)
                    if init.as_ref().is_some_and(|i| f.starts_with_keyframe(i)) =>
                {
                    return Ok(());
                }
                StreamItem::Fragment(_) => {}
            }
        }
    }
}

/// An open event stream on one node, read as text.
struct Sse(reqwest::Response, String);

impl Sse {
    async fn open(http: &reqwest::Client, base: &str, token: &str) -> Sse {
        let resp = http.get(format!("{base}/api/v1/events/stream")).bearer_auth(token).send();
        let resp = resp.await.expect("stream");
        assert_eq!(resp.status().as_u16(), 200);
        Sse(resp, String::new())
    }

    /// Reads until an `event` message about `uid`.
    async fn event_of(&mut self, uid: &str) -> Value {
        loop {
            while let Some(end) = self.1.find("\n\n") {
                let block: String = self.1.drain(..end + 2).collect();
                if !block.lines().any(|l| l.trim() == "event: event" || l.trim() == "event:event") {
                    continue;
                }
                let data: String =
                    block.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).collect();
                let v: Value = serde_json::from_str(&data).expect("JSON");
                if v["device"] == uid {
                    return v;
                }
            }
            let chunk = tokio::time::timeout(WAIT, self.0.chunk()).await.expect("an event in time");
            let chunk = chunk.expect("readable").expect("open");
            self.1.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_behind_nginx_share_work_and_survive_losing_one() {
    let started = Instant::now();
    let mut d = Deployment::start().await;
    eprintln!("deployment up in {} ms", started.elapsed().as_millis());
    let token = d.register("cluster@example.com").await;
    // Notifications by e-mail: each event's one delivery lands in some node's outbox.
    let prefs = json!({"method": "email", "quiet_hours": null, "time_zone": "UTC"});
    let req = d.http.put(d.url("/api/v1/me/notification-settings")).bearer_auth(&token);
    assert_eq!(d.send(req.json(&prefs)).await.0, 200);

    // The login throttle holds across the nodes: 3 tries on each of the 3 nodes (directly,
    // from one client network, as the trusted proxy names it), 6 answered, the rest refused.
    let mut answers = Vec::new();
    for n in d.nodes.iter().flatten() {
        for k in 0..3 {
            let body = json!({"identifier": format!("nobody{k}@example.com"), "password": "wrong password 1"});
            let req = d.http.post(format!("{}/api/v1/auth/login", n.base_url));
            let req = req.header("X-Forwarded-For", "203.0.113.7").json(&body);
            answers.push(d.send(req).await.0);
        }
    }
    let refused = answers.iter().filter(|s| **s == 429).count();
    assert_eq!((answers.len() - refused, refused), (6, 3), "one limit for all nodes: {answers:?}");

    let all = d.provision(3);
    // Two cameras record continuously, the third streams on demand.
    let (creds, on_demand) = (&all[..2], &all[2]);
    let mut cams = Vec::new();
    for c in creds {
        cams.push(d.camera(&token, c, false).await);
    }
    let (od_cam, _od_stop, _od_dir) = d.camera(&token, on_demand, true).await;
    let (dr, tok) = (&d, token.as_str());
    for c in creds {
        let uid = c.uid.as_str();
        poll("both cameras record", || async move {
            let t = dr.timeline(tok, uid).await;
            (missing_ms(&spans(&t), now_ms() - 3_600_000, now_ms()) < 3_600_000 - 4_000)
                .then_some(())
        })
        .await;
    }
    let recorded_from = now_ms();
    let homes: Vec<usize> =
        creds.iter().map(|c| d.recording_node(&c.uid).expect("a node records it")).collect();
    eprintln!("cameras recorded by nodes {homes:?} (0-based)");

    // Commands answer with the device's acknowledgement, whichever node the broker gives it to
    // (the shared subscription spreads them; the node that sent the command waits for it).
    let mut took = Vec::new();
    for slot in 1..=6 {
        let path = format!("/api/v1/devices/{}/commands", creds[0].uid);
        let req = d.http.post(d.url(&path)).bearer_auth(&token);
        let t0 = Instant::now();
        let (s, b) = d.send(req.json(&json!({"name": "preset-save", "slot": slot}))).await;
        took.push(t0.elapsed().as_millis());
        assert_eq!((s, b["status"].as_str()), (200, Some("succeeded")), "{b}");
    }
    eprintln!("commands acknowledged in (ms): {took:?}");

    // A viewer through the proxy reaches the node that holds the camera's live stream.
    let watched = &creds[0];
    let t0 = Instant::now();
    first_picture(&d.live_url(&token, &watched.uid).await).await.expect("a live picture");
    eprintln!("live through the proxy: first picture in {} ms", t0.elapsed().as_millis());

    // A user's stream on every node gets an event one node recorded (the broker hands each
    // device message to one node of the shared subscription).
    let mut streams = Vec::new();
    for n in d.nodes.iter().flatten() {
        streams.push(Sse::open(&d.http, &n.base_url, &token).await);
    }
    let at = now_ms();
    let ev =
        json!({"type": "motion", "phase": "start", "at_ms": at, "started_ms": at, "zone": null});
    let t0 = Instant::now();
    let status = std::process::Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &d.broker.addr.port().to_string()])
        .args(["-i", "cluster-test", "-q", "1", "-t", &format!("kk/v1/{}/event", watched.uid)])
        .args(["-m", &ev.to_string()])
        .status()
        .expect("mosquitto_pub (Debian's mosquitto-clients)");
    assert!(status.success());
    let mut ids = Vec::new();
    for s in &mut streams {
        ids.push(s.event_of(&watched.uid).await["id"].clone());
    }
    eprintln!("the event reached all {NODES} nodes' streams in {} ms", t0.elapsed().as_millis());
    assert!(ids.iter().all(|i| *i == ids[0]), "one event everywhere: {ids:?}");
    // The on-demand camera starts for a viewer through the proxy (the viewer's node sends
    // `stream-start` through the broker; the camera's upload routes to that same node by its
    // UID) and stops after the viewer left, from the node that started it.
    assert_eq!(od_cam.status().connections, 0, "no upload before a viewer asks");
    let t0 = Instant::now();
    first_picture(&d.live_url(&token, &on_demand.uid).await).await.expect("an on-demand picture");
    eprintln!(
        "on-demand camera through the proxy: first picture in {} ms",
        t0.elapsed().as_millis()
    );
    od_cam
        .wait_for("stopped after its viewer left", WAIT, |s| !s.live && s.connections >= 1)
        .await
        .expect("stream-stop");
    let emails = |d: &Deployment| {
        let about = |e: &kankan_testkit::OutboxEntry| {
            e.code().is_none()
                && (e.subject.contains(&watched.uid) || e.body.contains(&watched.uid))
        };
        d.outbox().iter().filter(|e| about(e)).count()
    };

    eprintln!("{} ms: killing a node", started.elapsed().as_millis());
    // Kill the node recording the watched camera.
    let victim = homes[0];
    let mut dead = d.nodes[victim].take().expect("running");
    let killed_at = now_ms();
    let t_kill = Instant::now();
    dead.kill().expect("SIGKILL");
    let dr = &d;

    // Its cameras' uploads go to the next node on nginx's ring.
    let mut back = Vec::new();
    for c in creds {
        let uid = c.uid.as_str();
        poll("recording resumes", || async move {
            let t = dr.timeline(tok, uid).await;
            spans(&t).iter().any(|&(_, e)| e > killed_at + 2_000).then_some(())
        })
        .await;
        back.push(t_kill.elapsed().as_millis());
    }
    eprintln!("recording back after the kill (ms, per camera): {back:?}");
    let t0 = Instant::now();
    let wuid = watched.uid.as_str();
    poll("the viewer reconnects", || async move {
        first_picture(&dr.live_url(tok, wuid).await).await.ok()
    })
    .await;
    eprintln!("live viewer back {} ms after reconnecting", t0.elapsed().as_millis());

    // What the recording lost around the kill, per camera, once it reaches past the window:
    // the gaps between its segments (over 1 s: the playlist marks those).
    let window = (killed_at - 3_000, killed_at + 8_000);
    let mut lost = Vec::new();
    for c in creds {
        let uid = c.uid.as_str();
        poll("the timeline passes the window", || async move {
            let t = dr.timeline(tok, uid).await;
            spans(&t).iter().any(|&(_, e)| e >= window.1).then_some(())
        })
        .await;
        lost.push(d.gaps(&token, uid, window).await);
    }
    eprintln!("gaps around the kill before the node returns (ms, per camera): {lost:?}");

    // The killed node comes back on its own data directory: its start-up recovery seals the
    // segment it was writing (every fragment it acknowledged) into the shared store.
    let n = victim + 1;
    let conf = d.root.path().join(format!("node-{n}.toml"));
    let node_dir = d.root.path().join(format!("node-{n}"));
    // On its own address: the one nginx knows.
    let addr = dead.addr().to_string();
    let listen = [("KANKAN__SERVER__LISTEN", addr.as_str())];
    let again =
        ServerProcess::start_node(&bin(), &node_dir, &conf, &listen).await.expect("restart");
    let mut after = Vec::new();
    for c in creds {
        after.push(d.gaps(&token, &c.uid, window).await);
    }
    eprintln!("gaps around the kill after its recovery (ms, per camera): {after:?}");
    for (a, b) in after.iter().zip(&lost) {
        assert!(a <= b, "recovery only adds footage: {after:?} vs {lost:?}");
    }

    eprintln!("{} ms: node restarted", started.elapsed().as_millis());
    // The watched camera's upload ends within 5 s and comes back through nginx to the node
    // its UID routes to again; a viewer arriving now is served there.
    let t0 = Instant::now();
    let ag = &again;
    let rehomed = move || async move {
        let log = ag.log();
        log.lines().any(|l| l.contains("ingest opened") && l.contains(wuid)).then_some(())
    };
    poll("the camera's upload returns to its node", rehomed).await;
    eprintln!("the camera's upload back on the returned node in {} ms", t0.elapsed().as_millis());
    let t0 = Instant::now();
    poll("a viewer on the returned node", || async move {
        first_picture(&dr.live_url(tok, wuid).await).await.ok()
    })
    .await;
    eprintln!("a viewer arriving then: first picture in {} ms", t0.elapsed().as_millis());
    // Over the whole run (the kill, the return, uploads ended every 5 s): no gap over 1 s.
    let whole = (recorded_from, now_ms() - 3_000);
    let mut gaps = Vec::new();
    for c in creds {
        gaps.push(d.gaps(&token, &c.uid, whole).await);
    }
    eprintln!(
        "gaps over the whole {} s run (ms, per camera): {gaps:?}",
        (whole.1 - whole.0) / 1000
    );
    assert!(gaps.iter().all(|g| *g == 0), "nothing lost: {gaps:?}");
    // Each event's notification went out once, whichever node dispatched it.
    let sent = poll("the event's e-mail", || async { (emails(dr) > 0).then(|| emails(dr)) }).await;
    assert_eq!(sent, 1, "one delivery across {NODES} dispatchers");
    // And the one registration's code went out once across {NODES} job runners.
    let codes = d.outbox().iter().filter(|e| e.code().is_some()).count();
    assert_eq!(codes, 1, "one code for one registration");
    eprintln!("{} ms: done", started.elapsed().as_millis());
    drop((again, cams, dead));
}
