//! Certificates: the cryptographic and credential core of certification checks. Pure library
//! code plus a few file operations on the keyring; no terminal, no store, no clock (every
//! function that needs "now" takes it).
//!
//! # What a certificate is
//! `ID.ringcert.json` is a W3C Verifiable Credential 2.0 shaped as an Open Badges 3.0
//! `OpenBadgeCredential` (achievement type `Certification`, see [`credential`]) with one
//! embedded `DataIntegrityProof` of the `eddsa-jcs-2022` cryptosuite ([`proof`]): Ed25519 over
//! SHA-256(JCS(proof configuration)) ‖ SHA-256(JCS(credential without proof)). Nothing is
//! fetched and no JSON-LD processing happens: the `@context` entries are identifiers only.
//!
//! Everything ringcoach-specific (candidate, suite and rubric hashes, pass rules, every call
//! with its transcript, audio hashes, machine and final verdicts, overrules, versions,
//! sitting times, result) sits under one property, `ringcoach:certificate`, declared by an
//! inline extension context that the credential carries itself:
//!
//! ```json
//! {"ringcoach": "urn:ringcoach:vocab#",
//!  "ringcoach:certificate": {"@id": "urn:ringcoach:vocab#certificate", "@type": "@json"}}
//! ```
//!
//! `@json` makes the whole value an opaque JSON literal to any JSON-LD processor, so its
//! snake_case keys need no term definitions and the standard Open Badges fields stay clean.
//!
//! # The file on disk
//! A signed file is written as its RFC 8785 canonical form laid out with two-space
//! indentation ([`jcs::to_file_bytes`]): keys sorted, numbers and strings exactly as JCS
//! writes them, one trailing newline. The layout is a pure function of the content, so
//! [`verify::verify`] can demand the exact bytes: any single changed byte either breaks the
//! JSON, changes the signed content, or leaves the file in a layout the issuer never writes,
//! and each of these is refused. Re-indenting a certificate (`jq .`) counts as an edit; the
//! report then says the signed content itself is intact.
//!
//! # Keyring layout
//! One directory per issuer under the keyring root (the caller chooses the root; ringcoach
//! keeps it in its data directory):
//!
//! ```text
//! KEYRING/
//!   <issuer name>/                       0700
//!     current                            stem of the key that signs now, one line
//!     <stem>.key                         OpenSSH private key, passphrase-protected
//!                                        (bcrypt-pbkdf, 16 rounds + aes256-ctr), 0600
//!     <stem>.pub                         its OpenSSH public key line
//!     <stem>.card.json                   its issuer card, signed by the key itself
//!     revocations.json                   the latest signed revocation list, if any
//! ```
//!
//! `<stem>` is `key-<UTC creation time>-<8 hex of the public key's SHA-256>`, so keys sort by
//! age and never collide. Every file is written to a temporary file in the same directory,
//! fsynced and renamed into place; the private key's temporary file is created 0600, so the
//! key is never readable by others, not even for a moment. `current` is written last: a
//! crash leaves the previous state or the new one.
//!
//! # Issuer cards and rotation
//! An [`IssuerCard`] (issuer name, public key as Multikey and `did:key`, OpenSSH public key
//! and fingerprint, `validFrom`, optional `validUntil`) is what an employer keeps to trust an
//! issuer; it carries an `eddsa-jcs-2022` proof by its own key. Rotation makes a new key and
//! re-issues the old key's card with `validUntil` = now: a certificate verifies when its
//! proof's `created` time lies in `[validFrom, validUntil)` of a trusted card for its key.
//! When several trusted cards name the same key, the earliest `validUntil` wins, so an
//! employer who still holds the old, open-ended card loses nothing by adding the retired one.
//! A signature's `created` time is the signer's word: a stolen retired key can backdate, which
//! is what revocation is for.
//!
//! # Revocation
//! A [`revocation::RevocationList`] is a signed document (issuer, sequence number, entries of
//! certificate id, date, reason, optional replacement). Revoking re-issues the whole list with
//! the next sequence number; a replacement certificate names the one it replaces in
//! `ringcoach:certificate.supersedes`.
//!
//! # Verifying without ringcoach
//! Beside the JSON, [`keyring::Signer::sign_detached`] makes an OpenSSH SSHSIG signature of
//! the file's bytes (namespace [`sshsig::NAMESPACE`]); with the issuer card's
//! `allowed_signers` line an auditor runs
//! `ssh-keygen -Y verify -f allowed_signers -I PRINCIPAL -n ringcoach-cert -s FILE.sig < FILE`.
//! Any eddsa-jcs-2022 implementation also accepts the embedded proof.
//!
//! # Verification outcome
//! [`verify::verify`] returns a [`verify::Verification`] whose [`verify::Class`] maps to the
//! exit codes of `ringcoach verify`: 0 verified; 1 tampered or untrusted (no field can be
//! trusted); 3 signature good but evidence mismatched or the certificate revoked.

