//! The attempts store: every attempt's files on disk, and a SQLite index to list them.
//!
//! Layout under the data directory (`RINGCOACH_DATA_DIR`, else the XDG data dir +
//! `ringcoach`):
//! ```text
//! index.sqlite                  the index (WAL); disposable, `store rebuild` recreates it
//! inflight/<id>                 one per attempt being recorded, flock-ed by its recorder
//! trash/<id>/                   attempts being deleted (renamed here first, then removed)
//! attempts/YYYY/MM/DD/<id>/
//!     started.json              who/what/when, written when recording starts
//!     audio.wav                 written as it is recorded (see [`wav_stream`])
//!     transcript.json report.json
//!     meta.json                 written last: its presence means "finished"
//!     audit.jsonl               append-only: overrules, corrections, re-grades, reviews
//!     transcript.corrected.json report.regraded.json   (beside the originals)
//! ```
//! The files are the truth. Every JSON file is replaced atomically; the WAV is appended to
//! and its header repaired after a crash. An attempt directory is only ever written by the
//! process that recorded it (the audit log excepted: appends are single `write`s).
//!
//! Crash recovery: [`Store::open`] looks at `inflight/`. A marker whose lock can be taken
//! belongs to a dead process; its attempt is recovered as `interrupted` (WAV header
//! repaired from the file length) or removed when it has no audio. A marker still locked
//! is a live recording in another process and is left alone.
//!
//! Audio that can be lost: on SIGKILL, nothing that was pushed (each push is written to the
//! file immediately); only samples the caller had not yet pushed. On an OS crash or power
//! loss, at most one checkpoint interval (0.1 s by default) of pushed audio, since the data
//! is `fdatasync`ed at every checkpoint.

pub mod fsio;
pub mod id;
pub mod index;
pub mod model;
pub mod soak;
pub mod time;
pub mod wav_stream;

#[cfg(test)]
mod tests;

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

pub use id::AttemptId;
pub use index::{AttemptIndex, SqliteIndex};
pub use model::{
    Attempt, AttemptInfo, AttemptMeta, AttemptStatus, AttemptSummary, AudioMeta, AuditAction,
    AuditEntry, Outcome, Query, Recovery, SortKey, Verdict,
};
pub use time::{parse_age, Timestamp};
pub use wav_stream::{AudioFormat, SampleFormat, StreamingWav};

use crate::transcribe::Transcript;
use fsio::{io_err, read_json, sha256_file, sync_dir, write_json_atomic};

/// Environment variable naming the data directory.
pub const DATA_DIR_ENV: &str = "RINGCOACH_DATA_DIR";

const AUDIO: &str = "audio.wav";
const STARTED: &str = "started.json";
const META: &str = "meta.json";
const TRANSCRIPT: &str = "transcript.json";
const REPORT: &str = "report.json";
const AUDIT: &str = "audit.jsonl";
const TRANSCRIPT_CORRECTED: &str = "transcript.corrected.json";
const REPORT_REGRADED: &str = "report.regraded.json";

// Causes are named `err`, not `source`: thiserror would chain a `source` and the CLI, which
// prints the whole chain, would say it twice.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot {action} {path}: {err}; check that the disk has space and the data directory is writable (or set RINGCOACH_DATA_DIR)")]
    Io {
        action: &'static str,
        path: PathBuf,
        err: io::Error,
    },
    #[error("no data directory for the attempts store on this system: set RINGCOACH_DATA_DIR")]
    NoDataDir,
    #[error(
        "attempts index {path}: {err}; run `ringcoach store rebuild` to recreate it from the files"
    )]
    Index { path: PathBuf, err: rusqlite::Error },
    #[error("{path} is damaged ({reason}); run `ringcoach store check --repair`")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    BadWav { path: PathBuf, reason: String },
    #[error("{id:?} is not an attempt id (they look like 20261127T085245.123456Z-1a2b3c4d); see `ringcoach store list`")]
    BadId { id: String },
    #[error("no attempt {id} in {root}; see `ringcoach store list`")]
    NotFound { id: AttemptId, root: PathBuf },
    #[error("attempt {id} is still being recorded; try again once it is finished")]
    InProgress { id: AttemptId },
    #[error("{path} was written by a newer ringcoach (format {found}); upgrade ringcoach")]
    NewerFormat { path: PathBuf, found: u32 },
    #[error("{input:?} is not a time: use a date like 2026-11-01 or an RFC 3339 time like 2026-11-01T09:00:00+08:00")]
    BadTime { input: String },
    #[error("{input:?} is not an age: use a whole number of days or hours, like 90d or 12h")]
    BadAge { input: String },
    /// Bad input from the caller; the message says what to change.
    #[error("{0}")]
    Invalid(String),
}

/// Knobs for tests and bulk generation; the defaults are what the product uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// fsync files, directories and the index. Off only for generating large test stores.
    pub sync: bool,
    /// WAV header rewrite + fdatasync interval in frames; 0 = 0.1 s.
    pub checkpoint_frames: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            sync: true,
            checkpoint_frames: 0,
        }
    }
}

