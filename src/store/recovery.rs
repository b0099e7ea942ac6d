//! Crash recovery: [`Store::open`] looks at `inflight/`. A marker whose lock can be taken
//! belongs to a dead process; its attempt is recovered as `interrupted` (WAV header
//! repaired from the file length) or removed when it has no audio. A marker still locked
//! is a live recording in another process and is left alone. `store check --repair` uses
//! the same recovery for attempt directories found without a marker.

use std::fs::{self, OpenOptions, TryLockError};
use std::io;
use std::path::Path;

use super::fsio::{self, io_err, sha256_file, write_json_atomic};
use super::recording::Started;
use super::{
    model, read_optional, wav_stream, AttemptId, AttemptMeta, AttemptStatus, AudioMeta, Recovery,
    Store, StoreError, Timestamp, AUDIO, META, REPORT, STARTED, TRANSCRIPT,
};

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

impl Store {
    pub(super) fn empty_trash(&self) {
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
    pub(super) fn recover_dead(&self) -> Result<Vec<Recovered>, StoreError> {
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
    pub(super) fn recover_attempt(&self, id: &AttemptId) -> Result<Option<Recovered>, StoreError> {
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
pub(super) fn temp_marker_owner_is_dead(name: &str) -> bool {
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