pub mod credential;
pub mod evaluate;
pub mod evidence;
pub mod issue;
pub mod jcs;
pub mod keyring;
pub mod multikey;
pub mod proof;
pub mod render;
pub mod revocation;
pub mod sshsig;
pub mod verify;

use std::io;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

pub use credential::{
    new_certificate_id, CallRecord, Candidate, CertificateRecord, CheckRecord, Credential,
    IssuerRef, ModelRef, Overrule, PassRules, ResultStatus, RubricHash, Sitting, Software,
    StatedResult, SuiteRef, TurnRecord,
};
pub use evaluate::{evaluate, CallOutcome, Outcome};
pub use issue::{issue, Issued};
pub use keyring::{IssuerCard, Keyring, Rotation, Signer};
pub use proof::{ProofError, ProofOptions, VerifiedProof};
pub use revocation::{RevocationEntry, RevocationList};
pub use verify::{verify, Class, Verification, VerifyInput};

/// The file name suffix of a certificate.
pub const CERT_SUFFIX: &str = ".ringcert.json";

/// Everything that can go wrong making, signing or loading certificate material. Each
/// message says what is wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot {action} {path}: {err}")]
    Io {
        action: &'static str,
        path: PathBuf,
        err: io::Error,
    },
    #[error("{what} is not valid JSON for a signed document: {reason}")]
    Json { what: String, reason: String },
    #[error("cannot canonicalise {what} (RFC 8785): {reason}")]
    Canonical { what: String, reason: String },
    #[error("{0}")]
    Proof(#[from] ProofError),
    #[error("the passphrase is empty: an issuer key must be protected by a passphrase")]
    EmptyPassphrase,
    #[error("wrong passphrase for {path} (or the key file is damaged); try again")]
    WrongPassphrase { path: PathBuf },
    #[error(
        "{path} is readable by others (mode {mode:o}): run `chmod 600 {path}`, and make a new \
         key with rotation if anyone else could have copied it"
    )]
    KeyPermissions { path: PathBuf, mode: u32 },
    #[error("{path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },
    #[error("{name:?} cannot be an issuer name: {reason}")]
    BadIssuerName { name: String, reason: String },
    #[error("issuer {name:?} already has a key in {dir}; rotate it instead of making another")]
    IssuerExists { name: String, dir: PathBuf },
    #[error("no issuer {name:?} in {dir}; make its key first (keygen)")]
    NoIssuer { name: String, dir: PathBuf },
    #[error("issuer card {what}: {reason}; ask the issuer for a fresh copy of the card")]
    BadCard { what: String, reason: String },
    #[error("the key of {issuer:?} is not valid at {at}: {reason}")]
    KeyNotValid {
        issuer: String,
        at: String,
        reason: String,
    },
    #[error("revocation list {what}: {reason}")]
    BadRevocationList { what: String, reason: String },
    #[error("{0}")]
    Invalid(String),
}

impl CertError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |err| CertError::Io { action, path, err }
    }

    /// Turns a store file-primitive error into ours, keeping the path and the I/O cause.
    pub(crate) fn from_store(err: crate::store::StoreError) -> Self {
        match err {
            crate::store::StoreError::Io { action, path, err } => {
                CertError::Io { action, path, err }
            }
            other => CertError::Invalid(other.to_string()),
        }
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    crate::store::fsio::hex(bytes)
}
