//! Invitations, memberships and their history. Every statement uses numbered placeholders and
//! portable SQL only, so it runs unchanged on PostgreSQL.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::grants::{COLS as GRANT_COLS, account_col, grant_from, insert_in};
use super::{Engine, R, SqlStore, opt_ts, ts, uuid_col, write_tx};
use crate::{DbError, DeviceGrant, Invitation, MembershipAction, MembershipEvent, ShareStore};

const INVITATION_COLS: &str = "SELECT id, token_hash, inviter, devices, bound_index, \
    created_at_ms, expires_at_ms, used_at_ms, used_by, revoked_at_ms FROM invitations";

fn invitation_from(row: &AnyRow) -> R<Invitation> {
    let hash: Vec<u8> = row.try_get("token_hash")?;
    let devices: String = row.try_get("devices")?;
    let used_by: Option<String> = row.try_get("used_by")?;
    Ok(Invitation {
        id: uuid_col(row, "id")?,
        token_hash: hash
            .try_into()
            .map_err(|_| DbError::Corrupt("invitations.token_hash: not 32 bytes".into()))?,
        inviter: account_col(row, "inviter")?,
        devices: devices.split(',').filter(|d| !d.is_empty()).map(str::to_string).collect(),
        bound_index: row.try_get("bound_index")?,
        created_at: ts(row, "created_at_ms")?,
        expires_at: ts(row, "expires_at_ms")?,
        used_at: opt_ts(row, "used_at_ms")?,
        used_by: used_by
            .map(|s| s.parse().map(AccountId))
            .transpose()
            .map_err(|e| DbError::Corrupt(format!("invitations.used_by: {e}")))?,
        revoked_at: opt_ts(row, "revoked_at_ms")?,
    })
}

fn event_from(row: &AnyRow) -> R<MembershipEvent> {
    let member: Option<String> = row.try_get("member")?;
    let action: String = row.try_get("action")?;
    Ok(MembershipEvent {
        id: uuid_col(row, "id")?,
        uid: row.try_get("uid")?,
        owner: account_col(row, "owner")?,
        member: member
            .map(|s| s.parse().map(AccountId))
            .transpose()
            .map_err(|e| DbError::Corrupt(format!("membership_history.member: {e}")))?,
        action: MembershipAction::parse(&action)
            .ok_or_else(|| DbError::Corrupt(format!("membership_history.action: {action}")))?,
        at: ts(row, "at_ms")?,
    })
}

/// Writes one history row (inside the caller's transaction).
async fn record(
    conn: &mut sqlx::AnyConnection,
    uid: &str,
    owner: AccountId,
    member: Option<AccountId>,
    action: MembershipAction,
    at: Timestamp,
) -> R<()> {
    sqlx::query(
        "INSERT INTO membership_history (id, uid, owner, member, action, at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(uid)
    .bind(owner.to_string())
    .bind(member.map(|m| m.to_string()))
    .bind(action.as_str())
    .bind(at.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether `owner` owns the device now, locking its row for the rest of the transaction.
async fn owns(
    conn: &mut sqlx::AnyConnection,
    engine: Engine,
    uid: &str,
    owner: AccountId,
) -> R<bool> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT owner_id FROM devices WHERE uid = $1{}",
        engine.for_update()
    ));
    let current: Option<Option<String>> =
        sqlx::query_scalar(sql).bind(uid).fetch_optional(conn).await?;
    Ok(current.flatten().as_deref() == Some(owner.to_string().as_str()))
}

/// Revokes the member's unrevoked grants from `owner` on the device; answers how many.
async fn revoke_member(
    conn: &mut sqlx::AnyConnection,
    uid: &str,
    owner: AccountId,
    member: AccountId,
    at: Timestamp,
) -> R<u64> {
    let r = sqlx::query(
        "UPDATE device_grants SET revoked_at_ms = $1 WHERE uid = $2 AND granted_by = $3 \
         AND account_id = $4 AND revoked_at_ms IS NULL",
    )
    .bind(at.0)
    .bind(uid)
    .bind(owner.to_string())
    .bind(member.to_string())
    .execute(conn)
    .await?;
    Ok(r.rows_affected())
}