/// What happened to an attempt found unfinished (on open, or by `check --repair`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// Audio kept and playable; marked interrupted.
    Interrupted {
        id: AttemptId,
        frames: u64,
        header_repaired: bool,
    },
    /// Nothing recorded yet: the directory was removed.
    Removed { id: AttemptId },
    /// It had in fact finished (killed after `meta.json`); only the index was updated.
    Reindexed { id: AttemptId },
    /// Could not be recovered automatically; left as is.
    Failed { id: AttemptId, reason: String },
}

/// The `started.json` of an attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Started {
    format: u32,
    id: AttemptId,
    #[serde(flatten)]
    info: AttemptInfo,
    audio: AudioFormat,
}

/// An attempt being recorded. Push audio as it arrives, then hand it to [`Store::finish`]
/// (or [`Store::abandon`]). Dropped without either — a panic, say — it is left for the
/// next [`Store::open`] to recover as interrupted, like a crash.
///
/// Push from a writer thread fed by the capture ring buffer, never from the audio callback:
/// every 0.1 s a push also rewrites the header and waits for `fdatasync`.
#[derive(Debug)]
pub struct Recording {
    id: AttemptId,
    dir: PathBuf,
    wav: StreamingWav,
    info: AttemptInfo,
    marker: PathBuf,
    _lock: File,
}

impl Recording {
    pub fn id(&self) -> &AttemptId {
        &self.id
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn audio_path(&self) -> PathBuf {
        self.dir.join(AUDIO)
    }
    pub fn frames(&self) -> u64 {
        self.wav.frames()
    }
    pub fn push_i16(&mut self, samples: &[i16]) -> Result<(), StoreError> {
        self.wav.push_i16(samples)
    }
    pub fn push_f32(&mut self, samples: &[f32]) -> Result<(), StoreError> {
        self.wav.push_f32(samples)
    }
}

/// A problem found by [`Store::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub id: Option<AttemptId>,
    pub path: PathBuf,
    pub what: String,
    pub repaired: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckReport {
    pub attempts: usize,
    pub in_progress: usize,
    pub problems: Vec<Problem>,
}

impl CheckReport {
    pub fn unrepaired(&self) -> usize {
        self.problems.iter().filter(|p| !p.repaired).count()
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RebuildReport {
    pub indexed: usize,
    /// Attempt directories without `meta.json` (in progress or awaiting recovery).
    pub unfinished: usize,
    pub removed_rows: usize,
    /// Directories that could not be read, with why; `store check` says more.
    pub unreadable: Vec<(PathBuf, String)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PruneReport {
    /// Deleted (or, in a dry run, would be deleted): id and start time.
    pub pruned: Vec<(AttemptId, Timestamp)>,
    pub skipped_in_progress: usize,
}

/// One attempt directory found by a scan.
struct Found {
    id: AttemptId,
    dir: PathBuf,
}

pub struct Store {
    root: PathBuf,
    index: Box<dyn AttemptIndex + Send>,
    opts: StoreOptions,
    recovered: Vec<Recovered>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// The data directory: `RINGCOACH_DATA_DIR` if set, else `<XDG data dir>/ringcoach`.
pub fn default_data_dir() -> Result<PathBuf, StoreError> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(d) if !d.is_empty() => Ok(PathBuf::from(d)),
        _ => dirs::data_dir()
            .map(|d| d.join("ringcoach"))
            .ok_or(StoreError::NoDataDir),
    }
}

impl Store {
    /// Opens the store at `root` (creating it), then recovers attempts left unfinished by
    /// dead processes. See [`Store::recovered`].
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        Self::open_with(root, StoreOptions::default())
    }

    pub fn open_with(root: &Path, opts: StoreOptions) -> Result<Store, StoreError> {
        fs::create_dir_all(root).map_err(io_err("create", root))?;
        let index = SqliteIndex::open(&root.join("index.sqlite"), opts.sync)?;
        Self::open_with_index(root, opts, Box::new(index))
    }

    /// Opens the files at `root` with another index behind [`AttemptIndex`] (a training
    /// room's shared database). Run [`Store::rebuild`] after switching.
    pub fn open_with_index(
        root: &Path,
        opts: StoreOptions,
        index: Box<dyn AttemptIndex + Send>,
    ) -> Result<Store, StoreError> {
        for sub in ["attempts", "inflight", "trash"] {
            let d = root.join(sub);
            fs::create_dir_all(&d).map_err(io_err("create", &d))?;
        }
        let mut store = Store {
            root: root.to_path_buf(),
            index,
            opts,
            recovered: Vec::new(),
        };
        store.empty_trash();
        store.recovered = store.recover_dead()?;
        Ok(store)
    }

    /// Deletes the index files so the next open starts empty (for `store rebuild` when the
    /// index itself is damaged). Only the index: attempt files are never touched.
    pub fn delete_index(root: &Path) -> Result<(), StoreError> {
        for name in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
            let p = root.join(name);
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("delete", &p)(e)),
            }
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// What [`Store::open`] recovered.
    pub fn recovered(&self) -> &[Recovered] {
        &self.recovered
    }

