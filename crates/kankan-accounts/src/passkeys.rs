//! Passkeys (WebAuthn): an account adds them (after giving its password again), names,
//! renames and removes them, and signs in with one alone. Verification is
//! [`kankan_webauthn`]'s; this module keeps the challenges and credentials.
//!
//! Invariants: only public keys are stored (the private key never leaves the authenticator);
//! a challenge is random, single use, bound to its purpose (and account) and expires after
//! [`CHALLENGE_TTL`]; an assertion whose counter does not grow is refused (a cloned
//! authenticator); the options of a passkey-only login name no account, and the user handle
//! an authenticator keeps is an opaque keyed digest of the account, not its id or contact;
//! failed passkey logins are counted and locked out like failed password logins.

use std::time::Duration;

use kankan_base::{ErrorKind, Timestamp};
use kankan_db::{AccountState, LoginOutcome, PasskeyChallengeRow, PasskeyPurpose, PasskeyRow};
use kankan_webauthn::{
    self as wa, AssertionResponse, Expected, RegistrationResponse, RelyingParty, StoredCredential,
    UserEntity, UserVerification,
};

use super::{Accounts, ClientInfo, Inner, Principal};
use crate::{CoreError, LoginOk, risk};

pub use kankan_webauthn::RelyingParty as PasskeyRelyingParty;

/// How long a ceremony's challenge may be answered.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(300);
/// The most passkeys one account keeps.
pub const MAX_PASSKEYS: usize = 20;
/// The longest name of a passkey, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Options for the browser and the challenge they belong to.
#[derive(Debug, Clone)]
pub struct PasskeyOptions {
    /// Sent back with the answer (none for a second factor: the login's ticket holds the
    /// challenge).
    pub challenge_id: Option<uuid::Uuid>,
    /// `publicKey` options (binary fields in base64url).
    pub public_key: serde_json::Value,
    pub expires_at: Option<Timestamp>,
}

/// A passkey as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyView {
    pub id: uuid::Uuid,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    /// A synced passkey (may be backed up).
    pub backup_eligible: bool,
    pub backed_up: bool,
}

/// `passkey-invalid` (400) with the reason.
fn invalid(e: wa::WebauthnError) -> CoreError {
    CoreError::SecondFactor {
        kind: ErrorKind::InvalidArgument,
        code: "passkey-invalid",
        message: format!("the passkey was refused ({}): {}", e.reason.as_str(), e.message),
    }
}

fn invalid_because(message: &str) -> CoreError {
    CoreError::SecondFactor {
        kind: ErrorKind::InvalidArgument,
        code: "passkey-invalid",
        message: format!("the passkey was refused: {message}"),
    }
}

fn stale_challenge() -> CoreError {
    invalid_because("the challenge is unknown, already answered or expired; ask for new options")
}

fn name_of(name: &str) -> Result<String, CoreError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(CoreError::SecondFactor {
            kind: ErrorKind::InvalidArgument,
            code: "invalid-passkey-name",
            message: format!("a passkey's name is 1 to {MAX_NAME_CHARS} characters"),
        });
    }
    Ok(name.to_string())
}

fn not_found() -> CoreError {
    CoreError::NotFound("passkey")
}

