//! The OpenAI chat-completions exchange (`POST {endpoint}/v1/chat/completions`): the request
//! Kankan sends (a system prompt, then a user message of text and `image_url` parts holding
//! the frames as `data:image/jpeg;base64,...` URLs) and the one sentence taken from the answer
//! (`choices[0].message.content`). The answer is a third party's bytes: parsed defensively,
//! bounded, and cut to one plain sentence.

use base64::Engine as _;
use serde_json::{Value, json};

/// The most tokens the model may answer with.
pub const MAX_TOKENS: u32 = 60;
/// The longest description kept, in characters.
pub const MAX_CHARS: usize = 200;
/// The largest answer read, in bytes.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The user message's text before the frames.
const USER_TEXT: &str = "Frames of one camera event, in order:";

/// The request body for `model` with `prompt` as the system message and `frames` (JPEGs).
pub fn request_body(model: &str, prompt: &str, frames: &[Vec<u8>]) -> Value {
    let mut content = vec![json!({ "type": "text", "text": USER_TEXT })];
    for jpeg in frames {
        let b64 = base64::engine::general_purpose::STANDARD.encode(jpeg);
        content.push(json!({
            "type": "image_url",
            "image_url": { "url": format!("data:image/jpeg;base64,{b64}") },
        }));
    }
    json!({
        "model": model,
        "max_tokens": MAX_TOKENS,
        "messages": [
            { "role": "system", "content": prompt },
            { "role": "user", "content": content },
        ],
    })
}

/// The description in an answer's body: `choices[0].message.content` (a string, or an array
/// of `{type: "text", text}` parts), cut to one sentence; `None` when the body is not such an
/// answer or says nothing.
pub fn parse_answer(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let content = v.get("choices")?.get(0)?.get("message")?.get("content")?;
    let text = match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => return None,
    };
    one_sentence(&text)
}

/// The first sentence of `text` as plain text: whitespace runs (newlines included) become one
/// space, control and formatting characters go, and it ends at the first `.`, `!` or `?`
/// followed by a space, or after [`MAX_CHARS`] characters (at a word when one ends in the
/// last quarter, then `…`). `None` when nothing is left.
pub fn one_sentence(text: &str) -> Option<String> {
    let mut flat = String::new();
    for word in text.split_whitespace() {
        let word: String = word.chars().filter(|c| !c.is_control() && !is_format(*c)).collect();
        if word.is_empty() {
            continue;
        }
        if !flat.is_empty() {
            flat.push(' ');
        }
        flat.push_str(&word);
    }
    let flat = flat.trim_matches(|c: char| c == '"' || c == '*' || c == ' ').to_string();
    let end = flat
        .char_indices()
        .find(|(i, c)| matches!(c, '.' | '!' | '?') && flat[i + c.len_utf8()..].starts_with(' '))
        .map_or(flat.len(), |(i, c)| i + c.len_utf8());
    let sentence = &flat[..end];
    if sentence.is_empty() {
        return None;
    }
    if sentence.chars().count() <= MAX_CHARS {
        return Some(sentence.to_string());
    }
    let cut: String = sentence.chars().take(MAX_CHARS - 1).collect();
    let at_word = match cut.rfind(' ') {
        Some(i) if i >= cut.len() * 3 / 4 => &cut[..i],
        _ => cut.as_str(),
    };
    Some(format!("{}…", at_word.trim_end()))
}

/// Invisible formatting characters (bidirectional overrides, zero-width ones) that could make
/// a sentence display otherwise than it reads.
fn is_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_request_is_a_chat_completion_with_the_frames_as_jpeg_data_urls() {
        let body = request_body("llava", "Describe.", &[vec![0xFF, 0xD8, 0xFF, 0xD9]]);
        assert_eq!(body["model"], "llava");
        assert_eq!(body["max_tokens"], MAX_TOKENS);
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][0]["content"], "Describe.");
        let parts = body["messages"][1]["content"].as_array().expect("parts");
        assert_eq!(parts[0]["type"], "text");
        assert_eq!(parts[1]["type"], "image_url");
        assert_eq!(parts[1]["image_url"]["url"], "data:image/jpeg;base64,/9j/2Q==");
    }

    #[test]
    fn the_answer_is_the_first_choices_content_cut_to_one_sentence() {
        let a = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":"  A courier leaves a parcel at the door. Then he walks away.\n"}}]}"#;
        assert_eq!(parse_answer(a).as_deref(), Some("A courier leaves a parcel at the door."));
        let parts = br#"{"choices":[{"message":{"content":[{"type":"text","text":"A cat crosses the yard"}]}}]}"#;
        assert_eq!(parse_answer(parts).as_deref(), Some("A cat crosses the yard"));
        for bad in [
            &b"not json"[..],
            br#"{"choices":[]}"#,
            br#"{"choices":[{"message":{"content":null}}]}"#,
            br#"{"choices":[{"message":{"content":"   "}}]}"#,
            br#"{"error":{"message":"overloaded"}}"#,
        ] {
            assert_eq!(parse_answer(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn a_long_sentence_is_cut_at_a_word_and_control_characters_go() {
        let long = "word ".repeat(100);
        let s = one_sentence(&long).expect("some");
        assert!(s.chars().count() <= MAX_CHARS && s.ends_with("word…"), "{s}");
        assert_eq!(one_sentence("A\u{202E}b\u{7}c\tdoor.").as_deref(), Some("Abc door."));
        assert_eq!(one_sentence("Version 1.2 is out"), Some("Version 1.2 is out".into()));
    }

    proptest! {
        #[test]
        fn any_answer_bytes_give_at_most_one_short_plain_sentence(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Some(s) = parse_answer(&bytes) {
                prop_assert!(!s.is_empty() && s.chars().count() <= MAX_CHARS);
                prop_assert!(!s.chars().any(|c| c.is_control()));
            }
        }

        #[test]
        fn any_content_gives_at_most_one_short_plain_sentence(text in "\\PC{0,400}") {
            let body = json!({"choices": [{"message": {"content": text}}]}).to_string();
            if let Some(s) = parse_answer(body.as_bytes()) {
                prop_assert!(!s.is_empty() && s.chars().count() <= MAX_CHARS);
                prop_assert!(!s.chars().any(|c| c.is_control() || is_format(c)));
                prop_assert!(!s.contains("  "));
            }
        }
    }
}