    pub fn attempt_dir(&self, id: &AttemptId) -> PathBuf {
        self.root.join("attempts").join(id.rel_dir())
    }

    pub fn audio_path(&self, id: &AttemptId) -> PathBuf {
        self.attempt_dir(id).join(AUDIO)
    }

    // ---- recording -------------------------------------------------------------------

    /// Starts an attempt: claims an id, creates its directory, writes `started.json` and an
    /// empty WAV. Everything is durable before this returns.
    pub fn begin(&self, info: AttemptInfo, fmt: AudioFormat) -> Result<Recording, StoreError> {
        if info.trainee.trim().is_empty() || info.scenario.trim().is_empty() {
            return Err(StoreError::Invalid(
                "an attempt needs a trainee and a scenario id; pass --trainee".into(),
            ));
        }
        let sync = self.opts.sync;
        let inflight = self.root.join("inflight");
        let (id, marker, lock) = loop {
            let id = AttemptId::generate(SystemTime::now());
            let marker = inflight.join(id.as_str());
            if marker.exists() {
                continue;
            }
            // Lock under a temp name, then rename: no other process can ever see the
            // marker unlocked and take the live attempt for a dead one.
            let tmp = inflight.join(format!(".{id}.tmp-{}", std::process::id()));
            let lock = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(io_err("create", &tmp))?;
            // Blocking: an opener elsewhere may hold it for a moment while it checks
            // whether the marker is stale.
            lock.lock().map_err(|e| {
                let _ = fs::remove_file(&tmp);
                io_err("lock", &tmp)(e)
            })?;
            fs::rename(&tmp, &marker).map_err(io_err("rename", &marker))?;
            if sync {
                sync_dir(&inflight)?;
            }
            break (id, marker, lock);
        };
        let dir = self.attempt_dir(&id);
        let result = (|| {
            let day = dir.parent().expect("attempt dirs have a day dir");
            fs::create_dir_all(day).map_err(io_err("create", day))?;
            fs::create_dir(&dir).map_err(io_err("create", &dir))?;
            if sync {
                // The year/month/day entries may be new too.
                for d in day.ancestors().take(4) {
                    sync_dir(d)?;
                }
            }
            let started = Started {
                format: model::META_FORMAT,
                id: id.clone(),
                info: info.clone(),
                audio: fmt,
            };
            write_json_atomic(&dir.join(STARTED), &started, sync)?;
            let wav =
                StreamingWav::create(&dir.join(AUDIO), fmt, self.opts.checkpoint_frames, sync)?;
            if sync {
                sync_dir(&dir)?;
            }
            Ok(wav)
        })();
        match result {
            Ok(wav) => Ok(Recording {
                id,
                dir,
                wav,
                info,
                marker,
                _lock: lock,
            }),
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                let _ = fs::remove_file(&marker);
                Err(e)
            }
        }
    }

    /// Saves the transcript and report, then `meta.json` (the commit point), then indexes.
    pub fn finish(&self, rec: Recording, outcome: Outcome) -> Result<AttemptSummary, StoreError> {
        if !outcome.score.is_finite() {
            return Err(StoreError::Invalid(format!(
                "score {} is not a number; the grader must give a finite score",
                outcome.score
            )));
        }
        let sync = self.opts.sync;
        let Recording {
            id,
            dir,
            wav,
            info,
            marker,
            _lock,
        } = rec;
        let fmt = wav.format();
        let frames = wav.finish()?;
        write_json_atomic(&dir.join(TRANSCRIPT), &outcome.transcript, sync)?;
        write_json_atomic(&dir.join(REPORT), &outcome.report, sync)?;
        let mut files = std::collections::BTreeMap::new();
        for name in [AUDIO, TRANSCRIPT, REPORT] {
            files.insert(name.to_string(), sha256_file(&dir.join(name))?);
        }
        let meta = AttemptMeta {
            format: model::META_FORMAT,
            id: id.clone(),
            status: AttemptStatus::Finished,
            info,
            finished: Some(outcome.finished),
            score: Some(outcome.score),
            passed: Some(outcome.passed),
            needs_review: outcome.needs_review,
            audio: AudioMeta {
                fmt,
                frames,
                duration_ms: fmt.duration_ms(frames),
            },
            files,
            recovered: None,
        };
        write_json_atomic(&dir.join(META), &meta, sync)?;
        let summary = summary_of(&meta, &[], outcome.transcript.text.clone(), false);
        self.index.upsert(&summary)?;
        // Only now: if anything above failed, the marker makes the next open finish the job.
        fs::remove_file(&marker).map_err(io_err("delete", &marker))?;
        Ok(summary)
    }

    /// Discards an attempt being recorded (the trainee hung up, the call was cancelled).
    pub fn abandon(&self, rec: Recording) -> Result<(), StoreError> {
        let Recording {
            id,
            marker,
            wav,
            _lock,
            ..
        } = rec;
        drop(wav);
        self.remove_attempt(&id)?;
        fs::remove_file(&marker).map_err(io_err("delete", &marker))
    }