impl Accounts {
    /// Creation options for a new passkey of the signed-in account, after its password was
    /// given again: a discoverable credential, user verification preferred, the account's
    /// passkeys excluded. Throttled like a password change.
    pub async fn passkey_creation_options(
        &self,
        p: &Principal,
        password: &str,
        rp: &RelyingParty,
    ) -> Result<PasskeyOptions, CoreError> {
        let s = &self.inner;
        let a = s.account(p.account_id).await?;
        s.limiter
            .check(&format!("password-change:{}", a.id), s.limits.password_change_per_account)
            .await?;
        if !s.check_password(password, Some(&a.password_hash)).await? {
            return Err(CoreError::WrongPassword);
        }
        let existing = s.store.passkeys_of(a.id).await?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(CoreError::SecondFactor {
                kind: ErrorKind::FailedPrecondition,
                code: "passkey-limit",
                message: format!("an account keeps at most {MAX_PASSKEYS} passkeys"),
            });
        }
        let key = s.key_of(&a)?;
        let identifier = s.identifier_of(&a, &key)?;
        let nickname =
            a.nickname_enc.as_deref().map(|n| key.open_string("nickname", n)).transpose()?;
        let handle = s.user_handle(a.id);
        let user = UserEntity {
            id: &handle,
            name: identifier.as_str(),
            display_name: nickname.as_deref().unwrap_or(identifier.as_str()),
        };
        let (challenge, row) = s.new_challenge(PasskeyPurpose::Register, Some(a.id)).await?;
        let exclude: Vec<Vec<u8>> = existing.into_iter().map(|k| k.credential_id).collect();
        let public_key = wa::creation_options(
            rp,
            &user,
            &challenge,
            &exclude,
            UserVerification::Preferred,
            CHALLENGE_TTL.as_millis() as u64,
        );
        Ok(PasskeyOptions {
            challenge_id: Some(row.id),
            public_key,
            expires_at: Some(row.expires_at),
        })
    }

    /// Verifies and stores a new passkey (the browser's answer to the creation options), named
    /// `name`; the account's contact is told.
    pub async fn add_passkey(
        &self,
        p: &Principal,
        challenge_id: uuid::Uuid,
        credential: &serde_json::Value,
        name: &str,
        rp: &RelyingParty,
    ) -> Result<PasskeyView, CoreError> {
        let s = &self.inner;
        let name = name_of(name)?;
        let now = s.now();
        let row = s
            .store
            .take_passkey_challenge(challenge_id, PasskeyPurpose::Register, now)
            .await?
            .filter(|c| c.account_id == Some(p.account_id))
            .ok_or_else(stale_challenge)?;
        let response = RegistrationResponse::from_json(credential).map_err(invalid)?;
        let hash = challenge_hash(&row)?;
        let expected =
            Expected { rp, challenge_hash: &hash, user_verification: UserVerification::Preferred };
        let cred = wa::verify_registration(&response, &expected).map_err(invalid)?;
        let a = s.account(p.account_id).await?;
        let key = s.key_of(&a)?;
        let stored = PasskeyRow {
            id: uuid::Uuid::now_v7(),
            account_id: a.id,
            credential_id: cred.id,
            public_key: cred.public_key,
            alg: cred.alg,
            sign_count: cred.sign_count,
            name_enc: key.seal("passkey-name", name.as_bytes())?,
            backup_eligible: cred.backup_eligible,
            backed_up: cred.backed_up,
            created_at: now,
            last_used_at: None,
        };
        match s.store.insert_passkey(&stored).await {
            Ok(()) => {}
            Err(kankan_db::DbError::Conflict(_)) => {
                return Err(invalid_because("this passkey is already registered"));
            }
            Err(e) => return Err(e.into()),
        }
        let body = format!(
            "A passkey was added to your Kankan account at {}. It can sign in to your account \
             on its own. If this was not you, remove it under Me > Security and \
             change your password.",
            now.to_rfc3339()
        );
        s.notify(&a, "A passkey was added to your Kankan account", body).await?;
        Ok(PasskeyView {
            id: stored.id,
            name,
            created_at: now,
            last_used_at: None,
            backup_eligible: stored.backup_eligible,
            backed_up: stored.backed_up,
        })
    }

    /// The account's passkeys, oldest first.
    pub async fn passkeys(&self, p: &Principal) -> Result<Vec<PasskeyView>, CoreError> {
        let s = &self.inner;
        let a = s.account(p.account_id).await?;
        let key = s.key_of(&a)?;
        s.store
            .passkeys_of(a.id)
            .await?
            .into_iter()
            .map(|k| {
                Ok(PasskeyView {
                    id: k.id,
                    name: key.open_string("passkey-name", &k.name_enc)?,
                    created_at: k.created_at,
                    last_used_at: k.last_used_at,
                    backup_eligible: k.backup_eligible,
                    backed_up: k.backed_up,
                })
            })
            .collect()
    }

    pub async fn rename_passkey(
        &self,
        p: &Principal,
        id: uuid::Uuid,
        name: &str,
    ) -> Result<(), CoreError> {
        let s = &self.inner;
        let name = name_of(name)?;
        let a = s.account(p.account_id).await?;
        let sealed = s.key_of(&a)?.seal("passkey-name", name.as_bytes())?;
        if !s.store.rename_passkey(a.id, id, &sealed).await? {
            return Err(not_found());
        }
        Ok(())
    }

    /// Removes a passkey: it signs in no more.
    pub async fn delete_passkey(&self, p: &Principal, id: uuid::Uuid) -> Result<(), CoreError> {
        if !self.inner.store.delete_passkey(p.account_id, id).await? {
            return Err(not_found());
        }
        Ok(())
    }

    /// Options for a passkey-only login: no account named, an empty allow list (the
    /// authenticator offers its discoverable credentials for the RP ID).
    pub async fn passkey_login_options(
        &self,
        rp: &RelyingParty,
        client: &ClientInfo,
    ) -> Result<PasskeyOptions, CoreError> {
        let s = &self.inner;
        s.limiter.check(&format!("login-ip:{}", client.network()), s.limits.login_per_ip).await?;
        let (challenge, row) = s.new_challenge(PasskeyPurpose::Login, None).await?;
        let public_key = wa::request_options(
            rp,
            &challenge,
            &[],
            UserVerification::Preferred,
            CHALLENGE_TTL.as_millis() as u64,
        );
        Ok(PasskeyOptions {
            challenge_id: Some(row.id),
            public_key,
            expires_at: Some(row.expires_at),
        })
    }

    /// Signs in with a passkey alone: a session like a password login's.
    ///
    /// The challenge is taken first (single use, whatever follows); the attempt is counted
    /// against the credential (in one statement) before the assertion is checked and cleared
    /// if it was right, with the same lockout as password logins.
    pub async fn passkey_login(
        &self,
        challenge_id: uuid::Uuid,
        credential: &serde_json::Value,
        rp: &RelyingParty,
        client: &ClientInfo,
    ) -> Result<LoginOk, CoreError> {
        let s = &self.inner;
        s.limiter.check(&format!("login-ip:{}", client.network()), s.limits.login_per_ip).await?;
        let now = s.now();
        let challenge = s
            .store
            .take_passkey_challenge(challenge_id, PasskeyPurpose::Login, now)
            .await?
            .ok_or_else(stale_challenge)?;
        let assertion = AssertionResponse::from_json(credential).map_err(invalid)?;
        let credential_id = assertion.credential_id().map_err(invalid)?;
        let idx = s.keyring.blind_index("passkey-credential", &wa::b64url(&credential_id)).to_vec();
        s.throttle_index("passkey-login", &idx, s.limits.login_per_identifier).await?;
        let rule = risk::lockout_rule(&s.cfg);
        let count = s.store.count_login_attempt(&idx, now, rule).await?;
        let stored = s.store.passkey_by_credential(&credential_id).await?;
        if let Some(retry_after) = risk::locked_for(&count, rule, now) {
            if let Some(k) = &stored {
                let a = s.account(k.account_id).await?;
                s.record_login(&a, client, LoginOutcome::Locked, false).await?;
            }
            return Err(CoreError::AccountLocked { retry_after });
        }
        let Some(stored) = stored else {
            return Err(invalid_because("no account has this passkey"));
        };
        let a = s.account(stored.account_id).await?;
        if a.state == AccountState::Cancelled {
            return Err(invalid_because("no account has this passkey"));
        }
        let checked =
            s.check_assertion(&assertion, &stored, &challenge_hash(&challenge)?, rp).await;
        if let Err(e) = checked {
            s.record_login(&a, client, LoginOutcome::BadPassword, false).await?;
            return Err(e);
        }
        s.store.clear_login_failures(&idx).await?;
        // The account's state, a child's guardian, the session (signed in with `passkey`).
        self.passkey_session(a.id, client).await
    }

    /// Request options for the passkey second factor of a password login: the ticket's
    /// challenge, the ticket's account's passkeys allowed. `second-factor-invalid` for a dead
    /// ticket, `second-factor-not-enrolled` when the account has no passkey.
    pub async fn passkey_second_factor_options(
        &self,
        ticket: &str,
        rp: &RelyingParty,
    ) -> Result<PasskeyOptions, CoreError> {
        let (account, challenge) = self.pending_second_factor(ticket).await?;
        let keys = self.inner.store.passkeys_of(account).await?;
        if keys.is_empty() {
            return Err(CoreError::SecondFactor {
                kind: ErrorKind::FailedPrecondition,
                code: "second-factor-not-enrolled",
                message: "this account has no passkey".into(),
            });
        }
        let allow: Vec<Vec<u8>> = keys.into_iter().map(|k| k.credential_id).collect();
        let public_key = wa::request_options(
            rp,
            &challenge,
            &allow,
            UserVerification::Preferred,
            CHALLENGE_TTL.as_millis() as u64,
        );
        Ok(PasskeyOptions { challenge_id: None, public_key, expires_at: None })
    }

    /// The passkey second factor of a password login: one of the ticket's attempts is claimed
    /// (and the account's second-factor throttle counted) before the assertion is checked
    /// against the ticket's challenge; it must be made with a passkey of the ticket's account.
    /// Right, the session opens (signed in with `password+passkey`); wrong,
    /// `second-factor-invalid` and the login history says so.
    pub async fn passkey_second_factor(
        &self,
        ticket: &str,
        credential: &serde_json::Value,
        rp: &RelyingParty,
        client: &ClientInfo,
        remember: bool,
    ) -> Result<LoginOk, CoreError> {
        let s = &self.inner;
        let (account, challenge) = self.claim_second_factor_attempt(ticket).await?;
        let checked = async {
            let assertion = AssertionResponse::from_json(credential).map_err(invalid)?;
            let credential_id = assertion.credential_id().map_err(invalid)?;
            let stored = s
                .store
                .passkey_by_credential(&credential_id)
                .await?
                .filter(|k| k.account_id == account)
                .ok_or_else(|| invalid_because("not a passkey of this account"))?;
            s.check_assertion(&assertion, &stored, &wa::sha256(&challenge), rp).await
        }
        .await;
        if let Err(e) = checked {
            tracing::info!(error = %e, "passkey second factor refused");
            return Err(self.second_factor_failed(account, client).await);
        }
        self.complete_second_factor(ticket, crate::METHOD_PASSKEY, client, remember).await
    }
}

