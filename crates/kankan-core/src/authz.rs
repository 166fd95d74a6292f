//! The authorization model: a requester asks for a [`Capability`] on a resource, and one
//! decision function per resource kind answers with the typed handle the operation needs.
//!
//! - Devices: [`crate::devices::Devices::authorize_device`] → [`crate::devices::DeviceHandle`],
//!   carrying the capabilities granted; every operation taking a handle checks the one it
//!   needs on it ([`crate::devices::DeviceHandle::require`]), so a handle obtained for one
//!   capability cannot be used for another. The owner holds every capability; another account
//!   holds those of its live grants (stored, time-boxed, revocable: `device_grants`). A device
//!   that does not exist and one the requester may not touch answer the same `DeviceNotFound`.
//! - Events: [`crate::events::Events::authorize_event`] → [`crate::events::EventHandle`] (the
//!   account the event was recorded for; later also members who receive its device's alarms).
//! - Album items: [`crate::album::Album::authorize_item`] → [`crate::album::AlbumItemHandle`]
//!   (the account that saved it).
//! - The account itself: a [`crate::Principal`] is the proof (its own profile, sessions,
//!   settings, lists).
//!
//! Staff authenticate apart ([`crate::StaffPrincipal`]) and reach an account's device only as
//! [`Requester::Support`]: through the same decision, only while the account's support grant
//! for that device is live, and only for [`CapabilitySet::support`] (seeing it and playing back
//! its recordings). Devices use their own credentials (ingest, MQTT).

use kankan_base::{AccountId, StaffId};
use kankan_protocol::device::CommandKind;

/// Who asks. Room is left for devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester {
    /// An account: its session, or a signed link that names it (decided again on every use).
    Account(AccountId),
    /// A staff member helping `account`, under the account's live support grant for the
    /// device (decided again on every use, so an expired or withdrawn grant ends it).
    Support { staff: StaffId, account: AccountId },
}

/// Something a requester may do with a device. The names ([`Capability::name`]) are stable:
/// grants store them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// See its info, state and settings, and its commands' status.
    View,
    /// Watch it live (WebSocket or WebRTC), start its on-demand stream.
    ViewLive,
    /// Its timeline, HLS playback and snapshots of recorded footage.
    PlayBack,
    /// Take copies: MP4 export, Album clips and screenshots.
    Download,
    /// Talk through its speaker.
    Talk,
    /// Move it: PTZ steps and going to a preset.
    MovePtz,
    /// Change settings, rename it, send it commands (reboot, format, save a preset).
    ChangeSettings,
    /// Receive its alarms: notifications and the per-device notification settings.
    ReceiveAlarms,
    /// Share it with other accounts.
    Share,
    /// Unbind it and delete its data (the owner only: a grant never gives it).
    Unbind,
    /// Decide what of its video the server keeps (its recording mode) and delete ranges of
    /// its recordings (the owner only: a grant never gives it).
    ManageRecordings,
    /// See the faces its owner's familiar-faces feature saw on it (names, pictures, the face
    /// on its events). The owner holds it; a member only when the owner grants it (never by
    /// default).
    SeeFaces,
}

impl Capability {
    pub const ALL: [Capability; 12] = [
        Capability::View,
        Capability::ViewLive,
        Capability::PlayBack,
        Capability::Download,
        Capability::Talk,
        Capability::MovePtz,
        Capability::ChangeSettings,
        Capability::ReceiveAlarms,
        Capability::Share,
        Capability::Unbind,
        Capability::ManageRecordings,
        Capability::SeeFaces,
    ];

