//! The second factor of user accounts: an authenticator app (TOTP, RFC 6238) enrolled with a
//! QR code and confirmed with a first code, single-use recovery codes, and remembered devices
//! (browsers whose password logins skip the second factor for 30 days).
//!
//! Invariants: the TOTP secret is stored only sealed under the account key; recovery codes
//! and device cookies only as keyed MACs / SHA-256; a TOTP step accepted once is refused
//! again (the last step used is kept); every change asks the password again. The login flow
//! that asks for the second factor is in `mfa_login.rs`.

use std::time::Duration;

use kankan_base::ErrorKind;
use kankan_base::{AccountId, Timestamp};
use kankan_crypto::{TokenHash, random_bytes, random_token, totp};
use kankan_db::{Account, DbError, RememberedDevice};

use super::{Accounts, ClientInfo, Inner, Principal};
use crate::CoreError;

/// The issuer name authenticator apps show.
pub const TOTP_ISSUER: &str = "Kankan";
/// Recovery codes issued at a time.
pub const RECOVERY_CODES: usize = 10;
/// How long a remembered device skips the second factor.
pub const REMEMBER_FOR: Duration = Duration::from_secs(30 * 86_400);
/// Steps either side of now a code may come from (clocks drift).
const SKEW: u64 = 1;
/// Letters of a recovery code (no o, 1, l, i): 32 symbols, 5 bits each.
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz023456789";

/// The second-factor methods, as the API names them.
pub const METHOD_TOTP: &str = "totp";
pub const METHOD_RECOVERY_CODE: &str = "recovery-code";
pub const METHOD_PASSKEY: &str = "passkey";

/// How a session signed in (`sessions.signed_in_with`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    Password,
    PasswordTotp,
    PasswordRecoveryCode,
    PasswordPasskey,
    /// A passkey alone (it is both factors: the device and its unlock).
    Passkey,
}

impl SignIn {
    pub fn as_str(self) -> &'static str {
        match self {
            SignIn::Password => "password",
            SignIn::PasswordTotp => "password+totp",
            SignIn::PasswordRecoveryCode => "password+recovery-code",
            SignIn::PasswordPasskey => "password+passkey",
            SignIn::Passkey => "passkey",
        }
    }

    /// The sign-in that a password and then `method` make.
    pub fn after_password(method: &str) -> Option<SignIn> {
        match method {
            METHOD_TOTP => Some(SignIn::PasswordTotp),
            METHOD_RECOVERY_CODE => Some(SignIn::PasswordRecoveryCode),
            METHOD_PASSKEY => Some(SignIn::PasswordPasskey),
            _ => None,
        }
    }
}

/// A started TOTP enrolment: what the authenticator app needs, shown once.
#[derive(Debug, Clone)]
pub struct TotpEnrolment {
    /// `otpauth://totp/...`, the QR code's text.
    pub otpauth_uri: String,
    /// The secret in base32, for typing in by hand.
    pub secret: String,
    /// The QR code of the URI, as an SVG document.
    pub qr_svg: String,
}