    /// Records and finishes an attempt in one go (grading a WAV file, generated stores).
    pub fn save(
        &self,
        info: AttemptInfo,
        fmt: AudioFormat,
        samples: &[i16],
        outcome: Outcome,
    ) -> Result<AttemptSummary, StoreError> {
        let mut rec = self.begin(info, fmt)?;
        rec.push_i16(samples)?;
        self.finish(rec, outcome)
    }

    // ---- reading ---------------------------------------------------------------------

    /// Lists attempts from the index.
    pub fn list(&self, q: &Query) -> Result<Vec<AttemptSummary>, StoreError> {
        self.index.query(q)
    }

    /// The index row of one attempt.
    pub fn summary(&self, id: &AttemptId) -> Result<Option<AttemptSummary>, StoreError> {
        self.index.get(id)
    }

    /// Everything about one attempt, from its files.
    pub fn load(&self, id: &AttemptId) -> Result<Attempt, StoreError> {
        let dir = self.attempt_dir(id);
        let meta = self.read_meta(id)?;
        let (audit, unreadable_audit_lines) = read_audit(&dir)?;
        Ok(Attempt {
            audio_path: dir.join(AUDIO),
            transcript: read_optional(&dir.join(TRANSCRIPT))?,
            corrected_transcript: read_optional(&dir.join(TRANSCRIPT_CORRECTED))?,
            report: read_optional(&dir.join(REPORT))?,
            regraded_report: read_optional(&dir.join(REPORT_REGRADED))?,
            meta,
            audit,
            unreadable_audit_lines,
        })
    }

    fn read_meta(&self, id: &AttemptId) -> Result<AttemptMeta, StoreError> {
        let dir = self.attempt_dir(id);
        let path = dir.join(META);
        if !path.exists() {
            return Err(if dir.join(STARTED).exists() {
                StoreError::InProgress { id: id.clone() }
            } else {
                StoreError::NotFound {
                    id: id.clone(),
                    root: self.root.clone(),
                }
            });
        }
        let meta: AttemptMeta = read_json(&path).map_err(|e| match e {
            // A newer format may not even parse; say "upgrade", not "damaged".
            StoreError::Corrupt { path, reason } => match newer_format(&path) {
                Some(found) => StoreError::NewerFormat { path, found },
                None => StoreError::Corrupt { path, reason },
            },
            e => e,
        })?;
        if meta.format > model::META_FORMAT {
            return Err(StoreError::NewerFormat {
                path,
                found: meta.format,
            });
        }
        if &meta.id != id {
            return Err(StoreError::Corrupt {
                path,
                reason: format!("it names attempt {}", meta.id),
            });
        }
        Ok(meta)
    }

