//! The MQTT topic scheme, version 1, and the access rules that follow from it.
//!
//! # Identities
//!
//! Every device has a UID: 6 to 32 characters, each `A`-`Z` or `0`-`9` (for example
//! `KK1A2B3C4D5E`). A device logs in with MQTT client id = username = its UID and password =
//! its own per-device secret. Anonymous logins, and logins whose client id differs from the
//! username, are refused.
//!
//! # Topics
//!
//! All topics live under `kk/v1/{uid}/`. The `v1` level is the version of this scheme; a
//! future incompatible scheme gets `kk/v2/` and both can be served side by side.
//!
//! | Topic                      | Direction       | Payload                                | Retained |
//! |----------------------------|-----------------|----------------------------------------|----------|
//! | `kk/v1/{uid}/state`        | device → server | JSON: telemetry and reported settings  | no       |
//! | `kk/v1/{uid}/event`        | device → server | JSON: an event (motion, ring, ...)     | no       |
//! | `kk/v1/{uid}/ack`          | device → server | JSON: acknowledgement of a command     | no       |
//! | `kk/v1/{uid}/claim`        | device → server | JSON: claims a bind token              | no       |
//! | `kk/v1/{uid}/presence`     | device → server | `online` or `offline` (the last will)  | no       |
//! | `kk/v1/{uid}/cmd`          | server → device | JSON: a command with an id             | no       |
//! | `kk/v1/{uid}/desired`      | server → device | JSON: desired settings with a version  | yes      |
//! | `kk/v1/{uid}/claim/result` | server → device | JSON: the outcome of a claim           | no       |
//! | `kk/v1/{uid}/secret`       | server → device | JSON: its next secret, sealed          | no       |
//!
//! The server publishes with QoS 1. A device should subscribe to its four server → device
//! topics with QoS 1 and a persistent session (clean session off) so commands sent while it is
//! offline are queued by the broker (the embedded broker keeps up to 1,000 messages per
//! offline session, each for 5 minutes, and forgets a session 2 hours after its device left;
//! an external broker has its own limits). `desired` is retained, so a device that
//! (re)subscribes always gets the latest desired settings (an empty `desired` message clears
//! them, as MQTT defines for retained messages).
//!
//! A device sets a last will on `kk/v1/{uid}/presence` with payload `offline`, and publishes
//! `online` there after connecting. With the embedded broker the server also learns presence
//! from the broker itself (connect, disconnect, keep-alive timeout after about 1.5 times the
//! device's keep-alive), which takes precedence: the device's own `presence` messages and
//! its last will are accepted but not passed on, so a late will cannot undo a reconnection.
//!
//! Payloads are opaque to the gateway (the server decodes them) but may be at most
//! [`MAX_PAYLOAD_BYTES`]; larger messages are dropped and counted.
//!
//! # Access rules
//!
//! A device may PUBLISH only to its own device → server topics, and SUBSCRIBE only to its own
//! server → device topics, named exactly (no `+` or `#` wildcards, no `$share/`). Its last will
//! must name one of its own device → server topics. Anything else is refused.

/// The largest payload, in bytes, accepted from a device or sent to one.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// The prefix of every version-1 topic.
pub const PREFIX: &str = "kk/v1/";

/// Which device → server topic a message came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Inbound {
    /// `state`: telemetry and reported settings.
    State,
    /// `event`: something happened on the device.
    Event,
    /// `ack`: a command acknowledgement.
    Ack,
    /// `claim`: a bind-token claim.
    Claim,
    /// `presence`: `online` or `offline`.
    Presence,
}

/// Which server → device topic a message goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outbound {
    /// `cmd`: a command.
    Cmd,
    /// `desired`: desired settings, retained by the broker.
    Desired,
    /// `claim/result`: the outcome of a claim.
    ClaimResult,
    /// `secret`: the device's next secret, sealed for it (secret rotation).
    Secret,
}

impl Inbound {
    /// Every device → server kind, in a stable order.
    pub const ALL: [Inbound; 5] =
        [Inbound::State, Inbound::Event, Inbound::Ack, Inbound::Claim, Inbound::Presence];

    /// The last topic level(s) after `kk/v1/{uid}/`.
    pub fn suffix(self) -> &'static str {
        match self {
            Inbound::State => "state",
            Inbound::Event => "event",
            Inbound::Ack => "ack",
            Inbound::Claim => "claim",
            Inbound::Presence => "presence",
        }
    }
}

