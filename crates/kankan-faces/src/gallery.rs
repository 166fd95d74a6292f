//! What people see of the faces: the owner's gallery (named faces) and the strangers of the
//! last two days with their sightings, naming and deleting, the faces seen on one camera (the
//! owner, or a member the owner granted `see-faces`), the face on an event.

use std::collections::BTreeMap;

use kankan_base::{AccountId, Timestamp};
use kankan_core::authz::Capability;
use kankan_core::{CoreError, Principal};
use kankan_crypto::AccountKey;
use kankan_db::{Event, FaceRow, FaceSighting};

use crate::{
    Faces, MAX_NAME_CHARS, Relation, UNNAMED_KEPT_MS, crop_field, name_field, not_found, open_name,
};

/// Most sightings one listing carries.
const MAX_SIGHTINGS: u32 = 2_000;

/// One sighting as people see it.
#[derive(Debug, Clone, PartialEq)]
pub struct SightingView {
    pub id: uuid::Uuid,
    pub event_id: uuid::Uuid,
    pub uid: String,
    pub seen_at: Timestamp,
}

/// One face as people see it, with its sightings of the last two days (newest first).
#[derive(Debug, Clone, PartialEq)]
pub struct FaceView {
    pub id: uuid::Uuid,
    pub name: Option<String>,
    pub relation: Option<Relation>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub sightings: Vec<SightingView>,
}

/// The owner's faces: the gallery (named) and the strangers seen in the last two days.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceList {
    pub gallery: Vec<FaceView>,
    pub strangers: Vec<FaceView>,
}

/// The faces seen on one camera in the last two days.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceFaces {
    pub faces: Vec<FaceView>,
}

/// The face on an event, as the requester may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFace {
    pub id: uuid::Uuid,
    pub name: Option<String>,
    pub stranger: bool,
}

fn view(
    key: &AccountKey,
    f: &FaceRow,
    sightings: &BTreeMap<uuid::Uuid, Vec<SightingView>>,
) -> Result<FaceView, CoreError> {
    Ok(FaceView {
        id: f.id,
        name: open_name(key, f)?,
        relation: f.relation.as_deref().and_then(Relation::parse),
        first_seen: f.first_seen,
        last_seen: f.last_seen,
        sightings: sightings.get(&f.id).cloned().unwrap_or_default(),
    })
}

fn by_face(rows: Vec<FaceSighting>) -> BTreeMap<uuid::Uuid, Vec<SightingView>> {
    let mut out: BTreeMap<uuid::Uuid, Vec<SightingView>> = BTreeMap::new();
    for s in rows {
        out.entry(s.face_id).or_default().push(SightingView {
            id: s.id,
            event_id: s.event_id,
            uid: s.uid,
            seen_at: s.seen_at,
        });
    }
    out
}