    /// The stable name stored in grants and shown in the route table.
    pub fn name(self) -> &'static str {
        match self {
            Capability::View => "view",
            Capability::ViewLive => "view-live",
            Capability::PlayBack => "play-back",
            Capability::Download => "download",
            Capability::Talk => "talk",
            Capability::MovePtz => "move-ptz",
            Capability::ChangeSettings => "change-settings",
            Capability::ReceiveAlarms => "receive-alarms",
            Capability::Share => "share",
            Capability::Unbind => "unbind",
            Capability::ManageRecordings => "manage-recordings",
            Capability::SeeFaces => "see-faces",
        }
    }

    pub fn parse(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.name() == name)
    }

    /// What sending `kind` to a device needs.
    pub fn for_command(kind: &CommandKind) -> Capability {
        match kind {
            CommandKind::PtzMove { .. } | CommandKind::PresetGoto { .. } => Capability::MovePtz,
            CommandKind::StreamStart { .. } | CommandKind::StreamStop { .. } => {
                Capability::ViewLive
            }
            CommandKind::TalkStart | CommandKind::TalkStop => Capability::Talk,
            CommandKind::CardList { .. } | CommandKind::CardPlay { .. } => Capability::PlayBack,
            CommandKind::Reboot
            | CommandKind::WifiSet { .. }
            | CommandKind::FormatSd
            | CommandKind::PresetSave { .. }
            | CommandKind::FirmwareUpdate { .. }
            | CommandKind::LogsUpload { .. } => Capability::ChangeSettings,
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of capabilities.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct CapabilitySet(u16);

impl CapabilitySet {
    pub const EMPTY: CapabilitySet = CapabilitySet(0);

    /// Every capability: what an owner holds.
    pub fn all() -> CapabilitySet {
        Capability::ALL.into_iter().collect()
    }

    /// What a signed media link can carry: live view, talk, playback and download.
    pub fn media() -> CapabilitySet {
        [Capability::ViewLive, Capability::Talk, Capability::PlayBack, Capability::Download]
            .into_iter()
            .collect()
    }

    /// What a member holds by default: the camera's info, live view and its alarms (the
    /// founding policy: a shared contact "may only view the real-time footage … and all alarm
    /// message records").
    pub fn member_default() -> CapabilitySet {
        [Capability::View, Capability::ViewLive, Capability::ReceiveAlarms].into_iter().collect()
    }

    /// What a live support grant lets staff do with a device: see it and play back its
    /// recordings; never live view, talk, copies, settings or sharing.
    pub fn support() -> CapabilitySet {
        [Capability::View, Capability::PlayBack].into_iter().collect()
    }

    /// What an owner may grant a member: everything but sharing onward, unbinding and
    /// managing the recordings (which also cover changing who is a member, deleting the
    /// device's data and deciding whether its video is kept at all).
    pub fn grantable() -> CapabilitySet {
        CapabilitySet::all()
            .without(Capability::Share)
            .without(Capability::Unbind)
            .without(Capability::ManageRecordings)
    }

    pub fn contains(self, c: Capability) -> bool {
        self.0 & c.bit() != 0
    }

    /// Every capability of `other` is in `self`.
    pub fn covers(self, other: CapabilitySet) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(self.0 | other.0)
    }

    pub fn intersection(self, other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(self.0 & other.0)
    }

    pub fn without(self, c: Capability) -> CapabilitySet {
        CapabilitySet(self.0 & !c.bit())
    }

    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// Stored form: stable names, comma-separated.
    pub fn to_names(self) -> String {
        self.iter().map(Capability::name).collect::<Vec<_>>().join(",")
    }

    /// Reads the stored form; a name this server does not know grants nothing.
    pub fn from_names(names: &str) -> CapabilitySet {
        names.split(',').filter_map(|n| Capability::parse(n.trim())).collect()
    }

    /// Compact form for signed links (a bitmask in decimal).
    pub fn bits(self) -> u16 {
        self.0
    }

    pub fn from_bits(bits: u16) -> CapabilitySet {
        CapabilitySet(bits).intersection(CapabilitySet::all())
    }
}

impl std::fmt::Debug for CapabilitySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter().map(Capability::name)).finish()
    }
}

impl From<Capability> for CapabilitySet {
    fn from(c: Capability) -> Self {
        CapabilitySet(c.bit())
    }
}

impl FromIterator<Capability> for CapabilitySet {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        CapabilitySet(iter.into_iter().fold(0, |a, c| a | c.bit()))
    }
}

