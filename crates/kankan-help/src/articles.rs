//! Articles: what staff may write (bounded, validated), the starter set embedded in the
//! binary and its seeding, and the public and staff reads.

use kankan_base::ErrorKind;
use kankan_base::StaffId;
use kankan_core::CoreError;
use kankan_db::{HelpArticle, HelpContent, HelpRevision, SeedOutcome};

use crate::Help;
use crate::search::{self, plain_text, snippet};

/// Bounds of what an article holds.
pub const MAX_SLUG: usize = 64;
pub const MAX_TITLE: usize = 120;
pub const MAX_CATEGORY: usize = 40;
pub const MAX_TAGS: usize = 12;
pub const MAX_TAG: usize = 30;
/// Bytes of Markdown.
pub const MAX_BODY: usize = 24 * 1024;
/// Characters of a query.
pub const MAX_QUERY: usize = 200;

fn invalid(message: impl Into<String>) -> CoreError {
    CoreError::Support {
        kind: ErrorKind::InvalidArgument,
        code: "invalid-article",
        message: message.into(),
    }
}

fn not_found() -> CoreError {
    CoreError::Support {
        kind: ErrorKind::NotFound,
        code: "article-not-found",
        message: "no such help article".into(),
    }
}

/// Whether `slug` is a slug: 1-64 of `a-z`, `0-9` and inner `-`.
pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_SLUG
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--")
}

fn one_line(what: &str, value: &str, max: usize) -> Result<String, CoreError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(invalid(format!("the {what} is empty")));
    }
    if v.chars().count() > max {
        return Err(invalid(format!("the {what} is longer than {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(invalid(format!("the {what} holds control characters")));
    }
    Ok(v.to_string())
}

/// Checks and tidies what staff wrote: titles and categories trimmed, tags lower case,
/// trimmed, each once; every bound of this module.
pub fn validate(c: &HelpContent) -> Result<HelpContent, CoreError> {
    let title = one_line("title", &c.title, MAX_TITLE)?;
    let category = one_line("category", &c.category, MAX_CATEGORY)?;
    if c.tags.len() > MAX_TAGS {
        return Err(invalid(format!("at most {MAX_TAGS} tags")));
    }
    let mut tags: Vec<String> = Vec::new();
    for t in &c.tags {
        let t = one_line("tag", t, MAX_TAG)?.to_lowercase();
        if t.contains(',') {
            return Err(invalid("a tag holds no comma"));
        }
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    if c.body.trim().is_empty() {
        return Err(invalid("the body is empty"));
    }
    if c.body.len() > MAX_BODY {
        return Err(invalid(format!("the body is longer than {} KiB", MAX_BODY / 1024)));
    }
    if c.body.chars().any(|ch| ch.is_control() && !matches!(ch, '\n' | '\r' | '\t')) {
        return Err(invalid("the body holds control characters"));
    }
    Ok(HelpContent {
        title,
        category,
        tags,
        body: c.body.replace("\r\n", "\n"),
        published: c.published,
    })
}

/// One article of the starter set, as its file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarterArticle {
    pub slug: String,
    /// Bumped when the file's text changes: an article never edited by staff then follows.
    pub version: u32,
    pub content: HelpContent,
}

/// The starter set's files (`starter/*.md`), embedded in the binary.
const STARTER: &[(&str, &str)] = &[
    ("pairing-a-camera.md", include_str!("../starter/pairing-a-camera.md")),
    ("wifi.md", include_str!("../starter/wifi.md")),
    ("live-view.md", include_str!("../starter/live-view.md")),
    ("notifications.md", include_str!("../starter/notifications.md")),
    ("sharing.md", include_str!("../starter/sharing.md")),
    ("privacy.md", include_str!("../starter/privacy.md")),
    ("playback-and-plans.md", include_str!("../starter/playback-and-plans.md")),
    ("firmware-updates.md", include_str!("../starter/firmware-updates.md")),
    ("sd-card.md", include_str!("../starter/sd-card.md")),
    ("sign-in-security.md", include_str!("../starter/sign-in-security.md")),
];

/// Parses a starter file: a front matter between `---` lines (`slug`, `title`, `category`,
/// `tags` comma-separated, `version`), then the Markdown body.
pub fn parse_starter(text: &str) -> Result<StarterArticle, String> {
    let rest = text.strip_prefix("---\n").ok_or("no front matter")?;
    let (front, body) = rest.split_once("\n---\n").ok_or("front matter not closed")?;
    let mut slug = None;
    let mut title = None;
    let mut category = None;
    let mut tags = Vec::new();
    let mut version = None;
    for line in front.lines().filter(|l| !l.trim().is_empty()) {
        let (k, v) = line.split_once(':').ok_or_else(|| format!("not `key: value`: {line:?}"))?;
        let v = v.trim();
        match k.trim() {
            "slug" => slug = Some(v.to_string()),
            "title" => title = Some(v.to_string()),
            "category" => category = Some(v.to_string()),
            "tags" => {
                tags = v
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect()
            }
            "version" => version = Some(v.parse::<u32>().map_err(|e| format!("version: {e}"))?),
            other => return Err(format!("unknown key {other:?}")),
        }
    }
    let slug = slug.ok_or("no slug")?;
    if !valid_slug(&slug) {
        return Err(format!("bad slug {slug:?}"));
    }
    let content = HelpContent {
        title: title.ok_or("no title")?,
        category: category.ok_or("no category")?,
        tags,
        body: body.trim().to_string(),
        published: true,
    };
    let content = validate(&content).map_err(|e| e.to_string())?;
    Ok(StarterArticle { slug, version: version.ok_or("no version")?, content })
}

/// The starter set. Its files are checked by a unit test; one that does not parse is a bug
/// of this crate, so it is left out with an error in the log rather than stopping the server.
pub fn starter_set() -> Vec<StarterArticle> {
    STARTER
        .iter()
        .filter_map(|(file, text)| match parse_starter(text) {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::error!(file, error = %e, "help starter article does not parse");
                None
            }
        })
        .collect()
}

/// What seeding did, article by article.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub inserted: Vec<String>,
    pub updated: Vec<String>,
    pub kept: Vec<String>,
}

