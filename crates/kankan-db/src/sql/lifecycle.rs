//! The end of an account's life: cancellation, the crypto-shred, receipts, the purge's last
//! step, dormancy, and deleting login history on request.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::columns::{account_col, u64_of};
use super::{Engine, R, SqlStore, opt_ts, ts, uuid_col, write_tx};
use crate::{
    AccountFootprint, DbError, DeletionReason, DeletionReceipt, LifecycleStore, PendingPurge,
};

/// The blind index a shredded account keeps: unique per account, never a real index (those
/// are 32-byte MACs), so the identifier it had is free for a new account.
fn tombstone_index(id: AccountId) -> Vec<u8> {
    let mut v = b"shredded:".to_vec();
    v.extend_from_slice(id.0.as_bytes());
    v
}

fn one_row(n: u64) -> R<()> {
    if n == 1 { Ok(()) } else { Err(DbError::NotFound("account")) }
}

async fn start_cancellation(
    pool: &AnyPool,
    id: AccountId,
    ends_at: Timestamp,
    now: Timestamp,
) -> R<()> {
    let mut tx = write_tx(pool).await?;
    let r = sqlx::query(
        "UPDATE accounts SET state = 'cancelling', cancel_ends_at_ms = $1, \
         state_changed_at_ms = $2 WHERE id = $3 AND state = 'active'",
    )
    .bind(ends_at.0)
    .bind(now.0)
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    one_row(r.rows_affected())?;
    revoke_sessions(&mut tx, id, now).await?;
    tx.commit().await?;
    Ok(())
}

async fn revoke_sessions(tx: &mut sqlx::AnyConnection, id: AccountId, now: Timestamp) -> R<()> {
    sqlx::query(
        "UPDATE sessions SET revoked_at_ms = $1 WHERE account_id = $2 AND revoked_at_ms IS NULL",
    )
    .bind(now.0)
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn count(pool: &AnyPool, sql: &'static str, id: AccountId) -> R<u64> {
    let row = sqlx::query(sql).bind(id.to_string()).fetch_one(pool).await?;
    u64_of(&row, "n")
}

async fn footprint(pool: &AnyPool, id: AccountId) -> R<AccountFootprint> {
    Ok(AccountFootprint {
        devices: count(pool, "SELECT COUNT(*) AS n FROM devices WHERE owner_id = $1", id).await?,
        recordings: count(
            pool,
            "SELECT COUNT(*) AS n FROM media_segments \
             WHERE uid IN (SELECT uid FROM devices WHERE owner_id = $1)",
            id,
        )
        .await?,
        events: count(pool, "SELECT COUNT(*) AS n FROM events WHERE account_id = $1", id).await?,
        album_items: count(pool, "SELECT COUNT(*) AS n FROM album_items WHERE account_id = $1", id)
            .await?,
        shares: count(
            pool,
            "SELECT COUNT(*) AS n FROM device_grants WHERE granted_by = $1 OR account_id = $1",
            id,
        )
        .await?,
        invitations: count(pool, "SELECT COUNT(*) AS n FROM invitations WHERE inviter = $1", id)
            .await?,
        push_subscriptions: count(
            pool,
            "SELECT COUNT(*) AS n FROM push_subscriptions WHERE account_id = $1",
            id,
        )
        .await?,
        webhooks: count(pool, "SELECT COUNT(*) AS n FROM webhooks WHERE account_id = $1", id)
            .await?,
        sessions: count(pool, "SELECT COUNT(*) AS n FROM sessions WHERE account_id = $1", id)
            .await?,
        login_events: count(
            pool,
            "SELECT COUNT(*) AS n FROM login_events WHERE account_id = $1",
            id,
        )
        .await?,
    })
}

fn counts_text(counts: &[(String, u64)]) -> String {
    counts.iter().map(|(k, n)| format!("{k}={n}")).collect::<Vec<_>>().join(",")
}

fn counts_of(text: &str) -> R<Vec<(String, u64)>> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, n) =
                p.split_once('=').ok_or_else(|| DbError::Corrupt("receipt counts".into()))?;
            let n = n.parse().map_err(|_| DbError::Corrupt("receipt counts".into()))?;
            Ok((k.to_string(), n))
        })
        .collect()
}

