//! Cloud-storage plans and 4G data: the catalogue (public), a camera's plan and SIM (`view`),
//! and the checkouts that buy them (the owner only: `manage-recordings`), which price the
//! product from the catalogue and hand it to billing.

use axum::Json;
use axum::extract::State;
use kankan_core::authz::Capability;
use kankan_plans::{DeviceLimits, Entitlement};
use kankan_protocol::device::mask_identifier;
use kankan_protocol::v1::{
    Catalogue, CheckoutStarted, DataOffer, DevicePlanInfo, EntitlementInfo, ErrorBody, Limits,
    PlanCheckoutRequest, PlanOffer, SimCheckoutRequest, SimInfo, TopupInfo,
};

use crate::extract::{ApiJson, CurrentUser};
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

fn limits(l: &DeviceLimits) -> Limits {
    Limits {
        kind: l.kind.as_str().into(),
        retention_days: l.retention_days,
        quota_mib: l.quota_mib,
    }
}

/// The plans and 4G data packages on sale, and the free tier.
#[utoipa::path(get, path = "/api/v1/plans", tag = "plans",
    responses((status = 200, body = Catalogue)))]
pub async fn catalogue(State(state): State<AppState>) -> Json<Catalogue> {
    let c = state.plans.config();
    let free = limits(&state.recordings.free_tier());
    let plans = c
        .plans
        .iter()
        .map(|p| PlanOffer {
            sku: p.sku.clone(),
            title: p.title.clone(),
            kind: p.kind.mode().as_str().into(),
            retention_days: p.retention_days,
            period: p.period.as_str().into(),
            period_days: p.period.days(),
            amount_minor: p.amount_minor,
            currency: p.currency.clone(),
            quota_mib: p.quota_mib,
        })
        .collect();
    let data = c
        .data
        .iter()
        .map(|d| DataOffer {
            sku: d.sku.clone(),
            title: d.title.clone(),
            mb: d.mb,
            days: d.days,
            amount_minor: d.amount_minor,
            currency: d.currency.clone(),
        })
        .collect();
    Json(Catalogue { free, plans, data })
}

fn entitlement(state: &AppState, e: &Entitlement) -> EntitlementInfo {
    let title =
        state.plans.config().plan(&e.sku).map_or_else(|| e.sku.clone(), |p| p.title.clone());
    EntitlementInfo {
        order_id: e.order_id.to_string(),
        sku: e.sku.clone(),
        title,
        kind: e.kind.as_str().into(),
        retention_days: e.retention_days,
        starts_at_ms: e.starts_at.0,
        ends_at_ms: e.ends_at.0,
        state: e.state.as_str().into(),
    }
}

/// The camera's plan: the period in force, renewals, when it ends, what its footage follows.
#[utoipa::path(get, path = "/api/v1/devices/{uid}/plan", tag = "plans",
    params(("uid" = String, Path)),
    responses((status = 200, body = DevicePlanInfo), (status = 404, body = ErrorBody)))]
pub async fn device_plan(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
) -> Result<Json<DevicePlanInfo>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::View, &uid).await?;
    let v = state.plans.device_plan(&h).await?;
    Ok(Json(DevicePlanInfo {
        current: v.current.as_ref().map(|e| entitlement(&state, e)),
        scheduled: v.scheduled.iter().map(|e| entitlement(&state, e)).collect(),
        ends_at_ms: v.ends_at.map(|t| t.0),
        effective: limits(&v.limits),
        renew_sku: v.renew_sku,
    }))
}

/// Buy a plan for the camera (the owner only): answers the provider's payment page. Buying
/// the current plan again renews it from its end; another plan replaces it when paid.
#[utoipa::path(post, path = "/api/v1/devices/{uid}/plan/checkout", tag = "plans",
    params(("uid" = String, Path)), request_body = PlanCheckoutRequest,
    responses((status = 200, body = CheckoutStarted),
        (status = 400, body = ErrorBody, description = "unknown-plan, billing-provider-unknown, a coupon's error"),
        (status = 404, body = ErrorBody)))]
pub async fn plan_checkout(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
    ApiJson(req): ApiJson<PlanCheckoutRequest>,
) -> Result<Json<CheckoutStarted>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::ManageRecordings, &uid).await?;
    let product = state.plans.plan_product(&h, &req.sku)?;
    let c = state.billing.checkout(&p, product, &req.provider, req.coupon.as_deref()).await?;
    Ok(Json(CheckoutStarted { order_id: c.order_id.to_string(), redirect_url: c.redirect_url }))
}

/// The camera's SIM card (ICCID masked), the data it used, its top-ups.
#[utoipa::path(get, path = "/api/v1/devices/{uid}/sim", tag = "plans",
    params(("uid" = String, Path)),
    responses((status = 200, body = SimInfo),
        (status = 400, body = ErrorBody, description = "no-sim: the camera reported no SIM card"),
        (status = 404, body = ErrorBody)))]
pub async fn sim(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
) -> Result<Json<SimInfo>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::View, &uid).await?;
    let v = state.plans.sim_view(&h).await?;
    Ok(Json(SimInfo {
        iccid: mask_identifier(&v.card.iccid),
        status: v.card.status,
        used_kb: v.card.used_kb,
        allowance_kb: v.allowance_kb,
        topups: v
            .topups
            .iter()
            .map(|t| TopupInfo {
                order_id: t.order_id.to_string(),
                sku: t.sku.clone(),
                allowance_kb: t.allowance_kb,
                starts_at_ms: t.starts_at.0,
                ends_at_ms: t.ends_at.0,
            })
            .collect(),
    }))
}

/// Buy 4G data for the camera's SIM (the owner only): the order is for its ICCID.
#[utoipa::path(post, path = "/api/v1/devices/{uid}/sim/checkout", tag = "plans",
    params(("uid" = String, Path)), request_body = SimCheckoutRequest,
    responses((status = 200, body = CheckoutStarted),
        (status = 400, body = ErrorBody, description = "unknown-plan, no-sim, billing-provider-unknown"),
        (status = 404, body = ErrorBody)))]
pub async fn sim_checkout(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
    ApiJson(req): ApiJson<SimCheckoutRequest>,
) -> Result<Json<CheckoutStarted>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::ManageRecordings, &uid).await?;
    let product = state.plans.data_product(&h, &req.sku).await?;
    let c = state.billing.checkout(&p, product, &req.provider, req.coupon.as_deref()).await?;
    Ok(Json(CheckoutStarted { order_id: c.order_id.to_string(), redirect_url: c.redirect_url }))
}
