//! The judgement of the authorization matrix, as pure functions: what an operation's
//! classification (`kankan_api::routes::ROUTES`) and a principal's standing imply
//! ([`expected`]), and whether an answer keeps to it ([`judge`]): allowed, or exactly the
//! refusal implied, else a named leak, a wrong refusal or an over-refusal. The unit tests feed
//! it the answers deliberately broken policies would give and show that it names each.

use kankan_api::routes::{Access, Need};
use kankan_core::authz::{Capability, CapabilitySet};
use kankan_core::staff::{StaffPermission, StaffRole};

/// Where a principal stands with the server and with the device under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// No live account session: anonymous, or a banned account (its sessions ended).
    NoSession,
    /// A staff session of this role, which is no account's.
    Staff(StaffRole),
    /// A signed-in account holding these capabilities on the device now (the owner: all).
    Account(CapabilitySet),
}

/// Why a principal that once held a grant holds nothing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lapse {
    None,
    /// Its grant's time box has passed.
    TimeBox,
    /// Its grant counts on other days of the week only.
    Schedule,
    /// The owner took the grant back.
    Revoked,
    /// The account was banned.
    Banned,
}

/// One column of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct Principal {
    pub name: &'static str,
    pub standing: Standing,
    /// What its grant rows name, whether or not they count now.
    pub granted: CapabilitySet,
    pub lapse: Lapse,
}

/// What an operation asks of its caller, resolved from its classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requires {
    Anyone,
    /// A signed-in account (its own profile, lists, settings).
    Account,
    /// A signed-in account that owns the object the path names (the matrix names another
    /// household's, so every principal is refused).
    AccountsOwnObject,
    /// A signed-in account holding all of these on the device.
    DeviceAll(CapabilitySet),
    /// A signed-in account holding at least one of these on the device.
    DeviceAny(CapabilitySet),
    /// A media link carrying this capability, for an account that holds it now.
    Link(Capability),
    /// A staff session whose role holds this permission.
    Staff(StaffPermission),
    /// The device itself (none of the principals).
    DeviceCredentials,
}

/// What an operation asks, from its classification. `body` is what the body sent asks for,
/// where the classification leaves it to the body ([`Need::PerCommand`]: the command's
/// capability; [`Need::Any`]: what a media link of the purpose asked needs, within the
/// classification's set); `names_object` whether the path names an object of an account
/// (`{id}`).
pub fn requires(access: Access, body: Option<Requires>, names_object: bool) -> Requires {
    match (access, body) {
        (Access::Public, _) => Requires::Anyone,
        (Access::Own, _) if names_object => Requires::AccountsOwnObject,
        (Access::Own, _) => Requires::Account,
        (Access::Device(Need::One(c)), _) => Requires::DeviceAll(c.into()),
        (Access::Device(Need::All(cs)), _) => Requires::DeviceAll(cs.iter().copied().collect()),
        (Access::Device(Need::Any(cs)), body) => {
            let set: CapabilitySet = cs.iter().copied().collect();
            match body {
                Some(r @ (Requires::DeviceAll(b) | Requires::DeviceAny(b))) if set.covers(b) => r,
                None => Requires::DeviceAny(set),
                Some(other) => panic!("{other:?} is not within the classification's {set:?}"),
            }
        }
        (Access::Device(Need::PerCommand), body) => {
            body.expect("a command route's recipe says what its command needs")
        }
        (Access::DeviceLink(c), _) => Requires::Link(c),
        (Access::Staff(p), _) => Requires::Staff(p),
        (Access::DeviceCredentials, _) => Requires::DeviceCredentials,
    }
}

/// An authorization refusal, as the API answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 401 `unauthenticated`.
    Unauthenticated,
    /// 404 `device-not-found`: the same answer as for a device that does not exist.
    DeviceNotFound,
    /// 404 `not-found` (`session-not-found` for a session): the object is another's.
    NotFound,
    /// 401 `invalid-device-credentials`: only a device, with its own credentials.
    DeviceCredentials,
    /// A media link that does not carry the capability, or whose account lost the device:
    /// 403 `invalid-link` or 404 `device-not-found`.
    Link,
    /// 403 `staff-forbidden`: a staff member whose role does not hold the permission.
    StaffForbidden,
}

