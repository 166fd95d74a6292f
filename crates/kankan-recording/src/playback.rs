//! Playback: the timeline, short-lived signed links, HLS over the stored segments, MP4
//! export of a range and snapshots (of a recorded time, or of the live picture). Every read
//! goes through a [`DeviceHandle`] that `Devices::authorize_device` (or, for a signed link,
//! [`Recordings::authorize_link`]) made, and checks the capability it needs on it: `play-back`
//! for the timeline, HLS and recorded snapshots, `download` for exports, `view-live` for the
//! live picture.

use kankan_base::{AccountId, SessionId, Timestamp};
use kankan_crypto::AeadKey;
use kankan_db::{Segment, Span};
use kankan_media::{Fragment, InitSegment, Limits};

use super::Recordings;
use super::access::AccessKind;
use super::ingest::{blocking, init_aad};
use super::segfile;
use crate::{CoreError, Principal};
use kankan_core::authz::{Capability, CapabilitySet};
use kankan_devices::DeviceHandle;

/// Longest range one timeline query covers.
const MAX_TIMELINE_MS: i64 = 31 * 86_400_000;
/// Longest range one playlist or export covers.
pub(super) const MAX_RANGE_MS: i64 = 86_400_000;
/// Most segments in one playlist.
pub(super) const MAX_PLAYLIST_SEGMENTS: u32 = 30_000;

/// What a media link is for; a link opens nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Recorded footage: the HLS playlist, init and segments, snapshots (`play-back`) and MP4
    /// exports (`download`).
    PlayBack,
    /// The live picture: the live WebSocket and a WebRTC session without talk (`view-live`).
    Live,
    /// Talking through the camera: a WebRTC session with its talk channel (`view-live` and
    /// `talk`).
    Talk,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::PlayBack => "playback",
            LinkPurpose::Live => "live",
            LinkPurpose::Talk => "talk",
        }
    }

    pub fn parse(s: &str) -> Option<LinkPurpose> {
        [LinkPurpose::PlayBack, LinkPurpose::Live, LinkPurpose::Talk]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    /// The capabilities a link of this purpose can exercise (each use still asks the device
    /// policy for the one it needs).
    pub fn capabilities(self) -> CapabilitySet {
        match self {
            LinkPurpose::PlayBack => {
                CapabilitySet::from(Capability::PlayBack).union(Capability::Download.into())
            }
            LinkPurpose::Live => Capability::ViewLive.into(),
            LinkPurpose::Talk => {
                CapabilitySet::from(Capability::ViewLive).union(Capability::Talk.into())
            }
        }
    }

    /// What an account must hold for a link of this purpose to be issued: the set, and
    /// whether all of it (else one of it) is needed.
    pub fn issue_need(self) -> (CapabilitySet, bool) {
        // (set, all of it?) — playback needs one of play-back and download, talk both.
        match self {
            LinkPurpose::PlayBack => (self.capabilities(), false),
            LinkPurpose::Live | LinkPurpose::Talk => (self.capabilities(), true),
        }
    }
}

/// A link that lets its holder reach one device's media for a short time, for one purpose:
/// it names the account and the session it was issued to, and every use checks that the
/// session is still live, that the route serves the link's purpose, and asks the device policy
/// again for the capability the route needs.
#[derive(Debug, Clone)]
pub struct MediaLink {
    pub token: String,
    pub purpose: LinkPurpose,
    pub expires_at: Timestamp,
}

/// How a support link names its staff member where an account's link names its session.
const STAFF_HOLDER: &str = "staff-";

/// What a valid link token says.
#[derive(Debug, Clone, Copy)]
pub struct MediaGrant {
    pub account: AccountId,
    /// The session that asked for the link: the link dies with it (nil for a staff link).
    pub session: SessionId,
    /// The staff member a support link was issued to; `None` for the account's own links.
    pub staff: Option<kankan_base::StaffId>,
    pub purpose: LinkPurpose,
    /// What the link was issued for: the purpose's capabilities the account held then.
    pub capabilities: CapabilitySet,
}

/// One entry of a playlist.
#[derive(Debug, Clone)]
pub struct PlaylistSegment {
    pub id: i64,
    pub init_id: i64,
    pub start: Timestamp,
    pub duration_ms: u32,
}