/// A remembered device as its owner sees it.
#[derive(Debug, Clone)]
pub struct RememberedDeviceEntry {
    pub id: uuid::Uuid,
    pub client: String,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Where the account's second factor stands.
#[derive(Debug, Clone)]
pub struct SecondFactorStatus {
    /// The methods a login may finish with (`totp`, `recovery-code`, `passkey`).
    pub methods: Vec<&'static str>,
    /// An enrolment started and not yet confirmed.
    pub totp_pending: bool,
    pub recovery_codes_left: u32,
    pub remembered_devices: Vec<RememberedDeviceEntry>,
    /// The operator requires a second factor of every account.
    pub required: bool,
}

pub(crate) fn sf_error(kind: ErrorKind, code: &'static str, message: &str) -> CoreError {
    CoreError::SecondFactor { kind, code, message: message.to_string() }
}

pub(crate) fn invalid() -> CoreError {
    sf_error(
        ErrorKind::Unauthenticated,
        "second-factor-invalid",
        "the code is wrong, used already, or the sign-in expired",
    )
}

fn not_enrolled() -> CoreError {
    sf_error(
        ErrorKind::FailedPrecondition,
        "second-factor-not-enrolled",
        "no authenticator app is enrolled",
    )
}

/// Normalises a recovery code as typed: lower case, without spaces and dashes.
fn normalise_recovery(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

impl Inner {
    fn unix_secs(&self) -> u64 {
        u64::try_from(self.now().0 / 1000).unwrap_or(0)
    }

    pub(crate) fn recovery_mac(&self, account: AccountId, code: &str) -> Vec<u8> {
        let code = normalise_recovery(code);
        self.keyring.blind_index("recovery-code", &format!("{account}:{code}")).to_vec()
    }

    /// New recovery codes: the codes to show (`xxxxx-xxxxx`) and their MACs to store.
    fn new_recovery_codes(
        &self,
        account: AccountId,
    ) -> Result<(Vec<String>, Vec<Vec<u8>>), CoreError> {
        let mut shown = Vec::with_capacity(RECOVERY_CODES);
        for _ in 0..RECOVERY_CODES {
            let raw = random_bytes(10)?;
            let s: String =
                raw.iter().map(|b| RECOVERY_ALPHABET[usize::from(b & 31)] as char).collect();
            shown.push(format!("{}-{}", &s[..5], &s[5..]));
        }
        let macs = shown.iter().map(|c| self.recovery_mac(account, c)).collect();
        Ok((shown, macs))
    }

    /// The second-factor methods the account has enrolled (what a login may finish with).
    pub(crate) async fn second_factor_methods(
        &self,
        account: AccountId,
    ) -> Result<Vec<&'static str>, CoreError> {
        let mut methods = Vec::new();
        let totp = self.store.totp(account).await?;
        if totp.is_some_and(|t| t.enabled_at.is_some()) {
            methods.push(METHOD_TOTP);
        }
        if !self.store.passkeys_of(account).await?.is_empty() {
            methods.push(METHOD_PASSKEY);
        }
        if !methods.is_empty() && self.store.recovery_codes_left(account).await? > 0 {
            methods.push(METHOD_RECOVERY_CODE);
        }
        Ok(methods)
    }

    /// Checks the password again before a change to the second factor (throttled per
    /// account, like a password change).
    async fn recheck_password(&self, a: &Account, password: &str) -> Result<(), CoreError> {
        self.limiter
            .check(&format!("password-change:{}", a.id), self.limits.password_change_per_account)
            .await?;
        if !self.check_password(password, Some(&a.password_hash)).await? {
            return Err(CoreError::WrongPassword);
        }
        Ok(())
    }

    /// Checks a TOTP code of the account's enabled authenticator and spends its step:
    /// false when wrong or already used.
    pub(crate) async fn check_totp(&self, a: &Account, code: &str) -> Result<bool, CoreError> {
        let Some(row) = self.store.totp(a.id).await? else { return Ok(false) };
        if row.enabled_at.is_none() {
            return Ok(false);
        }
        let secret = self.key_of(a)?.open("totp-secret", &row.secret_enc)?;
        match totp::verify(&secret, code, self.unix_secs(), SKEW) {
            Some(step) => Ok(self.store.use_totp_step(a.id, step).await?),
            None => Ok(false),
        }
    }

    /// Uses one of the account's recovery codes: false when unknown or used.
    pub(crate) async fn use_recovery_code(
        &self,
        a: &Account,
        code: &str,
    ) -> Result<bool, CoreError> {
        let mac = self.recovery_mac(a.id, code);
        Ok(self.store.use_recovery_code(a.id, &mac, self.now()).await?)
    }

    /// Remembers the client's device for the account: the cookie value to set.
    pub(crate) async fn remember_device(
        &self,
        a: &Account,
        client: &ClientInfo,
    ) -> Result<String, CoreError> {
        let (token, hash) = random_token()?;
        let now = self.now();
        let key = self.key_of(a)?;
        let row = RememberedDevice {
            id: uuid::Uuid::now_v7(),
            account_id: a.id,
            token_hash: hash.0,
            client_enc: key.seal("remembered-client", client.client.as_bytes())?,
            created_at: now,
            last_used_at: now,
            expires_at: now.plus(REMEMBER_FOR),
        };
        self.store.insert_remembered_device(&row).await?;
        Ok(token)
    }

    /// Whether the client presents a device cookie remembered for the account.
    pub(crate) async fn device_remembered(
        &self,
        account: AccountId,
        client: &ClientInfo,
    ) -> Result<bool, CoreError> {
        let Some(token) = client.device.as_deref() else { return Ok(false) };
        let hash = TokenHash::of(token);
        Ok(self.store.use_remembered_device(account, &hash.0, self.now()).await?)
    }
}

impl Accounts {
    /// Where the caller's second factor stands.
    pub async fn second_factor_status(
        &self,
        p: &Principal,
    ) -> Result<SecondFactorStatus, CoreError> {
        let s = &self.inner;
        let a = s.account(p.account_id).await?;
        let key = s.key_of(&a)?;
        let totp = s.store.totp(a.id).await?;
        let devices = s.store.remembered_devices(a.id, s.now()).await?;
        let remembered_devices = devices
            .into_iter()
            .map(|d| {
                Ok(RememberedDeviceEntry {
                    id: d.id,
                    client: key.open_string("remembered-client", &d.client_enc)?,
                    created_at: d.created_at,
                    last_used_at: d.last_used_at,
                    expires_at: d.expires_at,
                })
            })
            .collect::<Result<Vec<_>, CoreError>>()?;
        Ok(SecondFactorStatus {
            methods: s.second_factor_methods(a.id).await?,
            totp_pending: totp.is_some_and(|t| t.enabled_at.is_none()),
            recovery_codes_left: s.store.recovery_codes_left(a.id).await?,
            remembered_devices,
            required: s.cfg.require_second_factor,
        })
    }

