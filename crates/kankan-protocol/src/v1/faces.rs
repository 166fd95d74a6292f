//! Familiar faces: the owner's gallery (named faces), the strangers of the last two days, the
//! faces seen on one camera, naming, and the face on an event.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The face seen in an event (`EventItem.face`): shown to the owner, and to a member only
/// while the owner grants it `see-faces` on the camera.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventFaceItem {
    pub id: uuid::Uuid,
    /// The name the owner gave it; `null` for a stranger.
    pub name: Option<String>,
    /// Not named: a stranger.
    pub stranger: bool,
}

/// One time a face was seen: in which event (its clip), on which camera, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FaceSightingItem {
    pub id: uuid::Uuid,
    pub event_id: uuid::Uuid,
    /// The camera's UID.
    pub device: String,
    /// Milliseconds since the Unix epoch.
    pub seen_at_ms: i64,
}

/// A face: named (the gallery) or not (a stranger), with its sightings of the last two days,
/// newest first. Its picture: `GET /api/v1/faces/{id}/picture`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FaceItem {
    pub id: uuid::Uuid,
    /// `null` while unnamed: deleted two days after its last sighting.
    pub name: Option<String>,
    /// `family` or `friend`, or `null`.
    pub relation: Option<String>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub sightings: Vec<FaceSightingItem>,
}

/// `GET /api/v1/faces`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FacesList {
    /// Whether the account's `face-recognition` consent is given (nothing is processed
    /// without it).
    pub enabled: bool,
    /// The named faces.
    pub gallery: Vec<FaceItem>,
    /// The unnamed faces seen in the last two days.
    pub strangers: Vec<FaceItem>,
}

/// `GET /api/v1/devices/{uid}/faces`: the faces seen on the camera in the last two days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceFacesList {
    pub faces: Vec<FaceItem>,
}

/// `PUT /api/v1/faces/{id}`: names (or renames) a face; `name: null` takes the name away.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameFaceRequest {
    /// 1-40 characters (trimmed), or `null`.
    pub name: Option<String>,
    /// `family` or `friend` (ignored without a name).
    #[serde(default)]
    pub relation: Option<String>,
}