/// A published article found by a search (or listed), with a snippet of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub article: HelpArticle,
    pub snippet: String,
}

/// A category of the published articles and how many it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub name: String,
    pub count: u32,
}

impl Help {
    /// Stores the starter set's articles that were never seeded, and newer versions of those
    /// no staff member has edited (see [`kankan_db::HelpStore::seed_help_article`]): an
    /// operator's edit, or deletion, stays.
    pub async fn seed_starter_set(&self) -> Result<SeedReport, CoreError> {
        let now = self.inner.clock.now();
        let mut report = SeedReport::default();
        for a in starter_set() {
            let out =
                self.inner.store.seed_help_article(&a.slug, &a.content, a.version, now).await?;
            match out {
                SeedOutcome::Inserted => report.inserted.push(a.slug),
                SeedOutcome::Updated => report.updated.push(a.slug),
                SeedOutcome::Kept => report.kept.push(a.slug),
            }
        }
        if !report.inserted.is_empty() || !report.updated.is_empty() {
            tracing::info!(
                inserted = report.inserted.len(),
                updated = report.updated.len(),
                "help center starter set seeded"
            );
        }
        Ok(report)
    }

    /// The published articles matching `query` (all of them, by category and title, when it
    /// is empty), in `category` when given, and the categories of the published articles.
    pub async fn search(
        &self,
        query: &str,
        category: Option<&str>,
    ) -> Result<(Vec<Found>, Vec<Category>), CoreError> {
        if query.chars().count() > MAX_QUERY {
            return Err(invalid(format!("a search is at most {MAX_QUERY} characters")));
        }
        let published = self.inner.store.help_articles(false).await?;
        let mut categories: Vec<Category> = Vec::new();
        for a in &published {
            match categories.iter_mut().find(|c| c.name == a.content.category) {
                Some(c) => c.count += 1,
                None => categories.push(Category { name: a.content.category.clone(), count: 1 }),
            }
        }
        let in_category = |a: &HelpArticle| category.is_none_or(|c| a.content.category == c);
        let found = if query.trim().is_empty() {
            published
                .iter()
                .filter(|a| in_category(a))
                .map(|a| Found {
                    article: a.clone(),
                    snippet: snippet(&plain_text(&a.content.body), 0),
                })
                .collect()
        } else {
            search::search(&published, query)
                .into_iter()
                .filter(|h| in_category(h.article))
                .map(|h| Found { article: h.article.clone(), snippet: h.snippet })
                .collect()
        };
        Ok((found, categories))
    }

    /// A published article (a draft is `article-not-found`, as a missing one).
    pub async fn published(&self, slug: &str) -> Result<HelpArticle, CoreError> {
        match self.inner.store.help_article(slug).await? {
            Some(a) if a.content.published => Ok(a),
            _ => Err(not_found()),
        }
    }

