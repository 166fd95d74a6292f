//! The support part of the `Store` contract: a ticket is stored with its first message and
//! its logs or not at all; messages only on open tickets; unread staff replies; the queue's
//! filters; unattached logs expire, attached ones live with the ticket; all of it goes with
//! the account.

use kankan_base::{StaffId, Timestamp};
use kankan_db::{DbError, LogRequestRow, TicketDeviceRow, TicketMessageRow, TicketRow};

use crate::devices::{T0, account};
use crate::store;

fn logs(id: &str, account: kankan_base::AccountId) -> LogRequestRow {
    LogRequestRow {
        id: id.into(),
        account_id: account,
        uid: "KKLOGS01".into(),
        state: "waiting".into(),
        text_enc: None,
        size_bytes: None,
        ticket_id: None,
        created_at: T0,
        expires_at: Timestamp(T0.0 + 86_400_000),
    }
}

fn ticket(account: kankan_base::AccountId) -> TicketRow {
    TicketRow {
        id: uuid::Uuid::now_v7(),
        account_id: account,
        category: "camera".into(),
        subject_enc: vec![1, 2, 3],
        state: "open".into(),
        device: Some(TicketDeviceRow {
            uid: "KKLOGS01".into(),
            model: Some("KK-C1".into()),
            firmware: Some("1.0.0".into()),
            online: true,
        }),
        assignee: None,
        created_at: T0,
        updated_at: T0,
        closed_at: None,
        user_read_through: None,
    }
}

fn message(t: &TicketRow, author: &str, at: i64) -> TicketMessageRow {
    TicketMessageRow {
        id: uuid::Uuid::now_v7(),
        ticket_id: t.id,
        author: author.into(),
        staff_id: (author == "staff").then(StaffId::new),
        body_enc: vec![9; 4],
        created_at: Timestamp(T0.0 + at),
    }
}

#[tokio::test]
async fn a_ticket_is_stored_whole_with_ready_logs_or_not_at_all() {
    let (s, _dir) = store().await;
    let (alice, bob) = (account(&*s, 1).await, account(&*s, 2).await);
    s.insert_log_request(&logs("req-1", alice)).await.expect("insert");
    // Not ready yet: the ticket is refused and nothing of it stays.
    let t = ticket(alice);
    let e = s.insert_ticket(&t, &message(&t, "user", 0), Some("req-1"), T0).await;
    assert!(matches!(e, Err(DbError::NotFound("device logs"))), "{e:?}");
    assert!(s.ticket(t.id).await.expect("q").is_none());
    assert!(!s.store_device_logs("req-1", "KKOTHER1", b"x", 1, T0).await.expect("q"), "other uid");
    assert!(s.store_device_logs("req-1", "KKLOGS01", b"sealed", 6, T0).await.expect("q"));
    assert!(!s.store_device_logs("req-1", "KKLOGS01", b"again", 5, T0).await.expect("q"), "once");
    // Bob cannot attach Alice's logs.
    let tb = ticket(bob);
    let e = s.insert_ticket(&tb, &message(&tb, "user", 0), Some("req-1"), T0).await;
    assert!(matches!(e, Err(DbError::NotFound(_))), "{e:?}");
    s.insert_ticket(&t, &message(&t, "user", 0), Some("req-1"), T0).await.expect("stored");
    let got = s.ticket(t.id).await.expect("q").expect("ticket");
    assert_eq!(got, t);
    let att = s.ticket_attachments(t.id).await.expect("q");
    assert_eq!((att.len(), att[0].size_bytes, att[0].ticket_id), (1, Some(6), Some(t.id)));
    assert_eq!(s.tickets_opened_since(alice, T0).await.expect("q"), 1);
}

