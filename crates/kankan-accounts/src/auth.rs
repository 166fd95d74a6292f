//! Registration, login, logout, token authentication and password reset.

use std::time::Duration;

use kankan_base::SessionId;
use kankan_crypto::{TokenHash, random_token};
use kankan_db::{Account, AccountState, CodePurpose, DbError, LoginEvent, LoginOutcome, Session};

use super::{Accounts, ClientInfo, Inner, Principal};
use crate::consent::HOW_REGISTRATION;
use crate::mfa::SignIn;
use crate::mfa_login::LoginStep;
use crate::{CoreError, Identifier, password_policy, risk};
use kankan_core::Revoke;

/// A code was (or, where nothing may be revealed, seemingly was) sent.
#[derive(Debug, Clone)]
pub struct CodeSent {
    /// When the client may ask for another code.
    pub retry_after: Duration,
}

/// A new session.
#[derive(Debug, Clone)]
pub struct LoginOk {
    /// The bearer token; shown once, stored only as a hash.
    pub token: String,
    pub csrf_token: String,
    pub principal: Principal,
    /// The account is in its cancellation window, which ends then: this session may only
    /// continue the login (or look at the account, export, log out) until it does.
    pub cancellation: Option<kankan_base::Timestamp>,
    /// A new remembered-device cookie, when the login asked to remember this device.
    pub device_token: Option<String>,
    /// The operator requires a second factor and the account has none: the session reaches
    /// only the enrolment routes (and the account, logout) until one is enrolled.
    pub enrolment_required: bool,
}

/// Which restricted states a route is open in (see `kankan-api` routes.rs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gate {
    /// Open to a session of an account in its cancellation window.
    pub while_cancelling: bool,
    /// Open to a session that must enrol a second factor first
    /// (`accounts.require_second_factor`).
    pub while_enrolling: bool,
}

/// What a registrant sends.
#[derive(Debug, Clone, Copy)]
pub struct Registration<'a> {
    pub identifier: &'a str,
    pub password: &'a str,
    /// The policy version the registrant read and accepts (must be the one in force).
    pub accept_policy: Option<&'a str>,
    /// The registrant is under the operator's child age.
    pub under_age: bool,
    /// A child's guardian: their e-mail address or phone number.
    pub guardian: Option<&'a str>,
}

/// How long a session goes without its `last_used` being rewritten.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

impl Accounts {
    /// Starts a registration: a pending account and a code to its contact. An identifier that
    /// already belongs to an account gets a notice instead of a code, and the caller the same
    /// answer, so registration does not reveal who has an account.
    ///
    /// The registrant must accept the policy version in force (`policy-not-accepted`); the
    /// acceptance is recorded with the new account, in the same transaction. A child (under
    /// `privacy.child_age`) names a guardian, who gets a code of their own: the child's account
    /// signs in only once the guardian consented ([`Accounts::guardian_consent`]).
    ///
    /// The password chosen waits with the code and applies only when that code is redeemed:
    /// registering an identifier whose account is still pending never replaces the pending
    /// account's password, so whoever registers must prove the identifier first.
    pub async fn register(
        &self,
        r: &Registration<'_>,
        client: &ClientInfo,
    ) -> Result<CodeSent, CoreError> {
        let s = &self.inner;
        s.limiter
            .check(&format!("register-ip:{}", client.network()), s.limits.register_per_ip)
            .await?;
        let id = Identifier::parse(r.identifier)?;
        password_policy::check(r.password, id.as_str())?;
        s.check_policy_accepted(r.accept_policy)?;
        let guardian = s.guardian_of_registration(r, &id)?;
        let idx = s.contact_index(&id);
        s.throttle_code(CodePurpose::Register, &idx, client).await?;
        s.throttle_sms(&id, &idx, &client.ip).await?;
        if let Some((gid, gidx)) = &guardian {
            s.throttle_code(CodePurpose::Guardian, gidx, client).await?;
            s.throttle_sms(gid, gidx, &client.ip).await?;
        }
        let hash = s.hash_password(r.password).await?;
        match s.store.account_by_contact(&idx).await? {
            None => {
                let account = s.new_account(&id, hash.0.clone(), AccountState::Pending)?;
                let consent = s.consent_row(account.id, "policy", true, HOW_REGISTRATION);
                let guardian_row = match &guardian {
                    Some((gid, gidx)) => Some(s.guardian_row(&account, gid, gidx.clone())?),
                    None => None,
                };
                let stored =
                    s.store.insert_registration(&account, &[consent], guardian_row.as_ref()).await;
                match stored {
                    Ok(()) | Err(DbError::Conflict(_)) => {}
                    Err(e) => return Err(e.into()),
                }
                s.send_code(CodePurpose::Register, &id, idx, Some(hash.0)).await?;
                if let Some((gid, gidx)) = &guardian {
                    s.send_code(CodePurpose::Guardian, gid, gidx.clone(), None).await?;
                }
            }
            Some(a) if a.state == AccountState::Pending => {
                s.send_code(CodePurpose::Register, &id, idx, Some(hash.0)).await?;
                s.resend_guardian_code(&a, guardian.as_ref()).await?;
            }
            Some(a) => {
                if a.state == AccountState::Active {
                    // A child's account still waiting for its guardian: a new code for them.
                    s.resend_guardian_code(&a, guardian.as_ref()).await?;
                }
                let body = "Someone tried to register a new Kankan account with this address. \
                    You already have an account: if you forgot its password, use \"Forgot \
                    password\" on the login page. If it was not you, no action is needed."
                    .to_string();
                s.notify(&a, "Kankan registration attempt", body).await?;
            }
        }
        Ok(CodeSent { retry_after: Duration::from_secs(u64::from(s.cfg.code_resend_secs)) })
    }

