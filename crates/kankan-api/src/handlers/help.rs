//! The help center: published articles and search for everyone, signed in or out (no session
//! read, nothing of a search stored or logged); editing for staff (`P::HelpEdit`, audited);
//! ratings of the app (the account's own; the staff summary without the raters, under
//! `P::TicketsRead`). See docs/ref/help.md.

use super::console::audit_staff;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kankan_help::{AppRating, HelpArticle, HelpContent, HelpRevision};
use kankan_protocol::v1::{
    ErrorBody, HelpArticleAdmin, HelpArticleCreate, HelpArticleDetail, HelpArticleInput,
    HelpArticleSummary, HelpArticleView, HelpCategory, HelpRevisionItem, HelpSearchQuery,
    HelpSearchResults, MyRating, MyRatingQuery, RatingCommentItem, RatingRequest, RatingView,
    RatingsSummaryView,
};

use crate::extract::{ApiJson, CurrentStaff, CurrentUser};
use crate::reject::{ApiPath, ApiQuery};
use crate::{ApiError, AppState};

/// Article bodies are up to 24 KiB of Markdown: the admin routes take a larger JSON body than
/// the API's default.
pub const ARTICLE_LIMIT: usize = 96 * 1024;

fn content_of(i: HelpArticleInput) -> HelpContent {
    HelpContent {
        title: i.title,
        category: i.category,
        tags: i.tags,
        body: i.body,
        published: i.published,
    }
}

fn view(a: HelpArticle) -> HelpArticleView {
    HelpArticleView {
        slug: a.slug,
        title: a.content.title,
        category: a.content.category,
        tags: a.content.tags,
        body: a.content.body,
        updated_at: a.updated_at.to_rfc3339(),
    }
}

fn admin_item(a: HelpArticle) -> HelpArticleAdmin {
    HelpArticleAdmin {
        seeded: a.edited_by.is_none(),
        slug: a.slug,
        title: a.content.title,
        category: a.content.category,
        tags: a.content.tags,
        body: a.content.body,
        published: a.content.published,
        revision: a.revision,
        created_at: a.created_at.to_rfc3339(),
        updated_at: a.updated_at.to_rfc3339(),
    }
}

fn revision_item(r: HelpRevision) -> HelpRevisionItem {
    HelpRevisionItem {
        revision: r.revision,
        title: r.content.title,
        category: r.content.category,
        tags: r.content.tags,
        body: r.content.body,
        published: r.content.published,
        editor: r.editor,
        edited_at: r.edited_at.to_rfc3339(),
    }
}

fn rating_view(r: AppRating) -> RatingView {
    RatingView {
        stars: r.stars,
        comment: r.comment,
        app_version: r.app_version,
        created_at: r.created_at.to_rfc3339(),
        updated_at: r.updated_at.to_rfc3339(),
    }
}

/// Search the published help articles (or list them all without `q`); signed in or out.
#[utoipa::path(get, path = "/api/v1/help/articles", tag = "help",
    params(HelpSearchQuery),
    responses((status = 200, body = HelpSearchResults),
        (status = 400, body = ErrorBody, description = "invalid-article: the query is too long")))]
pub async fn search_help(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HelpSearchQuery>,
) -> Result<Json<HelpSearchResults>, ApiError> {
    let query = q.q.unwrap_or_default();
    let category = q.category.filter(|c| !c.is_empty());
    let (found, categories) = state.help.search(&query, category.as_deref()).await?;
    Ok(Json(HelpSearchResults {
        articles: found
            .into_iter()
            .map(|f| HelpArticleSummary {
                slug: f.article.slug,
                title: f.article.content.title,
                category: f.article.content.category,
                tags: f.article.content.tags,
                snippet: f.snippet,
            })
            .collect(),
        categories: categories
            .into_iter()
            .map(|c| HelpCategory { name: c.name, count: c.count })
            .collect(),
    }))
}

/// A published help article; signed in or out.
#[utoipa::path(get, path = "/api/v1/help/articles/{slug}", tag = "help",
    params(("slug" = String, Path)),
    responses((status = 200, body = HelpArticleView),
        (status = 404, body = ErrorBody, description = "article-not-found (drafts too)")))]
pub async fn help_article(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<HelpArticleView>, ApiError> {
    Ok(Json(view(state.help.published(&slug).await?)))
}

/// Every help article, drafts too (staff).
#[utoipa::path(get, path = "/api/v1/admin/help/articles", tag = "admin",
    responses((status = 200, body = Vec<HelpArticleAdmin>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "staff-forbidden")))]
pub async fn list_help_articles(
    State(state): State<AppState>,
    CurrentStaff(_staff): CurrentStaff,
) -> Result<Json<Vec<HelpArticleAdmin>>, ApiError> {
    Ok(Json(state.help.all().await?.into_iter().map(admin_item).collect()))
}

