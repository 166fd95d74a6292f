//! A bounded pool of worker threads for inference: a fixed number of threads and a queue of
//! fixed length; a job that finds the queue full is refused ([`Busy`]) and counted, so many
//! cameras degrade by skipping frames instead of piling up work.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::VisionError;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The pool was full: the job was not queued (and counted in [`Pool::skipped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the vision pool is busy: job skipped")]
pub struct Busy;

/// Worker threads taking jobs from a bounded queue.
#[derive(Debug)]
pub struct Pool {
    sender: Option<SyncSender<Job>>,
    threads: Vec<JoinHandle<()>>,
    skipped: AtomicU64,
    done: Arc<AtomicU64>,
}

impl Pool {
    /// `workers` threads (at least 1) and room for `queue` jobs waiting for them (0: a job is
    /// accepted only when a worker is idle).
    pub fn new(workers: usize, queue: usize) -> Result<Pool, VisionError> {
        if workers == 0 {
            return Err(VisionError::InvalidSetting("the pool needs at least one worker".into()));
        }
        let (sender, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let done = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::with_capacity(workers);
        for i in 0..workers {
            let receiver = receiver.clone();
            let t = std::thread::Builder::new()
                .name(format!("kankan-vision-{i}"))
                .spawn(move || work(&receiver))
                .map_err(|e| VisionError::InvalidSetting(format!("cannot start a worker: {e}")))?;
            threads.push(t);
        }
        Ok(Pool { sender: Some(sender), threads, skipped: AtomicU64::new(0), done })
    }

    /// Queues `job` if there is room; its result comes through the returned future. A panic in
    /// the job is raised again where the future is awaited.
    pub fn try_run<T, F>(&self, job: F) -> Result<impl Future<Output = T> + Send + use<T, F>, Busy>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let done = self.done.clone();
        let boxed: Job = Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(job));
            // Counted before the result is handed over, so an awaiter sees it counted.
            done.fetch_add(1, Ordering::Relaxed);
            let _ = tx.send(result);
        });
        let sent = match &self.sender {
            Some(s) => s.try_send(boxed),
            None => Err(TrySendError::Disconnected(boxed)),
        };
        if sent.is_err() {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return Err(Busy);
        }
        Ok(async move {
            match rx.await {
                Ok(Ok(value)) => value,
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
                // The worker keeps the sender until the job has run: it cannot vanish first.
                Err(_) => unreachable!("a queued vision job was dropped without running"),
            }
        })
    }

    /// Jobs refused because the pool was full, since it started.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Jobs run to the end (or to a panic), since it started.
    pub fn completed(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    pub fn workers(&self) -> usize {
        self.threads.len()
    }
}

fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, not while running it.
        let job = match receiver.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return, // the pool was dropped and the queue is empty
        }
    }
}

impl Drop for Pool {
    /// Lets the queued jobs finish, then joins the workers.
    fn drop(&mut self) {
        self.sender = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
