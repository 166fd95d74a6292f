//! AI descriptions of events: one sentence ("A courier leaves a parcel at the door") written by
//! a vision model behind an OpenAI-compatible API the operator configures (`[ai]`: a local
//! server such as llama.cpp's, or a provider).
//!
//! After a new event's thumbnail is stored, [`Events`] asks the [`Describer`] when the
//! camera's owner turned `ai_descriptions` on in its settings (off by default) and consented
//! to `ai-descriptions` (a child's account never has it). The frames (the thumbnail and up to
//! `max_frames - 1` more pictures, a second apart, live or recorded) go in one request to
//! `{endpoint}/v1/chat/completions` and are dropped afterwards: only the sentence is kept,
//! sealed under the owner's account key (field `event-description/{event id}`) beside the
//! event, and the updated event is published to the event streams.
//!
//! Bounded: at most [`IN_FLIGHT`] requests at once (a new event finding them all busy is
//! skipped), `daily_limit` requests per account in a 24-hour window, `timeout_secs` per
//! request. Every outcome is counted (`kankan_ai_descriptions_total{outcome}`); a failure
//! leaves the event without a description.
//!
//! Egress: the endpoint is reached through `kankan_notify::guard`'s policy client: its name
//! is resolved once per connection, every address checked against the outbound policy (public
//! addresses, and private or loopback ones only inside `ai.allowed_networks`), and only the
//! checked address connected to; no proxy, no redirects.

mod chat;
mod config;

pub use chat::{MAX_CHARS, one_sentence, parse_answer, request_body};
pub use config::AiConfig;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kankan_accounts::risk::RateLimiter;
use kankan_accounts::{ConsentCheck, Purpose, RateLimit};
use kankan_base::{AccountId, Timestamp};
use kankan_core::CoreError;
use kankan_core::authz::Capability;
use kankan_db::Event;
use tokio::sync::Semaphore;

use super::{Events, lock};

/// Requests to the endpoint at once.
pub const IN_FLIGHT: usize = 4;
/// How far apart the extra frames are taken.
const FRAME_STEP_MS: i64 = 1_000;
/// The most events a search looks through (newest first, from `before_ms`).
pub const SEARCH_SCAN: usize = 1_000;
/// Events read per step of a search.
const SEARCH_PAGE: u32 = 200;

/// What can become of an event sent to be described (the metric's `outcome` label).
pub const OUTCOMES: [&str; 8] = [
    "stored",
    "timeout",
    "http-error",
    "malformed",
    "unreachable",
    "refused",
    "busy",
    "daily-limit",
];

fn field(id: uuid::Uuid) -> String {
    format!("event-description/{id}")
}

/// Sends events' frames to the configured endpoint and keeps the sentences. Cheap to clone.
#[derive(Clone)]
pub struct Describer {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: AiConfig,
    policy: kankan_base::net::OutboundPolicy,
    url: reqwest::Url,
    host: String,
    http: reqwest::Client,
    consent: ConsentCheck,
    limiter: RateLimiter,
    permits: Arc<Semaphore>,
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

impl std::fmt::Debug for Describer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Describer").field("host", &self.inner.host).finish()
    }
}

/// Why an event got no description.
enum Failure {
    Timeout,
    Status,
    Malformed,
    Unreachable,
    Refused,
}

impl Failure {
    fn outcome(&self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::Status => "http-error",
            Failure::Malformed => "malformed",
            Failure::Unreachable => "unreachable",
            Failure::Refused => "refused",
        }
    }
}

