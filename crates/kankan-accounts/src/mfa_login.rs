//! The login's second step: a password login of an account with a second factor, from a
//! device not remembered for it, gets a ticket instead of a session; the ticket and a second
//! factor (a TOTP code, a recovery code, or a passkey that `passkeys.rs` verifies) open the
//! session.
//!
//! Invariants: a ticket is stored only as its SHA-256, lives [`TICKET_TTL`], is used at most
//! once and takes at most [`TICKET_TRIES`] attempts (claimed in one statement before any
//! comparison); attempts are also throttled per account across tickets
//! (`limits.second_factor_per_account`), so new tickets do not buy new guesses; every
//! failure is written to the login history.

use std::time::Duration;

use kankan_base::{AccountId, Timestamp};
use kankan_crypto::{TokenHash, random_bytes, random_token};
use kankan_db::{Account, AccountState, LoginOutcome, SecondFactorTicket};

use super::{Accounts, ClientInfo, Inner};
use crate::mfa::{METHOD_RECOVERY_CODE, METHOD_TOTP, SignIn, invalid};
use crate::{CoreError, LoginOk};

/// How long a ticket waits for its second factor.
pub const TICKET_TTL: Duration = Duration::from_secs(5 * 60);
/// Attempts one ticket takes.
pub const TICKET_TRIES: u32 = 5;

/// What a right password leads to.
#[derive(Debug, Clone)]
pub enum LoginStep {
    /// A session: no second factor was needed.
    Session(LoginOk),
    /// The second factor is needed: finish with the ticket.
    SecondFactor(SecondFactorNeeded),
}

impl LoginStep {
    /// The session, for callers that never face a second factor (the demo account):
    /// `second-factor-required` otherwise.
    pub fn into_session(self) -> Result<LoginOk, CoreError> {
        match self {
            LoginStep::Session(ok) => Ok(ok),
            LoginStep::SecondFactor(_) => Err(crate::mfa::sf_error(
                kankan_base::ErrorKind::Unauthenticated,
                "second-factor-required",
                "this account signs in with a second factor",
            )),
        }
    }
}

/// A password login waiting for its second factor.
#[derive(Debug, Clone)]
pub struct SecondFactorNeeded {
    /// Shown once; stored only as its hash.
    pub ticket: String,
    /// The methods the account has (`totp`, `recovery-code`, `passkey`).
    pub methods: Vec<&'static str>,
    pub expires_at: Timestamp,
}

