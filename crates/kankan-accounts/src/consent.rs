//! Consents: accepting the privacy policy's versions, and the optional processing each account
//! turns on or off for itself (face recognition, AI descriptions of events, cloud recording
//! where the operator makes it optional). Every change is a row of the account's append-only
//! history (what, which policy version was in force, given or withdrawn, when, how).
//!
//! - Optional processing is off until given; other domains ask [`Consents::granted`] before
//!   processing for an account, so a withdrawal stops it at once. A withdrawal then runs the
//!   [`WithdrawalEffect`]s the server wired in (each deletes what that purpose produced: face
//!   templates, AI descriptions, cloud recordings): the server wires in the deletion of the
//!   footage (cloud recording) and of every face (`kankan-faces`, face recognition).
//! - A child's account (one with a guardian) can never turn on face recognition or AI
//!   descriptions.
//! - After the operator publishes a major version, an account that has not accepted it is
//!   refused (`policy-acceptance-required`) on every route but those marked reachable in the
//!   API's route table ([`Consents::require_policy`]); a minor version is only a notice.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use kankan_db::ConsentRow;

use crate::privacy::PolicyVersion;
use crate::{Accounts, CoreError, Inner, Principal};

/// Optional processing, each with a consent of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    FaceRecognition,
    AiDescriptions,
    CloudRecording,
}

impl Purpose {
    pub const ALL: [Purpose; 3] =
        [Purpose::FaceRecognition, Purpose::AiDescriptions, Purpose::CloudRecording];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::FaceRecognition => "face-recognition",
            Purpose::AiDescriptions => "ai-descriptions",
            Purpose::CloudRecording => "cloud-recording",
        }
    }

    pub fn parse(s: &str) -> Result<Purpose, CoreError> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| CoreError::Consent {
            code: "unknown-purpose",
            message: format!(
                "no such purpose {s:?}: face-recognition, ai-descriptions or cloud-recording"
            ),
        })
    }

    /// Processing a child's account may never have.
    fn forbidden_for_children(self) -> bool {
        matches!(self, Purpose::FaceRecognition | Purpose::AiDescriptions)
    }
}

/// The purpose under which policy acceptance is recorded.
const POLICY: &str = "policy";
/// The disclaimer shown once when adding a camera (acknowledged, not consented).
const DISCLAIMER: &str = "camera-disclaimer";
/// How a consent was given or withdrawn.
pub(crate) const HOW_REGISTRATION: &str = "registration";
pub(crate) const HOW_GUARDIAN: &str = "guardian";
const HOW_SETTINGS: &str = "settings";
const HOW_POLICY_UPDATE: &str = "policy-update";

/// What a withdrawal sets off in another domain: deleting what the purpose produced for the
/// account. The server wires these at construction; each runs after the withdrawal is
/// recorded (so the processing already stopped), in order.
#[async_trait]
pub trait WithdrawalEffect: Send + Sync + 'static {
    async fn withdrawn(&self, account: AccountId, purpose: Purpose) -> Result<(), CoreError>;
}

/// One purpose's state for an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurposeState {
    pub purpose: Purpose,
    pub granted: bool,
    /// When it was last given or withdrawn.
    pub at: Option<Timestamp>,
    /// Whether the account may turn it on (not for a child's face recognition or AI
    /// descriptions; cloud recording only where the operator makes it optional).
    pub available: bool,
}

/// An account's consents: each purpose, the policy it accepted and the history.
#[derive(Debug, Clone)]
pub struct ConsentOverview {
    pub purposes: Vec<PurposeState>,
    /// The policy version the account accepted last.
    pub accepted_version: Option<String>,
    pub current_version: String,
    /// A major version is newer than the one accepted: the app is closed until it is accepted.
    pub acceptance_required: bool,
    /// The versions published since the one accepted (major or minor), oldest first.
    pub newer_versions: Vec<PolicyVersion>,
    /// The account is a child's (it has a guardian).
    pub child: bool,
    /// The camera disclaimer was shown to the account.
    pub disclaimer_acknowledged: bool,
    /// Every consent row, oldest first.
    pub history: Vec<ConsentRow>,
}

