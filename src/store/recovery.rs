//! Crash recovery: [`Store::open`] looks at `inflight/`. A marker whose lock can be taken
//! belongs to a dead process; its attempt is rebuilt from every file that survives: graded
//! (`finished`) when its transcript and report are there, else `interrupted` with its audio
//! (WAV header repaired from the file length). Only a directory that holds nothing recorded
//! is removed; one that holds something but cannot be made whole is moved to `quarantine/`
//! (never deleted). A marker still locked is a live recording in another process and is
//! left alone. `store check --repair` uses the same recovery for attempt directories found
//! without a marker, or with a damaged `meta.json`.

use std::fs::{self, OpenOptions, TryLockError};
use std::io;
use std::path::Path;

use super::fsio::{self, io_err, sha256_file, write_json_atomic};
use super::model::SetAside;
use super::recording::Started;
use super::{
    model, read_optional, wav_stream, AttemptId, AttemptMeta, AttemptStatus, AudioMeta, Recovery,
    Store, StoreError, Timestamp, AUDIO, META, REPORT, STARTED, TRANSCRIPT,
};
use crate::transcribe::Transcript;

/// What happened to an attempt found unfinished (on open, or by `check --repair`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// Audio kept and playable; marked interrupted.
    Interrupted {
        id: AttemptId,
        frames: u64,
        header_repaired: bool,
    },
    /// It had been transcribed and graded when the process died (before `meta.json`): made
    /// whole from its transcript and report, grade kept.
    Graded { id: AttemptId },
    /// Nothing recorded yet: the directory was removed.
    Removed { id: AttemptId },
    /// It had in fact finished (killed after `meta.json`); only the index was updated.
    Reindexed { id: AttemptId },
    /// It holds something, but not enough to be an attempt (no `started.json`, audio that
    /// is not ours): the directory was moved aside, nothing deleted.
    Quarantined { id: AttemptId, moved_to: String },
    /// Could not be recovered automatically; left as is.
    Failed { id: AttemptId, reason: String },
}

/// Score, verdict and "needs review" from a stored report, if it is a grader's report.
pub fn grade_of(report: &serde_json::Value) -> Option<(f64, bool, bool)> {
    let score = report.get("score")?.as_f64().filter(|s| s.is_finite())?;
    let passed = report.get("passed")?.as_bool()?;
    let checks = report.get("checks")?.as_array()?;
    let needs_review = checks
        .iter()
        .any(|c| c.get("verdict").and_then(|v| v.as_str()) == Some("uncertain"));
    Some((score, passed, needs_review))
}