/// A second factor the account service checks itself.
#[derive(Debug, Clone, Copy)]
pub enum SecondFactorProof<'a> {
    Totp(&'a str),
    RecoveryCode(&'a str),
}

impl Inner {
    /// After a right password: the session, or a ticket when the account has a second
    /// factor and the client's device is not remembered for it.
    pub(crate) async fn after_password(
        &self,
        a: &Account,
        client: &ClientInfo,
    ) -> Result<LoginStep, CoreError> {
        let methods = self.second_factor_methods(a.id).await?;
        if methods.is_empty() || self.device_remembered(a.id, client).await? {
            return Ok(LoginStep::Session(self.start_session(a, client, SignIn::Password).await?));
        }
        let (ticket, hash) = random_token()?;
        let now = self.now();
        let row = SecondFactorTicket {
            token_hash: hash.0,
            account_id: a.id,
            challenge: random_bytes(32)?,
            attempts: 0,
            created_at: now,
            expires_at: now.plus(TICKET_TTL),
        };
        self.store.insert_ticket(&row).await?;
        Ok(LoginStep::SecondFactor(SecondFactorNeeded {
            ticket,
            methods,
            expires_at: row.expires_at,
        }))
    }

    /// Opens the session of an account whose second factor (or passkey) is proven, as a
    /// login does: the account must still be able to sign in.
    async fn open_verified(
        &self,
        account: AccountId,
        how: SignIn,
        client: &ClientInfo,
        remember: bool,
    ) -> Result<LoginOk, CoreError> {
        let a = self.account(account).await?;
        match a.state {
            AccountState::Active | AccountState::Cancelling => {}
            AccountState::Banned => {
                self.record_login(&a, client, LoginOutcome::Banned, false).await?;
                return Err(CoreError::AccountBanned);
            }
            AccountState::Pending => return Err(CoreError::AccountNotVerified),
            AccountState::Cancelled => return Err(CoreError::InvalidCredentials),
        }
        self.require_guardian_consent(a.id).await?;
        let mut ok = self.start_session(&a, client, how).await?;
        if remember {
            ok.device_token = Some(self.remember_device(&a, client).await?);
        }
        Ok(ok)
    }
}

impl Accounts {
    /// The live ticket's account and WebAuthn challenge (for building and verifying a passkey
    /// assertion). Counts no attempt; `second-factor-invalid` when the ticket is unknown,
    /// used or expired.
    pub async fn pending_second_factor(
        &self,
        ticket: &str,
    ) -> Result<(AccountId, Vec<u8>), CoreError> {
        let s = &self.inner;
        let t = s.store.ticket(&TokenHash::of(ticket).0, s.now()).await?.ok_or_else(invalid)?;
        Ok((t.account_id, t.challenge))
    }

    /// Claims one attempt on the ticket before a second factor is compared: counted against
    /// the ticket ([`TICKET_TRIES`]) and the account (`limits.second_factor_per_account`,
    /// `too-many-requests` with Retry-After). Answers the ticket's account and challenge.
    pub async fn claim_second_factor_attempt(
        &self,
        ticket: &str,
    ) -> Result<(AccountId, Vec<u8>), CoreError> {
        let s = &self.inner;
        let hash = TokenHash::of(ticket);
        let t = s
            .store
            .claim_ticket_attempt(&hash.0, TICKET_TRIES, s.now())
            .await?
            .ok_or_else(invalid)?;
        s.throttle_index(
            "second-factor",
            t.account_id.0.as_bytes(),
            s.limits.second_factor_per_account,
        )
        .await?;
        Ok((t.account_id, t.challenge))
    }

    /// Records a wrong second factor in the account's login history; answers the error to
    /// return (`second-factor-invalid`).
    pub async fn second_factor_failed(&self, account: AccountId, client: &ClientInfo) -> CoreError {
        let s = &self.inner;
        let recorded = match s.account(account).await {
            Ok(a) => s.record_login(&a, client, LoginOutcome::SecondFactorFailed, false).await,
            Err(e) => Err(e),
        };
        match recorded {
            Ok(_) => invalid(),
            Err(e) => e,
        }
    }

    /// Finishes a login with its ticket and a TOTP or recovery code: the session, as a login
    /// opens it (with `remember`, the device is remembered: `LoginOk::device_token`).
    pub async fn finish_second_factor(
        &self,
        ticket: &str,
        proof: SecondFactorProof<'_>,
        client: &ClientInfo,
        remember: bool,
    ) -> Result<LoginOk, CoreError> {
        let s = &self.inner;
        let (account, _) = self.claim_second_factor_attempt(ticket).await?;
        let a = s.account(account).await?;
        let (ok, method) = match proof {
            SecondFactorProof::Totp(code) => (s.check_totp(&a, code).await?, METHOD_TOTP),
            SecondFactorProof::RecoveryCode(code) => {
                (s.use_recovery_code(&a, code).await?, METHOD_RECOVERY_CODE)
            }
        };
        if !ok {
            return Err(self.second_factor_failed(account, client).await);
        }
        self.complete_second_factor(ticket, method, client, remember).await
    }

    /// Opens the session of a ticket whose second factor `method` (`totp`, `recovery-code`,
    /// `passkey`) the caller has verified: the ticket is used up (`second-factor-invalid`
    /// when it was already, or expired) and the session records `password+<method>`.
    pub async fn complete_second_factor(
        &self,
        ticket: &str,
        method: &str,
        client: &ClientInfo,
        remember: bool,
    ) -> Result<LoginOk, CoreError> {
        let s = &self.inner;
        let how = SignIn::after_password(method)
            .ok_or_else(|| CoreError::Internal(format!("unknown second factor {method:?}")))?;
        let hash = TokenHash::of(ticket);
        let now = s.now();
        let t = s.store.ticket(&hash.0, now).await?.ok_or_else(invalid)?;
        if !s.store.consume_ticket(&hash.0, now).await? {
            return Err(invalid());
        }
        s.open_verified(t.account_id, how, client, remember).await
    }

    /// Opens the session of a passkey-only login (the passkey verified by the caller): the
    /// session records `passkey`.
    pub async fn passkey_session(
        &self,
        account: AccountId,
        client: &ClientInfo,
    ) -> Result<LoginOk, CoreError> {
        self.inner.open_verified(account, SignIn::Passkey, client, false).await
    }
}
