//! What the supervisor knows about each worker, shared with `/metrics` and the admin API.

use std::sync::Arc;

use kankan_base::Timestamp;
use tokio::sync::watch;

/// Where a worker is in its loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerState {
    /// In a step of work.
    Running,
    /// Waiting for work.
    Idle,
    /// Waiting, after a failure, before it is run again.
    BackingOff,
    /// Finished or stopped at shutdown.
    Stopped,
}

impl WorkerState {
    /// The wire name: `running`, `idle`, `backing-off`, `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerState::Running => "running",
            WorkerState::Idle => "idle",
            WorkerState::BackingOff => "backing-off",
            WorkerState::Stopped => "stopped",
        }
    }
}

/// One worker as the supervisor sees it.
#[derive(Debug, Clone)]
pub struct WorkerStatus {
    pub name: &'static str,
    pub state: WorkerState,
    /// Times it was run again after a failed or panicking step.
    pub restarts: u64,
    /// Failures in a row (0 once a step succeeds).
    pub failures: u32,
    /// The latest failure or panic, kept after it recovers.
    pub last_error: Option<String>,
    /// When its latest successful step ended.
    pub last_run_at: Option<Timestamp>,
    /// While backing off: when it runs again.
    pub retry_at: Option<Timestamp>,
}

/// The status table of every supervised worker, in the order they were started. Cheap to
/// clone; readers see each change as it is made and can wait for one.
#[derive(Debug, Clone)]
pub struct Workers {
    table: Arc<watch::Sender<Vec<WorkerStatus>>>,
}

impl Default for Workers {
    fn default() -> Self {
        Workers { table: Arc::new(watch::Sender::new(Vec::new())) }
    }
}

impl Workers {
    /// Every worker's status now.
    pub fn list(&self) -> Vec<WorkerStatus> {
        self.table.borrow().clone()
    }

    /// One worker's status, by name.
    pub fn get(&self, name: &str) -> Option<WorkerStatus> {
        self.table.borrow().iter().find(|w| w.name == name).cloned()
    }

    /// Waits until worker `name` is there and `pred` holds for it; its status then.
    pub async fn wait_for(&self, name: &str, pred: impl Fn(&WorkerStatus) -> bool) -> WorkerStatus {
        let mut rx = self.table.subscribe();
        let found = |t: &Vec<WorkerStatus>| t.iter().any(|w| w.name == name && pred(w));
        // The sender lives in `self`: the wait ends only when the condition holds.
        let _ = rx.wait_for(found).await;
        let status = self.get(name);
        status.expect("wait_for saw it, and workers are never removed")
    }

    /// Adds a worker; the index to update it with.
    pub(crate) fn add(&self, name: &'static str) -> usize {
        let mut index = 0;
        self.table.send_modify(|t| {
            t.push(WorkerStatus {
                name,
                state: WorkerState::Running,
                restarts: 0,
                failures: 0,
                last_error: None,
                last_run_at: None,
                retry_at: None,
            });
            index = t.len() - 1;
        });
        index
    }

    pub(crate) fn update(&self, index: usize, f: impl FnOnce(&mut WorkerStatus)) {
        self.table.send_modify(|t| {
            if let Some(w) = t.get_mut(index) {
                f(w);
            }
        });
    }
}
