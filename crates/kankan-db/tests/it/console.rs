//! The operator's console part of the `Store` contract: staff second factors (a step accepted
//! once, an enrolment finished once), roles and disabling (sessions end), ban notes, the fleet
//! counts and pages, a device's problems (failed commands and updates).

use kankan_base::{StaffId, Timestamp};
use kankan_db::{
    CommandStatus, DeviceCommand, FirmwareImage, FirmwareUpdateRow, FleetFilter, Staff, Store,
};

use crate::devices::{T0, account, bound, device};
use crate::store;

async fn staff(s: &dyn Store, name: &str) -> StaffId {
    let st = Staff {
        id: StaffId::new(),
        username: name.into(),
        password_hash: "$argon2id$x".into(),
        role: "support".into(),
        created_at: T0,
    };
    s.insert_staff(&st).await.expect("staff");
    st.id
}

#[tokio::test]
async fn an_enrolment_is_finished_once_and_a_time_step_is_accepted_once() {
    let (s, _dir) = store().await;
    let id = staff(&*s, "mei").await;
    assert!(s.staff_totp(id).await.expect("q").is_none());
    let (a, b) = ([1u8; 32], [2u8; 32]);
    s.insert_staff_enrolment(&a, id, b"sealed-a", T0.plus(std::time::Duration::from_secs(600)))
        .await
        .expect("a");
    s.insert_staff_enrolment(&b, id, b"sealed-b", T0).await.expect("b");
    assert_eq!(s.staff_enrolment(&a, T0).await.expect("q").map(|e| e.0), Some(id));
    assert!(s.staff_enrolment(&b, T0).await.expect("q").is_none(), "expired");
    assert!(s.finish_staff_enrolment(&a, id, b"sealed-a", 100).await.expect("finish"));
    assert!(!s.finish_staff_enrolment(&a, id, b"sealed-a", 100).await.expect("again"));
    assert!(s.staff_enrolment(&a, T0).await.expect("q").is_none());
    let t = s.staff_totp(id).await.expect("q").expect("enrolled");
    assert_eq!((t.secret_enc.as_slice(), t.last_step), (&b"sealed-a"[..], Some(100)));
    assert!(s.staff_member(id).await.expect("q").expect("member").second_factor);

    assert!(!s.use_staff_totp_step(id, 100).await.expect("same step"));
    assert!(!s.use_staff_totp_step(id, 99).await.expect("older step"));
    assert!(s.use_staff_totp_step(id, 101).await.expect("next step"));
    assert!(!s.use_staff_totp_step(id, 101).await.expect("replay"));

    assert!(s.clear_staff_totp(id).await.expect("clear"));
    assert!(s.staff_totp(id).await.expect("q").is_none());
    assert!(!s.use_staff_totp_step(id, 200).await.expect("none enrolled"));
}

#[tokio::test]
async fn disabling_staff_ends_their_sessions_and_roles_change() {
    let (s, _dir) = store().await;
    let id = staff(&*s, "ops").await;
    let other = staff(&*s, "alba").await;
    let far = Timestamp(T0.0 + 3_600_000);
    s.insert_staff_session(id, &[7; 32], T0, far).await.expect("session");
    s.insert_staff_session(other, &[8; 32], T0, far).await.expect("session");
    assert!(s.set_staff_role(id, "admin").await.expect("role"));
    assert_eq!(s.staff_member(id).await.expect("q").expect("m").role, "admin");
    assert!(s.disable_staff(id, T0).await.expect("disable"));
    assert!(!s.disable_staff(id, T0).await.expect("again"));
    assert!(s.staff_by_session(&[7; 32], T0).await.expect("q").is_none());
    assert!(s.staff_by_session(&[8; 32], T0).await.expect("q").is_some());
    let names: Vec<String> =
        s.staff_members().await.expect("list").into_iter().map(|m| m.username).collect();
    assert_eq!(names, ["alba", "ops"]);
    s.delete_staff_session(&[8; 32]).await.expect("logout");
    assert!(s.staff_by_session(&[8; 32], T0).await.expect("q").is_none());
}

#[tokio::test]
async fn ban_notes_are_kept_newest_first_with_the_account() {
    let (s, _dir) = store().await;
    let a = account(&*s, 1).await;
    let by = staff(&*s, "ops").await;
    s.add_ban_note(a, "ban", Some(by), "spam", T0).await.expect("ban");
    s.add_ban_note(a, "unban", None, "appeal", Timestamp(T0.0 + 1)).await.expect("unban");
    let notes = s.ban_notes(a).await.expect("notes");
    let got: Vec<(&str, &str)> =
        notes.iter().map(|n| (n.action.as_str(), n.reason.as_str())).collect();
    assert_eq!(got, [("unban", "appeal"), ("ban", "spam")]);
    assert_eq!((notes[0].staff_id, notes[1].staff_id), (None, Some(by)));
}

