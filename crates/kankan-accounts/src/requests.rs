//! The queue of data-subject requests: a user files one (access, export, rectification,
//! erasure, cancellation, objection, other) with an optional message sealed under their account
//! key, or the product files one on their behalf ([`Requests::file_for`]: a cancellation, an
//! export); each is due `privacy.response_working_days` working days after it arrived (the
//! operator's calendar). Staff list them with their deadlines, read a message (logged) and
//! close them (logged).

use std::sync::Arc;

use kankan_base::{AccountId, Clocks, Timestamp, WorkCalendar};
use kankan_core::audit::{Actor, AuditLog, Record};
use kankan_core::{CoreError, KeyVault};
use kankan_db::{PrivacyRequest, Store};

use crate::PrivacyConfig;

/// The kinds of request, by their stable names.
pub const KINDS: [&str; 7] =
    ["access", "export", "rectification", "erasure", "cancellation", "objection", "other"];

/// Longest message, in characters.
pub const MAX_MESSAGE: usize = 4000;

const SEAL_FIELD: &str = "privacy-request";

/// A request as its account or staff see it.
#[derive(Debug, Clone)]
pub struct RequestView {
    pub id: uuid::Uuid,
    pub account: AccountId,
    pub kind: String,
    pub origin: String,
    pub received_at: Timestamp,
    pub due_at: Timestamp,
    pub state: String,
    pub closed_at: Option<Timestamp>,
    /// Open and past its deadline.
    pub overdue: bool,
    /// Whether it came with a message.
    pub has_message: bool,
}

/// The data-subject request queue. Cheap to clone.
#[derive(Clone)]
pub struct Requests {
    store: Arc<dyn Store>,
    vault: KeyVault,
    clock: Clocks,
    audit: AuditLog,
    calendar: Arc<WorkCalendar>,
    days: u32,
}

impl std::fmt::Debug for Requests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Requests")
    }
}

impl Requests {
    pub fn new(
        store: Arc<dyn Store>,
        vault: KeyVault,
        clock: Clocks,
        audit: AuditLog,
        privacy: &PrivacyConfig,
    ) -> Result<Requests, CoreError> {
        let calendar = privacy.calendar().map_err(CoreError::Internal)?;
        Ok(Requests {
            store,
            vault,
            clock,
            audit,
            calendar: Arc::new(calendar),
            days: privacy.response_working_days,
        })
    }

    fn view(&self, r: &PrivacyRequest, now: Timestamp) -> RequestView {
        RequestView {
            id: r.id,
            account: r.account,
            kind: r.kind.clone(),
            origin: r.origin.clone(),
            received_at: r.received_at,
            due_at: r.due_at,
            state: r.state.clone(),
            closed_at: r.closed_at,
            overdue: r.state == "open" && r.due_at < now,
            has_message: r.message_enc.is_some(),
        }
    }

    /// A user files a request with an optional message (sealed under their key).
    pub async fn file(
        &self,
        account: AccountId,
        kind: &str,
        message: Option<&str>,
    ) -> Result<RequestView, CoreError> {
        let message = message.map(str::trim).filter(|m| !m.is_empty());
        if message.is_some_and(|m| m.chars().count() > MAX_MESSAGE) {
            return Err(CoreError::InvalidRequest(format!(
                "a request's message has at most {MAX_MESSAGE} characters"
            )));
        }
        self.insert(account, kind, message, "user").await
    }

    /// The product files a request on an account's behalf (a cancellation, an export), so it
    /// is on the staff's queue with its deadline like any other. The one function other parts
    /// call.
    pub async fn file_for(&self, account: AccountId, kind: &str) -> Result<RequestView, CoreError> {
        self.insert(account, kind, None, "system").await
    }

