-- The help center and the app's ratings (kankan-help).
--
-- help_articles: the operator's Markdown articles, one row per slug, as they stand now
-- (`published` 0 or 1: drafts are seen by staff only). `revision` counts the edits;
-- `edited_by` is the staff member of the last edit, NULL while the article is the starter
-- set's text as seeded.
CREATE TABLE help_articles (
    slug                    TEXT PRIMARY KEY,
    title                   TEXT NOT NULL,
    category                TEXT NOT NULL,
    tags                    TEXT NOT NULL,              -- comma-separated
    body                    TEXT NOT NULL,              -- Markdown
    published               INTEGER NOT NULL,
    revision                INTEGER NOT NULL,
    edited_by               TEXT,                       -- StaffId; NULL: the starter set
    created_at_ms           INTEGER NOT NULL,
    updated_at_ms           INTEGER NOT NULL
);

-- help_revisions: every version an article had (the seeded text and each staff edit), kept
-- until the article is deleted.
CREATE TABLE help_revisions (
    slug                    TEXT NOT NULL REFERENCES help_articles (slug) ON DELETE CASCADE,
    revision                INTEGER NOT NULL,
    title                   TEXT NOT NULL,
    category                TEXT NOT NULL,
    tags                    TEXT NOT NULL,
    body                    TEXT NOT NULL,
    published               INTEGER NOT NULL,
    edited_by               TEXT,                       -- StaffId; NULL: the starter set
    edited_at_ms            INTEGER NOT NULL,
    PRIMARY KEY (slug, revision)
);

-- help_seeds: which starter-set article was seeded, at which version of the starter set.
-- A slug listed here is never seeded again (an article the operator deleted stays deleted);
-- a newer starter version replaces the text only while no staff member has edited it.
CREATE TABLE help_seeds (
    slug                    TEXT PRIMARY KEY,
    version                 INTEGER NOT NULL,
    seeded_at_ms            INTEGER NOT NULL
);

-- app_ratings: one rating of the app per account and app version, changeable; nothing of
-- the rater's contact. Deleted with the account.
CREATE TABLE app_ratings (
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    app_version             TEXT NOT NULL,
    stars                   INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment                 TEXT,
    created_at_ms           INTEGER NOT NULL,
    updated_at_ms           INTEGER NOT NULL,
    PRIMARY KEY (account_id, app_version)
);
CREATE INDEX app_ratings_by_time ON app_ratings (updated_at_ms);
