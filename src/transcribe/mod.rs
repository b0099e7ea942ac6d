//! Speech → text. [`Transcriber`] is the seam between the product and the model; the
//! whisper-rs implementation ([`whisper`]) is the only code that imports whisper-rs.
//!
//! - [`gate`]: what Whisper may hear (Silero VAD confirmed by the energy detector).
//! - [`text`]: byte tokens → characters, Traditional → Simplified.
//! - [`verify`]: alternative readings of a reply and what the model makes of them.
//! - [`worker`]: the thread that owns a transcriber so the UI never waits on it, and
//!   cancels guesses a newer request has made stale.
//! - [`threads`]: how many threads a clip gets (the CPUs free right now, clamped).
//! - [`clip`]: a WAV file or a recording heard end to end (facts + transcript), as
//!   `ringcoach transcribe` and `ringcoach grade FILE.wav` use it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One decoded token with its timing and probability, kept so the grader can say
/// `uncertain` where evidence rests on tokens the model was unsure of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// Token text, already Simplified.
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
    /// Probability the model gave this token, 0.0–1.0.
    pub p: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_ms: u64,
    pub end_ms: u64,
    /// Segment text, already Simplified.
    pub text: String,
    pub tokens: Vec<Token>,
}

/// What the model heard. `text` is empty when no speech was heard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub text: String,
    pub segments: Vec<Segment>,
    /// Set when decoding was stopped before the end of the audio (a busy machine ran out
    /// of time, or the decoder looped): the text is what was decoded up to then, and the
    /// grader must not take the absence of a phrase as proof it was not said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_off: Option<CutOff>,
}

/// Where and why a transcription stopped early.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CutOff {
    pub reason: CutReason,
    /// The text covers the audio up to about here (ms from the start of the clip); what
    /// was said after it was not transcribed.
    pub heard_until_ms: u64,
    /// The clip's length (ms).
    pub clip_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CutReason {
    /// The wall-clock limit for the clip passed (a busy machine).
    TimeLimit { limit_ms: u64 },
    /// The decoder took more steps than the speech can hold (it was repeating itself).
    StepLimit { steps: u32, limit: u32 },
    /// The first decode ran away (`why`: it looped, wrote more than the speech can hold,
    /// or hit the step bound; `first`: the start of what it wrote). The text is a second
    /// decode held back from repeating itself: the whole clip was heard, but the text may
    /// not be what was said.
    Runaway { why: String, first: String },
}

impl CutOff {
    /// One sentence for people, in Chinese and in English.
    pub fn describe(&self) -> (String, String) {
        let s = |ms: u64| format!("{:.1}", ms as f64 / 1000.0);
        let (heard, clip) = (s(self.heard_until_ms), s(self.clip_ms));
        match &self.reason {
            CutReason::TimeLimit { limit_ms } => (
                format!(
                    "电脑繁忙,转写在{}秒后被截断:{clip}秒的录音只转写了约前{heard}秒",
                    s(*limit_ms)
                ),
                format!(
                    "the machine was busy and transcription was cut off after {} s: only about the first {heard} s of {clip} s were transcribed",
                    s(*limit_ms)
                ),
            ),
            CutReason::StepLimit { steps, limit } => (
                format!(
                    "识别反复输出同样的内容,在{steps}步(上限{limit})处被截断:{clip}秒的录音只转写了约前{heard}秒"
                ),
                format!(
                    "the recogniser kept repeating itself and was stopped after {steps} steps (limit {limit}): only about the first {heard} s of {clip} s were transcribed"
                ),
            ),
            CutReason::Runaway { first, .. } => (
                format!(
                    "识别失控(先写出「{first}」:反复或超出语音长度),已禁止重复后重新识别:{clip}秒的录音的文字可能与所说不符"
                ),
                format!(
                    "the recogniser ran away (it first wrote 「{first}」, repeating itself or more than the speech holds) and was run again held back from repeating: the text of the {clip} s recording may not be what was said"
                ),
            ),
        }
    }
}

impl Transcript {
    /// Every token of every segment, in order.
    pub fn tokens(&self) -> impl Iterator<Item = &Token> {
        self.segments.iter().flat_map(|s| s.tokens.iter())
    }
}

impl Transcript {
    /// The turns of a call as one transcript: the texts one per line, each turn's timings
    /// shifted by its offset (ms into the call's recording).
    pub fn join_turns<'t>(turns: impl IntoIterator<Item = (&'t Transcript, u64)>) -> Transcript {
        let mut out = Transcript::default();
        for (t, shift) in turns {
            if !out.text.is_empty() && !t.text.is_empty() {
                out.text.push('\n');
            }
            out.text.push_str(&t.text);
            out.segments.extend(t.segments.iter().map(|seg| {
                let mut seg = seg.clone();
                seg.start_ms += shift;
                seg.end_ms += shift;
                for tok in &mut seg.tokens {
                    tok.start_ms += shift;
                    tok.end_ms += shift;
                }
                seg
            }));
        }
        out
    }

    /// True when nothing was heard: the VAD found no speech, or Whisper produced no text.
    /// The grader must treat this as "no speech heard", never as a reply to score.
    pub fn heard_nothing(&self) -> bool {
        self.text.trim().is_empty()
    }
}

