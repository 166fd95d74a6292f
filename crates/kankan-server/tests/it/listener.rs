//! The HTTP listener: slow clients are cut off and cannot keep others out; HTTPS with the
//! operator's certificate, reloaded when it changes; device links held to the pinned key.

use std::time::Duration;

use kankan_crypto::pairing::pairing_from_qr_text;
use kankan_crypto::tls::{Pin, self_signed};
use kankan_sim::{Device, DeviceConfig};
use kankan_testkit::{TestApp, https_client};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::devices::{PW, bind, provision, start_pairing};
use crate::recording_input::{basic, stream};

/// How long a bounded wait for an effect may take.
const WAIT: Duration = Duration::from_secs(30);

/// Reads until the peer closes (or errs); the bytes it sent.
async fn read_to_close(tcp: &mut tokio::net::tcp::OwnedReadHalf) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
    }
}

/// A client that sends its headers one byte at a time is closed once the header timeout
/// passes, however steadily it trickles.
///
/// Fails without the fix: `axum::serve` had no header timeout, and the connection stayed open
/// for as long as the bytes kept coming.
#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    let app = TestApp::spawn_with(|c| c.server.header_timeout_secs = 1).await;
    let tcp = TcpStream::connect(app.running().addr).await.expect("connect");
    let (mut rx, mut tx) = tcp.into_split();
    let trickle = tokio::spawn(async move {
        for b in b"GET /readyz HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter().chain([b'a'; 4096].iter()) {
            if tx.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let answer = tokio::time::timeout(WAIT, read_to_close(&mut rx))
        .await
        .expect("the server closes a slow-header connection");
    trickle.abort();
    let text = String::from_utf8_lossy(&answer);
    assert!(!text.contains("200 OK"), "no request was served: {text}");
}

/// 500 clients holding half-sent headers do not keep a normal login out.
///
/// Fails without the fix (with a connection cap and no header timeout, or a cap reached by
/// the slow clients): the login waited behind them.
#[tokio::test]
async fn five_hundred_slow_clients_do_not_keep_a_login_out() {
    let app = TestApp::spawn().await;
    app.register("steady@example.com", PW).await;
    let mut slow = Vec::new();
    for _ in 0..500 {
        let mut tcp = TcpStream::connect(app.running().addr).await.expect("connect");
        tcp.write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n").await.expect("write");
        slow.push(tcp);
    }
    let login =
        app.post("/api/v1/auth/login", json!({"identifier": "steady@example.com", "password": PW}));
    let (status, body) = tokio::time::timeout(Duration::from_secs(10), login)
        .await
        .expect("the login is answered while 500 slow clients are connected");
    assert_eq!(status, 200, "{body}");
    drop(slow);
}

/// A device sending its video one byte at a time is closed: progress is a complete media
/// fragment, not a byte. The footage before it stays.
///
/// Fails without the fix: any byte within 20 s counted as progress, so the upload (and the
/// connection) lasted forever.
#[tokio::test]
async fn an_ingest_trickling_one_byte_at_a_time_is_closed() {
    let app = TestApp::spawn().await;
    let token = app.register("trickle@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    drop(bind(&app, &token, &creds).await);
    let media = stream(3, 2_000);
    let tcp = TcpStream::connect(app.running().addr).await.expect("connect");
    let (mut rx, mut tx) = tcp.into_split();
    let head = format!(
        "POST /ingest/v1/{}/live HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        creds.uid,
        basic(&creds)
    );
    let writer = tokio::spawn(async move {
        tx.write_all(head.as_bytes()).await.expect("headers");
        // One byte a chunk, two a second: every chunk well within the old 20 s idle limit.
        for b in media {
            let mut bytes = b"1\r\n".to_vec();
            bytes.push(b);
            bytes.extend_from_slice(b"\r\n");
            if tx.write_all(&bytes).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let answer = tokio::time::timeout(Duration::from_secs(60), read_to_close(&mut rx))
        .await
        .expect("the trickling upload is closed");
    writer.abort();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("ingest-idle"), "{text}");
}

/// Writes a fresh key and self-signed certificate over `cert` and `key`; their pin.
fn write_identity(cert: &std::path::Path, key: &std::path::Path) -> Pin {
    let (cert_pem, key_pem) = self_signed(&[]).expect("identity");
    std::fs::write(key, key_pem).expect("key");
    std::fs::write(cert, &cert_pem).expect("cert");
    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("pem");
    Pin::of_cert(&der).expect("pin")
}

/// The server serves HTTPS itself with the operator's certificate and key, and serves a
/// renewed certificate on new connections without a restart.
///
/// Fails without the fix: the server could only serve plain HTTP.
#[tokio::test]
async fn https_with_the_operators_certificate_reloaded_when_it_changes() {
    let dir = tempfile::tempdir().expect("tmp");
    let (cert, key) = (dir.path().join("site.crt"), dir.path().join("site.key"));
    let first = write_identity(&cert, &key);
    let (c, k) = (cert.clone(), key.clone());
    let app = TestApp::spawn_with(move |cfg| {
        cfg.server.tls = true;
        cfg.tls.cert_file = Some(c);
        cfg.tls.key_file = Some(k);
    })
    .await;
    assert!(app.base_url.starts_with("https://"), "{}", app.base_url);
    assert_eq!(app.pin(), Some(first));
    let readyz = app.url("/readyz");
    assert_eq!(https_client(first).get(&readyz).send().await.expect("https").status(), 200);
    // Plain HTTP on the HTTPS port gets no answer.
    let plain = kankan_testkit::http_client().get(format!("http://{}/readyz", app.running().addr));
    assert!(plain.send().await.is_err(), "plain HTTP must not be served");

    // A renewed certificate (a new key, here) replaces the files: new connections get it.
    tokio::time::sleep(Duration::from_millis(20)).await; // a distinct modification time
    let second = write_identity(&cert, &key);
    assert_ne!(first, second);
    let served = https_client(second).get(&readyz).send().await.expect("the renewed certificate");
    assert_eq!(served.status(), 200);
    assert!(https_client(first).get(&readyz).send().await.is_err(), "the old key is gone");

    // A device holding another key refuses the server's HTTPS (ingest, talk) before sending
    // its secret.
    let wrong = kankan_sim::tls::http_client(&app.base_url, Some(Pin([0x5a; 32]))).expect("c");
    assert!(wrong.get(&readyz).send().await.is_err(), "a wrong pin must refuse");
}

/// A device whose pinned key is not the server's refuses to connect: the TLS handshake fails,
/// so no CONNECT (and no secret) is ever sent, and the claim never happens.
///
/// Fails without the fix: devices spoke plain MQTT and trusted whoever answered.
#[tokio::test]
async fn a_device_with_a_wrong_pin_refuses_to_connect() {
    let app = TestApp::spawn().await;
    let token = app.register("pinned@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let (s, body) = start_pairing(&app, &token, &creds.uid).await;
    assert_eq!(s, 201, "{body}");
    let bytes = pairing_from_qr_text(body["qr_text"].as_str().expect("qr")).expect("qr text");
    let mut joined = kankan_sim::pairing::join(&bytes, &creds.secret).expect("joins");
    assert!(joined.server.tls, "the pairing code names MQTT over TLS");
    assert_eq!(joined.pin, app.pin(), "and the server's key");
    joined.pin = Some(Pin([0x5a; 32]));
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = DeviceConfig::new(&creds.uid, &creds.secret, dir.path().join("state"));
    cfg.pairing = Some(joined);
    cfg.timings.backoff.base = Duration::from_millis(50);
    cfg.timings.backoff.cap = Duration::from_millis(200);
    let device = Device::new(cfg).expect("device");
    let handle = device.handle();
    let (shutdown, signal) = kankan_base::Shutdown::new();
    let task = tokio::spawn(device.run(signal));
    let refused = |s: &kankan_sim::Status| {
        s.last_error.as_deref().is_some_and(|e| e.to_lowercase().contains("certificate"))
    };
    let st = handle.wait_for("the handshake is refused", WAIT, refused).await.expect("refused");
    assert_eq!((st.connections, st.claim.clone()), (0, None), "{st:?}");
    shutdown.trigger();
    let _ = task.await;
    let (s, list) = app.send(app.http.get(app.url("/api/v1/devices")).bearer_auth(&token)).await;
    assert_eq!((s, list), (200, json!([])), "the device never claimed its binding");
}
