//! The seal of a sitting: when its last call ends (or it ends early), the SHA-256 of every
//! file it rests on — each turn's recording, each attempt's `audio.wav`, `transcript.json`,
//! `report.json` and `meta.json`, and `sitting.json` itself — with the model's and the
//! suite's hashes and the times, signed (`eddsa-jcs-2022`) by this desk's sealing key.
//!
//! Issuing a certificate checks the seal first: a recording, transcript or report swapped
//! after the sitting is named, with both hashes, and nothing is issued. A trainer's
//! decisions are not sealed: they are appended to the attempts' audit logs afterwards, and
//! the certificate lists each one.
//!
//! The sealing key lives in the data directory (`sittings/seal.key`, owner-only): a desk
//! seals unattended, so it cannot ask for a passphrase. The seal therefore proves that the
//! files are the ones the desk recorded, against every change made without that key (a copy,
//! a sync, an edit); it is the issuer's signature on the certificate that an employer trusts.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use ssh_key::rand_core::{OsRng, RngCore};

use super::sitting::{
    io, Candidate, ModelInfo, SittingRecord, SittingState, Sittings, SEAL_FILE, SITTING_FILE,
};
use super::ExamError;
use crate::cert::jcs::{parse_strict, to_file_bytes};
use crate::cert::multikey::ssh_fingerprint;
use crate::cert::proof::{add_proof, verify_proof, ProofOptions};
use crate::cert::sha256_hex;
use crate::store::fsio::sha256_file;
use crate::store::{Store, Timestamp};

pub const SEAL_TYPE: &str = "RingcoachSittingSeal";
const KEY_FILE: &str = "seal.key";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedSuite {
    pub id: String,
    pub version: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedCall {
    pub index: u32,
    pub attempt: String,
    pub started: Timestamp,
    pub ended: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedFile {
    /// Relative to the data directory.
    pub path: String,
    pub sha256: String,
}

/// `seal.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seal {
    #[serde(rename = "type")]
    pub kind: String,
    pub sitting: String,
    pub state: SittingState,
    pub candidate: Candidate,
    pub suite: SealedSuite,
    pub model: ModelInfo,
    pub ringcoach: String,
    pub started: Timestamp,
    pub ended: Timestamp,
    pub calls: Vec<SealedCall>,
    pub files: Vec<SealedFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<serde_json::Value>,
}

/// A seal read back and checked: its bytes' SHA-256 (what a certificate records) and the
/// sealing key's fingerprint.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSeal {
    pub seal: Seal,
    pub sha256: String,
    pub key_fingerprint: String,
}

/// A sealed file that is not what was sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swapped {
    pub path: String,
    pub sealed: String,
    /// None: missing or unreadable.
    pub found: Option<String>,
}

impl std::fmt::Display for Swapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.found {
            Some(h) => write!(
                f,
                "{} was changed after the sitting was sealed (sealed SHA-256 {}, now {h})",
                self.path, self.sealed
            ),
            None => write!(
                f,
                "{} is missing (sealed SHA-256 {})",
                self.path, self.sealed
            ),
        }
    }
}

/// This desk's sealing key, made on first use.
pub fn desk_key(sittings: &Sittings) -> Result<SigningKey, ExamError> {
    let path = sittings.root().join(KEY_FILE);
    match fs::metadata(&path) {
        Ok(meta) => {
            if meta.mode() & 0o077 != 0 {
                return Err(ExamError::Invalid(format!(
                    "{} is readable by others (mode {:o}): run `chmod 600 {}`",
                    path.display(),
                    meta.mode() & 0o777,
                    path.display()
                )));
            }
            let text = fs::read_to_string(&path).map_err(io("read", &path))?;
            let bytes = decode_hex32(text.trim()).ok_or_else(|| {
                ExamError::Invalid(format!(
                    "{} is damaged: it must hold 64 hex digits",
                    path.display()
                ))
            })?;
            Ok(SigningKey::from_bytes(&bytes))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            fs::create_dir_all(sittings.root()).map_err(io("create", sittings.root()))?;
            let mut seed = [0u8; 32];
            OsRng.fill_bytes(&mut seed);
            let tmp = path.with_file_name(format!(".{KEY_FILE}.tmp-{}", std::process::id()));
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io("create", &tmp))?;
            f.write_all(format!("{}\n", crate::cert::hex(&seed)).as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(io("write", &tmp))?;
            // Two desks starting at once: the first key wins, the other reads it.
            match fs::hard_link(&tmp, &path) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let _ = fs::remove_file(&tmp);
                    return desk_key(sittings);
                }
                Err(e) => {
                    let _ = fs::remove_file(&tmp);
                    return Err(io("create", &path)(e));
                }
            }
            let _ = fs::remove_file(&tmp);
            crate::store::fsio::sync_parent(&path)?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) => Err(io("read", &path)(e)),
    }
}