impl Outbound {
    /// Every server → device kind, in a stable order.
    pub const ALL: [Outbound; 4] =
        [Outbound::Cmd, Outbound::Desired, Outbound::ClaimResult, Outbound::Secret];

    /// The last topic level(s) after `kk/v1/{uid}/`.
    pub fn suffix(self) -> &'static str {
        match self {
            Outbound::Cmd => "cmd",
            Outbound::Desired => "desired",
            Outbound::ClaimResult => "claim/result",
            Outbound::Secret => "secret",
        }
    }

    /// Whether the broker keeps the last message on this topic for later subscribers.
    pub fn retained(self) -> bool {
        matches!(self, Outbound::Desired)
    }
}

/// The direction and kind of a parsed topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicKind {
    Inbound(Inbound),
    Outbound(Outbound),
}

/// A topic of the form `kk/v1/{uid}/{kind}`, borrowed from the topic string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topic<'a> {
    pub uid: &'a str,
    pub kind: TopicKind,
}

/// Whether `uid` is a well-formed device UID (6 to 32 of `A`-`Z`, `0`-`9`).
pub fn is_valid_uid(uid: &str) -> bool {
    (6..=32).contains(&uid.len())
        && uid.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Parses an exact version-1 topic; `None` for anything else (wildcards included).
pub fn parse(topic: &str) -> Option<Topic<'_>> {
    let rest = topic.strip_prefix(PREFIX)?;
    let (uid, suffix) = rest.split_once('/')?;
    if !is_valid_uid(uid) {
        return None;
    }
    let kind = Inbound::ALL
        .iter()
        .find(|k| k.suffix() == suffix)
        .map(|k| TopicKind::Inbound(*k))
        .or_else(|| {
        Outbound::ALL.iter().find(|k| k.suffix() == suffix).map(|k| TopicKind::Outbound(*k))
    })?;
    Some(Topic { uid, kind })
}

/// The topic a device publishes `kind` messages on.
pub fn inbound_topic(uid: &str, kind: Inbound) -> String {
    format!("{PREFIX}{uid}/{}", kind.suffix())
}

/// The topic the server publishes `kind` messages to a device on.
pub fn outbound_topic(uid: &str, kind: Outbound) -> String {
    format!("{PREFIX}{uid}/{}", kind.suffix())
}

/// The shared-subscription filter a server node uses for `kind` on an external broker.
pub fn shared_inbound_filter(group: &str, kind: Inbound) -> String {
    format!("$share/{group}/{PREFIX}+/{}", kind.suffix())
}

/// Why a device's publish was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The topic is not a version-1 topic at all.
    Malformed,
    /// A well-formed topic that this device may not use.
    Denied,
}

/// Checks that device `uid` may publish on `topic`; returns the kind if so.
pub fn check_publish(uid: &str, topic: &str) -> Result<Inbound, Refusal> {
    match parse(topic) {
        None => Err(Refusal::Malformed),
        Some(Topic { uid: owner, kind: TopicKind::Inbound(kind) }) if owner == uid => Ok(kind),
        Some(_) => Err(Refusal::Denied),
    }
}