#[tokio::test]
async fn the_fleet_is_counted_by_model_firmware_and_presence_and_paged() {
    let (s, _dir) = store().await;
    let owner = account(&*s, 1).await;
    // Bound (claiming: online), then a report of its firmware.
    bound(&*s, "KKA0001", owner).await;
    let mut devices = vec![device("KKA0002"), device("KKB0001")];
    devices[1].model = "KK-C2".into();
    s.insert_devices(&devices).await.expect("devices");
    s.put_firmware_device("KKA0001", "1.2.0", true, T0).await.expect("fw");
    let counts = s.fleet_counts().await.expect("counts");
    let c = |m: &str, f: Option<&str>, on: bool| {
        counts
            .iter()
            .find(|c| c.model == m && c.firmware.as_deref() == f && c.online == on)
            .map(|c| c.count)
    };
    assert_eq!(
        (c("KK-C1", Some("1.2.0"), true), c("KK-C1", None, false), c("KK-C2", None, false)),
        (Some(1), Some(1), Some(1)),
        "{counts:?}"
    );
    let all = FleetFilter::default();
    let page = s.fleet_devices(&all, None, 2).await.expect("page");
    let uids: Vec<&str> = page.iter().map(|d| d.uid.as_str()).collect();
    assert_eq!(uids, ["KKA0001", "KKA0002"]);
    assert!(page[0].bound && page[0].online && !page[1].bound);
    let rest = s.fleet_devices(&all, Some("KKA0002"), 2).await.expect("rest");
    assert_eq!(rest.iter().map(|d| d.uid.as_str()).collect::<Vec<_>>(), ["KKB0001"]);
    let offline = FleetFilter { online: Some(false), model: Some("KK-C1".into()), ..all.clone() };
    let got = s.fleet_devices(&offline, None, 10).await.expect("offline");
    assert_eq!(got.iter().map(|d| d.uid.as_str()).collect::<Vec<_>>(), ["KKA0002"]);
    let fw = FleetFilter { firmware: Some("1.2.0".into()), ..all };
    assert_eq!(s.fleet_devices(&fw, None, 10).await.expect("fw").len(), 1);
    assert_eq!(s.owned_device_count(owner).await.expect("n"), 1);
    assert_eq!(s.fleet_device("KKB0001").await.expect("q").expect("d").model, "KK-C2");
    assert!(s.fleet_device("KKNONE").await.expect("q").is_none());
}

#[tokio::test]
async fn a_devices_problems_are_its_failed_commands_and_updates_newest_first() {
    let (s, _dir) = store().await;
    s.insert_devices(&[device("KKA0001")]).await.expect("device");
    for (i, name) in ["reboot", "preset-goto", "format-sd"].iter().enumerate() {
        let cmd = DeviceCommand {
            id: uuid::Uuid::now_v7(),
            uid: "KKA0001".into(),
            name: (*name).into(),
            args_json: "{}".into(),
            status: CommandStatus::Sent,
            error: None,
            created_at: Timestamp(T0.0 + i as i64),
            deadline: Timestamp(T0.0 + 10_000),
            finished_at: None,
        };
        s.insert_command(&cmd).await.expect("command");
        let (status, error) = match i {
            0 => (CommandStatus::Succeeded, None),
            1 => (CommandStatus::Failed, Some("no preset")),
            _ => (CommandStatus::TimedOut, None),
        };
        let at = Timestamp(T0.0 + 100 + i as i64);
        assert!(s.finish_command(cmd.id, "KKA0001", status, error, at).await.expect("finish"));
    }
    // A firmware update that rolled back, later than the commands; one still going is none.
    let image = FirmwareImage {
        id: uuid::Uuid::now_v7(),
        model: "KK-C1".into(),
        version: "1.1.0".into(),
        size: 1,
        sha256: "00".into(),
        signature: "sig".into(),
        blob_id: kankan_base::BlobId::new(),
        created_at: T0,
    };
    s.insert_firmware_image(&image).await.expect("image");
    let mut update = FirmwareUpdateRow {
        uid: "KKA0001".into(),
        image_id: image.id,
        rollout_id: None,
        from_version: "1.0.0".into(),
        phase: "rolled-back".into(),
        percent: 100,
        error: Some("health-check".into()),
        command_id: None,
        offered_at: T0,
        updated_at: Timestamp(T0.0 + 500),
    };
    s.put_firmware_update(&update).await.expect("update");
    let p = s.device_problems("KKA0001", 10).await.expect("problems");
    let got: Vec<(&str, &str)> = p.iter().map(|p| (p.kind.as_str(), p.what.as_str())).collect();
    assert_eq!(
        got,
        [
            ("firmware-rolled-back", "1.0.0"),
            ("command-timed-out", "format-sd"),
            ("command-failed", "preset-goto")
        ]
    );
    assert_eq!(p[0].error.as_deref(), Some("health-check"));
    assert_eq!(p[2].error.as_deref(), Some("no preset"));
    update.phase = "downloading".into();
    update.error = None;
    s.put_firmware_update(&update).await.expect("update");
    assert_eq!(s.device_problems("KKA0001", 10).await.expect("problems").len(), 2);
    assert_eq!(s.device_problems("KKA0001", 1).await.expect("one").len(), 1);
}
