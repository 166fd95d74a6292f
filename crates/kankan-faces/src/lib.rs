//! Familiar faces: the faces an account's cameras see, matched against the account's gallery
//! (policy I(II) 2: "the list of persons who appeared in front of the smart hardware devices
//! … and were captured in the past two days, along with related recordings", and "annotate
//! family members and friends").
//!
//! - Off by default: a face is processed only for an account that gave its `face-recognition`
//!   consent (never a child's: [`kankan_accounts::ConsentCheck`]) and only on a camera whose
//!   settings turn `familiar_faces` on (the person listener checks both before it looks).
//! - A face is a template (the 128-number embedding the vision models compute), sealed under
//!   the owner's account key (`face-template/{id}`), with an optional name (sealed,
//!   `face-name/{id}`) and relation (family or friend), and its sightings: the event, the
//!   camera, the time and a small JPEG of the face (sealed, `face-crop/{sighting}`).
//! - An observed face is compared with every template of the account, opened in memory only:
//!   the nearest within the vision models' same-person distance (Euclidean) is that face, a
//!   sighting is added; else it is a new unnamed face, a stranger. At most
//!   [`FacesConfig::max_per_account`] faces (`face-limit-reached`).
//! - Unnamed faces go two days after their last sighting ([`FacesSweeper`]); naming one keeps
//!   it; deleting a face deletes its template and sightings in one statement; withdrawing the
//!   consent deletes every face of the account ([`FacesOnWithdrawal`]).
//! - Faces are the owner's: a member of a shared camera sees them (names, pictures, the face
//!   on the camera's events) only while the owner grants it `see-faces` on the camera, decided
//!   by the device policy (`Devices::authorize_device`), never by default.

mod gallery;
mod listener;
mod sweep;

pub use gallery::{DeviceFaces, EventFace, FaceList, FaceView, SightingView};
pub use listener::{CROP_MAX_SIDE, FaceListener, FaceModels, FoundFace, STRANGER, pixel_box};
pub use sweep::{FacesOnWithdrawal, FacesSweeper};

use std::sync::Arc;

use kankan_accounts::{ConsentCheck, Purpose};
use kankan_base::{AccountId, Clocks, Timestamp};
use kankan_core::CoreError;
use kankan_crypto::AccountKey;
use kankan_db::{Event, FaceRow, FaceSighting, Store};
use kankan_devices::Devices;

/// Numbers in a face template.
pub const TEMPLATE_LEN: usize = 128;
/// How long an unnamed face is kept after its last sighting: two days.
pub const UNNAMED_KEPT_MS: i64 = 2 * 24 * 3600 * 1000;
/// Two templates at most this far apart are the same person (the vision models' threshold).
pub use kankan_vision::SAME_PERSON_MAX_DISTANCE;
/// The most characters of a face's name.
pub const MAX_NAME_CHARS: usize = 40;

/// A face template: the embedding of one face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Template(pub [f32; TEMPLATE_LEN]);

impl Template {
    /// Euclidean distance.
    pub fn distance(&self, o: &Template) -> f32 {
        self.0.iter().zip(o.0.iter()).map(|(a, b)| (a - b) * (a - b)).sum::<f32>().sqrt()
    }

    /// Little-endian `f32`s.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// The inverse of [`Template::to_bytes`]; `None` for a wrong length or a value that is
    /// not finite.
    pub fn from_bytes(b: &[u8]) -> Option<Template> {
        if b.len() != TEMPLATE_LEN * 4 {
            return None;
        }
        let mut t = [0f32; TEMPLATE_LEN];
        for (v, c) in t.iter_mut().zip(b.chunks_exact(4)) {
            *v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            if !v.is_finite() {
                return None;
            }
        }
        Some(Template(t))
    }
}

/// What the owner says a named face is to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Family,
    Friend,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Family => "family",
            Relation::Friend => "friend",
        }
    }

    pub fn parse(s: &str) -> Option<Relation> {
        match s {
            "family" => Some(Relation::Family),
            "friend" => Some(Relation::Friend),
            _ => None,
        }
    }
}

/// `[faces]`: the operator's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FacesConfig {
    /// The most faces one account keeps, named and unnamed together (1-10000).
    pub max_per_account: u32,
}

impl Default for FacesConfig {
    fn default() -> Self {
        FacesConfig { max_per_account: 500 }
    }
}

impl FacesConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=10_000).contains(&self.max_per_account) {
            return Err(format!(
                "faces.max_per_account must be 1-10000, not {}",
                self.max_per_account
            ));
        }
        Ok(())
    }
}

/// What matching an observed face found.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub face: uuid::Uuid,
    pub name: Option<String>,
    pub relation: Option<Relation>,
    /// Not named: a stranger (new now, or seen before but never named).
    pub stranger: bool,
    /// A face the gallery did not have.
    pub new: bool,
    /// The distance to the template it matched (none for a new face).
    pub distance: Option<f32>,
}

/// The familiar faces service. Cheap to clone.
#[derive(Clone)]
pub struct Faces {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Clocks,
    devices: Devices,
    consent: ConsentCheck,
    cfg: FacesConfig,
    /// Two templates at most this far apart are the same person.
    max_distance: f32,
}

impl std::fmt::Debug for Faces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Faces")
    }
}

