//! Issuer keys on disk (layout in the module comment of [`crate::cert`]), issuer cards, and the
//! [`Signer`] a decrypted key becomes.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ssh_key::private::{Ed25519Keypair, KeypairData};
use ssh_key::rand_core::OsRng;
use ssh_key::{LineEnding, PrivateKey};

use super::jcs::{parse_strict, to_file_bytes};
use super::multikey::{
    parse_public_key_multibase, public_key_multibase, ssh_fingerprint, verification_method,
};
use super::proof::{add_proof, verify_proof, ProofOptions, ASSERTION_METHOD};
use super::{sha256_hex, sshsig, CertError};
use crate::store::Timestamp;

/// The `type` of an issuer card.
pub const CARD_TYPE: &str = "RingcoachIssuerCard";
const CURRENT: &str = "current";
const REVOCATIONS: &str = "revocations.json";

/// What an employer keeps to trust an issuer: name, public key, validity window. Signed by the
/// key it describes (so the window is the key holder's word, and a damaged card is noticed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssuerCard {
    #[serde(rename = "type")]
    pub kind: String,
    /// The issuer's name, as certificates show it.
    pub issuer: String,
    /// Ed25519 public key as a Multikey (`z6Mk…`).
    pub public_key_multibase: String,
    /// `did:key:z6Mk…#z6Mk…`, the verification method certificates name.
    pub verification_method: String,
    /// OpenSSH fingerprint (`SHA256:…`), the short form to read out over the phone.
    pub fingerprint: String,
    /// The `allowed_signers` line for `ssh-keygen -Y verify` of the detached signatures.
    pub allowed_signers: String,
    pub valid_from: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Value>,
}

impl IssuerCard {
    /// An unsigned card for `key`.
    pub fn new(issuer: &str, key: &VerifyingKey, valid_from: Timestamp) -> IssuerCard {
        IssuerCard {
            kind: CARD_TYPE.into(),
            issuer: issuer.into(),
            public_key_multibase: public_key_multibase(key),
            verification_method: verification_method(key),
            fingerprint: ssh_fingerprint(key),
            allowed_signers: sshsig::allowed_signers_line(issuer, key),
            valid_from,
            valid_until: None,
            proof: None,
        }
    }

    /// The card's public key.
    pub fn key(&self) -> Result<VerifyingKey, CertError> {
        parse_public_key_multibase(&self.public_key_multibase).map_err(|reason| {
            CertError::BadCard {
                what: format!("of {:?}", self.issuer),
                reason,
            }
        })
    }

    /// Whether a signature made at `at` falls in the card's window `[validFrom, validUntil)`.
    pub fn window_contains(&self, at: Timestamp) -> bool {
        at >= self.valid_from && self.valid_until.is_none_or(|u| at < u)
    }

    /// Reads and checks a card: strict JSON, every derived field agrees with the key, and the
    /// card's own proof verifies with that key. `what` names it in errors (usually the path).
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<IssuerCard, CertError> {
        let bad = |reason: String| CertError::BadCard {
            what: what.to_string(),
            reason,
        };
        let value = parse_strict(bytes).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        let card: IssuerCard = serde_json::from_value(value.clone())
            .map_err(|e| bad(format!("not an issuer card: {e}")))?;
        if card.kind != CARD_TYPE {
            return Err(bad(format!(
                "type is {:?}, expected {CARD_TYPE}",
                card.kind
            )));
        }
        let key = parse_public_key_multibase(&card.public_key_multibase).map_err(bad)?;
        let expected = IssuerCard {
            valid_until: card.valid_until,
            proof: card.proof.clone(),
            ..IssuerCard::new(&card.issuer, &key, card.valid_from)
        };
        if expected != card {
            return Err(bad(
                "its verification method, fingerprint or allowed_signers line does not match its key"
                    .into(),
            ));
        }
        let proof = verify_proof(&value).map_err(|e| bad(e.to_string()))?;
        if proof.key != key || proof.proof_purpose != ASSERTION_METHOD {
            return Err(bad("it is not signed by its own key".into()));
        }
        Ok(card)
    }

