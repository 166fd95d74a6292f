//! Registration and assertion verification against the software authenticator.

use serde_json::{Value as Json, json};

use super::*;
use crate::options::{UserEntity, creation_options, request_options};
use crate::soft::SoftAuthenticator;
use crate::{b64url, sha256};

const ORIGIN: &str = "http://localhost:8080";

fn rp() -> RelyingParty {
    RelyingParty::for_origin(ORIGIN, "Kankan").expect("rp")
}

fn expect<'a>(rp: &'a RelyingParty, hash: &'a [u8; 32]) -> Expected<'a> {
    Expected { rp, challenge_hash: hash, user_verification: UserVerification::Preferred }
}

fn create_options(challenge: &[u8]) -> Json {
    let user = UserEntity { id: b"handle-1", name: "me", display_name: "Me" };
    creation_options(&rp(), &user, challenge, &[], UserVerification::Preferred, 60_000)
}

/// A registered credential: the authenticator and what the RP stored.
fn registered() -> (SoftAuthenticator, NewCredential) {
    let mut a = SoftAuthenticator::new(ORIGIN);
    let challenge = [3u8; 32];
    let json = a.create(&create_options(&challenge)).expect("create");
    let r = RegistrationResponse::from_json(&json).expect("parse");
    let rp = rp();
    let cred = verify_registration(&r, &expect(&rp, &sha256(&challenge))).expect("verify");
    (a, cred)
}

fn assert_with(a: &mut SoftAuthenticator, challenge: &[u8]) -> AssertionResponse {
    let o = request_options(&rp(), challenge, &[], UserVerification::Preferred, 60_000);
    AssertionResponse::from_json(&a.get(&o).expect("get")).expect("parse")
}

fn reason<T: std::fmt::Debug>(r: Result<T, WebauthnError>) -> Reason {
    r.expect_err("refused").reason
}

/// Rewrites one field of a credential's base64url clientDataJSON.
fn with_client_data(mut json: Json, key: &str, value: Json) -> Json {
    let raw =
        crate::from_b64url(json["response"]["clientDataJSON"].as_str().expect("cd")).expect("b64");
    let mut cd: Json = serde_json::from_slice(&raw).expect("json");
    cd[key] = value;
    json["response"]["clientDataJSON"] = json!(b64url(cd.to_string().as_bytes()));
    json
}

#[test]
fn a_none_attestation_registers_the_credential_and_its_key() {
    let (a, cred) = registered();
    assert_eq!(cred.id, a.credentials()[0].id);
    assert_eq!(cred.alg, crate::cose::ES256);
    assert_eq!(cred.sign_count, 0);
    assert!(cred.user_verified);
    assert!(!cred.backup_eligible && !cred.backed_up);
    assert_eq!(cred.transports, ["internal"]);
    PublicKey::from_cose(&cred.public_key).expect("a COSE key");
}

#[test]
fn packed_self_attestation_is_verified() {
    let mut a = SoftAuthenticator::new(ORIGIN);
    a.packed = true;
    let challenge = [4u8; 32];
    let mut json = a.create(&create_options(&challenge)).expect("create");
    let rp = rp();
    let r = RegistrationResponse::from_json(&json).expect("parse");
    verify_registration(&r, &expect(&rp, &sha256(&challenge))).expect("packed verifies");
    // The same statement over other client data no longer verifies.
    json = with_client_data(json, "crossOrigin", json!(false));
    json = with_client_data(json, "extra", json!("x"));
    let r = RegistrationResponse::from_json(&json).expect("parse");
    assert_eq!(
        reason(verify_registration(&r, &expect(&rp, &sha256(&challenge)))),
        Reason::BadSignature
    );
}