impl Refusal {
    /// Whether `(status, code)` is this refusal.
    pub fn matches(self, status: u16, code: Option<&str>) -> bool {
        match self {
            Refusal::Unauthenticated => status == 401 && code == Some("unauthenticated"),
            Refusal::DeviceNotFound => status == 404 && code == Some("device-not-found"),
            Refusal::DeviceCredentials => {
                status == 401 && code == Some("invalid-device-credentials")
            }
            Refusal::NotFound => {
                status == 404
                    && matches!(code, Some("not-found" | "session-not-found" | "ticket-not-found"))
            }
            Refusal::Link => {
                (status == 403 && code == Some("invalid-link"))
                    || Refusal::DeviceNotFound.matches(status, code)
            }
            Refusal::StaffForbidden => status == 403 && code == Some("staff-forbidden"),
        }
    }

    /// The answer a policy gives for this refusal (for the unit tests' simulated policies).
    pub fn answer(self) -> (u16, Option<&'static str>) {
        match self {
            Refusal::Unauthenticated => (401, Some("unauthenticated")),
            Refusal::DeviceNotFound | Refusal::Link => (404, Some("device-not-found")),
            Refusal::NotFound => (404, Some("not-found")),
            Refusal::DeviceCredentials => (401, Some("invalid-device-credentials")),
            Refusal::StaffForbidden => (403, Some("staff-forbidden")),
        }
    }
}

/// What the policy says a principal gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Allowed,
    Refused(Refusal),
}

/// The published policy: what `standing` gets from an operation that `requires` this.
pub fn expected(requires: Requires, standing: Standing) -> Expect {
    use Expect::{Allowed, Refused};
    let held = match standing {
        Standing::Account(held) => Some(held),
        Standing::NoSession | Standing::Staff(_) => None,
    };
    match (requires, held) {
        (Requires::Anyone, _) => Allowed,
        (Requires::DeviceCredentials, _) => Refused(Refusal::DeviceCredentials),
        (Requires::Staff(p), _) => match standing {
            Standing::Staff(role) if role.permits(p) => Allowed,
            Standing::Staff(_) => Refused(Refusal::StaffForbidden),
            _ => Refused(Refusal::Unauthenticated),
        },
        (Requires::Link(c), Some(held)) if held.contains(c) => Allowed,
        (Requires::Link(_), _) => Refused(Refusal::Link),
        (_, None) => Refused(Refusal::Unauthenticated),
        (Requires::Account, Some(_)) => Allowed,
        (Requires::AccountsOwnObject, Some(_)) => Refused(Refusal::NotFound),
        (Requires::DeviceAll(set), Some(held)) if held.covers(set) => Allowed,
        (Requires::DeviceAny(set), Some(held)) if !held.intersection(set).is_empty() => Allowed,
        (Requires::DeviceAll(_) | Requires::DeviceAny(_), Some(_)) => {
            Refused(Refusal::DeviceNotFound)
        }
    }
}

/// The refusals that, answered to an allowed principal, are an over-refusal.
fn refusals_of(requires: Requires) -> &'static [Refusal] {
    match requires {
        Requires::AccountsOwnObject => &[Refusal::Unauthenticated, Refusal::NotFound],
        Requires::DeviceAll(_) | Requires::DeviceAny(_) => {
            &[Refusal::Unauthenticated, Refusal::DeviceNotFound]
        }
        Requires::Link(_) => &[Refusal::Link],
        Requires::DeviceCredentials => &[Refusal::DeviceCredentials],
        Requires::Staff(_) => &[Refusal::Unauthenticated, Refusal::StaffForbidden],
        _ => &[Refusal::Unauthenticated],
    }
}