    /// Reads a card file, or every `*.card.json` in a directory (a trust store).
    pub fn load(path: &Path) -> Result<Vec<IssuerCard>, CertError> {
        if path.is_dir() {
            let mut cards = Vec::new();
            let mut paths: Vec<PathBuf> = fs::read_dir(path)
                .map_err(CertError::io("list", path))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".card.json")))
                .collect();
            paths.sort();
            for p in paths {
                cards.extend(IssuerCard::load(&p)?);
            }
            return Ok(cards);
        }
        let bytes = fs::read(path).map_err(CertError::io("read", path))?;
        Ok(vec![IssuerCard::from_bytes(
            &bytes,
            &path.display().to_string(),
        )?])
    }

    fn signed_bytes(&self, key: &SigningKey, at: Timestamp) -> Result<Vec<u8>, CertError> {
        let mut unsigned = self.clone();
        unsigned.proof = None;
        let value =
            serde_json::to_value(&unsigned).map_err(|e| CertError::Invalid(e.to_string()))?;
        let signed = add_proof(
            value,
            key,
            &ProofOptions::assertion(&key.verifying_key(), at),
        )?;
        to_file_bytes(&signed)
    }
}

/// How trusted cards judge a key: the issuer they name and the narrowest window they give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    pub issuer: String,
    pub fingerprint: String,
    pub valid_from: Timestamp,
    pub valid_until: Option<Timestamp>,
}

impl TrustedKey {
    pub fn contains(&self, at: Timestamp) -> bool {
        at >= self.valid_from && self.valid_until.is_none_or(|u| at < u)
    }
}

