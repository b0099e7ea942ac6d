//! A sitting on disk: who took which suite when, the calls taken so far (each an attempt in
//! the store, its turns' recordings kept as the evidence a certificate hashes), and whether
//! it ended complete or early. Layout under the data directory:
//!
//! ```text
//! sittings/
//!   seal.key                   this desk's sealing key (Ed25519 seed, hex), 0600
//!   <sitting id>/
//!     sitting.json             the record; rewritten atomically after each call, never after the seal
//!     callN/turnM.wav          each turn's recording as the certificate will hash it
//!     seal.json                written once, when the sitting ends: hashes of every file, signed
//!     issued.json              the certificates issued for it (not sealed: it grows)
//! ```
//!
//! The attempts themselves stay in the store (`attempts/…`), each with the sitting's id in
//! its `meta.json`, so review, reports and the store's tools see them like any other.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::ExamError;
use crate::scenario::suite::{ExamSettings, Rules};
use crate::scenario::{suite_sha256, Catalog, ResolvedCall, Suite};
use crate::store::fsio::{read_json, sha256_file, write_json_atomic};
use crate::store::{AttemptId, Store, Timestamp};

/// Version of `sitting.json`.
pub const SITTING_FORMAT: u32 = 1;
pub const SITTINGS_DIR: &str = "sittings";
pub const SITTING_FILE: &str = "sitting.json";
/// Locked (flock) by the process taking the sitting; never sealed, never evidence.
const TAKING_FILE: &str = "taking.lock";

/// Held while a sitting is being taken: `exam end` refuses a sitting someone holds. The lock
/// goes with the process, so a crashed exam leaves a sitting that can be ended.
#[derive(Debug)]
pub struct Taking {
    _file: File,
}
pub const SEAL_FILE: &str = "seal.json";
pub const ISSUED_FILE: &str = "issued.json";

/// The candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<String>,
}

/// The suite as it was when the sitting started: later edits of the suite file do not
/// change what this sitting was taken under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteSnapshot {
    pub id: String,
    pub version: String,
    pub sha256: String,
    pub title_zh: String,
    pub title_en: String,
    pub exam: ExamSettings,
    pub rules: Rules,
    pub calls: Vec<ResolvedCall>,
    /// (scenario, rubric SHA-256) per call, in order.
    pub rubrics: Vec<(String, String)>,
}

impl SuiteSnapshot {
    pub fn of(suite: &Suite, catalog: &Catalog) -> SuiteSnapshot {
        let calls = suite.resolved_calls(&catalog.org);
        let rubrics = calls
            .iter()
            .map(|c| {
                let sha = catalog
                    .get(&c.scenario)
                    .map(|s| crate::scenario::rubric_sha256(s, &catalog.phrasebook))
                    .unwrap_or_default();
                (c.scenario.clone(), sha)
            })
            .collect();
        SuiteSnapshot {
            id: suite.id().to_string(),
            version: suite.version().to_string(),
            sha256: suite_sha256(suite, &catalog.scenarios, &catalog.phrasebook, &catalog.org),
            title_zh: suite.title.zh.clone(),
            title_en: suite.title.en.clone(),
            exam: suite.exam.clone(),
            rules: suite.rules(),
            calls,
            rubrics,
        }
    }
}

/// The speech model that transcribed the sitting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelInfo {
    pub name: String,
    pub sha256: String,
}

impl ModelInfo {
    /// Names and hashes a model file (a few hundred milliseconds for the base model).
    pub fn of(path: &Path) -> Result<ModelInfo, ExamError> {
        Ok(ModelInfo {
            name: path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            sha256: sha256_file(path)?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SittingState {
    /// Calls are still being taken (or the process died: it was never sealed).
    InProgress,
    /// Every call of the suite was taken.
    Complete,
    /// It ended before the last call: the calls not taken count as failed with 0.
    Incomplete,
}

impl SittingState {
    pub fn as_str(self) -> &'static str {
        match self {
            SittingState::InProgress => "in progress",
            SittingState::Complete => "complete",
            SittingState::Incomplete => "incomplete",
        }
    }
}

/// Where the sitting's recordings came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Taken on the exam screen.
    Exam,
    /// Recordings made elsewhere (a phone system), imported from a manifest.
    Import,
}

/// One turn's recording as kept for the certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnFile {
    /// Relative to the sitting's directory: `callN/turnM.wav`.
    pub audio: String,
    pub audio_sha256: String,
}

/// One call taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakenCall {
    /// 1-based position in the suite.
    pub index: u32,
    pub scenario: String,
    pub org: String,
    /// The attempt in the store.
    pub attempt: AttemptId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rings: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_ms: Option<u64>,
    pub started: Timestamp,
    pub ended: Timestamp,
    pub turns: Vec<TurnFile>,
}

