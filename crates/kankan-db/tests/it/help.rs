//! The help center in the store: a starter article is seeded once, a newer version replaces
//! it only while no staff member edited it, a deleted one is not seeded again; every edit is a
//! revision (with the editor's username); drafts are left out of the published list; a rating
//! per account and version is replaced, not duplicated; the summary has no account; an
//! account's ratings go with it.

use kankan_base::{StaffId, Timestamp};
use kankan_db::{AppRating, HelpContent, SeedOutcome, Staff, Store};

use crate::devices::{T0, account};
use crate::store;

fn at(s: i64) -> Timestamp {
    Timestamp(T0.0 + s * 1000)
}

fn content(title: &str, published: bool) -> HelpContent {
    HelpContent {
        title: title.into(),
        category: "Getting started".into(),
        tags: vec!["pairing".into(), "qr code".into()],
        body: format!("# {title}\n\nBody."),
        published,
    }
}

async fn staff(s: &dyn Store, name: &str) -> StaffId {
    let st = Staff {
        id: StaffId::new(),
        username: name.into(),
        password_hash: "x".into(),
        role: "support".into(),
        created_at: T0,
    };
    s.insert_staff(&st).await.expect("staff");
    st.id
}

#[tokio::test]
async fn a_starter_article_is_seeded_once_and_updated_only_while_nobody_edited_it() {
    let (s, _dir) = store().await;
    let v1 = content("Pairing", true);
    assert_eq!(
        s.seed_help_article("pairing", &v1, 1, at(0)).await.expect("seed"),
        SeedOutcome::Inserted
    );
    assert_eq!(
        s.seed_help_article("pairing", &v1, 1, at(1)).await.expect("seed"),
        SeedOutcome::Kept
    );
    let v2 = content("Pairing, again", true);
    assert_eq!(
        s.seed_help_article("pairing", &v2, 2, at(2)).await.expect("seed"),
        SeedOutcome::Updated
    );
    let a = s.help_article("pairing").await.expect("get").expect("article");
    assert_eq!((a.content.title.as_str(), a.revision, a.edited_by), ("Pairing, again", 2, None));
    assert_eq!(a.content.tags, ["pairing", "qr code"]);

    let by = staff(s.as_ref(), "writer").await;
    let edited =
        s.update_help_article("pairing", &content("Ours", false), by, at(3)).await.expect("edit");
    assert_eq!(edited.expect("article").revision, 3);
    assert_eq!(
        s.seed_help_article("pairing", &content("v3", true), 3, at(4)).await.expect("seed"),
        SeedOutcome::Kept
    );
    let a = s.help_article("pairing").await.expect("get").expect("article");
    assert_eq!(
        (a.content.title.as_str(), a.content.published, a.edited_by),
        ("Ours", false, Some(by))
    );
    let revs = s.help_revisions("pairing").await.expect("revisions");
    let seen: Vec<(u32, Option<&str>)> =
        revs.iter().map(|r| (r.revision, r.editor.as_deref())).collect();
    assert_eq!(seen, [(3, Some("writer")), (2, None), (1, None)]);

    // Deleted by staff: not seeded again, even at a newer version.
    assert!(s.delete_help_article("pairing").await.expect("delete"));
    assert!(!s.delete_help_article("pairing").await.expect("delete"));
    assert_eq!(
        s.seed_help_article("pairing", &v1, 9, at(5)).await.expect("seed"),
        SeedOutcome::Kept
    );
    assert!(s.help_article("pairing").await.expect("get").is_none());
    assert!(s.help_revisions("pairing").await.expect("revisions").is_empty());
}

#[tokio::test]
async fn a_slug_taken_by_the_operator_is_not_seeded_and_drafts_are_not_published() {
    let (s, _dir) = store().await;
    let by = staff(s.as_ref(), "writer").await;
    assert!(
        s.insert_help_article("wifi", &content("Our Wi-Fi", false), by, at(0))
            .await
            .expect("insert")
    );
    assert!(
        !s.insert_help_article("wifi", &content("Again", true), by, at(1)).await.expect("insert")
    );
    assert_eq!(
        s.seed_help_article("wifi", &content("Starter", true), 1, at(2)).await.expect("seed"),
        SeedOutcome::Kept
    );
    assert_eq!(s.help_article("wifi").await.expect("get").expect("a").content.title, "Our Wi-Fi");
    s.seed_help_article("live", &content("Live", true), 1, at(3)).await.expect("seed");
    let published: Vec<String> =
        s.help_articles(false).await.expect("list").into_iter().map(|a| a.slug).collect();
    assert_eq!(published, ["live"]);
    assert_eq!(s.help_articles(true).await.expect("list").len(), 2);
    assert!(
        s.update_help_article("nope", &content("x", true), by, at(4))
            .await
            .expect("edit")
            .is_none()
    );
}

#[tokio::test]
async fn one_rating_per_account_and_version_and_a_summary_without_accounts() {
    let (s, _dir) = store().await;
    let a = account(s.as_ref(), 1).await;
    let b = account(s.as_ref(), 2).await;
    let rating = |who, v: &str, stars, comment: Option<&str>, t| AppRating {
        account_id: who,
        app_version: v.into(),
        stars,
        comment: comment.map(String::from),
        created_at: at(t),
        updated_at: at(t),
    };
    s.put_app_rating(&rating(a, "1.0", 2, Some("meh"), 0)).await.expect("rate");
    let again = s.put_app_rating(&rating(a, "1.0", 5, None, 10)).await.expect("rate");
    assert_eq!(
        (again.stars, again.comment.as_deref(), again.created_at, again.updated_at),
        (5, None, at(0), at(10))
    );
    s.put_app_rating(&rating(a, "2.0", 4, Some("better"), 20)).await.expect("rate");
    s.put_app_rating(&rating(b, "2.0", 1, Some("broken"), 30)).await.expect("rate");
    let summary = s.rating_summary().await.expect("summary");
    assert_eq!((summary.count, summary.distribution), (3, [1, 0, 0, 1, 1]));
    let comments: Vec<String> = s
        .recent_rating_comments(10)
        .await
        .expect("comments")
        .into_iter()
        .map(|c| c.comment)
        .collect();
    assert_eq!(comments, ["broken", "better"]);
    assert_eq!(s.app_rating(a, "1.0").await.expect("get").expect("rating").stars, 5);
    assert_eq!(s.app_ratings_of(a).await.expect("of").len(), 2);
    assert_eq!(s.delete_app_ratings_of(a).await.expect("delete"), 2);
    assert!(s.app_ratings_of(a).await.expect("of").is_empty());
    assert_eq!(s.rating_summary().await.expect("summary").count, 1);
}
