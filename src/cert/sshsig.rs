//! Detached OpenSSH signatures (SSHSIG) of a file's bytes, so an auditor without ringcoach can
//! check a certificate with `ssh-keygen -Y verify`:
//!
//! ```text
//! ssh-keygen -Y verify -f allowed_signers -I PRINCIPAL -n ringcoach-cert \
//!     -s ID.ringcert.json.sig < ID.ringcert.json
//! ```
//!
//! `allowed_signers` holds the issuer card's `allowedSigners` line; PRINCIPAL is its first word.

use ed25519_dalek::{SigningKey, VerifyingKey};
use ssh_key::private::{Ed25519Keypair, Ed25519PrivateKey, KeypairData};
use ssh_key::{HashAlg, LineEnding, PrivateKey, SshSig};

use super::multikey::ssh_public_key;
use super::CertError;

/// The SSHSIG namespace of ringcoach certificates (`ssh-keygen -n`).
pub const NAMESPACE: &str = "ringcoach-cert";
/// The suffix of a detached signature beside the file it signs.
pub const SIG_SUFFIX: &str = ".sig";

/// The principal an issuer's detached signatures are checked under: its name with
/// whitespace, commas, quotes and pattern characters replaced by `_` (allowed_signers
/// principals are a comma-separated pattern list ending at the first space).
pub fn principal(issuer: &str) -> String {
    issuer
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() || matches!(c, ',' | '"' | '*' | '?' | '!') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// One line of an `allowed_signers` file for `key`, limited to the certificate namespace.
pub fn allowed_signers_line(issuer: &str, key: &VerifyingKey) -> String {
    let public = ssh_public_key(key);
    let body = public
        .to_openssh()
        .unwrap_or_else(|_| unreachable!("an Ed25519 public key always encodes"));
    format!("{} namespaces=\"{NAMESPACE}\" {body}", principal(issuer))
}

/// An armored SSHSIG signature (`-----BEGIN SSH SIGNATURE-----`) of `bytes` by `key`,
/// SHA-512, namespace [`NAMESPACE`]: what `ssh-keygen -Y sign -n ringcoach-cert` would make.
/// `comment` is the key's comment (the issuer's name).
pub fn sign(key: &SigningKey, comment: &str, bytes: &[u8]) -> Result<String, CertError> {
    let pair = Ed25519Keypair {
        public: ssh_key::public::Ed25519PublicKey(key.verifying_key().to_bytes()),
        private: Ed25519PrivateKey::from_bytes(&key.to_bytes()),
    };
    let key = PrivateKey::new(KeypairData::Ed25519(pair), comment)
        .map_err(|e| CertError::Invalid(format!("cannot use the key for SSHSIG: {e}")))?;
    key.sign(NAMESPACE, HashAlg::Sha512, bytes)
        .and_then(|sig| sig.to_pem(LineEnding::LF))
        .map_err(|e| CertError::Invalid(format!("cannot make the detached signature: {e}")))
}

/// Checks an armored SSHSIG signature of `bytes` by `key` in [`NAMESPACE`].
pub fn verify_detached(key: &VerifyingKey, bytes: &[u8], armored: &str) -> Result<(), String> {
    let sig = SshSig::from_pem(armored).map_err(|e| format!("not an SSH signature: {e}"))?;
    ssh_public_key(key)
        .verify(NAMESPACE, bytes, &sig)
        .map_err(|e| format!("the detached signature does not match: {e}"))
}
