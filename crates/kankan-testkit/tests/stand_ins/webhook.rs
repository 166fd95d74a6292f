//! `kankan_notify::webhook::post` against `WebhookSink`: signed delivery, error statuses, a
//! receiver that hangs.

use std::time::Duration;

use kankan_notify::webhook::{self, WebhookError};
use kankan_testkit::webhook::WebhookSink;

const SECRET: &[u8] = b"whsec_0123456789";
const BODY: &[u8] = br#"{"event_id":"e1","kind":"press","device":"cam1"}"#;
const NOW_S: i64 = 1_760_000_000;

async fn post(sink: &WebhookSink) -> Result<(), WebhookError> {
    webhook::post(&crate::http(), &sink.url(), SECRET, BODY, NOW_S).await
}

#[tokio::test]
async fn a_webhook_arrives_signed_as_json() {
    let sink = WebhookSink::start().await;
    post(&sink).await.expect("200");
    let got = sink.requests();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.path, "/hook");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body, BODY);
    assert_eq!(r.json()["kind"], "press");
    assert_eq!(r.signed_at_s(), Some(NOW_S));
    assert!(r.signature_valid(SECRET));
    assert!(!r.signature_valid(b"another secret"));
    assert_eq!(r.answered, Some(200));
}

#[tokio::test]
async fn server_errors_are_transient_until_the_receiver_recovers() {
    let sink = WebhookSink::start().await;
    sink.fail_next(2);
    for _ in 0..2 {
        let err = post(&sink).await.expect_err("500");
        assert!(err.is_transient(), "{err:?}");
    }
    post(&sink).await.expect("recovered");
    let answered: Vec<_> = sink.requests().iter().map(|r| r.answered).collect();
    assert_eq!(answered, [Some(500), Some(500), Some(200)]);
}

#[tokio::test]
async fn statuses_map_onto_retry_or_rejection() {
    let sink = WebhookSink::start().await;
    sink.answer_next(1, 410);
    assert_eq!(post(&sink).await, Err(WebhookError::Rejected("gone".into())));
    sink.answer_next(1, 400);
    assert!(matches!(post(&sink).await, Err(WebhookError::Rejected(m)) if m.contains("400")));
    sink.answer_next(1, 429);
    assert!(post(&sink).await.expect_err("429").is_transient());
    sink.answer_next(1, 204);
    post(&sink).await.expect("any 2xx is success");
}

#[tokio::test]
async fn a_hanging_receiver_times_out_as_transient() {
    let sink = WebhookSink::start().await;
    sink.hang(true);
    let err = webhook::post_with_timeout(
        &crate::http(),
        &sink.url(),
        SECRET,
        BODY,
        NOW_S,
        Duration::from_millis(300),
    )
    .await
    .expect_err("timeout");
    assert!(matches!(&err, WebhookError::Transient(m) if m.contains("timed out")), "{err:?}");
    let got = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].answered, None);

    sink.hang(false);
    post(&sink).await.expect("answers again");
}

#[tokio::test]
async fn an_unreachable_receiver_is_transient_and_the_url_token_stays_private() {
    let url =
        format!("http://127.0.0.1:{}/hook?token=s3cr3t", kankan_testkit::local::closed_port());
    let err = webhook::post(&crate::http(), &url, SECRET, BODY, NOW_S).await.expect_err("refused");
    assert!(err.is_transient(), "{err:?}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
}

#[tokio::test]
async fn a_url_that_is_not_http_is_rejected() {
    let err = webhook::post(&crate::http(), "file:///etc/passwd", SECRET, BODY, NOW_S)
        .await
        .expect_err("refused");
    assert!(matches!(err, WebhookError::Rejected(_)), "{err:?}");
}