/// The positive answers of [`Consents::require_policy`] kept in memory: an acceptance is never
/// taken back and the versions change only at a restart. Emptied when it grows this large.
const ACCEPTED_CACHE_MAX: usize = 100_000;

#[derive(Default)]
pub(crate) struct AcceptedCache(Mutex<HashSet<AccountId>>);

impl AcceptedCache {
    fn contains(&self, a: AccountId) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).contains(&a)
    }

    fn insert(&self, a: AccountId) {
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if set.len() >= ACCEPTED_CACHE_MAX {
            set.clear();
        }
        set.insert(a);
    }
}

/// The one rule of whether an account consented to a purpose, on its own so that a domain
/// built before [`Accounts`] (recording, whose footage a withdrawal deletes) can ask it.
/// [`Consents::granted`] answers through it. Cheap to clone.
#[derive(Clone)]
pub struct ConsentCheck {
    store: Arc<dyn kankan_db::Store>,
    cloud_recording_optional: bool,
}

impl std::fmt::Debug for ConsentCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsentCheck")
    }
}

impl ConsentCheck {
    /// `cloud_recording_optional`: the operator's `privacy.cloud_recording_optional`.
    pub fn new(store: Arc<dyn kankan_db::Store>, cloud_recording_optional: bool) -> ConsentCheck {
        ConsentCheck { store, cloud_recording_optional }
    }

    /// Whether the account gave its consent to `purpose` and has not withdrawn it. Cloud
    /// recording is part of the service unless the operator makes it optional; a child's
    /// account never has face recognition or AI descriptions.
    pub async fn granted(&self, account: AccountId, purpose: Purpose) -> Result<bool, CoreError> {
        if purpose == Purpose::CloudRecording && !self.cloud_recording_optional {
            return Ok(true);
        }
        if purpose.forbidden_for_children() && self.store.guardian(account).await?.is_some() {
            return Ok(false);
        }
        Ok(self.store.latest_consent(account, purpose.as_str()).await?.is_some_and(|c| c.granted))
    }
}

/// The consent service of [`Accounts`]. Cheap to clone.
#[derive(Clone)]
pub struct Consents {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Consents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Consents")
    }
}

impl Accounts {
    /// Consents and policy acceptance.
    pub fn consents(&self) -> Consents {
        Consents { inner: Arc::clone(&self.inner) }
    }

    /// The operator's privacy settings (policy versions, disclaimer, contact).
    pub fn privacy(&self) -> &crate::Privacy {
        &self.inner.privacy
    }
}

impl Inner {
    /// A consent row of `account` stamped now, under the current policy version.
    pub(crate) fn consent_row(
        &self,
        account: AccountId,
        purpose: &str,
        granted: bool,
        how: &str,
    ) -> ConsentRow {
        ConsentRow {
            id: uuid::Uuid::now_v7(),
            account_id: account,
            purpose: purpose.to_string(),
            version: self.privacy.current().version.clone(),
            granted,
            how: how.to_string(),
            at: self.now(),
        }
    }

    pub(crate) async fn is_child(&self, account: AccountId) -> Result<bool, CoreError> {
        Ok(self.store.guardian(account).await?.is_some())
    }

    async fn accepted_version(&self, account: AccountId) -> Result<Option<String>, CoreError> {
        Ok(self
            .store
            .latest_consent(account, POLICY)
            .await?
            .filter(|c| c.granted)
            .map(|c| c.version))
    }
}

impl Consents {
    /// Whether the account gave its consent to `purpose` (and has not withdrawn it): what every
    /// domain asks before processing for the account. Cloud recording is part of the service
    /// unless the operator makes it optional.
    pub async fn granted(&self, account: AccountId, purpose: Purpose) -> Result<bool, CoreError> {
        let s = &self.inner;
        ConsentCheck::new(s.store.clone(), s.privacy.cloud_recording_optional)
            .granted(account, purpose)
            .await
    }

