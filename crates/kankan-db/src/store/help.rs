//! [`HelpStore`]: the help center's articles (with their revisions and which starter-set
//! articles were seeded) and the app's ratings.

use async_trait::async_trait;
use kankan_base::{AccountId, StaffId, Timestamp};

use crate::DbError;

type R<T> = Result<T, DbError>;

/// What an article says, as written (a new article, an edit, one revision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpContent {
    pub title: String,
    pub category: String,
    pub tags: Vec<String>,
    /// Markdown.
    pub body: String,
    pub published: bool,
}

/// An article as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpArticle {
    pub slug: String,
    pub content: HelpContent,
    /// 1 for the first version, one more per edit.
    pub revision: u32,
    /// The staff member of the last edit; None: the starter set's text as seeded.
    pub edited_by: Option<StaffId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One version an article had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpRevision {
    pub slug: String,
    pub revision: u32,
    pub content: HelpContent,
    pub edited_by: Option<StaffId>,
    /// The staff member's username (None for the starter set, or a staff member since gone).
    pub editor: Option<String>,
    pub edited_at: Timestamp,
}

/// What seeding one starter-set article did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedOutcome {
    /// The article was stored (it was never seeded before and the slug was free).
    Inserted,
    /// An older seeded version, never edited by staff, was replaced by this one.
    Updated,
    /// Nothing: seeded at this version already, edited by staff, deleted by staff, or the
    /// slug taken by an article of the operator's own.
    Kept,
}

/// One account's rating of one app version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRating {
    pub account_id: AccountId,
    pub app_version: String,
    /// 1-5.
    pub stars: u8,
    pub comment: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The ratings of every account, summed up for staff: no account, no contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingSummary {
    pub count: u64,
    /// How many ratings gave 1, 2, 3, 4 and 5 stars.
    pub distribution: [u64; 5],
}

/// A comment left with a rating, without who left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingComment {
    pub stars: u8,
    pub app_version: String,
    pub comment: String,
    pub at: Timestamp,
}

#[async_trait]
pub trait HelpStore: Send + Sync {
    /// Seeds one starter-set article at `version` (see [`SeedOutcome`]), with its first
    /// revision, in one transaction.
    async fn seed_help_article(
        &self,
        slug: &str,
        content: &HelpContent,
        version: u32,
        now: Timestamp,
    ) -> R<SeedOutcome>;
    /// Stores a new article (revision 1); false (nothing stored) when the slug is taken.
    async fn insert_help_article(
        &self,
        slug: &str,
        content: &HelpContent,
        by: StaffId,
        now: Timestamp,
    ) -> R<bool>;
    /// Replaces an article's content as a new revision; the article after, or None when there
    /// is no such article.
    async fn update_help_article(
        &self,
        slug: &str,
        content: &HelpContent,
        by: StaffId,
        now: Timestamp,
    ) -> R<Option<HelpArticle>>;
    /// Deletes an article and its revisions; false when there was none.
    async fn delete_help_article(&self, slug: &str) -> R<bool>;
    async fn help_article(&self, slug: &str) -> R<Option<HelpArticle>>;
    /// Every article (drafts too when `drafts`), by category then title.
    async fn help_articles(&self, drafts: bool) -> R<Vec<HelpArticle>>;
    /// An article's revisions, newest first.
    async fn help_revisions(&self, slug: &str) -> R<Vec<HelpRevision>>;

    /// Stores the account's rating of `rating.app_version`, replacing the one it gave that
    /// version before (its `created_at` kept); the rating as stored.
    async fn put_app_rating(&self, rating: &AppRating) -> R<AppRating>;
    /// The account's rating of one app version.
    async fn app_rating(&self, account: AccountId, app_version: &str) -> R<Option<AppRating>>;
    /// Every rating of the account (its data export), newest first.
    async fn app_ratings_of(&self, account: AccountId) -> R<Vec<AppRating>>;
    /// Deletes every rating of the account; how many there were.
    async fn delete_app_ratings_of(&self, account: AccountId) -> R<u64>;
    /// The count and distribution of every rating.
    async fn rating_summary(&self) -> R<RatingSummary>;
    /// The latest comments, newest first.
    async fn recent_rating_comments(&self, limit: u32) -> R<Vec<RatingComment>>;
}
