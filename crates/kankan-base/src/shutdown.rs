//! Graceful shutdown: one sender held by the server, a cloneable receiver in every task.

use tokio::sync::watch;

/// Held by whoever decides to stop; dropping it also signals shutdown.
#[derive(Debug)]
pub struct Shutdown {
    tx: watch::Sender<bool>,
}

/// Held by every long-running task.
#[derive(Debug, Clone)]
pub struct ShutdownSignal {
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    pub fn new() -> (Shutdown, ShutdownSignal) {
        let (tx, rx) = watch::channel(false);
        (Shutdown { tx }, ShutdownSignal { rx })
    }

    /// Another receiver for a task started later.
    pub fn signal(&self) -> ShutdownSignal {
        ShutdownSignal { rx: self.tx.subscribe() }
    }

    pub fn trigger(&self) {
        let _ = self.tx.send(true);
    }
}

impl ShutdownSignal {
    /// Resolves once shutdown has been asked for (or its sender is gone).
    pub async fn wait(&mut self) {
        let _ = self.rx.wait_for(|stop| *stop).await;
    }

    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_returns_after_trigger() {
        let (s, mut sig) = Shutdown::new();
        assert!(!sig.is_triggered());
        s.trigger();
        sig.wait().await;
        assert!(sig.is_triggered());
    }
}