    /// The account's consents, the policy versions it accepted and may need to, and history.
    pub async fn overview(&self, p: &Principal) -> Result<ConsentOverview, CoreError> {
        self.overview_of(p.account_id).await
    }

    async fn overview_of(&self, account: AccountId) -> Result<ConsentOverview, CoreError> {
        let s = &self.inner;
        let history = s.store.consents(account).await?;
        let child = s.is_child(account).await?;
        let latest = |purpose: &str| history.iter().rev().find(|c| c.purpose == purpose);
        let purposes = Purpose::ALL
            .into_iter()
            .map(|purpose| {
                let row = latest(purpose.as_str());
                let optional =
                    purpose != Purpose::CloudRecording || s.privacy.cloud_recording_optional;
                let available = optional && !(child && purpose.forbidden_for_children());
                PurposeState {
                    purpose,
                    granted: if optional {
                        available && row.is_some_and(|c| c.granted)
                    } else {
                        true
                    },
                    at: row.map(|c| c.at),
                    available,
                }
            })
            .collect();
        let accepted = history
            .iter()
            .rev()
            .find(|c| c.purpose == POLICY && c.granted)
            .map(|c| c.version.clone());
        Ok(ConsentOverview {
            purposes,
            acceptance_required: s.privacy.acceptance_required(accepted.as_deref()),
            newer_versions: s.privacy.newer_than(accepted.as_deref()).to_vec(),
            accepted_version: accepted,
            current_version: s.privacy.current().version.clone(),
            child,
            disclaimer_acknowledged: latest(DISCLAIMER).is_some(),
            history,
        })
    }

    /// Gives or withdraws the consent to `purpose`. A withdrawal is recorded first (processing
    /// stops: [`Consents::granted`] answers false from then on), then the withdrawal effects
    /// delete what the purpose produced. Setting the state it already has records nothing.
    pub async fn set(
        &self,
        p: &Principal,
        purpose: Purpose,
        granted: bool,
    ) -> Result<ConsentOverview, CoreError> {
        let s = &self.inner;
        let account = p.account_id;
        if purpose == Purpose::CloudRecording && !s.privacy.cloud_recording_optional {
            return Err(CoreError::Consent {
                code: "consent-not-optional",
                message: "cloud recording is part of this server's service, not an option; \
                    choose a camera's recording mode instead"
                    .into(),
            });
        }
        if granted && purpose.forbidden_for_children() && s.is_child(account).await? {
            return Err(CoreError::NotForChildAccounts(purpose.as_str()));
        }
        let now_granted =
            s.store.latest_consent(account, purpose.as_str()).await?.is_some_and(|c| c.granted);
        if now_granted != granted {
            let row = s.consent_row(account, purpose.as_str(), granted, HOW_SETTINGS);
            s.store.insert_consent(&row).await?;
            if !granted {
                for effect in &s.withdrawal_effects {
                    effect.withdrawn(account, purpose).await?;
                }
            }
        }
        self.overview_of(account).await
    }

    /// Accepts the policy version in force (`version` must name it: accepting is accepting
    /// what was read).
    pub async fn accept_policy(
        &self,
        p: &Principal,
        version: &str,
    ) -> Result<ConsentOverview, CoreError> {
        let s = &self.inner;
        let current = &s.privacy.current().version;
        if version != current {
            return Err(CoreError::Consent {
                code: "policy-version-not-current",
                message: format!(
                    "the privacy policy in force is version {current}; read and accept that one"
                ),
            });
        }
        let row = s.consent_row(p.account_id, POLICY, true, HOW_POLICY_UPDATE);
        s.store.insert_consent(&row).await?;
        self.overview_of(p.account_id).await
    }

