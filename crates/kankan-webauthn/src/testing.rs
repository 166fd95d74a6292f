//! Keys and COSE encodings for the unit tests.

use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

use crate::cbor::{Value, encode};

/// The COSE_Key of an uncompressed P-256 point.
pub fn ec_cose(point: &[u8]) -> Vec<u8> {
    let (x, y) = (point.get(1..33).unwrap_or_default(), point.get(33..65).unwrap_or_default());
    encode(&Value::Map(vec![
        (Value::Int(1), Value::Int(2)),
        (Value::Int(3), Value::Int(-7)),
        (Value::Int(-1), Value::Int(1)),
        (Value::Int(-2), Value::Bytes(x.to_vec())),
        (Value::Int(-3), Value::Bytes(y.to_vec())),
    ]))
}

pub fn ed_cose(key: &[u8]) -> Vec<u8> {
    encode(&Value::Map(vec![
        (Value::Int(1), Value::Int(1)),
        (Value::Int(3), Value::Int(-8)),
        (Value::Int(-1), Value::Int(6)),
        (Value::Int(-2), Value::Bytes(key.to_vec())),
    ]))
}

pub fn rsa_cose(n: &[u8], e: &[u8]) -> Vec<u8> {
    encode(&Value::Map(vec![
        (Value::Int(1), Value::Int(3)),
        (Value::Int(3), Value::Int(-257)),
        (Value::Int(-1), Value::Bytes(n.to_vec())),
        (Value::Int(-2), Value::Bytes(e.to_vec())),
    ]))
}

/// A new P-256 key and its COSE_Key.
pub fn es256_key() -> (EcdsaKeyPair, Vec<u8>) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("gen");
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
        .expect("key");
    let cose = ec_cose(key.public_key().as_ref());
    (key, cose)
}