/// Whether device `uid` may subscribe to `filter` (only its own server → device topics, exactly).
pub fn may_subscribe(uid: &str, filter: &str) -> bool {
    matches!(parse(filter), Some(Topic { uid: owner, kind: TopicKind::Outbound(_) }) if owner == uid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const UID: &str = "KK1A2B3C4D5E";

    #[test]
    fn uids() {
        for (uid, ok) in [
            ("KK1A2B", true),
            ("KK1A2B3C4D5E", true),
            (&"A".repeat(32), true),
            (&"A".repeat(33), false),
            ("KK1A2", false),
            ("kk1a2b3c", false),
            ("KK1A2B+", false),
            ("KK1A2B#", false),
            ("KK-A2B3C", false),
            ("", false),
            ("ÄKK1A2B3", false),
        ] {
            assert_eq!(is_valid_uid(uid), ok, "{uid:?}");
        }
    }

    #[test]
    fn parses_every_kind_and_round_trips() {
        for k in Inbound::ALL {
            let t = inbound_topic(UID, k);
            assert_eq!(parse(&t), Some(Topic { uid: UID, kind: TopicKind::Inbound(k) }));
        }
        for k in Outbound::ALL {
            let t = outbound_topic(UID, k);
            assert_eq!(parse(&t), Some(Topic { uid: UID, kind: TopicKind::Outbound(k) }));
        }
    }

    #[test]
    fn rejects_near_misses() {
        for t in [
            "kk/v1/KK1A2B3C4D5E",
            "kk/v1/KK1A2B3C4D5E/",
            "kk/v1/KK1A2B3C4D5E/State",
            "kk/v1/KK1A2B3C4D5E/state/",
            "kk/v1/KK1A2B3C4D5E/state/x",
            "kk/v1/KK1A2B3C4D5E/claim/",
            "kk/v1/KK1A2B3C4D5E/claim/results",
            "kk/v1/+/state",
            "kk/v1/#",
            "kk/v1/KK1A2B3C4D5E/#",
            "kk/v1/KK1A2B3C4D5E/+",
            "/kk/v1/KK1A2B3C4D5E/state",
            "kk/v2/KK1A2B3C4D5E/state",
            "$share/g/kk/v1/KK1A2B3C4D5E/cmd",
            "kk/v1//state",
        ] {
            assert_eq!(parse(t), None, "{t}");
        }
    }

    #[test]
    fn publish_rules() {
        let other = "KK9Z9Z9Z9Z9Z";
        assert_eq!(check_publish(UID, &inbound_topic(UID, Inbound::State)), Ok(Inbound::State));
        assert_eq!(check_publish(UID, &inbound_topic(other, Inbound::State)), Err(Refusal::Denied));
        assert_eq!(
            check_publish(UID, &outbound_topic(UID, Outbound::Desired)),
            Err(Refusal::Denied)
        );
        assert_eq!(check_publish(UID, "kk/v1/KK1A2B3C4D5E/nope"), Err(Refusal::Malformed));
        assert_eq!(check_publish(UID, "$SYS/x"), Err(Refusal::Malformed));
    }

    #[test]
    fn subscribe_rules() {
        assert!(may_subscribe(UID, &outbound_topic(UID, Outbound::Cmd)));
        assert!(may_subscribe(UID, &outbound_topic(UID, Outbound::ClaimResult)));
        assert!(!may_subscribe(UID, &outbound_topic("KK9Z9Z9Z9Z9Z", Outbound::Cmd)));
        assert!(!may_subscribe(UID, &inbound_topic(UID, Inbound::State)));
        assert!(!may_subscribe(UID, "kk/v1/KK1A2B3C4D5E/#"));
        assert!(!may_subscribe(UID, "kk/v1/+/cmd"));
        assert!(!may_subscribe(UID, "#"));
    }

    #[test]
    fn shared_filter_shape() {
        assert_eq!(shared_inbound_filter("kankan", Inbound::Ack), "$share/kankan/kk/v1/+/ack");
    }

    fn suffix_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("state".to_string()),
            Just("claim/result".to_string()),
            Just("cmd".to_string()),
            "[a-z/+#]{0,14}",
        ]
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,80}") {
            let _ = parse(&s);
            let _ = check_publish(UID, &s);
            let _ = may_subscribe(UID, &s);
        }

        #[test]
        fn accepts_only_exact_forms(
            prefix in prop_oneof![Just(PREFIX.to_string()), "[a-z0-9/$]{0,8}"],
            uid in prop_oneof!["[A-Z0-9]{6,32}", "[A-Za-z0-9+#/]{0,40}"],
            suffix in suffix_strategy(),
        ) {
            let t = format!("{prefix}{uid}/{suffix}");
            if let Some(p) = parse(&t) {
                // Anything accepted rebuilds to exactly the same string from its parts.
                let rebuilt = match p.kind {
                    TopicKind::Inbound(k) => inbound_topic(p.uid, k),
                    TopicKind::Outbound(k) => outbound_topic(p.uid, k),
                };
                prop_assert_eq!(&rebuilt, &t);
                prop_assert!(is_valid_uid(p.uid));
                prop_assert!(!t.contains('+') && !t.contains('#'));
            } else {
                // And anything with the exact shape is accepted.
                let exact = prefix == PREFIX
                    && is_valid_uid(&uid)
                    && ["state", "event", "ack", "claim", "presence", "cmd", "desired", "claim/result"]
                        .contains(&suffix.as_str());
                prop_assert!(!exact, "rejected an exact topic: {}", t);
            }
        }
    }
}
