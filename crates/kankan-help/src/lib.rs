//! The help center and the app's ratings.
//!
//! - Articles: Markdown the operator's staff edit (`P::HelpEdit`), stored with every revision
//!   (who, when), published or draft. A starter set written for Kankan (`starter/*.md`, a
//!   small front matter each) is embedded in the binary and seeded at start-up: an article
//!   is stored once; a newer version of its file replaces it only while no staff member has
//!   edited it, and one staff deleted is not seeded again ([`Help::seed_starter_set`]).
//! - Search: in Rust over the published articles ([`search`]): folded, stemmed, ranked,
//!   with snippets; the same on SQLite and PostgreSQL. Searches are neither stored nor
//!   logged, and the public routes take no session.
//! - Ratings: one per account and app version, changeable ([`Help::rate`]); staff see the
//!   average, the distribution and recent comments, never who rated. Deleted with the
//!   account ([`Help::forget_account`]) and in its data export ([`Help::ratings_of`]).

mod articles;
mod ratings;
pub mod search;

use std::sync::Arc;

use kankan_base::Clocks;
use kankan_db::Store;

pub use articles::{
    Category, Found, MAX_BODY, MAX_QUERY, SeedReport, StarterArticle, parse_starter, starter_set,
    valid_slug, validate,
};
/// The rows this crate answers with.
pub use kankan_db::{AppRating, HelpArticle, HelpContent, HelpRevision, RatingComment};
pub use ratings::{MAX_COMMENT, RatingsSummary};

/// The help center and ratings. Cheap to clone.
#[derive(Clone)]
pub struct Help {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Help {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Help")
    }
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Clocks,
}

impl Help {
    pub fn new(store: Arc<dyn Store>, clock: Clocks) -> Help {
        Help { inner: Arc::new(Inner { store, clock }) }
    }
}
