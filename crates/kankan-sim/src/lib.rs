//! `kankan-cam`: a simulated Kankan camera or doorbell that treats the platform exactly as
//! device firmware does, over the wire only.
//!
//! - **Pairing** ([`pairing`]): read the pairing code from a QR image or a recording of the
//!   pairing sound, open it with the device's pairing key (derived from its secret), "join"
//!   the Wi-Fi network (the SSID is kept, the password is not), connect to the server named
//!   in the code and claim the binding with the bind token.
//! - **Running** ([`Device`]): log in over MQTT with UID and secret (persistent session, last
//!   will `offline`), reconnect with jittered exponential backoff, publish `online` and a
//!   state report on every connection, apply `desired` settings, execute commands and ack
//!   them, and report telemetry periodically. See `crates/kankan-gateway/src/topics.rs` for
//!   the topics and `kankan_protocol::device` for the payloads.
//! - **Recording** ([`video`]): a synthetic scene with a burned-in clock, encoded to H.264
//!   and streamed as fMP4 to the server's ingest; an SD-card ring keeps footage through
//!   network cuts and is uploaded afterwards.
//! - **Talk** ([`talk`]): on `talk-start` the camera opens its talk channel to the server, sends
//!   its microphone (a tone) as G.711 µ-law and plays (counts, optionally records) what the
//!   browsers say, until `talk-stop`.
//! - **Doorbell and tamper** ([`doorbell`]): [`Device::buttons`] presses a doorbell's button
//!   and pulls a device off its mount (`press`, `tamper` events); a doorbell reports
//!   loitering when its motion lasts longer than `settings.loiter_secs`.
//! - **Firmware updates** ([`slots`], [`update`]): A/B slots; on `firmware-update` the image
//!   is downloaded resumably from the ingest, its size, SHA-256 and the operator's signature
//!   checked (a tampered image is deleted, never booted), written to the inactive slot and
//!   booted on trial; the new version confirms its health or the old slot boots again. An
//!   image is a `KKFW1 <model> <version>` header and payload ([`firmware_image`]).
//! - **Its log** ([`devlog`]): a bounded ring of what it did (connections, errors, commands,
//!   settings, firmware), kept in the state directory, secrets redacted where written, and
//!   uploaded on `logs-upload` for a support ticket.
//! - **Fleets** ([`fleet`]): many already-bound devices in one process for load tests.
//!
//! The device's flash is one JSON state file ([`state`]) written atomically. Kind follows the
//! model (`KK-D*` are doorbells with a battery), the MAC and LAN address follow the UID.

pub mod config;
mod device;
pub mod devlog;
pub mod doorbell;
mod error;
mod firmware;
pub mod fleet;
pub mod image;
mod link;
pub mod media;
pub mod mobile;
pub mod pairing;
pub mod slots;
pub mod state;
pub mod talk;
pub mod telemetry;
pub mod tls;
pub mod update;
pub mod video;
pub mod wifi;

pub use config::{Backoff, DeviceConfig, Joined, ServerAddr, Timings};
pub use device::{ClaimOutcome, Device, DeviceHandle, Status};
pub use doorbell::Buttons;
pub use error::SimError;
pub use firmware::{DEGREES_PER_STEP, PAN_LIMIT, TILT_RANGE};
pub use image::{firmware_image, parse_image};