fn template_field(id: uuid::Uuid) -> String {
    format!("face-template/{id}")
}

fn name_field(id: uuid::Uuid) -> String {
    format!("face-name/{id}")
}

fn crop_field(sighting: uuid::Uuid) -> String {
    format!("face-crop/{sighting}")
}

fn not_found() -> CoreError {
    CoreError::NotFound("face")
}

impl Faces {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Clocks,
        devices: Devices,
        consent: ConsentCheck,
        cfg: FacesConfig,
        same_person_max_distance: f32,
    ) -> Faces {
        let max_distance = same_person_max_distance;
        Faces { inner: Arc::new(Inner { store, clock, devices, consent, cfg, max_distance }) }
    }

    pub fn config(&self) -> FacesConfig {
        self.inner.cfg
    }

    /// Whether faces may be processed for the account now: its `face-recognition` consent is
    /// given (never for a child's account).
    pub async fn enabled_for(&self, account: AccountId) -> Result<bool, CoreError> {
        self.inner.consent.granted(account, Purpose::FaceRecognition).await
    }

    /// Matches a face seen in `event` (its template and JPEG) against the gallery of the
    /// event's account and records the sighting. `None` (nothing stored) when the account's
    /// consent is not given. `face-limit-reached` when the face is new and the gallery full.
    pub async fn observe(
        &self,
        event: &Event,
        template: &Template,
        crop_jpeg: &[u8],
    ) -> Result<Option<Seen>, CoreError> {
        let s = &self.inner;
        let account = event.account_id;
        // Asked again here, as close to the store as it gets: a withdrawal stops it at once.
        if !self.enabled_for(account).await? {
            return Ok(None);
        }
        let key = s.devices.key_of_account(account).await?;
        let now = s.clock.now();
        let sighting_id = uuid::Uuid::now_v7();
        let crop_enc = key.seal(&crop_field(sighting_id), crop_jpeg)?;
        let faces = s.store.faces_of(account).await?;
        if let Some((f, d)) = nearest(&key, &faces, template)?
            && d <= s.max_distance
        {
            let sighting = sighting_of(sighting_id, f.id, event, now);
            if s.store.add_face_sighting(&sighting, &crop_enc).await? {
                let name = open_name(&key, f)?;
                let relation = f.relation.as_deref().and_then(Relation::parse);
                return Ok(Some(Seen {
                    face: f.id,
                    stranger: name.is_none(),
                    name,
                    relation,
                    new: false,
                    distance: Some(d),
                }));
            }
            // Deleted meanwhile: seen again as a new face.
        }
        let id = uuid::Uuid::now_v7();
        let row = FaceRow {
            id,
            account_id: account,
            template_enc: key.seal(&template_field(id), &template.to_bytes())?,
            name_enc: None,
            relation: None,
            first_seen: now,
            last_seen: now,
            created_at: now,
        };
        let sighting = sighting_of(sighting_id, id, event, now);
        if !s.store.insert_face(&row, &sighting, &crop_enc, s.cfg.max_per_account).await? {
            return Err(CoreError::LimitReached {
                code: "face-limit-reached",
                message: format!(
                    "the gallery holds {} faces, the most it keeps: name or delete some",
                    s.cfg.max_per_account
                ),
            });
        }
        Ok(Some(Seen {
            face: id,
            name: None,
            relation: None,
            stranger: true,
            new: true,
            distance: None,
        }))
    }

    /// Deletes every face of the account with its sightings (a withdrawn consent, a deleted
    /// account); how many faces.
    pub async fn forget_account(&self, account: AccountId) -> Result<u64, CoreError> {
        Ok(self.inner.store.delete_faces_of(account).await?)
    }

    /// Deletes the unnamed faces last seen more than two days ago; how many.
    pub async fn sweep(&self) -> Result<u64, CoreError> {
        let before = Timestamp(self.inner.clock.now().0 - UNNAMED_KEPT_MS);
        Ok(self.inner.store.delete_unnamed_faces_before(before).await?)
    }
}

/// A sighting of `face` in `event`, seen now.
fn sighting_of(id: uuid::Uuid, face: uuid::Uuid, e: &Event, now: Timestamp) -> FaceSighting {
    FaceSighting {
        id,
        face_id: face,
        account_id: e.account_id,
        event_id: e.id,
        uid: e.uid.clone(),
        seen_at: now,
    }
}

/// The face whose template is nearest `t`, with its distance; templates opened in memory only.
fn nearest<'a>(
    key: &AccountKey,
    faces: &'a [FaceRow],
    t: &Template,
) -> Result<Option<(&'a FaceRow, f32)>, CoreError> {
    let mut best: Option<(&FaceRow, f32)> = None;
    for f in faces {
        let bytes = key.open(&template_field(f.id), &f.template_enc)?;
        let Some(known) = Template::from_bytes(&bytes) else {
            return Err(CoreError::Internal(format!("face {}: a template of a wrong size", f.id)));
        };
        let d = known.distance(t);
        if best.is_none_or(|(_, b)| d < b) {
            best = Some((f, d));
        }
    }
    Ok(best)
}

fn open_name(key: &AccountKey, f: &FaceRow) -> Result<Option<String>, CoreError> {
    match &f.name_enc {
        Some(enc) => Ok(Some(key.open_string(&name_field(f.id), enc)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests;
