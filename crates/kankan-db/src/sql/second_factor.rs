//! Accounts' TOTP, recovery codes, second-factor tickets and remembered devices (see
//! [`SecondFactorStore`]).

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::columns::{account_col, i64_of, u64_of};
use super::{Engine, R, SqlStore, opt_ts, ts, uuid_col, write_tx};
use crate::{DbError, RememberedDevice, SecondFactorStore, SecondFactorTicket, TotpRow};

const TICKET_COLS: &str =
    "token_hash, account_id, challenge, attempts, created_at_ms, expires_at_ms";
const DEVICE_COLS: &str =
    "id, account_id, token_hash, client_enc, created_at_ms, last_used_at_ms, expires_at_ms";

fn hash_col(row: &AnyRow, col: &str) -> R<[u8; 32]> {
    let h: Vec<u8> = row.try_get(col)?;
    h.as_slice().try_into().map_err(|_| DbError::Corrupt(format!("{col} length")))
}

fn totp_from(row: &AnyRow) -> R<TotpRow> {
    let step: Option<i64> = row.try_get("last_step")?;
    Ok(TotpRow {
        account_id: account_col(row, "account_id")?,
        secret_enc: row.try_get("secret_enc")?,
        enabled_at: opt_ts(row, "enabled_at_ms")?,
        last_step: step.map(|s| u64::try_from(s).unwrap_or(0)),
        created_at: ts(row, "created_at_ms")?,
    })
}

fn ticket_from(row: &AnyRow) -> R<SecondFactorTicket> {
    Ok(SecondFactorTicket {
        token_hash: hash_col(row, "token_hash")?,
        account_id: account_col(row, "account_id")?,
        challenge: row.try_get("challenge")?,
        attempts: u32::try_from(u64_of(row, "attempts")?).unwrap_or(u32::MAX),
        created_at: ts(row, "created_at_ms")?,
        expires_at: ts(row, "expires_at_ms")?,
    })
}

fn device_from(row: &AnyRow) -> R<RememberedDevice> {
    Ok(RememberedDevice {
        id: uuid_col(row, "id")?,
        account_id: account_col(row, "account_id")?,
        token_hash: hash_col(row, "token_hash")?,
        client_enc: row.try_get("client_enc")?,
        created_at: ts(row, "created_at_ms")?,
        last_used_at: ts(row, "last_used_at_ms")?,
        expires_at: ts(row, "expires_at_ms")?,
    })
}

async fn put_codes(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    account: AccountId,
    codes: &[Vec<u8>],
    now: Timestamp,
) -> R<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
        .bind(account.to_string())
        .execute(&mut **tx)
        .await?;
    for mac in codes {
        sqlx::query(
            "INSERT INTO recovery_codes (account_id, code_mac, created_at_ms, used_at_ms) \
             VALUES ($1, $2, $3, NULL)",
        )
        .bind(account.to_string())
        .bind(&mac[..])
        .bind(now.0)
        .execute(&mut **tx)
        .await
        .map_err(|e| DbError::conflict_on_unique(e, "recovery code"))?;
    }
    Ok(())
}