    /// Starts enrolling an authenticator app (the password again): a new secret, sealed
    /// under the account key, waiting for its first code. Starting again replaces a
    /// pending one; an enabled one answers `second-factor-already-enrolled`.
    pub async fn start_totp_enrolment(
        &self,
        p: &Principal,
        password: &str,
    ) -> Result<TotpEnrolment, CoreError> {
        let s = &self.inner;
        let a = s.account(p.account_id).await?;
        s.recheck_password(&a, password).await?;
        let key = s.key_of(&a)?;
        let label = s.identifier_of(&a, &key)?.as_str().to_string();
        let secret = totp::generate_secret()?;
        let sealed = key.seal("totp-secret", &secret)?;
        match s.store.begin_totp(a.id, &sealed, s.now()).await {
            Ok(()) => {}
            Err(DbError::Conflict(_)) => {
                return Err(sf_error(
                    ErrorKind::FailedPrecondition,
                    "second-factor-already-enrolled",
                    "an authenticator app is enrolled already: disable it first",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let otpauth_uri = totp::otpauth_uri(TOTP_ISSUER, &label, &secret);
        let qr_svg = qr_svg(&otpauth_uri)?;
        Ok(TotpEnrolment { secret: totp::base32_encode(&secret), otpauth_uri, qr_svg })
    }

    /// Confirms the pending enrolment with a first code: the authenticator is enabled, and
    /// the answer is the new recovery codes, shown this once.
    pub async fn confirm_totp_enrolment(
        &self,
        p: &Principal,
        code: &str,
    ) -> Result<Vec<String>, CoreError> {
        let s = &self.inner;
        let a = s.account(p.account_id).await?;
        s.throttle_index("second-factor", a.id.0.as_bytes(), s.limits.second_factor_per_account)
            .await?;
        let row = s.store.totp(a.id).await?.filter(|t| t.enabled_at.is_none());
        let Some(row) = row else { return Err(not_enrolled()) };
        let secret = s.key_of(&a)?.open("totp-secret", &row.secret_enc)?;
        let Some(step) = totp::verify(&secret, code, s.unix_secs(), SKEW) else {
            return Err(invalid());
        };
        let (shown, macs) = s.new_recovery_codes(a.id)?;
        if !s.store.enable_totp(a.id, step, &macs, s.now()).await? {
            return Err(not_enrolled());
        }
        Ok(shown)
    }

    /// Disables the authenticator: the password and a current code (or a recovery code).
    /// The recovery codes go with it when no other second factor is left.
    pub async fn disable_totp(
        &self,
        p: &Principal,
        password: &str,
        code: Option<&str>,
        recovery_code: Option<&str>,
    ) -> Result<(), CoreError> {
        let s = &self.inner;
        let a = s.account(p.account_id).await?;
        s.recheck_password(&a, password).await?;
        if !s.second_factor_methods(a.id).await?.contains(&METHOD_TOTP) {
            // A pending enrolment is simply dropped.
            s.store.delete_totp(a.id, false).await?;
            return Ok(());
        }
        s.throttle_index("second-factor", a.id.0.as_bytes(), s.limits.second_factor_per_account)
            .await?;
        let proven = match (code, recovery_code) {
            (Some(c), _) => s.check_totp(&a, c).await?,
            (None, Some(r)) => s.use_recovery_code(&a, r).await?,
            (None, None) => false,
        };
        if !proven {
            return Err(invalid());
        }
        let others = s.second_factor_methods(a.id).await?;
        let last = !others.iter().any(|m| *m != METHOD_TOTP && *m != METHOD_RECOVERY_CODE);
        s.store.delete_totp(a.id, last).await?;
        Ok(())
    }

    /// New recovery codes (the password again); the old ones stop working.
    pub async fn regenerate_recovery_codes(
        &self,
        p: &Principal,
        password: &str,
    ) -> Result<Vec<String>, CoreError> {
        let s = &self.inner;
        let a = s.account(p.account_id).await?;
        s.recheck_password(&a, password).await?;
        if s.second_factor_methods(a.id).await?.is_empty() {
            return Err(not_enrolled());
        }
        let (shown, macs) = s.new_recovery_codes(a.id)?;
        s.store.replace_recovery_codes(a.id, &macs, s.now()).await?;
        Ok(shown)
    }

    /// Forgets one remembered device (or all of them): their next login asks for the second
    /// factor again. Answers how many were forgotten.
    pub async fn forget_devices(
        &self,
        p: &Principal,
        id: Option<uuid::Uuid>,
    ) -> Result<u64, CoreError> {
        let n = self.inner.store.forget_remembered_devices(p.account_id, id).await?;
        if id.is_some() && n == 0 {
            return Err(CoreError::NotFound("remembered device"));
        }
        Ok(n)
    }
}

/// The QR code of `text` as an SVG document.
fn qr_svg(text: &str) -> Result<String, CoreError> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| CoreError::Internal(format!("qr code: {e}")))?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(240, 240).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_read_the_same_however_typed() {
        assert_eq!(normalise_recovery(" ABCDE-fghjk "), "abcdefghjk");
        assert_eq!(normalise_recovery("abcde fghjk"), "abcdefghjk");
    }

    #[test]
    fn sign_in_names_are_the_documented_ones() {
        assert_eq!(SignIn::after_password("totp").map(SignIn::as_str), Some("password+totp"));
        assert_eq!(
            SignIn::after_password("recovery-code").map(SignIn::as_str),
            Some("password+recovery-code")
        );
        assert_eq!(SignIn::after_password("sms"), None);
    }
}
