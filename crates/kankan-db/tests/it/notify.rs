//! Notification rows: subscriptions replace by endpoint and stay with their account, settings
//! round-trip, webhooks are scoped, deliveries go with their event, server secrets are set once.

use kankan_base::Timestamp;
use kankan_db::{
    Delivery, DeliveryStatus, DeviceNotificationRow, Event, EventKind, NotificationSettingsRow,
    PushSubscriptionRow, WebhookRow,
};

use crate::devices::{T0, account, bound};
use crate::store;

fn event(owner: kankan_base::AccountId, created_ms: i64) -> Event {
    let at = Timestamp(T0.0 + created_ms);
    Event {
        id: uuid::Uuid::now_v7(),
        account_id: owner,
        uid: "KKNOTIFY0001".into(),
        kind: EventKind::Motion,
        started_at: at,
        ended_at: None,
        zone: None,
        read_at: None,
        created_at: at,
        clip_from: at,
        clip_to: at,
        thumbnail: false,
        verdict: None,
        hold_alert: false,
        sighting: None,
    }
}

fn sub(owner: kankan_base::AccountId, endpoint: u8, enc: u8) -> PushSubscriptionRow {
    PushSubscriptionRow {
        id: uuid::Uuid::now_v7(),
        account_id: owner,
        endpoint_index: vec![endpoint; 32],
        sub_enc: vec![enc; 40],
        created_at: T0,
    }
}

#[tokio::test]
async fn the_same_endpoint_subscribing_again_replaces_its_row_and_accounts_stay_apart() {
    let (s, _d) = store().await;
    let (a, b) = (account(s.as_ref(), 1).await, account(s.as_ref(), 2).await);
    let first = s.put_push_subscription(&sub(a, 7, 1)).await.expect("put");
    let again = s.put_push_subscription(&sub(a, 7, 2)).await.expect("again");
    assert_eq!(first, again, "the row in force keeps its id");
    let theirs = s.put_push_subscription(&sub(b, 7, 3)).await.expect("other account");
    assert_ne!(theirs, first);
    let mine = s.push_subscriptions(a).await.expect("list");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].sub_enc, vec![2; 40], "the new keys replaced the old");
    assert!(!s.delete_push_subscription(b, &[9; 32]).await.expect("unknown endpoint"));
    assert!(s.delete_push_subscription(a, &[7; 32]).await.expect("delete mine"));
    assert!(s.push_subscriptions(a).await.expect("list").is_empty());
    assert_eq!(s.push_subscriptions(b).await.expect("theirs").len(), 1, "theirs stays");
    assert!(s.delete_push_subscription_by_id(theirs).await.expect("gone"));
    assert!(s.push_subscription(theirs).await.expect("read").is_none());
}

#[tokio::test]
async fn notification_settings_round_trip_per_account_and_per_device() {
    let (s, _d) = store().await;
    let a = account(s.as_ref(), 1).await;
    assert!(s.notification_settings(a).await.expect("none").is_none());
    let set = NotificationSettingsRow {
        method: "email".into(),
        quiet_hours: Some((22 * 60, 7 * 60)),
        time_zone: "Europe/Berlin".into(),
    };
    s.put_notification_settings(a, &set, T0).await.expect("put");
    let set2 = NotificationSettingsRow { quiet_hours: None, ..set.clone() };
    s.put_notification_settings(a, &set2, T0).await.expect("put again");
    assert_eq!(s.notification_settings(a).await.expect("get"), Some(set2));

    let dev = DeviceNotificationRow {
        kinds: vec!["press".into(), "tamper".into()],
        snoozed_until: Some(Timestamp(T0.0 + 60_000)),
    };
    s.put_device_notification_settings(a, "KKNOTIFY0001", &dev).await.expect("put dev");
    assert_eq!(s.device_notification_settings(a, "KKNOTIFY0001").await.expect("get"), Some(dev));
    let none = DeviceNotificationRow { kinds: vec![], snoozed_until: None };
    s.put_device_notification_settings(a, "KKNOTIFY0001", &none).await.expect("put none");
    assert_eq!(s.device_notification_settings(a, "KKNOTIFY0001").await.expect("get"), Some(none));
    let b = account(s.as_ref(), 2).await;
    assert!(s.device_notification_settings(b, "KKNOTIFY0001").await.expect("b").is_none());
}

#[tokio::test]
async fn webhooks_are_listed_and_deleted_only_by_their_account() {
    let (s, _d) = store().await;
    let (a, b) = (account(s.as_ref(), 1).await, account(s.as_ref(), 2).await);
    let w = WebhookRow {
        id: uuid::Uuid::now_v7(),
        account_id: a,
        url_enc: vec![1; 30],
        secret_enc: vec![2; 30],
        created_at: T0,
    };
    s.insert_webhook(&w).await.expect("insert");
    assert_eq!(s.webhooks(a).await.expect("list"), vec![w.clone()]);
    assert!(s.webhooks(b).await.expect("theirs").is_empty());
    assert!(!s.delete_webhook(b, w.id).await.expect("not theirs"));
    assert_eq!(s.webhook(w.id).await.expect("by id"), Some(w.clone()));
    assert!(s.delete_webhook(a, w.id).await.expect("delete"));
    assert!(s.webhook(w.id).await.expect("by id").is_none());
}