#[test]
fn registration_checks_type_challenge_origin_and_rp() {
    let mut a = SoftAuthenticator::new(ORIGIN);
    let challenge = [5u8; 32];
    let good = a.create(&create_options(&challenge)).expect("create");
    let rp = rp();
    let hash = sha256(&challenge);
    let check = |json: Json| {
        let r = RegistrationResponse::from_json(&json).expect("parse");
        verify_registration(&r, &expect(&rp, &hash))
    };
    assert_eq!(
        reason(check(with_client_data(good.clone(), "type", json!("webauthn.get")))),
        Reason::WrongType
    );
    let other = json!(b64url(&[6u8; 32]));
    assert_eq!(
        reason(check(with_client_data(good.clone(), "challenge", other))),
        Reason::WrongChallenge
    );
    let evil = json!("https://evil.example");
    assert_eq!(reason(check(with_client_data(good.clone(), "origin", evil))), Reason::WrongOrigin);
    assert_eq!(
        reason(check(with_client_data(good.clone(), "crossOrigin", json!(true)))),
        Reason::WrongOrigin
    );
    let other_rp = RelyingParty { id: "other.example".into(), ..rp.clone() };
    let r = RegistrationResponse::from_json(&good).expect("parse");
    assert_eq!(
        reason(verify_registration(&r, &expect(&other_rp, &hash))),
        Reason::WrongRelyingParty
    );
    let mut wrong_id = good.clone();
    wrong_id["id"] = json!(b64url(b"another id"));
    wrong_id["rawId"] = json!(b64url(b"another id"));
    assert_eq!(reason(check(wrong_id)), Reason::Malformed);
    check(good).expect("the untouched one verifies");
}

#[test]
fn user_verification_is_enforced_when_required() {
    let mut a = SoftAuthenticator::new(ORIGIN);
    a.user_verified = false;
    let challenge = [7u8; 32];
    let json = a.create(&create_options(&challenge)).expect("create");
    let r = RegistrationResponse::from_json(&json).expect("parse");
    let rp = rp();
    let hash = sha256(&challenge);
    let required = Expected { user_verification: UserVerification::Required, ..expect(&rp, &hash) };
    assert_eq!(reason(verify_registration(&r, &required)), Reason::UserNotVerified);
    verify_registration(&r, &expect(&rp, &hash)).expect("preferred accepts");
}

#[test]
fn an_assertion_verifies_and_answers_the_grown_counter() {
    let (mut a, cred) = registered();
    let challenge = [8u8; 32];
    let assertion = assert_with(&mut a, &challenge);
    assert_eq!(assertion.credential_id().expect("id"), cred.id);
    assert_eq!(assertion.user_handle().expect("handle"), Some(b"handle-1".to_vec()));
    let rp = rp();
    let stored = StoredCredential { public_key: &cred.public_key, sign_count: cred.sign_count };
    let ok = verify_assertion(&assertion, &stored, &expect(&rp, &sha256(&challenge))).expect("ok");
    assert_eq!(ok.sign_count, 1);
    assert!(ok.user_verified);
}

#[test]
fn an_assertion_for_another_challenge_origin_or_key_is_refused() {
    let (mut a, cred) = registered();
    let rp = rp();
    let challenge = [9u8; 32];
    let hash = sha256(&challenge);
    let stored = StoredCredential { public_key: &cred.public_key, sign_count: 0 };
    let assertion = assert_with(&mut a, &challenge);
    assert_eq!(
        reason(verify_assertion(&assertion, &stored, &expect(&rp, &sha256(b"x")))),
        Reason::WrongChallenge
    );
    a.origin = "http://localhost:9999".into();
    let elsewhere = assert_with(&mut a, &challenge);
    assert_eq!(
        reason(verify_assertion(&elsewhere, &stored, &expect(&rp, &hash))),
        Reason::WrongOrigin
    );
    let (_, other) = registered();
    let theirs = StoredCredential { public_key: &other.public_key, sign_count: 0 };
    assert_eq!(
        reason(verify_assertion(&assertion, &theirs, &expect(&rp, &hash))),
        Reason::BadSignature
    );
    let mut json = serde_json::to_value(&assertion.response.client_data_json).expect("v");
    json = json!({"id": assertion.id, "type": "public-key", "response": {
        "clientDataJSON": json, "authenticatorData": assertion.response.authenticator_data,
        "signature": b64url(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])}});
    let forged = AssertionResponse::from_json(&json).expect("parse");
    assert_eq!(
        reason(verify_assertion(&forged, &stored, &expect(&rp, &hash))),
        Reason::BadSignature
    );
}

