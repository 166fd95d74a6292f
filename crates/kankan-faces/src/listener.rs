//! Faces from person detection: [`FaceListener`] is the person analysis' `PersonListener`. For a
//! person seen on a camera whose settings turn `familiar_faces` on, of an owner whose
//! `face-recognition` consent is given (never a child's), it crops the person's upper body
//! from the picture, looks for the face in it with the face models, and records the best face
//! found (its template and a small JPEG of it) through [`Faces::observe`]. Anything else is
//! left alone: nothing is computed. `Faces` is also the dispatcher's [`WhoWasSeen`]: an alert
//! names the face seen ("Mum at Front door"), or says "Stranger" where the camera asks for it.

use std::sync::Arc;

use async_trait::async_trait;
use image::RgbImage;
use kankan_base::AccountId;
use kankan_core::CoreError;
use kankan_db::{Event, RelBox};
use kankan_events::notify::WhoWasSeen;
use kankan_events::{PersonListener, PersonSeen};

use crate::{Faces, Seen, Template};

/// The side of the JPEG kept of a face, at most, in pixels.
pub const CROP_MAX_SIDE: u32 = 96;
/// The part of a person's box (from its top) where the face is looked for.
const UPPER_BODY: f32 = 0.6;
/// Room left around the person's box, relative to its size.
const MARGIN: f32 = 0.1;

/// A face the models found in a picture: where (relative to the picture) and its template.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundFace {
    pub score: f32,
    pub bbox: RelBox,
    pub template: Template,
}

/// The face models as the listener uses them (the vision crate's face detector and embedder).
/// Blocking: called on a blocking thread.
pub trait FaceModels: Send + Sync + 'static {
    /// The faces in `picture`, each with its template.
    fn faces(&self, picture: &RgbImage) -> Vec<FoundFace>;
}

/// The vision crate's models: BlazeFace finds the faces, dlib's ResNet embeds each (aligned on
/// its eyes and mouth).
impl FaceModels for kankan_vision::Models {
    fn faces(&self, picture: &RgbImage) -> Vec<FoundFace> {
        self.faces
            .detect(picture)
            .into_iter()
            .map(|f| FoundFace {
                score: f.score,
                bbox: RelBox { x: f.bbox.x, y: f.bbox.y, w: f.bbox.w, h: f.bbox.h },
                template: Template(self.embedder.embed(picture, &f).0),
            })
            .collect()
    }
}

/// The `PersonListener` of familiar faces.
pub struct FaceListener {
    faces: Faces,
    models: Arc<dyn FaceModels>,
}

impl FaceListener {
    pub fn new(faces: Faces, models: Arc<dyn FaceModels>) -> FaceListener {
        FaceListener { faces, models }
    }

    /// Whether the event's camera and owner want faces: the camera's `familiar_faces` and the
    /// owner's consent (which a child's account never has).
    async fn wanted(&self, seen: &PersonSeen) -> Result<bool, CoreError> {
        let e = &seen.event;
        let settings = self.faces.inner.devices.stored_desired(&e.uid).await?;
        if !settings.is_some_and(|d| d.settings.familiar_faces) {
            return Ok(false);
        }
        self.faces.enabled_for(e.account_id).await
    }

    /// Looks for the person's face and records it; `None` when not wanted or no face found.
    pub async fn look(&self, seen: &PersonSeen) -> Result<Option<Seen>, CoreError> {
        if !self.wanted(seen).await? {
            return Ok(None);
        }
        let models = self.models.clone();
        let frame = seen.frame.clone();
        let b = seen.person.bbox;
        let person = RelBox { x: b.x, y: b.y, w: b.w, h: b.h };
        let found = tokio::task::spawn_blocking(move || face_of(models.as_ref(), &frame, person))
            .await
            .map_err(|e| CoreError::Internal(format!("face analysis: {e}")))??;
        let Some((template, jpeg)) = found else { return Ok(None) };
        self.faces.observe(&seen.event, &template, &jpeg).await
    }
}

/// The name an alert gives the person seen: the face's name where the recipient may see it,
/// else "Stranger" for an unnamed face where the camera's owner turned `stranger_alerts` on.
pub const STRANGER: &str = "Stranger";

