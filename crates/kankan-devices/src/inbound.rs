//! Messages from devices about the device itself (state, acknowledgements, claims, presence),
//! with the UID the gateway authenticated; the server's inbound router hands them here (and
//! `event` messages to the events service). A malformed message is refused with a reason (the
//! router counts and logs it) and never stops anything.

use kankan_crypto::TokenHash;
use kankan_db::{CommandStatus, DbError};
use kankan_protocol::device::{self, Ack, Claim, ClaimResult, Desired, StateReport};

use super::{Devices, Outgoing};
use crate::CoreError;

/// Which device topic a message came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundKind {
    State,
    Ack,
    Claim,
    /// `online` / `offline` (also the last will).
    Presence,
}

fn bad(what: &str, why: String) -> CoreError {
    CoreError::InvalidDeviceInput(format!("{what}: {why}"))
}

impl Devices {
    pub async fn handle_inbound(
        &self,
        uid: &str,
        kind: InboundKind,
        payload: &[u8],
    ) -> Result<(), CoreError> {
        match kind {
            InboundKind::State => self.on_state(uid, payload).await,
            InboundKind::Ack => self.on_ack(uid, payload).await,
            InboundKind::Claim => self.on_claim(uid, payload).await,
            InboundKind::Presence => {
                let online = match payload {
                    b"online" => true,
                    b"offline" => false,
                    _ => return Err(bad("presence", "expected online or offline".into())),
                };
                self.inner.store.set_presence(uid, online, self.inner.clock.now()).await?;
                if online {
                    self.resend_desired(uid).await?;
                    // A rotation the device has not confirmed yet goes out again.
                    if let Err(e) = self.resend_rotation(uid).await {
                        tracing::warn!(uid, error = %e, "pending secret rotation not resent");
                    }
                }
                Ok(())
            }
        }
    }

    /// Sends the stored desired settings again (the broker's retained copy does not survive
    /// a server restart), so a device coming online always converges.
    async fn resend_desired(&self, uid: &str) -> Result<(), CoreError> {
        let Some(desired) = self.stored_desired(uid).await? else { return Ok(()) };
        self.inner.bus.send(uid, Outgoing::Desired(desired)).await
    }

    /// The settings the owner last set for a bound device (opened with the owner's key);
    /// `None` for an unbound device or one still on its factory settings.
    pub async fn stored_desired(&self, uid: &str) -> Result<Option<Desired>, CoreError> {
        let s = &self.inner;
        let Some(device) = s.store.device(uid).await? else { return Ok(None) };
        let (Some(owner), Some(st)) = (device.owner, s.store.device_state(uid).await?) else {
            return Ok(None);
        };
        let Some(enc) = st.desired_enc else { return Ok(None) };
        let key = s.vault.account_key(owner).await?.ok_or(CoreError::DeviceNotFound)?;
        let json = key.open(&format!("device-desired/{uid}"), &enc)?;
        let settings = serde_json::from_slice(&json)
            .map_err(|e| CoreError::Internal(format!("stored settings: {e}")))?;
        Ok(Some(Desired { version: st.desired_version, settings }))
    }

    async fn on_state(&self, uid: &str, payload: &[u8]) -> Result<(), CoreError> {
        let s = &self.inner;
        let report: StateReport = device::decode(payload).map_err(|e| bad("state", e))?;
        report.settings.validate().map_err(|e| bad("state", e.to_string()))?;
        let Some(device) = s.store.device(uid).await? else { return Ok(()) };
        // A rotation started while the device was connected (by the operator's command, from
        // another process) reaches it with its next report.
        if let Err(e) = self.resend_rotation(uid).await {
            tracing::warn!(uid, error = %e, "pending secret rotation not resent");
        }
        let Some(owner) = device.owner else {
            // Unbound devices may connect to claim; their state belongs to nobody yet.
            return Ok(());
        };
        let key = s.vault.account_key(owner).await?.ok_or(CoreError::DeviceNotFound)?;
        let json = serde_json::to_vec(&report).map_err(|e| CoreError::Internal(e.to_string()))?;
        let sealed = key.seal(&format!("device-reported/{uid}"), &json)?;
        s.store.put_reported(uid, &sealed, report.settings_version, s.clock.now()).await?;
        Ok(())
    }

    async fn on_ack(&self, uid: &str, payload: &[u8]) -> Result<(), CoreError> {
        let s = &self.inner;
        let ack: Ack = device::decode(payload).map_err(|e| bad("ack", e))?;
        let status = if ack.ok { CommandStatus::Succeeded } else { CommandStatus::Failed };
        let error = ack.error.as_deref().map(|e| e.chars().take(200).collect::<String>());
        let settled =
            s.store.finish_command(ack.id, uid, status, error.as_deref(), s.clock.now()).await?;
        if settled {
            let waiter = s.waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(&ack.id);
            if let Some(tx) = waiter {
                let _ = tx.send(super::CommandOutcome { id: ack.id, status, error });
            }
        }
        Ok(())
    }

    async fn on_claim(&self, uid: &str, payload: &[u8]) -> Result<(), CoreError> {
        let s = &self.inner;
        let claim: Claim = device::decode(payload).map_err(|e| bad("claim", e))?;
        let hash = TokenHash::of(claim.token.trim()).0;
        let mut rotate = false;
        let result = match s.store.claim_device(&hash, uid, s.clock.now()).await {
            Ok(account) => {
                tracing::info!(uid, %account, "device bound");
                rotate = true;
                ClaimResult { ok: true, code: None }
            }
            Err(DbError::NotFound(_)) => {
                ClaimResult { ok: false, code: Some("invalid-token".into()) }
            }
            Err(DbError::Conflict(_)) => {
                ClaimResult { ok: false, code: Some("already-bound".into()) }
            }
            Err(e) => return Err(e.into()),
        };
        s.bus.send(uid, Outgoing::ClaimResult(result)).await?;
        if rotate && s.rotation.load(std::sync::atomic::Ordering::SeqCst) {
            // A new binding rotates the secret: whoever knew the old one (a previous owner,
            // the label, the factory) cannot act as this device in the new owner's account.
            if let Err(e) = self.rotate_secret(uid).await {
                tracing::error!(uid, error = %e, "secret rotation of a new binding not started");
            }
        }
        Ok(())
    }
}
