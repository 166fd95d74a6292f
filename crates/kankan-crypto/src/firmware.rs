//! Firmware image signatures: the operator signs, the server and the device verify.
//!
//! The operator holds an Ed25519 key (`kankan firmware keygen`); the signature covers the
//! model, the version and the SHA-256 of the image, so an image signed for one model or
//! version cannot be offered as another (a downgrade, or another model's image). The
//! signed message is `"kankan-firmware-v1\n" | model | "\n" | version | "\n" | sha256 (lower
//! hex)`. Keys and signatures travel as base64url without padding.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use sha2::{Digest, Sha256};

use crate::CryptoError;

const CONTEXT: &str = "kankan-firmware-v1";

fn bad(what: &str) -> CryptoError {
    CryptoError::BadKey(format!("firmware signing key: {what}"))
}

/// The lower-hex SHA-256 of an image.
pub fn image_sha256(image: &[u8]) -> String {
    hex_of(&Sha256::digest(image))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes a signature covers.
pub fn signed_message(model: &str, version: &str, sha256_hex: &str) -> Vec<u8> {
    format!("{CONTEXT}\n{model}\n{version}\n{}", sha256_hex.to_ascii_lowercase()).into_bytes()
}

/// The operator's signing key (PKCS#8 v2 document, base64url).
pub struct SigningKey(Ed25519KeyPair);

impl SigningKey {
    /// A new key; the text form is what `kankan firmware keygen` writes to its key file.
    pub fn generate() -> Result<(SigningKey, String), CryptoError> {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| CryptoError::Random("firmware key".into()))?;
        let text = URL_SAFE_NO_PAD.encode(doc.as_ref());
        Ok((SigningKey::from_text(&text)?, text))
    }

    /// A key from its text form.
    pub fn from_text(text: &str) -> Result<SigningKey, CryptoError> {
        let der = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| bad("not base64url"))?;
        Ed25519KeyPair::from_pkcs8(&der).map(SigningKey).map_err(|_| bad("not an Ed25519 key"))
    }

    /// The public key, base64url: the server's `firmware.public_key` and the device's.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.public_key().as_ref())
    }

    /// The signature (base64url) of `image` as `version` for `model`.
    pub fn sign(&self, model: &str, version: &str, image: &[u8]) -> String {
        let msg = signed_message(model, version, &image_sha256(image));
        URL_SAFE_NO_PAD.encode(self.0.sign(&msg).as_ref())
    }
}

/// Checks a signature against the operator's public key (both base64url).
pub fn verify(
    public_key: &str,
    model: &str,
    version: &str,
    sha256_hex: &str,
    signature: &str,
) -> Result<(), CryptoError> {
    let key = URL_SAFE_NO_PAD.decode(public_key.trim()).map_err(|_| bad("public key"))?;
    let sig = URL_SAFE_NO_PAD.decode(signature.trim()).map_err(|_| CryptoError::BadSignature)?;
    if key.len() != 32 {
        return Err(bad("an Ed25519 public key has 32 bytes"));
    }
    UnparsedPublicKey::new(&ED25519, key)
        .verify(&signed_message(model, version, sha256_hex), &sig)
        .map_err(|_| CryptoError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_model_version_and_image() {
        let (key, text) = SigningKey::generate().expect("key");
        let again = SigningKey::from_text(&text).expect("text form");
        assert_eq!(key.public_key(), again.public_key());
        let image = b"firmware 1.1".to_vec();
        let sig = key.sign("KK-C1", "1.1.0", &image);
        let sha = image_sha256(&image);
        let pk = key.public_key();
        verify(&pk, "KK-C1", "1.1.0", &sha, &sig).expect("good signature");
        assert!(verify(&pk, "KK-C2", "1.1.0", &sha, &sig).is_err(), "other model");
        assert!(verify(&pk, "KK-C1", "1.0.0", &sha, &sig).is_err(), "other version");
        let tampered = image_sha256(b"firmware 1.1!");
        assert!(verify(&pk, "KK-C1", "1.1.0", &tampered, &sig).is_err(), "other image");
        let (other, _) = SigningKey::generate().expect("key");
        assert!(verify(&other.public_key(), "KK-C1", "1.1.0", &sha, &sig).is_err(), "other key");
        assert!(verify(&pk, "KK-C1", "1.1.0", &sha, "bm90LWEtc2ln").is_err(), "malformed");
    }
}
