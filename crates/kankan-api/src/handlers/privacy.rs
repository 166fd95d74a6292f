//! The privacy policy and About (public), the account's consents and policy acceptance, a
//! guardian's consent for a child's account, and the operator's announcements.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use kankan_accounts::{ConsentOverview, PolicyVersion, Purpose};
use kankan_protocol::v1::{
    About, AcceptPolicyRequest, Announcement, AnnouncementRequest, ConsentEntry, ConsentRequest,
    ConsentsResponse, ErrorBody, GuardianConsentRequest, PolicyDocument, PolicyQuery,
    PolicyVersionInfo, PurposeConsent,
};

use crate::extract::{ApiJson, Client, CurrentStaff, CurrentUser};
use crate::{ApiError, AppState};

fn info(v: &PolicyVersion) -> PolicyVersionInfo {
    PolicyVersionInfo {
        version: v.version.clone(),
        major: v.major,
        published: v.published.clone(),
        changes: v.changes.clone(),
    }
}

fn consents_dto(o: ConsentOverview) -> ConsentsResponse {
    ConsentsResponse {
        purposes: o
            .purposes
            .into_iter()
            .map(|p| PurposeConsent {
                purpose: p.purpose.as_str().into(),
                granted: p.granted,
                at_ms: p.at.map(|t| t.0),
                available: p.available,
            })
            .collect(),
        accepted_version: o.accepted_version,
        current_version: o.current_version,
        acceptance_required: o.acceptance_required,
        newer_versions: o.newer_versions.iter().map(info).collect(),
        child: o.child,
        disclaimer_acknowledged: o.disclaimer_acknowledged,
        history: o
            .history
            .into_iter()
            .map(|c| ConsentEntry {
                purpose: c.purpose,
                version: c.version,
                granted: c.granted,
                how: c.how,
                at_ms: c.at.0,
            })
            .collect(),
    }
}

/// The privacy policy: the version in force, or a published one.
#[utoipa::path(get, path = "/api/v1/privacy/policy", tag = "privacy",
    params(PolicyQuery),
    responses((status = 200, body = PolicyDocument),
        (status = 404, body = ErrorBody, description = "not-found: no such version")))]
pub async fn policy(
    State(state): State<AppState>,
    Query(q): Query<PolicyQuery>,
) -> Result<Json<PolicyDocument>, ApiError> {
    let privacy = state.accounts.privacy();
    let v = match q.version.as_deref() {
        Some(name) => privacy.version(name).ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such policy version")
        })?,
        None => privacy.current(),
    };
    let current = v.version == privacy.current().version;
    Ok(Json(PolicyDocument { info: info(v), text: v.text.clone(), current }))
}

/// About: the policy's versions, the operator's disclaimer, contact details and response time,
/// and where AI descriptions send frames.
#[utoipa::path(get, path = "/api/v1/about", tag = "privacy",
    responses((status = 200, body = About)))]
pub async fn about(State(state): State<AppState>) -> Json<About> {
    let p = state.accounts.privacy();
    let ai_host = state.events.ai_endpoint_host();
    Json(About {
        policies: p.versions().iter().map(info).collect(),
        current_version: p.current().version.clone(),
        disclaimer: p.disclaimer.clone(),
        contact: p.contact.clone(),
        response_working_days: p.response_working_days,
        child_age: p.child_age,
        cloud_recording_optional: p.cloud_recording_optional,
        ai_descriptions: ai_host.is_some(),
        ai_endpoint_host: ai_host,
    })
}

/// The account's consents, the policy version it accepted and the history.
#[utoipa::path(get, path = "/api/v1/me/consents", tag = "privacy",
    responses((status = 200, body = ConsentsResponse), (status = 401, body = ErrorBody)))]
