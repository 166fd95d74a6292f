//! Payments: `/api/v1/orders*` (the account's orders and their receipts),
//! `/api/v1/billing/redeem` (a redemption code), the providers' webhooks
//! (`/api/v1/billing/webhooks/{provider}`, unauthenticated, signature verified by the provider's
//! adapter) and return pages, and the staff's `/api/v1/admin/billing/*` (refunds, coupons,
//! redemption codes). Checkouts start on the plans' routes (kankan-plans).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kankan_base::{ErrorKind, Timestamp};
use kankan_billing::{NewCoupon, NewRedemptionCode, Order, ProductKind, Target, format_major};
use kankan_core::CoreError;
use kankan_core::audit::{Actor, Record};
use kankan_core::authz::Capability;
use kankan_protocol::device::mask_identifier;
use kankan_protocol::v1::{
    CouponItem, CouponsList, CreateCouponRequest, CreateRedemptionCodeRequest, ErrorBody,
    OrderItem, OrdersList, RedeemRequest, RedemptionCodeItem,
};

use crate::extract::{ApiJson, CurrentStaff, CurrentUser};
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

fn item(o: Order) -> OrderItem {
    let target = match &o.product.target {
        Target::Device(uid) => uid.clone(),
        Target::Sim(iccid) => mask_identifier(iccid),
    };
    OrderItem {
        id: o.id,
        kind: o.product.kind.as_str().into(),
        sku: o.product.sku,
        title: o.product.title,
        target_kind: o.product.target.kind().into(),
        target,
        list_amount_minor: o.product.amount_minor,
        amount_minor: o.amount_minor,
        amount: format_major(o.amount_minor, &o.product.currency),
        currency: o.product.currency,
        coupon: o.coupon,
        status: o.status.as_str().into(),
        provider: o.provider,
        created_at_ms: o.created_at.0,
        paid_at_ms: o.paid_at.map(|t| t.0),
        refunded_at_ms: o.refunded_at.map(|t| t.0),
    }
}

fn order_id(s: &str) -> Result<uuid::Uuid, CoreError> {
    uuid::Uuid::parse_str(s).map_err(|_| CoreError::NotFound("order"))
}

/// The caller's orders, newest first.
#[utoipa::path(get, path = "/api/v1/orders", tag = "billing",
    responses((status = 200, body = OrdersList), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<OrdersList>, ApiError> {
    let orders = state.billing.orders(&p).await?;
    Ok(Json(OrdersList { orders: orders.into_iter().map(item).collect() }))
}

/// One of the caller's orders.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "billing",
    params(("id" = String, Path)),
    responses((status = 200, body = OrderItem),
        (status = 404, body = ErrorBody, description = "not-found")))]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<OrderItem>, ApiError> {
    Ok(Json(item(state.billing.order(&p, order_id(&id)?).await?)))
}

/// A receipt of one of the caller's orders, as plain text: order id, product, device or SIM,
/// amount, status and dates.
#[utoipa::path(get, path = "/api/v1/orders/{id}/receipt", tag = "billing",
    params(("id" = String, Path)),
    responses((status = 200, content_type = "text/plain", body = String),
        (status = 404, body = ErrorBody, description = "not-found")))]
pub async fn receipt(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let o = item(state.billing.order(&p, order_id(&id)?).await?);
    let date =
        |ms: Option<i64>| ms.map(|m| Timestamp(m).to_rfc3339()).unwrap_or_else(|| "-".into());
    let what = if o.kind == "plan" { "Cloud storage plan" } else { "4G data" };
    let target = if o.target_kind == "device" { "Device" } else { "SIM (ICCID)" };
    let list = format_major(o.list_amount_minor, &o.currency);
    let mut text = format!(
        "Kankan receipt\n\nOrder:      {}\nProduct:    {} ({what}, {})\n{target:<11} {}\n",
        o.id, o.title, o.sku, o.target
    );
    if let Some(c) = &o.coupon {
        text.push_str(&format!("Price:      {list} {}\nCoupon:     {c}\n", o.currency));
    }
    text.push_str(&format!(
        "Amount:     {} {}\nStatus:     {}\nPaid with:  {}\nOrdered:    {}\nPaid:       {}\nRefunded:   {}\n",
        o.amount,
        o.currency,
        o.status,
        o.provider,
        date(Some(o.created_at_ms)),
        date(o.paid_at_ms),
        date(o.refunded_at_ms),
    ));
    let mut resp = text.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(resp)
}

