//! A certificate's evidence directory, as exported for an auditor and checked by `verify`:
//!
//! ```text
//! DIR/call1/turn1.wav    the recording of call 1, turn 1 (its SHA-256 is in the certificate)
//! DIR/call1/turn1.txt    the transcript of that turn, UTF-8, exactly the certificate's text
//! ```
//!
//! Calls and turns count from 1, in the suite's order.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::credential::CertificateRecord;
use super::keyring::write_atomic;
use super::{sha256_hex, CertError};

/// `callN/turnM.wav`, relative to the evidence directory.
pub fn audio_path(call: u32, turn: u32) -> PathBuf {
    PathBuf::from(format!("call{call}")).join(format!("turn{turn}.wav"))
}

/// `callN/turnM.txt`, relative to the evidence directory.
pub fn transcript_path(call: u32, turn: u32) -> PathBuf {
    PathBuf::from(format!("call{call}")).join(format!("turn{turn}.txt"))
}

/// One evidence file that does not match the certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceMismatch {
    /// For people: `call 2 turn 1 recording`.
    pub item: String,
    pub path: PathBuf,
    /// The SHA-256 the certificate holds.
    pub expected_sha256: String,
    /// The file's SHA-256; None when it could not be read.
    pub found_sha256: Option<String>,
    /// Why it could not be read (missing, permission, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl std::fmt::Display for EvidenceMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.found_sha256, &self.problem) {
            (Some(found), _) => write!(
                f,
                "{} ({}): certificate has SHA-256 {}, the file has {}",
                self.item,
                self.path.display(),
                self.expected_sha256,
                found
            ),
            (None, problem) => write!(
                f,
                "{} ({}): certificate has SHA-256 {}, the file {}",
                self.item,
                self.path.display(),
                self.expected_sha256,
                problem.as_deref().unwrap_or("cannot be read")
            ),
        }
    }
}

fn file_sha256(path: &Path) -> Result<String, String> {
    crate::store::fsio::sha256_file(path).map_err(|e| match e {
        crate::store::StoreError::Io { err, .. } if err.kind() == ErrorKind::NotFound => {
            "is missing".to_string()
        }
        crate::store::StoreError::Io { err, .. } => format!("cannot be read ({err})"),
        other => other.to_string(),
    })
}

fn compare(item: String, path: PathBuf, expected: &str) -> Option<EvidenceMismatch> {
    match file_sha256(&path) {
        Ok(found) if found == expected => None,
        Ok(found) => Some(EvidenceMismatch {
            item,
            path,
            expected_sha256: expected.into(),
            found_sha256: Some(found),
            problem: None,
        }),
        Err(problem) => Some(EvidenceMismatch {
            item,
            path,
            expected_sha256: expected.into(),
            found_sha256: None,
            problem: Some(problem),
        }),
    }
}

/// Every recording and transcript in `dir` against the certificate's hashes; empty when all
/// match.
pub fn check_evidence(record: &CertificateRecord, dir: &Path) -> Vec<EvidenceMismatch> {
    let mut out = Vec::new();
    for call in &record.calls {
        for (t, turn) in call.turns.iter().enumerate() {
            let t = t as u32 + 1;
            out.extend(compare(
                format!("call {} turn {t} recording", call.index),
                dir.join(audio_path(call.index, t)),
                &turn.audio_sha256,
            ));
            out.extend(compare(
                format!("call {} turn {t} transcript", call.index),
                dir.join(transcript_path(call.index, t)),
                &turn.transcript_sha256,
            ));
        }
    }
    out
}

/// The speech model file against the certificate's model hash.
pub fn check_model(record: &CertificateRecord, model: &Path) -> Option<EvidenceMismatch> {
    compare(
        format!("model {}", record.software.model.name),
        model.to_path_buf(),
        &record.software.model.sha256,
    )
}

/// Writes the evidence directory of `record` into `dir`: each recording copied from
/// `recording(call, turn)` (1-based) and each transcript written. Every copy is hashed after
/// writing and must match the certificate, so an export can never disagree with it.
pub fn export_evidence(
    record: &CertificateRecord,
    dir: &Path,
    recording: impl Fn(u32, u32) -> PathBuf,
) -> Result<Vec<PathBuf>, CertError> {
    let mut written = Vec::new();
    for call in &record.calls {
        let call_dir = dir.join(format!("call{}", call.index));
        fs::create_dir_all(&call_dir).map_err(CertError::io("create directory", &call_dir))?;
        for (t, turn) in call.turns.iter().enumerate() {
            let t = t as u32 + 1;
            let src = recording(call.index, t);
            let bytes = fs::read(&src).map_err(CertError::io("read", &src))?;
            if sha256_hex(&bytes) != turn.audio_sha256 {
                return Err(CertError::Invalid(format!(
                    "{} is not the recording of call {} turn {t}: its SHA-256 differs from the \
                     certificate's; the store may have been changed",
                    src.display(),
                    call.index
                )));
            }
            let wav = dir.join(audio_path(call.index, t));
            write_atomic(&wav, &bytes)?;
            let txt = dir.join(transcript_path(call.index, t));
            write_atomic(&txt, turn.transcript.as_bytes())?;
            written.push(wav);
            written.push(txt);
        }
    }
    let mismatches = check_evidence(record, dir);
    if let Some(m) = mismatches.first() {
        return Err(CertError::Invalid(format!(
            "evidence export does not verify: {m}"
        )));
    }
    Ok(written)
}
