//! Handles on the page: [`Element`] (one found element, used directly or through the CSS-based
//! [`Browser`](super::Browser) commands) and [`Cookie`] (as the browser reports it).

use std::fmt;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::driver::{ELEMENT_KEY, Session};

/// A cookie as reported by the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    pub name: String,
    pub value: String,
    pub path: Option<String>,
    pub domain: Option<String>,
    pub secure: bool,
    pub http_only: bool,
    pub same_site: Option<String>,
    /// Expiry as seconds since the Unix epoch; `None` for session cookies.
    pub expiry: Option<u64>,
}

/// One element found in the page. Elements go stale when the page re-renders them; prefer
/// the CSS-based [`Browser`] methods, which find the element again on every retry.
#[derive(Clone)]
pub struct Element {
    pub(super) session: Arc<Session>,
    pub(super) id: String,
    pub(super) css: String,
}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Element({} #{})", self.css, self.id)
    }
}

impl Element {
    /// The WebDriver element reference, for passing to [`Browser::execute`] as an argument.
    pub fn to_json(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    pub(super) fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    pub async fn click(&self) -> Result<()> {
        self.session
            .post(&self.path("/click"), json!({}))
            .await
            .with_context(|| format!("clicking `{}`", self.css))?;
        Ok(())
    }

    pub async fn clear(&self) -> Result<()> {
        self.session
            .post(&self.path("/clear"), json!({}))
            .await
            .with_context(|| format!("clearing `{}`", self.css))?;
        Ok(())
    }

    pub async fn send_keys(&self, text: &str) -> Result<()> {
        self.session
            .post(&self.path("/value"), json!({"text": text}))
            .await
            .with_context(|| format!("typing into `{}`", self.css))?;
        Ok(())
    }

    /// The rendered text (empty for hidden elements).
    pub async fn text(&self) -> Result<String> {
        let v = self
            .session
            .get(&self.path("/text"))
            .await
            .with_context(|| format!("reading text of `{}`", self.css))?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// An HTML attribute, `None` when absent.
    pub async fn attr(&self, name: &str) -> Result<Option<String>> {
        let v = self
            .session
            .get(&self.path(&format!("/attribute/{name}")))
            .await
            .with_context(|| format!("reading attribute `{name}` of `{}`", self.css))?;
        Ok(v.as_str().map(str::to_owned))
    }

    /// A DOM property, e.g. `value` or `checked`.
    pub async fn property(&self, name: &str) -> Result<Value> {
        self.session
            .get(&self.path(&format!("/property/{name}")))
            .await
            .with_context(|| format!("reading property `{name}` of `{}`", self.css))
    }

    pub async fn is_displayed(&self) -> Result<bool> {
        Ok(self.session.get(&self.path("/displayed")).await?.as_bool().unwrap_or(false))
    }

    pub async fn is_enabled(&self) -> Result<bool> {
        Ok(self.session.get(&self.path("/enabled")).await?.as_bool().unwrap_or(false))
    }
}

pub(super) fn parse_cookie(v: &Value) -> Cookie {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    Cookie {
        name: s("name").unwrap_or_default(),
        value: s("value").unwrap_or_default(),
        path: s("path"),
        domain: s("domain"),
        secure: v.get("secure").and_then(Value::as_bool).unwrap_or(false),
        http_only: v.get("httpOnly").and_then(Value::as_bool).unwrap_or(false),
        same_site: s("sameSite"),
        expiry: v.get("expiry").and_then(Value::as_u64),
    }
}