#[async_trait]
impl WhoWasSeen for Faces {
    async fn who(&self, recipient: AccountId, ev: &Event) -> Result<Option<String>, CoreError> {
        let Some(face) = self.on_event(recipient, ev).await? else { return Ok(None) };
        if let Some(name) = face.name {
            return Ok(Some(name));
        }
        let desired = self.inner.devices.stored_desired(&ev.uid).await?;
        let alerts = desired.is_some_and(|d| d.settings.stranger_alerts);
        Ok(alerts.then(|| STRANGER.to_string()))
    }
}

#[async_trait]
impl PersonListener for FaceListener {
    async fn person_seen(&self, seen: &PersonSeen) -> Result<(), CoreError> {
        if let Some(s) = self.look(seen).await? {
            tracing::debug!(id = %seen.event.id, new = s.new, stranger = s.stranger, "face seen");
        }
        Ok(())
    }
}

/// Pixel bounds of a relative box in a `w`×`h` picture, grown by `margin` of its size and
/// clipped to the picture; `None` when nothing is left.
pub fn pixel_box(b: RelBox, w: u32, h: u32, margin: f32) -> Option<(u32, u32, u32, u32)> {
    let (fw, fh) = (w as f32, h as f32);
    let x0 = ((b.x - b.w * margin) * fw).clamp(0.0, fw);
    let y0 = ((b.y - b.h * margin) * fh).clamp(0.0, fh);
    let x1 = ((b.x + b.w * (1.0 + margin)) * fw).clamp(0.0, fw);
    let y1 = ((b.y + b.h * (1.0 + margin)) * fh).clamp(0.0, fh);
    let (x0, y0) = (x0 as u32, y0 as u32);
    let (cw, ch) = ((x1 as u32).saturating_sub(x0), (y1 as u32).saturating_sub(y0));
    (cw >= 2 && ch >= 2).then_some((x0, y0, cw, ch))
}

/// The person's upper body, the best face in it, and that face's JPEG.
fn face_of(
    models: &dyn FaceModels,
    frame: &RgbImage,
    person: RelBox,
) -> Result<Option<(Template, Vec<u8>)>, CoreError> {
    let upper = RelBox { h: person.h * UPPER_BODY, ..person };
    let Some((x, y, w, h)) = pixel_box(upper, frame.width(), frame.height(), MARGIN) else {
        return Ok(None);
    };
    let body = image::imageops::crop_imm(frame, x, y, w, h).to_image();
    let best = models.faces(&body).into_iter().max_by(|a, b| a.score.total_cmp(&b.score));
    let Some(face) = best else { return Ok(None) };
    let Some((fx, fy, fw, fh)) = pixel_box(face.bbox, body.width(), body.height(), 0.15) else {
        return Ok(None);
    };
    let mut crop = image::imageops::crop_imm(&body, fx, fy, fw, fh).to_image();
    if crop.width().max(crop.height()) > CROP_MAX_SIDE {
        let scale = CROP_MAX_SIDE as f32 / crop.width().max(crop.height()) as f32;
        let (nw, nh) =
            ((crop.width() as f32 * scale) as u32, (crop.height() as f32 * scale) as u32);
        crop = image::imageops::resize(&crop, nw.max(1), nh.max(1), image::imageops::Triangle);
    }
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&crop)
        .map_err(|e| CoreError::Internal(format!("face picture: {e}")))?;
    Ok(Some((face.template, jpeg)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_is_grown_and_clipped_to_the_picture() {
        let b = RelBox { x: 0.25, y: 0.5, w: 0.5, h: 0.25 };
        assert_eq!(pixel_box(b, 100, 100, 0.0), Some((25, 50, 50, 25)));
        assert_eq!(pixel_box(b, 100, 100, 0.1), Some((20, 47, 60, 30)));
        let edge = RelBox { x: 0.9, y: 0.9, w: 0.5, h: 0.5 };
        assert_eq!(pixel_box(edge, 100, 100, 0.0), Some((90, 90, 10, 10)), "clipped");
        let outside = RelBox { x: 1.5, y: 0.0, w: 0.2, h: 0.2 };
        assert_eq!(pixel_box(outside, 100, 100, 0.0), None);
    }
}