#[tokio::test]
async fn messages_go_to_open_tickets_and_staff_replies_count_until_read() {
    let (s, _dir) = store().await;
    let alice = account(&*s, 1).await;
    let t = ticket(alice);
    s.insert_ticket(&t, &message(&t, "user", 0), None, T0).await.expect("stored");
    assert!(s.add_ticket_message(&message(&t, "staff", 10)).await.expect("q"));
    assert!(s.add_ticket_message(&message(&t, "staff", 20)).await.expect("q"));
    let mine = s.tickets_of(alice).await.expect("q");
    assert_eq!((mine.len(), mine[0].1), (1, 2), "two unread staff replies");
    let thread = s.ticket_messages(t.id).await.expect("q");
    s.mark_ticket_read(t.id, thread[1].id).await.expect("read");
    s.mark_ticket_read(t.id, thread[0].id).await.expect("never back");
    assert_eq!(s.tickets_of(alice).await.expect("q")[0].1, 1);
    assert_eq!(s.ticket_messages(t.id).await.expect("q").len(), 3);
    let staff = StaffId::new();
    assert!(s.assign_ticket(t.id, staff, Timestamp(T0.0 + 30)).await.expect("q"));
    let queue = s.ticket_queue(Some("open"), Some(staff), 10).await.expect("q");
    assert_eq!(queue.len(), 1);
    assert!(s.ticket_queue(Some("closed"), None, 10).await.expect("q").is_empty());
    assert!(s.ticket_queue(None, Some(StaffId::new()), 10).await.expect("q").is_empty());
    assert!(s.close_ticket(t.id, Timestamp(T0.0 + 40)).await.expect("q"));
    assert!(!s.close_ticket(t.id, Timestamp(T0.0 + 41)).await.expect("q"), "once");
    assert!(!s.add_ticket_message(&message(&t, "user", 50)).await.expect("q"), "closed");
    assert_eq!(s.ticket_queue(Some("closed"), None, 10).await.expect("q").len(), 1);
}

#[tokio::test]
async fn unattached_logs_expire_and_everything_goes_with_the_account() {
    let (s, _dir) = store().await;
    let alice = account(&*s, 1).await;
    s.insert_log_request(&logs("loose", alice)).await.expect("insert");
    s.insert_log_request(&logs("kept", alice)).await.expect("insert");
    assert!(s.store_device_logs("kept", "KKLOGS01", b"sealed", 6, T0).await.expect("q"));
    let t = ticket(alice);
    s.insert_ticket(&t, &message(&t, "user", 0), Some("kept"), T0).await.expect("stored");
    let later = Timestamp(T0.0 + 86_400_000);
    assert!(!s.store_device_logs("loose", "KKLOGS01", b"late", 4, later).await.expect("q"));
    assert_eq!(s.expire_log_requests(later).await.expect("expire"), 1);
    assert!(s.log_request("loose").await.expect("q").is_none());
    assert!(s.log_request("kept").await.expect("q").is_some());
    assert!(s.fail_log_request("kept").await.is_ok());
    sqlx_delete_account(&*s, alice).await;
    assert!(s.ticket(t.id).await.expect("q").is_none());
    assert!(s.log_request("kept").await.expect("q").is_none());
    assert!(s.ticket_messages(t.id).await.expect("q").is_empty());
}

/// Deletes the account row as the purge does (`finish_purge` after the shred).
async fn sqlx_delete_account(s: &dyn kankan_db::Store, a: kankan_base::AccountId) {
    use kankan_db::{DeletionReason, DeletionReceipt};
    let now = Timestamp(T0.0 + 100);
    let receipt = DeletionReceipt {
        id: uuid::Uuid::now_v7(),
        token_hash: vec![5; 32],
        reason: DeletionReason::Operator,
        shredded_at: now,
        purged_at: None,
        counts: vec![],
        expires_at: Timestamp(now.0 + 86_400_000),
    };
    assert!(s.shred_account(a, &receipt, now).await.expect("shred"));
    for p in s.pending_purges(100).await.expect("purges") {
        s.finish_purge(&p, now).await.expect("purge");
    }
}