/// Whether `member` holds an unrevoked grant of `owner` on the device that has not expired.
async fn is_member(
    conn: &mut sqlx::AnyConnection,
    uid: &str,
    owner: AccountId,
    member: AccountId,
    now: Timestamp,
) -> R<bool> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM device_grants WHERE uid = $1 AND granted_by = $2 \
         AND account_id = $3 AND revoked_at_ms IS NULL \
         AND (expires_at_ms IS NULL OR expires_at_ms > $4)",
    )
    .bind(uid)
    .bind(owner.to_string())
    .bind(member.to_string())
    .bind(now.0)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

async fn insert_invitation(pool: &AnyPool, inv: &Invitation) -> R<()> {
    let mut tx = write_tx(pool).await?;
    sqlx::query(
        "INSERT INTO invitations (id, token_hash, inviter, devices, bound_index, created_at_ms, \
         expires_at_ms, used_at_ms, used_by, revoked_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(inv.id.to_string())
    .bind(&inv.token_hash[..])
    .bind(inv.inviter.to_string())
    .bind(inv.devices.join(","))
    .bind(inv.bound_index.as_deref())
    .bind(inv.created_at.0)
    .bind(inv.expires_at.0)
    .bind(inv.used_at.map(|t| t.0))
    .bind(inv.used_by.map(|a| a.to_string()))
    .bind(inv.revoked_at.map(|t| t.0))
    .execute(&mut *tx)
    .await?;
    for uid in &inv.devices {
        record(&mut tx, uid, inv.inviter, None, MembershipAction::Invited, inv.created_at).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn accept(
    pool: &AnyPool,
    id: uuid::Uuid,
    account: AccountId,
    capabilities: &str,
    now: Timestamp,
) -> R<Vec<String>> {
    let engine = Engine::of(pool);
    let mut tx = write_tx(pool).await?;
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE invitations SET used_at_ms = $1, used_by = $2 WHERE id = $3 \
         AND used_at_ms IS NULL AND revoked_at_ms IS NULL AND expires_at_ms > $4 \
         RETURNING {}",
        INVITATION_COLS.trim_start_matches("SELECT ").trim_end_matches(" FROM invitations")
    ));
    let row = sqlx::query(sql)
        .bind(now.0)
        .bind(account.to_string())
        .bind(id.to_string())
        .bind(now.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(DbError::NotFound("invitation"))?;
    let inv = invitation_from(&row)?;
    let mut shared = Vec::new();
    for uid in &inv.devices {
        if !owns(&mut tx, engine, uid, inv.inviter).await? {
            continue;
        }
        if is_member(&mut tx, uid, inv.inviter, account, now).await? {
            // Already a member: accepting again keeps what the owner granted (replacing it
            // with the defaults would take capabilities away behind the owner's back).
            shared.push(uid.clone());
            continue;
        }
        revoke_member(&mut tx, uid, inv.inviter, account, now).await?;
        let grant = DeviceGrant {
            id: uuid::Uuid::now_v7(),
            uid: uid.clone(),
            account_id: account,
            granted_by: inv.inviter,
            capabilities: capabilities.to_string(),
            created_at: now,
            expires_at: None,
            revoked_at: None,
            schedule: None,
        };
        insert_in(&mut tx, &grant).await?;
        record(&mut tx, uid, inv.inviter, Some(account), MembershipAction::Joined, now).await?;
        shared.push(uid.clone());
    }
    tx.commit().await?;
    Ok(shared)
}

async fn replace(pool: &AnyPool, g: &DeviceGrant) -> R<bool> {
    let engine = Engine::of(pool);
    let mut tx = write_tx(pool).await?;
    if !owns(&mut tx, engine, &g.uid, g.granted_by).await? {
        return Ok(false);
    }
    if revoke_member(&mut tx, &g.uid, g.granted_by, g.account_id, g.created_at).await? == 0 {
        return Ok(false);
    }
    insert_in(&mut tx, g).await?;
    record(
        &mut tx,
        &g.uid,
        g.granted_by,
        Some(g.account_id),
        MembershipAction::Changed,
        g.created_at,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

async fn end(
    pool: &AnyPool,
    uid: &str,
    owner: AccountId,
    member: AccountId,
    action: MembershipAction,
    at: Timestamp,
) -> R<bool> {
    let mut tx = write_tx(pool).await?;
    if revoke_member(&mut tx, uid, owner, member, at).await? == 0 {
        return Ok(false);
    }
    record(&mut tx, uid, owner, Some(member), action, at).await?;
    tx.commit().await?;
    Ok(true)
}

#[async_trait]
impl ShareStore for SqlStore {
    async fn insert_invitation(&self, invitation: &Invitation) -> R<()> {
        insert_invitation(&self.pool, invitation).await
    }

    async fn invitation_by_token(&self, token_hash: &[u8; 32]) -> R<Option<Invitation>> {
        let sql = sqlx::AssertSqlSafe(format!("{INVITATION_COLS} WHERE token_hash = $1"));
        let row = sqlx::query(sql).bind(&token_hash[..]).fetch_optional(&self.pool).await?;
        row.as_ref().map(invitation_from).transpose()
    }

    async fn pending_invitations(&self, inviter: AccountId, now: Timestamp) -> R<Vec<Invitation>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{INVITATION_COLS} WHERE inviter = $1 AND used_at_ms IS NULL \
             AND revoked_at_ms IS NULL AND expires_at_ms > $2 ORDER BY created_at_ms DESC, id DESC"
        ));
        let rows =
            sqlx::query(sql).bind(inviter.to_string()).bind(now.0).fetch_all(&self.pool).await?;
        rows.iter().map(invitation_from).collect()
    }

    async fn revoke_invitation(
        &self,
        id: uuid::Uuid,
        inviter: AccountId,
        now: Timestamp,
    ) -> R<bool> {
        let r = sqlx::query(
            "UPDATE invitations SET revoked_at_ms = $1 WHERE id = $2 AND inviter = $3 \
             AND used_at_ms IS NULL AND revoked_at_ms IS NULL AND expires_at_ms > $4",
        )
        .bind(now.0)
        .bind(id.to_string())
        .bind(inviter.to_string())
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn accept_invitation(
        &self,
        id: uuid::Uuid,
        account: AccountId,
        capabilities: &str,
        now: Timestamp,
    ) -> R<Vec<String>> {
        accept(&self.pool, id, account, capabilities, now).await
    }

    async fn device_members(&self, uid: &str, owner: AccountId) -> R<Vec<DeviceGrant>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{GRANT_COLS} WHERE uid = $1 AND granted_by = $2 AND account_id <> $2 \
             AND revoked_at_ms IS NULL ORDER BY created_at_ms, id"
        ));
        let rows = sqlx::query(sql).bind(uid).bind(owner.to_string()).fetch_all(&self.pool).await?;
        rows.iter().map(grant_from).collect()
    }

    async fn replace_member_grant(&self, grant: &DeviceGrant) -> R<bool> {
        replace(&self.pool, grant).await
    }

    async fn end_membership(
        &self,
        uid: &str,
        owner: AccountId,
        member: AccountId,
        action: MembershipAction,
        at: Timestamp,
    ) -> R<bool> {
        end(&self.pool, uid, owner, member, action, at).await
    }

    async fn membership_history(
        &self,
        uid: &str,
        owner: AccountId,
        limit: u32,
    ) -> R<Vec<MembershipEvent>> {
        let rows = sqlx::query(
            "SELECT id, uid, owner, member, action, at_ms FROM membership_history \
             WHERE uid = $1 AND owner = $2 ORDER BY at_ms DESC, id DESC LIMIT $3",
        )
        .bind(uid)
        .bind(owner.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from).collect()
    }
}
