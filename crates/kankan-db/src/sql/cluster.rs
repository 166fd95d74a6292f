//! [`ClusterStore`] in SQL: throttle windows and leases in one upsert each, notes through
//! PostgreSQL's `LISTEN`/`NOTIFY`.

use std::time::Duration;

use async_trait::async_trait;
use kankan_base::Timestamp;
use sqlx::Row;

use super::{Engine, R, SqlStore};
use crate::store::cluster::{ClusterStore, NoteFeed, RateWindow};

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl ClusterStore for SqlStore {
    fn is_shared(&self) -> bool {
        self.engine == Engine::Postgres
    }

    async fn count_request(&self, key: &str, now: Timestamp, window: Duration) -> R<RateWindow> {
        // Every SET expression reads the row as it was, on both engines.
        let row = sqlx::query(
            "INSERT INTO rate_windows (key, ends_at_ms, count) VALUES ($1, $2 + $3, 1) \
             ON CONFLICT (key) DO UPDATE SET \
             count = CASE WHEN rate_windows.ends_at_ms <= $2 THEN 1 \
                     ELSE rate_windows.count + 1 END, \
             ends_at_ms = CASE WHEN rate_windows.ends_at_ms <= $2 THEN $2 + $3 \
                          ELSE rate_windows.ends_at_ms END \
             RETURNING count, ends_at_ms",
        )
        .bind(key)
        .bind(now.0)
        .bind(ms(window))
        .fetch_one(&self.pool)
        .await?;
        let count: i64 = row.try_get("count")?;
        Ok(RateWindow {
            count: u32::try_from(count).unwrap_or(u32::MAX),
            ends_at: Timestamp(row.try_get("ends_at_ms")?),
        })
    }

    async fn sweep_rate_windows(&self, now: Timestamp) -> R<u64> {
        let r = sqlx::query("DELETE FROM rate_windows WHERE ends_at_ms <= $1")
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    async fn hold_lease(&self, name: &str, holder: &str, now: Timestamp, ttl: Duration) -> R<bool> {
        let row = sqlx::query(
            "INSERT INTO node_leases (name, holder, until_ms) VALUES ($1, $2, $3 + $4) \
             ON CONFLICT (name) DO UPDATE SET \
             holder = CASE WHEN node_leases.holder = $2 OR node_leases.until_ms <= $3 \
                      THEN $2 ELSE node_leases.holder END, \
             until_ms = CASE WHEN node_leases.holder = $2 OR node_leases.until_ms <= $3 \
                        THEN $3 + $4 ELSE node_leases.until_ms END \
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(now.0)
        .bind(ms(ttl))
        .fetch_one(&self.pool)
        .await?;
        let now_holder: String = row.try_get("holder")?;
        Ok(now_holder == holder)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> R<()> {
        sqlx::query("DELETE FROM node_leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn announce(&self, channel: &str, payload: &str) -> R<()> {
        if self.engine == Engine::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(channel)
                .bind(payload)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    async fn listen(&self, channel: &str) -> R<Option<NoteFeed>> {
        if self.engine != Engine::Postgres {
            return Ok(None);
        }
        let url = self.pool.connect_options().database_url.to_string();
        let mut listener = sqlx::postgres::PgListener::connect(&url).await?;
        listener.listen(channel).await?;
        Ok(Some(NoteFeed { listener }))
    }
}