async fn shred(pool: &AnyPool, id: AccountId, r: &DeletionReceipt, now: Timestamp) -> R<bool> {
    let mut tx = write_tx(pool).await?;
    // The one statement that makes everything sealed under the account key unreadable: the
    // wrapped key is overwritten (with the contact, nickname and password hash), and the
    // contact's blind index gives way to a tombstone.
    let gone: Vec<u8> = Vec::new();
    let done = sqlx::query(
        "UPDATE accounts SET state = 'cancelled', key_wrapped = $1, contact_enc = $2, \
         contact_index = $3, nickname_enc = NULL, password_hash = '', state_reason = NULL, \
         cancel_ends_at_ms = NULL, dormant_notice_at_ms = NULL, state_changed_at_ms = $4 \
         WHERE id = $5 AND state <> 'cancelled'",
    )
    .bind(&gone)
    .bind(&gone)
    .bind(tombstone_index(id))
    .bind(now.0)
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    revoke_sessions(&mut tx, id, now).await?;
    // Its passkeys sign in no more (the rows would go with the account at the purge).
    for table in ["passkeys", "passkey_challenges"] {
        let sql = sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE account_id = $1"));
        sqlx::query(sql).bind(id.to_string()).execute(&mut *tx).await?;
    }
    sqlx::query(
        "INSERT INTO deletion_receipts (id, token_hash, reason, shredded_at_ms, purged_at_ms, \
         counts, expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(r.id.to_string())
    .bind(&r.token_hash)
    .bind(r.reason.as_str())
    .bind(r.shredded_at.0)
    .bind(r.purged_at.map(|t| t.0))
    .bind(counts_text(&r.counts))
    .bind(r.expires_at.0)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO account_purges (account_id, receipt_id, shredded_at_ms) VALUES ($1, $2, $3)",
    )
    .bind(id.to_string())
    .bind(r.id.to_string())
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    checkpoint(pool).await?;
    Ok(true)
}

