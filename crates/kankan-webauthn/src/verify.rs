//! The registration (§7.1) and assertion (§7.2) ceremonies' checks, on the JSON the browser's
//! `PublicKeyCredential.toJSON()` gives (binary fields in base64url).

use serde::Deserialize;

use crate::cbor::{self, Value};
use crate::cose::PublicKey;
use crate::options::UserVerification;
use crate::{Reason, RelyingParty, WebauthnError, ct_eq, from_b64url, sha256};

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;
const ED: u8 = 0x80;

/// The longest credential id accepted (the specification's limit).
pub const MAX_CREDENTIAL_ID: usize = 1023;

fn err(reason: Reason, message: &str) -> WebauthnError {
    WebauthnError::new(reason, message)
}

/// What the ceremony must match.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub rp: &'a RelyingParty,
    /// SHA-256 of the challenge issued (see [`crate::sha256`]).
    pub challenge_hash: &'a [u8; 32],
    /// `Required` refuses an assertion or credential made without user verification.
    pub user_verification: UserVerification,
}

/// `AuthenticatorAttestationResponse` as JSON.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestationJson {
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    pub attestation_object: String,
    #[serde(default)]
    pub transports: Vec<String>,
}

/// A new credential as the browser sends it (`PublicKeyCredential.toJSON()` of
/// `navigator.credentials.create`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationResponse {
    pub id: String,
    #[serde(default)]
    pub raw_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub response: AttestationJson,
}

/// `AuthenticatorAssertionResponse` as JSON.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssertionJson {
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    pub authenticator_data: String,
    pub signature: String,
    #[serde(default)]
    pub user_handle: Option<String>,
}

/// An assertion as the browser sends it (`navigator.credentials.get`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssertionResponse {
    pub id: String,
    #[serde(default)]
    pub raw_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub response: AssertionJson,
}

fn credential_id_of(id: &str, raw_id: Option<&str>) -> Result<Vec<u8>, WebauthnError> {
    let bytes = from_b64url(id)?;
    if let Some(raw) = raw_id
        && from_b64url(raw)? != bytes
    {
        return Err(err(Reason::Malformed, "id and rawId differ"));
    }
    if bytes.is_empty() || bytes.len() > MAX_CREDENTIAL_ID {
        return Err(err(Reason::Malformed, "a credential id is 1 to 1023 bytes"));
    }
    Ok(bytes)
}

impl RegistrationResponse {
    /// Parses the browser's JSON.
    pub fn from_json(v: &serde_json::Value) -> Result<RegistrationResponse, WebauthnError> {
        serde_json::from_value(v.clone())
            .map_err(|e| err(Reason::Malformed, &format!("not a registration response: {e}")))
    }
}

impl AssertionResponse {
    /// Parses the browser's JSON.
    pub fn from_json(v: &serde_json::Value) -> Result<AssertionResponse, WebauthnError> {
        serde_json::from_value(v.clone())
            .map_err(|e| err(Reason::Malformed, &format!("not an assertion: {e}")))
    }

    /// The credential id the assertion names (to find the stored credential).
    pub fn credential_id(&self) -> Result<Vec<u8>, WebauthnError> {
        credential_id_of(&self.id, self.raw_id.as_deref())
    }

    /// The user handle the authenticator returned, if any.
    pub fn user_handle(&self) -> Result<Option<Vec<u8>>, WebauthnError> {
        match self.response.user_handle.as_deref() {
            None | Some("") => Ok(None),
            Some(h) => from_b64url(h).map(Some),
        }
    }
}

/// A verified new credential: what the relying party stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    pub id: Vec<u8>,
    /// The COSE_Key as the authenticator sent it.
    pub public_key: Vec<u8>,
    pub alg: i64,
    pub sign_count: u32,
    pub user_verified: bool,
    /// The credential may be backed up (synced passkey).
    pub backup_eligible: bool,
    /// The credential is backed up now.
    pub backed_up: bool,
    pub aaguid: [u8; 16],
    pub transports: Vec<String>,
}

/// What the relying party kept of a credential.
#[derive(Debug, Clone, Copy)]
pub struct StoredCredential<'a> {
    pub public_key: &'a [u8],
    pub sign_count: u32,
}

/// A verified assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionOk {
    /// The counter to store now.
    pub sign_count: u32,
    pub user_verified: bool,
    pub backed_up: bool,
}