    /// Records that the camera disclaimer was shown to the account (once).
    pub async fn acknowledge_disclaimer(&self, p: &Principal) -> Result<(), CoreError> {
        let s = &self.inner;
        if s.store.latest_consent(p.account_id, DISCLAIMER).await?.is_none() {
            let row = s.consent_row(p.account_id, DISCLAIMER, true, HOW_SETTINGS);
            s.store.insert_consent(&row).await?;
        }
        Ok(())
    }

    /// The policy gate: `policy-acceptance-required` while a major version newer than the one
    /// the account accepted is in force.
    pub async fn require_policy(&self, account: AccountId) -> Result<(), CoreError> {
        let s = &self.inner;
        if s.accepted.contains(account) {
            return Ok(());
        }
        let accepted = s.accepted_version(account).await?;
        if s.privacy.acceptance_required(accepted.as_deref()) {
            return Err(CoreError::PolicyAcceptanceRequired);
        }
        s.accepted.insert(account);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use kankan_base::SessionId;
    use kankan_crypto::{Keyring, MasterKey, TokenHash};
    use kankan_db::{LocalBlobStore, Store};

    use super::*;
    use crate::{AccountsConfig, LimitsConfig, Privacy};

    /// Records each withdrawal it is told of, with the state the account's consent had then.
    struct Recorder {
        store: Arc<dyn Store>,
        seen: Arc<StdMutex<Vec<(AccountId, Purpose, bool)>>>,
    }

    #[async_trait]
    impl WithdrawalEffect for Recorder {
        async fn withdrawn(&self, account: AccountId, purpose: Purpose) -> Result<(), CoreError> {
            let now = self.store.latest_consent(account, purpose.as_str()).await?;
            let granted = now.is_some_and(|c| c.granted);
            self.seen.lock().unwrap_or_else(|p| p.into_inner()).push((account, purpose, granted));
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_withdrawal_is_recorded_before_its_effects_run_and_giving_runs_none() {
        let dir = tempfile::tempdir().expect("tmp");
        let url = kankan_db::testing::fresh_database_url(dir.path()).await.expect("database");
        let store = kankan_db::open(&url).await.expect("open");
        store.migrate().await.expect("migrate");
        let blobs = Arc::new(LocalBlobStore::new(dir.path().join("blobs")).expect("blobs"));
        let master =
            MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect("key");
        let keyring = Keyring::new(&master);
        let clock: kankan_base::Clocks = Arc::new(kankan_base::RealClock);
        let queue =
            kankan_core::jobs::DeliveryQueue::new(store.clone(), keyring.clone(), clock.clone());
        let revocations = kankan_core::Revocations::new(store.clone(), clock.clone());
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let effect = Recorder { store: store.clone(), seen: seen.clone() };
        let accounts = Accounts::new(
            store,
            blobs,
            keyring,
            clock,
            queue,
            AccountsConfig::default(),
            LimitsConfig::default(),
            revocations,
            Privacy::default(),
            vec![Arc::new(effect)],
        );
        let id = accounts
            .provision_account("a@example.com", "plum-garden-kettle-42")
            .await
            .expect("account");
        let p = Principal {
            account_id: id,
            session_id: SessionId::new(),
            token_hash: TokenHash::of("t"),
        };
        let consents = accounts.consents();
        let seen = || seen.lock().unwrap_or_else(|p| p.into_inner()).clone();

        consents.set(&p, Purpose::AiDescriptions, true).await.expect("give");
        assert!(consents.granted(id, Purpose::AiDescriptions).await.expect("ask"));
        assert!(seen().is_empty(), "giving a consent deletes nothing");
        consents.set(&p, Purpose::AiDescriptions, false).await.expect("withdraw");
        assert!(!consents.granted(id, Purpose::AiDescriptions).await.expect("ask"));
        assert_eq!(
            seen(),
            [(id, Purpose::AiDescriptions, false)],
            "run once, after the withdrawal"
        );
        consents.set(&p, Purpose::AiDescriptions, false).await.expect("again");
        assert_eq!(seen().len(), 1, "withdrawing what is not given changes nothing");
    }
}
