//! Retained messages for the embedded broker: the latest `desired` of each device, in memory.
//!
//! rmqtt's default store accepts nothing (upstream ships storage as the `rmqtt-retainer`
//! plugin, which brings the plugin system along). This store keeps only server-published
//! `kk/v1/{uid}/desired` messages, so a device cannot park retained data on the broker. It is
//! lost on restart; the server republishes desired settings from its database (the device
//! shadow), which is the source of truth.

use std::time::Duration;

use async_trait::async_trait;
use rmqtt::Result;
use rmqtt::retain::{DefaultRetainStorage, RetainStorage};
use rmqtt::types::{Retain, TopicFilter, TopicName};

use crate::topics::{self, Outbound, TopicKind};

#[derive(Default)]
pub(super) struct DesiredStore {
    inner: DefaultRetainStorage,
}

#[async_trait]
impl RetainStorage for DesiredStore {
    fn enable(&self) -> bool {
        true
    }

    async fn set(
        &self,
        topic: &TopicName,
        retain: Retain,
        expiry_interval: Option<Duration>,
    ) -> Result<()> {
        match topics::parse(topic) {
            Some(t) if t.kind == TopicKind::Outbound(Outbound::Desired) => {
                self.inner.set_with_timeout(topic, retain, expiry_interval).await
            }
            _ => {
                tracing::debug!(%topic, "retained flag ignored");
                Ok(())
            }
        }
    }

    async fn get(&self, topic_filter: &TopicFilter) -> Result<Vec<(TopicName, Retain)>> {
        self.inner.get_message(topic_filter).await
    }

    async fn count(&self) -> isize {
        self.inner.count().await
    }

    async fn max(&self) -> isize {
        self.inner.max().await
    }
}