impl Describer {
    /// The describer for `cfg` (validated), or `None` when no endpoint is configured.
    /// `limiter` counts each account's requests (`daily_limit` a day).
    pub fn new(
        cfg: &AiConfig,
        consent: ConsentCheck,
        limiter: RateLimiter,
    ) -> Result<Option<Describer>, String> {
        cfg.validate()?;
        if !cfg.enabled() {
            return Ok(None);
        }
        let policy = cfg.policy()?;
        let url = cfg.completions_url()?;
        let host = url.host_str().unwrap_or_default().to_string();
        let http = kankan_notify::guard::policy_client(policy.clone())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kankan/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("ai: building the HTTP client: {e}"))?;
        let counts = Mutex::new(OUTCOMES.iter().map(|o| (*o, 0)).collect());
        Ok(Some(Describer {
            inner: Arc::new(Inner {
                cfg: cfg.clone(),
                policy,
                url,
                host,
                http,
                consent,
                limiter,
                permits: Arc::new(Semaphore::new(IN_FLIGHT)),
                counts,
            }),
        }))
    }

    /// The endpoint's host: where frames go (the About page says so).
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// The model named in requests.
    pub fn model(&self) -> &str {
        &self.inner.cfg.model
    }

    fn count(&self, outcome: &'static str) {
        *lock(&self.inner.counts).entry(outcome).or_default() += 1;
    }

    /// How many events had `outcome` since start.
    pub fn counted(&self, outcome: &str) -> u64 {
        lock(&self.inner.counts).get(outcome).copied().unwrap_or(0)
    }

    /// `kankan_ai_descriptions_total{outcome}` in Prometheus text.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = writeln!(
            out,
            "# HELP kankan_ai_descriptions_total Events sent to be described, by outcome \
             (stored, or why none was: timeout, http-error, malformed, unreachable, refused by \
             the egress policy, busy, daily-limit)."
        );
        let _ = writeln!(out, "# TYPE kankan_ai_descriptions_total counter");
        for (outcome, n) in lock(&self.inner.counts).iter() {
            let _ = writeln!(out, "kankan_ai_descriptions_total{{outcome=\"{outcome}\"}} {n}");
        }
    }

    /// One request with `frames`; the sentence or why there is none. Error texts name the
    /// host only.
    async fn ask(&self, frames: &[Vec<u8>]) -> Result<String, Failure> {
        let s = &self.inner;
        // An address in the URL never meets the resolver: checked here.
        if kankan_notify::guard::check_url_with(s.url.as_str(), &s.policy).is_err() {
            return Err(Failure::Refused);
        }
        let body = request_body(&s.cfg.model, &s.cfg.prompt, frames);
        let body = serde_json::to_vec(&body).map_err(|_| Failure::Malformed)?;
        let mut req = s
            .http
            .post(s.url.clone())
            .timeout(Duration::from_secs(u64::from(s.cfg.timeout_secs)))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(key) = &s.cfg.api_key {
            req = req.bearer_auth(key.expose());
        }
        let classify = |e: &reqwest::Error| {
            if kankan_notify::guard::is_private_target_error(e) {
                Failure::Refused
            } else if e.is_timeout() {
                Failure::Timeout
            } else {
                Failure::Unreachable
            }
        };
        let mut resp = req.send().await.map_err(|e| classify(&e))?;
        if !resp.status().is_success() {
            tracing::info!(host = %s.host, status = %resp.status(), "AI description refused");
            return Err(Failure::Status);
        }
        let mut answer = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&e))? {
            if answer.len() + chunk.len() > chat::MAX_ANSWER_BYTES {
                return Err(Failure::Malformed);
            }
            answer.extend_from_slice(&chunk);
        }
        parse_answer(&answer).ok_or(Failure::Malformed)
    }
}

impl Events {
    /// Where AI descriptions send frames (the endpoint's host), when they are enabled.
    pub fn ai_endpoint_host(&self) -> Option<String> {
        self.inner.describer.as_ref().map(|d| d.host().to_string())
    }

    /// The describer, when AI descriptions are enabled (metrics).
    pub fn describer(&self) -> Option<&Describer> {
        self.inner.describer.as_ref()
    }

