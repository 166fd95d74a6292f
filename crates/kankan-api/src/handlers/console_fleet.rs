//! The operator's console: accounts (found through the blind index, bans with a reason) and
//! the fleet of devices (counts, a device's health and recent problems, never its video).
//! Every staff action is written to the audit log; a ban's free-text reason is kept with the
//! ban, never in the audit log.

use axum::Json;
use axum::extract::State;
use kankan_accounts::AccountOverview;
use kankan_base::AccountId;
use kankan_devices::{FleetDevice, FleetFilter};
use kankan_protocol::v1::{
    AccountSearchQuery, AccountSearchResponse, BanNoteView, BanRequest, ConsoleAccount,
    DeviceHealthResponse, DeviceProblemView, ErrorBody, FleetCountView, FleetDeviceView,
    FleetQuery, FleetResponse, HealthReportView,
};

use super::console::audit_staff;
use crate::extract::{ApiJson, CurrentStaff};
use crate::reject::{ApiPath, ApiQuery};
use crate::{ApiError, AppState};

fn account_view(a: AccountOverview) -> ConsoleAccount {
    ConsoleAccount {
        id: a.id.to_string(),
        state: a.state.as_str().into(),
        created_at_ms: a.created_at.0,
        verified_at_ms: a.verified_at.map(|t| t.0),
        devices: a.devices,
        banned: a.state == kankan_accounts::AccountState::Banned,
        ban_reason: a.ban_reason,
        ban_notes: a
            .ban_notes
            .into_iter()
            .map(|n| BanNoteView {
                action: n.action,
                staff_id: n.staff_id.map(|s| s.to_string()),
                reason: n.reason,
                at_ms: n.at.0,
            })
            .collect(),
    }
}

/// Find an account by exact e-mail address or phone number (through the blind index, never
/// a scan of contacts) or by id.
#[utoipa::path(get, path = "/api/v1/admin/accounts", tag = "admin",
    params(AccountSearchQuery),
    responses((status = 200, body = AccountSearchResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn search_accounts(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiQuery(q): ApiQuery<AccountSearchQuery>,
) -> Result<Json<AccountSearchResponse>, ApiError> {
    let found = state.accounts.search_accounts(&q.q).await?;
    let subject = found.first().map(|a| a.id);
    let detail = format!("found={}", found.len());
    audit_staff(&state, staff.id, "account-searched", subject, detail).await?;
    Ok(Json(AccountSearchResponse { accounts: found.into_iter().map(account_view).collect() }))
}

/// An account's state, devices count and bans.
#[utoipa::path(get, path = "/api/v1/admin/accounts/{id}", tag = "admin",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = ConsoleAccount), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_account(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<ConsoleAccount>, ApiError> {
    let id = AccountId(id);
    let a = state.accounts.account_overview(id).await?;
    audit_staff(&state, staff.id, "account-viewed", Some(id), String::new()).await?;
    Ok(Json(account_view(a)))
}

/// Ban an account with a reason: its sessions end and logins show the ban notice.
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/ban", tag = "admin",
    params(("id" = uuid::Uuid, Path)), request_body = BanRequest,
    responses((status = 200, body = ConsoleAccount), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "staff-forbidden"),
        (status = 404, body = ErrorBody)))]
pub async fn ban(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiJson(req): ApiJson<BanRequest>,
) -> Result<Json<ConsoleAccount>, ApiError> {
    let id = AccountId(id);
    state.accounts.ban_with_reason(id, Some(staff.id), &req.reason).await?;
    // The reason stays with the ban (its notes): the audit detail holds no free text.
    audit_staff(&state, staff.id, "account-banned", Some(id), "reason=ban-notes".into()).await?;
    Ok(Json(account_view(state.accounts.account_overview(id).await?)))
}

/// Lift a ban with a reason.
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/unban", tag = "admin",
    params(("id" = uuid::Uuid, Path)), request_body = BanRequest,
    responses((status = 200, body = ConsoleAccount), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn unban(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiJson(req): ApiJson<BanRequest>,
) -> Result<Json<ConsoleAccount>, ApiError> {
    let id = AccountId(id);
    let lifted = state.accounts.unban_with_reason(id, Some(staff.id), &req.reason).await?;
    let detail = format!("lifted={lifted} reason=ban-notes");
    audit_staff(&state, staff.id, "account-unbanned", Some(id), detail).await?;
    Ok(Json(account_view(state.accounts.account_overview(id).await?)))
}

fn device_view(d: FleetDevice) -> FleetDeviceView {
    FleetDeviceView {
        uid: d.uid,
        model: d.model,
        kind: d.kind,
        firmware: d.firmware,
        online: d.online,
        last_seen_ms: d.last_seen.map(|t| t.0),
        bound: d.bound,
        provisioned_at_ms: d.provisioned_at.0,
    }
}

/// The fleet: devices counted by model, firmware version and online state, and a page of
/// devices matching the filter.
#[utoipa::path(get, path = "/api/v1/admin/devices", tag = "admin",
    params(FleetQuery),
    responses((status = 200, body = FleetResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn fleet(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiQuery(q): ApiQuery<FleetQuery>,
) -> Result<Json<FleetResponse>, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let filter = FleetFilter { model: q.model, firmware: q.firmware, online: q.online };
    let (counts, devices) = state.devices.fleet(&filter, q.after.as_deref(), limit).await?;
    let next = (devices.len() == limit as usize).then(|| devices.last().map(|d| d.uid.clone()));
    let detail = format!("devices={}", devices.len());
    audit_staff(&state, staff.id, "fleet-viewed", None, detail).await?;
    Ok(Json(FleetResponse {
        counts: counts
            .into_iter()
            .map(|c| FleetCountView {
                model: c.model,
                firmware: c.firmware,
                online: c.online,
                count: c.count,
            })
            .collect(),
        devices: devices.into_iter().map(device_view).collect(),
        next: next.flatten(),
    }))
}

/// A device's health: online, last seen, firmware, what its last state report says of signal,
/// power and storage, and its recent problems. Never its video, recordings, events or owner.
#[utoipa::path(get, path = "/api/v1/admin/devices/{uid}", tag = "admin",
    params(("uid" = String, Path)),
    responses((status = 200, body = DeviceHealthResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn device_health(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(uid): ApiPath<String>,
) -> Result<Json<DeviceHealthResponse>, ApiError> {
    let h = state.devices.device_health(&uid).await?;
    let detail = format!("uid={}", h.device.uid);
    audit_staff(&state, staff.id, "device-health-viewed", None, detail).await?;
    Ok(Json(DeviceHealthResponse {
        device: device_view(h.device),
        report: h.report.map(|r| HealthReportView {
            reported_at_ms: r.reported_at.map(|t| t.0),
            signal_dbm: r.signal_dbm,
            battery_pct: r.battery_pct,
            charging: r.charging,
            sd_status: r.sd_status,
            sd_total_mb: r.sd_total_mb,
            sd_used_mb: r.sd_used_mb,
            sim_status: r.sim_status,
            settings_in_sync: r.settings_in_sync,
        }),
        problems: h
            .problems
            .into_iter()
            .map(|p| DeviceProblemView {
                at_ms: p.at.0,
                kind: p.kind,
                what: p.what,
                error: p.error,
            })
            .collect(),
    }))
}
