//! Devices, bind tokens, shadow state and commands.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Engine, R, SqlStore, flag, opt_ts, ts, uuid_col, write_tx};
use crate::{
    BindToken, CommandStatus, DbError, Device, DeviceCommand, DeviceGrant, DeviceKind, DeviceState,
    DeviceStore, RecordingMode, RtspCamera, SecretRotation,
};

const DEVICE_COLS: &str = "SELECT uid, model, kind, secret_mac, pairing_key_enc, batch, \
    provisioned_at_ms, owner_id, name_enc, bound_at_ms FROM devices";

fn device_from(row: &AnyRow) -> R<Device> {
    let kind: String = row.try_get("kind")?;
    let owner: Option<String> = row.try_get("owner_id")?;
    Ok(Device {
        uid: row.try_get("uid")?,
        model: row.try_get("model")?,
        kind: DeviceKind::parse(&kind).ok_or_else(|| DbError::Corrupt(format!("kind {kind:?}")))?,
        secret_mac: row.try_get("secret_mac")?,
        pairing_key_enc: row.try_get("pairing_key_enc")?,
        batch: row.try_get("batch")?,
        provisioned_at: ts(row, "provisioned_at_ms")?,
        owner: owner
            .map(|o| o.parse().map(AccountId))
            .transpose()
            .map_err(|e| DbError::Corrupt(format!("owner_id: {e}")))?,
        name_enc: row.try_get("name_enc")?,
        bound_at: opt_ts(row, "bound_at_ms")?,
    })
}

