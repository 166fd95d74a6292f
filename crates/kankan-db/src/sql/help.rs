//! The help center's articles and the app's ratings (see [`HelpStore`]).

use async_trait::async_trait;
use kankan_base::{AccountId, StaffId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use super::columns::{account_col, u64_of};
use super::{Engine, R, SqlStore, flag, ts, write_tx};
use crate::{
    AppRating, DbError, HelpArticle, HelpContent, HelpRevision, HelpStore, RatingComment,
    RatingSummary, SeedOutcome,
};

macro_rules! article_cols {
    () => {
        "slug, title, category, tags, body, published, revision, edited_by, created_at_ms, \
         updated_at_ms"
    };
}

macro_rules! rating_cols {
    () => {
        "account_id, app_version, stars, comment, created_at_ms, updated_at_ms"
    };
}

fn tags_text(tags: &[String]) -> String {
    tags.join(",")
}

fn tags_of(text: &str) -> Vec<String> {
    text.split(',').filter(|t| !t.is_empty()).map(str::to_string).collect()
}

fn staff_col(r: &AnyRow, col: &str) -> R<Option<StaffId>> {
    let s: Option<String> = r.try_get(col)?;
    s.map(|s| s.parse().map(StaffId).map_err(|e| DbError::Corrupt(format!("{col}: {e}"))))
        .transpose()
}

fn u32_of(r: &AnyRow, col: &str) -> R<u32> {
    u32::try_from(u64_of(r, col)?).map_err(|_| DbError::Corrupt(col.into()))
}

fn content_from(r: &AnyRow) -> R<HelpContent> {
    let tags: String = r.try_get("tags")?;
    Ok(HelpContent {
        title: r.try_get("title")?,
        category: r.try_get("category")?,
        tags: tags_of(&tags),
        body: r.try_get("body")?,
        published: flag(r, "published")?,
    })
}

fn article_from(r: &AnyRow) -> R<HelpArticle> {
    Ok(HelpArticle {
        slug: r.try_get("slug")?,
        content: content_from(r)?,
        revision: u32_of(r, "revision")?,
        edited_by: staff_col(r, "edited_by")?,
        created_at: ts(r, "created_at_ms")?,
        updated_at: ts(r, "updated_at_ms")?,
    })
}

fn rating_from(r: &AnyRow) -> R<AppRating> {
    Ok(AppRating {
        account_id: account_col(r, "account_id")?,
        app_version: r.try_get("app_version")?,
        stars: u8::try_from(u64_of(r, "stars")?).map_err(|_| DbError::Corrupt("stars".into()))?,
        comment: r.try_get("comment")?,
        created_at: ts(r, "created_at_ms")?,
        updated_at: ts(r, "updated_at_ms")?,
    })
}

async fn article_in(conn: &mut AnyConnection, slug: &str, lock: bool) -> R<Option<HelpArticle>> {
    let sql = format!(
        "SELECT {} FROM help_articles WHERE slug = $1{}",
        article_cols!(),
        if lock && conn.backend_name() != <sqlx::Sqlite as sqlx::Database>::NAME {
            Engine::Postgres.for_update()
        } else {
            ""
        }
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(slug).fetch_optional(&mut *conn).await?;
    row.as_ref().map(article_from).transpose()
}

/// Writes revision `revision` of `slug` as `content`.
async fn add_revision(
    conn: &mut AnyConnection,
    slug: &str,
    revision: u32,
    c: &HelpContent,
    by: Option<StaffId>,
    now: Timestamp,
) -> R<()> {
    sqlx::query(
        "INSERT INTO help_revisions (slug, revision, title, category, tags, body, published, \
         edited_by, edited_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(slug)
    .bind(i64::from(revision))
    .bind(&c.title)
    .bind(&c.category)
    .bind(tags_text(&c.tags))
    .bind(&c.body)
    .bind(i64::from(c.published))
    .bind(by.map(|s| s.to_string()))
    .bind(now.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_in(
    conn: &mut AnyConnection,
    slug: &str,
    c: &HelpContent,
    by: Option<StaffId>,
    now: Timestamp,
) -> R<bool> {
    let r = sqlx::query(concat!(
        "INSERT INTO help_articles (",
        article_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $8) ON CONFLICT (slug) DO NOTHING"
    ))
    .bind(slug)
    .bind(&c.title)
    .bind(&c.category)
    .bind(tags_text(&c.tags))
    .bind(&c.body)
    .bind(i64::from(c.published))
    .bind(by.map(|s| s.to_string()))
    .bind(now.0)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    add_revision(conn, slug, 1, c, by, now).await?;
    Ok(true)
}

async fn update_in(
    conn: &mut AnyConnection,
    before: &HelpArticle,
    c: &HelpContent,
    by: Option<StaffId>,
    now: Timestamp,
) -> R<()> {
    let revision = before.revision + 1;
    sqlx::query(
        "UPDATE help_articles SET title = $1, category = $2, tags = $3, body = $4, \
         published = $5, revision = $6, edited_by = $7, updated_at_ms = $8 WHERE slug = $9",
    )
    .bind(&c.title)
    .bind(&c.category)
    .bind(tags_text(&c.tags))
    .bind(&c.body)
    .bind(i64::from(c.published))
    .bind(i64::from(revision))
    .bind(by.map(|s| s.to_string()))
    .bind(now.0)
    .bind(&before.slug)
    .execute(&mut *conn)
    .await?;
    add_revision(conn, &before.slug, revision, c, by, now).await
}

async fn seed(
    pool: &AnyPool,
    slug: &str,
    c: &HelpContent,
    version: u32,
    now: Timestamp,
) -> R<SeedOutcome> {
    let mut tx = write_tx(pool).await?;
    let seeded = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT version FROM help_seeds WHERE slug = $1{}",
        Engine::of_tx(&tx).for_update()
    )))
    .bind(slug)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| u32_of(&r, "version"))
    .transpose()?;
    let outcome = match seeded {
        None => {
            // Never seeded: stored unless the operator already wrote an article of that slug.
            let inserted = insert_in(&mut tx, slug, c, None, now).await?;
            sqlx::query(
                "INSERT INTO help_seeds (slug, version, seeded_at_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (slug) DO NOTHING",
            )
            .bind(slug)
            .bind(i64::from(version))
            .bind(now.0)
            .execute(&mut *tx)
            .await?;
            if inserted { SeedOutcome::Inserted } else { SeedOutcome::Kept }
        }
        Some(v) if v >= version => SeedOutcome::Kept,
        Some(_) => {
            let article = article_in(&mut tx, slug, true).await?;
            let outcome = match article {
                // Still the starter set's text, never edited: the newer text replaces it.
                Some(a) if a.edited_by.is_none() => {
                    update_in(&mut tx, &a, c, None, now).await?;
                    SeedOutcome::Updated
                }
                _ => SeedOutcome::Kept,
            };
            sqlx::query("UPDATE help_seeds SET version = $1, seeded_at_ms = $2 WHERE slug = $3")
                .bind(i64::from(version))
                .bind(now.0)
                .bind(slug)
                .execute(&mut *tx)
                .await?;
            outcome
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

#[async_trait]
impl HelpStore for SqlStore {
    async fn seed_help_article(
        &self,
        slug: &str,
        content: &HelpContent,
        version: u32,
        now: Timestamp,
    ) -> R<SeedOutcome> {
        seed(&self.pool, slug, content, version, now).await
    }

    async fn insert_help_article(
        &self,
        slug: &str,
        content: &HelpContent,
        by: StaffId,
        now: Timestamp,
    ) -> R<bool> {
        let mut tx = write_tx(&self.pool).await?;
        let inserted = insert_in(&mut tx, slug, content, Some(by), now).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    async fn update_help_article(
        &self,
        slug: &str,
        content: &HelpContent,
        by: StaffId,
        now: Timestamp,
    ) -> R<Option<HelpArticle>> {
        let mut tx = write_tx(&self.pool).await?;
        let Some(before) = article_in(&mut tx, slug, true).await? else {
            return Ok(None);
        };
        update_in(&mut tx, &before, content, Some(by), now).await?;
        let after = article_in(&mut tx, slug, false).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_help_article(&self, slug: &str) -> R<bool> {
        let mut tx = write_tx(&self.pool).await?;
        sqlx::query("DELETE FROM help_revisions WHERE slug = $1")
            .bind(slug)
            .execute(&mut *tx)
            .await?;
        let r = sqlx::query("DELETE FROM help_articles WHERE slug = $1")
            .bind(slug)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    async fn help_article(&self, slug: &str) -> R<Option<HelpArticle>> {
        let mut conn = self.pool.acquire().await?;
        article_in(&mut conn, slug, false).await
    }

    async fn help_articles(&self, drafts: bool) -> R<Vec<HelpArticle>> {
        let sql = if drafts {
            concat!("SELECT ", article_cols!(), " FROM help_articles ORDER BY category, title")
        } else {
            concat!(
                "SELECT ",
                article_cols!(),
                " FROM help_articles WHERE published = 1 ORDER BY category, title"
            )
        };
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(article_from).collect()
    }

    async fn help_revisions(&self, slug: &str) -> R<Vec<HelpRevision>> {
        let rows = sqlx::query(
            "SELECT r.slug, r.revision, r.title, r.category, r.tags, r.body, r.published, \
             r.edited_by, r.edited_at_ms, s.username FROM help_revisions r \
             LEFT JOIN staff s ON s.id = r.edited_by WHERE r.slug = $1 ORDER BY r.revision DESC",
        )
        .bind(slug)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HelpRevision {
                    slug: r.try_get("slug")?,
                    revision: u32_of(r, "revision")?,
                    content: content_from(r)?,
                    edited_by: staff_col(r, "edited_by")?,
                    editor: r.try_get("username")?,
                    edited_at: ts(r, "edited_at_ms")?,
                })
            })
            .collect()
    }

    async fn put_app_rating(&self, rating: &AppRating) -> R<AppRating> {
        let mut tx = write_tx(&self.pool).await?;
        sqlx::query(concat!(
            "INSERT INTO app_ratings (",
            rating_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, app_version) DO UPDATE \
             SET stars = excluded.stars, comment = excluded.comment, \
             updated_at_ms = excluded.updated_at_ms"
        ))
        .bind(rating.account_id.to_string())
        .bind(&rating.app_version)
        .bind(i64::from(rating.stars))
        .bind(rating.comment.as_deref())
        .bind(rating.created_at.0)
        .bind(rating.updated_at.0)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(concat!(
            "SELECT ",
            rating_cols!(),
            " FROM app_ratings WHERE account_id = $1 AND app_version = $2"
        ))
        .bind(rating.account_id.to_string())
        .bind(&rating.app_version)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        rating_from(&row)
    }

    async fn app_rating(&self, account: AccountId, app_version: &str) -> R<Option<AppRating>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            rating_cols!(),
            " FROM app_ratings WHERE account_id = $1 AND app_version = $2"
        ))
        .bind(account.to_string())
        .bind(app_version)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rating_from).transpose()
    }

    async fn app_ratings_of(&self, account: AccountId) -> R<Vec<AppRating>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            rating_cols!(),
            " FROM app_ratings WHERE account_id = $1 ORDER BY updated_at_ms DESC"
        ))
        .bind(account.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rating_from).collect()
    }

    async fn delete_app_ratings_of(&self, account: AccountId) -> R<u64> {
        let r = sqlx::query("DELETE FROM app_ratings WHERE account_id = $1")
            .bind(account.to_string())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    async fn rating_summary(&self) -> R<RatingSummary> {
        let rows = sqlx::query("SELECT stars, COUNT(*) AS n FROM app_ratings GROUP BY stars")
            .fetch_all(&self.pool)
            .await?;
        let mut distribution = [0u64; 5];
        for r in &rows {
            let stars = u64_of(r, "stars")?;
            let slot = usize::try_from(stars)
                .ok()
                .and_then(|s| s.checked_sub(1))
                .filter(|s| *s < 5)
                .ok_or_else(|| DbError::Corrupt(format!("stars {stars}")))?;
            distribution[slot] = u64_of(r, "n")?;
        }
        Ok(RatingSummary { count: distribution.iter().sum(), distribution })
    }

    async fn recent_rating_comments(&self, limit: u32) -> R<Vec<RatingComment>> {
        let rows = sqlx::query(
            "SELECT stars, app_version, comment, updated_at_ms FROM app_ratings \
             WHERE comment IS NOT NULL ORDER BY updated_at_ms DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RatingComment {
                    stars: u8::try_from(u64_of(r, "stars")?).unwrap_or(0),
                    app_version: r.try_get("app_version")?,
                    comment: r.try_get("comment")?,
                    at: ts(r, "updated_at_ms")?,
                })
            })
            .collect()
    }
}
