//! Events' AI descriptions (sealed sentences). Every statement uses numbered placeholders and
//! portable SQL only.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use sqlx::Row;

use super::columns::account_col;
use super::{R, SqlStore, uuid_col};
use crate::{DbError, DescriptionStore, StoredDescription};

/// Most ids one [`DescriptionStore::event_descriptions`] call takes.
const MAX_IDS: usize = 500;

#[async_trait]
impl DescriptionStore for SqlStore {
    async fn put_event_description(
        &self,
        account: AccountId,
        event: uuid::Uuid,
        text_enc: &[u8],
        at: Timestamp,
    ) -> R<bool> {
        let r = sqlx::query(
            "INSERT INTO event_descriptions (event_id, account_id, text_enc, created_at_ms) \
             SELECT id, account_id, $1, $2 FROM events \
             WHERE id = $3 AND account_id = $4 AND deleted_at_ms IS NULL \
             ON CONFLICT (event_id) DO UPDATE SET text_enc = excluded.text_enc, \
             created_at_ms = excluded.created_at_ms",
        )
        .bind(text_enc)
        .bind(at.0)
        .bind(event.to_string())
        .bind(account.to_string())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn event_descriptions(&self, events: &[uuid::Uuid]) -> R<Vec<StoredDescription>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        if events.len() > MAX_IDS {
            return Err(DbError::Config(format!("at most {MAX_IDS} events at once")));
        }
        let params: Vec<String> = (1..=events.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT event_id, account_id, text_enc FROM event_descriptions \
             WHERE event_id IN ({})",
            params.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in events {
            q = q.bind(id.to_string());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(StoredDescription {
                    event_id: uuid_col(r, "event_id")?,
                    account_id: account_col(r, "account_id")?,
                    text_enc: r.try_get("text_enc")?,
                })
            })
            .collect()
    }

    async fn delete_descriptions_of(&self, account: AccountId) -> R<u64> {
        let r = sqlx::query("DELETE FROM event_descriptions WHERE account_id = $1")
            .bind(account.to_string())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    async fn count_descriptions_of(&self, account: AccountId) -> R<u64> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM event_descriptions WHERE account_id = $1")
                .bind(account.to_string())
                .fetch_one(&self.pool)
                .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
