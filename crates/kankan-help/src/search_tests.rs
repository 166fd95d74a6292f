//! Unit tests of the help center search: folding, stemming, ranking and snippets.

use kankan_base::Timestamp;
use kankan_db::{HelpArticle, HelpContent};

use super::*;

fn article(slug: &str, title: &str, tags: &[&str], body: &str) -> HelpArticle {
    HelpArticle {
        slug: slug.into(),
        content: HelpContent {
            title: title.into(),
            category: "Cameras".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            body: body.into(),
            published: true,
        },
        revision: 1,
        edited_by: None,
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
    }
}

fn words(q: &str) -> Vec<String> {
    terms(q).into_iter().map(|t| t.stem).collect()
}

#[test]
fn tokens_are_folded_to_lower_case_without_accents_with_their_place() {
    let t = tokenize("Caméra  HORS-ligne, Straße!");
    let w: Vec<&str> = t.iter().map(|t| t.word.as_str()).collect();
    assert_eq!(w, ["camera", "hors", "ligne", "strasse", "horsligne"]);
    assert_eq!((t[0].start, t[0].end), (0, 7));
    assert_eq!(&"Caméra  HORS-ligne, Straße!"[t[1].start..t[1].end], "HORS");
    assert_eq!(fold("ÉLÈVE Ñandú"), "eleve nandu");
}

#[test]
fn stemming_brings_verb_and_plural_endings_together() {
    for (a, b) in [
        ("pairing", "pair"),
        ("paired", "pairs"),
        ("updates", "updating"),
        ("updated", "update"),
        ("notifications", "notification"),
        ("batteries", "battery"),
        ("stopped", "stop"),
        ("passes", "pass"),
    ] {
        assert_eq!(stem(a), stem(b), "{a} / {b}");
    }
    // Short words, numbers and other scripts stay as they are.
    assert_eq!(stem("sd"), "sd");
    assert_eq!(stem("2024"), "2024");
    assert_eq!(stem("摄像头"), "摄像头");
    assert_ne!(stem("status"), stem("stat"));
}

#[test]
fn queries_drop_stop_words_and_repeats_and_keep_a_hyphenated_word_whole() {
    assert_eq!(words("How do I change the Wi-Fi "), ["chang", "wifi"]);
    assert_eq!(words("the"), ["the"]);
    assert_eq!(words("camera cameras"), ["camera"]);
    let t = terms("live vi");
    assert!(!t[0].prefix && t[1].prefix, "{t:?}");
    assert!(!terms("live vi ")[1].prefix);
    assert_eq!(terms(&"word ".repeat(40)).len(), 1);
    assert!(terms("  !? ").is_empty());
}

#[test]
fn a_title_match_ranks_above_a_body_match() {
    let list = vec![
        article("a", "Sharing with family", &[], "Pairing is explained elsewhere."),
        article("b", "Pairing a camera", &[], "Show the QR code to the camera."),
    ];
    let hits = search(&list, "pairing");
    let slugs: Vec<&str> = hits.iter().map(|h| h.article.slug.as_str()).collect();
    assert_eq!(slugs, ["b", "a"]);
    assert!(hits[0].score > hits[1].score);
}

#[test]
fn an_article_holding_every_word_ranks_above_one_holding_some_even_in_its_title() {
    let list = vec![
        article("title", "Snooze", &[], "Nothing else here."),
        article("both", "Quiet hours", &[], "Snooze a camera and its doorbell press."),
    ];
    let hits = search(&list, "snooze doorbell");
    assert_eq!(hits[0].article.slug, "both");
    assert_eq!(hits[0].matched, 2);
    assert_eq!(hits[1].matched, 1);
}

#[test]
fn tags_rank_between_title_and_body_and_nothing_matching_is_left_out() {
    let list = vec![
        article("body", "One", &[], "A passkey is mentioned."),
        article("tag", "Two", &["passkeys"], "Nothing."),
        article("none", "Three", &[], "Unrelated."),
    ];
    let hits = search(&list, "passkey");
    let slugs: Vec<&str> = hits.iter().map(|h| h.article.slug.as_str()).collect();
    assert_eq!(slugs, ["tag", "body"]);
    assert!(search(&list, "").is_empty());
}

#[test]
fn the_last_word_matches_as_a_prefix_while_typing() {
    let list = vec![article("n", "Notifications", &[], "Push and webhooks.")];
    assert_eq!(search(&list, "notif").len(), 1);
    assert_eq!(search(&list, "webh").len(), 1);
    assert!(search(&list, "notif ").is_empty(), "a finished word is a whole word");
}

#[test]
fn accents_and_case_do_not_matter() {
    let list = vec![article("c", "Caméra hors ligne", &[], "Redémarrez la caméra.")];
    assert_eq!(search(&list, "CAMERA").len(), 1);
    assert_eq!(search(&list, "redemarrez").len(), 1);
}

#[test]
fn the_snippet_shows_the_body_around_the_first_word_found_without_markdown() {
    let filler = "Lorem ipsum dolor sit amet. ".repeat(20);
    let body = format!("# Heading\n\n{filler}\n\n- **Format** the SD card in the app.\n\n{filler}");
    let list = vec![article("sd", "Storage", &[], &body)];
    let hit = &search(&list, "format")[0];
    assert!(hit.snippet.contains("Format the SD card"), "{}", hit.snippet);
    assert!(hit.snippet.starts_with('…') && hit.snippet.ends_with('…'), "{}", hit.snippet);
    assert!(!hit.snippet.contains("**"));
    assert!(hit.snippet.chars().count() <= SNIPPET_CHARS + 2);
    let one = [article("s", "Short", &[], "Just a **line**.")];
    let short = &search(&one, "short")[0];
    assert_eq!(short.snippet, "Just a line.");
}

#[test]
fn plain_text_drops_headings_bullets_numbers_bold_and_code() {
    assert_eq!(
        plain_text("## Steps\n1. Open **Me**\n2) Tap `Help`\n- done"),
        "Steps Open Me Tap Help done"
    );
}

proptest::proptest! {
    #[test]
    fn search_and_snippets_never_panic_on_any_text(body in "\\PC{0,400}", q in "\\PC{0,40}") {
        let list = vec![article("x", "T", &[], &body)];
        for hit in search(&list, &q) {
            proptest::prop_assert!(hit.snippet.chars().count() <= SNIPPET_CHARS + 2);
        }
        let _ = snippet(&body, body.len() / 2);
    }
}
