//! Recording an attempt: claim an id and a directory, stream the audio to disk as it
//! arrives, then save transcript, report and `meta.json` (the commit point) and index it.
//! Until `meta.json` exists, the `inflight/` marker this process holds locked says the
//! attempt is live; if the process dies, the next open recovers it ([`super::recovery`]).
//!
//! A recording is never thrown away by the program: a call that ends without a grade (hung
//! up, quit, transcription cut off) is kept as `interrupted` or `ungraded` with its reason
//! ([`Store::keep`]), and [`Store::complete`] grades it later. Only a call with no audio at
//! all is discarded.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::fsio::{io_err, sha256_file, sync_dir, write_json_atomic};
use super::model::{CallFacts, GradedLater};
use super::{
    model, summary_of, AttemptId, AttemptInfo, AttemptMeta, AttemptStatus, AttemptSummary,
    AudioFormat, AudioMeta, Outcome, Store, StoreError, StreamingWav, Timestamp, AUDIO, META,
    REPORT, STARTED, TRANSCRIPT,
};

/// The `started.json` of an attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Started {
    format: u32,
    id: AttemptId,
    #[serde(flatten)]
    pub(super) info: AttemptInfo,
    pub(super) audio: AudioFormat,
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
    call: Option<CallFacts>,
    _lock: File,
}

impl Recording {
    /// Pickup and turn boundaries, saved with the attempt so it can be graded again.
    pub fn set_call(&mut self, call: CallFacts) {
        self.call = Some(call);
    }
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
        self.writable()?;
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
                call: None,
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
            call,
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
            reason: None,
            call,
            graded_later: None,
            set_aside: Vec::new(),
        };
        write_json_atomic(&dir.join(META), &meta, sync)?;
        let summary = summary_of(&meta, &[], outcome.transcript.text.clone(), false);
        self.index.upsert(&summary)?;
        // Only now: if anything above failed, the marker makes the next open finish the job.
        fs::remove_file(&marker).map_err(io_err("delete", &marker))?;
        Ok(summary)
    }

    /// Keeps an attempt whose call ended without a grade: its audio and what is known are
    /// saved, marked `status` (interrupted: the call did not reach its end; ungraded: it did,
    /// but could not be transcribed or graded) with `reason` in words. A call with no audio
    /// at all holds nothing to keep and is discarded (`Ok(None)`).
    pub fn keep(
        &self,
        rec: Recording,
        status: AttemptStatus,
        reason: &str,
    ) -> Result<Option<AttemptSummary>, StoreError> {
        if status == AttemptStatus::Finished {
            return Err(StoreError::Invalid(
                "a finished attempt is saved with its grade (Store::finish)".into(),
            ));
        }
        if rec.frames() == 0 {
            self.abandon(rec)?;
            return Ok(None);
        }
        let sync = self.opts.sync;
        let Recording {
            id,
            dir,
            wav,
            info,
            marker,
            call,
            _lock,
        } = rec;
        let fmt = wav.format();
        let frames = wav.finish()?;
        let mut files = std::collections::BTreeMap::new();
        files.insert(AUDIO.to_string(), sha256_file(&dir.join(AUDIO))?);
        let meta = AttemptMeta {
            format: model::META_FORMAT,
            id: id.clone(),
            status,
            info,
            finished: None,
            score: None,
            passed: None,
            needs_review: false,
            audio: AudioMeta {
                fmt,
                frames,
                duration_ms: fmt.duration_ms(frames),
            },
            files,
            recovered: None,
            reason: Some(reason.to_string()),
            call,
            graded_later: None,
            set_aside: Vec::new(),
        };
        write_json_atomic(&dir.join(META), &meta, sync)?;
        let summary = summary_of(&meta, &[], String::new(), false);
        self.index.upsert(&summary)?;
        fs::remove_file(&marker).map_err(io_err("delete", &marker))?;
        Ok(Some(summary))
    }

    /// Grades an attempt kept without a grade (interrupted or ungraded): saves its
    /// transcript and report and marks it finished, noting what it was before and why.
    /// An attempt that has a grade is refused: a trainer re-grades that one from review.
    pub fn complete(&self, id: &AttemptId, outcome: Outcome) -> Result<AttemptSummary, StoreError> {
        self.writable()?;
        if !outcome.score.is_finite() {
            return Err(StoreError::Invalid(format!(
                "score {} is not a number; the grader must give a finite score",
                outcome.score
            )));
        }
        let mut meta = self.read_meta(id)?;
        if meta.status.is_graded() {
            return Err(StoreError::Invalid(format!(
                "attempt {id} already has a grade; a trainer corrects or re-grades it in `ringcoach review`"
            )));
        }
        let sync = self.opts.sync;
        let dir = self.attempt_dir(id);
        // Whatever an earlier run left (unreadable, or it would have been used) is kept aside.
        for name in [TRANSCRIPT, REPORT] {
            if dir.join(name).exists() {
                let note =
                    self.set_aside(id, name, "replaced when the attempt was graded later")?;
                meta.set_aside.push(note);
            }
        }
        write_json_atomic(&dir.join(TRANSCRIPT), &outcome.transcript, sync)?;
        write_json_atomic(&dir.join(REPORT), &outcome.report, sync)?;
        for name in [AUDIO, TRANSCRIPT, REPORT] {
            meta.files
                .insert(name.to_string(), sha256_file(&dir.join(name))?);
        }
        meta.graded_later = Some(GradedLater {
            at: Timestamp::now(),
            was: meta.status,
            reason: meta.reason.take(),
        });
        meta.status = AttemptStatus::Finished;
        meta.finished = Some(outcome.finished);
        meta.score = Some(outcome.score);
        meta.passed = Some(outcome.passed);
        meta.needs_review = outcome.needs_review;
        write_json_atomic(&dir.join(META), &meta, sync)?;
        let summary = self.summary_from_files(id)?;
        self.index.upsert(&summary)?;
        Ok(summary)
    }

    /// Discards an attempt being recorded that holds no audio. Anything recorded is kept
    /// with [`Store::keep`] instead.
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
