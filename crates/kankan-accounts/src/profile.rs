//! What a logged-in user sees and changes of their own account.

use kankan_base::{AccountId, BlobId, SessionId, Timestamp};
use kankan_db::{ContactKind, LoginOutcome};

use super::{Accounts, Principal};
use crate::{CoreError, avatar, password_policy};
use kankan_core::Revoke;

/// The account as its owner sees it (decrypted).
#[derive(Debug, Clone)]
pub struct Profile {
    pub id: AccountId,
    pub identifier: String,
    pub identifier_kind: ContactKind,
    pub nickname: Option<String>,
    /// Present when an avatar is set; changes whenever the avatar does.
    pub avatar_version: Option<BlobId>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct SessionEntry {
    pub id: SessionId,
    pub client: String,
    pub ip: String,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub current: bool,
    /// How it signed in (`password`, `password+totp`, ...).
    pub signed_in_with: String,
}

#[derive(Debug, Clone)]
pub struct LoginEntry {
    pub at: Timestamp,
    pub ip: String,
    pub client: String,
    pub outcome: LoginOutcome,
    pub new_device: bool,
}

const MAX_NICKNAME: usize = 32;
const HISTORY: u32 = 50;

impl Accounts {
    pub async fn profile(&self, p: &Principal) -> Result<Profile, CoreError> {
        let s = &self.inner;
        let a = s.account(p.account_id).await?;
        let key = s.key_of(&a)?;
        let identifier = s.identifier_of(&a, &key)?;
        let nickname =
            a.nickname_enc.as_deref().map(|n| key.open_string("nickname", n)).transpose()?;
        Ok(Profile {
            id: a.id,
            identifier: identifier.as_str().to_string(),
            identifier_kind: a.contact_kind,
            nickname,
            avatar_version: a.avatar_blob,
            created_at: a.created_at,
        })
    }

    /// Another account's nickname (`None` when unset), for what is shown of the people a
    /// device is shared with: its access log, its members.
    pub async fn nickname_of(&self, id: AccountId) -> Result<Option<String>, CoreError> {
        let s = &self.inner;
        let a = s.account(id).await?;
        let key = s.key_of(&a)?;
        Ok(a.nickname_enc.as_deref().map(|n| key.open_string("nickname", n)).transpose()?)
    }

    /// Sets (or with an empty string clears) the nickname.
    pub async fn set_nickname(&self, p: &Principal, nickname: &str) -> Result<Profile, CoreError> {
        let s = &self.inner;
        let nick = nickname.trim();
        if nick.chars().count() > MAX_NICKNAME {
            return Err(CoreError::InvalidNickname(format!(
                "a nickname has at most {MAX_NICKNAME} characters"
            )));
        }
        if nick.chars().any(char::is_control) {
            return Err(CoreError::InvalidNickname(
                "a nickname may not hold control characters".into(),
            ));
        }
        let a = s.account(p.account_id).await?;
        let enc = if nick.is_empty() {
            None
        } else {
            Some(s.key_of(&a)?.seal("nickname", nick.as_bytes())?)
        };
        s.store.set_nickname(a.id, enc.as_deref()).await?;
        self.profile(p).await
    }

    /// Validates, re-encodes, encrypts and stores a new avatar; removes the old one.
    pub async fn set_avatar(
        &self,
        p: &Principal,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<Profile, CoreError> {
        let s = &self.inner;
        let content_type = content_type.to_string();
        let png = super::bounded(&s.images, "avatar decoding", move || {
            avatar::normalise(&bytes, &content_type)
        })
        .await??;
        let a = s.account(p.account_id).await?;
        let blob = BlobId::new();
        let sealed = s.key_of(&a)?.seal(&format!("avatar/{blob}"), &png)?;
        s.blobs.put(blob, sealed).await?;
        if let Some(old) = s.store.set_avatar(a.id, Some(blob)).await? {
            s.blobs.delete(old).await?;
        }
        self.profile(p).await
    }

    /// The avatar as PNG, if one is set.
    pub async fn avatar(&self, p: &Principal) -> Result<Option<Vec<u8>>, CoreError> {
        let s = &self.inner;
        let a = s.account(p.account_id).await?;
        let Some(blob) = a.avatar_blob else { return Ok(None) };
        let Some(sealed) = s.blobs.get(blob).await? else { return Ok(None) };
        Ok(Some(s.key_of(&a)?.open(&format!("avatar/{blob}"), &sealed)?))
    }

    /// Changes the password; every other session of the account ends.
    pub async fn change_password(
        &self,
        p: &Principal,
        current: &str,
        new: &str,
    ) -> Result<(), CoreError> {
        let s = &self.inner;
        let a = s.account(p.account_id).await?;
        let key = s.key_of(&a)?;
        let identifier = s.identifier_of(&a, &key)?;
        password_policy::check(new, identifier.as_str())?;
        // Each attempt costs two Argon2 runs, and a stolen session could guess the current
        // password here: throttled per account.
        s.limiter
            .check(&format!("password-change:{}", a.id), s.limits.password_change_per_account)
            .await?;
        let ok = s.check_password(current, Some(&a.password_hash)).await?;
        if !ok {
            return Err(CoreError::WrongPassword);
        }
        let new_hash = s.hash_password(new).await?;
        s.store.set_password(a.id, &new_hash.0, Some(p.session_id), s.now()).await?;
        s.revocations.revoke(&Revoke::Account { account: a.id, except: Some(p.session_id) });
        Ok(())
    }

    pub async fn sessions(&self, p: &Principal) -> Result<Vec<SessionEntry>, CoreError> {
        let s = &self.inner;
        let a = s.account(p.account_id).await?;
        let key = s.key_of(&a)?;
        let now = s.now();
        // A session idle past `accounts.session_idle_days` has ended, swept or not.
        let idle = self.idle_cutoff(now);
        s.store
            .sessions_of(a.id, now)
            .await?
            .into_iter()
            .filter(|row| row.last_used_at >= idle)
            .map(|row| {
                Ok(SessionEntry {
                    id: row.id,
                    client: key.open_string("session-client", &row.client_enc)?,
                    ip: key.open_string("session-ip", &row.ip_enc)?,
                    created_at: row.created_at,
                    last_used_at: row.last_used_at,
                    current: row.id == p.session_id,
                    signed_in_with: row.signed_in_with,
                })
            })
            .collect()
    }

    /// Signs out one of the caller's own sessions.
    pub async fn revoke_session(&self, p: &Principal, id: SessionId) -> Result<(), CoreError> {
        let s = &self.inner;
        if s.store.revoke_session(p.account_id, id, s.now()).await? {
            s.revocations.revoke(&Revoke::Session { account: p.account_id, session: id });
            Ok(())
        } else {
            Err(CoreError::NotFound("session"))
        }
    }

    pub async fn login_history(&self, p: &Principal) -> Result<Vec<LoginEntry>, CoreError> {
        let s = &self.inner;
        let a = s.account(p.account_id).await?;
        let key = s.key_of(&a)?;
        s.store
            .login_events(a.id, HISTORY)
            .await?
            .into_iter()
            .map(|e| {
                Ok(LoginEntry {
                    at: e.at,
                    ip: key.open_string("login-ip", &e.ip_enc)?,
                    client: key.open_string("login-client", &e.client_enc)?,
                    outcome: e.outcome,
                    new_device: e.new_device,
                })
            })
            .collect()
    }
}
