//! Payments through the real server and a Stripe stand-in speaking Stripe's API and webhook
//! formats: a checkout is paid on the stand-in's page, its signed `checkout.session.completed`
//! webhook makes the order paid and the fulfilment is called once; a replay changes nothing;
//! forged, stale and unsigned webhooks and ones with another amount or currency are refused
//! and change nothing; staff refunds go to the provider and take the order back; the order
//! list and receipt. (Checkouts start on kankan-plans' routes, which call
//! `Billing::checkout`; these tests call it directly, with a fulfilment that records.)

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use kankan_base::{AccountId, SessionId};
use kankan_billing::{Checkout, Fulfilment, Order, Product, ProductKind, Target};
use kankan_core::{CoreError, Principal};
use kankan_testkit::TestApp;
use kankan_testkit::stripe::FakeStripe;
use serde_json::Value;

use crate::admin::staff_token;
use crate::authz_routes::account_id;
use crate::notify::{Owner, call, owner};

/// A fulfilment that records what it was asked.
#[derive(Default)]
pub(crate) struct Recorder {
    pub paid: Mutex<Vec<uuid::Uuid>>,
    pub refunded: Mutex<Vec<uuid::Uuid>>,
}

impl Recorder {
    pub fn paid(&self) -> Vec<uuid::Uuid> {
        self.paid.lock().expect("lock").clone()
    }
    pub fn refunded(&self) -> Vec<uuid::Uuid> {
        self.refunded.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Fulfilment for Recorder {
    async fn paid(&self, order: &Order) -> Result<(), CoreError> {
        self.paid.lock().expect("lock").push(order.id);
        Ok(())
    }
    async fn refunded(&self, order: &Order) -> Result<(), CoreError> {
        self.refunded.lock().expect("lock").push(order.id);
        Ok(())
    }
}

pub(crate) struct Shop {
    pub app: TestApp,
    pub stripe: FakeStripe,
    pub fulfilled: Arc<Recorder>,
    pub owner: Owner,
    pub id: AccountId,
}

/// A server with Stripe configured at the stand-in, a recording fulfilment and an owner with
/// a camera.
pub(crate) async fn shop() -> Shop {
    let stripe = FakeStripe::start().await;
    let cfg = stripe.config();
    let app = TestApp::spawn_with(|c| c.billing.stripe = Some(cfg)).await;
    stripe.send_to(&app.url("/api/v1/billing/webhooks/stripe"), Arc::new(app.clock.clone()));
    let fulfilled = Arc::new(Recorder::default());
    app.running().services.billing.set_fulfilment(fulfilled.clone());
    let owner = owner(&app, "buyer@example.com").await;
    let id = account_id(&app, &owner.token).await;
    Shop { app, stripe, fulfilled, owner, id }
}

pub(crate) fn principal(id: AccountId) -> Principal {
    Principal {
        account_id: id,
        session_id: SessionId::new(),
        token_hash: kankan_crypto::TokenHash::of("unused"),
    }
}

pub(crate) fn plan(uid: &str, amount: i64) -> Product {
    Product {
        kind: ProductKind::Plan,
        sku: "events-7d-month".into(),
        target: Target::Device(uid.into()),
        title: "Events, 7 days, monthly".into(),
        amount_minor: amount,
        currency: "USD".into(),
    }
}

impl Shop {
    pub async fn checkout(&self, amount: i64, coupon: Option<&str>) -> Result<Checkout, CoreError> {
        let billing = &self.app.running().services.billing;
        billing.checkout(&principal(self.id), plan(&self.owner.uid, amount), "stripe", coupon).await
    }

    /// The stand-in's session the checkout sent the buyer to.
    pub fn session_of(&self, c: &Checkout) -> kankan_testkit::stripe::Session {
        let id = c.redirect_url.rsplit('/').next().expect("session id");
        self.stripe.session(id).expect("the stand-in's session")
    }

    pub async fn order(&self, id: uuid::Uuid) -> Value {
        let (s, b) =
            call(&self.app, "GET", &format!("/api/v1/orders/{id}"), &self.owner.token, None).await;
        assert_eq!(s, 200, "{b}");
        b
    }
}

async fn body_of(app: &TestApp, endpoint: &str, body: &str, sig: Option<&str>) -> (u16, Value) {
    let mut req = app.http.post(app.url(endpoint)).body(body.to_string());
    if let Some(s) = sig {
        req = req.header("Stripe-Signature", s);
    }
    app.send(req).await
}

const HOOK: &str = "/api/v1/billing/webhooks/stripe";

#[tokio::test]
async fn a_paid_checkout_is_fulfilled_once_and_a_replayed_webhook_changes_nothing() {
    let shop = shop().await;
    let c = shop.checkout(999, None).await.expect("checkout");
    assert!(c.redirect_url.starts_with(&shop.stripe.base), "{}", c.redirect_url);
    let session = shop.session_of(&c);
    // The session as Stripe was asked for it.
    assert_eq!((session.amount_total, session.currency.as_str()), (999, "usd"));
    assert_eq!(session.client_reference_id, Some(c.order_id.to_string()));
    assert!(session.success_url.contains(&c.order_id.to_string()), "{}", session.success_url);
    assert_eq!(shop.order(c.order_id).await["status"], "pending");
    assert!(shop.fulfilled.paid().is_empty());

    let paid = shop.stripe.pay(&session.id).await;
    assert_eq!(paid.status, 200, "the webhook was taken");
    let order = shop.order(c.order_id).await;
    assert_eq!((order["status"].as_str(), order["amount"].as_str()), (Some("paid"), Some("9.99")));
    assert!(order["paid_at_ms"].is_i64(), "{order}");
    assert_eq!(shop.fulfilled.paid(), vec![c.order_id], "fulfilled once");

    // Stripe retries (the same event, signed again): answered 200, nothing changes.
    assert_eq!(shop.stripe.replay_last().await, 200);
    assert_eq!(shop.stripe.replay_last().await, 200);
    assert_eq!(shop.order(c.order_id).await, order, "the order is as it was");
    assert_eq!(shop.fulfilled.paid(), vec![c.order_id], "still fulfilled once");

    // The list, and the receipt.
    let (s, list) = call(&shop.app, "GET", "/api/v1/orders", &shop.owner.token, None).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["orders"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["orders"][0], order);
    let receipt = shop
        .app
        .http
        .get(shop.app.url(&format!("/api/v1/orders/{}/receipt", c.order_id)))
        .bearer_auth(&shop.owner.token)
        .send()
        .await
        .expect("receipt");
    assert_eq!(receipt.status(), 200);
    let text = receipt.text().await.expect("text");
    for part in
        [&c.order_id.to_string(), "Events, 7 days, monthly", &shop.owner.uid, "9.99 USD", "paid"]
    {
        assert!(text.contains(part), "the receipt names {part}: {text}");
    }
}

#[tokio::test]
async fn forged_stale_and_unsigned_webhooks_are_refused_and_change_nothing() {
    let shop = shop().await;
    let c = shop.checkout(500, None).await.expect("checkout");
    let mut session = shop.session_of(&c);
    session.payment_intent = Some("pi_forged".into());
    let body = shop.stripe.completed_event(&session, 500, "usd");
    let forged = kankan_billing::stripe::signature_header(
        "whsec_not_the_secret",
        now_s(&shop.app),
        body.as_bytes(),
    );
    let stale = kankan_billing::stripe::signature_header(
        kankan_testkit::stripe::WEBHOOK_SECRET,
        now_s(&shop.app) - 301,
        body.as_bytes(),
    );
    for sig in [Some(forged.as_str()), Some(stale.as_str()), Some("t=1,v1=zz"), None] {
        let (s, b) = body_of(&shop.app, HOOK, &body, sig).await;
        assert_eq!((s, b["code"].as_str()), (400, Some("billing-bad-signature")), "{sig:?}: {b}");
    }
    // A correctly signed body changed after signing.
    let good = shop.stripe.sign(&body);
    let (s, b) = body_of(&shop.app, HOOK, &body.replace("500", "5"), Some(&good)).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("billing-bad-signature")), "{b}");
    assert_eq!(shop.order(c.order_id).await["status"], "pending");
    assert!(shop.fulfilled.paid().is_empty());
    // The same event, properly signed, is then taken: nothing of the forgeries stuck to it.
    let (s, b) = body_of(&shop.app, HOOK, &body, Some(&good)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(shop.order(c.order_id).await["status"], "paid");
}

fn now_s(app: &TestApp) -> i64 {
    use kankan_base::Clock as _;
    app.clock.now().0 / 1000
}

#[tokio::test]
async fn a_webhook_for_another_amount_or_currency_is_refused() {
    let shop = shop().await;
    let c = shop.checkout(1200, None).await.expect("checkout");
    let session = shop.session_of(&c);
    for (amount, currency) in [(1199, "usd"), (1200, "eur"), (120_000, "jpy")] {
        let body = shop.stripe.completed_event(&session, amount, currency);
        let (s, b) = body_of(&shop.app, HOOK, &body, Some(&shop.stripe.sign(&body))).await;
        assert_eq!((s, b["code"].as_str()), (400, Some("billing-amount-mismatch")), "{b}");
    }
    assert_eq!(shop.order(c.order_id).await["status"], "pending");
    assert!(shop.fulfilled.paid().is_empty());
    // A webhook for an order that does not exist.
    let mut other = session.clone();
    other.client_reference_id = Some(uuid::Uuid::now_v7().to_string());
    let body = shop.stripe.completed_event(&other, 1200, "usd");
    let (s, b) = body_of(&shop.app, HOOK, &body, Some(&shop.stripe.sign(&body))).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("not-found")), "{b}");
    // A provider that is not configured.
    let (s, b) = body_of(&shop.app, "/api/v1/billing/webhooks/alipay", &body, None).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("billing-provider-unknown")), "{b}");
}

