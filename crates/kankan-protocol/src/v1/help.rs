//! The help center (articles, search, staff editing) and ratings of the app.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `GET /api/v1/help/articles`: a search (`q`), or every published article; in one category.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HelpSearchQuery {
    /// Words to look for (at most 200 characters); none: every published article.
    pub q: Option<String>,
    /// Only the articles of this category.
    pub category: Option<String>,
}

/// A published article found or listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HelpArticleSummary {
    pub slug: String,
    pub title: String,
    pub category: String,
    pub tags: Vec<String>,
    /// Plain text of the body around the first word found (its start when listing).
    pub snippet: String,
}

/// A category of the published articles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HelpCategory {
    pub name: String,
    pub count: u32,
}

/// The answer to a search: the articles best first (by category and title when listing),
/// and every category of the published articles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HelpSearchResults {
    pub articles: Vec<HelpArticleSummary>,
    pub categories: Vec<HelpCategory>,
}

/// A published article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HelpArticleView {
    pub slug: String,
    pub title: String,
    pub category: String,
    pub tags: Vec<String>,
    /// Markdown (headings, paragraphs, lists, bold, code), shown as text: never as HTML.
    pub body: String,
    pub updated_at: String,
}

/// A new article (staff).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HelpArticleCreate {
    /// 1-64 of `a-z`, `0-9` and inner hyphens.
    pub slug: String,
    #[serde(flatten)]
    pub content: HelpArticleInput,
}

/// What an article says (staff): its new revision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HelpArticleInput {
    /// At most 120 characters.
    pub title: String,
    /// At most 40 characters.
    pub category: String,
    /// At most 12, each at most 30 characters.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Markdown, at most 24 KiB.
    pub body: String,
    /// Published articles are seen by everyone; drafts by staff only.
    #[serde(default)]
    pub published: bool,
}

/// An article as staff see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HelpArticleAdmin {
    pub slug: String,
    pub title: String,
    pub category: String,
    pub tags: Vec<String>,
    pub body: String,
    pub published: bool,
    pub revision: u32,
    /// Whether the starter set's text is still as seeded (no staff member edited it).
    pub seeded: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// One revision of an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HelpRevisionItem {
    pub revision: u32,
    pub title: String,
    pub category: String,
    pub tags: Vec<String>,
    pub body: String,
    pub published: bool,
    /// The staff member's username; none: the starter set.
    pub editor: Option<String>,
    pub edited_at: String,
}

/// An article and its revisions, newest first (staff).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HelpArticleDetail {
    pub article: HelpArticleAdmin,
    pub revisions: Vec<HelpRevisionItem>,
}

/// `PUT /api/v1/me/rating`: the account's rating of an app version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RatingRequest {
    /// 1 to 5.
    pub stars: u8,
    /// At most 1000 characters.
    pub comment: Option<String>,
    /// The app's version (1-32 of letters, digits, `.`, `-`, `+`, `_`).
    pub app_version: String,
}

/// `GET /api/v1/me/rating`: which app version (default: the latest rated).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyRatingQuery {
    pub app_version: Option<String>,
}

/// One rating of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RatingView {
    pub stars: u8,
    pub comment: Option<String>,
    pub app_version: String,
    pub created_at: String,
    pub updated_at: String,
}

/// The account's rating (none yet: null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MyRating {
    pub rating: Option<RatingView>,
}

/// A comment left with a rating: nothing of who left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RatingCommentItem {
    pub stars: u8,
    pub app_version: String,
    pub comment: String,
    pub at: String,
}

/// `GET /api/v1/admin/ratings`: every rating summed up, without the raters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RatingsSummaryView {
    pub count: u64,
    /// None without ratings.
    pub average: Option<f64>,
    /// Ratings of 1, 2, 3, 4 and 5 stars.
    pub distribution: Vec<u64>,
    /// The latest comments, newest first.
    pub recent: Vec<RatingCommentItem>,
}
