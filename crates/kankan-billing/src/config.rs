//! `[billing]`: the payment providers the operator has accounts with, and where the provider
//! sends buyers back. A provider without its section is off (checkouts naming it are refused
//! `billing-provider-unknown`). Secrets (API keys, webhook secrets, private keys) are
//! [`Secret`]s: never logged, shown as `[redacted]` by `kankan config dump`.

use kankan_base::Secret;

/// `[billing]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BillingConfig {
    /// The public base URL of the web app for the providers' return pages and notification
    /// URLs (`https://cam.example.org`); empty: `server.public_url`.
    pub public_url: String,
    /// `[billing.stripe]`: Stripe Checkout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stripe: Option<StripeConfig>,
    /// `[billing.alipay]`: Alipay computer-website payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alipay: Option<AlipayConfig>,
    /// `[billing.wechat]`: WeChat Pay API v3, Native payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wechat: Option<WechatConfig>,
}

/// `[billing.wechat]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct WechatConfig {
    /// The API's base URL (tests point it at a stand-in).
    #[serde(default = "wechat_api_base")]
    pub api_base: String,
    /// The merchant id.
    pub mchid: String,
    /// The app id bound to the merchant.
    pub appid: String,
    /// The serial number of the merchant's API certificate.
    pub merchant_serial_no: String,
    /// The merchant's API private key (PKCS#8 PEM): signs requests.
    pub merchant_private_key: Secret,
    /// The APIv3 key (32 characters): decrypts notifications.
    pub apiv3_key: Secret,
    /// The WeChat Pay platform public key (SubjectPublicKeyInfo PEM): verifies notifications.
    pub platform_public_key: String,
    /// Its serial (`Wechatpay-Serial` must name it).
    pub platform_serial: String,
    /// How far a notification's signed time may be from the clock (30-3600 s).
    #[serde(default = "stripe_tolerance")]
    pub tolerance_secs: u64,
    /// Limit for one API request (1-120 s).
    #[serde(default = "timeout_secs")]
    pub timeout_secs: u64,
}

fn wechat_api_base() -> String {
    "https://api.mch.weixin.qq.com".into()
}

/// `[billing.alipay]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlipayConfig {
    /// The gateway (tests point it at a stand-in).
    #[serde(default = "alipay_gateway")]
    pub gateway: String,
    /// The app's id on the Open Platform.
    pub app_id: String,
    /// The app's RSA private key (PKCS#8 PEM, or its bare base64): signs requests.
    pub app_private_key: Secret,
    /// Alipay's RSA public key (SubjectPublicKeyInfo PEM, or its bare base64): verifies
    /// notifications.
    pub alipay_public_key: String,
    /// Limit for one API request (1-120 s).
    #[serde(default = "timeout_secs")]
    pub timeout_secs: u64,
}

fn alipay_gateway() -> String {
    "https://openapi.alipay.com/gateway.do".into()
}

/// `[billing.stripe]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct StripeConfig {
    /// The API's base URL (tests point it at a stand-in).
    #[serde(default = "stripe_api_base")]
    pub api_base: String,
    /// The secret API key (`sk_live_...`, `sk_test_...`).
    pub secret_key: Secret,
    /// The webhook endpoint's signing secret (`whsec_...`).
    pub webhook_secret: Secret,
    /// How far a webhook's signed time may be from the server's clock (30-3600 s).
    #[serde(default = "stripe_tolerance")]
    pub tolerance_secs: u64,
    /// Limit for one API request, connection included (1-120 s).
    #[serde(default = "timeout_secs")]
    pub timeout_secs: u64,
}

fn stripe_api_base() -> String {
    "https://api.stripe.com".into()
}

fn stripe_tolerance() -> u64 {
    300
}

pub(crate) fn timeout_secs() -> u64 {
    10
}

impl BillingConfig {
    /// Checks every value against its range.
    pub fn validate(&self) -> Result<(), String> {
        if !self.public_url.is_empty() {
            check_base("billing.public_url", &self.public_url)?;
        }
        if let Some(s) = &self.stripe {
            check_base("billing.stripe.api_base", &s.api_base)?;
            if s.secret_key.expose().is_empty() {
                return Err("billing.stripe.secret_key must not be empty".into());
            }
            if s.webhook_secret.expose().is_empty() {
                return Err("billing.stripe.webhook_secret must not be empty".into());
            }
            if !(30..=3600).contains(&s.tolerance_secs) {
                return Err("billing.stripe.tolerance_secs must be 30-3600".into());
            }
            check_timeout("billing.stripe.timeout_secs", s.timeout_secs)?;
        }
        if let Some(a) = &self.alipay {
            check_base("billing.alipay.gateway", &a.gateway)?;
            if a.app_id.is_empty() || !a.app_id.bytes().all(|b| b.is_ascii_digit()) {
                return Err("billing.alipay.app_id must be the app's numeric id".into());
            }
            crate::rsa::PrivateKey::from_pem(a.app_private_key.expose())
                .map_err(|e| format!("billing.alipay.app_private_key: {e}"))?;
            crate::rsa::PublicKey::from_pem(&a.alipay_public_key)
                .map_err(|e| format!("billing.alipay.alipay_public_key: {e}"))?;
            check_timeout("billing.alipay.timeout_secs", a.timeout_secs)?;
        }
        if let Some(w) = &self.wechat {
            check_base("billing.wechat.api_base", &w.api_base)?;
            if w.mchid.is_empty()
                || w.appid.is_empty()
                || w.merchant_serial_no.is_empty()
                || w.platform_serial.is_empty()
            {
                return Err("billing.wechat: mchid, appid, merchant_serial_no and platform_serial are required".into());
            }
            if w.apiv3_key.expose().len() != 32 {
                return Err("billing.wechat.apiv3_key must be 32 characters".into());
            }
            crate::rsa::PrivateKey::from_pem(w.merchant_private_key.expose())
                .map_err(|e| format!("billing.wechat.merchant_private_key: {e}"))?;
            crate::rsa::PublicKey::from_pem(&w.platform_public_key)
                .map_err(|e| format!("billing.wechat.platform_public_key: {e}"))?;
            if !(30..=3600).contains(&w.tolerance_secs) {
                return Err("billing.wechat.tolerance_secs must be 30-3600".into());
            }
            check_timeout("billing.wechat.timeout_secs", w.timeout_secs)?;
        }
        Ok(())
    }
}

pub(crate) fn check_base(field: &str, url: &str) -> Result<(), String> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(format!("{field} must be an http(s) URL")),
    }
}

pub(crate) fn check_timeout(field: &str, secs: u64) -> Result<(), String> {
    if (1..=120).contains(&secs) { Ok(()) } else { Err(format!("{field} must be 1-120")) }
}