#[tokio::test]
async fn staff_refund_a_paid_order_at_the_provider_and_its_refund_event_changes_nothing_more() {
    let shop = shop().await;
    let staff = staff_token(&shop.app).await;
    let c = shop.checkout(700, None).await.expect("checkout");
    let refund = format!("/api/v1/admin/billing/orders/{}/refund", c.order_id);
    // Not paid yet: nothing to refund.
    let (s, b) = call(&shop.app, "POST", &refund, &staff, None).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("order-not-refundable")), "{b}");
    // A user cannot refund.
    let (s, _) = call(&shop.app, "POST", &refund, &shop.owner.token, None).await;
    assert_eq!(s, 401);

    let session = shop.session_of(&c);
    assert_eq!(shop.stripe.pay(&session.id).await.status, 200);
    let pi = shop.stripe.session(&session.id).and_then(|s| s.payment_intent).expect("pi");
    let (s, b) = call(&shop.app, "POST", &refund, &staff, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "refunded");
    assert!(b["refunded_at_ms"].is_i64());
    let refunds = shop.stripe.refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].1, pi, "Stripe refunded the order's payment intent");
    assert_eq!(shop.fulfilled.refunded(), vec![c.order_id]);
    // Stripe's charge.refunded for it: taken, nothing more is taken back.
    let body = shop.stripe.charge_refunded(&pi, 700, "usd");
    assert_eq!(shop.stripe.deliver(&body, Some(&shop.stripe.sign(&body))).await, 200);
    assert_eq!(shop.fulfilled.refunded(), vec![c.order_id]);
    // Refunded once: not again.
    let (s, b) = call(&shop.app, "POST", &refund, &staff, None).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("order-not-refundable")), "{b}");
    assert_eq!(shop.stripe.refunds().len(), 1);
    assert_eq!(shop.order(c.order_id).await["status"], "refunded");
}

