//! Coupons and redemption codes through the real server: a coupon takes its part off the
//! amount sent to the provider and is used up after its uses; a 100 % coupon pays the order at
//! once; coupons for other SKUs or currencies and expired ones are refused; a redemption code
//! makes a paid order of amount 0 fulfilled at once, only for a camera the redeemer owns; one
//! code redeemed by 50 concurrent requests is redeemed exactly once (on either engine).

use std::time::Duration;

use futures_util::future::join_all;
use kankan_base::Clock as _;
use serde_json::{Value, json};

use crate::admin::staff_token;
use crate::billing::{Shop, plan, principal, shop};
use crate::notify::{call, owner};

async fn coupon(shop: &Shop, staff: &str, body: Value) -> Value {
    let (s, b) = call(&shop.app, "POST", "/api/v1/admin/billing/coupons", staff, Some(body)).await;
    assert_eq!(s, 201, "{b}");
    b
}

async fn code(shop: &Shop, staff: &str, max_uses: i64) -> String {
    let body = json!({"kind": "plan", "sku": "continuous-30d-year", "title": "Continuous, 30 days, yearly",
        "currency": "EUR", "max_uses": max_uses});
    let (s, b) = call(&shop.app, "POST", "/api/v1/admin/billing/codes", staff, Some(body)).await;
    assert_eq!(s, 201, "{b}");
    b["code"].as_str().expect("code").to_string()
}

#[tokio::test]
async fn a_coupon_takes_its_part_off_the_amount_charged_and_is_used_up_after_its_uses() {
    let shop = shop().await;
    let staff = staff_token(&shop.app).await;
    let c =
        coupon(&shop, &staff, json!({"code": "spring25", "percent_off": 25, "max_uses": 1})).await;
    assert_eq!((c["code"].as_str(), c["used"].as_i64()), (Some("SPRING25"), Some(0)));
    let checkout = shop.checkout(1000, Some("Spring25")).await.expect("checkout");
    let session = shop.session_of(&checkout);
    assert_eq!(session.amount_total, 750, "Stripe is asked for the discounted amount");
    let order = shop.order(checkout.order_id).await;
    assert_eq!(
        (
            order["list_amount_minor"].as_i64(),
            order["amount_minor"].as_i64(),
            order["coupon"].as_str()
        ),
        (Some(1000), Some(750), Some("SPRING25"))
    );
    // Paying the discounted amount is a payment of the order.
    assert_eq!(shop.stripe.pay(&session.id).await.status, 200);
    assert_eq!(shop.order(checkout.order_id).await["status"], "paid");
    // Its one use is taken.
    let err = shop.checkout(1000, Some("SPRING25")).await.expect_err("used up");
    assert_eq!(err.code(), "coupon-not-valid");
    let (_, list) = call(&shop.app, "GET", "/api/v1/admin/billing/coupons", &staff, None).await;
    assert_eq!(list["coupons"][0]["used"], 1, "{list}");
    // An amount off, in its currency only.
    coupon(
        &shop,
        &staff,
        json!({"code": "FIVE-OFF", "amount_off_minor": 500, "currency": "USD", "max_uses": 10}),
    )
    .await;
    let c2 = shop.checkout(1200, Some("five-off")).await.expect("amount off");
    assert_eq!(shop.session_of(&c2).amount_total, 700);
    let mut eur = plan(&shop.owner.uid, 1200);
    eur.currency = "EUR".into();
    let billing = &shop.app.running().services.billing;
    let err = billing
        .checkout(&principal(shop.id), eur, "stripe", Some("FIVE-OFF"))
        .await
        .expect_err("eur");
    assert_eq!(err.code(), "coupon-not-applicable");
    assert_eq!(shop.fulfilled.paid(), vec![checkout.order_id]);
}