/// A name as given: trimmed, 1 to [`MAX_NAME_CHARS`] characters, no control characters.
pub(crate) fn check_name(name: &str) -> Result<String, CoreError> {
    let name = name.trim();
    let bad = |message: String| CoreError::InvalidSettings { code: "invalid-face-name", message };
    if name.is_empty() {
        return Err(bad("a face's name cannot be empty".into()));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(bad(format!("a face's name has at most {MAX_NAME_CHARS} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("a face's name cannot hold control characters".into()));
    }
    Ok(name.to_string())
}

impl Faces {
    fn since(&self) -> Timestamp {
        Timestamp(self.inner.clock.now().0 - UNNAMED_KEPT_MS)
    }

    /// The account's gallery and the strangers of the last two days, each with its sightings
    /// of the last two days.
    pub async fn list(&self, p: &Principal) -> Result<FaceList, CoreError> {
        let s = &self.inner;
        let account = p.account_id;
        let key = s.devices.key_of_account(account).await?;
        let since = self.since();
        let sightings = by_face(s.store.face_sightings_since(account, since, MAX_SIGHTINGS).await?);
        let mut list = FaceList { gallery: Vec::new(), strangers: Vec::new() };
        for f in s.store.faces_of(account).await? {
            if f.name_enc.is_some() {
                list.gallery.push(view(&key, &f, &sightings)?);
            } else if f.last_seen >= since {
                // One the sweep has not reached yet is not shown past its two days either.
                list.strangers.push(view(&key, &f, &sightings)?);
            }
        }
        Ok(list)
    }

    /// The JPEG of the face's newest sighting.
    pub async fn picture(&self, p: &Principal, face: uuid::Uuid) -> Result<Vec<u8>, CoreError> {
        let s = &self.inner;
        let (sighting, enc) =
            s.store.latest_face_crop(p.account_id, face).await?.ok_or_else(not_found)?;
        let key = s.devices.key_of_account(p.account_id).await?;
        Ok(key.open(&crop_field(sighting.id), &enc)?)
    }

    /// Names (or renames) the account's face, with its relation; `None` takes the name away
    /// (the face is a stranger again, deleted two days after its last sighting).
    pub async fn name(
        &self,
        p: &Principal,
        face: uuid::Uuid,
        name: Option<&str>,
        relation: Option<Relation>,
    ) -> Result<FaceView, CoreError> {
        let s = &self.inner;
        let account = p.account_id;
        let key = s.devices.key_of_account(account).await?;
        let (name_enc, relation) = match name {
            Some(n) => (Some(key.seal(&name_field(face), check_name(n)?.as_bytes())?), relation),
            None => (None, None),
        };
        let relation = relation.map(Relation::as_str);
        if !s.store.name_face(account, face, name_enc.as_deref(), relation).await? {
            return Err(not_found());
        }
        let f = s.store.face(account, face).await?.ok_or_else(not_found)?;
        let sightings = by_face(
            s.store
                .face_sightings_since(account, self.since(), MAX_SIGHTINGS)
                .await?
                .into_iter()
                .filter(|x| x.face_id == face)
                .collect(),
        );
        view(&key, &f, &sightings)
    }

    /// Deletes the account's face: its template, name and sightings, at once.
    pub async fn delete(&self, p: &Principal, face: uuid::Uuid) -> Result<(), CoreError> {
        if self.inner.store.delete_face(p.account_id, face).await? {
            Ok(())
        } else {
            Err(not_found())
        }
    }

    /// The faces seen on a camera in the last two days (named or not), with their sightings
    /// there: for its owner, and for a member the owner granted `see-faces` (else the
    /// device policy's `device-not-found`).
    pub async fn on_device(&self, p: &Principal, uid: &str) -> Result<DeviceFaces, CoreError> {
        let s = &self.inner;
        let h = s.devices.authorize_device(p, Capability::SeeFaces, uid).await?;
        let owner = h.device().owner.ok_or(CoreError::DeviceNotFound)?;
        let key = h.device_key();
        let here: Vec<FaceSighting> = s
            .store
            .face_sightings_since(owner, self.since(), MAX_SIGHTINGS)
            .await?
            .into_iter()
            .filter(|x| x.uid == uid)
            .collect();
        let sightings = by_face(here);
        let mut faces = Vec::new();
        for id in sightings.keys() {
            if let Some(f) = s.store.face(owner, *id).await? {
                faces.push(view(key, &f, &sightings)?);
            }
        }
        faces.sort_by_key(|f| std::cmp::Reverse(f.last_seen));
        Ok(DeviceFaces { faces })
    }

    /// The JPEG of one sighting on a camera: for its owner, and for a member holding
    /// `see-faces` there. The device is decided first, so another account is answered
    /// `device-not-found` whatever the sighting.
    pub async fn sighting_picture(
        &self,
        p: &Principal,
        uid: &str,
        sighting: &str,
    ) -> Result<Vec<u8>, CoreError> {
        let s = &self.inner;
        let h = s.devices.authorize_device(p, Capability::SeeFaces, uid).await?;
        let sighting = uuid::Uuid::parse_str(sighting).map_err(|_| not_found())?;
        let owner = h.device().owner.ok_or(CoreError::DeviceNotFound)?;
        let (row, enc) = s.store.face_sighting(owner, sighting).await?.ok_or_else(not_found)?;
        if row.uid != uid {
            return Err(not_found());
        }
        Ok(h.device_key().open(&crop_field(row.id), &enc)?)
    }

    /// The face seen in an event, as `viewer` may see it: the event's owner always; another
    /// account only while it holds `see-faces` on the event's camera (else `None`, as if no
    /// face were seen).
    pub async fn on_event(
        &self,
        viewer: AccountId,
        e: &Event,
    ) -> Result<Option<EventFace>, CoreError> {
        let s = &self.inner;
        let owner = e.account_id;
        let Some(f) = s.store.face_of_event(owner, e.id).await? else { return Ok(None) };
        let key = if viewer == owner {
            s.devices.key_of_account(owner).await?
        } else {
            match s.devices.authorize_account(viewer, Capability::SeeFaces, &e.uid).await {
                Ok(h) => h.device_key().clone(),
                Err(CoreError::DeviceNotFound) => return Ok(None),
                Err(err) => return Err(err),
            }
        };
        let name = open_name(&key, &f)?;
        Ok(Some(EventFace { id: f.id, stranger: name.is_none(), name }))
    }
}