    /// The index row as the files say it should be; None if the attempt is unfinished.
    fn summarise(&self, id: &AttemptId) -> Result<Option<AttemptSummary>, StoreError> {
        let meta = match self.read_meta(id) {
            Ok(m) => m,
            Err(StoreError::InProgress { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let dir = self.attempt_dir(id);
        let (audit, _) = read_audit(&dir)?;
        let corrected: Option<Transcript> = read_optional(&dir.join(TRANSCRIPT_CORRECTED))?;
        let is_corrected = corrected.is_some();
        let text = match corrected {
            Some(t) => t.text,
            None => read_optional::<Transcript>(&dir.join(TRANSCRIPT))?
                .map(|t| t.text)
                .unwrap_or_default(),
        };
        Ok(Some(summary_of(&meta, &audit, text, is_corrected)))
    }

    // ---- trainer actions (append-only audit) ------------------------------------------

    /// A trainer overrules one check (`original` → `verdict`), with a note.
    pub fn overrule(
        &self,
        id: &AttemptId,
        trainer: &str,
        check: &str,
        original: &str,
        verdict: &str,
        note: &str,
    ) -> Result<AttemptSummary, StoreError> {
        let action = AuditAction::Overrule {
            check: check.to_string(),
            original: original.to_string(),
            verdict: verdict.to_string(),
        };
        self.append_audit(id, trainer, action, note)
    }

    /// Saves a corrected transcript beside the original and logs the change.
    pub fn correct_transcript(
        &self,
        id: &AttemptId,
        trainer: &str,
        corrected: &Transcript,
        note: &str,
    ) -> Result<AttemptSummary, StoreError> {
        let before = self.summary_from_files(id)?;
        check_trainer(trainer)?;
        let dir = self.attempt_dir(id);
        write_json_atomic(&dir.join(TRANSCRIPT_CORRECTED), corrected, self.opts.sync)?;
        let action = AuditAction::Correction {
            original_text: before.text,
            corrected_text: corrected.text.clone(),
        };
        self.append_audit(id, trainer, action, note)
    }

    /// Saves a re-graded report beside the original and logs old and new score.
    pub fn regrade(
        &self,
        id: &AttemptId,
        trainer: &str,
        report: &serde_json::Value,
        score: f64,
        passed: bool,
        note: &str,
    ) -> Result<AttemptSummary, StoreError> {
        if !score.is_finite() {
            return Err(StoreError::Invalid(format!(
                "score {score} is not a number"
            )));
        }
        let before = self.summary_from_files(id)?;
        check_trainer(trainer)?;
        write_json_atomic(
            &self.attempt_dir(id).join(REPORT_REGRADED),
            report,
            self.opts.sync,
        )?;
        let action = AuditAction::Regrade {
            original_score: before.score,
            original_passed: before.passed,
            score,
            passed,
        };
        self.append_audit(id, trainer, action, note)
    }

    pub fn mark_reviewed(
        &self,
        id: &AttemptId,
        trainer: &str,
        note: &str,
    ) -> Result<AttemptSummary, StoreError> {
        self.append_audit(id, trainer, AuditAction::Reviewed, note)
    }

    fn summary_from_files(&self, id: &AttemptId) -> Result<AttemptSummary, StoreError> {
        self.summarise(id)?
            .ok_or_else(|| StoreError::InProgress { id: id.clone() })
    }

    fn append_audit(
        &self,
        id: &AttemptId,
        trainer: &str,
        action: AuditAction,
        note: &str,
    ) -> Result<AttemptSummary, StoreError> {
        check_trainer(trainer)?;
        self.summary_from_files(id)?;
        let entry = AuditEntry {
            time: Timestamp::now(),
            trainer: trainer.to_string(),
            action,
            note: note.to_string(),
        };
        let path = self.attempt_dir(id).join(AUDIT);
        let mut line =
            serde_json::to_string(&entry).map_err(|e| StoreError::Invalid(e.to_string()))?;
        line.push('\n');
        // A crash mid-append can leave a torn last line; start on a fresh line so that
        // fragment stays one unreadable line instead of swallowing this entry.
        if let Ok(existing) = fs::read(&path) {
            if existing.last().is_some_and(|&b| b != b'\n') {
                line.insert(0, '\n');
            }
        }
        let created = !path.exists();
        let mut f = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err("open", &path))?;
        // One write: O_APPEND keeps concurrent trainers' lines whole.
        f.write_all(line.as_bytes())
            .map_err(io_err("append to", &path))?;
        if self.opts.sync {
            f.sync_data().map_err(io_err("sync", &path))?;
            if created {
                fsio::sync_parent(&path)?;
            }
        }
        let summary = self.summary_from_files(id)?;
        self.index.upsert(&summary)?;
        Ok(summary)
    }

    // ---- recovery, rebuild, check, prune ----------------------------------------------

    fn empty_trash(&self) {
        let trash = self.root.join("trash");
        if let Ok(entries) = fs::read_dir(&trash) {
            for e in entries.flatten() {
                // Another process may be deleting the same entry; either of us finishing
                // is fine.
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }

    /// Recovers every attempt whose recorder has died.
    fn recover_dead(&self) -> Result<Vec<Recovered>, StoreError> {
        let inflight = self.root.join("inflight");
        let mut out = Vec::new();
        let entries = fs::read_dir(&inflight).map_err(io_err("read", &inflight))?;
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(marker) = OpenOptions::new().write(true).open(&path) else {
                continue;
            };
            match marker.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => continue, // live recorder elsewhere
                Err(TryLockError::Error(err)) => return Err(io_err("lock", &path)(err)),
            }
            if fsio::is_temp_name(&name) {
                // A recorder creates its marker under a temp name and locks it a moment
                // later; clear leftovers whose recorder is gone (the name carries its pid),
                // or that are clearly not in that moment.
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age.as_secs() > 600);
                if old || temp_marker_owner_is_dead(&name) {
                    let _ = fs::remove_file(&path);
                }
                continue;
            }
            let Ok(id) = AttemptId::parse(&name) else {
                continue;
            };
            let r = match self.recover_attempt(&id) {
                Ok(r) => r,
                Err(e) => Some(Recovered::Failed {
                    id: id.clone(),
                    reason: e.to_string(),
                }),
            };
            if !matches!(r, Some(Recovered::Failed { .. })) {
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err("delete", &path)(e)),
                }
            }
            out.extend(r);
        }
        Ok(out)
    }

    /// Makes an unfinished attempt directory consistent. The caller holds its marker lock
    /// (or knows no marker exists). Idempotent: a crash half-way is redone next time.
    fn recover_attempt(&self, id: &AttemptId) -> Result<Option<Recovered>, StoreError> {
        let dir = self.attempt_dir(id);
        if !dir.exists() {
            return Ok(None);
        }
        remove_temp_files(&dir)?;
        if dir.join(META).exists() {
            let s = self.summary_from_files(id)?;
            self.index.upsert(&s)?;
            return Ok(Some(Recovered::Reindexed { id: id.clone() }));
        }
        let started: Option<Started> = read_optional(&dir.join(STARTED)).unwrap_or(None);
        let audio = dir.join(AUDIO);
        let repaired = if audio.exists() {
            wav_stream::repair(&audio, true)?
        } else {
            None
        };
        let (started, rep) = match (started, repaired) {
            (Some(s), Some(r)) if r.frames > 0 => (s, r),
            _ => {
                self.remove_attempt(id)?;
                return Ok(Some(Recovered::Removed { id: id.clone() }));
            }
        };
        let mut files = std::collections::BTreeMap::new();
        for name in [AUDIO, TRANSCRIPT, REPORT] {
            if dir.join(name).exists() {
                files.insert(name.to_string(), sha256_file(&dir.join(name))?);
            }
        }
        let meta = AttemptMeta {
            format: model::META_FORMAT,
            id: id.clone(),
            status: AttemptStatus::Interrupted,
            info: started.info,
            finished: None,
            score: None,
            passed: None,
            needs_review: false,
            audio: AudioMeta {
                fmt: rep.fmt,
                frames: rep.frames,
                duration_ms: rep.fmt.duration_ms(rep.frames),
            },
            files,
            recovered: Some(Recovery {
                at: Timestamp::now(),
                header_repaired: rep.repaired,
            }),
        };
        write_json_atomic(&dir.join(META), &meta, self.opts.sync)?;
        let s = self.summary_from_files(id)?;
        self.index.upsert(&s)?;
        Ok(Some(Recovered::Interrupted {
            id: id.clone(),
            frames: rep.frames,
            header_repaired: rep.repaired,
        }))
    }

    /// Deletes an attempt's files and index row. The directory is renamed into `trash/`
    /// first, so a crash half-way never leaves a half-deleted attempt that looks real.
    fn remove_attempt(&self, id: &AttemptId) -> Result<(), StoreError> {
        let dir = self.attempt_dir(id);
        let trash = self.root.join("trash").join(id.as_str());
        match fs::rename(&dir, &trash) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("move to trash", &dir)(e)),
        }
        if self.opts.sync {
            if let Some(p) = dir.parent() {
                sync_dir(p)?;
            }
        }
        self.index.remove(id)?;
        match fs::remove_dir_all(&trash) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("delete", &trash)(e)),
        }
        // Empty day/month/year directories go too; failures (not empty, raced) are fine.
        let mut p = dir.parent().map(Path::to_path_buf);
        for _ in 0..3 {
            match p {
                Some(d) if fs::remove_dir(&d).is_ok() => p = d.parent().map(Path::to_path_buf),
                _ => break,
            }
        }
        Ok(())
    }

    /// Is an attempt being recorded right now (its marker is locked by a live process)?
    fn in_progress(&self, id: &AttemptId) -> bool {
        let path = self.root.join("inflight").join(id.as_str());
        match OpenOptions::new().write(true).open(path) {
            Ok(f) => matches!(f.try_lock(), Err(TryLockError::WouldBlock)),
            Err(_) => false,
        }
    }

    /// Every attempt directory, plus anything under `attempts/` that should not be there.
    fn scan(&self) -> Result<(Vec<Found>, Vec<PathBuf>), StoreError> {
        let mut found = Vec::new();
        let mut strays = Vec::new();
        let root = self.root.join("attempts");
        let list = |d: &Path| -> Result<Vec<(String, PathBuf, bool)>, StoreError> {
            let mut v = Vec::new();
            for e in fs::read_dir(d).map_err(io_err("read", d))? {
                let e = e.map_err(io_err("read", d))?;
                let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
                v.push((
                    e.file_name().to_string_lossy().into_owned(),
                    e.path(),
                    is_dir,
                ));
            }
            v.sort();
            Ok(v)
        };
        let numeric = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        for (y, yp, yd) in list(&root)? {
            if !(yd && numeric(&y, 4)) {
                strays.push(yp);
                continue;
            }
            for (m, mp, md) in list(&yp)? {
                if !(md && numeric(&m, 2)) {
                    strays.push(mp);
                    continue;
                }
                for (d, dp, dd) in list(&mp)? {
                    if !(dd && numeric(&d, 2)) {
                        strays.push(dp);
                        continue;
                    }
                    for (name, path, is_dir) in list(&dp)? {
                        match AttemptId::parse(&name) {
                            Ok(id)
                                if is_dir
                                    && id.rel_dir()
                                        == Path::new(&y).join(&m).join(&d).join(&name) =>
                            {
                                found.push(Found { id, dir: path })
                            }
                            _ => strays.push(path),
                        }
                    }
                }
            }
        }
        Ok((found, strays))
    }

    /// Re-indexes every finished attempt from its files and drops rows whose attempt is
    /// gone. Safe while another process records: rows are upserted, never wiped wholesale.
    pub fn rebuild(&self) -> Result<RebuildReport, StoreError> {
        let (found, _) = self.scan()?;
        let mut report = RebuildReport::default();
        let mut rows = Vec::with_capacity(found.len());
        for f in &found {
            match self.summarise(&f.id) {
                Ok(Some(s)) => rows.push(s),
                Ok(None) => report.unfinished += 1,
                Err(e) => report.unreadable.push((f.dir.clone(), e.to_string())),
            }
        }
        self.index.upsert_many(&rows)?;
        report.indexed = rows.len();
        let on_disk: std::collections::HashSet<&AttemptId> = found.iter().map(|f| &f.id).collect();
        for id in self.index.ids()? {
            // Re-check the disk: the attempt may have been finished since the scan.
            if !on_disk.contains(&id) && !self.attempt_dir(&id).join(META).exists() {
                self.index.remove(&id)?;
                report.removed_rows += 1;
            }
        }
        Ok(report)
    }

    /// Compares files and index; with `repair`, fixes what can be fixed without losing
    /// data. `verify_hashes` also re-hashes every file against `meta.json` (reads all audio).
    pub fn check(&self, repair: bool, verify_hashes: bool) -> Result<CheckReport, StoreError> {
        let (found, strays) = self.scan()?;
        let mut report = CheckReport::default();
        let problem = |report: &mut CheckReport,
                       id: Option<&AttemptId>,
                       path: &Path,
                       what: String,
                       repaired: bool| {
            report.problems.push(Problem {
                id: id.cloned(),
                path: path.to_path_buf(),
                what,
                repaired,
            })
        };
        for p in strays {
            problem(
                &mut report,
                None,
                &p,
                "not an attempt directory (left alone)".into(),
                false,
            );
        }
        let mut on_disk = std::collections::HashSet::new();
        for f in &found {
            on_disk.insert(f.id.clone());
            if self.in_progress(&f.id) {
                report.in_progress += 1;
                continue;
            }
            report.attempts += 1;
            if !f.dir.join(META).exists() {
                if repair {
                    let what = match self.recover_attempt(&f.id) {
                        Ok(Some(Recovered::Interrupted { frames, .. })) => {
                            format!("unfinished; recovered as interrupted ({frames} frames)")
                        }
                        Ok(Some(Recovered::Removed { .. })) => {
                            "unfinished with no audio; removed".into()
                        }
                        Ok(_) => "unfinished; re-indexed".into(),
                        Err(e) => {
                            problem(
                                &mut report,
                                Some(&f.id),
                                &f.dir,
                                format!("unfinished and not recoverable: {e}"),
                                false,
                            );
                            continue;
                        }
                    };
                    let marker = self.root.join("inflight").join(f.id.as_str());
                    let _ = fs::remove_file(marker);
                    problem(&mut report, Some(&f.id), &f.dir, what, true);
                } else {
                    problem(
                        &mut report,
                        Some(&f.id),
                        &f.dir,
                        "unfinished (no meta.json); `--repair` recovers it".into(),
                        false,
                    );
                }
                continue;
            }
            self.check_files(f, repair, verify_hashes, &mut report);
        }
        for id in self.index.ids()? {
            if !on_disk.contains(&id) && !self.attempt_dir(&id).exists() {
                if repair {
                    self.index.remove(&id)?;
                }
                problem(
                    &mut report,
                    Some(&id),
                    &self.attempt_dir(&id),
                    "indexed but its files are gone".into(),
                    repair,
                );
            }
        }
        Ok(report)
    }

    fn check_files(&self, f: &Found, repair: bool, verify_hashes: bool, report: &mut CheckReport) {
        let mut problem = |what: String, path: &Path, repaired: bool| {
            report.problems.push(Problem {
                id: Some(f.id.clone()),
                path: path.to_path_buf(),
                what,
                repaired,
            })
        };
        let meta = match self.read_meta(&f.id) {
            Ok(m) => m,
            Err(e) => return problem(format!("cannot read: {e}"), &f.dir.join(META), false),
        };
        if let Ok(entries) = fs::read_dir(&f.dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if fsio::is_temp_name(&name) {
                    let fixed = repair && fs::remove_file(e.path()).is_ok();
                    problem("leftover temporary file".into(), &e.path(), fixed);
                }
            }
        }
        let audio = f.dir.join(AUDIO);
        match wav_stream::repair(&audio, false) {
            Ok(Some(r)) if r.frames == meta.audio.frames && !r.repaired => {}
            Ok(Some(r)) => problem(
                format!("WAV holds {} frames (header consistent: {}), meta.json says {}; restore it from a backup", r.frames, !r.repaired, meta.audio.frames),
                &audio,
                false,
            ),
            Ok(None) => problem("WAV has no header; restore it from a backup".into(), &audio, false),
            Err(e) => problem(e.to_string(), &audio, false),
        }
        for (name, want) in &meta.files {
            let p = f.dir.join(name);
            if !p.exists() {
                problem("missing".into(), &p, false);
            } else if verify_hashes {
                match sha256_file(&p) {
                    Ok(h) if &h == want => {}
                    Ok(_) => problem(
                        "content differs from its SHA-256 in meta.json".into(),
                        &p,
                        false,
                    ),
                    Err(e) => problem(e.to_string(), &p, false),
                }
            }
        }
        match read_audit(&f.dir) {
            Ok((_, 0)) => {}
            Ok((_, n)) => problem(
                format!("{n} unreadable line(s) (torn by a crash; the rest is intact)"),
                &f.dir.join(AUDIT),
                false,
            ),
            Err(e) => problem(e.to_string(), &f.dir.join(AUDIT), false),
        }
        let want = match self.summarise(&f.id) {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(e) => return problem(format!("cannot summarise: {e}"), &f.dir, false),
        };
        let (what, path) = match self.index.get(&f.id) {
            Ok(Some(row)) if row == want => return,
            Ok(Some(_)) => (
                "index row differs from the files",
                self.root.join("index.sqlite"),
            ),
            Ok(None) => ("not in the index", self.root.join("index.sqlite")),
            Err(e) => return problem(e.to_string(), &self.root.join("index.sqlite"), false),
        };
        let fixed = repair && self.index.upsert(&want).is_ok();
        problem(what.into(), &path, fixed);
    }

    /// Deletes attempts that started before `cutoff` (files and index rows). Attempts
    /// being recorded are skipped. With `dry_run`, only reports what would go.
    pub fn prune(&self, cutoff: Timestamp, dry_run: bool) -> Result<PruneReport, StoreError> {
        let (found, _) = self.scan()?;
        let mut report = PruneReport::default();
        for f in found {
            // The id encodes the creation time, which is never before the start: a quick
            // skip of recent attempts without reading their files.
            let started = match self.read_meta(&f.id) {
                Ok(m) => m.info.started,
                Err(_) => match read_optional::<Started>(&f.dir.join(STARTED)) {
                    Ok(Some(s)) => s.info.started,
                    // Nothing says when it started: fall back to the id's creation time.
                    _ => id_time(&f.id),
                },
            };
            if started >= cutoff {
                continue;
            }
            if self.in_progress(&f.id) {
                report.skipped_in_progress += 1;
                continue;
            }
            if !dry_run {
                self.remove_attempt(&f.id)?;
            }
            report.pruned.push((f.id, started));
        }
        Ok(report)
    }
}

