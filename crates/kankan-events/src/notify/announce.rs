//! Announcements: a notice from the operator's staff to every user, in the app and by push
//! (policy IV: "promptly inform you of the basic situation of the security incident ... by
//! reasonable and effective means such as push notifications and announcements"). Sending stores the announcement; the app lists it
//! (`GET /api/v1/announcements`); the `announce` worker ([`AnnounceWorker`]) then queues one
//! sealed push delivery per browser subscription on the `notify-event` queue, a page of
//! [`PAGE`] subscriptions per step, moving the announcement's durable cursor after each page,
//! so a fan-out to any number of browsers holds a bounded amount in memory and goes on after a
//! restart (at least once: a crash between queueing a page and moving the cursor queues that
//! page again).

use std::sync::Arc;
use std::time::Duration;

pub use kankan_db::AnnouncementRow;
use kankan_worker::{Step, WorkError, Worker};
use tokio::sync::Notify;

use super::dispatch::{Channel, Dispatcher, Payload};
use crate::CoreError;

/// Subscriptions queued per step.
pub const PAGE: u32 = 200;
/// The longest title and body, in characters.
pub const MAX_TITLE: usize = 120;
pub const MAX_BODY: usize = 4000;
/// Announcements listed in the app.
pub const LIST_LIMIT: u32 = 50;
/// How often the worker looks for a fan-out left unfinished (another node's, or a crash's).
const POLL: Duration = Duration::from_secs(60);

/// The operator's announcements. Cheap to clone.
#[derive(Clone)]
pub struct Announcements {
    d: Dispatcher,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for Announcements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Announcements")
    }
}

fn check_text(what: &str, text: &str, max: usize) -> Result<String, CoreError> {
    let text = text.trim();
    let n = text.chars().count();
    if n == 0 || n > max || text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(CoreError::InvalidSettings {
            code: "invalid-announcement",
            message: format!("the {what} must be 1-{max} characters of text"),
        });
    }
    Ok(text.to_string())
}

impl Announcements {
    pub fn new(dispatcher: Dispatcher) -> Self {
        Announcements { d: dispatcher, wake: Arc::new(Notify::new()) }
    }

    /// Stores an announcement from `staff`; the worker pushes it to every subscribed browser.
    pub async fn send(
        &self,
        staff: &str,
        title: &str,
        body: &str,
    ) -> Result<AnnouncementRow, CoreError> {
        let row = AnnouncementRow {
            id: uuid::Uuid::now_v7(),
            title: check_text("title", title, MAX_TITLE)?,
            body: check_text("body", body, MAX_BODY)?,
            staff_id: staff.to_string(),
            created_at: self.d.inner.clock.now(),
            pushed_through: None,
            push_done_at: None,
        };
        self.d.inner.store.insert_announcement(&row).await?;
        self.wake.notify_one();
        Ok(row)
    }

    /// The newest announcements first.
    pub async fn list(&self) -> Result<Vec<AnnouncementRow>, CoreError> {
        Ok(self.d.inner.store.announcements(LIST_LIMIT).await?)
    }

    /// Queues the push deliveries of the next page of subscriptions of the oldest announcement
    /// not yet pushed to all; false when there is none.
    pub async fn push_step(&self) -> Result<bool, CoreError> {
        let s = &self.d.inner;
        let Some(a) = s.store.announcement_to_push().await? else { return Ok(false) };
        let page = s.store.push_subscriptions_after(a.pushed_through, PAGE).await?;
        let payload = Payload {
            title: a.title.clone(),
            body: a.body.clone(),
            event_id: a.id,
            device: String::new(),
            kind: "announcement".into(),
            at_ms: a.created_at.0,
            url: "#/announcements".into(),
            thumbnail: String::new(),
            label: None,
        };
        for sub in &page {
            self.d.enqueue(Channel::Push, sub.account_id, Some(sub.id), &payload).await?;
        }
        let through = page.last().map(|sub| sub.id).or(a.pushed_through);
        let done = (page.len() < PAGE as usize).then(|| s.clock.now());
        s.store.advance_announcement_push(a.id, through, done).await?;
        if !page.is_empty() {
            self.d.wake_runner();
        }
        Ok(true)
    }

    /// The fan-out worker.
    pub fn worker(&self) -> AnnounceWorker {
        AnnounceWorker { a: self.clone() }
    }
}

/// The `announce` worker: pushes each announcement to every subscribed browser, a page per
/// step; woken when one is sent, and looking again every minute.
pub struct AnnounceWorker {
    a: Announcements,
}

impl Worker for AnnounceWorker {
    fn name(&self) -> &'static str {
        "announce"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        Ok(if self.a.push_step().await? { Step::Busy } else { Step::Idle })
    }

    async fn wait_for_work(&mut self) {
        let clock = self.a.d.inner.clock.clone();
        tokio::select! {
            () = self.a.wake.notified() => {}
            () = clock.sleep(POLL) => {}
        }
    }
}
