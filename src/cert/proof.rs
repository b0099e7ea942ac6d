//! The `eddsa-jcs-2022` cryptosuite of W3C "Data Integrity EdDSA Cryptosuites v1.0": create and
//! verify one `DataIntegrityProof` embedded in a JSON document.
//!
//! Create: the proof options (type, cryptosuite, created, verificationMethod, proofPurpose)
//! take the document's `@context` when it has one; hashData = SHA-256(JCS(proof
//! configuration)) ‖ SHA-256(JCS(document without proof)); proofValue = `z` + base58btc of the
//! Ed25519 signature of hashData. Verify undoes exactly that, with the key decoded from the
//! `did:key` verification method, and checks the signature strictly (no malleable encodings).
//! The steps are public so a test can compare each one with the specification's vector.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::jcs::canonicalize;
use super::multikey::{multibase_decode, multibase_encode, parse_verification_method};
use crate::store::Timestamp;

pub const PROOF_TYPE: &str = "DataIntegrityProof";
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";
/// The only purpose ringcoach signs with: the issuer asserts what the document says.
pub const ASSERTION_METHOD: &str = "assertionMethod";

/// Why a proof cannot be made or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the document is not a JSON object")]
    NotAnObject,
    #[error("the document has no proof")]
    NoProof,
    #[error("the document already has a proof; a signed document is never signed again")]
    AlreadySigned,
    #[error("the proof is not one JSON object (proof sets are not supported)")]
    ProofNotObject,
    #[error("the proof's {field} is missing or not a string")]
    MissingField { field: &'static str },
    #[error("the proof type is {found:?}, expected DataIntegrityProof")]
    WrongType { found: String },
    #[error("the cryptosuite is {found:?}, expected eddsa-jcs-2022")]
    WrongCryptosuite { found: String },
    #[error("the proof's created time {found:?} is not an XML Schema dateTime")]
    BadCreated { found: String },
    #[error("the proofValue is unusable: {reason}")]
    BadProofValue { reason: String },
    #[error("the verification method is unusable: {reason}")]
    BadVerificationMethod { reason: String },
    #[error("the verification method does not belong to the signing key")]
    KeyMismatch,
    #[error("the proof's @context is not the start of the document's @context")]
    ContextMismatch,
    #[error("cannot canonicalise: {reason}")]
    Canonical { reason: String },
    #[error("the signature does not match the document: it was changed after signing, or signed by another key")]
    SignatureInvalid,
}

/// What the signer states in a proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofOptions {
    /// XML Schema dateTime, e.g. `2023-02-24T23:36:38Z`.
    pub created: String,
    pub verification_method: String,
    pub proof_purpose: String,
}

impl ProofOptions {
    /// An `assertionMethod` proof by `key` at `created`.
    pub fn assertion(key: &VerifyingKey, created: Timestamp) -> Self {
        ProofOptions {
            created: created.to_rfc3339(),
            verification_method: super::multikey::verification_method(key),
            proof_purpose: ASSERTION_METHOD.into(),
        }
    }
}

/// A proof that verified: who signed, when they say they did, and for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    pub key: VerifyingKey,
    pub verification_method: String,
    pub created: Option<Timestamp>,
    pub proof_purpose: String,
}

/// The proof configuration: the options plus `type`, `cryptosuite` and, when the document
/// has one, its `@context` (spec step "set proof.@context to unsecuredDocument.@context").
pub fn proof_config(document: &Map<String, Value>, options: &ProofOptions) -> Map<String, Value> {
    let mut p = Map::new();
    p.insert("type".into(), PROOF_TYPE.into());
    p.insert("cryptosuite".into(), CRYPTOSUITE.into());
    p.insert("created".into(), options.created.clone().into());
    p.insert(
        "verificationMethod".into(),
        options.verification_method.clone().into(),
    );
    p.insert("proofPurpose".into(), options.proof_purpose.clone().into());
    if let Some(ctx) = document.get("@context") {
        p.insert("@context".into(), ctx.clone());
    }
    p
}

/// SHA-256(canonical proof configuration) ‖ SHA-256(canonical document): what Ed25519 signs.
pub fn hash_data(canonical_proof_config: &[u8], canonical_document: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&Sha256::digest(canonical_proof_config));
    out[32..].copy_from_slice(&Sha256::digest(canonical_document));
    out
}

fn canonical(v: &Value) -> Result<Vec<u8>, ProofError> {
    canonicalize(v).map_err(|e| ProofError::Canonical {
        reason: e.to_string(),
    })
}

