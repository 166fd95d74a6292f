//! The operator's console, staff side: login with the second factor (always), enrolment,
//! the staff session, and staff management. Every staff action is written to the audit log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use kankan_accounts::{StaffLogin, StaffPrincipal};
use kankan_base::StaffId;
use kankan_core::StaffRole;
use kankan_core::audit::{Actor, Record};
use kankan_core::staff::StaffPermission;
use kankan_protocol::v1::{
    CreateStaffRequest, ErrorBody, StaffEnrolRequest, StaffEnrolmentResponse, StaffListResponse,
    StaffLoginRequest, StaffLoginResponse, StaffMe, StaffMemberView, StaffRoleRequest,
};

use crate::extract::{ApiJson, Client, CurrentStaff};
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

/// Writes a staff member's action to the audit log (details: ids, kinds and counts only).
pub(crate) async fn audit_staff(
    state: &AppState,
    staff: StaffId,
    action: &str,
    subject: Option<kankan_base::AccountId>,
    detail: String,
) -> Result<(), ApiError> {
    let actor = Actor::Staff(staff);
    state.audit.append(Record { actor: &actor, action, subject, detail }).await?;
    Ok(())
}

async fn session_answer(state: &AppState, login: StaffLogin) -> Result<Response, ApiError> {
    match login {
        StaffLogin::Session { token, staff } => {
            audit_staff(state, staff.id, "staff-login", None, String::new()).await?;
            Ok(Json(StaffLoginResponse { token }).into_response())
        }
        StaffLogin::Enrol(e) => {
            let body = StaffEnrolmentResponse {
                enrolment_token: e.token,
                otpauth_uri: e.otpauth_uri,
                secret: e.secret,
                qr_svg: e.qr_svg,
                expires_at_ms: e.expires_at.0,
            };
            Ok((StatusCode::ACCEPTED, Json(body)).into_response())
        }
    }
}

/// Log in as staff: user name, password and the current code of their authenticator. A staff
/// member without a second factor gets 202 with an enrolment (a QR code) instead.
#[utoipa::path(post, path = "/api/v1/admin/login", tag = "admin",
    request_body = StaffLoginRequest,
    responses((status = 200, body = StaffLoginResponse),
        (status = 202, body = StaffEnrolmentResponse, description = "enrol a second factor"),
        (status = 401, body = ErrorBody,
            description = "invalid-credentials, second-factor-required, second-factor-invalid"),
        (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<StaffLoginRequest>,
) -> Result<Response, ApiError> {
    let login =
        state.accounts.staff_login(&req.username, &req.password, req.code.as_deref(), &client);
    let login = login.await?;
    if let StaffLogin::Enrol(_) = &login {
        tracing::info!(ip = %client.ip, "staff second factor enrolment started");
    }
    session_answer(&state, login).await
}

/// Confirm a second-factor enrolment with a code from the new secret: the first session.
#[utoipa::path(post, path = "/api/v1/admin/login/enrol", tag = "admin",
    request_body = StaffEnrolRequest,
    responses((status = 200, body = StaffLoginResponse),
        (status = 401, body = ErrorBody, description = "second-factor-invalid, enrolment-expired"),
        (status = 429, body = ErrorBody)))]
pub async fn enrol(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<StaffEnrolRequest>,
) -> Result<Response, ApiError> {
    let login =
        state.accounts.confirm_staff_enrolment(&req.enrolment_token, &req.code, &client).await?;
    if let StaffLogin::Session { staff, .. } = &login {
        audit_staff(&state, staff.id, "staff-second-factor-enrolled", None, String::new()).await?;
    }
    session_answer(&state, login).await
}

fn me_of(staff: &StaffPrincipal) -> StaffMe {
    StaffMe {
        id: staff.id.to_string(),
        username: staff.username.clone(),
        role: staff.role.name().into(),
        permissions: StaffPermission::ALL
            .into_iter()
            .filter(|p| staff.role.permits(*p))
            .map(|p| p.name().to_string())
            .collect(),
    }
}

