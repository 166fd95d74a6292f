//! Passkeys and their challenges. Every statement uses numbered placeholders and portable SQL
//! only, so it runs unchanged on PostgreSQL.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{R, SqlStore, opt_ts, ts, uuid_col, write_tx};
use crate::{DbError, PasskeyChallengeRow, PasskeyPurpose, PasskeyRow, PasskeyStore};

const COLS: &str = "id, account_id, credential_id, public_key, alg, sign_count, name_enc, \
                    backup_eligible, backed_up, created_at_ms, last_used_at_ms";

fn passkey_from(r: &AnyRow) -> R<PasskeyRow> {
    let count: i64 = r.try_get("sign_count")?;
    Ok(PasskeyRow {
        id: uuid_col(r, "id")?,
        account_id: AccountId(uuid_col(r, "account_id")?),
        credential_id: r.try_get("credential_id")?,
        public_key: r.try_get("public_key")?,
        alg: r.try_get("alg")?,
        sign_count: u32::try_from(count)
            .map_err(|_| DbError::Corrupt(format!("sign_count {count}")))?,
        name_enc: r.try_get("name_enc")?,
        backup_eligible: r.try_get::<i64, _>("backup_eligible")? != 0,
        backed_up: r.try_get::<i64, _>("backed_up")? != 0,
        created_at: ts(r, "created_at_ms")?,
        last_used_at: opt_ts(r, "last_used_at_ms")?,
    })
}

fn challenge_from(r: &AnyRow, purpose: PasskeyPurpose) -> R<PasskeyChallengeRow> {
    let account: Option<String> = r.try_get("account_id")?;
    Ok(PasskeyChallengeRow {
        id: uuid_col(r, "id")?,
        purpose,
        account_id: account
            .map(|s| uuid::Uuid::parse_str(&s).map(AccountId))
            .transpose()
            .map_err(|e| DbError::Corrupt(format!("account_id: {e}")))?,
        ticket_hash: r.try_get("ticket_hash")?,
        challenge_hash: r.try_get("challenge_hash")?,
        created_at: ts(r, "created_at_ms")?,
        expires_at: ts(r, "expires_at_ms")?,
    })
}

#[async_trait]
impl PasskeyStore for SqlStore {
    async fn insert_passkey_challenge(&self, c: &PasskeyChallengeRow) -> R<()> {
        sqlx::query(
            "INSERT INTO passkey_challenges (id, purpose, account_id, ticket_hash, \
             challenge_hash, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(c.id.to_string())
        .bind(c.purpose.as_str())
        .bind(c.account_id.map(|a| a.to_string()))
        .bind(c.ticket_hash.clone())
        .bind(&c.challenge_hash)
        .bind(c.created_at.0)
        .bind(c.expires_at.0)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn take_passkey_challenge(
        &self,
        id: uuid::Uuid,
        purpose: PasskeyPurpose,
        now: Timestamp,
    ) -> R<Option<PasskeyChallengeRow>> {
        let mut tx = write_tx(self.pool()).await?;
        let lock = super::Engine::of_tx(&tx).for_update();
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT id, account_id, ticket_hash, challenge_hash, created_at_ms, expires_at_ms \
             FROM passkey_challenges WHERE id = $1 AND purpose = $2{lock}"
        ));
        let row = sqlx::query(sql)
            .bind(id.to_string())
            .bind(purpose.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let c = challenge_from(&row, purpose)?;
        let gone = sqlx::query("DELETE FROM passkey_challenges WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((gone.rows_affected() == 1 && c.expires_at > now).then_some(c))
    }

    async fn delete_expired_passkey_challenges(&self, now: Timestamp) -> R<u64> {
        let r = sqlx::query("DELETE FROM passkey_challenges WHERE expires_at_ms <= $1")
            .bind(now.0)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }

    async fn insert_passkey(&self, p: &PasskeyRow) -> R<()> {
        sqlx::query(
            "INSERT INTO passkeys (id, account_id, credential_id, public_key, alg, sign_count, \
             name_enc, backup_eligible, backed_up, created_at_ms, last_used_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(p.id.to_string())
        .bind(p.account_id.to_string())
        .bind(&p.credential_id)
        .bind(&p.public_key)
        .bind(p.alg)
        .bind(i64::from(p.sign_count))
        .bind(&p.name_enc)
        .bind(i64::from(p.backup_eligible))
        .bind(i64::from(p.backed_up))
        .bind(p.created_at.0)
        .bind(p.last_used_at.map(|t| t.0))
        .execute(self.pool())
        .await
        .map_err(|e| DbError::conflict_on_unique(e, "passkey-exists"))?;
        Ok(())
    }

    async fn passkeys_of(&self, account: AccountId) -> R<Vec<PasskeyRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM passkeys WHERE account_id = $1 ORDER BY created_at_ms, id"
        ));
        let rows = sqlx::query(sql).bind(account.to_string()).fetch_all(self.pool()).await?;
        rows.iter().map(passkey_from).collect()
    }

    async fn passkey_by_credential(&self, credential_id: &[u8]) -> R<Option<PasskeyRow>> {
        let sql =
            sqlx::AssertSqlSafe(format!("SELECT {COLS} FROM passkeys WHERE credential_id = $1"));
        let row = sqlx::query(sql).bind(credential_id).fetch_optional(self.pool()).await?;
        row.as_ref().map(passkey_from).transpose()
    }

    async fn passkey_used(
        &self,
        id: uuid::Uuid,
        from: u32,
        to: u32,
        backed_up: bool,
        at: Timestamp,
    ) -> R<bool> {
        let r = sqlx::query(
            "UPDATE passkeys SET sign_count = $1, backed_up = $2, last_used_at_ms = $3 \
             WHERE id = $4 AND sign_count = $5",
        )
        .bind(i64::from(to))
        .bind(i64::from(backed_up))
        .bind(at.0)
        .bind(id.to_string())
        .bind(i64::from(from))
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn rename_passkey(&self, account: AccountId, id: uuid::Uuid, name_enc: &[u8]) -> R<bool> {
        let r = sqlx::query("UPDATE passkeys SET name_enc = $1 WHERE id = $2 AND account_id = $3")
            .bind(name_enc)
            .bind(id.to_string())
            .bind(account.to_string())
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn delete_passkey(&self, account: AccountId, id: uuid::Uuid) -> R<bool> {
        let r = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND account_id = $2")
            .bind(id.to_string())
            .bind(account.to_string())
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }
}