pub mod clip;
pub mod gate;
pub mod text;
pub mod threads;
pub mod verify;
pub mod whisper;
pub mod worker;

pub use threads::Threads;
pub use verify::{Asked, Likeness, Reading, ReadingScore, ScoreConfig, ScoreError, Thresholds};
pub use whisper::{AudioContext, WhisperConfig, WhisperTranscriber};
pub use worker::{Event, Worker};

/// The threads a transcription may use: what was asked for, at least one and never more
/// than the cores that exist. whisper.cpp's threads spin at barriers, so a thread without a
/// core only waits for one (`--threads 1000` started 1,000 threads and ran two minutes past
/// its time limit). Pure: `cores` is passed in.
pub fn clamp_threads(requested: usize, cores: usize) -> usize {
    requested.clamp(1, cores.max(1))
}

/// The cores this process may run on.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The seam between the product and a speech model. Implementations own their model and
/// are moved onto the [`worker`] thread; they need not be shareable.
pub trait Transcriber: Send {
    /// Transcribes one reply given as 16 kHz mono samples in -1.0..=1.0. Silence and noise
    /// must come back as an empty transcript, not as invented words.
    fn transcribe(&mut self, samples_16k_mono: &[f32]) -> Result<Transcript, TranscribeError>;

    /// As [`Transcriber::transcribe`], giving up with [`TranscribeError::Cancelled`] soon
    /// after `cancel` is set from another thread (a newer request made this one stale).
    /// Transcribers that cannot stop early simply finish.
    fn transcribe_or_cancel(
        &mut self,
        samples_16k_mono: &[f32],
        cancel: &Cancel,
    ) -> Result<Transcript, TranscribeError> {
        let _ = cancel;
        self.transcribe(samples_16k_mono)
    }

    /// Called now and then while there is nothing to transcribe (the worker waits for
    /// work): a chance to measure the machine, so the next clip is planned on fresh facts.
    fn idle(&mut self) {}

    /// What happened inside the last call (threads, timings), when the transcriber keeps it.
    fn last_run(&self) -> Option<&RunInfo> {
        None
    }

    /// Scores alternative readings of the reply last transcribed against the same audio
    /// (see [`verify`]): one result per reading, in order. The outer error means no
    /// reading could be scored (nothing transcribed yet, the engine failed).
    fn score_readings(&mut self, _readings: &[Reading]) -> verify::Scored {
        Err(ScoreError::NotSupported)
    }
}

/// What happened inside one transcription, for the CLI, the bench and the practice log.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunInfo {
    /// Speech stretches Whisper heard, in ms of the original clip (padded).
    pub heard_ms: Vec<(u64, u64)>,
    pub speech_ms: u64,
    pub vad_ms: u64,
    pub decode_ms: u64,
    pub decoder_steps: u32,
    pub audio_ctx: i32,
    /// Threads Whisper ran with, and the CPUs' worth of time other programs were using
    /// just before (when it could be measured) that chose them.
    pub threads: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub others_busy: Option<f32>,
}

/// Stops a transcription from another thread. Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The flag itself, for a callback that can only hold a pointer.
    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    #[error("Whisper model not found at {path}: run `ringcoach models fetch`, or pass --model PATH / set RINGCOACH_MODEL")]
    ModelMissing { path: std::path::PathBuf },
    #[error("cannot load the Whisper model {path} (corrupt, truncated or not a ggml Whisper file): run `ringcoach models verify`, then `ringcoach models fetch`")]
    ModelLoad { path: std::path::PathBuf },
    #[error("VAD model not found at {path}: run `ringcoach models fetch`, or pass --vad-model PATH / set RINGCOACH_VAD_MODEL")]
    VadMissing { path: std::path::PathBuf },
    #[error("cannot load the VAD model {path} (corrupt or not a ggml Silero VAD file): run `ringcoach models verify`, then `ringcoach models fetch`")]
    VadLoad { path: std::path::PathBuf },
    #[error("voice activity detection failed on this clip: {detail}; try again, and report it if it repeats")]
    Vad { detail: String },
    #[error("the transcription was cancelled: a newer request made it stale")]
    Cancelled,
    #[error("whisper.cpp failed: {detail}; try again, and report it if it repeats")]
    Engine { detail: String },
    #[error("the transcription worker has stopped: {detail}; restart ringcoach")]
    WorkerGone { detail: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_clamped_to_the_cores() {
        assert_eq!(clamp_threads(1000, 2), 2);
        assert_eq!(clamp_threads(32, 8), 8);
        assert_eq!(clamp_threads(0, 4), 1);
        assert_eq!(clamp_threads(3, 4), 3);
        assert_eq!(clamp_threads(5, 0), 1);
    }
}
