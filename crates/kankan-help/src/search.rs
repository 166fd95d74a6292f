//! Search over the published articles, in Rust (there are few, and SQLite and PostgreSQL then
//! answer the same): words are folded (lower case, accents off), stop words dropped and
//! stemmed with a few suffix rules; the last word of a query also matches as a prefix (results
//! as one types). Ranking: articles holding every word above those holding some, then by
//! where the words are (title over tags over category over body), then by title.

use kankan_db::HelpArticle;

/// Where a query word was found, and what it weighs.
const TITLE: u32 = 100;
const TAG: u32 = 60;
const CATEGORY: u32 = 30;
const BODY: u32 = 10;
/// Body hits beyond the first add this much each, up to [`BODY_REPEAT_CAP`].
const BODY_REPEAT: u32 = 1;
const BODY_REPEAT_CAP: u32 = 5;
/// Characters of a snippet.
pub const SNIPPET_CHARS: usize = 180;
/// Query words considered (the rest are ignored).
pub const MAX_QUERY_WORDS: usize = 12;

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "can", "do", "does", "for", "from", "how", "i",
    "if", "in", "is", "it", "me", "my", "of", "on", "or", "the", "to", "what", "when", "why",
    "with", "you", "your",
];

/// Folds one character: lower case, accents off (Latin letters), everything else as is.
fn fold_char(c: char) -> char {
    let c = c.to_lowercase().next().unwrap_or(c);
    match c {
        'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'ĥ' | 'ħ' => 'h',
        'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => 'i',
        'ĵ' => 'j',
        'ķ' => 'k',
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò'..='ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => 'o',
        'ŕ' | 'ŗ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' => 's',
        'ţ' | 'ť' | 'ŧ' => 't',
        'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ŵ' => 'w',
        'ý' | 'ÿ' | 'ŷ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        _ => c,
    }
}

/// Lower case, accents off.
pub fn fold(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

/// A word of a text: folded, with where it sits in the text (byte range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub word: String,
    pub start: usize,
    pub end: usize,
}

/// The words of a text (runs of letters and digits), folded. `ß` folds to `ss`, `æ` to
/// `ae`, `œ` to `oe`.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            if word.is_empty() {
                start = i;
            }
            match fold_char(c) {
                'ß' => word.push_str("ss"),
                'æ' => word.push_str("ae"),
                'œ' => word.push_str("oe"),
                f => word.push(f),
            }
        } else if !word.is_empty() {
            out.push(Token { word: std::mem::take(&mut word), start, end: i });
        }
    }
    if !word.is_empty() {
        out.push(Token { word, start, end: text.len() });
    }
    // "Wi-Fi" is also "wifi", "two-step" also "twostep".
    let joined: Vec<Token> = out
        .windows(2)
        .filter(|w| &text[w[0].end..w[1].start] == "-")
        .map(|w| Token {
            word: format!("{}{}", w[0].word, w[1].word),
            start: w[0].start,
            end: w[1].end,
        })
        .collect();
    out.extend(joined);
    out
}

/// A query's words: like [`tokenize`], but a hyphenated word is one word ("wi-fi": "wifi").
fn query_tokens(query: &str) -> Vec<Token> {
    let chars: Vec<char> = query.chars().collect();
    let joined: String = chars
        .iter()
        .enumerate()
        .filter(|&(i, c)| {
            !(*c == '-'
                && i > 0
                && chars[i - 1].is_alphanumeric()
                && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric()))
        })
        .map(|(_, c)| *c)
        .collect();
    let end = joined.len();
    tokenize(&joined)
        .into_iter()
        .map(|t| Token { end: if t.end == end { usize::MAX } else { t.end }, ..t })
        .collect()
}

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// A light English stemmer: plural and verb endings off, so that "pairing", "paired" and
/// "pairs" meet "pair", "updates" and "updating" meet "update". The same on both sides of a
/// comparison is what matters, not linguistics. Words of other scripts are kept as they are.
pub fn stem(word: &str) -> String {
    if !word.is_ascii() || word.len() <= 3 || word.bytes().all(|b| b.is_ascii_digit()) {
        return word.to_string();
    }
    let mut w = word.to_string();
    if w.len() > 4 && w.ends_with("ies") {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.len() > 5 && w.ends_with("ing") {
        w.truncate(w.len() - 3);
    } else if w.len() > 4
        && (w.ends_with("ed")
            || w.ends_with("ses")
            || w.ends_with("xes")
            || w.ends_with("ches")
            || w.ends_with("shes"))
    {
        // "paired" -> "pair"; "passes" -> "pass".
        w.truncate(w.len() - 2);
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.truncate(w.len() - 1);
    }
    // "stopped" -> "stopp" -> "stop"; "pass" keeps its "ss".
    let b = w.as_bytes();
    if b.len() > 3 {
        let (x, y) = (b[b.len() - 2], b[b.len() - 1]);
        if x == y && !is_vowel(y) && !matches!(y, b'l' | b's' | b'z') && w != word {
            w.truncate(w.len() - 1);
        }
    }
    // "update", "updated", "updating" -> "updat".
    if w.len() > 3 && w.ends_with('e') {
        w.truncate(w.len() - 1);
    }
    w
}

/// One word of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// Folded, as typed.
    pub word: String,
    pub stem: String,
    /// The last word of a query still being typed: also matches words it starts.
    pub prefix: bool,
}