pub async fn consents(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<ConsentsResponse>, ApiError> {
    Ok(Json(consents_dto(state.accounts.consents().overview(&p).await?)))
}

/// Give or withdraw a consent; withdrawing stops the processing at once and deletes what it
/// produced.
#[utoipa::path(put, path = "/api/v1/me/consents/{purpose}", tag = "privacy",
    params(("purpose" = String, Path, description = "face-recognition, ai-descriptions or cloud-recording")),
    request_body = ConsentRequest,
    responses((status = 200, body = ConsentsResponse),
        (status = 403, body = ErrorBody, description = "not-for-child-accounts"),
        (status = 422, body = ErrorBody, description = "unknown-purpose, consent-not-optional")))]
pub async fn set_consent(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    Path(purpose): Path<String>,
    ApiJson(req): ApiJson<ConsentRequest>,
) -> Result<Json<ConsentsResponse>, ApiError> {
    let purpose = Purpose::parse(&purpose)?;
    Ok(Json(consents_dto(state.accounts.consents().set(&p, purpose, req.granted).await?)))
}

/// Accept the policy version in force.
#[utoipa::path(post, path = "/api/v1/me/policy/accept", tag = "privacy",
    request_body = AcceptPolicyRequest,
    responses((status = 200, body = ConsentsResponse),
        (status = 422, body = ErrorBody, description = "policy-version-not-current")))]
pub async fn accept_policy(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<AcceptPolicyRequest>,
) -> Result<Json<ConsentsResponse>, ApiError> {
    Ok(Json(consents_dto(state.accounts.consents().accept_policy(&p, &req.version).await?)))
}

/// Record that the camera disclaimer was shown (the app shows it once, when adding a camera).
#[utoipa::path(post, path = "/api/v1/me/disclaimer", tag = "privacy",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn acknowledge_disclaimer(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<StatusCode, ApiError> {
    state.accounts.consents().acknowledge_disclaimer(&p).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A guardian consents for a child's account with the code they received, accepting the
/// policy on the child's behalf; the child can then log in.
#[utoipa::path(post, path = "/api/v1/auth/register/guardian", tag = "auth",
    request_body = GuardianConsentRequest,
    responses((status = 204),
        (status = 400, body = ErrorBody, description = "invalid-code, invalid-identifier"),
        (status = 422, body = ErrorBody, description = "policy-not-accepted"),
        (status = 429, body = ErrorBody)))]
pub async fn guardian_consent(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<GuardianConsentRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .accounts
        .guardian_consent(&req.child, &req.guardian, &req.code, &req.accept_policy, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn announcement_dto(a: kankan_events::notify::announce::AnnouncementRow) -> Announcement {
    Announcement { id: a.id, title: a.title, body: a.body, at_ms: a.created_at.0 }
}

/// The operator's announcements, newest first.
#[utoipa::path(get, path = "/api/v1/announcements", tag = "privacy",
    responses((status = 200, body = Vec<Announcement>), (status = 401, body = ErrorBody)))]
pub async fn announcements(
    State(state): State<AppState>,
    CurrentUser(_p): CurrentUser,
) -> Result<Json<Vec<Announcement>>, ApiError> {
    let list = state.announcements.list().await?;
    Ok(Json(list.into_iter().map(announcement_dto).collect()))
}

/// Send an announcement to every user: listed in the app and pushed to every subscribed
/// browser.
#[utoipa::path(post, path = "/api/v1/admin/announcements", tag = "admin",
    request_body = AnnouncementRequest,
    responses((status = 201, body = Announcement),
        (status = 400, body = ErrorBody, description = "invalid-announcement"),
        (status = 401, body = ErrorBody)))]
pub async fn send_announcement(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiJson(req): ApiJson<AnnouncementRequest>,
) -> Result<(StatusCode, Json<Announcement>), ApiError> {
    let a = state.announcements.send(&staff.id.to_string(), &req.title, &req.body).await?;
    tracing::info!(staff = %staff.username, announcement = %a.id, "announcement sent");
    Ok((StatusCode::CREATED, Json(announcement_dto(a))))
}
