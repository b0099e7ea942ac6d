//! Recording an attempt: claim an id and a directory, stream the audio to disk as it
//! arrives, then save transcript, report and `meta.json` (the commit point) and index it.
//! Until `meta.json` exists, the `inflight/` marker this process holds locked says the
//! attempt is live; if the process dies, the next open recovers it ([`super::recovery`]).

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::fsio::{io_err, sha256_file, sync_dir, write_json_atomic};
use super::{
    model, summary_of, AttemptId, AttemptInfo, AttemptMeta, AttemptStatus, AttemptSummary,
    AudioFormat, AudioMeta, Outcome, Store, StoreError, StreamingWav, AUDIO, META, REPORT, STARTED,
    TRANSCRIPT,
};

/// The `started.json` of an attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Started {
    format: u32,
    id: AttemptId,
    #[serde(flatten)]
    pub(super) info: AttemptInfo,
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

impl Store {
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
}