/// What the trusted cards say about `key`: None when no card names it; an error when cards
/// for the same key name different issuers.
pub fn trusted_key(cards: &[IssuerCard], key: &VerifyingKey) -> Result<Option<TrustedKey>, String> {
    let mb = public_key_multibase(key);
    let mut out: Option<TrustedKey> = None;
    for c in cards.iter().filter(|c| c.public_key_multibase == mb) {
        match &mut out {
            None => {
                out = Some(TrustedKey {
                    issuer: c.issuer.clone(),
                    fingerprint: c.fingerprint.clone(),
                    valid_from: c.valid_from,
                    valid_until: c.valid_until,
                })
            }
            Some(t) => {
                if t.issuer != c.issuer {
                    return Err(format!(
                        "two trusted cards give key {} to different issuers ({:?} and {:?})",
                        c.fingerprint, t.issuer, c.issuer
                    ));
                }
                t.valid_from = t.valid_from.max(c.valid_from);
                t.valid_until = match (t.valid_until, c.valid_until) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
    }
    Ok(out)
}

/// A decrypted issuer key, ready to sign. Refuses to sign outside its card's window.
pub struct Signer {
    card: IssuerCard,
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("issuer", &self.card.issuer)
            .field("fingerprint", &self.card.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer from a raw key and its card (tests, imports); the card must describe the key.
    pub fn new(key: SigningKey, card: IssuerCard) -> Result<Signer, CertError> {
        if card.key()? != key.verifying_key() {
            return Err(CertError::BadCard {
                what: format!("of {:?}", card.issuer),
                reason: "it describes another key".into(),
            });
        }
        Ok(Signer { card, key })
    }

    pub fn issuer(&self) -> &str {
        &self.card.issuer
    }

    pub fn card(&self) -> &IssuerCard {
        &self.card
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// An armored SSHSIG signature of `bytes` (see [`sshsig::sign`]): what
    /// `ssh-keygen -Y sign -n ringcoach-cert` would make with this key.
    pub fn sign_detached(&self, bytes: &[u8]) -> Result<String, CertError> {
        sshsig::sign(&self.key, self.issuer(), bytes)
    }

    /// Ok when the key may sign at `at`.
    pub fn check_valid(&self, at: Timestamp) -> Result<(), CertError> {
        if self.card.window_contains(at) {
            return Ok(());
        }
        let reason = match self.card.valid_until {
            Some(u) if at >= u => format!("the key was retired at {u}; sign with the current key"),
            _ => format!("the key is valid from {}", self.card.valid_from),
        };
        Err(CertError::KeyNotValid {
            issuer: self.card.issuer.clone(),
            at: at.to_rfc3339(),
            reason,
        })
    }

    /// Embeds an `eddsa-jcs-2022` proof made at `at` in `document`.
    pub fn sign(&self, document: Value, at: Timestamp) -> Result<Value, CertError> {
        self.check_valid(at)?;
        Ok(add_proof(
            document,
            &self.key,
            &ProofOptions::assertion(&self.key.verifying_key(), at),
        )?)
    }

    /// [`Signer::sign`], then the exact bytes to write ([`super::jcs::to_file_bytes`]).
    pub fn sign_to_file_bytes(&self, document: Value, at: Timestamp) -> Result<Vec<u8>, CertError> {
        to_file_bytes(&self.sign(document, at)?)
    }
}

/// The outcome of a rotation: the old key's card, now with an end, and the new key's card.
/// Hand both to employers.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    pub retired: IssuerCard,
    pub current: IssuerCard,
}

/// A keyring directory: one subdirectory per issuer.
#[derive(Debug, Clone)]
pub struct Keyring {
    root: PathBuf,
}

impl Keyring {
    pub fn new(root: impl Into<PathBuf>) -> Keyring {
        Keyring { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of `issuer`, after checking the name is usable as one.
    pub fn issuer_dir(&self, issuer: &str) -> Result<PathBuf, CertError> {
        let bad = |reason: &str| CertError::BadIssuerName {
            name: issuer.into(),
            reason: reason.into(),
        };
        if issuer.trim().is_empty() {
            return Err(bad("it is empty"));
        }
        if issuer.trim() != issuer {
            return Err(bad("it starts or ends with a space"));
        }
        if issuer.len() > 120 {
            return Err(bad("it is longer than 120 bytes"));
        }
        if issuer.starts_with('.') {
            return Err(bad("it starts with a dot"));
        }
        if issuer
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            return Err(bad("it contains a slash or a control character"));
        }
        Ok(self.root.join(issuer))
    }

    /// The issuers that have a key here, sorted.
    pub fn issuers(&self) -> Result<Vec<String>, CertError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(CertError::io("list", &self.root)(e)),
        };
        let mut out: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join(CURRENT).is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        out.sort();
        Ok(out)
    }

    /// Makes the first key of `issuer`, protected by `passphrase`, valid from `now`.
    pub fn keygen(
        &self,
        issuer: &str,
        passphrase: &[u8],
        now: Timestamp,
    ) -> Result<IssuerCard, CertError> {
        if passphrase.is_empty() {
            return Err(CertError::EmptyPassphrase);
        }
        let dir = self.issuer_dir(issuer)?;
        if dir.join(CURRENT).exists() {
            return Err(CertError::IssuerExists {
                name: issuer.into(),
                dir: self.root.clone(),
            });
        }
        make_private_dir(&self.root, true)?;
        make_private_dir(&dir, false)?;
        let (_, card) = self.write_new_key(&dir, issuer, passphrase, now)?;
        Ok(card)
    }

    /// Retires the current key of `issuer` at `now` (its card gets `validUntil`) and makes a
    /// new one valid from `now`, protected by `new_passphrase`.
    pub fn rotate(
        &self,
        issuer: &str,
        passphrase: &[u8],
        new_passphrase: &[u8],
        now: Timestamp,
    ) -> Result<Rotation, CertError> {
        if new_passphrase.is_empty() {
            return Err(CertError::EmptyPassphrase);
        }
        let old = self.signer(issuer, passphrase)?;
        old.check_valid(now)?;
        let dir = self.issuer_dir(issuer)?;
        let old_stem = self.current_stem(issuer)?;
        let mut retired = old.card.clone();
        retired.valid_until = Some(now);
        retired.proof = None;
        let (_, current) = self.write_new_key(&dir, issuer, new_passphrase, now)?;
        let bytes = retired.signed_bytes(&old.key, now)?;
        write_atomic(&dir.join(format!("{old_stem}.card.json")), &bytes)?;
        let retired = IssuerCard::from_bytes(&bytes, "just retired")?;
        Ok(Rotation { retired, current })
    }

    /// Decrypts the current key of `issuer`.
    pub fn signer(&self, issuer: &str, passphrase: &[u8]) -> Result<Signer, CertError> {
        let dir = self.issuer_dir(issuer)?;
        let stem = self.current_stem(issuer)?;
        let card = self.card_at(&dir.join(format!("{stem}.card.json")))?;
        let key = read_private_key(&dir.join(format!("{stem}.key")), passphrase)?;
        Signer::new(key, card)
    }

    /// The card of the key that signs now.
    pub fn current_card(&self, issuer: &str) -> Result<IssuerCard, CertError> {
        let dir = self.issuer_dir(issuer)?;
        let stem = self.current_stem(issuer)?;
        self.card_at(&dir.join(format!("{stem}.card.json")))
    }

    /// Every card of `issuer`, oldest key first.
    pub fn cards(&self, issuer: &str) -> Result<Vec<IssuerCard>, CertError> {
        self.current_stem(issuer)?;
        IssuerCard::load(&self.issuer_dir(issuer)?)
    }

    /// Every card of every issuer here: the trust store of "keys made on this machine".
    pub fn all_cards(&self) -> Result<Vec<IssuerCard>, CertError> {
        let mut out = Vec::new();
        for issuer in self.issuers()? {
            out.extend(self.cards(&issuer)?);
        }
        Ok(out)
    }

    /// Where the signed revocation list of `issuer` lives.
    pub fn revocations_path(&self, issuer: &str) -> Result<PathBuf, CertError> {
        Ok(self.issuer_dir(issuer)?.join(REVOCATIONS))
    }

    fn current_stem(&self, issuer: &str) -> Result<String, CertError> {
        let path = self.issuer_dir(issuer)?.join(CURRENT);
        match fs::read_to_string(&path) {
            Ok(s) => {
                let stem = s.trim();
                if stem.is_empty() || stem.contains(['/', '\\']) || stem.starts_with('.') {
                    return Err(CertError::KeyFile {
                        path,
                        reason: "does not name a key; restore it from a backup".into(),
                    });
                }
                Ok(stem.to_string())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CertError::NoIssuer {
                name: issuer.into(),
                dir: self.root.clone(),
            }),
            Err(e) => Err(CertError::io("read", path)(e)),
        }
    }

    fn card_at(&self, path: &Path) -> Result<IssuerCard, CertError> {
        let bytes = fs::read(path).map_err(CertError::io("read", path))?;
        IssuerCard::from_bytes(&bytes, &path.display().to_string())
    }

    /// Writes key, public key and card of a fresh key, then points `current` at it.
    fn write_new_key(
        &self,
        dir: &Path,
        issuer: &str,
        passphrase: &[u8],
        now: Timestamp,
    ) -> Result<(String, IssuerCard), CertError> {
        let pair = Ed25519Keypair::random(&mut OsRng);
        let key = SigningKey::from_bytes(&pair.private.to_bytes());
        let public = key.verifying_key();
        let ssh = PrivateKey::new(KeypairData::Ed25519(pair), issuer)
            .and_then(|k| k.encrypt(&mut OsRng, passphrase))
            .map_err(|e| CertError::Invalid(format!("cannot protect the new key: {e}")))?;
        let pem = ssh
            .to_openssh(LineEnding::LF)
            .map_err(|e| CertError::Invalid(format!("cannot encode the new key: {e}")))?;
        let pub_line = ssh
            .public_key()
            .to_openssh()
            .map_err(|e| CertError::Invalid(format!("cannot encode the public key: {e}")))?;
        let stem = format!(
            "key-{}-{}",
            now.to_rfc3339().replace(['-', ':'], ""),
            &sha256_hex(public.as_bytes())[..8]
        );
        let card = IssuerCard::new(issuer, &public, now);
        let card_bytes = card.signed_bytes(&key, now)?;
        write_private(&dir.join(format!("{stem}.key")), pem.as_bytes())?;
        write_atomic(
            &dir.join(format!("{stem}.pub")),
            format!("{pub_line}\n").as_bytes(),
        )?;
        write_atomic(&dir.join(format!("{stem}.card.json")), &card_bytes)?;
        write_atomic(&dir.join(CURRENT), format!("{stem}\n").as_bytes())?;
        let card = IssuerCard::from_bytes(&card_bytes, "just made")?;
        Ok((stem, card))
    }
}

/// Reads a passphrase-protected OpenSSH Ed25519 key, refusing one others can read.
pub fn read_private_key(path: &Path, passphrase: &[u8]) -> Result<SigningKey, CertError> {
    let meta = fs::metadata(path).map_err(CertError::io("open", path))?;
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CertError::KeyPermissions {
            path: path.into(),
            mode,
        });
    }
    let text = fs::read(path).map_err(CertError::io("read", path))?;
    let bad = |reason: String| CertError::KeyFile {
        path: path.into(),
        reason,
    };
    let ssh = PrivateKey::from_openssh(&text)
        .map_err(|e| bad(format!("not an OpenSSH private key ({e})")))?;
    if !ssh.is_encrypted() {
        return Err(bad(
            "the key is not passphrase-protected; protect it (ssh-keygen -p -f FILE)".into(),
        ));
    }
    let plain = ssh
        .decrypt(passphrase)
        .map_err(|_| CertError::WrongPassphrase { path: path.into() })?;
    match plain.key_data() {
        KeypairData::Ed25519(pair) => Ok(SigningKey::from_bytes(&pair.private.to_bytes())),
        _ => Err(bad("not an Ed25519 key".into())),
    }
}

