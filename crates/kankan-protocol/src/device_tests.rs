//! Tests of the device protocol's types: masking, settings checks and serde shapes.

use super::*;

#[test]
fn identifiers_are_masked_to_their_last_four_characters() {
    assert_eq!(super::mask_identifier("02:00:00:00:00:01"), "**:**:**:**:00:01");
    assert_eq!(super::mask_identifier("89860012345678901234"), "****************1234");
    assert_eq!(super::mask_identifier("AB12"), "****");
    assert_eq!(super::mask_identifier("é02:00:00:00:00:01"), "***:**:**:**:00:01");
    assert_eq!(super::mask_identifier(""), "");
}

#[test]
fn a_motion_event_has_the_documented_shape() {
    let ev = DeviceEvent::Motion {
        phase: MotionPhase::End,
        at_ms: 2_000,
        started_ms: 1_000,
        zone: Some(1),
    };
    let json = serde_json::to_string(&ev).expect("json");
    assert_eq!(json, r#"{"type":"motion","phase":"end","at_ms":2000,"started_ms":1000,"zone":1}"#);
    assert_eq!(decode::<DeviceEvent>(json.as_bytes()).expect("back"), ev);
    assert!(decode::<DeviceEvent>(br#"{"type":"motion","phase":"start"}"#).is_err());
}

#[test]
fn doorbell_and_tamper_events_have_the_documented_shape_and_bad_ones_are_refused() {
    let cases = [
        (DeviceEvent::Press { at_ms: 5 }, r#"{"type":"press","at_ms":5}"#),
        (DeviceEvent::Tamper { at_ms: 6 }, r#"{"type":"tamper","at_ms":6}"#),
        (
            DeviceEvent::Loiter { phase: MotionPhase::Start, at_ms: 9, started_ms: 1 },
            r#"{"type":"loiter","phase":"start","at_ms":9,"started_ms":1}"#,
        ),
        (
            DeviceEvent::Sound {
                phase: MotionPhase::End,
                at_ms: 9,
                started_ms: 1,
                level_db: -6,
                duration_ms: 8,
            },
            r#"{"type":"sound","phase":"end","at_ms":9,"started_ms":1,"level_db":-6,"duration_ms":8}"#,
        ),
    ];
    for (ev, json) in cases {
        assert_eq!(serde_json::to_string(&ev).expect("json"), json);
        assert_eq!(decode::<DeviceEvent>(json.as_bytes()).expect("back"), ev);
        assert!(ev.validate().is_ok());
    }
    for bad in [
        &br#"{"type":"press"}"#[..],
        br#"{"type":"press","at_ms":"now"}"#,
        br#"{"type":"press","at_ms":5,"button":2}"#,
        br#"{"type":"tamper","at_ms":null}"#,
        br#"{"type":"loiter","phase":"start","at_ms":9}"#,
    ] {
        assert!(decode::<DeviceEvent>(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
    assert!(DeviceEvent::Press { at_ms: -1 }.validate().is_err());
    let early = DeviceEvent::Loiter { phase: MotionPhase::End, at_ms: 1, started_ms: 9 };
    assert!(early.validate().is_err());
    let sound = |level_db, duration_ms| DeviceEvent::Sound {
        phase: MotionPhase::End,
        at_ms: 9,
        started_ms: 1,
        level_db,
        duration_ms,
    };
    assert!(sound(3, 8).validate().is_err(), "above 0 dBFS");
    assert!(sound(-6, 7).validate().is_err(), "a duration that is not the span");
}

#[test]
fn sound_alarms_are_off_by_default_and_their_sensitivity_is_checked() {
    let s = Settings::default();
    assert_eq!(s.sound_alarm, SoundAlarm { enabled: false, sensitivity: 50 });
    assert_eq!(s.sound_alarm.active(), None, "off: the detector hears nothing");
    // A device or client from before the field: off.
    let mut old = serde_json::to_value(&s).expect("ser");
    old.as_object_mut().expect("object").remove("sound_alarm");
    assert_eq!(serde_json::from_value::<Settings>(old).expect("de").sound_alarm, s.sound_alarm);
    for bad in [0, 101] {
        let s =
            Settings { sound_alarm: SoundAlarm { enabled: true, sensitivity: bad }, ..s.clone() };
        assert_eq!(s.validate().expect_err("refused").code, "invalid-settings");
    }
    let on = SoundAlarm { enabled: true, sensitivity: 80 };
    assert_eq!(on.active(), Some(80));
}

#[test]
fn commands_round_trip_with_their_name_as_tag() {
    let c = Command {
        id: uuid::Uuid::nil(),
        command: CommandKind::PtzMove { pan: 3, tilt: -2 },
        deadline_ms: 5,
    };
    let json = serde_json::to_string(&c).expect("ser");
    assert!(json.contains(r#""name":"ptz-move""#), "{json}");
    assert_eq!(decode::<Command>(json.as_bytes()).expect("de"), c);
}

#[test]
fn unknown_fields_values_and_oversized_payloads_are_refused() {
    assert!(decode::<Claim>(br#"{"token":"t","extra":1}"#).is_err());
    assert!(decode::<Ack>(br#"{"id":"x","ok":true,"error":null}"#).is_err());
    let mut s = serde_json::to_value(Settings::default()).expect("ser");
    s["video_quality"] = "8k".into();
    assert!(serde_json::from_value::<Settings>(s).is_err());
    assert!(decode::<Claim>(&vec![b' '; MAX_PAYLOAD + 1]).is_err());
}

#[test]
fn settings_and_commands_check_their_ranges() {
    let mut s = Settings::default();
    assert!(s.validate().is_ok());
    s.motion.sensitivity = 0;
    assert!(s.validate().is_err());
    assert!(CommandKind::PtzMove { pan: 11, tilt: 0 }.validate().is_err());
    assert!(CommandKind::PresetGoto { slot: 0 }.validate().is_err());
    assert!(CommandKind::PresetGoto { slot: 8 }.validate().is_ok());
}

#[test]
fn card_commands_check_their_ranges_and_a_wifi_change_is_logged_without_its_network() {
    let id = uuid::Uuid::nil();
    assert!(CommandKind::CardPlay { request: id, from_ms: 0, to_ms: 3_600_000 }.validate().is_ok());
    assert!(
        CommandKind::CardPlay { request: id, from_ms: 0, to_ms: 3_600_001 }.validate().is_err()
    );
    assert!(CommandKind::CardPlay { request: id, from_ms: 5, to_ms: 5 }.validate().is_err());
    assert!(
        CommandKind::CardList { request: id, from_ms: 0, to_ms: 86_400_000 }.validate().is_ok()
    );
    assert!(CommandKind::CardList { request: id, from_ms: 9, to_ms: 1 }.validate().is_err());
    assert!(CommandKind::WifiSet { sealed: String::new() }.validate().is_err());
    let wifi = CommandKind::WifiSet { sealed: "c2VhbGVk".into() };
    assert!(wifi.server_only() && !CommandKind::Reboot.server_only());
    assert_eq!(wifi.args_for_log().expect("json"), r#"{"name":"wifi-set"}"#);
    let wire = serde_json::to_value(&wifi).expect("ser");
    assert_eq!(wire, serde_json::json!({"name": "wifi-set", "sealed": "c2VhbGVk"}));
    let play = CommandKind::CardPlay { request: id, from_ms: 1, to_ms: 2 };
    assert!(play.args_for_log().expect("json").contains("card-play"));
}

#[test]
fn the_recording_mode_defaults_to_continuous_and_refuses_unknown_modes() {
    let mut s = serde_json::to_value(Settings::default()).expect("ser");
    assert_eq!(s["recording_mode"], "continuous");
    s.as_object_mut().expect("object").remove("recording_mode");
    let older: Settings = serde_json::from_value(s.clone()).expect("an older client's");
    assert_eq!(older.recording_mode, RecordingMode::Continuous);
    s["recording_mode"] = "card-only".into();
    let card: Settings = serde_json::from_value(s.clone()).expect("card-only");
    assert_eq!(card.recording_mode, RecordingMode::CardOnly);
    assert_eq!(card.recording_mode.name(), "card-only");
    s["recording_mode"] = "sometimes".into();
    assert!(serde_json::from_value::<Settings>(s).is_err());
}

#[test]
fn a_logs_upload_names_a_request_that_is_a_path_segment_and_only_the_server_makes_it() {
    let ok = CommandKind::LogsUpload { request: "0193a-b1".into() };
    assert!(ok.validate().is_ok() && ok.server_only());
    assert_eq!(
        serde_json::to_value(&ok).expect("ser"),
        serde_json::json!({"name": "logs-upload", "request": "0193a-b1"})
    );
    for bad in ["", "../x", "a/b", "a b", &"x".repeat(65)] {
        let kind = CommandKind::LogsUpload { request: bad.to_string() };
        assert!(kind.validate().is_err(), "{bad:?}");
    }
}