/// The signed-in staff member, their role and its permissions.
#[utoipa::path(get, path = "/api/v1/admin/me", tag = "admin",
    responses((status = 200, body = StaffMe), (status = 401, body = ErrorBody)))]
pub async fn me(CurrentStaff(staff): CurrentStaff) -> Json<StaffMe> {
    Json(me_of(&staff))
}

/// The staff bearer token of a request.
pub struct StaffToken(pub String);

impl axum::extract::FromRequestParts<AppState> for StaffToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        crate::extract::bearer(parts)
            .map(|t| StaffToken(t.to_string()))
            .ok_or_else(ApiError::unauthenticated)
    }
}

/// End this staff session.
#[utoipa::path(post, path = "/api/v1/admin/logout", tag = "admin",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    StaffToken(token): StaffToken,
) -> Result<StatusCode, ApiError> {
    state.accounts.staff_logout(&token).await?;
    audit_staff(&state, staff.id, "staff-logout", None, String::new()).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn member_view(m: kankan_accounts::StaffMember) -> StaffMemberView {
    StaffMemberView {
        id: m.id.to_string(),
        username: m.username,
        role: m.role,
        second_factor: m.second_factor,
        disabled: m.disabled_at.is_some(),
        created_at_ms: m.created_at.0,
    }
}

fn role_of(name: &str) -> Result<StaffRole, ApiError> {
    StaffRole::parse(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "a role is support, operations or admin".to_string(),
        )
    })
}

/// The staff members, by user name.
#[utoipa::path(get, path = "/api/v1/admin/staff", tag = "admin",
    responses((status = 200, body = StaffListResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "staff-forbidden")))]
pub async fn list_staff(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
) -> Result<Json<StaffListResponse>, ApiError> {
    let list = state.accounts.staff_members().await?;
    audit_staff(&state, staff.id, "staff-listed", None, format!("count={}", list.len())).await?;
    Ok(Json(StaffListResponse { staff: list.into_iter().map(member_view).collect() }))
}

/// Create a staff member with a role and their own password; they enrol a second factor at
/// their first login.
#[utoipa::path(post, path = "/api/v1/admin/staff", tag = "admin",
    request_body = CreateStaffRequest,
    responses((status = 201, body = StaffMemberView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn create_staff(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiJson(req): ApiJson<CreateStaffRequest>,
) -> Result<(StatusCode, Json<StaffMemberView>), ApiError> {
    let role = role_of(&req.role)?;
    let id = state.accounts.create_staff(&req.username, &req.password, role).await?;
    let detail = format!("staff={id} role={}", role.name());
    audit_staff(&state, staff.id, "staff-created", None, detail).await?;
    let m = state.accounts.staff_member(id).await?;
    Ok((StatusCode::CREATED, Json(member_view(m))))
}

/// Change a staff member's role (not one's own).
#[utoipa::path(post, path = "/api/v1/admin/staff/{id}/role", tag = "admin",
    params(("id" = uuid::Uuid, Path)), request_body = StaffRoleRequest,
    responses((status = 200, body = StaffMemberView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn set_role(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiJson(req): ApiJson<StaffRoleRequest>,
) -> Result<Json<StaffMemberView>, ApiError> {
    let role = role_of(&req.role)?;
    let id = StaffId(id);
    state.accounts.set_staff_role(staff.id, id, role).await?;
    let detail = format!("staff={id} role={}", role.name());
    audit_staff(&state, staff.id, "staff-role-changed", None, detail).await?;
    Ok(Json(member_view(state.accounts.staff_member(id).await?)))
}

/// Disable a staff member: their sessions end and they cannot log in (not oneself).
#[utoipa::path(post, path = "/api/v1/admin/staff/{id}/disable", tag = "admin",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = StaffMemberView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn disable_staff(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<StaffMemberView>, ApiError> {
    let id = StaffId(id);
    state.accounts.disable_staff(staff.id, id).await?;
    audit_staff(&state, staff.id, "staff-disabled", None, format!("staff={id}")).await?;
    Ok(Json(member_view(state.accounts.staff_member(id).await?)))
}
