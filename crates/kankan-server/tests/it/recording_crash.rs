//! Power cut: the `kankan` binary is killed with SIGKILL while ten cameras record. After a
//! restart every stored segment decodes, the loss per stream is reported (and bounded by the
//! second since the last disk sync), and the cameras' SD-card backfill leaves no gap.

use std::time::Duration;

use kankan_base::Shutdown;
use kankan_sim::video::{self, VideoHandle};
use kankan_testkit::{ServerProcess, TestApp, http_client};
use serde_json::Value;

use crate::devices::{Creds, PW, bind, provision};
use crate::recording::small_video;

const CAMERAS: usize = 10;
const WAIT: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The binary on `data` and the database the setup server used (SQLite in `data`, or the test
/// run's PostgreSQL database).
async fn start(data: &std::path::Path, db: &str, port: u16) -> ServerProcess {
    let listen = format!("127.0.0.1:{port}");
    let env = [
        ("KANKAN__SERVER__LISTEN", listen.as_str()),
        ("KANKAN__RECORDING__SEGMENT_SECS", "4"),
        ("KANKAN__DATABASE__URL", db),
    ];
    ServerProcess::start(env!("CARGO_BIN_EXE_kankan").as_ref(), data, &env)
        .await
        .expect("kankan starts")
}

/// Recorded spans of a camera as the server answers now.
async fn spans(base: &str, token: &str, uid: &str) -> Vec<(i64, i64)> {
    let now = kankan_base::Clock::now(&kankan_base::RealClock).0;
    let url = format!(
        "{base}/api/v1/devices/{uid}/recordings/timeline?from={}&to={}",
        now - 3_600_000,
        now + 60_000
    );
    let r = http_client().get(url).bearer_auth(token).send().await.expect("timeline");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    v["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .map(|s| (s["start_ms"].as_i64().unwrap_or(0), s["end_ms"].as_i64().unwrap_or(0)))
        .collect()
}

#[tokio::test]
async fn kill_9_during_ten_recordings_corrupts_nothing_and_loses_at_most_the_last_second() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    // Accounts and bindings through the in-process server, on the same data directory.
    let setup = TestApp::spawn_with(|c| c.data_dir = data.clone()).await;
    let token = setup.register("crash@example.com", PW).await;
    let mut cams: Vec<Creds> = Vec::new();
    for _ in 0..CAMERAS {
        let creds = provision(&setup, "KK-C1").await;
        let _mqtt = bind(&setup, &token, &creds).await;
        cams.push(creds);
    }
    let db = setup.config.database_url();
    setup.stop().await;

    let port = free_port();
    let mut server = start(&data, &db, port).await;
    let (stop, signal) = Shutdown::new();
    let handles: Vec<VideoHandle> = cams
        .iter()
        .map(|c| {
            let mut v = small_video(&server.base_url, c);
            v.prerecorded = true;
            video::start(v, signal.clone()).expect("camera")
        })
        .collect();
    for h in &handles {
        h.wait_for("six seconds are sent", WAIT, |s| s.sent_live_ms >= 6_000).await.expect("live");
    }
    let sent: Vec<i64> =
        handles.iter().map(|h| h.status().last_sent_end_ms.expect("sent")).collect();
    server.kill().expect("SIGKILL");
    // Keep the cameras away from the restarted server until the loss is measured.
    for h in &handles {
        h.set_uplink(false);
    }
    let journals = std::fs::read_dir(data.join("journal")).expect("journal").count();
    assert!(journals >= 1, "segments were in progress at the kill");

    let server = start(&data, &db, port).await;
    assert!(
        server.log().contains("recordings recovered"),
        "start-up recovered the journals:\n{}",
        server.log()
    );
    let mut losses = Vec::new();
    for (c, sent_end) in cams.iter().zip(&sent) {
        let s = spans(&server.base_url, &token, &c.uid).await;
        let end = s.last().map(|x| x.1).unwrap_or(0);
        losses.push(sent_end - end);
    }
    eprintln!("loss per stream at the kill (ms, sent but not stored): {losses:?}");
    for l in &losses {
        assert!(*l <= 2_000, "at most the second since the last sync is lost: {losses:?}");
    }
    // The cameras' network is back: their SD cards fill what the crash and the restart missed.
    for h in &handles {
        h.set_uplink(true);
    }
    for h in &handles {
        h.wait_for("the outage is uploaded", WAIT, |s| s.live && s.backfills >= 1)
            .await
            .expect("backfill");
    }
    stop.trigger();
    let client = http_client();
    for c in &cams {
        let deadline = tokio::time::Instant::now() + WAIT;
        let s = loop {
            let s = spans(&server.base_url, &token, &c.uid).await;
            if s.len() == 1 || tokio::time::Instant::now() > deadline {
                break s;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        assert_eq!(s.len(), 1, "{}: no gap after the backfill: {s:?}", c.uid);
        let (from, to) = s[0];
        let r = client
            .post(format!("{}/api/v1/devices/{}/recordings/link", server.base_url, c.uid))
            .json(&serde_json::json!({"purpose": "playback"}))
            .bearer_auth(&token)
            .send()
            .await
            .expect("link");
        let l: Value = r.json().await.expect("json");
        let (lt, base) = (l["token"].as_str().expect("t"), l["media_base"].as_str().expect("b"));
        let url = format!("{}{base}/playlist.m3u8?from={from}&to={to}&t={lt}", server.base_url);
        let list = client.get(url).send().await.expect("playlist").text().await.expect("text");
        let mut init = Vec::new();
        let dir = tempfile::tempdir().expect("tmp");
        for line in list.lines() {
            let uri = match line.strip_prefix("#EXT-X-MAP:URI=\"") {
                Some(u) => u.trim_end_matches('"'),
                None if line.starts_with("seg/") => line,
                None => continue,
            };
            let bytes = client
                .get(format!("{}{base}/{uri}", server.base_url))
                .send()
                .await
                .expect("get")
                .bytes()
                .await
                .expect("bytes");
            if uri.starts_with("init/") {
                init = bytes.to_vec();
                continue;
            }
            let file = dir.path().join("seg.mp4");
            std::fs::write(&file, [init.as_slice(), &bytes].concat()).expect("write");
            let (codec, frames, _) = crate::recording::probe(&file);
            assert_eq!(codec, "h264");
            assert!(frames > 0, "{}: {uri} decodes", c.uid);
        }
    }
}