#[tokio::test]
async fn deliveries_belong_to_the_event_and_its_account_and_go_with_the_event() {
    let (s, _d) = store().await;
    let (a, b) = (account(s.as_ref(), 1).await, account(s.as_ref(), 2).await);
    bound(s.as_ref(), "KKNOTIFY0001", a).await;
    let ev = Event {
        id: uuid::Uuid::now_v7(),
        account_id: a,
        uid: "KKNOTIFY0001".into(),
        kind: EventKind::Motion,
        started_at: T0,
        ended_at: None,
        zone: None,
        read_at: None,
        created_at: T0,
        clip_from: T0,
        clip_to: T0,
        thumbnail: false,
        verdict: None,
        hold_alert: false,
        sighting: None,
    };
    s.record_event(&ev).await.expect("event");
    let d = |status, attempt, at: i64| Delivery {
        id: uuid::Uuid::now_v7(),
        event_id: ev.id,
        account_id: a,
        channel: "webhook".into(),
        target_id: Some(uuid::Uuid::now_v7()),
        attempt,
        status,
        detail: "HTTP 500".into(),
        at: Timestamp(T0.0 + at),
    };
    assert!(s.insert_delivery(&d(DeliveryStatus::Retry, 1, 1)).await.expect("retry"));
    assert!(s.insert_delivery(&d(DeliveryStatus::Dead, 2, 2)).await.expect("dead"));
    let missing = Delivery { event_id: uuid::Uuid::now_v7(), ..d(DeliveryStatus::Sent, 1, 3) };
    assert!(!s.insert_delivery(&missing).await.expect("no such event"));
    // A member's delivery (the dispatcher decides who is told) is kept under the member's
    // account, seen by it only.
    let members = Delivery { account_id: b, ..d(DeliveryStatus::Sent, 1, 3) };
    assert!(s.insert_delivery(&members).await.expect("a member's"));
    let list = s.deliveries(a, ev.id).await.expect("list");
    assert_eq!(
        list.iter().map(|d| (d.status, d.attempt)).collect::<Vec<_>>(),
        [(DeliveryStatus::Retry, 1), (DeliveryStatus::Dead, 2)]
    );
    let theirs = s.deliveries(b, ev.id).await.expect("b");
    assert_eq!(theirs.iter().map(|d| d.id).collect::<Vec<_>>(), [members.id]);
    let dead = s.account_deliveries(a, Some(DeliveryStatus::Dead), 10).await.expect("dead");
    assert_eq!(dead.iter().map(|d| d.attempt).collect::<Vec<_>>(), [2]);
    let all = s.account_deliveries(a, None, 10).await.expect("all");
    assert_eq!(all.iter().map(|d| d.attempt).collect::<Vec<_>>(), [2, 1], "newest first");
    assert_eq!(s.account_deliveries(a, None, 1).await.expect("limit").len(), 1);
    assert_eq!(s.account_deliveries(b, None, 10).await.expect("b's").len(), 1);
    s.delete_event(a, ev.id, T0).await.expect("delete");
    assert!(
        s.account_deliveries(a, None, 10).await.expect("tombstone").is_empty(),
        "a deleted event's records are not listed"
    );
    s.expire_events(Timestamp(T0.0 + 1)).await.expect("expire");
    assert!(s.deliveries(a, ev.id).await.expect("gone with the event").is_empty());
}

#[tokio::test]
async fn a_server_secret_is_stored_once_and_the_first_one_wins() {
    let (s, _d) = store().await;
    let first = s.server_secret_or_insert("vapid", &[1; 48], T0).await.expect("first");
    let second = s.server_secret_or_insert("vapid", &[2; 48], T0).await.expect("second");
    assert_eq!((first.clone(), second), (vec![1; 48], vec![1; 48]));
}

#[tokio::test]
async fn events_stay_undispatched_until_marked_and_deleted_ones_are_skipped() {
    let (s, _d) = store().await;
    let a = account(s.as_ref(), 1).await;
    bound(s.as_ref(), "KKNOTIFY0001", a).await;
    let (old, e1, e2, gone) = (event(a, -1), event(a, 10), event(a, 20), event(a, 30));
    for e in [&old, &e1, &e2, &gone] {
        s.record_event(e).await.expect("record");
    }
    s.delete_event(a, gone.id, T0).await.expect("delete");
    let window = |from: i64, before: i64, limit| {
        let s = s.clone();
        async move {
            let list = s
                .undispatched_events(Timestamp(T0.0 + from), Timestamp(T0.0 + before), limit)
                .await
                .expect("undispatched");
            list.into_iter().map(|e| e.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(window(0, 100, 10).await, [e1.id, e2.id], "oldest first, in the window");
    assert_eq!(window(0, 20, 10).await, [e1.id], "created before the end only");
    assert_eq!(window(0, 100, 1).await, [e1.id]);
    assert!(s.mark_event_dispatched(e1.id, T0).await.expect("mark"));
    assert!(!s.mark_event_dispatched(e1.id, T0).await.expect("marked once"));
    assert_eq!(window(0, 100, 10).await, [e2.id]);
    // The end of an event (the same row again) keeps its mark.
    let end = Event { id: uuid::Uuid::now_v7(), ended_at: Some(T0), ..e1.clone() };
    s.record_event(&end).await.expect("end");
    assert_eq!(window(0, 100, 10).await, [e2.id]);
}
