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
//!
//! Where each job is: opening the store and reading attempts here; [`recording`] (begin,
//! push, finish); [`audit`] (trainer actions, append-only); [`recovery`] (attempts left by
//! dead processes); [`maintenance`] (rebuild, check, prune); [`index`] (the
//! [`AttemptIndex`] seam and its SQLite implementation); [`fsio`] (durable writes).

pub mod audit;
pub mod decisions;
pub mod fsio;
pub mod id;
pub mod index;
pub mod maintenance;
pub mod model;
pub mod recording;
pub mod recovery;
pub mod soak;
pub mod time;
pub mod wav_stream;

#[cfg(test)]
mod tests;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use audit::parse_audit;
pub use id::AttemptId;
pub use index::{AttemptIndex, SqliteIndex};
pub use maintenance::{parse_attempt_file, CheckReport, Problem, PruneReport, RebuildReport};
pub use model::{
    Attempt, AttemptInfo, AttemptMeta, AttemptStatus, AttemptSummary, AudioMeta, AuditAction,
    AuditEntry, CallFacts, GradedLater, Outcome, Query, Recovery, SetAside, SortKey, Verdict,
};
pub use recording::Recording;
pub use recovery::{grade_of, Recovered};
pub use time::{parse_age, Timestamp};
pub use wav_stream::{AudioFormat, SampleFormat, StreamingWav};

use crate::grading::Report;
use crate::transcribe::Transcript;
use audit::read_audit;
use fsio::{io_err, read_json, sync_dir};

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
    #[error(
        "cannot {action} {path}: {}; {}",
        crate::input::describe_io(err),
        io_advice(err)
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        err: io::Error,
    },
    #[error("no data directory for the attempts store on this system: set RINGCOACH_DATA_DIR")]
    NoDataDir,
    #[error("{}", index::describe(path, err))]
    Index { path: PathBuf, err: rusqlite::Error },
    #[error("attempts index {path} has a layout this ringcoach does not know ({detail}); run `ringcoach store rebuild` to recreate it from the files")]
    IndexLayout { path: PathBuf, detail: String },
    #[error("no attempts store at {root} ({why}): check --data-dir / RINGCOACH_DATA_DIR; a store is made by recording, `ringcoach practice --trainee NAME`")]
    NoStore { root: PathBuf, why: &'static str },
    #[error("the attempts store at {root} can be read but not changed: {cause}")]
    ReadOnly { root: PathBuf, cause: ReadOnlyCause },
    #[error("another ringcoach kept the attempts store at {root} busy for {secs} s while opening it; try again in a moment")]
    Busy { root: PathBuf, secs: u64 },
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

/// What to do about an I/O error, by its cause: a full disk is not a permissions problem,
/// and "file exists" is neither.
pub fn io_advice(err: &io::Error) -> &'static str {
    match err.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            "the disk is full: free some space on it, then try again"
        }
        io::ErrorKind::ReadOnlyFilesystem => {
            "the file system is read-only: use a data directory on a writable disk (RINGCOACH_DATA_DIR)"
        }
        io::ErrorKind::PermissionDenied => {
            "permission denied: check who owns the data directory and its permissions (or set RINGCOACH_DATA_DIR)"
        }
        io::ErrorKind::AlreadyExists => {
            "something already has that name: another ringcoach may be writing the same store; try again"
        }
        io::ErrorKind::NotFound => {
            "it is not there: another process may have moved or deleted it; run `ringcoach store check`"
        }
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
            "the file is damaged; run `ringcoach store check --repair`"
        }
        _ => "check the disk and that the data directory is writable (or set RINGCOACH_DATA_DIR)",
    }
}