#[test]
fn a_counter_that_does_not_grow_is_a_clone() {
    let (mut a, cred) = registered();
    let mut clone = a.clone();
    let rp = rp();
    let c1 = [1u8; 32];
    let first = assert_with(&mut a, &c1);
    let stored = StoredCredential { public_key: &cred.public_key, sign_count: 0 };
    let ok = verify_assertion(&first, &stored, &expect(&rp, &sha256(&c1))).expect("first");
    let c2 = [2u8; 32];
    let cloned = assert_with(&mut clone, &c2);
    let now = StoredCredential { public_key: &cred.public_key, sign_count: ok.sign_count };
    assert_eq!(
        reason(verify_assertion(&cloned, &now, &expect(&rp, &sha256(&c2)))),
        Reason::SignCount
    );
}

#[test]
fn a_counter_kept_at_zero_by_both_is_accepted() {
    let (_, cred) = registered();
    let key = PublicKey::from_cose(&cred.public_key).expect("key");
    assert_eq!(key.alg(), -7);
    // An authenticator that keeps no counter: 0 stored, 0 sent.
    let (signer, cose) = crate::testing::es256_key();
    let rp = rp();
    let challenge = [4u8; 32];
    let cd = json!({"type": "webauthn.get", "challenge": b64url(&challenge), "origin": ORIGIN})
        .to_string();
    let mut auth = sha256(b"localhost").to_vec();
    auth.push(0x05);
    auth.extend(0u32.to_be_bytes());
    let mut signed = auth.clone();
    signed.extend(sha256(cd.as_bytes()));
    let sig = signer.sign(&ring::rand::SystemRandom::new(), &signed).expect("sign");
    let json = json!({"id": "AQ", "type": "public-key", "response": {
        "clientDataJSON": b64url(cd.as_bytes()), "authenticatorData": b64url(&auth),
        "signature": b64url(sig.as_ref())}});
    let a = AssertionResponse::from_json(&json).expect("parse");
    let stored = StoredCredential { public_key: &cose, sign_count: 0 };
    let ok = verify_assertion(&a, &stored, &expect(&rp, &sha256(&challenge))).expect("zero ok");
    assert_eq!(ok.sign_count, 0);
    let later = StoredCredential { public_key: &cose, sign_count: 5 };
    assert_eq!(
        reason(verify_assertion(&a, &later, &expect(&rp, &sha256(&challenge)))),
        Reason::SignCount
    );
}

#[test]
fn malformed_responses_are_refused_without_panicking() {
    for bad in [json!({}), json!({"id": 1}), json!([]), json!({"id": "x", "type": "public-key"})] {
        assert_eq!(reason(RegistrationResponse::from_json(&bad)), Reason::Malformed);
        assert_eq!(reason(AssertionResponse::from_json(&bad)), Reason::Malformed);
    }
    let (mut a, cred) = registered();
    let challenge = [1u8; 32];
    let mut json = a
        .get(&request_options(&rp(), &challenge, &[], UserVerification::Preferred, 1))
        .expect("get");
    json["response"]["authenticatorData"] = json!(b64url(&[0u8; 36]));
    let short = AssertionResponse::from_json(&json).expect("parse");
    let rp = rp();
    let stored = StoredCredential { public_key: &cred.public_key, sign_count: 0 };
    assert_eq!(
        reason(verify_assertion(&short, &stored, &expect(&rp, &sha256(&challenge)))),
        Reason::BadAuthenticatorData
    );
}

proptest::proptest! {
    #[test]
    fn any_authenticator_data_parses_without_panicking(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        let _ = parse_auth_data(&bytes);
    }
}