    /// Finishes a registration with the code; the password chosen with that code applies, and
    /// the account becomes active and logged in.
    ///
    /// The code proves the identifier; `password` proves that the one redeeming it is the
    /// registrant who chose the password sent with it. It may be left out only while the code
    /// carries the account's own password (one registration pending); otherwise it is
    /// required, and must match, so that nobody redeems a code that another registration of
    /// the same identifier sent, and gets that registrant's password.
    pub async fn verify_registration(
        &self,
        identifier: &str,
        code: &str,
        password: Option<&str>,
        client: &ClientInfo,
    ) -> Result<LoginOk, CoreError> {
        let s = &self.inner;
        s.limiter.check(&format!("login-ip:{}", client.network()), s.limits.login_per_ip).await?;
        let id = Identifier::parse(identifier)?;
        let idx = s.contact_index(&id);
        let row = s.check_code(CodePurpose::Register, &idx, code).await?;
        let account = s.store.account_by_contact(&idx).await?.ok_or(CoreError::InvalidCode)?;
        match account.state {
            AccountState::Pending => {
                let chosen = row.password_hash.as_deref().unwrap_or(&account.password_hash);
                match password {
                    Some(p) if !s.check_password(p, Some(chosen)).await? => {
                        return Err(CoreError::InvalidCode);
                    }
                    None if chosen != account.password_hash => {
                        return Err(CoreError::PasswordRequired);
                    }
                    _ => {}
                }
                s.consume_code(&row).await?;
                s.store.activate_account(account.id, Some(chosen), s.now()).await?;
            }
            AccountState::Active | AccountState::Cancelling => s.consume_code(&row).await?,
            AccountState::Banned => return Err(CoreError::AccountBanned),
            AccountState::Cancelled => return Err(CoreError::InvalidCode),
        }
        s.require_guardian_consent(account.id).await?;
        s.start_session(&account, client, SignIn::Password).await
    }

