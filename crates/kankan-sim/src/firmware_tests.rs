//! Unit tests of the firmware rules: commands, desired settings and reports.

use kankan_protocol::device::{Command, CommandKind, Desired, SdStatus, Settings};

use super::*;
use crate::state::Position;

const NOW: i64 = 1_700_000_000_000;

fn camera() -> Firmware {
    Firmware::new(StoredState::factory("KK1A2B3C4D5E", "KK-C1", "UTC"), Rng::new(7))
}

fn cmd(kind: CommandKind) -> (uuid::Uuid, Vec<u8>) {
    let c = Command { id: uuid::Uuid::now_v7(), command: kind, deadline_ms: NOW + 60_000 };
    (c.id, serde_json::to_vec(&c).expect("ser"))
}

fn run(fw: &mut Firmware, kind: CommandKind) -> Execution {
    let (id, bytes) = cmd(kind);
    let exec = fw.execute(&bytes, NOW).expect("answered");
    assert_eq!(exec.ack.id, id);
    exec
}

#[test]
fn ptz_moves_in_steps_and_stops_at_the_limits() {
    let mut fw = camera();
    assert!(run(&mut fw, CommandKind::PtzMove { pan: 3, tilt: -1 }).ack.ok);
    assert_eq!(fw.state.ptz, Position { pan: 30, tilt: -10 });
    for _ in 0..3 {
        run(&mut fw, CommandKind::PtzMove { pan: 10, tilt: -10 });
    }
    assert_eq!(fw.state.ptz, Position { pan: PAN_LIMIT, tilt: TILT_RANGE.0 });
    let exec = run(&mut fw, CommandKind::PtzMove { pan: 11, tilt: 0 });
    assert!(!exec.ack.ok && exec.ack.error.is_some(), "out of range: {exec:?}");
}

#[test]
fn presets_save_and_go_back_and_an_unset_preset_fails() {
    let mut fw = camera();
    run(&mut fw, CommandKind::PtzMove { pan: 2, tilt: 1 });
    let save = run(&mut fw, CommandKind::PresetSave { slot: 2 });
    assert!(save.ack.ok && save.persist);
    run(&mut fw, CommandKind::PtzMove { pan: -5, tilt: 0 });
    assert!(run(&mut fw, CommandKind::PresetGoto { slot: 2 }).ack.ok);
    assert_eq!(fw.state.ptz, Position { pan: 20, tilt: 10 });
    let unset = run(&mut fw, CommandKind::PresetGoto { slot: 5 });
    assert_eq!((unset.ack.ok, unset.ack.error.as_deref()), (false, Some("preset 5 is not set")));
}

#[test]
fn format_reports_formatting_then_an_empty_card() {
    let mut fw = camera();
    let exec = run(&mut fw, CommandKind::FormatSd);
    assert!(exec.ack.ok && exec.persist);
    let statuses: Vec<_> =
        exec.reports.iter().map(|r| (r.sd_card.status, r.sd_card.used_mb)).collect();
    assert_eq!(statuses[0].0, SdStatus::Formatting);
    assert_eq!(statuses[1], (SdStatus::Ok, 0));
    assert!(exec.reports[0].seq < exec.reports[1].seq);
}

#[test]
fn reboot_is_acked_and_restarts_numbering_at_boot() {
    let mut fw = camera();
    fw.report();
    let exec = run(&mut fw, CommandKind::Reboot);
    assert!(exec.ack.ok && exec.reboot);
    fw.boot();
    assert_eq!(fw.report().seq, 1);
}

