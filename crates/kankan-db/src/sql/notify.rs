//! Notification rows, always selected by account (the runner alone reads a target by id), and
//! the events' dispatch marks (crash recovery of the dispatcher).

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::columns::account_col;
use super::{R, SqlStore, opt_ts, ts, uuid_col};
use crate::{
    DbError, Delivery, DeliveryStatus, DeviceNotificationRow, Event, NotificationSettingsRow,
    NotifyStore, PushSubscriptionRow, WebhookRow,
};

pub(super) fn sub_from(r: &AnyRow) -> R<PushSubscriptionRow> {
    Ok(PushSubscriptionRow {
        id: uuid_col(r, "id")?,
        account_id: account_col(r, "account_id")?,
        endpoint_index: r.try_get("endpoint_index")?,
        sub_enc: r.try_get("sub_enc")?,
        created_at: ts(r, "created_at_ms")?,
    })
}

/// Inserts the subscription, or replaces the sealed keys of the account's row with the same
/// endpoint; returns the id in force.
pub(super) async fn put_subscription(pool: &AnyPool, s: &PushSubscriptionRow) -> R<uuid::Uuid> {
    let row = sqlx::query(
        "INSERT INTO push_subscriptions (id, account_id, endpoint_index, sub_enc, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, endpoint_index) DO UPDATE \
         SET sub_enc = excluded.sub_enc RETURNING id",
    )
    .bind(s.id.to_string())
    .bind(s.account_id.to_string())
    .bind(&s.endpoint_index)
    .bind(&s.sub_enc)
    .bind(s.created_at.0)
    .fetch_one(pool)
    .await?;
    uuid_col(&row, "id")
}