    /// Logs in with identifier and password. An account with a second factor, on a device
    /// not remembered for it, gets a ticket to finish with instead of a session
    /// ([`LoginStep::SecondFactor`], see `mfa_login.rs`).
    ///
    /// The attempt is counted against the identifier (in one statement) before the password
    /// is checked, and cleared if it was right: however many attempts arrive at once, no more
    /// than the lockout threshold are checked, and none is lost.
    pub async fn login(
        &self,
        identifier: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<LoginStep, CoreError> {
        let s = &self.inner;
        s.limiter.check(&format!("login-ip:{}", client.network()), s.limits.login_per_ip).await?;
        let id = Identifier::parse(identifier).map_err(|_| CoreError::InvalidCredentials)?;
        let idx = s.contact_index(&id);
        s.throttle_index("login-id", &idx, s.limits.login_per_identifier).await?;
        let now = s.now();
        let rule = risk::lockout_rule(&s.cfg);
        let count = s.store.count_login_attempt(&idx, now, rule).await?;
        let account = s.store.account_by_contact(&idx).await?;
        if let Some(retry_after) = risk::locked_for(&count, rule, now) {
            if let Some(a) = &account {
                s.record_login(a, client, LoginOutcome::Locked, false).await?;
            }
            return Err(CoreError::AccountLocked { retry_after });
        }
        let ok =
            s.check_password(password, account.as_ref().map(|a| a.password_hash.as_str())).await?;
        let account = match account {
            Some(a) if ok => a,
            other => {
                if let Some(a) = &other {
                    s.record_login(a, client, LoginOutcome::BadPassword, false).await?;
                }
                return Err(CoreError::InvalidCredentials);
            }
        };
        s.store.clear_login_failures(&idx).await?;
        match account.state {
            AccountState::Active | AccountState::Cancelling => {
                s.require_guardian_consent(account.id).await?;
                s.after_password(&account, client).await
            }
            AccountState::Cancelled => Err(CoreError::InvalidCredentials),
            AccountState::Pending => Err(CoreError::AccountNotVerified),
            AccountState::Banned => {
                s.record_login(&account, client, LoginOutcome::Banned, false).await?;
                Err(CoreError::AccountBanned)
            }
        }
    }

    /// Resolves a bearer token (or session cookie) to its principal. A session of an account
    /// in its cancellation window answers `AccountCancelling`.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, CoreError> {
        self.authenticate_in(token, Gate::default()).await
    }

    /// [`Accounts::authenticate`] for the few routes open during the cancellation window
    /// (continuing or confirming the cancellation, the profile, logout, exports).
    pub async fn authenticate_while_cancelling(&self, token: &str) -> Result<Principal, CoreError> {
        self.authenticate_in(token, Gate { while_cancelling: true, while_enrolling: false }).await
    }

    /// [`Accounts::authenticate`] for a route open in the restricted states `gate` names.
    /// While `accounts.require_second_factor` holds, a session of an account without a
    /// second factor reaches only routes open while enrolling
    /// (`second-factor-enrolment-required` elsewhere).
    pub async fn authenticate_in(&self, token: &str, gate: Gate) -> Result<Principal, CoreError> {
        let s = &self.inner;
        let hash = TokenHash::of(token);
        let now = s.now();
        let session =
            s.store.session_by_token(&hash.0, now).await?.ok_or(CoreError::Unauthenticated)?;
        // A session unused for `accounts.session_idle_days` has ended (the sweeper deletes it).
        if session.last_used_at < self.idle_cutoff(now) {
            return Err(CoreError::Unauthenticated);
        }
        let account = s.account(session.account_id).await?;
        match account.state {
            AccountState::Active => {}
            AccountState::Cancelling if gate.while_cancelling => {}
            AccountState::Cancelling => return Err(CoreError::AccountCancelling),
            _ => return Err(CoreError::Unauthenticated),
        }
        if s.cfg.require_second_factor
            && !gate.while_enrolling
            && s.second_factor_methods(account.id).await?.is_empty()
        {
            return Err(crate::mfa::sf_error(
                kankan_base::ErrorKind::PermissionDenied,
                "second-factor-enrolment-required",
                "this service requires a second factor: enrol one (Me > Account security) first",
            ));
        }
        if session.last_used_at.plus(TOUCH_EVERY) <= now {
            s.store.touch_session(session.id, now).await?;
        }
        Ok(Principal { account_id: account.id, session_id: session.id, token_hash: hash })
    }

    pub async fn logout(&self, p: &Principal) -> Result<(), CoreError> {
        let s = &self.inner;
        s.store.revoke_session(p.account_id, p.session_id, s.now()).await?;
        s.revocations.revoke(&Revoke::Session { account: p.account_id, session: p.session_id });
        Ok(())
    }

    /// Sends a reset code if the identifier has an account; answers the same either way.
    pub async fn request_password_reset(
        &self,
        identifier: &str,
        client: &ClientInfo,
    ) -> Result<CodeSent, CoreError> {
        let s = &self.inner;
        let id = Identifier::parse(identifier)?;
        let idx = s.contact_index(&id);
        s.throttle_code(CodePurpose::Reset, &idx, client).await?;
        s.throttle_sms(&id, &idx, &client.ip).await?;
        if let Some(a) = s.store.account_by_contact(&idx).await?
            && a.state != AccountState::Banned
        {
            s.send_code(CodePurpose::Reset, &id, idx, None).await?;
        }
        Ok(CodeSent { retry_after: Duration::from_secs(u64::from(s.cfg.code_resend_secs)) })
    }