/// On SQLite, after a shred or a purge: the pages as they were before stay in the database
/// file until a checkpoint copies the new ones over them, and in the write-ahead log until it
/// is emptied (`secure_delete` zeroes what a change frees in the pages it writes).
async fn checkpoint(pool: &AnyPool) -> R<()> {
    if Engine::of(pool) != Engine::Sqlite {
        return Ok(());
    }
    // Readers still on an older snapshot keep the log (each try waits out the busy timeout
    // first); a few tries, then the next shred, purge or automatic checkpoint does it.
    for _ in 0..3 {
        let r = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(pool).await?;
        if r.try_get::<i64, _>(0)? == 0 {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tracing::warn!("the write-ahead log could not be emptied (busy); the next checkpoint will");
    Ok(())
}

fn receipt_from(row: &AnyRow) -> R<DeletionReceipt> {
    let reason: String = row.try_get("reason")?;
    let counts: String = row.try_get("counts")?;
    Ok(DeletionReceipt {
        id: uuid_col(row, "id")?,
        token_hash: row.try_get("token_hash")?,
        reason: DeletionReason::parse(&reason)
            .ok_or_else(|| DbError::Corrupt(format!("reason {reason:?}")))?,
        shredded_at: ts(row, "shredded_at_ms")?,
        purged_at: opt_ts(row, "purged_at_ms")?,
        counts: counts_of(&counts)?,
        expires_at: ts(row, "expires_at_ms")?,
    })
}

fn ids(rows: &[AnyRow]) -> R<Vec<AccountId>> {
    rows.iter().map(|r| account_col(r, "id")).collect()
}

async fn finish_purge(pool: &AnyPool, p: &PendingPurge, now: Timestamp) -> R<()> {
    let mut tx = write_tx(pool).await?;
    sqlx::query("DELETE FROM accounts WHERE id = $1 AND state = 'cancelled'")
        .bind(p.account.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM account_purges WHERE account_id = $1")
        .bind(p.account.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE deletion_receipts SET purged_at_ms = $1 WHERE id = $2")
        .bind(now.0)
        .bind(p.receipt.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    checkpoint(pool).await
}

#[async_trait]
impl LifecycleStore for SqlStore {
    async fn start_cancellation(&self, id: AccountId, ends_at: Timestamp, now: Timestamp) -> R<()> {
        start_cancellation(&self.pool, id, ends_at, now).await
    }

    async fn cancellation_ends(&self, id: AccountId) -> R<Option<Timestamp>> {
        let row = sqlx::query(
            "SELECT cancel_ends_at_ms FROM accounts WHERE id = $1 AND state = 'cancelling'",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| opt_ts(&r, "cancel_ends_at_ms")).transpose().map(Option::flatten)
    }

    async fn end_cancellation(&self, id: AccountId, now: Timestamp) -> R<bool> {
        let r = sqlx::query(
            "UPDATE accounts SET state = 'active', cancel_ends_at_ms = NULL, \
             state_changed_at_ms = $1 WHERE id = $2 AND state = 'cancelling'",
        )
        .bind(now.0)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn due_cancellations(&self, now: Timestamp, limit: u32) -> R<Vec<AccountId>> {
        let q = sqlx::query(
            "SELECT id FROM accounts WHERE state = 'cancelling' AND cancel_ends_at_ms <= $1 \
             ORDER BY cancel_ends_at_ms LIMIT $2",
        )
        .bind(now.0)
        .bind(i64::from(limit));
        ids(&q.fetch_all(&self.pool).await?)
    }

    async fn account_footprint(&self, id: AccountId) -> R<AccountFootprint> {
        footprint(&self.pool, id).await
    }

    async fn shred_account(
        &self,
        id: AccountId,
        receipt: &DeletionReceipt,
        now: Timestamp,
    ) -> R<bool> {
        shred(&self.pool, id, receipt, now).await
    }

    async fn pending_purges(&self, limit: u32) -> R<Vec<PendingPurge>> {
        let rows = sqlx::query(
            "SELECT account_id, receipt_id FROM account_purges ORDER BY shredded_at_ms LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingPurge {
                    account: account_col(r, "account_id")?,
                    receipt: uuid_col(r, "receipt_id")?,
                })
            })
            .collect()
    }

    async fn finish_purge(&self, purge: &PendingPurge, now: Timestamp) -> R<()> {
        finish_purge(&self.pool, purge, now).await
    }

    async fn deletion_receipt(
        &self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> R<Option<DeletionReceipt>> {
        let row = sqlx::query(
            "SELECT id, token_hash, reason, shredded_at_ms, purged_at_ms, counts, expires_at_ms \
             FROM deletion_receipts WHERE token_hash = $1 AND expires_at_ms > $2",
        )
        .bind(token_hash)
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(receipt_from).transpose()
    }

    async fn expire_deletion_receipts(&self, now: Timestamp) -> R<u64> {
        let r = sqlx::query("DELETE FROM deletion_receipts WHERE expires_at_ms <= $1")
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    async fn delete_login_events(&self, id: AccountId) -> R<u64> {
        let r = sqlx::query("DELETE FROM login_events WHERE account_id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    async fn dormant_unnoticed(&self, seen_before: Timestamp, limit: u32) -> R<Vec<AccountId>> {
        let q = sqlx::query(
            "SELECT id FROM accounts WHERE state = 'active' AND last_seen_at_ms < $1 \
             AND dormant_notice_at_ms IS NULL ORDER BY last_seen_at_ms LIMIT $2",
        )
        .bind(seen_before.0)
        .bind(i64::from(limit));
        ids(&q.fetch_all(&self.pool).await?)
    }

    async fn mark_dormant_notice(
        &self,
        id: AccountId,
        seen_before: Timestamp,
        at: Timestamp,
    ) -> R<bool> {
        let r = sqlx::query(
            "UPDATE accounts SET dormant_notice_at_ms = $1 WHERE id = $2 AND state = 'active' \
             AND last_seen_at_ms < $3 AND dormant_notice_at_ms IS NULL",
        )
        .bind(at.0)
        .bind(id.to_string())
        .bind(seen_before.0)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn dormant_due(
        &self,
        seen_before: Timestamp,
        noticed_before: Timestamp,
        limit: u32,
    ) -> R<Vec<AccountId>> {
        let q = sqlx::query(
            "SELECT id FROM accounts WHERE state = 'active' AND last_seen_at_ms < $1 \
             AND dormant_notice_at_ms IS NOT NULL AND dormant_notice_at_ms <= $2 \
             ORDER BY last_seen_at_ms LIMIT $3",
        )
        .bind(seen_before.0)
        .bind(noticed_before.0)
        .bind(i64::from(limit));
        ids(&q.fetch_all(&self.pool).await?)
    }
}