impl std::ops::BitOr for Capability {
    type Output = CapabilitySet;
    fn bitor(self, rhs: Capability) -> CapabilitySet {
        CapabilitySet(self.bit() | rhs.bit())
    }
}

impl std::ops::BitOr<Capability> for CapabilitySet {
    type Output = CapabilitySet;
    fn bitor(self, rhs: Capability) -> CapabilitySet {
        CapabilitySet(self.0 | rhs.bit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_round_trip() {
        let names: Vec<_> = Capability::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(
            names,
            [
                "view",
                "view-live",
                "play-back",
                "download",
                "talk",
                "move-ptz",
                "change-settings",
                "receive-alarms",
                "share",
                "unbind",
                "manage-recordings",
                "see-faces"
            ]
        );
        for c in Capability::ALL {
            assert_eq!(Capability::parse(c.name()), Some(c));
        }
        let set = Capability::ViewLive | Capability::PlayBack;
        assert_eq!(set.to_names(), "view-live,play-back");
        assert_eq!(CapabilitySet::from_names("play-back, view-live"), set);
        assert_eq!(CapabilitySet::from_names("view-live,teleport"), Capability::ViewLive.into());
        assert_eq!(CapabilitySet::from_names(""), CapabilitySet::EMPTY);
        assert_eq!(CapabilitySet::from_bits(set.bits()), set);
        assert_eq!(CapabilitySet::from_bits(u16::MAX), CapabilitySet::all());
    }

    #[test]
    fn sets_cover_and_intersect() {
        let set = Capability::ViewLive | Capability::PlayBack;
        assert!(set.covers(Capability::PlayBack.into()));
        assert!(!set.covers(Capability::PlayBack | Capability::Talk));
        assert!(CapabilitySet::all().covers(set));
        assert_eq!(set.intersection(CapabilitySet::media()), set);
        assert!(set.intersection(Capability::Talk.into()).is_empty());
        assert_eq!(CapabilitySet::all().without(Capability::Unbind).iter().count(), 11);
    }

    #[test]
    fn members_can_never_be_granted_sharing_unbinding_or_managing_recordings() {
        let grantable = CapabilitySet::grantable();
        assert!(!grantable.contains(Capability::Share));
        assert!(!grantable.contains(Capability::Unbind));
        assert!(!grantable.contains(Capability::ManageRecordings));
        assert!(grantable.covers(CapabilitySet::member_default()));
        assert_eq!(grantable.iter().count(), 9);
        // Seeing faces is grantable, never a member's by default.
        assert!(grantable.contains(Capability::SeeFaces));
        assert!(!CapabilitySet::member_default().contains(Capability::SeeFaces));
    }

    #[test]
    fn commands_need_their_own_capability() {
        let cases = [
            (CommandKind::Reboot, Capability::ChangeSettings),
            (CommandKind::FormatSd, Capability::ChangeSettings),
            (CommandKind::PresetSave { slot: 1 }, Capability::ChangeSettings),
            (CommandKind::PtzMove { pan: 1, tilt: 0 }, Capability::MovePtz),
            (CommandKind::PresetGoto { slot: 1 }, Capability::MovePtz),
            (CommandKind::StreamStart { stream: 0 }, Capability::ViewLive),
            (CommandKind::StreamStop { stream: 0 }, Capability::ViewLive),
            (CommandKind::TalkStart, Capability::Talk),
            (CommandKind::TalkStop, Capability::Talk),
            (CommandKind::WifiSet { sealed: "x".into() }, Capability::ChangeSettings),
            (CommandKind::LogsUpload { request: "r1".into() }, Capability::ChangeSettings),
            (
                CommandKind::CardPlay { request: Default::default(), from_ms: 0, to_ms: 1 },
                Capability::PlayBack,
            ),
            (
                CommandKind::CardList { request: Default::default(), from_ms: 0, to_ms: 1 },
                Capability::PlayBack,
            ),
        ];
        for (kind, want) in cases {
            assert_eq!(Capability::for_command(&kind), want, "{kind:?}");
        }
    }
}
