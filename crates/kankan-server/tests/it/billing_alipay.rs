//! Alipay through the real server and a stand-in speaking Alipay's formats: the checkout URL
//! carries the RSA2-signed `alipay.trade.page.pay` request the stand-in verifies; paying sends
//! the signed notification, answered `success`, and the order is paid and fulfilled once; a
//! replayed notification changes nothing; one signed with another key or for another amount is
//! refused; staff refunds go through `alipay.trade.refund`; the buyer's Alipay account is not
//! kept.

use std::sync::Arc;

use kankan_billing::{Product, ProductKind, Target};
use kankan_testkit::TestApp;
use kankan_testkit::alipay::{BUYER_ID, BUYER_LOGON_ID, FakeAlipay};

use crate::admin::staff_token;
use crate::authz_routes::account_id;
use crate::billing::{Recorder, principal};
use crate::notify::{call, owner};

fn plan(uid: &str, amount: i64, currency: &str) -> Product {
    Product {
        kind: ProductKind::Plan,
        sku: "events-7d-month".into(),
        target: Target::Device(uid.into()),
        title: "Events, 7 days, monthly".into(),
        amount_minor: amount,
        currency: currency.into(),
    }
}

#[tokio::test]
async fn an_alipay_payment_is_verified_applied_once_and_refunded_through_alipay() {
    let alipay = FakeAlipay::start().await;
    let cfg = alipay.config();
    let app = TestApp::spawn_with(|c| c.billing.alipay = Some(cfg)).await;
    let fulfilled = Arc::new(Recorder::default());
    app.running().services.billing.set_fulfilment(fulfilled.clone());
    let buyer = owner(&app, "buyer@example.com").await;
    let p = principal(account_id(&app, &buyer.token).await);
    let billing = &app.running().services.billing;

    // Alipay takes yuan only.
    let err =
        billing.checkout(&p, plan(&buyer.uid, 999, "USD"), "alipay", None).await.expect_err("usd");
    assert_eq!(err.code(), "billing-provider-refused");

    let c = billing
        .checkout(&p, plan(&buyer.uid, 6800, "CNY"), "alipay", None)
        .await
        .expect("checkout");
    assert!(c.redirect_url.starts_with(&alipay.base), "{}", c.redirect_url);
    assert_eq!(alipay.open(&c.redirect_url).await, 200, "the gateway accepts the signed request");
    let trade = alipay.trade(&c.order_id.to_string()).expect("trade");
    assert_eq!(trade.total_amount, "68.00");
    assert!(trade.notify_url.ends_with("/api/v1/billing/webhooks/alipay"), "{}", trade.notify_url);
    // The request's signature covers it: a changed amount is refused by the gateway.
    assert_eq!(alipay.open(&c.redirect_url.replace("68.00", "0.01")).await, 400);

    // A notification signed with another key, or for another amount: refused, nothing changes.
    let forged = alipay.notice(&trade, "TRADE_SUCCESS", &[], true);
    let (s, answer) = alipay.send(&trade, &forged).await;
    assert_eq!(s, 400, "{answer}");
    assert!(answer.contains("billing-bad-signature"), "{answer}");
    let cheap = alipay.notice(&trade, "TRADE_SUCCESS", &[("total_amount", "0.01")], false);
    let (s, answer) = alipay.send(&trade, &cheap).await;
    assert!(s == 400 && answer.contains("billing-amount-mismatch"), "{s} {answer}");
    assert!(fulfilled.paid().is_empty());

    let paid = alipay.pay(&c.order_id.to_string()).await;
    assert_eq!((paid.status, paid.answer.as_str()), (200, "success"));
    let (s, order) =
        call(&app, "GET", &format!("/api/v1/orders/{}", c.order_id), &buyer.token, None).await;
    assert_eq!(
        (s, order["status"].as_str(), order["amount"].as_str()),
        (200, Some("paid"), Some("68.00"))
    );
    assert_eq!(fulfilled.paid(), vec![c.order_id]);
    // Alipay resends the same notification: `success`, nothing more.
    let (s, answer) = alipay.send(&trade, &paid.body).await;
    assert_eq!((s, answer.as_str()), (200, "success"));
    assert_eq!(fulfilled.paid(), vec![c.order_id]);
    for (place, bytes) in app.stored_bytes().await {
        for payer in [BUYER_LOGON_ID, BUYER_ID] {
            assert!(
                !bytes.windows(payer.len()).any(|w| w == payer.as_bytes()),
                "{place} holds {payer}"
            );
        }
    }

    // Staff refund: alipay.trade.refund for the whole amount.
    let staff = staff_token(&app).await;
    let (s, b) = call(
        &app,
        "POST",
        &format!("/api/v1/admin/billing/orders/{}/refund", c.order_id),
        &staff,
        None,
    )
    .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("refunded")), "{b}");
    let refunds = alipay.refunds();
    assert_eq!(refunds.len(), 1);
    assert!(refunds[0]["biz_content"].contains("\"refund_amount\":\"68.00\""), "{:?}", refunds[0]);
    assert_eq!(fulfilled.refunded(), vec![c.order_id]);
}
