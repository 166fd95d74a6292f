//! `/api/v1/me/cancellation`: cancelling the caller's account, its window and "Continue
//! login"; `DELETE /api/v1/me/logins`; the deletion receipt.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kankan_accounts::DeletionReceipt;
use kankan_protocol::v1::{
    CancelRequest, Cancellation, CancellationStatus, DeletedCount, DeletionReceiptView, ErrorBody,
    LoginsDeleted,
};

use crate::extract::{ApiJson, CurrentUser};
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

/// Cancel the account, with the password entered again. Every session ends at once and the
/// account is suspended (its devices serve nobody, its members lose access) until the window
/// of `accounts.cancellation_working_days` working days ends; then it is deleted (crypto-shred
/// and purge). Logging in during the window answers `cancellation`, and
/// `DELETE /api/v1/me/cancellation` ("Continue login") keeps the account.
#[utoipa::path(post, path = "/api/v1/me/cancellation", tag = "me", request_body = CancelRequest,
    responses((status = 202, body = Cancellation),
        (status = 400, body = ErrorBody, description = "wrong-password"),
        (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<CancelRequest>,
) -> Result<(StatusCode, Json<Cancellation>), ApiError> {
    let ends_at = state.accounts.cancel(&p, &req.password).await?;
    Ok((StatusCode::ACCEPTED, Json(Cancellation { ends_at_ms: ends_at.0 })))
}

/// Whether the account is being cancelled, and until when.
#[utoipa::path(get, path = "/api/v1/me/cancellation", tag = "me",
    responses((status = 200, body = CancellationStatus), (status = 401, body = ErrorBody)))]
pub async fn status(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<CancellationStatus>, ApiError> {
    let ends = state.accounts.cancellation(&p).await?;
    Ok(Json(CancellationStatus {
        state: if ends.is_some() { "cancelling" } else { "active" }.into(),
        ends_at_ms: ends.map(|t| t.0),
    }))
}

/// "Continue login": end the cancellation; the account is active again.
#[utoipa::path(delete, path = "/api/v1/me/cancellation", tag = "me",
    responses((status = 204),
        (status = 404, body = ErrorBody, description = "the account is not being cancelled"),
        (status = 401, body = ErrorBody)))]
pub async fn continue_login(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<StatusCode, ApiError> {
    state.accounts.continue_account(&p).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete the account's whole login history (the current login's entry too; sessions stay).
#[utoipa::path(delete, path = "/api/v1/me/logins", tag = "me",
    responses((status = 200, body = LoginsDeleted), (status = 401, body = ErrorBody)))]
pub async fn delete_logins(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<LoginsDeleted>, ApiError> {
    Ok(Json(LoginsDeleted { deleted: state.accounts.delete_login_history(&p).await? }))
}

/// A deletion receipt, by the token its message carried (for `accounts.receipt_days`).
#[utoipa::path(get, path = "/api/v1/deletion-receipts/{token}", tag = "auth",
    params(("token" = String, Path)),
    responses((status = 200, body = DeletionReceiptView), (status = 404, body = ErrorBody)))]
pub async fn receipt(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<DeletionReceiptView>, ApiError> {
    Ok(Json(receipt_view(state.accounts.deletion_receipt(&token).await?)))
}

fn receipt_view(r: DeletionReceipt) -> DeletionReceiptView {
    DeletionReceiptView {
        reason: r.reason.as_str().into(),
        shredded_at_ms: r.shredded_at.0,
        purged_at_ms: r.purged_at.map(|t| t.0),
        deleted: r.counts.into_iter().map(|(kind, count)| DeletedCount { kind, count }).collect(),
        expires_at_ms: r.expires_at.0,
    }
}
