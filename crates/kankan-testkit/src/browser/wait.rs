//! The polling side of [`Browser`]: every command that waits for the page (find, click, fill,
//! wait for text, URL or a script condition) retries until it succeeds, a non-transient
//! WebDriver error happens, or the browser's timeout passes.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use serde_json::{Value, json};

use super::{Browser, Element, POLL_INTERVAL, WebDriverError};

/// What one polling attempt saw.
enum Step<T> {
    Done(T),
    /// Not yet; the text describes what was seen instead (for the timeout error).
    Wait(String),
}

impl Browser {
    /// Waits until an element matching `css` exists and is displayed, and returns it.
    pub async fn find(&self, css: &str) -> Result<Element> {
        self.poll(&format!("`{css}` to be displayed"), async || match self.displayed(css).await? {
            Some(el) => Ok(Step::Done(el)),
            None => Ok(Step::Wait("no displayed match".into())),
        })
        .await
    }

    /// All elements matching `css` right now (no waiting; hidden ones included).
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        let ids = self.session.find_all(css).await.with_context(|| format!("finding `{css}`"))?;
        Ok(ids.into_iter().map(|id| self.element(id, css)).collect())
    }

    /// Whether a displayed element matches `css` right now (no waiting).
    pub async fn is_displayed(&self, css: &str) -> Result<bool> {
        Ok(self.displayed(css).await.with_context(|| format!("looking for `{css}`"))?.is_some())
    }

    /// Waits until no displayed element matches `css`.
    pub async fn wait_gone(&self, css: &str) -> Result<()> {
        self.poll(&format!("`{css}` to disappear"), async || match self.displayed(css).await? {
            Some(_) => Ok(Step::Wait("still displayed".into())),
            None => Ok(Step::Done(())),
        })
        .await
    }

    /// Waits until a displayed element matching `css` has text containing `needle`; returns
    /// that element's whole text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> Result<String> {
        self.poll(&format!("`{css}` to contain text {needle:?}"), async || {
            let mut seen = Vec::new();
            for id in self.session.find_all(css).await? {
                let text = match self.session.get(&format!("/element/{id}/text")).await {
                    Ok(v) => v.as_str().unwrap_or_default().to_owned(),
                    Err(e) if e.is_transient() => continue,
                    Err(e) => return Err(e),
                };
                if text.contains(needle) {
                    return Ok(Step::Done(text));
                }
                seen.push(text);
            }
            Ok(Step::Wait(if seen.is_empty() {
                "no match".into()
            } else {
                format!("texts were {seen:?}")
            }))
        })
        .await
    }

    /// Waits until the current URL contains `needle`; returns the URL.
    pub async fn wait_for_url(&self, needle: &str) -> Result<String> {
        self.poll(&format!("the URL to contain {needle:?}"), async || {
            let url = self.session.current_url().await?;
            Ok(if url.contains(needle) { Step::Done(url) } else { Step::Wait(String::new()) })
        })
        .await
    }

    /// Waits until the JavaScript function body `script` (called with `args`) returns a truthy
    /// value, and returns that value. `what` describes the condition for the error message.
    pub async fn wait_until(&self, what: &str, script: &str, args: &[Value]) -> Result<Value> {
        self.poll(what, async || {
            let v =
                self.session.post("/execute/sync", json!({"script": script, "args": args})).await?;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            Ok(if truthy { Step::Done(v) } else { Step::Wait(format!("it returned {v}")) })
        })
        .await
    }

    /// Waits for `css` to be displayed and enabled, then clicks it. When something covers it
    /// (chromedriver scrolls it only just into view, e.g. under a fixed bottom tab bar), it is
    /// scrolled to the middle of the viewport, as a user would, and clicked again.
    pub async fn click(&self, css: &str) -> Result<()> {
        self.poll(&format!("to click `{css}`"), async || {
            let Some(el) = self.displayed(css).await? else {
                return Ok(Step::Wait("no displayed match".into()));
            };
            if !self.enabled(&el).await? {
                return Ok(Step::Wait("it is disabled".into()));
            }
            match self.session.post(&el.path("/click"), json!({})).await {
                Ok(_) => Ok(Step::Done(())),
                Err(e) if e.error == "element click intercepted" => {
                    let script =
                        "arguments[0].scrollIntoView({block: 'center', inline: 'nearest'});";
                    let args = json!([el.to_json()]);
                    self.session
                        .post("/execute/sync", json!({"script": script, "args": args}))
                        .await?;
                    Ok(Step::Wait(e.to_string()))
                }
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Waits for the input `css` to be displayed and enabled, clears it and types `text`.
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        self.poll(&format!("to fill `{css}`"), async || {
            let Some(el) = self.displayed(css).await? else {
                return Ok(Step::Wait("no displayed match".into()));
            };
            if !self.enabled(&el).await? {
                return Ok(Step::Wait("it is disabled".into()));
            }
            self.session.post(&el.path("/clear"), json!({})).await?;
            self.session.post(&el.path("/value"), json!({"text": text})).await?;
            Ok(Step::Done(()))
        })
        .await
    }

    /// Waits for `css` to be displayed and returns its rendered text.
    pub async fn text(&self, css: &str) -> Result<String> {
        self.poll(&format!("to read the text of `{css}`"), async || {
            let Some(el) = self.displayed(css).await? else {
                return Ok(Step::Wait("no displayed match".into()));
            };
            let v = self.session.get(&el.path("/text")).await?;
            Ok(Step::Done(v.as_str().unwrap_or_default().to_owned()))
        })
        .await
    }

    /// Puts the file at `path` into the `<input type=file>` matching `css` (which may be
    /// visually hidden; it only has to exist).
    pub async fn set_file_input(&self, css: &str, path: impl AsRef<Path>) -> Result<()> {
        let path = std::fs::canonicalize(path.as_ref())
            .with_context(|| format!("file {}", path.as_ref().display()))?;
        let path = path.to_string_lossy().into_owned();
        self.poll(&format!("to set file input `{css}`"), async || {
            let Some(id) = self.session.find_all(css).await?.into_iter().next() else {
                return Ok(Step::Wait("no match".into()));
            };
            self.session.post(&format!("/element/{id}/value"), json!({"text": path})).await?;
            Ok(Step::Done(()))
        })
        .await
    }

    pub(super) fn element(&self, id: String, css: &str) -> Element {
        Element { session: Arc::clone(&self.session), id, css: css.to_owned() }
    }

    /// The first displayed element matching `css`, skipping ones that went stale.
    async fn displayed(&self, css: &str) -> Result<Option<Element>, WebDriverError> {
        for id in self.session.find_all(css).await? {
            match self.session.get(&format!("/element/{id}/displayed")).await {
                Ok(Value::Bool(true)) => return Ok(Some(self.element(id, css))),
                Ok(_) => {}
                Err(e) if e.is_transient() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    async fn enabled(&self, el: &Element) -> Result<bool, WebDriverError> {
        Ok(self.session.get(&el.path("/enabled")).await?.as_bool().unwrap_or(false))
    }

    /// Runs `attempt` until it is done, a non-transient error happens, or the timeout passes.
    async fn poll<T>(
        &self,
        what: &str,
        mut attempt: impl AsyncFnMut() -> Result<Step<T>, WebDriverError>,
    ) -> Result<T> {
        let deadline = Instant::now() + self.timeout;
        let mut last: String;
        loop {
            match attempt().await {
                Ok(Step::Done(value)) => return Ok(value),
                Ok(Step::Wait(seen)) => last = seen,
                Err(e) if e.is_transient() => last = e.to_string(),
                Err(e) => {
                    return Err(self.annotate(anyhow!(e), &format!("waiting for {what}")).await);
                }
            }
            if Instant::now() >= deadline {
                let seen =
                    if last.is_empty() { String::new() } else { format!(" (last seen: {last})") };
                let msg = format!("timed out after {:?} waiting for {what}{seen}", self.timeout);
                return Err(self.annotate(anyhow!(msg), "").await);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Adds "(at URL …)" to an error, plus what was being done.
    pub(super) async fn annotate(&self, err: anyhow::Error, doing: &str) -> anyhow::Error {
        let url = self.session.current_url().await.unwrap_or_else(|e| format!("<unknown: {e}>"));
        if doing.is_empty() {
            err.context(format!("at URL {url}"))
        } else {
            err.context(format!("{doing} at URL {url}"))
        }
    }
}