    /// Sets a new password with a reset code; every session of the account ends.
    pub async fn confirm_password_reset(
        &self,
        identifier: &str,
        code: &str,
        new_password: &str,
        client: &ClientInfo,
    ) -> Result<(), CoreError> {
        let s = &self.inner;
        s.limiter.check(&format!("login-ip:{}", client.network()), s.limits.login_per_ip).await?;
        let id = Identifier::parse(identifier)?;
        password_policy::check(new_password, id.as_str())?;
        let idx = s.contact_index(&id);
        let row = s.check_code(CodePurpose::Reset, &idx, code).await?;
        s.consume_code(&row).await?;
        let account = s.store.account_by_contact(&idx).await?.ok_or(CoreError::InvalidCode)?;
        if account.state == AccountState::Banned {
            return Err(CoreError::AccountBanned);
        }
        let hash = s.hash_password(new_password).await?;
        let now = s.now();
        s.store.set_password(account.id, &hash.0, None, now).await?;
        s.revocations.revoke(&Revoke::Account { account: account.id, except: None });
        if account.state == AccountState::Pending {
            s.store.activate_account(account.id, None, now).await?;
        }
        s.store.clear_login_failures(&idx).await?;
        Ok(())
    }
}

impl Inner {
    /// Creates a session, records the login, and warns the owner of a new device.
    pub(crate) async fn start_session(
        &self,
        a: &Account,
        client: &ClientInfo,
        how: SignIn,
    ) -> Result<LoginOk, CoreError> {
        let key = self.key_of(a)?;
        let (token, hash) = random_token()?;
        let now = self.now();
        let ttl = Duration::from_secs(u64::from(self.cfg.session_ttl_days) * 86_400);
        let session = Session {
            id: SessionId::new(),
            account_id: a.id,
            token_hash: hash.0,
            client_enc: key.seal("session-client", client.client.as_bytes())?,
            ip_enc: key.seal("session-ip", client.ip.as_bytes())?,
            created_at: now,
            last_used_at: now,
            expires_at: now.plus(ttl),
            signed_in_with: how.as_str().to_string(),
        };
        self.store.insert_session(&session).await?;
        let has_history = self
            .store
            .login_events(a.id, 200)
            .await?
            .iter()
            .any(|e| e.outcome == LoginOutcome::Success);
        let new_device = self.record_login(a, client, LoginOutcome::Success, true).await?;
        if new_device && has_history {
            let body = format!(
                "Your Kankan account was just signed in from a device or network it has not \
                 used before: {} (IP {}), at {}. If this was you, nothing needs doing. If not, \
                 change your password now and sign that session out under Me > Sessions.",
                client.client,
                client.ip,
                now.to_rfc3339()
            );
            self.notify(a, "New sign-in to your Kankan account", body).await?;
        }
        let principal = Principal { account_id: a.id, session_id: session.id, token_hash: hash };
        let cancellation = match a.state {
            AccountState::Cancelling => self.store.cancellation_ends(a.id).await?,
            _ => None,
        };
        let enrolment_required =
            self.cfg.require_second_factor && self.second_factor_methods(a.id).await?.is_empty();
        Ok(LoginOk {
            csrf_token: self.keyring.csrf_token(&hash),
            token,
            principal,
            cancellation,
            device_token: None,
            enrolment_required,
        })
    }

    /// Writes a login-history row; answers whether this client/IP is new for the account.
    pub(crate) async fn record_login(
        &self,
        a: &Account,
        client: &ClientInfo,
        outcome: LoginOutcome,
        check_device: bool,
    ) -> Result<bool, CoreError> {
        let key = self.key_of(a)?;
        let device_mac = self
            .keyring
            .blind_index("login-device", &format!("{}|{}|{}", a.id, client.client, client.ip))
            .to_vec();
        let new_device = check_device && !self.store.device_known(a.id, &device_mac).await?;
        let event = LoginEvent {
            id: uuid::Uuid::now_v7(),
            account_id: a.id,
            at: self.now(),
            outcome,
            client_enc: key.seal("login-client", client.client.as_bytes())?,
            ip_enc: key.seal("login-ip", client.ip.as_bytes())?,
            device_mac,
            new_device,
        };
        self.store.insert_login_event(&event).await?;
        Ok(new_device)
    }
}