/// `sitting.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SittingRecord {
    pub format: u32,
    pub id: String,
    pub candidate: Candidate,
    pub suite: SuiteSnapshot,
    pub source: Source,
    /// The input the recordings came from (device name, or the manifest).
    pub device: String,
    pub model: ModelInfo,
    /// The ringcoach version that graded it.
    pub ringcoach: String,
    pub started: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Timestamp>,
    pub state: SittingState,
    pub calls: Vec<TakenCall>,
}

impl SittingRecord {
    /// The next call to take, if any.
    pub fn next_call(&self) -> Option<&ResolvedCall> {
        self.suite.calls.get(self.calls.len())
    }
}

/// Where a turn's recording comes from.
#[derive(Debug, Clone)]
pub enum TurnAudio {
    /// A recording made elsewhere: kept byte for byte.
    File(PathBuf),
    /// 16 kHz mono samples from the exam screen: written as 16-bit WAV.
    Samples(Vec<f32>),
}

/// The sittings of one store.
#[derive(Debug, Clone)]
pub struct Sittings {
    /// `DATA/sittings`.
    root: PathBuf,
    /// The store's root, which sealed paths are relative to.
    data: PathBuf,
}

impl Sittings {
    pub fn of(store: &Store) -> Sittings {
        Sittings::at(store.root())
    }

    pub fn at(data_dir: &Path) -> Sittings {
        Sittings {
            root: data_dir.join(SITTINGS_DIR),
            data: data_dir.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// `callN/turnM.wav` of a sitting.
    pub fn turn_path(&self, id: &str, call: u32, turn: u32) -> PathBuf {
        self.dir(id)
            .join(crate::cert::evidence::audio_path(call, turn))
    }

    /// Starts a sitting: a new id, its directory and `sitting.json`.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &self,
        candidate: Candidate,
        suite: SuiteSnapshot,
        source: Source,
        device: String,
        model: ModelInfo,
        started: Timestamp,
    ) -> Result<SittingRecord, ExamError> {
        if candidate.name.trim().is_empty() {
            return Err(ExamError::Invalid(
                "the candidate's name is empty: pass --candidate NAME".into(),
            ));
        }
        fs::create_dir_all(&self.root).map_err(io("create", &self.root))?;
        let (id, dir) = loop {
            let id = AttemptId::generate(SystemTime::now()).to_string();
            let dir = self.dir(&id);
            match fs::create_dir(&dir) {
                Ok(()) => break (id, dir),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io("create", &dir)(e)),
            }
        };
        crate::store::fsio::sync_dir(&self.root)?;
        let rec = SittingRecord {
            format: SITTING_FORMAT,
            id,
            candidate,
            suite,
            source,
            device,
            model,
            ringcoach: env!("CARGO_PKG_VERSION").into(),
            started,
            ended: None,
            state: SittingState::InProgress,
            calls: Vec::new(),
        };
        write_json_atomic(&dir.join(SITTING_FILE), &rec, true)?;
        Ok(rec)
    }

    /// Keeps a call's turn recordings as `callN/turnM.wav` and adds the call to the record.
    /// The call must be the next of the suite.
    pub fn record_call(
        &self,
        rec: &mut SittingRecord,
        mut call: TakenCall,
        turns: Vec<TurnAudio>,
    ) -> Result<(), ExamError> {
        if rec.state != SittingState::InProgress {
            return Err(ExamError::Invalid(format!(
                "sitting {} is {}: no more calls can be added",
                rec.id,
                rec.state.as_str()
            )));
        }
        let expected = rec.next_call().ok_or_else(|| {
            ExamError::Invalid(format!("sitting {} has taken every call already", rec.id))
        })?;
        if expected.index != call.index || expected.scenario != call.scenario {
            return Err(ExamError::Invalid(format!(
                "call {} of suite {} is `{}`, not `{}`",
                expected.index, rec.suite.id, expected.scenario, call.scenario
            )));
        }
        call.turns.clear();
        for (t, audio) in turns.into_iter().enumerate() {
            let t = t as u32 + 1;
            let path = self.turn_path(&rec.id, call.index, t);
            let parent = path.parent().expect("turn files are in a call directory");
            fs::create_dir_all(parent).map_err(io("create", parent))?;
            match audio {
                TurnAudio::File(src) => {
                    let bytes = fs::read(&src).map_err(io("read", &src))?;
                    crate::cert::keyring::write_new(&path, &bytes)
                        .map_err(|e| ExamError::Invalid(e.to_string()))?;
                }
                TurnAudio::Samples(samples) => {
                    let tmp = parent.join(format!(".turn{t}.wav.tmp-{}", std::process::id()));
                    crate::audio::wav::write_wav_mono_i16(&tmp, &samples, 16_000)
                        .map_err(|e| ExamError::Invalid(e.to_string()))?;
                    fs::rename(&tmp, &path).map_err(io("rename into place", &path))?;
                    crate::store::fsio::sync_parent(&path)?;
                }
            }
            call.turns.push(TurnFile {
                audio: crate::cert::evidence::audio_path(call.index, t)
                    .display()
                    .to_string(),
                audio_sha256: sha256_file(&path)?,
            });
        }
        rec.calls.push(call);
        write_json_atomic(&self.dir(&rec.id).join(SITTING_FILE), rec, true)?;
        Ok(())
    }

