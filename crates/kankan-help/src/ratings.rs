//! Ratings of the app: one per account and app version, changeable; a summary for staff
//! without who rated.

use kankan_base::{AccountId, ErrorKind};
use kankan_core::CoreError;
use kankan_db::{AppRating, RatingComment};

use crate::Help;

/// Characters of a comment.
pub const MAX_COMMENT: usize = 1000;
/// Characters of an app version.
pub const MAX_APP_VERSION: usize = 32;
/// Comments in the staff summary.
pub const RECENT_COMMENTS: u32 = 20;

fn invalid(message: impl Into<String>) -> CoreError {
    CoreError::Support {
        kind: ErrorKind::InvalidArgument,
        code: "invalid-rating",
        message: message.into(),
    }
}

/// Every rating, summed up: no account, no contact.
#[derive(Debug, Clone, PartialEq)]
pub struct RatingsSummary {
    pub count: u64,
    /// None without ratings.
    pub average: Option<f64>,
    /// Ratings of 1, 2, 3, 4 and 5 stars.
    pub distribution: [u64; 5],
    pub recent: Vec<RatingComment>,
}

/// Whether `v` looks like an app version: 1-32 of letters, digits, `.`, `-`, `+`, `_`.
pub fn valid_app_version(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= MAX_APP_VERSION
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
}

impl Help {
    /// The account's rating of `app_version` (1-5 stars, an optional comment), replacing the
    /// one it gave that version before.
    pub async fn rate(
        &self,
        account: AccountId,
        stars: u8,
        comment: Option<&str>,
        app_version: &str,
    ) -> Result<AppRating, CoreError> {
        if !(1..=5).contains(&stars) {
            return Err(invalid("stars are 1 to 5"));
        }
        if !valid_app_version(app_version) {
            return Err(invalid("app_version is 1-32 of letters, digits and . - + _"));
        }
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        if let Some(c) = comment {
            if c.chars().count() > MAX_COMMENT {
                return Err(invalid(format!("a comment is at most {MAX_COMMENT} characters")));
            }
            if c.chars().any(|ch| ch.is_control() && ch != '\n') {
                return Err(invalid("the comment holds control characters"));
            }
        }
        let now = self.inner.clock.now();
        let rating = AppRating {
            account_id: account,
            app_version: app_version.to_string(),
            stars,
            comment: comment.map(String::from),
            created_at: now,
            updated_at: now,
        };
        Ok(self.inner.store.put_app_rating(&rating).await?)
    }

    /// The account's rating of `app_version`, or its latest one when none is named.
    pub async fn my_rating(
        &self,
        account: AccountId,
        app_version: Option<&str>,
    ) -> Result<Option<AppRating>, CoreError> {
        Ok(match app_version {
            Some(v) => self.inner.store.app_rating(account, v).await?,
            None => self.inner.store.app_ratings_of(account).await?.into_iter().next(),
        })
    }

    /// Every rating of the account, newest first (its data export).
    pub async fn ratings_of(&self, account: AccountId) -> Result<Vec<AppRating>, CoreError> {
        Ok(self.inner.store.app_ratings_of(account).await?)
    }

    /// Deletes the account's ratings (its deletion); how many there were.
    pub async fn forget_account(&self, account: AccountId) -> Result<u64, CoreError> {
        Ok(self.inner.store.delete_app_ratings_of(account).await?)
    }

    /// The staff summary: count, average, distribution and the latest comments.
    pub async fn summary(&self) -> Result<RatingsSummary, CoreError> {
        let s = self.inner.store.rating_summary().await?;
        let stars: u64 = s.distribution.iter().zip(1u64..).map(|(n, k)| n * k).sum();
        #[allow(clippy::cast_precision_loss)]
        let average = (s.count > 0).then(|| stars as f64 / s.count as f64);
        let recent = self.inner.store.recent_rating_comments(RECENT_COMMENTS).await?;
        Ok(RatingsSummary { count: s.count, average, distribution: s.distribution, recent })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_versions_are_short_plain_strings() {
        for ok in ["1.0.0", "2026.12-beta+3", "web_1"] {
            assert!(valid_app_version(ok), "{ok}");
        }
        let long = "1".repeat(33);
        for bad in ["", "1 0", "<b>", long.as_str()] {
            assert!(!valid_app_version(bad), "{bad}");
        }
    }
}