    /// Every article, drafts too (staff).
    pub async fn all(&self) -> Result<Vec<HelpArticle>, CoreError> {
        Ok(self.inner.store.help_articles(true).await?)
    }

    /// An article and its revisions, newest first (staff).
    pub async fn with_revisions(
        &self,
        slug: &str,
    ) -> Result<(HelpArticle, Vec<HelpRevision>), CoreError> {
        let a = self.inner.store.help_article(slug).await?.ok_or_else(not_found)?;
        Ok((a, self.inner.store.help_revisions(slug).await?))
    }

    /// A new article (staff); `article-exists` when the slug is taken.
    pub async fn create(
        &self,
        by: StaffId,
        slug: &str,
        content: &HelpContent,
    ) -> Result<HelpArticle, CoreError> {
        if !valid_slug(slug) {
            return Err(invalid("a slug is 1-64 of a-z, 0-9 and inner hyphens"));
        }
        let content = validate(content)?;
        let s = &self.inner.store;
        if !s.insert_help_article(slug, &content, by, self.inner.clock.now()).await? {
            return Err(CoreError::Support {
                kind: ErrorKind::FailedPrecondition,
                code: "article-exists",
                message: format!("an article {slug:?} exists already"),
            });
        }
        s.help_article(slug).await?.ok_or_else(not_found)
    }

    /// A new revision of an article (staff): its text, or publishing and unpublishing it.
    pub async fn edit(
        &self,
        by: StaffId,
        slug: &str,
        content: &HelpContent,
    ) -> Result<HelpArticle, CoreError> {
        let content = validate(content)?;
        let now = self.inner.clock.now();
        self.inner.store.update_help_article(slug, &content, by, now).await?.ok_or_else(not_found)
    }

    /// Deletes an article and its revisions (staff). A starter article deleted stays deleted.
    pub async fn delete(&self, slug: &str) -> Result<(), CoreError> {
        if self.inner.store.delete_help_article(slug).await? { Ok(()) } else { Err(not_found()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_starter_file_parses_with_a_distinct_slug_and_a_real_body() {
        let set = starter_set();
        assert_eq!(set.len(), STARTER.len(), "a starter file does not parse");
        let mut slugs: Vec<&str> = set.iter().map(|a| a.slug.as_str()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), set.len(), "two starter files share a slug");
        for a in &set {
            assert!(a.content.body.len() > 400, "{} is too short to help", a.slug);
            assert!(!a.content.tags.is_empty(), "{} has no tags", a.slug);
        }
    }

    #[test]
    fn front_matter_errors_are_named() {
        assert!(parse_starter("no front").is_err());
        let bad = "---\nslug: Bad Slug\ntitle: T\ncategory: C\nversion: 1\n---\nBody";
        assert!(parse_starter(bad).expect_err("bad slug").contains("bad slug"));
        let unknown = "---\nslug: s\nauthor: x\n---\nBody";
        assert!(parse_starter(unknown).expect_err("unknown key").contains("unknown key"));
    }

    #[test]
    fn slugs_are_lower_case_words_joined_by_single_hyphens() {
        for ok in ["a", "pairing-a-camera", "sd-card-2"] {
            assert!(valid_slug(ok), "{ok}");
        }
        let long = "a".repeat(65);
        for bad in ["", "-a", "a-", "a--b", "A", "a b", "a/b", long.as_str()] {
            assert!(!valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn validation_trims_dedups_tags_and_bounds_every_field() {
        let c = HelpContent {
            title: "  Title ".into(),
            category: "Cat".into(),
            tags: vec!["Wi-Fi".into(), "wi-fi".into()],
            body: "Body\r\nline".into(),
            published: false,
        };
        let v = validate(&c).expect("valid");
        assert_eq!((v.title.as_str(), v.tags.len(), v.body.as_str()), ("Title", 1, "Body\nline"));
        let code = |c: HelpContent| match validate(&c) {
            Err(CoreError::Support { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(HelpContent { title: " ".into(), ..c.clone() }), "invalid-article");
        assert_eq!(
            code(HelpContent { body: "x".repeat(MAX_BODY + 1), ..c.clone() }),
            "invalid-article"
        );
        assert_eq!(
            code(HelpContent { tags: vec!["t".into(); MAX_TAGS + 1], ..c.clone() }),
            "invalid-article"
        );
        assert_eq!(code(HelpContent { title: "a\u{7}".into(), ..c }), "invalid-article");
    }
}