    /// Describes a new event whose thumbnail `first` was just stored, if its camera and owner
    /// want it (see the module documentation); the frames are dropped when this returns.
    pub(crate) async fn describe(&self, e: &Event, first: Vec<u8>) {
        let Some(d) = self.inner.describer.clone() else { return };
        let s = &self.inner;
        let on = match s.devices.stored_desired(&e.uid).await {
            Ok(desired) => desired.is_some_and(|d| d.settings.ai_descriptions),
            Err(err) => {
                tracing::warn!(uid = %e.uid, error = %err, "AI description: reading the settings");
                false
            }
        };
        if !on {
            return;
        }
        match d.inner.consent.granted(e.account_id, Purpose::AiDescriptions).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(err) => {
                tracing::warn!(error = %err, "AI description: reading the consent");
                return;
            }
        }
        let Ok(_permit) = d.inner.permits.clone().try_acquire_owned() else {
            d.count("busy");
            return;
        };
        let daily = RateLimit { count: d.inner.cfg.daily_limit, per_secs: 86_400 };
        match d.inner.limiter.check(&format!("ai-descriptions:{}", e.account_id), daily).await {
            Ok(()) => {}
            Err(CoreError::RateLimited { .. }) => {
                d.count("daily-limit");
                return;
            }
            Err(err) => {
                tracing::warn!(error = %err, "AI description: counting the daily limit");
                return;
            }
        }
        let frames = self.frames(e, first, d.inner.cfg.max_frames).await;
        let text = match d.ask(&frames).await {
            Ok(t) => t,
            Err(f) => {
                tracing::info!(host = %d.host(), id = %e.id, outcome = f.outcome(), "no AI description");
                d.count(f.outcome());
                return;
            }
        };
        drop(frames);
        // A withdrawal while the model answered deleted what there was: store nothing new.
        if !d.inner.consent.granted(e.account_id, Purpose::AiDescriptions).await.unwrap_or(false) {
            return;
        }
        match self.store_description(e, &text).await {
            Ok(true) => {
                d.count("stored");
                if let Ok(Some(now)) = s.store.event(e.account_id, e.id).await {
                    self.publish(&now, false).await;
                }
            }
            Ok(false) => tracing::debug!(id = %e.id, "event gone before its description"),
            Err(err) => tracing::warn!(id = %e.id, error = %err, "storing an AI description"),
        }
    }

    /// The thumbnail and up to `max - 1` more pictures a second apart: the live picture while
    /// the camera streams, else the event's recording at that moment (as far as there is
    /// one). Stops at the first that is missing or the same as the one before.
    async fn frames(&self, e: &Event, first: Vec<u8>, max: u8) -> Vec<Vec<u8>> {
        let mut frames = vec![first];
        if max <= 1 {
            return frames;
        }
        let s = &self.inner;
        let need = Capability::ViewLive | Capability::PlayBack;
        let Ok(h) = s.devices.authorize_account(e.account_id, need, &e.uid).await else {
            return frames;
        };
        for k in 1..i64::from(max) {
            // Media pacing (as the thumbnail's retries): the camera's own time, not the clock's.
            tokio::time::sleep(Duration::from_millis(FRAME_STEP_MS as u64)).await;
            let at = Timestamp(e.started_at.0 + k * FRAME_STEP_MS);
            let shot = async {
                match s.recordings.current_snapshot(&h, 0).await {
                    Err(CoreError::NotLive) => s.recordings.snapshot(&h, at).await,
                    other => other,
                }
            };
            match tokio::time::timeout(Duration::from_secs(5), shot).await {
                Ok(Ok(jpeg)) if frames.last() != Some(&jpeg) => frames.push(jpeg),
                _ => break,
            }
        }
        frames
    }

    async fn store_description(&self, e: &Event, text: &str) -> Result<bool, CoreError> {
        let s = &self.inner;
        let key = s.devices.key_of_account(e.account_id).await?;
        let sealed = key.seal(&field(e.id), text.as_bytes())?;
        Ok(s.store.put_event_description(e.account_id, e.id, &sealed, s.clock.now()).await?)
    }

    /// The descriptions of `events` (which the caller may see), opened with each event's
    /// owner's key; events without one are absent.
    pub async fn descriptions(
        &self,
        events: &[Event],
    ) -> Result<HashMap<uuid::Uuid, String>, CoreError> {
        let s = &self.inner;
        let mut out = HashMap::new();
        let ids: Vec<uuid::Uuid> = events.iter().map(|e| e.id).collect();
        let mut keys = HashMap::new();
        for chunk in ids.chunks(SEARCH_PAGE as usize) {
            for d in s.store.event_descriptions(chunk).await? {
                let key = match keys.get(&d.account_id) {
                    Some(k) => k,
                    None => match s.devices.key_of_account(d.account_id).await {
                        Ok(k) => keys.entry(d.account_id).or_insert(k),
                        // An owner who may not act (banned) shares nothing.
                        Err(CoreError::Unauthenticated) => continue,
                        Err(err) => return Err(err),
                    },
                };
                match key.open(&field(d.event_id), &d.text_enc) {
                    Ok(b) => {
                        out.insert(d.event_id, String::from_utf8_lossy(&b).into_owned());
                    }
                    Err(err) => tracing::warn!(id = %d.event_id, error = %err, "a description"),
                }
            }
        }
        Ok(out)
    }

    /// One event's description, if it has one.
    pub async fn description_of(&self, e: &Event) -> Result<Option<String>, CoreError> {
        Ok(self.descriptions(std::slice::from_ref(e)).await?.remove(&e.id))
    }

    /// Deletes every description of the account's events (its consent withdrawn); how many.
    pub async fn forget_descriptions(&self, account: AccountId) -> Result<u64, CoreError> {
        Ok(self.inner.store.delete_descriptions_of(account).await?)
    }
}

/// The words of a search: lower case, letters and digits (1-8 words, each at most 40
/// characters).
pub fn search_words(q: &str) -> Result<Vec<String>, CoreError> {
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() || words.len() > 8 || words.iter().any(|w| w.chars().count() > 40) {
        return Err(CoreError::InvalidSettings {
            code: "invalid-search",
            message: "q: 1-8 words of letters and digits, each at most 40 characters".into(),
        });
    }
    Ok(words)
}

/// Whether `text` holds every word (as the start of one of its words: `courier` finds
/// "couriers").
pub fn matches_words(text: &str, words: &[String]) -> bool {
    let have: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.iter().all(|w| have.iter().any(|h| h.starts_with(w.as_str())))
}

pub(crate) const PAGE: u32 = SEARCH_PAGE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_finds_every_word_as_the_start_of_a_word() {
        let words = search_words("Courier parcel").expect("words");
        assert!(matches_words("A courier leaves a parcel at the door.", &words));
        assert!(matches_words("Two couriers, one parcel!", &words));
        assert!(!matches_words("A courier walks by.", &words));
        assert!(!matches_words("A cat.", &search_words("courier").expect("w")));
        assert!(search_words("  ,, ").is_err());
        assert!(search_words(&"a ".repeat(9)).is_err());
    }
}