#[tokio::test]
async fn a_coupon_for_the_whole_price_pays_the_order_at_once() {
    let shop = shop().await;
    let staff = staff_token(&shop.app).await;
    coupon(
        &shop,
        &staff,
        json!({"code": "FREEMONTH", "percent_off": 100, "max_uses": 5,
        "skus": ["events-7d-month"]}),
    )
    .await;
    let checkout = shop.checkout(999, Some("FREEMONTH")).await.expect("checkout");
    assert!(
        checkout.redirect_url.ends_with(&format!("#/orders/{}", checkout.order_id)),
        "{}",
        checkout.redirect_url
    );
    assert!(shop.stripe.sessions().is_empty(), "no provider is involved");
    let order = shop.order(checkout.order_id).await;
    assert_eq!(
        (order["status"].as_str(), order["amount_minor"].as_i64(), order["provider"].as_str()),
        (Some("paid"), Some(0), Some("coupon"))
    );
    assert_eq!(shop.fulfilled.paid(), vec![checkout.order_id]);
    // Only for its SKU.
    let mut other = plan(&shop.owner.uid, 999);
    other.sku = "continuous-30d-year".into();
    let billing = &shop.app.running().services.billing;
    let err = billing
        .checkout(&principal(shop.id), other, "stripe", Some("FREEMONTH"))
        .await
        .expect_err("sku");
    assert_eq!(err.code(), "coupon-not-applicable");
}

#[tokio::test]
async fn an_expired_coupon_and_bad_coupons_are_refused() {
    let shop = shop().await;
    let staff = staff_token(&shop.app).await;
    let soon = shop.app.clock.now().0 + 60_000;
    coupon(
        &shop,
        &staff,
        json!({"code": "BRIEF", "percent_off": 10, "max_uses": 5, "expires_at_ms": soon}),
    )
    .await;
    shop.app.clock.advance(Duration::from_secs(61));
    assert_eq!(
        shop.checkout(1000, Some("BRIEF")).await.expect_err("expired").code(),
        "coupon-not-valid"
    );
    assert_eq!(
        shop.checkout(1000, Some("NO-SUCH")).await.expect_err("unknown").code(),
        "coupon-not-valid"
    );
    for (body, code, status) in [
        (json!({"code": "X", "percent_off": 10, "max_uses": 1}), "invalid-coupon", 400),
        (json!({"code": "HALFS", "percent_off": 101, "max_uses": 1}), "invalid-coupon", 400),
        (
            json!({"code": "HALFS", "percent_off": 10, "amount_off_minor": 5, "currency": "USD", "max_uses": 1}),
            "invalid-coupon",
            400,
        ),
        (json!({"code": "HALFS", "amount_off_minor": 5, "max_uses": 1}), "invalid-coupon", 400),
        (json!({"code": "HALFS", "percent_off": 10, "max_uses": 0}), "invalid-coupon", 400),
        (json!({"code": "BRIEF", "percent_off": 10, "max_uses": 1}), "coupon-exists", 409),
    ] {
        let (s, b) =
            call(&shop.app, "POST", "/api/v1/admin/billing/coupons", &staff, Some(body.clone()))
                .await;
        assert_eq!((s, b["code"].as_str()), (status, Some(code)), "{body}: {b}");
    }
    let (_, list) = call(&shop.app, "GET", "/api/v1/admin/billing/coupons", &staff, None).await;
    assert_eq!(list["coupons"].as_array().map(Vec::len), Some(1), "nothing half-stored: {list}");
    assert!(
        shop.app
            .running()
            .services
            .billing
            .orders(&principal(shop.id))
            .await
            .expect("orders")
            .is_empty()
    );
}