/// The codes an authorization refusal answers with, whichever it is. Any other answer to a
/// refused principal means the request got past the decision.
const REFUSAL_CODES: [&str; 10] = [
    "unauthenticated",
    "device-not-found",
    "not-found",
    "session-not-found",
    "invalid-link",
    "wrong-link-purpose",
    "invalid-device-credentials",
    "account-banned",
    "forbidden",
    "staff-forbidden",
];

/// How an answer measures up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Refused by the policy, but answered past the decision: a success, or what only the
    /// operation itself answers (a missing recording, a bad body, a stream not started).
    Leak {
        expected: Refusal,
        status: u16,
        code: Option<String>,
    },
    /// Refused by the policy, but with another refusal than the one it implies (a 403 that
    /// tells the requester the device exists; `not-found` for a device).
    WrongRefusal {
        expected: Refusal,
        status: u16,
        code: Option<String>,
    },
    /// Allowed by the policy, but answered with a refusal.
    OverRefusal {
        status: u16,
        code: Option<String>,
    },
}

/// Whether the answer `(status, code)` keeps to `expect` for an operation that `requires`.
pub fn judge(requires: Requires, expect: Expect, status: u16, code: Option<&str>) -> Verdict {
    let code_owned = code.map(String::from);
    match expect {
        Expect::Allowed if refusals_of(requires).iter().any(|r| r.matches(status, code)) => {
            Verdict::OverRefusal { status, code: code_owned }
        }
        Expect::Allowed => Verdict::Ok,
        Expect::Refused(r) if r.matches(status, code) => Verdict::Ok,
        Expect::Refused(expected)
            if matches!(status, 401 | 403 | 404)
                && code.is_some_and(|c| REFUSAL_CODES.contains(&c)) =>
        {
            Verdict::WrongRefusal { expected, status, code: code_owned }
        }
        Expect::Refused(expected) => Verdict::Leak { expected, status, code: code_owned },
    }
}

/// The cell of the published table: ✓ allowed, "own" allowed on its own objects only, —
/// refused.
pub fn cell(requires: Requires, standing: Standing) -> &'static str {
    match expected(requires, standing) {
        Expect::Allowed => "✓",
        Expect::Refused(Refusal::NotFound) => "own",
        Expect::Refused(_) => "—",
    }
}

#[cfg(test)]
mod tests {
    use kankan_api::routes::ROUTES;

    use super::*;
    use Capability as C;

