//! Signing a certificate: the record is checked by [`evaluate`] (nothing uncertain, every
//! final verdict explained, the stated result what the rules give) before the issuer's key
//! signs the Open Badges credential built from it.

use super::credential::{new_certificate_id, CertificateRecord, Credential, IssuerRef, FORMAT};
use super::evaluate::evaluate;
use super::keyring::Signer;
use super::{jcs, sha256_hex, CertError};
use crate::store::Timestamp;

/// A signed certificate ready to write: its id, the exact file bytes and the detached
/// OpenSSH signature to write beside it (`FILE.sig`).
#[derive(Debug, Clone)]
pub struct Issued {
    pub id: String,
    pub bytes: Vec<u8>,
    pub ssh_signature: String,
    /// SHA-256 of `bytes`: the digest `verify` prints and the rendered page's QR code holds.
    pub digest: String,
}

/// Signs a certificate for `record` at `now`. Refuses when the record is not fit to certify
/// (anything [`evaluate`] finds: an uncertain verdict, an overrule that does not explain a
/// final verdict, attempts ≠ 1, …), when the stated result disagrees with the rules, or when
/// the record names another issuer key than the signer's.
pub fn issue(
    signer: &Signer,
    record: CertificateRecord,
    now: Timestamp,
) -> Result<Issued, CertError> {
    let outcome = evaluate(&record.rules, &record.calls);
    let mut problems = outcome.problems.clone();
    problems.extend(outcome.disagreements(&record.result, &record.calls));
    if record.issuer != IssuerRef::from_card(signer.card()) {
        problems.push("the record's issuer is not the signing key's card".into());
    }
    if record.format != FORMAT {
        problems.push(format!(
            "record format {} (this ringcoach writes {FORMAT})",
            record.format
        ));
    }
    if !problems.is_empty() {
        return Err(CertError::Invalid(format!(
            "cannot issue this certificate: {}",
            problems.join("; ")
        )));
    }
    let id = new_certificate_id();
    let value = Credential::new(record, id.clone(), now).to_value()?;
    let bytes = signer.sign_to_file_bytes(value, now)?;
    debug_assert!(jcs::parse_strict(&bytes).is_ok());
    let ssh_signature = signer.sign_detached(&bytes)?;
    Ok(Issued {
        id,
        digest: sha256_hex(&bytes),
        bytes,
        ssh_signature,
    })
}
