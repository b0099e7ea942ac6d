//! Signed revocation lists. One list per issuer, re-issued whole (next sequence number, new
//! proof) each time a certificate is revoked, so a newer list always contains an older one.

use std::fs;
use std::io::ErrorKind;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::jcs::parse_strict;
use super::keyring::{trusted_key, write_atomic, IssuerCard, Keyring, TrustedKey};
use super::proof::{verify_proof, ASSERTION_METHOD};
use super::CertError;
use crate::store::Timestamp;

/// The `type` of a revocation list.
pub const LIST_TYPE: &str = "RingcoachRevocationList";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevocationEntry {
    /// The certificate id (`urn:uuid:…`).
    pub id: String,
    pub date: Timestamp,
    pub reason: String,
    /// The certificate that replaces it, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevocationList {
    #[serde(rename = "type")]
    pub kind: String,
    /// The issuer's name; the list is signed by one of its keys.
    pub issuer: String,
    /// 1 for the first list, one more for each re-issue.
    pub sequence: u64,
    pub issued: Timestamp,
    pub entries: Vec<RevocationEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Value>,
}

impl RevocationList {
    pub fn find(&self, certificate_id: &str) -> Option<&RevocationEntry> {
        self.entries.iter().find(|e| e.id == certificate_id)
    }

    /// Reads a list and checks it: strict JSON, a valid proof by a key that `trusted` cards
    /// give to the list's issuer, made inside that key's window.
    pub fn from_bytes(
        bytes: &[u8],
        what: &str,
        trusted: &[IssuerCard],
    ) -> Result<(RevocationList, TrustedKey), CertError> {
        let bad = |reason: String| CertError::BadRevocationList {
            what: what.into(),
            reason,
        };
        let value = parse_strict(bytes).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        let list: RevocationList = serde_json::from_value(value.clone())
            .map_err(|e| bad(format!("not a revocation list: {e}")))?;
        if list.kind != LIST_TYPE {
            return Err(bad(format!(
                "type is {:?}, expected {LIST_TYPE}",
                list.kind
            )));
        }
        let proof = verify_proof(&value).map_err(|e| bad(e.to_string()))?;
        if proof.proof_purpose != ASSERTION_METHOD {
            return Err(bad(format!("proof purpose {:?}", proof.proof_purpose)));
        }
        let key = trusted_key(trusted, &proof.key)
            .map_err(bad)?
            .ok_or_else(|| bad("it is signed by a key no trusted issuer card names".into()))?;
        if key.issuer != list.issuer {
            return Err(bad(format!(
                "it speaks for {:?} but is signed by a key of {:?}",
                list.issuer, key.issuer
            )));
        }
        match proof.created {
            Some(t) if key.contains(t) => Ok((list, key)),
            Some(t) => Err(bad(format!("signed at {t}, outside its key's validity"))),
            None => Err(bad("its proof has no created time".into())),
        }
    }
}

/// Adds `entry` to the revocation list of `issuer` (creating the list on first use), signs the
/// new list at `now` with the issuer's current key and writes it atomically. Returns the list.
pub fn revoke(
    keyring: &Keyring,
    issuer: &str,
    passphrase: &[u8],
    entry: RevocationEntry,
    now: Timestamp,
) -> Result<RevocationList, CertError> {
    if entry.id.trim().is_empty() || entry.reason.trim().is_empty() {
        return Err(CertError::Invalid(
            "a revocation needs the certificate id and a reason".into(),
        ));
    }
    let signer = keyring.signer(issuer, passphrase)?;
    let path = keyring.revocations_path(issuer)?;
    let mut list = match fs::read(&path) {
        Ok(bytes) => {
            RevocationList::from_bytes(
                &bytes,
                &path.display().to_string(),
                &keyring.cards(issuer)?,
            )?
            .0
        }
        Err(e) if e.kind() == ErrorKind::NotFound => RevocationList {
            kind: LIST_TYPE.into(),
            issuer: issuer.into(),
            sequence: 0,
            issued: now,
            entries: Vec::new(),
            proof: None,
        },
        Err(e) => return Err(CertError::io("read", &path)(e)),
    };
    if let Some(old) = list.find(&entry.id) {
        return Err(CertError::Invalid(format!(
            "{} was already revoked on {} ({})",
            entry.id, old.date, old.reason
        )));
    }
    list.entries.push(entry);
    list.sequence += 1;
    list.issued = now;
    list.proof = None;
    let value = serde_json::to_value(&list).map_err(|e| CertError::Invalid(e.to_string()))?;
    let bytes = signer.sign_to_file_bytes(value, now)?;
    write_atomic(&path, &bytes)?;
    Ok(RevocationList::from_bytes(&bytes, "just signed", &keyring.cards(issuer)?)?.0)
}