#[derive(Deserialize)]
struct ClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(default, rename = "crossOrigin")]
    cross_origin: Option<bool>,
}

/// Checks clientDataJSON against the ceremony; answers its SHA-256.
fn check_client_data(
    b64: &str,
    kind: &str,
    expected: &Expected<'_>,
) -> Result<[u8; 32], WebauthnError> {
    let raw = from_b64url(b64)?;
    let cd: ClientData = serde_json::from_slice(&raw)
        .map_err(|e| err(Reason::BadClientData, &format!("clientDataJSON: {e}")))?;
    if cd.kind != kind {
        return Err(err(Reason::WrongType, &format!("clientDataJSON type is not {kind}")));
    }
    let challenge = from_b64url(&cd.challenge)
        .map_err(|_| err(Reason::BadClientData, "the challenge is not base64url"))?;
    if !ct_eq(&sha256(&challenge), expected.challenge_hash) {
        return Err(err(Reason::WrongChallenge, "not the challenge issued"));
    }
    if !expected.rp.origins.contains(&cd.origin) {
        return Err(err(Reason::WrongOrigin, "an origin not of this site"));
    }
    if cd.cross_origin == Some(true) {
        return Err(err(Reason::WrongOrigin, "made in a cross-origin frame"));
    }
    Ok(sha256(&raw))
}

/// Authenticator data (§6.1), parsed.
struct AuthData<'a> {
    rp_id_hash: &'a [u8],
    flags: u8,
    sign_count: u32,
    attested: Option<(Vec<u8>, [u8; 16], Vec<u8>)>,
}

fn parse_auth_data(d: &[u8]) -> Result<AuthData<'_>, WebauthnError> {
    let bad = |m: &str| err(Reason::BadAuthenticatorData, m);
    if d.len() < 37 {
        return Err(bad("authenticator data is shorter than 37 bytes"));
    }
    let flags = d[32];
    let sign_count = u32::from_be_bytes([d[33], d[34], d[35], d[36]]);
    let mut rest = &d[37..];
    let mut attested = None;
    if flags & AT != 0 {
        if rest.len() < 18 {
            return Err(bad("attested credential data is cut short"));
        }
        let mut aaguid = [0u8; 16];
        aaguid.copy_from_slice(&rest[..16]);
        let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
        rest = &rest[18..];
        if len == 0 || len > MAX_CREDENTIAL_ID || rest.len() < len {
            return Err(bad("bad credential id length"));
        }
        let id = rest[..len].to_vec();
        rest = &rest[len..];
        let (_, after) = cbor::decode_prefix(rest).map_err(|e| bad(&format!("COSE key: {e}")))?;
        let key = rest[..rest.len() - after.len()].to_vec();
        rest = after;
        attested = Some((id, aaguid, key));
    }
    if flags & ED != 0 {
        let (ext, after) =
            cbor::decode_prefix(rest).map_err(|e| bad(&format!("extensions: {e}")))?;
        if ext.map().is_none() {
            return Err(bad("extensions are not a map"));
        }
        rest = after;
    }
    if !rest.is_empty() {
        return Err(bad("bytes follow the authenticator data"));
    }
    Ok(AuthData { rp_id_hash: &d[..32], flags, sign_count, attested })
}

fn check_flags(a: &AuthData<'_>, expected: &Expected<'_>) -> Result<(), WebauthnError> {
    if !ct_eq(a.rp_id_hash, &sha256(expected.rp.id.as_bytes())) {
        return Err(err(Reason::WrongRelyingParty, "made for another site"));
    }
    if a.flags & UP == 0 {
        return Err(err(Reason::UserNotPresent, "the user was not present"));
    }
    if expected.user_verification == UserVerification::Required && a.flags & UV == 0 {
        return Err(err(Reason::UserNotVerified, "the user was not verified"));
    }
    if a.flags & BS != 0 && a.flags & BE == 0 {
        return Err(err(Reason::BadAuthenticatorData, "backed up but not backup eligible"));
    }
    Ok(())
}

