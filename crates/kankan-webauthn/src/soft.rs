//! A software authenticator (ES256 keys made by ring) that answers creation and request
//! options with the JSON a browser sends, attestation `none` (or `packed` self-attestation):
//! tests drive the relying party's real routes with it, without a browser. Not for production.

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value as Json, json};

use crate::cbor::{Value, encode};
use crate::{b64url, from_b64url, sha256};

/// One credential the authenticator holds.
#[derive(Debug, Clone)]
pub struct SoftCredential {
    pub id: Vec<u8>,
    pub rp_id: String,
    pub user_handle: Vec<u8>,
    /// The counter of the last signature.
    pub sign_count: u32,
    pkcs8: Vec<u8>,
}

impl SoftCredential {
    /// The private key (PKCS#8), for tests that check the server never holds it.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }
}

/// A software passkey authenticator. Cloning it clones its keys and counters (a cloned
/// authenticator, for clone-detection tests).
#[derive(Debug, Clone)]
pub struct SoftAuthenticator {
    /// The origin its "browser" puts in clientDataJSON.
    pub origin: String,
    /// Whether it reports the user verified (UV).
    pub user_verified: bool,
    /// Answer creation with `packed` self-attestation instead of `none`.
    pub packed: bool,
    credentials: Vec<SoftCredential>,
}

fn field<'a>(o: &'a Json, k: &str) -> Result<&'a str, String> {
    o[k].as_str().ok_or_else(|| format!("options have no {k}"))
}

/// The `publicKey` member when the options are wrapped (`{publicKey: …}` or the server's
/// `{challenge_id, public_key}`).
fn unwrap(options: &Json) -> &Json {
    for k in ["publicKey", "public_key"] {
        if options.get(k).is_some() {
            return &options[k];
        }
    }
    options
}

fn ids(list: &Json) -> Vec<Vec<u8>> {
    list.as_array()
        .map(|a| {
            a.iter().filter_map(|d| d["id"].as_str()).filter_map(|s| from_b64url(s).ok()).collect()
        })
        .unwrap_or_default()
}

impl SoftAuthenticator {
    pub fn new(origin: &str) -> SoftAuthenticator {
        SoftAuthenticator {
            origin: origin.to_string(),
            user_verified: true,
            packed: false,
            credentials: Vec::new(),
        }
    }

    pub fn credentials(&self) -> &[SoftCredential] {
        &self.credentials
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    fn flags(&self) -> u8 {
        0x01 | if self.user_verified { 0x04 } else { 0 }
    }

    /// Answers `navigator.credentials.create({publicKey: options})`: a new ES256 credential.
    pub fn create(&mut self, options: &Json) -> Result<Json, String> {
        let o = unwrap(options);
        let rp_id = o["rp"]["id"].as_str().ok_or("options have no rp.id")?.to_string();
        let user = from_b64url(field(&o["user"], "id")?).map_err(|e| e.to_string())?;
        let challenge = field(o, "challenge")?;
        let es256 = o["pubKeyCredParams"]
            .as_array()
            .is_some_and(|a| a.iter().any(|p| p["alg"].as_i64() == Some(crate::cose::ES256)));
        if !es256 {
            return Err("NotSupportedError: ES256 not offered".into());
        }
        let exclude = ids(&o["excludeCredentials"]);
        if self.credentials.iter().any(|c| c.rp_id == rp_id && exclude.contains(&c.id)) {
            return Err("InvalidStateError: a credential of this authenticator is excluded".into());
        }
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| "key generation")?
            .as_ref()
            .to_vec();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, &rng)
            .map_err(|_| "key")?;
        let mut id = vec![0u8; 16];
        rng.fill(&mut id).map_err(|_| "random")?;
        let point = key.public_key().as_ref();
        let cose = encode(&Value::Map(vec![
            (Value::Int(1), Value::Int(2)),
            (Value::Int(3), Value::Int(-7)),
            (Value::Int(-1), Value::Int(1)),
            (Value::Int(-2), Value::Bytes(point[1..33].to_vec())),
            (Value::Int(-3), Value::Bytes(point[33..65].to_vec())),
        ]));
        let mut auth = sha256(rp_id.as_bytes()).to_vec();
        auth.push(self.flags() | 0x40);
        auth.extend(0u32.to_be_bytes());
        auth.extend([0u8; 16]);
        auth.extend((id.len() as u16).to_be_bytes());
        auth.extend(&id);
        auth.extend(&cose);
        let client_data = self.client_data("webauthn.create", challenge);
        let stmt = if self.packed {
            let mut signed = auth.clone();
            signed.extend(sha256(&client_data));
            let sig = key.sign(&rng, &signed).map_err(|_| "sign")?;
            Value::Map(vec![
                (Value::Text("alg".into()), Value::Int(-7)),
                (Value::Text("sig".into()), Value::Bytes(sig.as_ref().to_vec())),
            ])
        } else {
            Value::Map(vec![])
        };
        let att = encode(&Value::Map(vec![
            (
                Value::Text("fmt".into()),
                Value::Text(if self.packed { "packed" } else { "none" }.into()),
            ),
            (Value::Text("attStmt".into()), stmt),
            (Value::Text("authData".into()), Value::Bytes(auth)),
        ]));
        self.credentials.push(SoftCredential {
            id: id.clone(),
            rp_id,
            user_handle: user,
            sign_count: 0,
            pkcs8,
        });
        Ok(json!({
            "id": b64url(&id),
            "rawId": b64url(&id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(&client_data),
                "attestationObject": b64url(&att),
                "transports": ["internal"],
            },
        }))
    }

    /// Answers `navigator.credentials.get({publicKey: options})` with the newest credential for
    /// the RP ID (among the allowed ones when the options name some); the counter grows by one.
    pub fn get(&mut self, options: &Json) -> Result<Json, String> {
        let o = unwrap(options);
        let rp_id = field(o, "rpId")?.to_string();
        let challenge = field(o, "challenge")?.to_string();
        let allow = ids(&o["allowCredentials"]);
        let flags = self.flags();
        let client_data = self.client_data("webauthn.get", &challenge);
        let c = self
            .credentials
            .iter_mut()
            .rev()
            .find(|c| c.rp_id == rp_id && (allow.is_empty() || allow.contains(&c.id)))
            .ok_or("NotAllowedError: no credential for these options")?;
        c.sign_count += 1;
        let mut auth = sha256(rp_id.as_bytes()).to_vec();
        auth.push(flags);
        auth.extend(c.sign_count.to_be_bytes());
        let mut signed = auth.clone();
        signed.extend(sha256(&client_data));
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &c.pkcs8, &rng)
            .map_err(|_| "key")?;
        let sig = key.sign(&rng, &signed).map_err(|_| "sign")?;
        Ok(json!({
            "id": b64url(&c.id),
            "rawId": b64url(&c.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(&client_data),
                "authenticatorData": b64url(&auth),
                "signature": b64url(sig.as_ref()),
                "userHandle": b64url(&c.user_handle),
            },
        }))
    }
}