#[async_trait]
impl SecondFactorStore for SqlStore {
    async fn totp(&self, account: AccountId) -> R<Option<TotpRow>> {
        let row = sqlx::query(
            "SELECT account_id, secret_enc, enabled_at_ms, last_step, created_at_ms \
             FROM account_totp WHERE account_id = $1",
        )
        .bind(account.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(totp_from).transpose()
    }

    async fn begin_totp(&self, account: AccountId, secret_enc: &[u8], now: Timestamp) -> R<()> {
        let mut tx = write_tx(self.pool()).await?;
        let lock = format!(
            "SELECT enabled_at_ms FROM account_totp WHERE account_id = $1{}",
            Engine::of_tx(&tx).for_update()
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(lock))
            .bind(account.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = row {
            if opt_ts(&row, "enabled_at_ms")?.is_some() {
                return Err(DbError::Conflict("totp"));
            }
            sqlx::query("DELETE FROM account_totp WHERE account_id = $1")
                .bind(account.to_string())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO account_totp (account_id, secret_enc, enabled_at_ms, last_step, \
             created_at_ms) VALUES ($1, $2, NULL, NULL, $3)",
        )
        .bind(account.to_string())
        .bind(secret_enc)
        .bind(now.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| DbError::conflict_on_unique(e, "totp"))?;
        tx.commit().await?;
        Ok(())
    }

    async fn enable_totp(
        &self,
        account: AccountId,
        step: u64,
        codes: &[Vec<u8>],
        now: Timestamp,
    ) -> R<bool> {
        let mut tx = write_tx(self.pool()).await?;
        let done = sqlx::query(
            "UPDATE account_totp SET enabled_at_ms = $2, last_step = $3 \
             WHERE account_id = $1 AND enabled_at_ms IS NULL",
        )
        .bind(account.to_string())
        .bind(now.0)
        .bind(i64_of(step))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done != 1 {
            return Ok(false);
        }
        put_codes(&mut tx, account, codes, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn use_totp_step(&self, account: AccountId, step: u64) -> R<bool> {
        let r = sqlx::query(
            "UPDATE account_totp SET last_step = $2 WHERE account_id = $1 \
             AND enabled_at_ms IS NOT NULL AND (last_step IS NULL OR last_step < $2)",
        )
        .bind(account.to_string())
        .bind(i64_of(step))
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn delete_totp(&self, account: AccountId, recovery_codes_too: bool) -> R<bool> {
        let mut tx = write_tx(self.pool()).await?;
        let n = sqlx::query("DELETE FROM account_totp WHERE account_id = $1")
            .bind(account.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if recovery_codes_too {
            sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
                .bind(account.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn replace_recovery_codes(
        &self,
        account: AccountId,
        codes: &[Vec<u8>],
        now: Timestamp,
    ) -> R<()> {
        let mut tx = write_tx(self.pool()).await?;
        put_codes(&mut tx, account, codes, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn use_recovery_code(&self, account: AccountId, mac: &[u8], now: Timestamp) -> R<bool> {
        let r = sqlx::query(
            "UPDATE recovery_codes SET used_at_ms = $3 \
             WHERE account_id = $1 AND code_mac = $2 AND used_at_ms IS NULL",
        )
        .bind(account.to_string())
        .bind(mac)
        .bind(now.0)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn recovery_codes_left(&self, account: AccountId) -> R<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at_ms IS NULL",
        )
        .bind(account.to_string())
        .fetch_one(self.pool())
        .await?;
        Ok(u32::try_from(n).unwrap_or(0))
    }

    async fn insert_ticket(&self, t: &SecondFactorTicket) -> R<()> {
        sqlx::query(
            "INSERT INTO second_factor_tickets (token_hash, account_id, challenge, attempts, \
             created_at_ms, expires_at_ms, consumed_at_ms) VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(&t.token_hash[..])
        .bind(t.account_id.to_string())
        .bind(&t.challenge)
        .bind(i64::from(t.attempts))
        .bind(t.created_at.0)
        .bind(t.expires_at.0)
        .execute(self.pool())
        .await
        .map_err(|e| DbError::conflict_on_unique(e, "ticket"))?;
        Ok(())
    }

    async fn ticket(&self, token_hash: &[u8; 32], now: Timestamp) -> R<Option<SecondFactorTicket>> {
        let sql = format!(
            "SELECT {TICKET_COLS} FROM second_factor_tickets WHERE token_hash = $1 \
             AND consumed_at_ms IS NULL AND expires_at_ms > $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&token_hash[..])
            .bind(now.0)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(ticket_from).transpose()
    }

    async fn claim_ticket_attempt(
        &self,
        token_hash: &[u8; 32],
        max: u32,
        now: Timestamp,
    ) -> R<Option<SecondFactorTicket>> {
        let sql = format!(
            "UPDATE second_factor_tickets SET attempts = attempts + 1 WHERE token_hash = $1 \
             AND consumed_at_ms IS NULL AND expires_at_ms > $2 AND attempts < $3 \
             RETURNING {TICKET_COLS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&token_hash[..])
            .bind(now.0)
            .bind(i64::from(max))
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(ticket_from).transpose()
    }

    async fn consume_ticket(&self, token_hash: &[u8; 32], now: Timestamp) -> R<bool> {
        let r = sqlx::query(
            "UPDATE second_factor_tickets SET consumed_at_ms = $2 \
             WHERE token_hash = $1 AND consumed_at_ms IS NULL",
        )
        .bind(&token_hash[..])
        .bind(now.0)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn insert_remembered_device(&self, d: &RememberedDevice) -> R<()> {
        let sql = format!(
            "INSERT INTO remembered_devices ({DEVICE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(d.id.to_string())
            .bind(d.account_id.to_string())
            .bind(&d.token_hash[..])
            .bind(&d.client_enc)
            .bind(d.created_at.0)
            .bind(d.last_used_at.0)
            .bind(d.expires_at.0)
            .execute(self.pool())
            .await
            .map_err(|e| DbError::conflict_on_unique(e, "remembered device"))?;
        Ok(())
    }

    async fn use_remembered_device(
        &self,
        account: AccountId,
        token_hash: &[u8; 32],
        now: Timestamp,
    ) -> R<bool> {
        let r = sqlx::query(
            "UPDATE remembered_devices SET last_used_at_ms = $3 \
             WHERE account_id = $1 AND token_hash = $2 AND expires_at_ms > $3",
        )
        .bind(account.to_string())
        .bind(&token_hash[..])
        .bind(now.0)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn remembered_devices(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> R<Vec<RememberedDevice>> {
        let sql = format!(
            "SELECT {DEVICE_COLS} FROM remembered_devices WHERE account_id = $1 \
             AND expires_at_ms > $2 ORDER BY last_used_at_ms DESC, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.to_string())
            .bind(now.0)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(device_from).collect()
    }

    async fn forget_remembered_devices(
        &self,
        account: AccountId,
        id: Option<uuid::Uuid>,
    ) -> R<u64> {
        let r = match id {
            Some(id) => {
                sqlx::query("DELETE FROM remembered_devices WHERE account_id = $1 AND id = $2")
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .execute(self.pool())
                    .await?
            }
            None => {
                sqlx::query("DELETE FROM remembered_devices WHERE account_id = $1")
                    .bind(account.to_string())
                    .execute(self.pool())
                    .await?
            }
        };
        Ok(r.rows_affected())
    }

    async fn expire_second_factor_records(&self, now: Timestamp) -> R<u64> {
        let tickets = sqlx::query(
            "DELETE FROM second_factor_tickets \
             WHERE expires_at_ms <= $1 OR consumed_at_ms IS NOT NULL",
        )
        .bind(now.0)
        .execute(self.pool())
        .await?
        .rows_affected();
        let devices = sqlx::query("DELETE FROM remembered_devices WHERE expires_at_ms <= $1")
            .bind(now.0)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(tickets + devices)
    }
}