impl StoreError {
    /// The index is damaged (or of another layout): `store rebuild` may delete and
    /// recreate it. Not a full disk, a busy store or a read-only one.
    pub fn index_is_damaged(&self) -> bool {
        match self {
            StoreError::IndexLayout { .. } => true,
            StoreError::Index { err, .. } => index::is_damage(err),
            _ => false,
        }
    }
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

pub struct Store {
    root: PathBuf,
    index: Box<dyn AttemptIndex + Send>,
    opts: StoreOptions,
    recovered: Vec<Recovered>,
    access: Access,
}

/// How a store was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    ReadWrite,
    /// Nothing can be written here (a read-only file system, no permission — a trainer
    /// reading an archive —, or a full disk). Listing and reading work; every change is
    /// refused, saying why.
    ReadOnly {
        cause: ReadOnlyCause,
    },
}

/// Why a store can only be read, with what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnlyCause {
    FileSystem,
    Permission,
    DiskFull,
}

impl std::fmt::Display for ReadOnlyCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReadOnlyCause::FileSystem => {
                "it is on a read-only file system; to change it, work on a copy on a writable disk"
            }
            ReadOnlyCause::Permission => {
                "this user may not write to it; to change it, ask its owner for write access, or work on a copy"
            }
            ReadOnlyCause::DiskFull => "the disk is full: free some space on it, then try again",
        })
    }
}

/// The file a process holds locked while it opens the store (creates directories and the
/// index, recovers dead recordings), so two processes opening a store that does not exist
/// yet never race: one creates, the other waits and then opens.
const LOCK: &str = ".open.lock";

/// How long an open waits for another process's open to finish.
const OPEN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// Why a write was refused, when the cause means "read-only" rather than "broken".
fn read_only_cause(err: &io::Error) -> Option<ReadOnlyCause> {
    match err.kind() {
        io::ErrorKind::ReadOnlyFilesystem => Some(ReadOnlyCause::FileSystem),
        io::ErrorKind::PermissionDenied => Some(ReadOnlyCause::Permission),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Some(ReadOnlyCause::DiskFull),
        _ => None,
    }
}