/// The segments of a range, in order.
#[derive(Debug, Clone)]
pub struct Playlist {
    pub segments: Vec<PlaylistSegment>,
}

pub(super) fn check_range(from: Timestamp, to: Timestamp, max: i64) -> Result<(), CoreError> {
    if to.0 <= from.0 || to.0 - from.0 > max {
        return Err(CoreError::InvalidDeviceInput(format!(
            "the range must be non-empty and at most {} hours long",
            max / 3_600_000
        )));
    }
    Ok(())
}

impl Recordings {
    /// Recorded spans of `[from, to)`; gaps are what lies between them (`play-back`).
    pub async fn timeline(
        &self,
        h: &DeviceHandle,
        stream: u8,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Span>, CoreError> {
        h.require(Capability::PlayBack)?;
        self.spans_of(h, stream, from, to).await
    }

    /// The timeline without the capability check, for an operation that checked its own.
    pub(crate) async fn spans_of(
        &self,
        h: &DeviceHandle,
        stream: u8,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Span>, CoreError> {
        check_range(from, to, MAX_TIMELINE_MS)?;
        Ok(self.inner.store.spans(h.uid(), stream, from, to).await?)
    }

    /// A link token for the device's media, valid for `link_ttl_secs`, for `purpose` only,
    /// issued to the session of `p`; `DeviceNotFound` when the handle does not hold what the
    /// purpose needs. The access goes into the device's access log (live, talk, or playback
    /// when the link plays back).
    pub async fn link(
        &self,
        p: &Principal,
        h: &DeviceHandle,
        purpose: LinkPurpose,
    ) -> Result<MediaLink, CoreError> {
        let s = &self.inner;
        let caps = h.granted().intersection(purpose.capabilities());
        let ok = match purpose.issue_need() {
            (need, true) => caps.covers(need),
            (_, false) => !caps.is_empty(),
        };
        if !ok || h.account() != p.account_id {
            return Err(CoreError::DeviceNotFound);
        }
        let exp = Timestamp(s.clock.now().0 + i64::from(s.config.link_ttl_secs) * 1000);
        let (account, session) = (p.account_id.to_string(), p.session_id.to_string());
        let sig = self.link_mac(&account, &session, purpose, caps, h.uid(), exp);
        let token =
            format!("{account}.{session}.{}.{}.{}.{sig}", purpose.as_str(), caps.bits(), exp.0);
        let kind = match purpose {
            LinkPurpose::Live => Some(AccessKind::Live),
            LinkPurpose::Talk => Some(AccessKind::Talk),
            // A playback link that only downloads is logged when it does.
            LinkPurpose::PlayBack if caps.contains(Capability::PlayBack) => {
                Some(AccessKind::PlayBack)
            }
            LinkPurpose::PlayBack => None,
        };
        if let Some(kind) = kind {
            self.record_access(h, kind).await?;
        }
        Ok(MediaLink { token, purpose, expires_at: exp })
    }

    /// A playback link for a staff member helping the device's owner under a support grant
    /// (`h` from `Devices::support_access`): it carries `play-back` only and names the staff
    /// member instead of a session; each use asks the support decision again.
    pub fn support_link(
        &self,
        staff: kankan_base::StaffId,
        h: &DeviceHandle,
    ) -> Result<MediaLink, CoreError> {
        h.require(Capability::PlayBack)?;
        let s = &self.inner;
        let purpose = LinkPurpose::PlayBack;
        let caps = CapabilitySet::from(Capability::PlayBack);
        let exp = Timestamp(s.clock.now().0 + i64::from(s.config.link_ttl_secs) * 1000);
        let (account, holder) = (h.account().to_string(), format!("{STAFF_HOLDER}{staff}"));
        let sig = self.link_mac(&account, &holder, purpose, caps, h.uid(), exp);
        let token =
            format!("{account}.{holder}.{}.{}.{}.{sig}", purpose.as_str(), caps.bits(), exp.0);
        Ok(MediaLink { token, purpose, expires_at: exp })
    }

    fn link_mac(
        &self,
        account: &str,
        session: &str,
        purpose: LinkPurpose,
        caps: CapabilitySet,
        uid: &str,
        exp: Timestamp,
    ) -> String {
        let (caps, exp) = (caps.bits().to_be_bytes(), exp.0.to_be_bytes());
        let parts: [&[u8]; 7] = [
            b"media-link-v2",
            account.as_bytes(),
            session.as_bytes(),
            purpose.as_str().as_bytes(),
            &caps,
            uid.as_bytes(),
            &exp,
        ];
        self.inner.keyring.media_url_mac(&parts)
    }

    /// Checks a link token for `uid`: signature, device and expiry. It says nothing yet about
    /// the session or the device policy: [`Recordings::authorize_link`] asks both.
    pub fn verify_link(&self, uid: &str, token: &str) -> Result<MediaGrant, CoreError> {
        let mut parts = token.splitn(6, '.');
        let mut next = || parts.next().ok_or(CoreError::InvalidLink);
        let (account, session, purpose) = (next()?, next()?, next()?);
        let (caps, exp, sig) = (next()?, next()?, next()?);
        let purpose = LinkPurpose::parse(purpose).ok_or(CoreError::InvalidLink)?;
        let caps = CapabilitySet::from_bits(caps.parse().map_err(|_| CoreError::InvalidLink)?);
        let exp = Timestamp(exp.parse().map_err(|_| CoreError::InvalidLink)?);
        let want = self.link_mac(account, session, purpose, caps, uid, exp);
        let same = kankan_base::constant_time_eq(want.as_bytes(), sig.as_bytes());
        if !same || exp.0 < self.inner.clock.now().0 {
            return Err(CoreError::InvalidLink);
        }
        let account = AccountId(account.parse().map_err(|_| CoreError::InvalidLink)?);
        let (session, staff) = match session.strip_prefix(STAFF_HOLDER) {
            Some(staff) => {
                let staff = staff.parse().map_err(|_| CoreError::InvalidLink)?;
                (SessionId(uuid::Uuid::nil()), Some(kankan_base::StaffId(staff)))
            }
            None => (SessionId(session.parse().map_err(|_| CoreError::InvalidLink)?), None),
        };
        Ok(MediaGrant { account, session, staff, purpose, capabilities: caps })
    }

    /// The device handle for `need` that a link grants, used for `purpose`: the token is
    /// checked (`InvalidLink`), must be a link for `purpose` (`WrongLinkPurpose`), its session
    /// must still be live (`InvalidLink`: logged out, signed out, password changed or reset,
    /// banned), and the device policy decides again, for the account the link was issued to,
    /// whether it still holds `need` (`DeviceNotFound`: unbound, grant revoked).
    pub async fn authorize_link(
        &self,
        uid: &str,
        token: &str,
        purpose: LinkPurpose,
        need: Capability,
    ) -> Result<(DeviceHandle, MediaGrant), CoreError> {
        let grant = self.verify_link(uid, token)?;
        self.authorize_grant(grant, uid, purpose, need).await
    }

    /// [`Recordings::authorize_link`] for a link already verified (`verify_link`), so that a
    /// caller that reads the grant first does not check its signature twice.
    pub async fn authorize_grant(
        &self,
        grant: MediaGrant,
        uid: &str,
        purpose: LinkPurpose,
        need: Capability,
    ) -> Result<(DeviceHandle, MediaGrant), CoreError> {
        if grant.purpose != purpose || !purpose.capabilities().contains(need) {
            return Err(CoreError::WrongLinkPurpose(grant.purpose.as_str()));
        }
        if !grant.capabilities.contains(need) {
            return Err(CoreError::InvalidLink);
        }
        if let Some(staff) = grant.staff {
            // A support link: the account's grant is decided again on every use, so one
            // withdrawn or expired ends it at the next request.
            let h = self.inner.devices.authorize_support(staff, grant.account, need, uid).await?;
            return Ok((h, grant));
        }
        if !self.inner.revocations.session_live(grant.account, grant.session).await? {
            return Err(CoreError::InvalidLink);
        }
        let h = self.inner.devices.authorize_account(grant.account, need, uid).await?;
        Ok((h, grant))
    }

    /// The segments overlapping `[from, to)` (`play-back`).
    pub async fn playlist(
        &self,
        h: &DeviceHandle,
        stream: u8,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Playlist, CoreError> {
        h.require(Capability::PlayBack)?;
        check_range(from, to, MAX_RANGE_MS)?;
        let segs =
            self.inner.store.segments(h.uid(), stream, from, to, MAX_PLAYLIST_SEGMENTS).await?;
        let segments = segs
            .into_iter()
            .map(|s| PlaylistSegment {
                id: s.id,
                init_id: s.init_id,
                start: s.start,
                duration_ms: s.duration_ms,
            })
            .collect();
        Ok(Playlist { segments })
    }

    /// The init segment (`ftyp` + `moov`), decrypted (`play-back`).
    pub async fn init_bytes(&self, h: &DeviceHandle, id: i64) -> Result<Vec<u8>, CoreError> {
        h.require(Capability::PlayBack)?;
        self.init_of(h, id).await
    }

    /// The init segment, for an operation that checked its own capability.
    pub(super) async fn init_of(&self, h: &DeviceHandle, id: i64) -> Result<Vec<u8>, CoreError> {
        let s = &self.inner;
        let init = s.store.media_init(id).await?.filter(|i| i.uid == h.uid());
        let init = init.ok_or(CoreError::NoRecording)?;
        let key = self.key_with(h.device(), h.device_key()).await?;
        let sealed = s.blobs.get(init.blob).await?.ok_or(CoreError::NoRecording)?;
        Ok(key.open(&sealed, &init_aad(h.uid(), init.blob))?)
    }

    /// One stored segment's media (`moof` + `mdat` ...), decrypted (`play-back`).
    pub async fn segment_bytes(&self, h: &DeviceHandle, id: i64) -> Result<Vec<u8>, CoreError> {
        h.require(Capability::PlayBack)?;
        let seg = self.inner.store.segment(id).await?.filter(|s| s.uid == h.uid());
        let seg = seg.ok_or(CoreError::NoRecording)?;
        let key = self.key_with(h.device(), h.device_key()).await?;
        Ok(self.open_fragments(&seg, &key).await?.concat())
    }

    pub(super) async fn open_fragments(
        &self,
        seg: &Segment,
        key: &AeadKey,
    ) -> Result<Vec<Vec<u8>>, CoreError> {
        let s = &self.inner;
        let bytes = match s.blobs.get(seg.blob).await? {
            Some(b) => b,
            // Indexed a moment ago and not yet moved out of the journal.
            None => {
                let path = s.journal.join(format!("{}.seal", seg.blob));
                tokio::fs::read(path).await.map_err(|_| CoreError::NoRecording)?
            }
        };
        let (blob, key) = (seg.blob, key.clone());
        blocking(move || segfile::open_segment(&bytes, blob, &key).map(|(_, f)| f)).await
    }

    /// A JPEG of the picture shown at `at`: decoded from the segment's first keyframe
    /// (`play-back`).
    pub async fn snapshot(&self, h: &DeviceHandle, at: Timestamp) -> Result<Vec<u8>, CoreError> {
        h.require(Capability::PlayBack)?;
        let s = &self.inner;
        let segs = s.store.segments(h.uid(), 0, at, Timestamp(at.0 + 1), 1).await?;
        let seg = segs.into_iter().next().ok_or(CoreError::NoRecording)?;
        let init_bytes = self.init_of(h, seg.init_id).await?;
        let key = self.key_with(h.device(), h.device_key()).await?;
        let frags = self.open_fragments(&seg, &key).await?;
        blocking(move || {
            let init = kankan_media::parse_init(&init_bytes, &Limits::default())?;
            snapshot_of(&init, timed(&init, frags, &seg)?, at)
        })
        .await
    }
}

impl Recordings {
    /// A JPEG of the picture a live stream shows now: the current GOP, decoded from its
    /// keyframe to its newest frame. A camera streaming on demand is started for it (see
    /// [`Recordings::watch_live`] for the errors; `view-live`).
    pub async fn live_snapshot(&self, h: &DeviceHandle, stream: u8) -> Result<Vec<u8>, CoreError> {
        let viewer = self.watch_live(h, stream).await?;
        gop_snapshot(viewer).await
    }

    /// The same, only when the stream is live already (`NotLive` otherwise): nothing is
    /// started (an event's thumbnail; `view-live`).
    pub async fn current_snapshot(
        &self,
        h: &DeviceHandle,
        stream: u8,
    ) -> Result<Vec<u8>, CoreError> {
        h.require(Capability::ViewLive)?;
        let viewer = self.live().subscribe(h.uid(), stream).ok_or(CoreError::NotLive)?;
        gop_snapshot(viewer).await
    }
}

/// Decodes a new viewer's current GOP to its newest picture.
async fn gop_snapshot(mut viewer: kankan_core::live::Viewer) -> Result<Vec<u8>, CoreError> {
    let mut parts = std::mem::take(&mut viewer.start).into_iter();
    drop(viewer);
    let init_bytes = parts.next().ok_or(CoreError::NotLive)?;
    let gop: Vec<_> = parts.collect();
    blocking(move || {
        let limits = Limits::default();
        let init = kankan_media::parse_init(&init_bytes, &limits)?;
        let frags = gop
            .iter()
            .map(|b| Ok((kankan_media::parse_fragment(&init, b, &limits)?, 0, 0)))
            .collect::<Result<Vec<_>, CoreError>>()?;
        snapshot_of(&init, frags, Timestamp(i64::MAX))
    })
    .await
}

/// Parses a segment's fragments and places each on the wall clock.
pub(super) fn timed(
    init: &InitSegment,
    frags: Vec<Vec<u8>>,
    seg: &Segment,
) -> Result<Vec<(Fragment, i64, i64)>, CoreError> {
    Ok(timed_indexed(init, frags, seg)?.into_iter().map(|(_, f, a, b)| (f, a, b)).collect())
}

/// The same, with each fragment's position in the segment. Fragments without video (audio
/// only) are left out.
pub(super) fn timed_indexed(
    init: &InitSegment,
    frags: Vec<Vec<u8>>,
    seg: &Segment,
) -> Result<Vec<(usize, Fragment, i64, i64)>, CoreError> {
    let limits = Limits::default();
    let scale = i128::from(init.video().map_or(1, |v| v.timescale.max(1)));
    let mut out = Vec::with_capacity(frags.len());
    let mut base = None;
    for (i, bytes) in frags.into_iter().enumerate() {
        let f = kankan_media::parse_fragment(init, &bytes, &limits)?;
        let Some(run) = f.video_run(init) else { continue };
        let t0 = *base.get_or_insert(run.base_decode_time);
        let ms =
            |t: u64| i64::try_from((i128::from(t) - i128::from(t0)) * 1000 / scale).unwrap_or(0);
        let (start, end) = (
            seg.start.0.saturating_add(ms(run.base_decode_time)),
            seg.start.0.saturating_add(ms(run.end_decode_time())),
        );
        out.push((i, f, start, end));
    }
    Ok(out)
}

/// Decodes from the first keyframe up to the sample shown at `at`, and encodes that picture
/// as JPEG.
fn snapshot_of(
    init: &InitSegment,
    frags: Vec<(Fragment, i64, i64)>,
    at: Timestamp,
) -> Result<Vec<u8>, CoreError> {
    let video = init.video().ok_or(CoreError::NoRecording)?;
    let avc = kankan_media::AvcConfig::from_stsd(&video.stsd);
    let sets = avc.and_then(|c| Some((c.sps.into_iter().next()?, c.pps.into_iter().next()?)));
    let (sps, pps) = sets.ok_or_else(|| CoreError::InvalidMedia {
        code: "media-unsupported-codec",
        message: "the stored init segment has no H.264 parameter sets".into(),
    })?;
    let scale = i128::from(video.timescale.max(1));
    let mut units: Vec<Vec<u8>> = Vec::new();
    'frags: for (f, start, _) in &frags {
        let Some(run) = f.video_run(init) else { continue };
        let mut t = 0i128;
        for sample in &run.samples {
            let when = start.saturating_add(i64::try_from(t * 1000 / scale).unwrap_or(0));
            if when > at.0 && !units.is_empty() {
                break 'frags;
            }
            if sample.keyframe {
                units.clear();
            }
            if let Some(data) = f.sample_data(sample) {
                units.push(data.to_vec());
            }
            t += i128::from(sample.duration);
        }
    }
    if units.is_empty() {
        return Err(CoreError::NoRecording);
    }
    let refs: Vec<&[u8]> = units.iter().map(Vec::as_slice).collect();
    kankan_video::snapshot_jpeg(&sps, &pps, &refs, 85)
        .map_err(|e| CoreError::Internal(format!("snapshot: {e}")))
}
