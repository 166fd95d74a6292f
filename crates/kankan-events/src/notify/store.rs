//! Sealing and opening the account's notification secrets: a push subscription (endpoint and
//! keys) and a webhook (URL and signing secret) are stored only under the account key.

use kankan_crypto::AccountKey;
use kankan_db::{PushSubscriptionRow, WebhookRow};
use kankan_notify::webpush::PushSubscription;
use serde::{Deserialize, Serialize};

use crate::CoreError;

pub(crate) const SUBSCRIPTION_FIELD: &str = "push-subscription";

#[derive(Serialize, Deserialize)]
struct SealedSubscription {
    endpoint: String,
    p256dh: String,
    auth: String,
}

pub(crate) fn seal_subscription(
    key: &AccountKey,
    sub: &PushSubscription,
) -> Result<Vec<u8>, CoreError> {
    let plain = serde_json::to_vec(&SealedSubscription {
        endpoint: sub.endpoint.clone(),
        p256dh: sub.p256dh.clone(),
        auth: sub.auth.clone(),
    })
    .map_err(|e| CoreError::Internal(e.to_string()))?;
    Ok(key.seal(SUBSCRIPTION_FIELD, &plain)?)
}

pub(crate) fn open_subscription(
    key: &AccountKey,
    row: &PushSubscriptionRow,
) -> Result<PushSubscription, CoreError> {
    let plain = key.open(SUBSCRIPTION_FIELD, &row.sub_enc)?;
    let s: SealedSubscription = serde_json::from_slice(&plain)
        .map_err(|e| CoreError::Internal(format!("stored subscription: {e}")))?;
    Ok(PushSubscription { endpoint: s.endpoint, p256dh: s.p256dh, auth: s.auth })
}

pub(crate) fn url_field(id: uuid::Uuid) -> String {
    format!("webhook-url/{id}")
}

pub(crate) fn secret_field(id: uuid::Uuid) -> String {
    format!("webhook-secret/{id}")
}

/// The webhook's URL and signing secret (the secret's bytes are the HMAC key).
pub(crate) fn open_webhook(
    key: &AccountKey,
    row: &WebhookRow,
) -> Result<(String, Vec<u8>), CoreError> {
    let url = key.open_string(&url_field(row.id), &row.url_enc)?;
    let secret = key.open(&secret_field(row.id), &row.secret_enc)?;
    Ok((url, secret))
}