fn decode_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn rel(data: &Path, path: &Path) -> String {
    path.strip_prefix(data)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Every file a sitting rests on, relative to the data directory, in a fixed order.
fn sealed_paths(sittings: &Sittings, store: &Store, rec: &SittingRecord) -> Vec<PathBuf> {
    let dir = sittings.dir(&rec.id);
    let mut out = vec![dir.join(SITTING_FILE)];
    for call in &rec.calls {
        for t in &call.turns {
            out.push(dir.join(&t.audio));
        }
        let attempt = store.attempt_dir(&call.attempt);
        for name in ["audio.wav", "transcript.json", "report.json", "meta.json"] {
            out.push(attempt.join(name));
        }
    }
    out
}

/// Seals an ended sitting: writes `seal.json` (never replaced) and returns it checked.
pub fn seal(
    sittings: &Sittings,
    store: &Store,
    rec: &SittingRecord,
    now: Timestamp,
) -> Result<CheckedSeal, ExamError> {
    let ended = match (rec.state, rec.ended) {
        (SittingState::InProgress, _) | (_, None) => {
            return Err(ExamError::Invalid(format!(
                "sitting {} has not ended: end it before sealing",
                rec.id
            )))
        }
        (_, Some(t)) => t,
    };
    let key = desk_key(sittings)?;
    let data = sittings.data_dir();
    let mut files = Vec::new();
    for p in sealed_paths(sittings, store, rec) {
        files.push(SealedFile {
            path: rel(data, &p),
            sha256: sha256_file(&p)?,
        });
    }
    let seal = Seal {
        kind: SEAL_TYPE.into(),
        sitting: rec.id.clone(),
        state: rec.state,
        candidate: rec.candidate.clone(),
        suite: SealedSuite {
            id: rec.suite.id.clone(),
            version: rec.suite.version.clone(),
            sha256: rec.suite.sha256.clone(),
        },
        model: rec.model.clone(),
        ringcoach: rec.ringcoach.clone(),
        started: rec.started,
        ended,
        calls: rec
            .calls
            .iter()
            .map(|c| SealedCall {
                index: c.index,
                attempt: c.attempt.to_string(),
                started: c.started,
                ended: c.ended,
            })
            .collect(),
        files,
        proof: None,
    };
    let value = serde_json::to_value(&seal).map_err(|e| ExamError::Invalid(e.to_string()))?;
    let signed = add_proof(
        value,
        &key,
        &ProofOptions::assertion(&key.verifying_key(), now),
    )
    .map_err(|e| ExamError::Invalid(e.to_string()))?;
    let bytes = to_file_bytes(&signed).map_err(|e| ExamError::Invalid(e.to_string()))?;
    let path = sittings.dir(&rec.id).join(SEAL_FILE);
    crate::cert::keyring::write_new(&path, &bytes)
        .map_err(|e| ExamError::Invalid(e.to_string()))?;
    check(sittings, &rec.id)
}

/// Reads a sitting's seal and checks it: signed by this desk's key over exactly these
/// bytes, and every sealed file still has its sealed SHA-256. A swapped file is
/// [`ExamError::Swapped`], naming each one with both hashes.
pub fn check(sittings: &Sittings, id: &str) -> Result<CheckedSeal, ExamError> {
    let path = sittings.dir(id).join(SEAL_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(ExamError::NotSealed { id: id.into() })
        }
        Err(e) => return Err(io("read", &path)(e)),
    };
    let bad = |why: String| ExamError::BadSeal {
        path: path.clone(),
        why,
    };
    let value = parse_strict(&bytes).map_err(|e| bad(format!("not valid JSON ({e})")))?;
    if to_file_bytes(&value).ok().as_deref() != Some(&bytes[..]) {
        return Err(bad("it was edited after sealing".into()));
    }
    let proof = verify_proof(&value).map_err(|e| bad(e.to_string()))?;
    let key = desk_key(sittings)?;
    if proof.key != key.verifying_key() {
        return Err(bad(format!(
            "it is sealed by key {}, not this desk's ({})",
            ssh_fingerprint(&proof.key),
            ssh_fingerprint(&key.verifying_key())
        )));
    }
    let seal: Seal =
        serde_json::from_value(value).map_err(|e| bad(format!("not a sitting seal ({e})")))?;
    if seal.kind != SEAL_TYPE || seal.sitting != id {
        return Err(bad(format!(
            "it seals {:?}, not sitting {id}",
            seal.sitting
        )));
    }
    let data = sittings.data_dir();
    let mut swapped = Vec::new();
    for f in &seal.files {
        let p = data.join(&f.path);
        match sha256_file(&p) {
            Ok(h) if h == f.sha256 => {}
            Ok(h) => swapped.push(Swapped {
                path: f.path.clone(),
                sealed: f.sha256.clone(),
                found: Some(h),
            }),
            Err(_) => swapped.push(Swapped {
                path: f.path.clone(),
                sealed: f.sha256.clone(),
                found: None,
            }),
        }
    }
    if !swapped.is_empty() {
        return Err(ExamError::Swapped {
            id: id.into(),
            files: swapped,
        });
    }
    Ok(CheckedSeal {
        sha256: sha256_hex(&bytes),
        key_fingerprint: ssh_fingerprint(&proof.key),
        seal,
    })
}

/// Ends a sitting whose exam went away before it ended (a crash, a killed terminal, a
/// power cut): the calls taken stay as graded, the rest count as failed with 0, and the
/// sitting is sealed as at `now`. A sitting that already ended is only sealed if its seal
/// is missing. Refused while an exam screen holds the sitting.
pub fn end_interrupted(
    sittings: &Sittings,
    store: &Store,
    id: &str,
    now: Timestamp,
) -> Result<(SittingRecord, CheckedSeal), ExamError> {
    let _held = sittings.hold(id)?;
    let mut rec = sittings.load(id)?;
    if rec.state != SittingState::InProgress {
        if let Ok(sealed) = check(sittings, id) {
            return Ok((rec, sealed));
        }
    }
    sittings.end(&mut rec, now)?;
    let sealed = seal(sittings, store, &rec, now)?;
    Ok((rec, sealed))
}
