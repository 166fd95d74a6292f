//! Commands: sent with an id and a deadline, settled by the device's acknowledgement.

use std::time::Duration;

use kankan_db::{CommandStatus, DeviceCommand};
use kankan_protocol::device::{Command, CommandKind};

use super::{DeviceHandle, Devices, Outgoing};
use crate::CoreError;
use kankan_core::authz::Capability;

/// How long a device has to act on a command.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(30);
/// With several nodes on one database: how often a command waiting for its acknowledgement
/// looks whether another node, which the device's answer reached, settled it.
const ACK_POLL: Duration = Duration::from_millis(200);

/// Where a command stands.
#[derive(Debug, Clone)]
pub struct CommandOutcome {
    pub id: uuid::Uuid,
    pub status: CommandStatus,
    pub error: Option<String>,
}

impl Devices {
    /// Sends a command and waits up to `wait` for its acknowledgement; a command still
    /// pending after that is answered as `Sent` and can be polled with [`Devices::command`].
    /// The handle must hold what the command needs ([`Capability::for_command`]).
    pub async fn send_command(
        &self,
        h: &DeviceHandle,
        kind: CommandKind,
        wait: Duration,
    ) -> Result<CommandOutcome, CoreError> {
        h.require(Capability::for_command(&kind))?;
        self.send_to(&h.device.uid, kind, wait).await
    }

    /// [`Devices::send_command`] for the server's own needs (stopping an on-demand stream
    /// nobody watches), where no principal acts.
    pub async fn send_to(
        &self,
        uid: &str,
        kind: CommandKind,
        wait: Duration,
    ) -> Result<CommandOutcome, CoreError> {
        let s = &self.inner;
        kind.validate().map_err(CoreError::InvalidCommand)?;
        let now = s.clock.now();
        let id = uuid::Uuid::now_v7();
        // A Wi-Fi change keeps nothing of its sealed network here.
        let args_json = kind.args_for_log().map_err(|e| CoreError::Internal(e.to_string()))?;
        let name = serde_json::to_value(&kind)
            .ok()
            .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(String::from))
            .unwrap_or_default();
        let deadline = now.plus(COMMAND_DEADLINE);
        let row = DeviceCommand {
            id,
            uid: uid.to_string(),
            name,
            args_json,
            status: CommandStatus::Sent,
            error: None,
            created_at: now,
            deadline,
            finished_at: None,
        };
        s.store.insert_command(&row).await?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        s.waiting.lock().unwrap_or_else(|p| p.into_inner()).insert(id, tx);
        let msg = Command { id, command: kind, deadline_ms: deadline.0 };
        if let Err(e) = s.bus.send(uid, Outgoing::Command(msg)).await {
            s.waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
            s.store.finish_command(id, uid, CommandStatus::Failed, Some("gateway"), now).await?;
            return Err(e);
        }
        // With several nodes the device's acknowledgement may reach another node, which
        // settles the row: look at it now and then too.
        let settled_elsewhere = async {
            if !s.store.is_shared() {
                return std::future::pending().await;
            }
            loop {
                tokio::time::sleep(ACK_POLL).await;
                match s.store.command(id).await {
                    Ok(Some(c)) if c.status != CommandStatus::Sent => {
                        return CommandOutcome { id, status: c.status, error: c.error };
                    }
                    _ => {}
                }
            }
        };
        let outcome = tokio::time::timeout(wait, async {
            tokio::select! {
                r = rx => r.ok(),
                o = settled_elsewhere => Some(o),
            }
        });
        match outcome.await {
            Ok(Some(outcome)) => {
                s.waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                Ok(outcome)
            }
            _ => {
                s.waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                self.command_of(uid, id).await
            }
        }
    }

    /// A command of this device (`view`); one past its deadline without an answer is timed
    /// out.
    pub async fn command(
        &self,
        h: &DeviceHandle,
        id: uuid::Uuid,
    ) -> Result<CommandOutcome, CoreError> {
        h.require(Capability::View)?;
        self.command_of(&h.device.uid, id).await
    }

    /// A command the server sent on its own ([`Devices::send_to`]), where no principal acts.
    pub async fn command_sent(
        &self,
        uid: &str,
        id: uuid::Uuid,
    ) -> Result<CommandOutcome, CoreError> {
        self.command_of(uid, id).await
    }

    async fn command_of(&self, uid: &str, id: uuid::Uuid) -> Result<CommandOutcome, CoreError> {
        let s = &self.inner;
        let c = s.store.command(id).await?.filter(|c| c.uid == uid);
        let c = c.ok_or(CoreError::NotFound("command"))?;
        let now = s.clock.now();
        if c.status == CommandStatus::Sent && now > c.deadline {
            s.store.finish_command(id, &c.uid, CommandStatus::TimedOut, None, now).await?;
            return Ok(CommandOutcome { id, status: CommandStatus::TimedOut, error: None });
        }
        Ok(CommandOutcome { id, status: c.status, error: c.error })
    }
}