    /// Ends the sitting (complete when every call was taken, else incomplete) and writes
    /// `sitting.json` one last time. The seal comes next ([`super::seal::seal`]).
    pub fn end(&self, rec: &mut SittingRecord, at: Timestamp) -> Result<(), ExamError> {
        if rec.state != SittingState::InProgress {
            return Ok(());
        }
        rec.state = if rec.next_call().is_none() {
            SittingState::Complete
        } else {
            SittingState::Incomplete
        };
        rec.ended = Some(at);
        write_json_atomic(&self.dir(&rec.id).join(SITTING_FILE), rec, true)?;
        Ok(())
    }

    /// Takes the sitting's lock for as long as the returned value lives. Refused when another
    /// process holds it.
    pub fn hold(&self, id: &str) -> Result<Taking, ExamError> {
        let path = self.dir(id).join(TAKING_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io("open", &path))?;
        match file.try_lock() {
            Ok(()) => Ok(Taking { _file: file }),
            Err(TryLockError::WouldBlock) => Err(ExamError::Invalid(format!(
                "sitting {id} is being taken right now (its exam screen is open): end it there with q"
            ))),
            Err(TryLockError::Error(e)) => Err(io("lock", &path)(e)),
        }
    }

    pub fn load(&self, id: &str) -> Result<SittingRecord, ExamError> {
        if id.is_empty() || id.contains(['/', '\\']) || id.starts_with('.') {
            return Err(ExamError::NoSitting {
                id: id.into(),
                dir: self.root.clone(),
            });
        }
        let path = self.dir(id).join(SITTING_FILE);
        if !path.is_file() {
            return Err(ExamError::NoSitting {
                id: id.into(),
                dir: self.root.clone(),
            });
        }
        let rec: SittingRecord = read_json(&path)?;
        if rec.format > SITTING_FORMAT {
            return Err(ExamError::Invalid(format!(
                "{} was written by a newer ringcoach (format {}); upgrade ringcoach",
                path.display(),
                rec.format
            )));
        }
        Ok(rec)
    }

    /// Every sitting, oldest first. A sitting whose record cannot be read is an error
    /// naming it: a certification record is never skipped quietly.
    pub fn list(&self) -> Result<Vec<SittingRecord>, ExamError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("list", &self.root)(e)),
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join(SITTING_FILE).is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        ids.iter().map(|id| self.load(id)).collect()
    }

    /// The certificates issued for a sitting (ids), oldest first.
    pub fn issued(&self, id: &str) -> Result<Vec<IssuedEntry>, ExamError> {
        let path = self.dir(id).join(ISSUED_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| ExamError::Invalid(format!("{} is damaged: {e}", path.display()))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io("read", &path)(e)),
        }
    }

    /// Notes a certificate issued for a sitting.
    pub fn note_issued(&self, id: &str, entry: IssuedEntry) -> Result<(), ExamError> {
        let mut all = self.issued(id)?;
        all.push(entry);
        write_json_atomic(&self.dir(id).join(ISSUED_FILE), &all, true)?;
        Ok(())
    }
}

/// One certificate issued for a sitting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedEntry {
    pub id: String,
    pub issued: Timestamp,
    pub issuer: String,
    /// SHA-256 of the certificate file.
    pub digest: String,
    /// Where it was written.
    pub path: String,
}

pub(super) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ExamError {
    let path = path.to_path_buf();
    move |err| ExamError::Io { action, path, err }
}
