//! `kankan firmware keygen|sign`: the operator's firmware signing key and signatures. The
//! private key stays in the file `keygen` writes (mode 0600, never overwritten); the server
//! needs only the public key (`firmware.public_key`).

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use kankan_crypto::firmware::SigningKey;

/// Writes a new signing key to `out` (which must not exist; mode 0600) and answers its
/// public key.
pub fn keygen(out: &Path) -> anyhow::Result<String> {
    let (key, text) = SigningKey::generate().context("generating the key")?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(out).with_context(|| format!("creating {}", out.display()))?;
    f.write_all(format!("{text}\n").as_bytes())?;
    f.sync_all()?;
    Ok(key.public_key())
}

/// The signature of the image at `image` as `version` for `model`, with the key in `key`.
pub fn sign(key: &Path, model: &str, version: &str, image: &Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?;
    let key = SigningKey::from_text(&text).context("reading the signing key")?;
    let bytes = std::fs::read(image).with_context(|| format!("reading {}", image.display()))?;
    Ok(key.sign(model, version, &bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_what_its_public_key_verifies() {
        let dir = tempfile::tempdir().expect("dir");
        let key = dir.path().join("fw.key");
        let public = keygen(&key).expect("keygen");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(keygen(&key).is_err(), "an existing key is never overwritten");
        let image = dir.path().join("fw.bin");
        std::fs::write(&image, b"KKFW1 KK-C1 1.1.0\nbody").expect("image");
        let sig = sign(&key, "KK-C1", "1.1.0", &image).expect("sign");
        let sha = kankan_crypto::firmware::image_sha256(b"KKFW1 KK-C1 1.1.0\nbody");
        kankan_crypto::firmware::verify(&public, "KK-C1", "1.1.0", &sha, &sig).expect("verifies");
        assert!(kankan_crypto::firmware::verify(&public, "KK-C1", "1.2.0", &sha, &sig).is_err());
    }
}
