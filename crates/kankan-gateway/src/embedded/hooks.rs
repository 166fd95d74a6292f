//! rmqtt hook handlers: login, topic rules, device messages and presence.
//!
//! Every answer ends the hook chain (`proceed = false`), so no other handler can loosen it.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use rmqtt::codec::types::QoS;
use rmqtt::codec::v5::SubscribeAckReason;
use rmqtt::hook::{Handler, HookResult, Parameter, ReturnType};
use rmqtt::session::Session;
use rmqtt::types::{
    AuthResult, ConnectInfo, FromType, LastWill, Publish, PublishAclResult, Subscribe,
    SubscribeAclResult,
};

use super::State;
use crate::DeviceMessage;
use crate::stats::bump;
use crate::topics::{self, Inbound, MAX_PAYLOAD_BYTES, Refusal};

pub(super) struct Hooks {
    state: Arc<State>,
}

impl Hooks {
    pub fn new(state: Arc<State>) -> Self {
        Hooks { state }
    }
}

#[async_trait]
impl Handler for Hooks {
    async fn hook(&self, param: &Parameter, acc: Option<HookResult>) -> ReturnType {
        match param {
            Parameter::ClientAuthenticate(ci) => {
                (false, Some(HookResult::AuthResult(self.authenticate(ci).await)))
            }
            Parameter::ClientSubscribeCheckAcl(s, sub) => {
                (false, Some(HookResult::SubscribeAclResult(self.check_subscribe(s, sub))))
            }
            Parameter::MessagePublishCheckAcl(s, p) => {
                (false, Some(HookResult::PublishAclResult(self.check_publish(s, p).await)))
            }
            Parameter::MessagePublish(Some(s), from, p)
                if matches!(from.typ(), FromType::LastWill) =>
            {
                self.last_will(s, p).await;
                (true, acc)
            }
            Parameter::ClientConnected(s) => {
                let uid = device_uid(s);
                self.state.connected(uid, &s.id);
                tracing::debug!(uid, "device connected");
                self.presence(uid, "online").await;
                (true, acc)
            }
            Parameter::ClientDisconnected(s, reason) => {
                let uid = device_uid(s);
                if self.state.disconnected(uid, &s.id) {
                    tracing::debug!(uid, %reason, "device disconnected");
                    self.presence(uid, "offline").await;
                } else {
                    tracing::debug!(uid, %reason, "superseded connection closed");
                }
                (true, acc)
            }
            _ => (true, acc),
        }
    }
}

/// The uid of a session; login made client id = username = a valid uid.
fn device_uid(s: &Session) -> &str {
    &s.id.client_id
}

/// Why a login is refused, for the log.
fn refuse(state: &State, uid: &str, why: &'static str, result: AuthResult) -> AuthResult {
    bump(&state.inbox.counters.auth_failures);
    // Attacker-chosen strings are logged with `?` (escaped).
    tracing::info!(uid = ?uid, why, "device login refused");
    result
}

impl Hooks {
    async fn authenticate(&self, ci: &ConnectInfo) -> AuthResult {
        let st = &*self.state;
        let uid: &str = ci.client_id();
        let Some(username) = ci.username() else {
            return refuse(st, uid, "anonymous", AuthResult::NotAuthorized);
        };
        if **username != *uid {
            return refuse(st, uid, "client id differs from username", AuthResult::NotAuthorized);
        }
        if !topics::is_valid_uid(uid) {
            return refuse(st, uid, "not a device uid", AuthResult::BadUsernameOrPassword);
        }
        if let Some(will) = ci.last_will() {
            let (topic, len): (&str, usize) = match will {
                LastWill::V3(w) => (&w.topic, w.message.len()),
                LastWill::V5(w) => (&w.topic, w.message.len()),
            };
            if topics::check_publish(uid, topic).is_err() {
                bump(&st.inbox.counters.denied_acl);
                return refuse(
                    st,
                    uid,
                    "last will on a topic the device may not publish",
                    AuthResult::NotAuthorized,
                );
            }
            if len > MAX_PAYLOAD_BYTES {
                return refuse(st, uid, "last will too large", AuthResult::NotAuthorized);
            }
        }
        let secret = ci.password().and_then(|p| std::str::from_utf8(p).ok());
        let Some(secret) = secret else {
            return refuse(st, uid, "no secret", AuthResult::BadUsernameOrPassword);
        };
        if st.auth.authenticate(uid, secret).await {
            AuthResult::Allow(false, None)
        } else {
            refuse(st, uid, "wrong secret", AuthResult::BadUsernameOrPassword)
        }
    }

    fn check_subscribe(&self, s: &Session, sub: &Subscribe) -> SubscribeAclResult {
        let uid = device_uid(s);
        if topics::may_subscribe(uid, &sub.topic_filter) {
            // QoS 1 at most: that is what the server publishes with.
            SubscribeAclResult::new_success(QoS::AtLeastOnce, None)
        } else {
            bump(&self.state.inbox.counters.denied_acl);
            tracing::info!(uid, filter = ?sub.topic_filter, "subscription denied");
            SubscribeAclResult::new_failure(SubscribeAckReason::NotAuthorized)
        }
    }

    /// Decides a device's publish and, when allowed, hands it to the server.
    ///
    /// The message is taken here rather than in `MessagePublish` because rmqtt runs that hook
    /// before this check. Refusals do not disconnect: QoS 1 gets a (v5: negative) PUBACK.
    async fn check_publish(&self, s: &Session, p: &Publish) -> PublishAclResult {
        let counters = &self.state.inbox.counters;
        let uid = device_uid(s);
        let kind = match topics::check_publish(uid, &p.topic) {
            Ok(kind) => kind,
            Err(refusal) => {
                bump(match refusal {
                    Refusal::Malformed => &counters.rejected_malformed,
                    Refusal::Denied => &counters.denied_acl,
                });
                tracing::info!(uid, topic = ?p.topic, ?refusal, "publish refused");
                return PublishAclResult::rejected(false, None);
            }
        };
        if p.payload.len() > MAX_PAYLOAD_BYTES {
            bump(&counters.rejected_oversized);
            tracing::info!(uid, size = p.payload.len(), "oversized publish dropped");
            return PublishAclResult::rejected(false, None);
        }
        if kind == Inbound::Presence {
            // The broker's own view of the connection is authoritative here; a device's
            // `presence` (or a late last will after a reconnect) would only race with it.
            return PublishAclResult::allow();
        }
        self.deliver(uid, kind, p.payload.clone()).await;
        PublishAclResult::allow()
    }

    /// A last will being published: its topic was checked at CONNECT.
    async fn last_will(&self, s: &Session, p: &Publish) {
        let uid = device_uid(s);
        match topics::check_publish(uid, &p.topic) {
            Ok(Inbound::Presence) => {}
            Ok(kind) if p.payload.len() <= MAX_PAYLOAD_BYTES => {
                self.deliver(uid, kind, p.payload.clone()).await;
            }
            _ => tracing::warn!(uid, topic = ?p.topic, "unexpected last will ignored"),
        }
    }

    async fn presence(&self, uid: &str, status: &'static str) {
        self.deliver(uid, Inbound::Presence, Bytes::from_static(status.as_bytes())).await;
    }

    async fn deliver(&self, uid: &str, kind: Inbound, payload: Bytes) {
        let msg = DeviceMessage { uid: uid.to_string(), kind, payload };
        // This is the device's own connection: over its pace, it waits.
        self.state.inbox.deliver_paced(msg).await;
    }
}