/// The words of a query: folded, stop words dropped (unless there is nothing else), at most
/// [`MAX_QUERY_WORDS`], each once. The last word is a prefix unless the query ends with a
/// space.
pub fn terms(query: &str) -> Vec<Term> {
    let tokens = query_tokens(query);
    let open_end = tokens.last().is_some_and(|t| t.end == usize::MAX);
    let mut words: Vec<String> = tokens.iter().map(|t| t.word.clone()).collect();
    let meaningful: Vec<String> =
        words.iter().filter(|w| !STOP_WORDS.contains(&w.as_str())).cloned().collect();
    let last_dropped = words.last().is_some_and(|w| STOP_WORDS.contains(&w.as_str()));
    if !meaningful.is_empty() {
        words = meaningful;
    }
    let mut out: Vec<Term> = Vec::new();
    let n = words.len().min(MAX_QUERY_WORDS);
    for (i, w) in words.into_iter().take(n).enumerate() {
        let prefix = open_end && i + 1 == n && !last_dropped && w.chars().count() >= 2;
        let stem = stem(&w);
        if let Some(t) = out.iter_mut().find(|t| t.stem == stem) {
            t.prefix &= prefix;
            continue;
        }
        out.push(Term { word: w, stem, prefix });
    }
    out
}

impl Term {
    fn matches(&self, token: &str) -> bool {
        stem(token) == self.stem || (self.prefix && token.starts_with(&self.word))
    }
}

/// One article found, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<'a> {
    pub article: &'a HelpArticle,
    /// How many of the query's words it holds.
    pub matched: usize,
    pub score: u32,
    /// Plain text around the first body word found (the body's start when none).
    pub snippet: String,
}

/// The body without Markdown's marks (headings, list bullets, bold and code), for snippets
/// and for search.
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for line in markdown.lines() {
        let line = line.trim();
        let line = line.trim_start_matches('#').trim_start();
        let line = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")).unwrap_or(line);
        let line = match line.split_once(['.', ')']) {
            Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                rest.trim_start()
            }
            _ => line,
        };
        if line.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(line.chars().filter(|c| !matches!(c, '*' | '`')));
    }
    out
}

/// About [`SNIPPET_CHARS`] characters of `text` around byte `at`, cut at spaces, with "…"
/// where text was left out.
pub fn snippet(text: &str, at: usize) -> String {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    if chars.len() <= SNIPPET_CHARS {
        return text.to_string();
    }
    let pos = chars.iter().position(|(i, _)| *i >= at).unwrap_or(0);
    let mut from = pos.saturating_sub(SNIPPET_CHARS / 3);
    let to = (from + SNIPPET_CHARS).min(chars.len());
    from = to.saturating_sub(SNIPPET_CHARS).min(from);
    // Start and end on word boundaries.
    let mut a = from;
    if a > 0 {
        while a < pos && !chars[a - 1].1.is_whitespace() {
            a += 1;
        }
    }
    let mut b = to;
    if b < chars.len() {
        while b > pos + 1 && !chars[b].1.is_whitespace() {
            b -= 1;
        }
    }
    let start = chars[a].0;
    let end = chars.get(b).map_or(text.len(), |(i, _)| *i);
    let mut out = String::new();
    if a > 0 {
        out.push('…');
    }
    out.push_str(text[start..end].trim());
    if b < chars.len() {
        out.push('…');
    }
    out
}

/// Scores one article against the query's terms; None when it holds none of them.
fn score<'a>(article: &'a HelpArticle, terms: &[Term]) -> Option<Hit<'a>> {
    let c = &article.content;
    let title = tokenize(&c.title);
    let tags: Vec<Token> = c.tags.iter().flat_map(|t| tokenize(t)).collect();
    let category = tokenize(&c.category);
    let body_text = plain_text(&c.body);
    let body = tokenize(&body_text);
    let mut matched = 0;
    let mut total = 0;
    let mut first_body: Option<usize> = None;
    for term in terms {
        let in_title = title.iter().any(|t| term.matches(&t.word));
        let in_tags = tags.iter().any(|t| term.matches(&t.word));
        let in_category = category.iter().any(|t| term.matches(&t.word));
        let body_hits: Vec<&Token> = body.iter().filter(|t| term.matches(&t.word)).collect();
        let best = if in_title {
            TITLE
        } else if in_tags {
            TAG
        } else if in_category {
            CATEGORY
        } else if !body_hits.is_empty() {
            BODY
        } else {
            continue;
        };
        matched += 1;
        let repeats = u32::try_from(body_hits.len().saturating_sub(1)).unwrap_or(u32::MAX);
        total += best + BODY_REPEAT * repeats.min(BODY_REPEAT_CAP);
        if let Some(t) = body_hits.first() {
            first_body = Some(first_body.map_or(t.start, |f| f.min(t.start)));
        }
    }
    (matched > 0).then(|| Hit {
        article,
        matched,
        score: total,
        snippet: snippet(&body_text, first_body.unwrap_or(0)),
    })
}

/// The articles that match `query`, best first (see the module). An empty query (or one of
/// no words) finds nothing.
pub fn search<'a>(articles: &'a [HelpArticle], query: &str) -> Vec<Hit<'a>> {
    let terms = terms(query);
    if terms.is_empty() {
        return Vec::new();
    }
    let mut hits: Vec<Hit<'a>> = articles.iter().filter_map(|a| score(a, &terms)).collect();
    hits.sort_by(|a, b| {
        b.matched
            .cmp(&a.matched)
            .then(b.score.cmp(&a.score))
            .then_with(|| a.article.content.title.cmp(&b.article.content.title))
    });
    hits
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