pub(super) async fn delete_subscription(
    pool: &AnyPool,
    account: AccountId,
    endpoint_index: &[u8],
) -> R<bool> {
    let r =
        sqlx::query("DELETE FROM push_subscriptions WHERE account_id = $1 AND endpoint_index = $2")
            .bind(account.to_string())
            .bind(endpoint_index)
            .execute(pool)
            .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn delete_subscription_by_id(pool: &AnyPool, id: uuid::Uuid) -> R<bool> {
    let r = sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
        .bind(id.to_string())
        .execute(pool)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn subscriptions(
    pool: &AnyPool,
    account: AccountId,
) -> R<Vec<PushSubscriptionRow>> {
    let rows = sqlx::query(
        "SELECT id, account_id, endpoint_index, sub_enc, created_at_ms FROM push_subscriptions \
         WHERE account_id = $1 ORDER BY created_at_ms, id",
    )
    .bind(account.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter().map(sub_from).collect()
}

pub(super) async fn subscription(pool: &AnyPool, id: uuid::Uuid) -> R<Option<PushSubscriptionRow>> {
    let row = sqlx::query(
        "SELECT id, account_id, endpoint_index, sub_enc, created_at_ms FROM push_subscriptions \
         WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(sub_from).transpose()
}

pub(super) async fn settings(
    pool: &AnyPool,
    account: AccountId,
) -> R<Option<NotificationSettingsRow>> {
    let row = sqlx::query(
        "SELECT method, quiet_start_min, quiet_end_min, time_zone FROM notification_settings \
         WHERE account_id = $1",
    )
    .bind(account.to_string())
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let minute = |col: &str| -> R<Option<u16>> {
        r.try_get::<Option<i64>, _>(col)?
            .map(|m| u16::try_from(m).map_err(|_| DbError::Corrupt(format!("{col} {m}"))))
            .transpose()
    };
    let quiet_hours = match (minute("quiet_start_min")?, minute("quiet_end_min")?) {
        (Some(s), Some(e)) => Some((s, e)),
        _ => None,
    };
    Ok(Some(NotificationSettingsRow {
        method: r.try_get("method")?,
        quiet_hours,
        time_zone: r.try_get("time_zone")?,
    }))
}

pub(super) async fn put_settings(
    pool: &AnyPool,
    account: AccountId,
    s: &NotificationSettingsRow,
    at: Timestamp,
) -> R<()> {
    sqlx::query(
        "INSERT INTO notification_settings (account_id, method, quiet_start_min, quiet_end_min, \
         time_zone, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id) DO UPDATE \
         SET method = excluded.method, quiet_start_min = excluded.quiet_start_min, \
         quiet_end_min = excluded.quiet_end_min, time_zone = excluded.time_zone, \
         updated_at_ms = excluded.updated_at_ms",
    )
    .bind(account.to_string())
    .bind(&s.method)
    .bind(s.quiet_hours.map(|q| i64::from(q.0)))
    .bind(s.quiet_hours.map(|q| i64::from(q.1)))
    .bind(&s.time_zone)
    .bind(at.0)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn device_settings(
    pool: &AnyPool,
    account: AccountId,
    uid: &str,
) -> R<Option<DeviceNotificationRow>> {
    let row = sqlx::query(
        "SELECT kinds, snoozed_until_ms FROM device_notification_settings \
         WHERE account_id = $1 AND uid = $2",
    )
    .bind(account.to_string())
    .bind(uid)
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let kinds: String = r.try_get("kinds")?;
    Ok(Some(DeviceNotificationRow {
        kinds: kinds.split(',').filter(|k| !k.is_empty()).map(str::to_string).collect(),
        snoozed_until: opt_ts(&r, "snoozed_until_ms")?,
    }))
}

pub(super) async fn put_device_settings(
    pool: &AnyPool,
    account: AccountId,
    uid: &str,
    s: &DeviceNotificationRow,
) -> R<()> {
    sqlx::query(
        "INSERT INTO device_notification_settings (account_id, uid, kinds, snoozed_until_ms) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, uid) DO UPDATE \
         SET kinds = excluded.kinds, snoozed_until_ms = excluded.snoozed_until_ms",
    )
    .bind(account.to_string())
    .bind(uid)
    .bind(s.kinds.join(","))
    .bind(s.snoozed_until.map(|t| t.0))
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes every account's notification preferences for the device (inside the unbind
/// transaction): the next owner starts from the defaults.
pub(super) async fn forget_device(tx: &mut sqlx::AnyConnection, uid: &str) -> R<()> {
    sqlx::query("DELETE FROM device_notification_settings WHERE uid = $1")
        .bind(uid)
        .execute(tx)
        .await?;
    Ok(())
}

fn webhook_from(r: &AnyRow) -> R<WebhookRow> {
    Ok(WebhookRow {
        id: uuid_col(r, "id")?,
        account_id: account_col(r, "account_id")?,
        url_enc: r.try_get("url_enc")?,
        secret_enc: r.try_get("secret_enc")?,
        created_at: ts(r, "created_at_ms")?,
    })
}

pub(super) async fn insert_webhook(pool: &AnyPool, w: &WebhookRow) -> R<()> {
    sqlx::query(
        "INSERT INTO webhooks (id, account_id, url_enc, secret_enc, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(w.id.to_string())
    .bind(w.account_id.to_string())
    .bind(&w.url_enc)
    .bind(&w.secret_enc)
    .bind(w.created_at.0)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn webhooks(pool: &AnyPool, account: AccountId) -> R<Vec<WebhookRow>> {
    let rows = sqlx::query(
        "SELECT id, account_id, url_enc, secret_enc, created_at_ms FROM webhooks \
         WHERE account_id = $1 ORDER BY created_at_ms, id",
    )
    .bind(account.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter().map(webhook_from).collect()
}

pub(super) async fn webhook(pool: &AnyPool, id: uuid::Uuid) -> R<Option<WebhookRow>> {
    let row = sqlx::query(
        "SELECT id, account_id, url_enc, secret_enc, created_at_ms FROM webhooks WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(webhook_from).transpose()
}

pub(super) async fn delete_webhook(pool: &AnyPool, account: AccountId, id: uuid::Uuid) -> R<bool> {
    let r = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND account_id = $2")
        .bind(id.to_string())
        .bind(account.to_string())
        .execute(pool)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Records an attempt, under the account it was for (the owner's or a member's: the
/// dispatcher decides who is told); false (nothing stored) if the event is gone.
pub(super) async fn insert_delivery(pool: &AnyPool, d: &Delivery) -> R<bool> {
    let r = sqlx::query(
        "INSERT INTO notification_deliveries (id, event_id, account_id, channel, target_id, \
         attempt, status, detail, at_ms) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 \
         WHERE EXISTS (SELECT 1 FROM events WHERE id = $10)",
    )
    .bind(d.id.to_string())
    .bind(d.event_id.to_string())
    .bind(d.account_id.to_string())
    .bind(&d.channel)
    .bind(d.target_id.map(|t| t.to_string()))
    .bind(i64::from(d.attempt))
    .bind(d.status.as_str())
    .bind(&d.detail)
    .bind(d.at.0)
    .bind(d.event_id.to_string())
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

fn delivery_from(r: &AnyRow) -> R<Delivery> {
    let status: String = r.try_get("status")?;
    let target: Option<String> = r.try_get("target_id")?;
    Ok(Delivery {
        id: uuid_col(r, "id")?,
        event_id: uuid_col(r, "event_id")?,
        account_id: account_col(r, "account_id")?,
        channel: r.try_get("channel")?,
        target_id: target
            .map(|t| uuid::Uuid::parse_str(&t))
            .transpose()
            .map_err(|e| DbError::Corrupt(format!("target_id: {e}")))?,
        attempt: u32::try_from(r.try_get::<i64, _>("attempt")?)
            .map_err(|_| DbError::Corrupt("attempt".into()))?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| DbError::Corrupt(format!("status {status:?}")))?,
        detail: r.try_get("detail")?,
        at: ts(r, "at_ms")?,
    })
}

macro_rules! delivery_columns {
    () => {
        "id, event_id, account_id, channel, target_id, attempt, status, detail, at_ms"
    };
}

pub(super) async fn deliveries(
    pool: &AnyPool,
    account: AccountId,
    event: uuid::Uuid,
) -> R<Vec<Delivery>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        delivery_columns!(),
        " FROM notification_deliveries WHERE account_id = $1 AND event_id = $2 ORDER BY at_ms, id"
    ))
    .bind(account.to_string())
    .bind(event.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter().map(delivery_from).collect()
}

/// The account's records, newest first; a deleted event's are left out.
pub(super) async fn account_deliveries(
    pool: &AnyPool,
    account: AccountId,
    status: Option<DeliveryStatus>,
    limit: u32,
) -> R<Vec<Delivery>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        delivery_columns!(),
        " FROM notification_deliveries d WHERE account_id = $1 AND ($2 IS NULL OR status = $3) \
         AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id \
                         AND e.deleted_at_ms IS NOT NULL) \
         ORDER BY at_ms DESC, id DESC LIMIT $4"
    ))
    .bind(account.to_string())
    .bind(status.map(DeliveryStatus::as_str))
    .bind(status.map(DeliveryStatus::as_str))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(delivery_from).collect()
}

pub(super) async fn count_since(
    pool: &AnyPool,
    account: AccountId,
    channel: &str,
    status: DeliveryStatus,
    since: Timestamp,
) -> R<u64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notification_deliveries \
         WHERE account_id = $1 AND status = $2 AND at_ms >= $3 AND channel = $4",
    )
    .bind(account.to_string())
    .bind(status.as_str())
    .bind(since.0)
    .bind(channel)
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn mark_dispatched(pool: &AnyPool, id: uuid::Uuid, at: Timestamp) -> R<bool> {
    let r = sqlx::query(
        "UPDATE events SET dispatched_at_ms = $1 WHERE id = $2 AND dispatched_at_ms IS NULL",
    )
    .bind(at.0)
    .bind(id.to_string())
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn undispatched(
    pool: &AnyPool,
    from: Timestamp,
    before: Timestamp,
    limit: u32,
) -> R<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT id, account_id, uid, kind, started_at_ms, ended_at_ms, zone, read_at_ms, \
         created_at_ms, clip_from_ms, clip_to_ms, level_db, verdict, hold_alert, label, score_e4, box_x_e4, box_y_e4, box_w_e4, box_h_e4, \
         EXISTS (SELECT 1 FROM event_thumbnails t WHERE t.event_id = events.id) AS thumbnail \
         FROM events WHERE dispatched_at_ms IS NULL AND deleted_at_ms IS NULL \
         AND created_at_ms >= $1 AND created_at_ms < $2 ORDER BY created_at_ms, id LIMIT $3",
    )
    .bind(from.0)
    .bind(before.0)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(super::event_rows::event_from).collect()
}

/// The stored secret `name`, inserting `value_enc` first if there is none (the first of two
/// racing servers wins, and both read the winner).
pub(super) async fn server_secret(
    pool: &AnyPool,
    name: &str,
    value_enc: &[u8],
    at: Timestamp,
) -> R<Vec<u8>> {
    sqlx::query(
        "INSERT INTO server_secrets (name, value_enc, created_at_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(value_enc)
    .bind(at.0)
    .execute(pool)
    .await?;
    let row = sqlx::query("SELECT value_enc FROM server_secrets WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await?;
    Ok(row.try_get("value_enc")?)
}

#[async_trait]
impl NotifyStore for SqlStore {
    // Push subscriptions.
    async fn put_push_subscription(&self, sub: &crate::PushSubscriptionRow) -> R<uuid::Uuid> {
        put_subscription(&self.pool, sub).await
    }
    async fn delete_push_subscription(&self, account: AccountId, idx: &[u8]) -> R<bool> {
        delete_subscription(&self.pool, account, idx).await
    }
    async fn delete_push_subscription_by_id(&self, id: uuid::Uuid) -> R<bool> {
        delete_subscription_by_id(&self.pool, id).await
    }
    async fn push_subscriptions(&self, account: AccountId) -> R<Vec<crate::PushSubscriptionRow>> {
        subscriptions(&self.pool, account).await
    }
    async fn push_subscription(&self, id: uuid::Uuid) -> R<Option<crate::PushSubscriptionRow>> {
        subscription(&self.pool, id).await
    }

    // Settings.
    async fn notification_settings(
        &self,
        account: AccountId,
    ) -> R<Option<crate::NotificationSettingsRow>> {
        settings(&self.pool, account).await
    }
    async fn put_notification_settings(
        &self,
        account: AccountId,
        settings: &crate::NotificationSettingsRow,
        at: Timestamp,
    ) -> R<()> {
        put_settings(&self.pool, account, settings, at).await
    }
    async fn device_notification_settings(
        &self,
        account: AccountId,
        uid: &str,
    ) -> R<Option<crate::DeviceNotificationRow>> {
        device_settings(&self.pool, account, uid).await
    }
    async fn put_device_notification_settings(
        &self,
        account: AccountId,
        uid: &str,
        settings: &crate::DeviceNotificationRow,
    ) -> R<()> {
        put_device_settings(&self.pool, account, uid, settings).await
    }

    // Webhooks.
    async fn insert_webhook(&self, webhook: &crate::WebhookRow) -> R<()> {
        insert_webhook(&self.pool, webhook).await
    }
    async fn webhooks(&self, account: AccountId) -> R<Vec<crate::WebhookRow>> {
        webhooks(&self.pool, account).await
    }
    async fn webhook(&self, id: uuid::Uuid) -> R<Option<crate::WebhookRow>> {
        webhook(&self.pool, id).await
    }
    async fn delete_webhook(&self, account: AccountId, id: uuid::Uuid) -> R<bool> {
        delete_webhook(&self.pool, account, id).await
    }

    // Deliveries.
    async fn insert_delivery(&self, delivery: &crate::Delivery) -> R<bool> {
        insert_delivery(&self.pool, delivery).await
    }
    async fn deliveries(&self, account: AccountId, event: uuid::Uuid) -> R<Vec<crate::Delivery>> {
        deliveries(&self.pool, account, event).await
    }
    async fn account_deliveries(
        &self,
        account: AccountId,
        status: Option<crate::DeliveryStatus>,
        limit: u32,
    ) -> R<Vec<crate::Delivery>> {
        account_deliveries(&self.pool, account, status, limit).await
    }
    async fn count_deliveries_since(
        &self,
        account: AccountId,
        channel: &str,
        status: crate::DeliveryStatus,
        since: Timestamp,
    ) -> R<u64> {
        count_since(&self.pool, account, channel, status, since).await
    }

    // Dispatch marks (crash recovery of the dispatcher).
    async fn mark_event_dispatched(&self, id: uuid::Uuid, at: Timestamp) -> R<bool> {
        mark_dispatched(&self.pool, id, at).await
    }
    async fn claim_event_dispatch(
        &self,
        id: uuid::Uuid,
        now: Timestamp,
        until: Timestamp,
    ) -> R<bool> {
        let r = sqlx::query(
            "UPDATE events SET dispatch_claim_until_ms = $1 WHERE id = $2 \
             AND dispatched_at_ms IS NULL \
             AND (dispatch_claim_until_ms IS NULL OR dispatch_claim_until_ms <= $3)",
        )
        .bind(until.0)
        .bind(id.to_string())
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }
    async fn release_event_dispatch(&self, id: uuid::Uuid) -> R<()> {
        sqlx::query("UPDATE events SET dispatch_claim_until_ms = NULL WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
    async fn undispatched_events(
        &self,
        from: Timestamp,
        before: Timestamp,
        limit: u32,
    ) -> R<Vec<Event>> {
        undispatched(&self.pool, from, before, limit).await
    }

    // Server secrets.
    async fn server_secret_or_insert(
        &self,
        name: &str,
        value_enc: &[u8],
        at: Timestamp,
    ) -> R<Vec<u8>> {
        server_secret(&self.pool, name, value_enc, at).await
    }
}
