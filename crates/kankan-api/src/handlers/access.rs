//! A device's access log: who watched it live, played back, downloaded or talked through it,
//! and when, for its owner (`share`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use kankan_core::authz::Capability;
use kankan_protocol::v1::{AccessEntry, AccessKind as WireKind, ErrorBody};
use kankan_recording::AccessKind;

use crate::extract::CurrentUser;
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

/// Who reached this device's media in the last 30 days (live view, playback, download, talk),
/// newest first, the owner's own accesses included; repeats of one account and kind within 5
/// minutes are one entry. The owner only.
#[utoipa::path(get, path = "/api/v1/devices/{uid}/access-log", tag = "devices",
    params(("uid" = String, Path)),
    responses((status = 200, body = Vec<AccessEntry>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn access_log(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
) -> Result<Json<Vec<AccessEntry>>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::Share, &uid).await?;
    let entries = state.recordings.access_log(&h).await?;
    let mut nicknames = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let nickname = match nicknames.get(&e.account) {
            Some(n) => Clone::clone(n),
            None => {
                let n = state.accounts.nickname_of(e.account).await?;
                nicknames.insert(e.account, n.clone());
                n
            }
        };
        let kind = match e.kind {
            AccessKind::Live => WireKind::Live,
            AccessKind::PlayBack => WireKind::Playback,
            AccessKind::Download => WireKind::Download,
            AccessKind::Talk => WireKind::Talk,
        };
        out.push(AccessEntry { at_ms: e.at.0, account: e.account.0, nickname, kind });
    }
    Ok(Json(out))
}