    /// A policy the simulated server follows.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Policy {
        Published,
        /// Counts a grant whose time box has passed.
        IgnoresTimeBoxes,
        /// Lets any member share the device onward.
        AnyMemberShares,
        /// Keeps the sessions of a banned account.
        KeepsBannedSessions,
        /// Answers 403 for a device the requester may not touch (which tells it the device
        /// exists).
        ForbiddenNotNotFound,
        /// Forgets grants: a member is a stranger.
        IgnoresGrants,
        /// Lets every staff session do what an administrator may.
        IgnoresStaffRoles,
    }

    fn principals() -> Vec<Principal> {
        let member = CapabilitySet::member_default();
        let all = CapabilitySet::grantable();
        let p = |name, standing, granted, lapse| Principal { name, standing, granted, lapse };
        vec![
            p("anonymous", Standing::NoSession, CapabilitySet::EMPTY, Lapse::None),
            p("owner", Standing::Account(CapabilitySet::all()), CapabilitySet::all(), Lapse::None),
            p("member", Standing::Account(member), member, Lapse::None),
            p("member+talk", Standing::Account(member | C::Talk), member | C::Talk, Lapse::None),
            p("expired", Standing::Account(CapabilitySet::EMPTY), all, Lapse::TimeBox),
            p("off-schedule", Standing::Account(CapabilitySet::EMPTY), all, Lapse::Schedule),
            p("removed", Standing::Account(CapabilitySet::EMPTY), all, Lapse::Revoked),
            p("banned", Standing::NoSession, all, Lapse::Banned),
            p(
                "stranger",
                Standing::Account(CapabilitySet::EMPTY),
                CapabilitySet::EMPTY,
                Lapse::None,
            ),
            p("support", Standing::Staff(StaffRole::Support), CapabilitySet::EMPTY, Lapse::None),
            p(
                "operations",
                Standing::Staff(StaffRole::Operations),
                CapabilitySet::EMPTY,
                Lapse::None,
            ),
            p(
                "admin",
                Standing::Staff(StaffRole::Administrator),
                CapabilitySet::EMPTY,
                Lapse::None,
            ),
        ]
    }

    /// What a server following `policy` answers `p` (the published refusal or a success).
    fn answer(policy: Policy, requires: Requires, p: &Principal) -> (u16, Option<&'static str>) {
        let is_member = matches!(p.standing, Standing::Account(h) if h != CapabilitySet::all());
        let standing = match (policy, p.lapse, p.standing) {
            (Policy::IgnoresTimeBoxes, Lapse::TimeBox | Lapse::Schedule, _) => {
                Standing::Account(p.granted)
            }
            (Policy::KeepsBannedSessions, Lapse::Banned, _) => Standing::Account(p.granted),
            (Policy::AnyMemberShares, _, Standing::Account(h)) if is_member && !h.is_empty() => {
                Standing::Account(h | C::Share)
            }
            (Policy::IgnoresGrants, _, Standing::Account(_)) if is_member => {
                Standing::Account(CapabilitySet::EMPTY)
            }
            (Policy::IgnoresStaffRoles, _, Standing::Staff(_)) => {
                Standing::Staff(StaffRole::Administrator)
            }
            _ => p.standing,
        };
        match expected(requires, standing) {
            Expect::Allowed => (200, None),
            Expect::Refused(Refusal::DeviceNotFound) if policy == Policy::ForbiddenNotNotFound => {
                (403, Some("forbidden"))
            }
            Expect::Refused(r) => r.answer(),
        }
    }

    /// Every operation's requirement, and one that needs `share` (the members routes).
    fn requirements() -> Vec<Requires> {
        let mut out: Vec<Requires> = ROUTES
            .iter()
            .filter(|r| r.access != Access::Device(Need::PerCommand))
            .map(|r| requires(r.access, None, r.path.contains("{id}")))
            .collect();
        out.extend(
            C::ALL
                .into_iter()
                .map(|c| requires(dev_per_command(), Some(Requires::DeviceAll(c.into())), false)),
        );
        out.push(Requires::DeviceAll(C::Share.into()));
        out
    }

    fn dev_per_command() -> Access {
        Access::Device(Need::PerCommand)
    }

    /// Every verdict other than Ok, as (principal, requirement, verdict).
    fn findings(policy: Policy) -> Vec<(&'static str, Requires, Verdict)> {
        let mut out = Vec::new();
        for req in requirements() {
            for p in principals() {
                let (status, code) = answer(policy, req, &p);
                let v = judge(req, expected(req, p.standing), status, code);
                if v != Verdict::Ok {
                    out.push((p.name, req, v));
                }
            }
        }
        out
    }

    #[test]
    fn the_published_policy_passes_its_own_matrix() {
        assert_eq!(findings(Policy::Published), vec![]);
    }

    #[test]
    fn a_policy_that_ignores_time_boxes_is_caught_leaking_to_the_expired_member() {
        let f = findings(Policy::IgnoresTimeBoxes);
        assert!(!f.is_empty());
        let lapsed = ["expired", "off-schedule"];
        assert!(
            f.iter().all(|(who, _, v)| lapsed.contains(who) && matches!(v, Verdict::Leak { .. }))
        );
        let playback = Requires::DeviceAll(C::PlayBack.into());
        for who in lapsed {
            assert!(f.iter().any(|(w, r, _)| *w == who && *r == playback), "{who}: {f:?}");
        }
        assert!(f.iter().any(|(_, r, _)| *r == Requires::Link(C::Download)), "{f:?}");
    }

    #[test]
    fn a_policy_that_lets_any_member_share_is_caught_leaking_sharing_to_members() {
        let f = findings(Policy::AnyMemberShares);
        let share = Requires::DeviceAll(C::Share.into());
        assert!(f.iter().any(|(who, r, v)| *who == "member"
            && *r == share
            && *v == Verdict::Leak { expected: Refusal::DeviceNotFound, status: 200, code: None }));
        assert!(f.iter().all(|(who, r, _)| who.starts_with("member") && *r == share), "{f:?}");
    }

    #[test]
    fn a_policy_that_keeps_a_banned_accounts_sessions_is_caught() {
        let f = findings(Policy::KeepsBannedSessions);
        let leak = Verdict::Leak { expected: Refusal::Unauthenticated, status: 200, code: None };
        assert!(
            f.iter().any(|(who, r, v)| *who == "banned" && *r == Requires::Account && *v == leak)
        );
        assert!(f.iter().all(|(who, _, _)| *who == "banned"), "{f:?}");
    }

    #[test]
    fn a_403_for_anothers_device_is_a_wrong_refusal_and_forgotten_grants_an_over_refusal() {
        let f = findings(Policy::ForbiddenNotNotFound);
        assert!(!f.is_empty());
        assert!(f.iter().all(|(_, _, v)| matches!(v, Verdict::WrongRefusal { status: 403, .. })));
        let f = findings(Policy::IgnoresGrants);
        assert!(
            f.iter().any(
                |(who, r, _)| *who == "member" && *r == Requires::DeviceAll(C::ViewLive.into())
            )
        );
        assert!(f.iter().all(|(_, _, v)| matches!(v, Verdict::OverRefusal { .. })), "{f:?}");
    }

    #[test]
    fn a_policy_that_ignores_staff_roles_is_caught_letting_support_ban() {
        let f = findings(Policy::IgnoresStaffRoles);
        let ban = Requires::Staff(StaffPermission::AccountsBan);
        let leak = Verdict::Leak { expected: Refusal::StaffForbidden, status: 200, code: None };
        assert!(f.iter().any(|(who, r, v)| *who == "support" && *r == ban && *v == leak), "{f:?}");
        assert!(f.iter().all(|(who, _, _)| ["support", "operations"].contains(who)), "{f:?}");
        // A staff member refused as a stranger would be is a wrong refusal, not silence.
        let refused = Expect::Refused(Refusal::StaffForbidden);
        assert!(matches!(
            judge(ban, refused, 401, Some("unauthenticated")),
            Verdict::WrongRefusal { .. }
        ));
    }

    #[test]
    fn refusals_are_exact() {
        let r = Requires::DeviceAll(C::View.into());
        let refused = Expect::Refused(Refusal::DeviceNotFound);
        assert_eq!(judge(r, refused, 404, Some("device-not-found")), Verdict::Ok);
        assert!(matches!(judge(r, refused, 404, Some("not-found")), Verdict::WrongRefusal { .. }));
        // Validating the body first tells a stranger the device exists.
        assert!(matches!(judge(r, refused, 422, Some("invalid-settings")), Verdict::Leak { .. }));
        assert!(matches!(judge(r, refused, 204, None), Verdict::Leak { .. }));
        // An allowed principal may meet any other answer (a missing recording, a bad body).
        assert_eq!(judge(r, Expect::Allowed, 404, Some("no-recording")), Verdict::Ok);
        assert!(matches!(
            judge(r, Expect::Allowed, 401, Some("unauthenticated")),
            Verdict::OverRefusal { .. }
        ));
        let link = Requires::Link(C::PlayBack);
        let refused = Expect::Refused(Refusal::Link);
        assert_eq!(judge(link, refused, 403, Some("invalid-link")), Verdict::Ok);
        assert_eq!(judge(link, refused, 404, Some("device-not-found")), Verdict::Ok);
        // A link that got as far as the recordings.
        assert!(matches!(judge(link, refused, 404, Some("no-recording")), Verdict::Leak { .. }));
        assert!(matches!(
            judge(link, refused, 403, Some("wrong-link-purpose")),
            Verdict::WrongRefusal { .. }
        ));
    }
}
