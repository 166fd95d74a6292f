//! WeChat Pay (API v3) through the real server and a stand-in speaking its formats: the Native
//! order is signed with the merchant key and answered with its `code_url`; the payment's
//! notification, signed with the platform key and its resource encrypted under the APIv3 key,
//! pays the order once; a replay changes nothing; one signed with another key or for another
//! amount is refused; staff refunds go through `/v3/refund/domestic/refunds`; the payer's
//! openid is not kept.

use std::sync::Arc;

use kankan_billing::{Product, ProductKind, Target};
use kankan_testkit::TestApp;
use kankan_testkit::wechat::{FakeWechat, PAYER_OPENID};
use serde_json::json;

use crate::admin::staff_token;
use crate::authz_routes::account_id;
use crate::billing::{Recorder, principal};
use crate::notify::{call, owner};

#[tokio::test]
async fn a_wechat_pay_payment_is_verified_decrypted_applied_once_and_refunded() {
    let wechat = FakeWechat::start().await;
    let cfg = wechat.config();
    let app = TestApp::spawn_with(|c| c.billing.wechat = Some(cfg)).await;
    wechat.use_clock(Arc::new(app.clock.clone()));
    let fulfilled = Arc::new(Recorder::default());
    app.running().services.billing.set_fulfilment(fulfilled.clone());
    let buyer = owner(&app, "buyer@example.com").await;
    let p = principal(account_id(&app, &buyer.token).await);
    let billing = &app.running().services.billing;
    let product = Product {
        kind: ProductKind::Data,
        sku: "data-10gb-month".into(),
        target: Target::Sim("89860012345678901234".into()),
        title: "4G data, 10 GB".into(),
        amount_minor: 3000,
        currency: "CNY".into(),
    };
    let c = billing.checkout(&p, product, "wechat", None).await.expect("checkout");
    let no = c.order_id.simple().to_string();
    assert_eq!(c.redirect_url, format!("weixin://wxpay/bizpayurl?pr={no}"));
    let order = wechat.order(&no).expect("the stand-in took the order");
    assert_eq!((order.total, order.currency.as_str()), (3000, "CNY"));
    let hook = app.url("/api/v1/billing/webhooks/wechat");
    assert_eq!(order.notify_url, hook);

    // Forged (the merchant's key, not the platform's), then for another amount.
    let paid = wechat.pay(&no);
    let resource = json!({"mchid": "1900009191", "out_trade_no": no, "transaction_id": "4200000000000000000000000001",
        "trade_state": "SUCCESS", "amount": {"total": 3000, "currency": "CNY"}});
    let (s, b) =
        wechat.send(&hook, &wechat.notification("TRANSACTION.SUCCESS", &resource, true)).await;
    assert!(s == 400 && b.contains("billing-bad-signature"), "{s} {b}");
    let mut cheap = resource.clone();
    cheap["amount"]["total"] = json!(1);
    let (s, b) =
        wechat.send(&hook, &wechat.notification("TRANSACTION.SUCCESS", &cheap, false)).await;
    assert!(s == 400 && b.contains("billing-amount-mismatch"), "{s} {b}");
    // A valid notification with a stale time.
    app.clock.advance(std::time::Duration::from_secs(301));
    let (s, b) = wechat.send(&hook, &paid).await;
    assert!(s == 400 && b.contains("billing-bad-signature"), "{s} {b}");
    assert!(fulfilled.paid().is_empty());

    let paid = wechat.pay(&no);
    let (s, b) = wechat.send(&hook, &paid).await;
    assert_eq!(s, 200, "{b}");
    let (_, o) =
        call(&app, "GET", &format!("/api/v1/orders/{}", c.order_id), &buyer.token, None).await;
    assert_eq!(
        (o["status"].as_str(), o["amount"].as_str(), o["target_kind"].as_str()),
        (Some("paid"), Some("30.00"), Some("sim"))
    );
    assert_eq!(o["target"], "****************1234", "the ICCID is shown masked");
    assert_eq!(fulfilled.paid(), vec![c.order_id]);
    let (s, _) = wechat.send(&hook, &paid).await;
    assert_eq!(s, 200, "a replay is taken");
    assert_eq!(fulfilled.paid(), vec![c.order_id]);
    for (place, bytes) in app.stored_bytes().await {
        assert!(
            !bytes.windows(PAYER_OPENID.len()).any(|w| w == PAYER_OPENID.as_bytes()),
            "{place} holds the openid"
        );
    }

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
    assert_eq!(wechat.refunds().len(), 1);
    assert_eq!(wechat.refunds()[0]["amount"]["refund"], 3000);
    // WeChat Pay's REFUND.SUCCESS for it changes nothing more.
    let refunded = json!({"mchid": "1900009191", "out_trade_no": no, "transaction_id": "x", "refund_id": "y",
        "out_refund_no": "r", "refund_status": "SUCCESS", "amount": {"total": 3000, "refund": 3000, "payer_total": 3000, "payer_refund": 3000}});
    let (s, _) = wechat.send(&hook, &wechat.notification("REFUND.SUCCESS", &refunded, false)).await;
    assert_eq!(s, 200);
    assert_eq!(fulfilled.refunded(), vec![c.order_id]);
}