/// Verifies a new credential (registration, §7.1) with attestation `none` or `packed`
/// self-attestation.
pub fn verify_registration(
    r: &RegistrationResponse,
    expected: &Expected<'_>,
) -> Result<NewCredential, WebauthnError> {
    if r.kind != "public-key" {
        return Err(err(Reason::Malformed, "not a public-key credential"));
    }
    let id = credential_id_of(&r.id, r.raw_id.as_deref())?;
    let client_hash = check_client_data(&r.response.client_data_json, "webauthn.create", expected)?;
    let att_bytes = from_b64url(&r.response.attestation_object)?;
    let att = cbor::decode(&att_bytes)
        .map_err(|e| err(Reason::BadAttestation, &format!("attestation object: {e}")))?;
    let fmt = att.get_text("fmt").and_then(Value::text);
    let auth_bytes = att.get_text("authData").and_then(Value::bytes);
    let stmt = att.get_text("attStmt").and_then(Value::map);
    let (Some(fmt), Some(auth_bytes), Some(stmt)) = (fmt, auth_bytes, stmt) else {
        return Err(err(
            Reason::BadAttestation,
            "an attestation object needs fmt, authData, attStmt",
        ));
    };
    let auth = parse_auth_data(auth_bytes)?;
    check_flags(&auth, expected)?;
    let Some((cred_id, aaguid, cose)) = &auth.attested else {
        return Err(err(Reason::BadAuthenticatorData, "no attested credential data"));
    };
    if !ct_eq(cred_id, &id) {
        return Err(err(Reason::Malformed, "the credential id is not the attested one"));
    }
    let key = PublicKey::from_cose(cose)?;
    match fmt {
        "none" if stmt.is_empty() => {}
        "packed" => {
            let stmt = Value::Map(stmt.to_vec());
            if stmt.get_text("x5c").is_some() {
                return Err(err(Reason::BadAttestation, "packed attestation with certificates"));
            }
            let alg = stmt.get_text("alg").and_then(Value::int);
            let sig = stmt.get_text("sig").and_then(Value::bytes);
            let (Some(alg), Some(sig)) = (alg, sig) else {
                return Err(err(Reason::BadAttestation, "packed attestation needs alg and sig"));
            };
            if alg != i128::from(key.alg()) {
                return Err(err(Reason::BadAttestation, "self-attestation with another algorithm"));
            }
            let mut signed = auth_bytes.to_vec();
            signed.extend_from_slice(&client_hash);
            key.verify(&signed, sig)?;
        }
        _ => return Err(err(Reason::BadAttestation, "an attestation format not accepted")),
    }
    Ok(NewCredential {
        id,
        public_key: cose.clone(),
        alg: key.alg(),
        sign_count: auth.sign_count,
        user_verified: auth.flags & UV != 0,
        backup_eligible: auth.flags & BE != 0,
        backed_up: auth.flags & BS != 0,
        aaguid: *aaguid,
        transports: r
            .response
            .transports
            .iter()
            .take(8)
            .map(|t| t.chars().take(32).collect())
            .collect(),
    })
}

/// Verifies an assertion (§7.2) made with `stored`: the caller found the credential by
/// [`AssertionResponse::credential_id`] and checked it may be used (the account's; in the
/// allowed list), and stores the answered sign count.
///
/// The counter must grow unless both the stored and the new counter are 0 (authenticators
/// that keep none); otherwise `sign-count`: the authenticator may have been cloned.
pub fn verify_assertion(
    a: &AssertionResponse,
    stored: &StoredCredential<'_>,
    expected: &Expected<'_>,
) -> Result<AssertionOk, WebauthnError> {
    if a.kind != "public-key" {
        return Err(err(Reason::Malformed, "not a public-key credential"));
    }
    let client_hash = check_client_data(&a.response.client_data_json, "webauthn.get", expected)?;
    let auth_bytes = from_b64url(&a.response.authenticator_data)?;
    let auth = parse_auth_data(&auth_bytes)?;
    check_flags(&auth, expected)?;
    if auth.attested.is_some() {
        return Err(err(Reason::BadAuthenticatorData, "an assertion carries no new credential"));
    }
    let key = PublicKey::from_cose(stored.public_key)?;
    let sig = from_b64url(&a.response.signature)?;
    let mut signed = auth_bytes.clone();
    signed.extend_from_slice(&client_hash);
    key.verify(&signed, &sig)?;
    let both_zero = auth.sign_count == 0 && stored.sign_count == 0;
    if !both_zero && auth.sign_count <= stored.sign_count {
        return Err(err(Reason::SignCount, "the signature counter did not grow"));
    }
    Ok(AssertionOk {
        sign_count: auth.sign_count,
        user_verified: auth.flags & UV != 0,
        backed_up: auth.flags & BS != 0,
    })
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