/// Redeems a redemption code for a device the caller owns (a plan's code) or a SIM (a data
/// code): a paid order of amount 0, fulfilled at once. `code-not-valid` for an unknown,
/// expired or used-up code.
#[utoipa::path(post, path = "/api/v1/billing/redeem", tag = "billing",
    request_body = RedeemRequest,
    responses((status = 201, body = OrderItem),
        (status = 400, body = ErrorBody, description = "code-not-valid, invalid-target"),
        (status = 404, body = ErrorBody, description = "device-not-found")))]
pub async fn redeem(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<RedeemRequest>,
) -> Result<(StatusCode, Json<OrderItem>), ApiError> {
    let target = match req.target_kind.as_deref().unwrap_or("device") {
        "device" => {
            // Buying storage for a camera is its owner's (like choosing its recording mode).
            state.devices.authorize_device(&p, Capability::ManageRecordings, &req.target).await?;
            Target::Device(req.target)
        }
        "sim" => Target::Sim(req.target),
        _ => {
            return Err(CoreError::Billing {
                kind: ErrorKind::InvalidArgument,
                code: "invalid-target",
                message: "target_kind is device or sim".into(),
            }
            .into());
        }
    };
    let order = state.billing.redeem(&p, &req.code, target).await?;
    Ok((StatusCode::CREATED, Json(item(order))))
}

/// A payment provider's webhook (`stripe`, `alipay`, `wechat`): verified with the provider's
/// signature scheme first (`billing-bad-signature`: nothing changed), applied once per event
/// id (a replay is answered as taken), its amount and currency checked against the order.
/// Answers what the provider expects.
#[utoipa::path(post, path = "/api/v1/billing/webhooks/{provider}", tag = "billing",
    params(("provider" = String, Path)),
    request_body(content = String, description = "The provider's signed event, as sent"),
    responses((status = 200, description = "taken (or already taken)"),
        (status = 400, body = ErrorBody,
            description = "billing-bad-signature, billing-bad-event, billing-amount-mismatch"),
        (status = 404, body = ErrorBody, description = "billing-provider-unknown, not-found")))]
pub async fn webhook(
    State(state): State<AppState>,
    ApiPath(provider): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let answer = state.billing.webhook(&provider, &headers, &body).await?;
    let mut resp = answer.body.into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
    Ok(resp)
}

/// Where a provider sends the buyer back.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct ReturnQuery {
    pub order: String,
    /// `success` or `cancel`.
    #[serde(default)]
    pub result: Option<String>,
}

/// A provider's return page: sends the buyer to the order's page in the web app, which shows
/// its status (the webhook, not this page, decides whether it was paid).
#[utoipa::path(get, path = "/api/v1/billing/return/{provider}", tag = "billing",
    params(("provider" = String, Path), ReturnQuery),
    responses((status = 303, description = "to the order's page")))]
pub async fn return_page(
    ApiPath(_provider): ApiPath<String>,
    Query(q): Query<ReturnQuery>,
) -> Result<Response, ApiError> {
    let id = order_id(&q.order)?;
    let result = if q.result.as_deref() == Some("cancel") { "cancel" } else { "success" };
    let location = format!("/#/orders/{id}?result={result}");
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// Refunds a paid order in full (staff): the provider refunds the payment, the order becomes
/// `refunded` and what it granted is taken back.
#[utoipa::path(post, path = "/api/v1/admin/billing/orders/{id}/refund", tag = "admin",
    params(("id" = String, Path)),
    responses((status = 200, body = OrderItem),
        (status = 404, body = ErrorBody, description = "not-found"),
        (status = 409, body = ErrorBody, description = "order-not-refundable"),
        (status = 503, body = ErrorBody, description = "billing-provider-unavailable")))]