fn check_trainer(trainer: &str) -> Result<(), StoreError> {
    if trainer.trim().is_empty() {
        return Err(StoreError::Invalid(
            "the audit log needs the trainer's name; pass --trainer".into(),
        ));
    }
    Ok(())
}

/// The creation time an id encodes.
fn id_time(id: &AttemptId) -> Timestamp {
    let s = id.as_str();
    let iso = format!(
        "{}-{}-{}T{}:{}:{}.{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15],
        &s[16..22]
    );
    Timestamp::parse(&iso).unwrap_or(Timestamp::from_unix_ms(0))
}

fn summary_of(
    meta: &AttemptMeta,
    audit: &[AuditEntry],
    text: String,
    corrected: bool,
) -> AttemptSummary {
    let mut s = AttemptSummary {
        id: meta.id.clone(),
        status: meta.status,
        scenario: meta.info.scenario.clone(),
        rubric_sha256: meta.info.rubric_sha256.clone(),
        model: meta.info.model.clone(),
        trainee: meta.info.trainee.clone(),
        device: meta.info.device.clone(),
        org: meta.info.org.clone(),
        started: meta.info.started,
        finished: meta.finished,
        duration_ms: meta.audio.duration_ms,
        score: meta.score,
        passed: meta.passed,
        needs_review: meta.needs_review,
        reviewed: false,
        overrules: 0,
        corrected,
        regraded: false,
        text,
    };
    for e in audit {
        match &e.action {
            AuditAction::Overrule { .. } => s.overrules += 1,
            AuditAction::Reviewed => s.reviewed = true,
            AuditAction::Correction { .. } => {}
            AuditAction::Regrade { score, passed, .. } => {
                s.regraded = true;
                s.score = Some(*score);
                s.passed = Some(*passed);
            }
        }
    }
    s
}