#[tokio::test]
async fn a_redemption_code_makes_a_paid_order_of_nothing_for_the_redeemers_own_camera() {
    let shop = shop().await;
    let staff = staff_token(&shop.app).await;
    let code = code(&shop, &staff, 2).await;
    // Someone else's camera: as if it did not exist.
    let stranger = owner(&shop.app, "stranger@example.com").await;
    let body = json!({"code": code, "target": shop.owner.uid});
    let (s, b) =
        call(&shop.app, "POST", "/api/v1/billing/redeem", &stranger.token, Some(body.clone()))
            .await;
    assert_eq!((s, b["code"].as_str()), (404, Some("device-not-found")), "{b}");
    // A plan's code is for a camera, not a SIM.
    let sim = json!({"code": code, "target": "89860012345678901234", "target_kind": "sim"});
    let (s, b) =
        call(&shop.app, "POST", "/api/v1/billing/redeem", &shop.owner.token, Some(sim)).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-target")), "{b}");
    // Typed loosely (lower case, spaces instead of dashes), by its owner.
    let loose = code.to_ascii_lowercase().replace('-', " ");
    let (s, order) = call(
        &shop.app,
        "POST",
        "/api/v1/billing/redeem",
        &shop.owner.token,
        Some(json!({"code": loose, "target": shop.owner.uid})),
    )
    .await;
    assert_eq!(s, 201, "{order}");
    assert_eq!(
        (order["status"].as_str(), order["amount_minor"].as_i64(), order["provider"].as_str()),
        (Some("paid"), Some(0), Some("code"))
    );
    assert_eq!(
        (order["sku"].as_str(), order["target"].as_str()),
        (Some("continuous-30d-year"), Some(shop.owner.uid.as_str()))
    );
    let id: uuid::Uuid = order["id"].as_str().expect("id").parse().expect("uuid");
    assert_eq!(shop.fulfilled.paid(), vec![id]);
    // Its second use, then none.
    let (s, _) =
        call(&shop.app, "POST", "/api/v1/billing/redeem", &shop.owner.token, Some(body.clone()))
            .await;
    assert_eq!(s, 201);
    let (s, b) =
        call(&shop.app, "POST", "/api/v1/billing/redeem", &shop.owner.token, Some(body)).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("code-not-valid")), "{b}");
    let (s, b) = call(
        &shop.app,
        "POST",
        "/api/v1/billing/redeem",
        &shop.owner.token,
        Some(json!({"code": "0000-0000-0000-0000", "target": shop.owner.uid})),
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("code-not-valid")), "{b}");
    assert_eq!(shop.fulfilled.paid().len(), 2);
}

#[tokio::test]
async fn one_code_redeemed_by_fifty_requests_at_once_is_redeemed_exactly_once() {
    let shop = shop().await;
    let staff = staff_token(&shop.app).await;
    let code = code(&shop, &staff, 1).await;
    let body = json!({"code": code, "target": shop.owner.uid});
    let requests = (0..50).map(|_| {
        call(&shop.app, "POST", "/api/v1/billing/redeem", &shop.owner.token, Some(body.clone()))
    });
    let answers = join_all(requests).await;
    let won: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 201).map(|(_, b)| b).collect();
    let refused =
        answers.iter().filter(|(s, b)| *s == 400 && b["code"] == "code-not-valid").count();
    assert_eq!((won.len(), refused), (1, 49), "{answers:?}");
    let (_, list) = call(&shop.app, "GET", "/api/v1/orders", &shop.owner.token, None).await;
    assert_eq!(list["orders"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(shop.fulfilled.paid().len(), 1);
}

#[tokio::test]
async fn one_coupon_use_taken_by_fifty_checkouts_at_once_is_taken_exactly_once() {
    let shop = shop().await;
    let staff = staff_token(&shop.app).await;
    coupon(&shop, &staff, json!({"code": "ONLYONE", "percent_off": 100, "max_uses": 1})).await;
    let answers = join_all((0..50).map(|_| shop.checkout(999, Some("ONLYONE")))).await;
    let won = answers.iter().filter(|a| a.is_ok()).count();
    let refused =
        answers.iter().filter(|a| matches!(a, Err(e) if e.code() == "coupon-not-valid")).count();
    assert_eq!((won, refused), (1, 49));
    assert_eq!(shop.fulfilled.paid().len(), 1);
}