/// Replaces `path` atomically and durably (temp file in the same directory, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CertError> {
    crate::store::fsio::write_atomic(path, bytes, true).map_err(CertError::from_store)
}

/// Writes a signed file that must not exist yet (a signed file is never replaced): temp file,
/// fsync, then a hard link into place that fails if the name is taken.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), CertError> {
    let tmp = temp_name(path);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(CertError::io("create", &tmp))?;
        f.write_all(bytes).map_err(CertError::io("write", &tmp))?;
        f.sync_all().map_err(CertError::io("sync", &tmp))?;
        let exists = || {
            CertError::Invalid(format!(
                "{} already exists; a signed file is never overwritten: choose another name",
                path.display()
            ))
        };
        match fs::hard_link(&tmp, path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(exists()),
            // Filesystems without hard links (FAT on a USB stick): check, then rename.
            Err(_) if !path.exists() => {
                fs::rename(&tmp, path).map_err(CertError::io("rename into place", path))?
            }
            Err(_) => return Err(exists()),
        }
        crate::store::fsio::sync_parent(path).map_err(CertError::from_store)
    })();
    let _ = fs::remove_file(&tmp);
    result
}

/// Like [`write_atomic`], with the temporary file created 0600 so the bytes are never
/// readable by others.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CertError> {
    let tmp = temp_name(path);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(CertError::io("create", &tmp))?;
        f.write_all(bytes).map_err(CertError::io("write", &tmp))?;
        f.sync_all().map_err(CertError::io("sync", &tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(CertError::io("rename into place", path))?;
        crate::store::fsio::sync_parent(path).map_err(CertError::from_store)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn temp_name(path: &Path) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    path.with_file_name(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

fn make_private_dir(dir: &Path, recursive: bool) -> Result<(), CertError> {
    match DirBuilder::new()
        .recursive(recursive)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(CertError::io("create directory", dir)(e)),
    }
}
