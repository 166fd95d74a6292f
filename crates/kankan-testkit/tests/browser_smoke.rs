//! Smoke test for the WebDriver harness: serves a tiny page from an in-process server, then
//! fills an input, clicks a button, waits for text, uploads a file and takes a screenshot.

use std::time::Duration;

use anyhow::Result;
use kankan_testkit::browser::Browser;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>smoke</title></head>
<body>
  <label for="name">Name</label>
  <input id="name" data-testid="name">
  <button id="go" data-testid="go" disabled>Greet</button>
  <p id="out" data-testid="out">waiting</p>
  <input type="file" id="file" style="position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)">
  <script>
    // The button only becomes clickable a moment later: click() must wait for it.
    setTimeout(() => { document.getElementById('go').disabled = false; }, 300);
    document.getElementById('go').addEventListener('click', () => {
      const name = document.getElementById('name').value;
      // Change the text asynchronously so wait_for_text has to poll.
      setTimeout(() => { document.getElementById('out').textContent = 'Hello, ' + name + '!'; }, 200);
    });
    document.cookie = 'smoke=yes; path=/';
  </script>
</body></html>"#;

/// Serves PAGE for every request until the test ends.
async fn serve() -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut read = 0;
                // Read until the end of the request headers (GET requests have no body).
                while let Ok(n) = socket.read(&mut buf[read..]).await {
                    if n == 0 {
                        return;
                    }
                    read += n;
                    if buf[..read].windows(4).any(|w| w == b"\r\n\r\n") || read == buf.len() {
                        break;
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    PAGE.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(PAGE.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Ok(format!("http://{addr}/"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drives_a_page() -> Result<()> {
    let url = serve().await?;
    let browser = Browser::launch().await?;

    browser.goto(&url).await?;
    assert_eq!(browser.title().await?, "smoke");
    assert!(browser.current_url().await?.starts_with(&url));
    // The viewport is exactly phone-sized (headless Chromium alone would clamp it to 500 px).
    let viewport = browser.execute("return [innerWidth, innerHeight];", &[]).await?;
    assert_eq!(viewport, json!([390, 844]));

    browser.fill("[data-testid=name]", "Kankan").await?;
    browser.click("[data-testid=go]").await?;
    let text = browser.wait_for_text("[data-testid=out]", "Hello, Kankan").await?;
    assert_eq!(text, "Hello, Kankan!");
    assert_eq!(browser.text("#out").await?, "Hello, Kankan!");

    // JS with arguments; a returned promise is awaited.
    let sum = browser
        .execute("return Promise.resolve(arguments[0] + arguments[1]);", &[json!(2), json!(3)])
        .await?;
    assert_eq!(sum, json!(5));

    // File inputs work even when visually hidden.
    let dir = tempfile::tempdir()?;
    let upload = dir.path().join("avatar.png");
    std::fs::write(&upload, b"\x89PNG\r\n\x1a\nnot really")?;
    browser.set_file_input("#file", &upload).await?;
    let name =
        browser.execute("return document.getElementById('file').files[0].name;", &[]).await?;
    assert_eq!(name, json!("avatar.png"));

    let cookie = browser.cookie("smoke").await?.expect("the page sets a cookie");
    assert_eq!(cookie.value, "yes");
    assert!(!cookie.http_only);

    let shot = dir.path().join("smoke.png");
    browser.screenshot(&shot).await?;
    let png = std::fs::read(&shot)?;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 1000, "screenshot suspiciously small");
    assert_eq!(&png[16..24], &[0, 0, 1, 134, 0, 0, 3, 76], "PNG should be 390x844");

    browser.set_window_size(1280, 800).await?;
    let viewport = browser.execute("return [innerWidth, innerHeight];", &[]).await?;
    assert_eq!(viewport, json!([1280, 800]));

    // Waits time out with a message naming the selector and the URL.
    let mut browser = browser;
    browser.set_timeout(Duration::from_millis(300));
    let err = browser.find("#does-not-exist").await.expect_err("nothing matches");
    let msg = format!("{err:#}");
    assert!(msg.contains("#does-not-exist") && msg.contains(&url), "unhelpful error: {msg}");

    browser.close().await
}