#[test]
fn late_malformed_and_unsupported_commands_are_refused_with_a_reason() {
    let mut fw = camera();
    let late =
        Command { id: uuid::Uuid::now_v7(), command: CommandKind::Reboot, deadline_ms: NOW - 1 };
    let exec = fw.execute(&serde_json::to_vec(&late).expect("ser"), NOW).expect("answered");
    assert_eq!(
        (exec.ack.ok, exec.ack.error.as_deref(), exec.reboot),
        (false, Some("expired"), false)
    );

    let id = uuid::Uuid::now_v7();
    let odd = format!(r#"{{"id":"{id}","command":{{"name":"self-destruct"}},"deadline_ms":1}}"#);
    let exec = fw.execute(odd.as_bytes(), NOW).expect("answered by id");
    assert_eq!(exec.ack.id, id);
    assert!(exec.ack.error.expect("reason").starts_with("malformed command"));
    assert!(fw.execute(b"garbage", NOW).is_none());

    let mut bell = Firmware::new(StoredState::factory("KK1A2B3C4D5E", "KK-D1", "UTC"), Rng::new(1));
    assert!(!run(&mut bell, CommandKind::PtzMove { pan: 1, tilt: 0 }).ack.ok);
}

#[test]
fn a_redelivered_command_is_answered_again_but_not_run_twice() {
    let mut fw = camera();
    let (_, bytes) = cmd(CommandKind::PtzMove { pan: 1, tilt: 0 });
    let first = fw.execute(&bytes, NOW).expect("first");
    let again = fw.execute(&bytes, NOW).expect("again");
    assert_eq!(first.ack, again.ack);
    assert!(!again.persist);
    assert_eq!(fw.state.ptz.pan, 10);
}

#[test]
fn desired_settings_apply_only_when_valid_and_newer() {
    let mut fw = camera();
    let mut settings = Settings { volume: 10, ..Settings::default() };
    let bytes = |version, s: &Settings| {
        serde_json::to_vec(&Desired { version, settings: s.clone() }).expect("ser")
    };
    assert_eq!(fw.apply_desired(&bytes(3, &settings)), Ok(Some(3)));
    assert_eq!((fw.state.settings.volume, fw.state.settings_version), (10, 3));
    assert_eq!(fw.report().settings_version, 3);
    assert_eq!(fw.apply_desired(&bytes(3, &settings)), Ok(None), "same version again");
    assert_eq!(fw.apply_desired(&bytes(2, &Settings::default())), Ok(None), "older");
    settings.volume = 101;
    assert!(fw.apply_desired(&bytes(4, &settings)).expect_err("range").contains("volume"));
    assert_eq!(fw.apply_desired(b""), Ok(None), "cleared");
    assert!(fw.apply_desired(br#"{"version":9}"#).is_err());
    assert_eq!(fw.state.settings.volume, 10);
}

#[test]
fn the_owner_s_time_zone_becomes_the_device_s() {
    let mut fw = camera();
    assert_eq!(fw.state.settings.time_zone, fw.state.timezone, "factory settings name its zone");
    let settings = Settings { time_zone: "America/Sao_Paulo".into(), ..Settings::default() };
    let bytes = serde_json::to_vec(&Desired { version: 1, settings }).expect("ser");
    assert_eq!(fw.apply_desired(&bytes), Ok(Some(1)));
    assert_eq!(fw.report().timezone, "America/Sao_Paulo");
}

#[test]
fn reports_describe_the_device() {
    let mut fw = Firmware::new(StoredState::factory("KK1A2B3C4D5E", "KK-D4G", "UTC"), Rng::new(3));
    let r = fw.report();
    assert_eq!((r.seq, r.firmware.as_str(), r.model.as_str()), (1, FIRMWARE, "KK-D4G"));
    assert!(r.battery_pct.is_some());
    assert!(r.sim.is_some_and(|s| s.iccid.len() == 20));
    assert_eq!(r.mac, mac_of("KK1A2B3C4D5E"));
    assert_eq!(camera().report().battery_pct, None);
}

#[test]
fn a_firmware_update_is_handed_to_the_device_loop_and_reports_carry_the_progress() {
    use kankan_protocol::device::{FirmwareOffer, FirmwareProgress, UpdatePhase};
    let mut fw = camera();
    let offer = FirmwareOffer {
        version: "1.1.0".into(),
        url: "/ingest/v1/KK1A2B3C4D5E/firmware/1".into(),
        size: 10,
        sha256: "00".into(),
        signature: "sig".into(),
    };
    let exec = run(&mut fw, CommandKind::FirmwareUpdate { offer: offer.clone() });
    assert_eq!((exec.ack.ok, exec.update), (true, Some(offer)));
    assert_eq!(fw.report().update, None);
    let progress = FirmwareProgress {
        version: "1.1.0".into(),
        phase: UpdatePhase::Downloading,
        percent: 40,
        error: None,
    };
    fw.progress = Some(progress.clone());
    fw.running = "1.1.0".into();
    let r = fw.report();
    assert_eq!((r.update, r.firmware.as_str()), (Some(progress), "1.1.0"));
}