/// A stored report's shape, as `store check` requires it: an object with a numeric score
/// and a list of checks (what review and reports read).
pub(crate) fn report_shape_problem(report: &serde_json::Value) -> Option<&'static str> {
    if !report.is_object() {
        return Some("not a report (not a JSON object)");
    }
    if report
        .get("score")
        .and_then(|s| s.as_f64())
        .is_none_or(|s| !s.is_finite())
    {
        return Some("not a report (no numeric score)");
    }
    if report.get("checks").and_then(|c| c.as_array()).is_none() {
        return Some("not a report (no list of checks)");
    }
    None
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

    /// Makes an unfinished attempt directory consistent from every file that survives. The
    /// caller holds its marker lock (or knows no marker exists). Idempotent: a crash
    /// half-way is redone next time.
    pub(super) fn recover_attempt(&self, id: &AttemptId) -> Result<Option<Recovered>, StoreError> {
        let dir = self.attempt_dir(id);
        if !dir.exists() {
            return Ok(None);
        }
        remove_temp_files(&dir)?;
        let mut set_aside = Vec::new();
        if dir.join(META).exists() {
            match self.summary_from_files(id) {
                Ok(s) => {
                    self.index.upsert(&s)?;
                    return Ok(Some(Recovered::Reindexed { id: id.clone() }));
                }
                // A newer ringcoach's attempt is not ours to rewrite.
                Err(e @ StoreError::NewerFormat { .. }) => return Err(e),
                // meta.json itself is damaged: set it aside and rebuild from the rest.
                Err(StoreError::Corrupt { path, reason }) if path == dir.join(META) => {
                    set_aside.push(self.set_aside(id, META, &format!("damaged: {reason}"))?);
                }
                Err(e) => return Err(e),
            }
        }
        let started = match read_optional::<Started>(&dir.join(STARTED)) {
            Ok(s) => s,
            Err(StoreError::Corrupt { reason, .. }) => {
                set_aside.push(self.set_aside(id, STARTED, &format!("damaged: {reason}"))?);
                None
            }
            Err(e) => return Err(e),
        };
        let audio = dir.join(AUDIO);
        let repaired = if audio.exists() {
            match wav_stream::repair(&audio, true) {
                Ok(r) => r,
                // Not our layout: nothing here may rewrite it. Keep it as found.
                Err(StoreError::BadWav { .. }) => {
                    return self.quarantine_attempt(id).map(Some);
                }
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        let transcript = self.read_or_set_aside::<Transcript>(id, TRANSCRIPT, &mut set_aside)?;
        let report = self
            .read_or_set_aside::<serde_json::Value>(id, REPORT, &mut set_aside)?
            .filter(|r| grade_of(r).is_some());
        let frames = repaired.map_or(0, |r| r.frames);
        let Some(started) = started else {
            // Nothing says whose or what it was. Only an empty directory may go.
            return if frames == 0 && !holds_anything(&dir) {
                self.remove_attempt(id)?;
                Ok(Some(Recovered::Removed { id: id.clone() }))
            } else {
                self.quarantine_attempt(id).map(Some)
            };
        };
        let graded = match (&transcript, &report) {
            (Some(_), Some(r)) => grade_of(r),
            _ => None,
        };
        if frames == 0 && graded.is_none() && !holds_anything(&dir) {
            self.remove_attempt(id)?;
            return Ok(Some(Recovered::Removed { id: id.clone() }));
        }
        let fmt = repaired.map_or(started.audio, |r| r.fmt);
        let mut files = std::collections::BTreeMap::new();
        for name in [AUDIO, TRANSCRIPT, REPORT] {
            if dir.join(name).exists() {
                files.insert(name.to_string(), sha256_file(&dir.join(name))?);
            }
        }
        let header_repaired = repaired.is_some_and(|r| r.repaired);
        let (status, finished, score, passed, needs_review, reason) = match graded {
            Some((score, passed, needs_review)) => (
                AttemptStatus::Finished,
                Some(modified(&dir.join(REPORT))),
                Some(score),
                Some(passed),
                needs_review,
                None,
            ),
            None => (
                AttemptStatus::Interrupted,
                None,
                None,
                None,
                false,
                Some(if set_aside.is_empty() {
                    "the recording stopped before the attempt was saved (the program was stopped or the machine went down)".to_string()
                } else {
                    "recovered after a crash; damaged files were set aside".to_string()
                }),
            ),
        };
        let meta = AttemptMeta {
            format: model::META_FORMAT,
            id: id.clone(),
            status,
            info: started.info,
            finished,
            score,
            passed,
            needs_review,
            audio: AudioMeta {
                fmt,
                frames,
                duration_ms: fmt.duration_ms(frames),
            },
            files,
            recovered: Some(Recovery {
                at: Timestamp::now(),
                header_repaired,
            }),
            reason,
            call: None,
            graded_later: None,
            set_aside,
        };
        write_json_atomic(&dir.join(META), &meta, self.opts.sync)?;
        let s = self.summary_from_files(id)?;
        self.index.upsert(&s)?;
        Ok(Some(if graded.is_some() {
            Recovered::Graded { id: id.clone() }
        } else {
            Recovered::Interrupted {
                id: id.clone(),
                frames,
                header_repaired,
            }
        }))
    }

    /// Reads an attempt's JSON file; a damaged one is moved to `quarantine/` (and noted)
    /// and reads as absent.
    fn read_or_set_aside<T: serde::de::DeserializeOwned>(
        &self,
        id: &AttemptId,
        name: &str,
        noted: &mut Vec<SetAside>,
    ) -> Result<Option<T>, StoreError> {
        match read_optional::<T>(&self.attempt_dir(id).join(name)) {
            Ok(v) => Ok(v),
            Err(StoreError::Corrupt { reason, .. }) => {
                noted.push(self.set_aside(id, name, &format!("damaged: {reason}"))?);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Moves one file of an attempt to `quarantine/<id>/<unix ms>-<name>`. Nothing is
    /// deleted; the returned note says where it went.
    pub(super) fn set_aside(
        &self,
        id: &AttemptId,
        name: &str,
        why: &str,
    ) -> Result<SetAside, StoreError> {
        let at = Timestamp::now();
        let rel = self.quarantine_path(id, name, at)?;
        let from = self.attempt_dir(id).join(name);
        let to = self.root.join(&rel);
        fs::rename(&from, &to).map_err(io_err("move aside", &from))?;
        if self.opts.sync {
            fsio::sync_parent(&to)?;
            fsio::sync_parent(&from)?;
        }
        Ok(SetAside {
            file: name.to_string(),
            moved_to: rel,
            at,
            why: why.to_string(),
        })
    }

    /// Moves a whole attempt directory to `quarantine/<id>/<unix ms>-attempt` and drops its
    /// index row: what cannot be made an attempt is kept, out of the way.
    pub(super) fn quarantine_attempt(&self, id: &AttemptId) -> Result<Recovered, StoreError> {
        let rel = self.quarantine_path(id, "attempt", Timestamp::now())?;
        let from = self.attempt_dir(id);
        let to = self.root.join(&rel);
        fs::rename(&from, &to).map_err(io_err("move aside", &from))?;
        if self.opts.sync {
            fsio::sync_parent(&to)?;
            if let Some(p) = from.parent() {
                fsio::sync_dir(p)?;
            }
        }
        self.index.remove(id)?;
        Ok(Recovered::Quarantined {
            id: id.clone(),
            moved_to: rel,
        })
    }

    /// A free name under `quarantine/<id>/`, relative to the data directory; the directory
    /// is created.
    fn quarantine_path(
        &self,
        id: &AttemptId,
        name: &str,
        at: Timestamp,
    ) -> Result<String, StoreError> {
        let dir = self.root.join("quarantine").join(id.as_str());
        fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        let mut n = 0;
        loop {
            let file = if n == 0 {
                format!("{}-{name}", at.unix_ms())
            } else {
                format!("{}-{n}-{name}", at.unix_ms())
            };
            if !dir.join(&file).exists() {
                return Ok(format!("quarantine/{id}/{file}"));
            }
            n += 1;
        }
    }
}

/// True when an attempt directory holds anything worth keeping beyond `started.json` and
/// an audio file without samples.
fn holds_anything(dir: &Path) -> bool {
    fs::metadata(dir.join(AUDIO)).is_ok_and(|m| m.len() > wav_stream::HEADER_LEN)
        || fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let n = e.file_name();
                n != STARTED && n != AUDIO
            })
        })
}

/// A file's modification time (when a report was saved), else now.
fn modified(path: &Path) -> Timestamp {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .map(Timestamp::from_system_time)
        .unwrap_or_else(|_| Timestamp::now())
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
