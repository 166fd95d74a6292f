//! `[ai]`: the OpenAI-compatible endpoint AI descriptions use (off unless `endpoint` is set).

use kankan_base::Secret;
use kankan_base::net::OutboundPolicy;
use serde::{Deserialize, Serialize};

/// The default system prompt.
pub const DEFAULT_PROMPT: &str = "You see frames from a home security camera event. Describe \
     what happens in one short sentence (at most 20 words), such as \"A courier leaves a \
     parcel at the door\". Do not guess who anyone is.";

/// The operator's AI description settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AiConfig {
    /// Base URL of an OpenAI-compatible API (`https://api.example.com`,
    /// `http://127.0.0.1:8080` for a local llama.cpp server); requests go to
    /// `{endpoint}/v1/chat/completions`. Empty: AI descriptions are off.
    pub endpoint: String,
    /// The vision model named in requests (1-200 characters; required with an endpoint).
    pub model: String,
    /// Sent as `Authorization: Bearer <api_key>` when set (at most 4096 characters; prefer
    /// the environment). Redacted in `config dump`.
    pub api_key: Option<Secret>,
    /// The system prompt (1-2000 characters).
    pub prompt: String,
    /// How long one request may take, connection included (1-300 s).
    pub timeout_secs: u32,
    /// Pictures sent per event (1-4): the thumbnail, then one a second later each (live, else
    /// from the event's recording).
    pub max_frames: u8,
    /// Requests per account in 24 hours (1-100000); events past it get no description.
    pub daily_limit: u32,
    /// Private networks the endpoint may be on (CIDR, or one address): public addresses are
    /// always allowed; private, loopback and link-local ones only inside an entry
    /// (`127.0.0.1/32` for a model served on this host). Default: none.
    pub allowed_networks: Vec<String>,
}

impl Default for AiConfig {
    fn default() -> Self {
        AiConfig {
            endpoint: String::new(),
            model: String::new(),
            api_key: None,
            prompt: DEFAULT_PROMPT.to_string(),
            timeout_secs: 30,
            max_frames: 2,
            daily_limit: 200,
            allowed_networks: Vec::new(),
        }
    }
}

impl AiConfig {
    /// Whether AI descriptions are on (an endpoint is set).
    pub fn enabled(&self) -> bool {
        !self.endpoint.is_empty()
    }

    /// The outbound policy of `allowed_networks`.
    pub fn policy(&self) -> Result<OutboundPolicy, String> {
        OutboundPolicy::parse(&self.allowed_networks)
            .map_err(|e| format!("ai.allowed_networks: {e}"))
    }

    /// `{endpoint}/v1/chat/completions`.
    pub fn completions_url(&self) -> Result<reqwest::Url, String> {
        let base = self.endpoint.trim_end_matches('/');
        reqwest::Url::parse(&format!("{base}/v1/chat/completions"))
            .map_err(|_| "ai.endpoint is not a URL".to_string())
    }

    pub fn validate(&self) -> Result<(), String> {
        let policy = self.policy()?;
        if !(1..=300).contains(&self.timeout_secs) {
            return Err("ai.timeout_secs must be 1-300".into());
        }
        if !(1..=4).contains(&self.max_frames) {
            return Err("ai.max_frames must be 1-4".into());
        }
        if !(1..=100_000).contains(&self.daily_limit) {
            return Err("ai.daily_limit must be 1-100000".into());
        }
        if !(1..=2000).contains(&self.prompt.chars().count()) {
            return Err("ai.prompt must have 1-2000 characters".into());
        }
        if !self.enabled() {
            return Ok(());
        }
        let url = reqwest::Url::parse(&self.endpoint)
            .map_err(|_| "ai.endpoint is not a URL".to_string())?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none()
            || !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(
                "ai.endpoint must be an http(s) base URL with a host, without credentials, \
                 query or fragment"
                    .into(),
            );
        }
        let full = self.completions_url()?;
        if kankan_notify::guard::check_url_with(full.as_str(), &policy).is_err() {
            return Err("ai.endpoint points at an address outside ai.allowed_networks".into());
        }
        if !(1..=200).contains(&self.model.chars().count()) {
            return Err("ai.model must have 1-200 characters when ai.endpoint is set".into());
        }
        if self.api_key.as_ref().is_some_and(|k| k.expose().len() > 4096) {
            return Err("ai.api_key must have at most 4096 characters".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(endpoint: &str) -> AiConfig {
        AiConfig { endpoint: endpoint.into(), model: "m".into(), ..AiConfig::default() }
    }

    #[test]
    fn off_by_default_and_valid() {
        assert!(!AiConfig::default().enabled());
        assert!(AiConfig::default().validate().is_ok());
    }

    #[test]
    fn an_endpoint_outside_the_allowed_networks_is_refused() {
        let err = on("http://127.0.0.1:8080").validate().expect_err("loopback");
        assert!(err.contains("ai.allowed_networks"), "{err}");
        assert!(on("http://10.0.0.5").validate().is_err());
        let lab = AiConfig {
            allowed_networks: vec!["127.0.0.0/8".into()],
            ..on("http://127.0.0.1:8080")
        };
        assert!(lab.validate().is_ok());
        assert!(on("https://8.8.8.8").validate().is_ok());
    }

    #[test]
    fn ranges_and_shapes_are_checked() {
        for bad in [
            AiConfig { max_frames: 5, ..on("https://8.8.8.8") },
            AiConfig { max_frames: 0, ..on("https://8.8.8.8") },
            AiConfig { timeout_secs: 0, ..on("https://8.8.8.8") },
            AiConfig { daily_limit: 0, ..on("https://8.8.8.8") },
            AiConfig { model: String::new(), ..on("https://8.8.8.8") },
            on("ftp://8.8.8.8"),
            on("https://user:pw@8.8.8.8"),
            on("not a url"),
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert_eq!(
            on("https://api.example.com/").completions_url().expect("url").as_str(),
            "https://api.example.com/v1/chat/completions"
        );
    }
}