/// Write a new help article (staff; a draft unless `published`).
#[utoipa::path(post, path = "/api/v1/admin/help/articles", tag = "admin",
    request_body = HelpArticleCreate,
    responses((status = 201, body = HelpArticleAdmin),
        (status = 400, body = ErrorBody, description = "invalid-article"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "staff-forbidden"),
        (status = 409, body = ErrorBody, description = "article-exists")))]
pub async fn create_help_article(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiJson(req): ApiJson<HelpArticleCreate>,
) -> Result<(StatusCode, Json<HelpArticleAdmin>), ApiError> {
    let a = state.help.create(staff.id, &req.slug, &content_of(req.content)).await?;
    let detail =
        format!("slug={} revision={} published={}", a.slug, a.revision, a.content.published);
    audit_staff(&state, staff.id, "help-article-created", None, detail).await?;
    Ok((StatusCode::CREATED, Json(admin_item(a))))
}

/// A help article and its revisions, newest first (staff).
#[utoipa::path(get, path = "/api/v1/admin/help/articles/{slug}", tag = "admin",
    params(("slug" = String, Path)),
    responses((status = 200, body = HelpArticleDetail), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "staff-forbidden"),
        (status = 404, body = ErrorBody, description = "article-not-found")))]
pub async fn get_help_article(
    State(state): State<AppState>,
    CurrentStaff(_staff): CurrentStaff,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<HelpArticleDetail>, ApiError> {
    let (a, revisions) = state.help.with_revisions(&slug).await?;
    Ok(Json(HelpArticleDetail {
        article: admin_item(a),
        revisions: revisions.into_iter().map(revision_item).collect(),
    }))
}

/// Edit a help article, publish or unpublish it: a new revision (staff).
#[utoipa::path(put, path = "/api/v1/admin/help/articles/{slug}", tag = "admin",
    params(("slug" = String, Path)),
    request_body = HelpArticleInput,
    responses((status = 200, body = HelpArticleAdmin),
        (status = 400, body = ErrorBody, description = "invalid-article"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "staff-forbidden"),
        (status = 404, body = ErrorBody, description = "article-not-found")))]
pub async fn update_help_article(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<HelpArticleInput>,
) -> Result<Json<HelpArticleAdmin>, ApiError> {
    let a = state.help.edit(staff.id, &slug, &content_of(req)).await?;
    let detail =
        format!("slug={} revision={} published={}", a.slug, a.revision, a.content.published);
    audit_staff(&state, staff.id, "help-article-edited", None, detail).await?;
    Ok(Json(admin_item(a)))
}

/// Delete a help article and its revisions (staff).
#[utoipa::path(delete, path = "/api/v1/admin/help/articles/{slug}", tag = "admin",
    params(("slug" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "staff-forbidden"),
        (status = 404, body = ErrorBody, description = "article-not-found")))]
pub async fn delete_help_article(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(slug): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.help.delete(&slug).await?;
    audit_staff(&state, staff.id, "help-article-deleted", None, format!("slug={slug}")).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rate the app (one rating per app version; rating the same version again changes it).
#[utoipa::path(put, path = "/api/v1/me/rating", tag = "me",
    request_body = RatingRequest,
    responses((status = 200, body = RatingView),
        (status = 400, body = ErrorBody, description = "invalid-rating"),
        (status = 401, body = ErrorBody)))]
pub async fn put_rating(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<RatingRequest>,
) -> Result<Json<RatingView>, ApiError> {
    let r =
        state.help.rate(p.account_id, req.stars, req.comment.as_deref(), &req.app_version).await?;
    Ok(Json(rating_view(r)))
}

/// The caller's rating of an app version (the latest one without `app_version`).
#[utoipa::path(get, path = "/api/v1/me/rating", tag = "me",
    params(MyRatingQuery),
    responses((status = 200, body = MyRating), (status = 401, body = ErrorBody)))]
pub async fn get_rating(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<MyRatingQuery>,
) -> Result<Json<MyRating>, ApiError> {
    let r = state.help.my_rating(p.account_id, q.app_version.as_deref()).await?;
    Ok(Json(MyRating { rating: r.map(rating_view) }))
}

/// Every rating of the app summed up: count, average, distribution and recent comments,
/// never who rated (staff).
#[utoipa::path(get, path = "/api/v1/admin/ratings", tag = "admin",
    responses((status = 200, body = RatingsSummaryView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "staff-forbidden")))]
pub async fn ratings_summary(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
) -> Result<Json<RatingsSummaryView>, ApiError> {
    let s = state.help.summary().await?;
    let detail = format!("ratings={} comments={}", s.count, s.recent.len());
    audit_staff(&state, staff.id, "ratings-read", None, detail).await?;
    Ok(Json(RatingsSummaryView {
        count: s.count,
        average: s.average,
        distribution: s.distribution.to_vec(),
        recent: s
            .recent
            .into_iter()
            .map(|c| RatingCommentItem {
                stars: c.stars,
                app_version: c.app_version,
                comment: c.comment,
                at: c.at.to_rfc3339(),
            })
            .collect(),
    }))
}
