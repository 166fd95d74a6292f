//! COSE_Key (RFC 9052/9053) public keys of the three algorithms Kankan accepts, and signature
//! verification on ring: ES256 (EC2, P-256, alg -7; ASN.1 DER signatures, as WebAuthn sends
//! them), EdDSA (OKP, Ed25519, alg -8) and RS256 (RSA PKCS#1 v1.5 with SHA-256, alg -257,
//! 2048 to 8192 bits).

use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};

use crate::cbor::{self, Value};
use crate::{Reason, WebauthnError};

/// ES256: ECDSA with P-256 and SHA-256.
pub const ES256: i64 = -7;
/// EdDSA (Ed25519).
pub const EDDSA: i64 = -8;
/// RS256: RSASSA-PKCS1-v1_5 with SHA-256.
pub const RS256: i64 = -257;

/// The algorithms offered to authenticators, most preferred first.
pub const ALGORITHMS: [i64; 3] = [ES256, EDDSA, RS256];

/// A credential's public key, parsed from its COSE_Key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// The uncompressed P-256 point (0x04 || x || y).
    Es256 { point: Vec<u8> },
    /// The 32-byte Ed25519 key.
    EdDsa { key: Vec<u8> },
    /// Modulus and exponent, big-endian.
    Rs256 { n: Vec<u8>, e: Vec<u8> },
}

fn bad(what: &str) -> WebauthnError {
    WebauthnError::new(Reason::BadKey, what)
}

fn bytes_of<'a>(key: &'a Value, label: i128, what: &str) -> Result<&'a [u8], WebauthnError> {
    key.get_int(label).and_then(Value::bytes).ok_or_else(|| bad(what))
}

impl PublicKey {
    /// Parses a COSE_Key (the CBOR bytes as the authenticator sent them).
    pub fn from_cose(bytes: &[u8]) -> Result<PublicKey, WebauthnError> {
        let key = cbor::decode(bytes).map_err(|e| bad(&format!("COSE key: {e}")))?;
        Self::from_value(&key)
    }

