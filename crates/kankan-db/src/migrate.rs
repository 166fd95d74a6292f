//! Embedded, numbered migrations. A landed migration is never edited; a new change is a new
//! file (the tidy test in `tests/` checks the list against `migrations/`). Each step is written
//! twice, `migrations/sqlite/` and `migrations/postgres/`, with the same name and meaning.

/// One schema step.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    /// The step on SQLite.
    pub sqlite: &'static str,
    /// The same step on PostgreSQL.
    pub postgres: &'static str,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_accounts",
        sqlite: include_str!("../migrations/sqlite/0001_accounts.sql"),
        postgres: include_str!("../migrations/postgres/0001_accounts.sql"),
    },
    Migration {
        version: 2,
        name: "0002_devices",
        sqlite: include_str!("../migrations/sqlite/0002_devices.sql"),
        postgres: include_str!("../migrations/postgres/0002_devices.sql"),
    },
    Migration {
        version: 3,
        name: "0003_staff_sessions",
        sqlite: include_str!("../migrations/sqlite/0003_staff_sessions.sql"),
        postgres: include_str!("../migrations/postgres/0003_staff_sessions.sql"),
    },
    Migration {
        version: 4,
        name: "0004_recordings",
        sqlite: include_str!("../migrations/sqlite/0004_recordings.sql"),
        postgres: include_str!("../migrations/postgres/0004_recordings.sql"),
    },
    Migration {
        version: 5,
        name: "0005_rtsp_cameras",
        sqlite: include_str!("../migrations/sqlite/0005_rtsp_cameras.sql"),
        postgres: include_str!("../migrations/postgres/0005_rtsp_cameras.sql"),
    },
    Migration {
        version: 6,
        name: "0006_album",
        sqlite: include_str!("../migrations/sqlite/0006_album.sql"),
        postgres: include_str!("../migrations/postgres/0006_album.sql"),
    },
    Migration {
        version: 7,
        name: "0007_events",
        sqlite: include_str!("../migrations/sqlite/0007_events.sql"),
        postgres: include_str!("../migrations/postgres/0007_events.sql"),
    },
    Migration {
        version: 8,
        name: "0008_event_details",
        sqlite: include_str!("../migrations/sqlite/0008_event_details.sql"),
        postgres: include_str!("../migrations/postgres/0008_event_details.sql"),
    },
    Migration {
        version: 9,
        name: "0009_notifications",
        sqlite: include_str!("../migrations/sqlite/0009_notifications.sql"),
        postgres: include_str!("../migrations/postgres/0009_notifications.sql"),
    },
    Migration {
        version: 10,
        name: "0010_dispatch_marker",
        sqlite: include_str!("../migrations/sqlite/0010_dispatch_marker.sql"),
        postgres: include_str!("../migrations/postgres/0010_dispatch_marker.sql"),
    },
    Migration {
        version: 11,
        name: "0011_device_grants",
        sqlite: include_str!("../migrations/sqlite/0011_device_grants.sql"),
        postgres: include_str!("../migrations/postgres/0011_device_grants.sql"),
    },
    Migration {
        version: 12,
        name: "0012_pending_registrations",
        sqlite: include_str!("../migrations/sqlite/0012_pending_registrations.sql"),
        postgres: include_str!("../migrations/postgres/0012_pending_registrations.sql"),
    },
    Migration {
        version: 13,
        name: "0013_ownership",
        sqlite: include_str!("../migrations/sqlite/0013_ownership.sql"),
        postgres: include_str!("../migrations/postgres/0013_ownership.sql"),
    },
    Migration {
        version: 14,
        name: "0014_households",
        sqlite: include_str!("../migrations/sqlite/0014_households.sql"),
        postgres: include_str!("../migrations/postgres/0014_households.sql"),
    },
    Migration {
        version: 15,
        name: "0015_event_members",
        sqlite: include_str!("../migrations/sqlite/0015_event_members.sql"),
        postgres: include_str!("../migrations/postgres/0015_event_members.sql"),
    },
    Migration {
        version: 16,
        name: "0016_access_log",
        sqlite: include_str!("../migrations/sqlite/0016_access_log.sql"),
        postgres: include_str!("../migrations/postgres/0016_access_log.sql"),
    },
    Migration {
        version: 17,
        name: "0017_consents",
        sqlite: include_str!("../migrations/sqlite/0017_consents.sql"),
        postgres: include_str!("../migrations/postgres/0017_consents.sql"),
    },
    Migration {
        version: 18,
        name: "0018_cancellation",
        sqlite: include_str!("../migrations/sqlite/0018_cancellation.sql"),
        postgres: include_str!("../migrations/postgres/0018_cancellation.sql"),
    },
    Migration {
        version: 19,
        name: "0019_exports",
        sqlite: include_str!("../migrations/sqlite/0019_exports.sql"),
        postgres: include_str!("../migrations/postgres/0019_exports.sql"),
    },
    Migration {
        version: 20,
        name: "0020_recording_modes",
        sqlite: include_str!("../migrations/sqlite/0020_recording_modes.sql"),
        postgres: include_str!("../migrations/postgres/0020_recording_modes.sql"),
    },
    Migration {
        version: 21,
        name: "0021_audit",
        sqlite: include_str!("../migrations/sqlite/0021_audit.sql"),
        postgres: include_str!("../migrations/postgres/0021_audit.sql"),
    },
    Migration {
        version: 22,
        name: "0022_cluster",
        sqlite: include_str!("../migrations/sqlite/0022_cluster.sql"),
        postgres: include_str!("../migrations/postgres/0022_cluster.sql"),
    },
    Migration {
        version: 23,
        name: "0023_event_detections",
        sqlite: include_str!("../migrations/sqlite/0023_event_detections.sql"),
        postgres: include_str!("../migrations/postgres/0023_event_detections.sql"),
    },
    Migration {
        version: 24,
        name: "0024_faces",
        sqlite: include_str!("../migrations/sqlite/0024_faces.sql"),
        postgres: include_str!("../migrations/postgres/0024_faces.sql"),
    },
    Migration {
        version: 25,
        name: "0025_sound",
        sqlite: include_str!("../migrations/sqlite/0025_sound.sql"),
        postgres: include_str!("../migrations/postgres/0025_sound.sql"),
    },
    Migration {
        version: 26,
        name: "0026_event_descriptions",
        sqlite: include_str!("../migrations/sqlite/0026_event_descriptions.sql"),
        postgres: include_str!("../migrations/postgres/0026_event_descriptions.sql"),
    },
    Migration {
        version: 27,
        name: "0027_firmware",
        sqlite: include_str!("../migrations/sqlite/0027_firmware.sql"),
        postgres: include_str!("../migrations/postgres/0027_firmware.sql"),
    },
    Migration {
        version: 29,
        name: "0029_payments",
        sqlite: include_str!("../migrations/sqlite/0029_payments.sql"),
        postgres: include_str!("../migrations/postgres/0029_payments.sql"),
    },
    Migration {
        version: 30,
        name: "0030_plans",
        sqlite: include_str!("../migrations/sqlite/0030_plans.sql"),
        postgres: include_str!("../migrations/postgres/0030_plans.sql"),
    },
    Migration {
        version: 31,
        name: "0031_second_factor",
        sqlite: include_str!("../migrations/sqlite/0031_second_factor.sql"),
        postgres: include_str!("../migrations/postgres/0031_second_factor.sql"),
    },
    Migration {
        version: 32,
        name: "0032_passkeys",
        sqlite: include_str!("../migrations/sqlite/0032_passkeys.sql"),
        postgres: include_str!("../migrations/postgres/0032_passkeys.sql"),
    },
    Migration {
        version: 33,
        name: "0033_support",
        sqlite: include_str!("../migrations/sqlite/0033_support.sql"),
        postgres: include_str!("../migrations/postgres/0033_support.sql"),
    },
    Migration {
        version: 34,
        name: "0034_staff_console",
        sqlite: include_str!("../migrations/sqlite/0034_staff_console.sql"),
        postgres: include_str!("../migrations/postgres/0034_staff_console.sql"),
    },
    Migration {
        version: 35,
        name: "0035_help",
        sqlite: include_str!("../migrations/sqlite/0035_help.sql"),
        postgres: include_str!("../migrations/postgres/0035_help.sql"),
    },
];