#[tokio::test]
async fn a_refund_made_at_the_provider_takes_the_order_back_once() {
    let shop = shop().await;
    let c = shop.checkout(300, None).await.expect("checkout");
    let session = shop.session_of(&c);
    shop.stripe.pay(&session.id).await;
    let pi = shop.stripe.session(&session.id).and_then(|s| s.payment_intent).expect("pi");
    // A partial refund in Stripe's dashboard is not a refund of the order.
    let partial = shop
        .stripe
        .charge_refunded(&pi, 300, "usd")
        .replace("\"amount_refunded\":300", "\"amount_refunded\":100");
    assert_eq!(shop.stripe.deliver(&partial, Some(&shop.stripe.sign(&partial))).await, 200);
    assert_eq!(shop.order(c.order_id).await["status"], "paid");
    let body = shop.stripe.charge_refunded(&pi, 300, "usd");
    assert_eq!(shop.stripe.deliver(&body, Some(&shop.stripe.sign(&body))).await, 200);
    assert_eq!(shop.stripe.replay_last().await, 200);
    assert_eq!(shop.order(c.order_id).await["status"], "refunded");
    assert_eq!(shop.fulfilled.refunded(), vec![c.order_id]);
}

#[tokio::test]
async fn the_order_list_holds_only_the_accounts_orders() {
    let shop = shop().await;
    let c = shop.checkout(100, None).await.expect("checkout");
    let other = shop.app.register("other@example.com", crate::devices::PW).await;
    let (s, b) = call(&shop.app, "GET", "/api/v1/orders", &other, None).await;
    assert_eq!((s, b["orders"].as_array().map(Vec::len)), (200, Some(0)), "{b}");
    for path in
        [format!("/api/v1/orders/{}", c.order_id), format!("/api/v1/orders/{}/receipt", c.order_id)]
    {
        let (s, b) = call(&shop.app, "GET", &path, &other, None).await;
        assert_eq!((s, b["code"].as_str()), (404, Some("not-found")), "{b}");
    }
    let (s, _) = call(&shop.app, "GET", "/api/v1/orders/not-a-uuid", &shop.owner.token, None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_checkout_for_a_provider_not_configured_or_a_bad_product_is_refused_and_stores_nothing() {
    let shop = shop().await;
    let billing = &shop.app.running().services.billing;
    let p = principal(shop.id);
    let err = billing
        .checkout(&p, plan(&shop.owner.uid, 100), "wechat", None)
        .await
        .expect_err("no wechat");
    assert_eq!(err.code(), "billing-provider-unknown");
    let mut bad = plan(&shop.owner.uid, 100);
    bad.currency = "usd".into();
    assert_eq!(
        billing.checkout(&p, bad, "stripe", None).await.expect_err("currency").code(),
        "invalid-product"
    );
    let bad = plan(&shop.owner.uid, -1);
    assert_eq!(
        billing.checkout(&p, bad, "stripe", None).await.expect_err("amount").code(),
        "invalid-product"
    );
    let mut bad = plan(&shop.owner.uid, 100);
    bad.target = Target::Sim("12345".into());
    assert_eq!(
        billing.checkout(&p, bad, "stripe", None).await.expect_err("iccid").code(),
        "invalid-target"
    );
    assert!(billing.orders(&p).await.expect("orders").is_empty());
    assert!(shop.stripe.sessions().is_empty());
}

/// Promise 97: an order keeps the package, the device and whether the payment succeeded, and
/// nothing from the payment account — though Stripe's event names the payer.
#[tokio::test]
async fn an_order_keeps_the_package_the_device_and_the_payment_status_and_nothing_of_the_payer() {
    use kankan_testkit::stripe::{PAYER_EMAIL, PAYER_NAME, PAYER_POSTCODE};
    let shop = shop().await;
    let c = shop.checkout(1999, None).await.expect("checkout");
    let delivery = shop.stripe.pay(&shop.session_of(&c).id).await;
    assert_eq!(delivery.status, 200);
    assert!(delivery.body.contains(PAYER_EMAIL), "the provider's event names the payer");
    for (place, bytes) in shop.app.stored_bytes().await {
        for payer in [PAYER_EMAIL, PAYER_NAME, PAYER_POSTCODE, "\"card\""] {
            let found = bytes.windows(payer.len()).any(|w| w == payer.as_bytes());
            assert!(!found, "{place} holds the payer's {payer:?}");
        }
    }
    // The export holds the order with those fields and no others.
    let (_, zip) =
        crate::exports::ready_export(&shop.app, &shop.owner.token, serde_json::json!({})).await;
    let (data, _) = crate::exports::validate_export(&zip);
    let orders = data["orders"].as_array().expect("orders");
    assert_eq!(orders.len(), 1);
    let mut keys: Vec<&str> =
        orders[0].as_object().expect("order").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "amount_minor",
            "coupon",
            "created_at_ms",
            "currency",
            "id",
            "kind",
            "list_amount_minor",
            "paid_at_ms",
            "provider",
            "refunded_at_ms",
            "sku",
            "status",
            "target",
            "target_kind",
            "title",
        ]
    );
    assert_eq!(
        (orders[0]["target"].as_str(), orders[0]["status"].as_str()),
        (Some(shop.owner.uid.as_str()), Some("paid"))
    );
}
