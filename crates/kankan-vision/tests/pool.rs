//! The bounded pool: results come back, a full pool refuses and counts, panics reach the
//! awaiter only.

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use kankan_vision::{Busy, Pool};

#[tokio::test]
async fn jobs_run_on_the_workers_and_return_their_results() {
    let pool = Pool::new(2, 6).expect("pool");
    let jobs: Vec<_> = (0..6u64).map(|i| pool.try_run(move || i * i).expect("room")).collect();
    let mut results = Vec::new();
    for j in jobs {
        results.push(j.await);
    }
    assert_eq!(results, vec![0, 1, 4, 9, 16, 25]);
    assert_eq!(pool.skipped(), 0);
    assert_eq!(pool.workers(), 2);
}

#[tokio::test]
async fn a_full_pool_refuses_jobs_and_counts_them_as_skipped() {
    let pool = Pool::new(1, 1).expect("pool");
    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    // The worker takes the first job and blocks in it.
    let first = pool
        .try_run(move || {
            started_tx.send(()).expect("test alive");
            release_rx.recv().expect("released");
            "first"
        })
        .expect("an idle worker");
    started.recv_timeout(Duration::from_secs(30)).expect("the first job started");
    // The queue has room for one more.
    let second = pool.try_run(|| "second").expect("room in the queue");
    // Worker busy, queue full: refused, counted.
    for _ in 0..3 {
        assert_eq!(pool.try_run(|| "third").err(), Some(Busy));
    }
    assert_eq!(pool.skipped(), 3);
    release.send(()).expect("worker alive");
    assert_eq!(first.await, "first");
    assert_eq!(second.await, "second");
    // Room again.
    assert_eq!(pool.try_run(|| 7).expect("room").await, 7);
    assert_eq!(pool.skipped(), 3);
}

#[tokio::test]
async fn a_queue_of_zero_takes_a_job_only_when_a_worker_is_idle() {
    let pool = Pool::new(1, 0).expect("pool");
    let (release, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(Mutex::new(release_rx));
    // The worker thread may not be waiting yet right after `new`: poll with a deadline.
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = loop {
        let rx = release_rx.clone();
        match pool.try_run(move || {
            rx.lock().expect("lock").recv().expect("released");
            1
        }) {
            Ok(f) => break f,
            Err(Busy) => {
                assert!(Instant::now() < deadline, "the idle worker never took a job");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    };
    // The only worker is busy (or about to be) and there is no queue: refused.
    let before = pool.skipped();
    assert_eq!(pool.try_run(|| 2).err(), Some(Busy));
    assert_eq!(pool.skipped(), before + 1);
    release.send(()).expect("worker alive");
    assert_eq!(first.await, 1);
}

#[tokio::test]
async fn a_panicking_job_panics_its_awaiter_and_the_pool_keeps_working() {
    let pool = Pool::new(1, 2).expect("pool");
    let bad = pool.try_run(|| -> u32 { panic!("bad frame") }).expect("room");
    let awaited = tokio::spawn(bad).await;
    assert!(awaited.expect_err("the awaiter panicked").is_panic());
    assert_eq!(pool.try_run(|| 5).expect("room").await, 5);
    assert_eq!(pool.completed(), 2);
}

#[test]
fn a_pool_without_workers_is_refused_with_a_code() {
    let e = Pool::new(0, 4).expect_err("no workers");
    assert_eq!(e.code(), "vision-setting-invalid");
}