/// Takes the open lock, waiting for another opener at most [`OPEN_PATIENCE`].
fn take_open_lock(root: &Path) -> Result<fs::File, (io::Error, bool)> {
    let path = root.join(LOCK);
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| (e, false))?;
    let start = std::time::Instant::now();
    loop {
        match f.try_lock() {
            Ok(()) => return Ok(f),
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < OPEN_PATIENCE => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err((io::Error::from(io::ErrorKind::WouldBlock), true))
            }
            Err(fs::TryLockError::Error(e)) => return Err((e, false)),
        }
    }
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
    /// Opens the store at `root` to record into, creating it if it does not exist, then
    /// recovers attempts left unfinished by dead processes (see [`Store::recovered`]). Only
    /// what records (practice) creates a store; readers use [`Store::open_existing`].
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        Self::open_with(root, StoreOptions::default())
    }

    pub fn open_with(root: &Path, opts: StoreOptions) -> Result<Store, StoreError> {
        fs::create_dir_all(root).map_err(io_err("create", root))?;
        Self::open_at(root, opts, true)
    }

    /// Opens a store that must already exist: a mistyped `--data-dir` is an error, not a
    /// new empty store. Where nothing may be written (a read-only disk, someone else's
    /// archive) it opens read-only: listing and reading work, changes are refused.
    pub fn open_existing(root: &Path) -> Result<Store, StoreError> {
        Self::open_existing_with(root, StoreOptions::default())
    }

    pub fn open_existing_with(root: &Path, opts: StoreOptions) -> Result<Store, StoreError> {
        let no_store = |why| StoreError::NoStore {
            root: root.to_path_buf(),
            why,
        };
        if !root.is_dir() {
            return Err(no_store(if root.exists() {
                "it is not a directory"
            } else {
                "the directory does not exist"
            }));
        }
        if !root.join("attempts").is_dir() && !root.join("index.sqlite").is_file() {
            return Err(no_store(
                "the directory holds no attempts/ and no index.sqlite",
            ));
        }
        Self::open_at(root, opts, false)
    }

    fn open_at(root: &Path, opts: StoreOptions, creating: bool) -> Result<Store, StoreError> {
        let lock = match take_open_lock(root) {
            Ok(l) => l,
            Err((_, true)) => {
                return Err(StoreError::Busy {
                    root: root.to_path_buf(),
                    secs: OPEN_PATIENCE.as_secs(),
                })
            }
            Err((e, false)) => match read_only_cause(&e) {
                Some(cause) if !creating => return Self::open_read_only(root, opts, cause),
                Some(cause) => {
                    return Err(StoreError::ReadOnly {
                        root: root.to_path_buf(),
                        cause,
                    })
                }
                None => return Err(io_err("lock", &root.join(LOCK))(e)),
            },
        };
        for sub in ["attempts", "inflight", "trash"] {
            let d = root.join(sub);
            fs::create_dir_all(&d).map_err(io_err("create", &d))?;
        }
        let index = match SqliteIndex::open(&root.join("index.sqlite"), opts.sync) {
            Ok(i) => i,
            // A full disk leaves SQLite no room for its shared memory: a reader can still
            // list and read, from an index built in memory.
            Err(e) if !creating && fsio::disk_is_full(root) => {
                drop(lock);
                drop(e);
                return Self::open_read_only(root, opts, ReadOnlyCause::DiskFull);
            }
            Err(e) => return Err(e),
        };
        let store = Self::open_with_index(root, opts, Box::new(index));
        drop(lock);
        store
    }

    /// A store nothing may be written to: the index is read as it is, or, when SQLite cannot
    /// read it without writing (or it is missing or damaged), rebuilt in memory from the
    /// files. Nothing is recovered or cleaned up.
    fn open_read_only(
        root: &Path,
        opts: StoreOptions,
        cause: ReadOnlyCause,
    ) -> Result<Store, StoreError> {
        let path = root.join("index.sqlite");
        let (index, fill) = match SqliteIndex::open_read_only(&path) {
            Ok(i) => (i, false),
            Err(_) => (SqliteIndex::in_memory()?, true),
        };
        let store = Store {
            root: root.to_path_buf(),
            index: Box::new(index),
            opts,
            recovered: Vec::new(),
            access: Access::ReadOnly { cause },
        };
        if fill {
            store.reindex_from_files()?;
        }
        Ok(store)
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
            access: Access::ReadWrite,
        };
        store.empty_trash();
        store.recovered = store.recover_dead()?;
        Ok(store)
    }

    /// Whether this store can be changed, and if not, why.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// Refuses a change to a read-only store, saying why it is read-only.
    fn writable(&self) -> Result<(), StoreError> {
        match &self.access {
            Access::ReadWrite => Ok(()),
            Access::ReadOnly { cause } => Err(StoreError::ReadOnly {
                root: self.root.clone(),
                cause: *cause,
            }),
        }
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
        let mut s = summary_of(&meta, &audit, text, is_corrected);
        let current: Option<serde_json::Value> = match read_optional(&dir.join(REPORT_REGRADED))? {
            Some(r) => Some(r),
            None => read_optional(&dir.join(REPORT))?,
        };
        // The trainers' decisions decide: score, pass and review from the machine report
        // with the overrules applied. A report that is not the grader's (written by hand or
        // by a test) keeps what meta.json and the re-grades say.
        if let Some(report) = current.and_then(|v| serde_json::from_value::<Report>(v).ok()) {
            if meta.status == AttemptStatus::Finished {
                let (settled, _) = decisions::settle_audit(&report, &audit);
                s.score = Some(f64::from(settled.score));
                s.passed = Some(settled.passed);
                s.needs_review = settled.needs_review;
            }
        }
        Ok(Some(s))
    }

    // ---- shared by recording, the audit log, recovery and maintenance -----------------

    /// The index row as the files say it should be, for an attempt that must be finished.
    fn summary_from_files(&self, id: &AttemptId) -> Result<AttemptSummary, StoreError> {
        self.summarise(id)?
            .ok_or_else(|| StoreError::InProgress { id: id.clone() })
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
        reviewed: decisions::reviewed(audit),
        overrules: 0,
        corrected,
        regraded: false,
        text,
    };
    for e in audit {
        match &e.action {
            AuditAction::Overrule { .. } => s.overrules += 1,
            AuditAction::Reviewed | AuditAction::Unreviewed => {}
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