pub async fn refund(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<OrderItem>, ApiError> {
    let id = order_id(&id)?;
    let order = state.billing.refund(id).await?;
    let actor = Actor::Staff(staff.id);
    let detail = format!(
        "order={id} amount_minor={} currency={}",
        order.amount_minor, order.product.currency
    );
    let record =
        Record { actor: &actor, action: "order-refunded", subject: Some(order.account_id), detail };
    state.audit.append(record).await?;
    Ok(Json(item(order)))
}

fn coupon_item(c: kankan_billing::Coupon) -> CouponItem {
    CouponItem {
        code: c.code,
        percent_off: c.percent_off,
        amount_off_minor: c.amount_off_minor,
        currency: c.currency,
        max_uses: c.max_uses,
        used: c.used,
        expires_at_ms: c.expires_at.map(|t| t.0),
        skus: c.skus,
        created_at_ms: c.created_at.0,
    }
}

/// Every coupon (staff).
#[utoipa::path(get, path = "/api/v1/admin/billing/coupons", tag = "admin",
    responses((status = 200, body = CouponsList), (status = 401, body = ErrorBody)))]
pub async fn coupons(
    State(state): State<AppState>,
    CurrentStaff(_staff): CurrentStaff,
) -> Result<Json<CouponsList>, ApiError> {
    let coupons = state.billing.coupons().await?;
    Ok(Json(CouponsList { coupons: coupons.into_iter().map(coupon_item).collect() }))
}

/// Creates a coupon (staff): percent or amount off, max uses, expiry, optionally only for
/// some SKUs.
#[utoipa::path(post, path = "/api/v1/admin/billing/coupons", tag = "admin",
    request_body = CreateCouponRequest,
    responses((status = 201, body = CouponItem),
        (status = 400, body = ErrorBody, description = "invalid-coupon"),
        (status = 409, body = ErrorBody, description = "coupon-exists")))]
pub async fn create_coupon(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiJson(req): ApiJson<CreateCouponRequest>,
) -> Result<(StatusCode, Json<CouponItem>), ApiError> {
    let c = state
        .billing
        .create_coupon(
            &staff.username,
            NewCoupon {
                code: req.code,
                percent_off: req.percent_off,
                amount_off_minor: req.amount_off_minor,
                currency: req.currency,
                max_uses: req.max_uses,
                expires_at: req.expires_at_ms.map(Timestamp),
                skus: req.skus,
            },
        )
        .await?;
    let actor = Actor::Staff(staff.id);
    let record = Record {
        actor: &actor,
        action: "coupon-created",
        subject: None,
        detail: format!("max_uses={}", c.max_uses),
    };
    state.audit.append(record).await?;
    Ok((StatusCode::CREATED, Json(coupon_item(c))))
}

/// Creates a redemption code for a product (staff); the code is shown this once.
#[utoipa::path(post, path = "/api/v1/admin/billing/codes", tag = "admin",
    request_body = CreateRedemptionCodeRequest,
    responses((status = 201, body = RedemptionCodeItem),
        (status = 400, body = ErrorBody, description = "invalid-redemption-code, invalid-product")))]
pub async fn create_code(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiJson(req): ApiJson<CreateRedemptionCodeRequest>,
) -> Result<(StatusCode, Json<RedemptionCodeItem>), ApiError> {
    let kind = ProductKind::parse(&req.kind).ok_or_else(|| CoreError::Billing {
        kind: ErrorKind::InvalidArgument,
        code: "invalid-product",
        message: "kind is plan or data".into(),
    })?;
    let c = state
        .billing
        .create_redemption_code(
            &staff.username,
            NewRedemptionCode {
                kind,
                sku: req.sku,
                title: req.title,
                currency: req.currency,
                max_uses: req.max_uses,
                expires_at: req.expires_at_ms.map(Timestamp),
            },
        )
        .await?;
    let actor = Actor::Staff(staff.id);
    let detail = format!("code={} sku={} max_uses={}", c.id, c.sku, c.max_uses);
    let record = Record { actor: &actor, action: "redemption-code-created", subject: None, detail };
    state.audit.append(record).await?;
    Ok((
        StatusCode::CREATED,
        Json(RedemptionCodeItem {
            id: c.id,
            code: c.code,
            kind: c.kind.as_str().into(),
            sku: c.sku,
            title: c.title,
            max_uses: c.max_uses,
            expires_at_ms: c.expires_at.map(|t| t.0),
        }),
    ))
}