pub(super) async fn insert_devices(pool: &AnyPool, devices: &[Device]) -> R<()> {
    let mut tx = write_tx(pool).await?;
    for d in devices {
        insert_device(&mut tx, d).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Inserts an RTSP camera: its device row (already bound to its owner), its empty shadow and
/// its source, in one transaction.
async fn insert_rtsp_camera(
    pool: &AnyPool,
    d: &Device,
    cam: &crate::RtspCamera,
    max_of_owner: u32,
) -> R<bool> {
    if d.owner != Some(cam.owner) || d.bound_at.is_none() || d.uid != cam.uid {
        return Err(DbError::Conflict("an RTSP camera is bound to its owner when added"));
    }
    let mut tx = write_tx(pool).await?;
    // The owner's row, locked, serialises the owner's adds: two at once cannot both pass
    // the count (SQLite's write transaction already does).
    let lock = sqlx::AssertSqlSafe(format!(
        "SELECT id FROM accounts WHERE id = $1{}",
        Engine::of(pool).for_update()
    ));
    sqlx::query(lock).bind(cam.owner.to_string()).fetch_optional(&mut *tx).await?;
    let had: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM rtsp_cameras r JOIN devices d ON d.uid = r.uid \
         WHERE d.owner_id = $1",
    )
    .bind(cam.owner.to_string())
    .fetch_one(&mut *tx)
    .await?;
    if had >= i64::from(max_of_owner) {
        return Ok(false);
    }
    insert_device(&mut tx, d).await?;
    super::rtsp::insert_source(&mut tx, cam).await?;
    tx.commit().await?;
    Ok(true)
}

/// Inserts one device row as given (owner and binding included); `Conflict("device")` on a
/// taken UID.
pub(super) async fn insert_device(tx: &mut sqlx::Transaction<'_, sqlx::Any>, d: &Device) -> R<()> {
    sqlx::query(
        "INSERT INTO devices (uid, model, kind, secret_mac, pairing_key_enc, batch, \
         provisioned_at_ms, owner_id, name_enc, bound_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&d.uid)
    .bind(&d.model)
    .bind(d.kind.as_str())
    .bind(&d.secret_mac)
    .bind(&d.pairing_key_enc)
    .bind(&d.batch)
    .bind(d.provisioned_at.0)
    .bind(d.owner.map(|o| o.to_string()))
    .bind(&d.name_enc)
    .bind(d.bound_at.map(|t| t.0))
    .execute(&mut **tx)
    .await
    .map_err(|e| DbError::conflict_on_unique(e, "device"))?;
    Ok(())
}

pub(super) async fn device(pool: &AnyPool, uid: &str) -> R<Option<Device>> {
    let sql = sqlx::AssertSqlSafe(format!("{DEVICE_COLS} WHERE uid = $1"));
    let row = sqlx::query(sql).bind(uid).fetch_optional(pool).await?;
    row.as_ref().map(device_from).transpose()
}

pub(super) async fn devices_of(pool: &AnyPool, owner: AccountId) -> R<Vec<Device>> {
    let sql =
        sqlx::AssertSqlSafe(format!("{DEVICE_COLS} WHERE owner_id = $1 ORDER BY bound_at_ms, uid"));
    let rows = sqlx::query(sql).bind(owner.to_string()).fetch_all(pool).await?;
    rows.iter().map(device_from).collect()
}

pub(super) async fn insert_bind_token(pool: &AnyPool, t: &BindToken) -> R<()> {
    sqlx::query(
        "INSERT INTO bind_tokens (token_hash, account_id, uid, created_at_ms, expires_at_ms) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&t.token_hash[..])
    .bind(t.account_id.to_string())
    .bind(&t.uid)
    .bind(t.created_at.0)
    .bind(t.expires_at.0)
    .execute(pool)
    .await?;
    Ok(())
}

/// Uses a bind token for `uid` and binds the device to the token's account, in one
/// transaction. `NotFound("bind token")` if the token is unknown, used, expired or for
/// another device; `Conflict("device binding")` if the device has another owner. A device
/// already bound to the token's account (a rejoin after it lost its network) keeps its
/// binding as it is.
pub(super) async fn claim(
    pool: &AnyPool,
    hash: &[u8; 32],
    uid: &str,
    now: Timestamp,
) -> R<AccountId> {
    let mut tx = write_tx(pool).await?;
    let account: Option<String> = sqlx::query_scalar(
        "UPDATE bind_tokens SET used_at_ms = $1 WHERE token_hash = $2 AND uid = $3 \
         AND used_at_ms IS NULL AND expires_at_ms > $4 RETURNING account_id",
    )
    .bind(now.0)
    .bind(&hash[..])
    .bind(uid)
    .bind(now.0)
    .fetch_optional(&mut *tx)
    .await?;
    let account = account.ok_or(DbError::NotFound("bind token"))?;
    let bound = sqlx::query(
        "UPDATE devices SET owner_id = $1, bound_at_ms = $2, name_enc = NULL \
         WHERE uid = $3 AND owner_id IS NULL",
    )
    .bind(&account)
    .bind(now.0)
    .bind(uid)
    .execute(&mut *tx)
    .await?;
    if bound.rows_affected() != 1 {
        // A rejoin: the device is already bound to the token's account (it lost its network
        // and was shown a new code): the binding stays as it is.
        let owner: Option<Option<String>> =
            sqlx::query_scalar("SELECT owner_id FROM devices WHERE uid = $1")
                .bind(uid)
                .fetch_optional(&mut *tx)
                .await?;
        if owner.flatten().as_deref() != Some(account.as_str()) {
            return Err(DbError::Conflict("device binding"));
        }
    }
    // The device is online: it is claiming over MQTT right now.
    sqlx::query(
        "INSERT INTO device_state (uid, online, last_seen_ms) VALUES ($1, 1, $2) \
         ON CONFLICT (uid) DO UPDATE SET online = 1, last_seen_ms = excluded.last_seen_ms",
    )
    .bind(uid)
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    account.parse().map(AccountId).map_err(|e| DbError::Corrupt(format!("account_id: {e}")))
}

/// Unbinds and deletes everything recorded about the device for its owner: its state,
/// commands, tokens, events (thumbnails and delivery records with them), notification
/// preferences, recordings and data key, RTSP source and grants.
pub(super) async fn unbind(pool: &AnyPool, uid: &str, owner: AccountId) -> R<bool> {
    let mut tx = write_tx(pool).await?;
    let r = sqlx::query(
        "UPDATE devices SET owner_id = NULL, name_enc = NULL, bound_at_ms = NULL \
         WHERE uid = $1 AND owner_id = $2",
    )
    .bind(uid)
    .bind(owner.to_string())
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    for sql in [
        "DELETE FROM device_state WHERE uid = $1",
        "DELETE FROM device_commands WHERE uid = $1",
        "DELETE FROM bind_tokens WHERE uid = $1",
    ] {
        sqlx::query(sql).bind(uid).execute(&mut *tx).await?;
    }
    super::events::forget_device(&mut tx, uid).await?;
    super::notify::forget_device(&mut tx, uid).await?;
    super::media::forget_device(&mut tx, uid).await?;
    super::limits::forget_device(&mut tx, uid, kankan_base::Clock::now(&kankan_base::RealClock))
        .await?;
    super::rtsp::forget(&mut tx, uid).await?;
    super::grants::forget(&mut tx, uid).await?;
    super::access::forget(&mut tx, uid).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn set_name(pool: &AnyPool, uid: &str, owner: AccountId, enc: &[u8]) -> R<()> {
    let r = sqlx::query("UPDATE devices SET name_enc = $1 WHERE uid = $2 AND owner_id = $3")
        .bind(enc)
        .bind(uid)
        .bind(owner.to_string())
        .execute(pool)
        .await?;
    if r.rows_affected() == 1 { Ok(()) } else { Err(DbError::NotFound("device")) }
}

pub(super) async fn secret_rotation(pool: &AnyPool, uid: &str) -> R<Option<SecretRotation>> {
    let row = sqlx::query(
        "SELECT next_secret_mac, next_pairing_key_enc, rotation_msg, rotation_started_at_ms \
         FROM devices WHERE uid = $1 AND next_secret_mac IS NOT NULL",
    )
    .bind(uid)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(SecretRotation {
            next_secret_mac: r.try_get("next_secret_mac")?,
            next_pairing_key_enc: r.try_get("next_pairing_key_enc")?,
            message: r.try_get("rotation_msg")?,
            started_at: ts(&r, "rotation_started_at_ms")?,
        })
    })
    .transpose()
}

/// Starts a rotation unless one is pending (one statement); returns the pending one.
pub(super) async fn start_secret_rotation(
    pool: &AnyPool,
    uid: &str,
    r: &SecretRotation,
) -> R<SecretRotation> {
    sqlx::query(
        "UPDATE devices SET next_secret_mac = $1, next_pairing_key_enc = $2, rotation_msg = $3, \
         rotation_started_at_ms = $4 WHERE uid = $5 AND next_secret_mac IS NULL",
    )
    .bind(&r.next_secret_mac)
    .bind(&r.next_pairing_key_enc)
    .bind(&r.message)
    .bind(r.started_at.0)
    .bind(uid)
    .execute(pool)
    .await?;
    secret_rotation(pool, uid).await?.ok_or(DbError::NotFound("device"))
}

/// Promotes the pending secret (one statement): the old one no longer matches.
pub(super) async fn complete_secret_rotation(pool: &AnyPool, uid: &str, mac: &[u8]) -> R<bool> {
    let r = sqlx::query(
        "UPDATE devices SET secret_mac = next_secret_mac, pairing_key_enc = next_pairing_key_enc, \
         next_secret_mac = NULL, next_pairing_key_enc = NULL, rotation_msg = NULL, \
         rotation_started_at_ms = NULL WHERE uid = $1 AND next_secret_mac = $2",
    )
    .bind(uid)
    .bind(mac)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

fn u64_col(row: &AnyRow, col: &str) -> R<u64> {
    Ok(u64::try_from(row.try_get::<i64, _>(col)?).unwrap_or(0))
}

pub(super) async fn state(pool: &AnyPool, uid: &str) -> R<Option<DeviceState>> {
    let row = sqlx::query(
        "SELECT reported_enc, reported_at_ms, reported_version, desired_enc, desired_version, \
         online, last_seen_ms, recording_mode, recording_mode_since_ms FROM device_state \
         WHERE uid = $1",
    )
    .bind(uid)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(DeviceState {
            reported_enc: row.try_get("reported_enc")?,
            reported_at: opt_ts(&row, "reported_at_ms")?,
            reported_version: u64_col(&row, "reported_version")?,
            desired_enc: row.try_get("desired_enc")?,
            desired_version: u64_col(&row, "desired_version")?,
            online: flag(&row, "online")?,
            last_seen: opt_ts(&row, "last_seen_ms")?,
            recording_mode: super::recording_modes::mode_col(&row)?,
            recording_mode_since: Some(ts(&row, "recording_mode_since_ms")?).filter(|t| t.0 > 0),
        })
    })
    .transpose()
}

pub(super) async fn put_reported(
    pool: &AnyPool,
    uid: &str,
    enc: &[u8],
    version: u64,
    at: Timestamp,
) -> R<()> {
    sqlx::query(
        "UPDATE device_state SET reported_enc = $1, reported_version = $2, reported_at_ms = $3, \
         online = 1, last_seen_ms = $4 WHERE uid = $5",
    )
    .bind(enc)
    .bind(i64::try_from(version).unwrap_or(i64::MAX))
    .bind(at.0)
    .bind(at.0)
    .bind(uid)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn set_desired(
    pool: &AnyPool,
    uid: &str,
    enc: &[u8],
    mode: RecordingMode,
    mode_fixed: bool,
    at: Timestamp,
) -> R<Option<u64>> {
    // The CASE reads the mode in force before this statement sets it.
    let v: Option<i64> = sqlx::query_scalar(
        "UPDATE device_state SET desired_enc = $1, desired_version = desired_version + 1, \
         recording_mode_since_ms = CASE WHEN recording_mode = $2 \
             THEN recording_mode_since_ms ELSE $3 END, \
         recording_mode = $4 \
         WHERE uid = $5 AND ($6 = 0 OR recording_mode = $7) RETURNING desired_version",
    )
    .bind(enc)
    .bind(mode.as_str())
    .bind(at.0)
    .bind(mode.as_str())
    .bind(uid)
    .bind(i64::from(mode_fixed))
    .bind(mode.as_str())
    .fetch_optional(pool)
    .await?;
    match v {
        Some(v) => Ok(Some(u64::try_from(v).unwrap_or(0))),
        None => {
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM device_state WHERE uid = $1")
                    .bind(uid)
                    .fetch_optional(pool)
                    .await?;
            if exists.is_some() { Ok(None) } else { Err(DbError::NotFound("device")) }
        }
    }
}

pub(super) async fn set_presence(pool: &AnyPool, uid: &str, online: bool, at: Timestamp) -> R<()> {
    sqlx::query("UPDATE device_state SET online = $1, last_seen_ms = $2 WHERE uid = $3")
        .bind(i64::from(online))
        .bind(at.0)
        .bind(uid)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn insert_command(pool: &AnyPool, c: &DeviceCommand) -> R<()> {
    sqlx::query(
        "INSERT INTO device_commands (id, uid, name, args_json, status, error, created_at_ms, \
         deadline_ms, finished_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(c.id.to_string())
    .bind(&c.uid)
    .bind(&c.name)
    .bind(&c.args_json)
    .bind(c.status.as_str())
    .bind(&c.error)
    .bind(c.created_at.0)
    .bind(c.deadline.0)
    .bind(c.finished_at.map(|t| t.0))
    .execute(pool)
    .await?;
    Ok(())
}

/// Settles a command still `sent`; false if it was already settled or is not this device's.
pub(super) async fn finish_command(
    pool: &AnyPool,
    id: uuid::Uuid,
    uid: &str,
    status: CommandStatus,
    error: Option<&str>,
    at: Timestamp,
) -> R<bool> {
    let r = sqlx::query(
        "UPDATE device_commands SET status = $1, error = $2, finished_at_ms = $3 \
         WHERE id = $4 AND uid = $5 AND status = 'sent'",
    )
    .bind(status.as_str())
    .bind(error)
    .bind(at.0)
    .bind(id.to_string())
    .bind(uid)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn command(pool: &AnyPool, id: uuid::Uuid) -> R<Option<DeviceCommand>> {
    let row = sqlx::query(
        "SELECT id, uid, name, args_json, status, error, created_at_ms, deadline_ms, \
         finished_at_ms FROM device_commands WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        let status: String = row.try_get("status")?;
        Ok(DeviceCommand {
            id: uuid_col(&row, "id")?,
            uid: row.try_get("uid")?,
            name: row.try_get("name")?,
            args_json: row.try_get("args_json")?,
            status: CommandStatus::parse(&status)
                .ok_or_else(|| DbError::Corrupt(format!("status {status:?}")))?,
            error: row.try_get("error")?,
            created_at: ts(&row, "created_at_ms")?,
            deadline: ts(&row, "deadline_ms")?,
            finished_at: opt_ts(&row, "finished_at_ms")?,
        })
    })
    .transpose()
}

#[async_trait]
impl DeviceStore for SqlStore {
    // Devices and bind tokens.
    async fn insert_devices(&self, d: &[Device]) -> R<()> {
        insert_devices(&self.pool, d).await
    }
    async fn device(&self, uid: &str) -> R<Option<Device>> {
        device(&self.pool, uid).await
    }
    async fn devices_of(&self, owner: AccountId) -> R<Vec<Device>> {
        devices_of(&self.pool, owner).await
    }
    async fn insert_bind_token(&self, t: &BindToken) -> R<()> {
        insert_bind_token(&self.pool, t).await
    }
    async fn claim_device(&self, h: &[u8; 32], uid: &str, now: Timestamp) -> R<AccountId> {
        claim(&self.pool, h, uid, now).await
    }
    async fn unbind_device(&self, uid: &str, owner: AccountId) -> R<bool> {
        unbind(&self.pool, uid, owner).await
    }
    async fn set_device_name(&self, uid: &str, owner: AccountId, enc: &[u8]) -> R<()> {
        set_name(&self.pool, uid, owner, enc).await
    }

    // Secret rotation.
    async fn secret_rotation(&self, uid: &str) -> R<Option<SecretRotation>> {
        secret_rotation(&self.pool, uid).await
    }
    async fn start_secret_rotation(&self, uid: &str, r: &SecretRotation) -> R<SecretRotation> {
        start_secret_rotation(&self.pool, uid, r).await
    }
    async fn complete_secret_rotation(&self, uid: &str, mac: &[u8]) -> R<bool> {
        complete_secret_rotation(&self.pool, uid, mac).await
    }

    // Device grants (sharing).
    async fn insert_device_grant(&self, grant: &DeviceGrant) -> R<()> {
        super::grants::insert(&self.pool, grant).await
    }
    async fn device_grants_of(
        &self,
        uid: &str,
        account: AccountId,
        now: Timestamp,
    ) -> R<Vec<DeviceGrant>> {
        super::grants::live_of(&self.pool, uid, account, now).await
    }
    async fn device_grants_on(&self, uid: &str, now: Timestamp) -> R<Vec<DeviceGrant>> {
        super::grants::live_on(&self.pool, uid, now).await
    }
    async fn device_grants_held(&self, account: AccountId, now: Timestamp) -> R<Vec<DeviceGrant>> {
        super::grants::live_held(&self.pool, account, now).await
    }
    async fn revoke_device_grant(&self, id: uuid::Uuid, at: Timestamp) -> R<bool> {
        super::grants::revoke(&self.pool, id, at).await
    }

    // Shadow state.
    async fn device_state(&self, uid: &str) -> R<Option<DeviceState>> {
        state(&self.pool, uid).await
    }
    async fn put_reported(&self, uid: &str, enc: &[u8], v: u64, at: Timestamp) -> R<()> {
        put_reported(&self.pool, uid, enc, v, at).await
    }
    async fn set_desired(
        &self,
        uid: &str,
        enc: &[u8],
        mode: RecordingMode,
        mode_fixed: bool,
        at: Timestamp,
    ) -> R<Option<u64>> {
        set_desired(&self.pool, uid, enc, mode, mode_fixed, at).await
    }
    async fn set_presence(&self, uid: &str, online: bool, at: Timestamp) -> R<()> {
        set_presence(&self.pool, uid, online, at).await
    }

    // Commands.
    async fn insert_command(&self, c: &DeviceCommand) -> R<()> {
        insert_command(&self.pool, c).await
    }
    async fn finish_command(
        &self,
        id: uuid::Uuid,
        uid: &str,
        status: CommandStatus,
        error: Option<&str>,
        at: Timestamp,
    ) -> R<bool> {
        finish_command(&self.pool, id, uid, status, error, at).await
    }
    async fn command(&self, id: uuid::Uuid) -> R<Option<DeviceCommand>> {
        command(&self.pool, id).await
    }

    // RTSP cameras.
    async fn insert_rtsp_camera(&self, d: &Device, camera: &RtspCamera, max: u32) -> R<bool> {
        insert_rtsp_camera(&self.pool, d, camera, max).await
    }
    async fn rtsp_cameras(&self) -> R<Vec<RtspCamera>> {
        super::rtsp::all(&self.pool).await
    }
}