fn challenge_hash(row: &PasskeyChallengeRow) -> Result<[u8; 32], CoreError> {
    row.challenge_hash
        .as_slice()
        .try_into()
        .map_err(|_| CoreError::Internal("a stored passkey challenge is not a digest".into()))
}

impl Inner {
    /// The opaque user handle an authenticator keeps for the account: a keyed digest of its id.
    pub(crate) fn user_handle(&self, account: kankan_base::AccountId) -> Vec<u8> {
        self.keyring.blind_index("passkey-user-handle", &account.to_string()).to_vec()
    }

    /// A new random challenge for `purpose`, stored as its digest.
    pub(crate) async fn new_challenge(
        &self,
        purpose: PasskeyPurpose,
        account: Option<kankan_base::AccountId>,
    ) -> Result<(Vec<u8>, PasskeyChallengeRow), CoreError> {
        let challenge = kankan_crypto::random_bytes(32)?;
        let now = self.now();
        let row = PasskeyChallengeRow {
            id: uuid::Uuid::now_v7(),
            purpose,
            account_id: account,
            ticket_hash: None,
            challenge_hash: wa::sha256(&challenge).to_vec(),
            created_at: now,
            expires_at: now.plus(CHALLENGE_TTL),
        };
        self.store.insert_passkey_challenge(&row).await?;
        Ok((challenge, row))
    }

    /// Verifies an assertion made with `stored` against `challenge`: the user handle (when
    /// sent) must be the stored passkey's account's, the signature must verify and the counter
    /// grow; the new counter is stored from the one read (compare-and-set).
    pub(crate) async fn check_assertion(
        &self,
        assertion: &AssertionResponse,
        stored: &PasskeyRow,
        challenge_hash: &[u8; 32],
        rp: &RelyingParty,
    ) -> Result<(), CoreError> {
        if let Some(h) = assertion.user_handle().map_err(invalid)?
            && !kankan_crypto::constant_time_eq(&h, &self.user_handle(stored.account_id))
        {
            return Err(invalid_because("the user handle is not the passkey's account"));
        }
        let expected =
            Expected { rp, challenge_hash, user_verification: UserVerification::Preferred };
        let key =
            StoredCredential { public_key: &stored.public_key, sign_count: stored.sign_count };
        let ok = wa::verify_assertion(assertion, &key, &expected).map_err(invalid)?;
        let now = self.now();
        if !self
            .store
            .passkey_used(stored.id, stored.sign_count, ok.sign_count, ok.backed_up, now)
            .await?
        {
            return Err(invalid_because("the passkey was used at the same time elsewhere"));
        }
        Ok(())
    }
}