    pub(crate) fn from_value(key: &Value) -> Result<PublicKey, WebauthnError> {
        let kty = key.get_int(1).and_then(Value::int).ok_or_else(|| bad("COSE key has no kty"))?;
        let alg = key.get_int(3).and_then(Value::int).ok_or_else(|| bad("COSE key has no alg"))?;
        let crv = key.get_int(-1).and_then(Value::int);
        match (kty, alg) {
            (2, a) if a == i128::from(ES256) => {
                if crv != Some(1) {
                    return Err(bad("an ES256 key must be on P-256"));
                }
                let x = bytes_of(key, -2, "an ES256 key needs x")?;
                let y = bytes_of(key, -3, "an ES256 key needs y")?;
                if x.len() != 32 || y.len() != 32 {
                    return Err(bad("an ES256 key's coordinates are 32 bytes"));
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                Ok(PublicKey::Es256 { point })
            }
            (1, a) if a == i128::from(EDDSA) => {
                if crv != Some(6) {
                    return Err(bad("an EdDSA key must be Ed25519"));
                }
                let x = bytes_of(key, -2, "an Ed25519 key needs x")?;
                if x.len() != 32 {
                    return Err(bad("an Ed25519 key is 32 bytes"));
                }
                Ok(PublicKey::EdDsa { key: x.to_vec() })
            }
            (3, a) if a == i128::from(RS256) => {
                let n = bytes_of(key, -1, "an RSA key needs n")?;
                let e = bytes_of(key, -2, "an RSA key needs e")?;
                if n.len() < 256 || n.len() > 1024 || e.is_empty() || e.len() > 8 {
                    return Err(bad("an RSA key must have 2048 to 8192 bits"));
                }
                Ok(PublicKey::Rs256 { n: n.to_vec(), e: e.to_vec() })
            }
            _ => Err(WebauthnError::new(
                Reason::UnsupportedAlgorithm,
                &format!("COSE key type {kty} with algorithm {alg}"),
            )),
        }
    }

    /// The COSE algorithm number.
    pub fn alg(&self) -> i64 {
        match self {
            PublicKey::Es256 { .. } => ES256,
            PublicKey::EdDsa { .. } => EDDSA,
            PublicKey::Rs256 { .. } => RS256,
        }
    }

    /// Checks `sig` over `message`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), WebauthnError> {
        let ok = match self {
            PublicKey::Es256 { point } => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point)
                    .verify(message, sig)
            }
            PublicKey::EdDsa { key } => {
                UnparsedPublicKey::new(&signature::ED25519, key).verify(message, sig)
            }
            PublicKey::Rs256 { n, e } => RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                message,
                sig,
            ),
        };
        ok.map_err(|_| WebauthnError::new(Reason::BadSignature, "the signature does not verify"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor::encode;
    use crate::testing::{ec_cose, ed_cose, es256_key, rsa_cose};
    use ring::signature::{Ed25519KeyPair, KeyPair};

    #[test]
    fn es256_signatures_verify_and_others_do_not() {
        let (key, cose) = es256_key();
        let pk = PublicKey::from_cose(&cose).expect("parse");
        assert_eq!(pk.alg(), ES256);
        let rng = ring::rand::SystemRandom::new();
        let sig = key.sign(&rng, b"message").expect("sign");
        pk.verify(b"message", sig.as_ref()).expect("verifies");
        let err = pk.verify(b"other", sig.as_ref()).expect_err("other message");
        assert_eq!(err.reason, Reason::BadSignature);
    }

    #[test]
    fn ed25519_signatures_verify() {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("gen");
        let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
        let pk = PublicKey::from_cose(&ed_cose(key.public_key().as_ref())).expect("parse");
        assert_eq!(pk.alg(), EDDSA);
        pk.verify(b"m", key.sign(b"m").as_ref()).expect("verifies");
        assert!(pk.verify(b"n", key.sign(b"m").as_ref()).is_err());
    }

    #[test]
    fn rs256_keys_parse_and_a_forged_signature_fails() {
        let pk = PublicKey::from_cose(&rsa_cose(&[0xc5; 256], &[1, 0, 1])).expect("parse");
        assert_eq!(pk.alg(), RS256);
        assert_eq!(pk.verify(b"m", &[7; 256]).expect_err("forged").reason, Reason::BadSignature);
        let short = PublicKey::from_cose(&rsa_cose(&[0xc5; 128], &[1, 0, 1]));
        assert_eq!(short.expect_err("1024 bits").reason, Reason::BadKey);
    }

    #[test]
    fn malformed_and_unsupported_keys_are_refused() {
        let (_, good) = es256_key();
        let Value::Map(m) = cbor::decode(&good).expect("cbor") else { panic!("map") };
        // Wrong curve, short coordinate, unknown algorithm, missing y.
        let with = |label: i128, v: Value| {
            let mut m = m.clone();
            m.retain(|(k, _)| *k != Value::Int(label));
            m.push((Value::Int(label), v));
            encode(&Value::Map(m))
        };
        let crv = PublicKey::from_cose(&with(-1, Value::Int(2))).expect_err("crv");
        assert_eq!(crv.reason, Reason::BadKey);
        assert!(PublicKey::from_cose(&with(-2, Value::Bytes(vec![1; 31]))).is_err());
        let alg = PublicKey::from_cose(&with(3, Value::Int(-35))).expect_err("ES384");
        assert_eq!(alg.reason, Reason::UnsupportedAlgorithm);
        let no_y: Vec<_> = m.iter().filter(|(k, _)| *k != Value::Int(-3)).cloned().collect();
        assert!(PublicKey::from_cose(&encode(&Value::Map(no_y))).is_err());
        assert!(PublicKey::from_cose(&[0xa0]).is_err());
        assert!(PublicKey::from_cose(b"not cbor at all").is_err());
        let _ = ec_cose(&[0; 65]);
    }
}