/// Signs `document` (a JSON object without a proof) and returns it with the proof embedded.
pub fn add_proof(
    document: Value,
    key: &SigningKey,
    options: &ProofOptions,
) -> Result<Value, ProofError> {
    let Value::Object(doc) = document else {
        return Err(ProofError::NotAnObject);
    };
    if doc.contains_key("proof") {
        return Err(ProofError::AlreadySigned);
    }
    let named = parse_verification_method(&options.verification_method)
        .map_err(|reason| ProofError::BadVerificationMethod { reason })?;
    if named != key.verifying_key() {
        return Err(ProofError::KeyMismatch);
    }
    if Timestamp::parse(&options.created).is_err() {
        return Err(ProofError::BadCreated {
            found: options.created.clone(),
        });
    }
    let mut config = proof_config(&doc, options);
    let doc_value = Value::Object(doc);
    let hash = hash_data(
        &canonical(&Value::Object(config.clone()))?,
        &canonical(&doc_value)?,
    );
    let signature = key.sign(&hash);
    config.insert(
        "proofValue".into(),
        multibase_encode(&signature.to_bytes()).into(),
    );
    let Value::Object(mut doc) = doc_value else {
        unreachable!("built as an object above")
    };
    doc.insert("proof".into(), Value::Object(config));
    Ok(Value::Object(doc))
}

/// Verifies the embedded `eddsa-jcs-2022` proof of `document` against the key its
/// verification method names. Whether that key is trusted is the caller's question.
pub fn verify_proof(document: &Value) -> Result<VerifiedProof, ProofError> {
    let Value::Object(secured) = document else {
        return Err(ProofError::NotAnObject);
    };
    let mut unsecured = secured.clone();
    let proof = match unsecured.remove("proof") {
        None => return Err(ProofError::NoProof),
        Some(Value::Object(p)) => p,
        Some(_) => return Err(ProofError::ProofNotObject),
    };
    let mut options = proof;
    let proof_value = match options.remove("proofValue") {
        Some(Value::String(s)) => s,
        _ => {
            return Err(ProofError::MissingField {
                field: "proofValue",
            })
        }
    };
    let string = |field: &'static str| -> Result<String, ProofError> {
        options
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(ProofError::MissingField { field })
    };
    let (kind, suite) = (string("type")?, string("cryptosuite")?);
    if kind != PROOF_TYPE {
        return Err(ProofError::WrongType { found: kind });
    }
    if suite != CRYPTOSUITE {
        return Err(ProofError::WrongCryptosuite { found: suite });
    }
    let created = match options.get("created") {
        None => None,
        Some(Value::String(s)) => {
            Some(Timestamp::parse(s).map_err(|_| ProofError::BadCreated { found: s.clone() })?)
        }
        Some(other) => {
            return Err(ProofError::BadCreated {
                found: other.to_string(),
            })
        }
    };
    let verification_method = string("verificationMethod")?;
    let proof_purpose = string("proofPurpose")?;
    let key = parse_verification_method(&verification_method)
        .map_err(|reason| ProofError::BadVerificationMethod { reason })?;
    let signature: [u8; 64] = multibase_decode(&proof_value)
        .map_err(|reason| ProofError::BadProofValue { reason })?
        .try_into()
        .map_err(|b: Vec<u8>| ProofError::BadProofValue {
            reason: format!("{} bytes, an Ed25519 signature has 64", b.len()),
        })?;
    if let Some(proof_ctx) = options.get("@context") {
        let as_list = |v: &Value| match v {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        let (want, have) = (
            as_list(proof_ctx),
            unsecured.get("@context").map(as_list).unwrap_or_default(),
        );
        if !have.starts_with(&want) {
            return Err(ProofError::ContextMismatch);
        }
        unsecured.insert("@context".into(), proof_ctx.clone());
    }
    let hash = hash_data(
        &canonical(&Value::Object(options))?,
        &canonical(&Value::Object(unsecured))?,
    );
    key.verify_strict(&hash, &Signature::from_bytes(&signature))
        .map_err(|_| ProofError::SignatureInvalid)?;
    Ok(VerifiedProof {
        key,
        verification_method,
        created,
        proof_purpose,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[42u8; 32])
    }

    #[test]
    fn round_trip_and_refusals() {
        let k = key();
        let opts = ProofOptions::assertion(&k.verifying_key(), Timestamp::from_unix_ms(0));
        let doc = json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "name": "x"});
        let signed = add_proof(doc.clone(), &k, &opts).unwrap();
        let ok = verify_proof(&signed).unwrap();
        assert_eq!(ok.key, k.verifying_key());
        assert_eq!(ok.created, Some(Timestamp::from_unix_ms(0)));

        assert_eq!(
            add_proof(signed.clone(), &k, &opts),
            Err(ProofError::AlreadySigned)
        );
        let other = SigningKey::from_bytes(&[1u8; 32]);
        assert_eq!(
            add_proof(doc.clone(), &other, &opts),
            Err(ProofError::KeyMismatch)
        );

        let mut changed = signed.clone();
        changed["name"] = json!("y");
        assert_eq!(verify_proof(&changed), Err(ProofError::SignatureInvalid));

        let mut ctx = signed.clone();
        ctx["@context"] = json!(["https://example.org/other"]);
        assert_eq!(verify_proof(&ctx), Err(ProofError::ContextMismatch));

        let mut suite = signed.clone();
        suite["proof"]["cryptosuite"] = json!("eddsa-rdfc-2022");
        assert!(matches!(
            verify_proof(&suite),
            Err(ProofError::WrongCryptosuite { .. })
        ));
        let mut set = signed;
        set["proof"] = json!([set["proof"].clone()]);
        assert_eq!(verify_proof(&set), Err(ProofError::ProofNotObject));
    }
}