fn read_optional<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, StoreError> {
    if !path.exists() {
        return Ok(None);
    }
    read_json(path).map(Some)
}

/// The `format` field of a JSON file, if it is higher than we understand.
fn newer_format(path: &Path) -> Option<u32> {
    let v: serde_json::Value = serde_json::from_slice(&fs::read(path).ok()?).ok()?;
    let f = v.get("format")?.as_u64()? as u32;
    (f > model::META_FORMAT).then_some(f)
}

/// Audit entries in order, and how many lines could not be read.
fn read_audit(dir: &Path) -> Result<(Vec<AuditEntry>, usize), StoreError> {
    let path = dir.join(AUDIT);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(io_err("read", &path)(e)),
    };
    let mut entries = Vec::new();
    let mut bad = 0;
    for line in bytes.split(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice(line) {
            Ok(e) => entries.push(e),
            Err(_) => bad += 1,
        }
    }
    Ok((entries, bad))
}

fn remove_temp_files(dir: &Path) -> Result<(), StoreError> {
    for e in fs::read_dir(dir).map_err(io_err("read", dir))?.flatten() {
        if fsio::is_temp_name(&e.file_name().to_string_lossy()) {
            fs::remove_file(e.path()).map_err(io_err("delete", &e.path()))?;
        }
    }
    Ok(())
}

/// True when a temp marker's name (`.ID.tmp-PID`) names a process that no longer exists.
/// A recycled pid only delays the clean-up (to the 10-minute rule); it never removes a live one.
fn temp_marker_owner_is_dead(name: &str) -> bool {
    let Some(pid) = name
        .rsplit_once(".tmp-")
        .and_then(|(_, pid)| pid.parse::<libc::pid_t>().ok())
    else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only asks whether the process exists; nothing is sent.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH);
    !alive
}