    async fn insert(
        &self,
        account: AccountId,
        kind: &str,
        message: Option<&str>,
        origin: &str,
    ) -> Result<RequestView, CoreError> {
        if !KINDS.contains(&kind) {
            return Err(CoreError::InvalidRequest(format!(
                "a request's kind is one of: {}",
                KINDS.join(", ")
            )));
        }
        let key = self.vault.account_key(account).await?.ok_or(CoreError::NotFound("account"))?;
        let id = uuid::Uuid::now_v7();
        let message_enc = match message {
            Some(m) => Some(key.seal(&format!("{SEAL_FIELD}:{id}"), m.as_bytes())?),
            None => None,
        };
        let now = self.clock.now();
        let r = PrivacyRequest {
            id,
            account,
            kind: kind.to_string(),
            origin: origin.to_string(),
            message_enc,
            received_at: now,
            due_at: self.calendar.add_working_days(now, self.days),
            state: "open".into(),
            closed_at: None,
            closed_by: None,
        };
        self.store.insert_privacy_request(&r).await?;
        Ok(self.view(&r, now))
    }

    /// An account's own requests, newest first, with their messages.
    pub async fn mine(
        &self,
        account: AccountId,
    ) -> Result<Vec<(RequestView, Option<String>)>, CoreError> {
        let rows = self.store.privacy_requests_of(account).await?;
        let key = self.vault.account_key(account).await?.ok_or(CoreError::NotFound("account"))?;
        let now = self.clock.now();
        rows.iter()
            .map(|r| {
                let message = match &r.message_enc {
                    Some(m) => Some(key.open_string(&format!("{SEAL_FIELD}:{}", r.id), m)?),
                    None => None,
                };
                Ok((self.view(r, now), message))
            })
            .collect()
    }

    /// The queue for staff: open requests only (or all), the earliest due first; no messages.
    pub async fn queue(&self, open_only: bool, limit: u32) -> Result<Vec<RequestView>, CoreError> {
        let now = self.clock.now();
        let rows = self.store.privacy_requests(open_only, limit).await?;
        Ok(rows.iter().map(|r| self.view(r, now)).collect())
    }

    /// Staff read one request with its message: written to the audit log first.
    pub async fn read(
        &self,
        actor: &Actor,
        id: uuid::Uuid,
    ) -> Result<(RequestView, Option<String>), CoreError> {
        let r = self.store.privacy_request(id).await?.ok_or(CoreError::NotFound("request"))?;
        self.audit
            .append(Record {
                actor,
                action: "privacy-request-read",
                subject: Some(r.account),
                detail: format!("request={id} kind={}", r.kind),
            })
            .await?;
        let message = match &r.message_enc {
            Some(m) => {
                let key = self
                    .vault
                    .account_key(r.account)
                    .await?
                    .ok_or(CoreError::NotFound("account"))?;
                Some(key.open_string(&format!("{SEAL_FIELD}:{id}"), m)?)
            }
            None => None,
        };
        Ok((self.view(&r, self.clock.now()), message))
    }

    /// Closes an open request as `done` or `refused` (logged); `NotFound` if it is not open.
    pub async fn close(
        &self,
        actor: &Actor,
        id: uuid::Uuid,
        state: &str,
    ) -> Result<RequestView, CoreError> {
        if !["done", "refused"].contains(&state) {
            return Err(CoreError::InvalidRequest("a request closes as done or refused".into()));
        }
        let r = self.store.privacy_request(id).await?.ok_or(CoreError::NotFound("request"))?;
        let now = self.clock.now();
        if !self.store.close_privacy_request(id, state, &actor.encode(), now).await? {
            return Err(CoreError::NotFound("request"));
        }
        self.audit
            .append(Record {
                actor,
                action: "privacy-request-closed",
                subject: Some(r.account),
                detail: format!("request={id} kind={} state={state}", r.kind),
            })
            .await?;
        let closed = self.store.privacy_request(id).await?.ok_or(CoreError::NotFound("request"))?;
        Ok(self.view(&closed, now))
    }
}
