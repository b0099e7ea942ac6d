//! Speech → text. [`Transcriber`] is the seam between the product and the model; the
//! whisper-rs implementation ([`whisper`]) is the only code that imports whisper-rs.
//!
//! - [`gate`]: what Whisper may hear (Silero VAD confirmed by the energy detector).
//! - [`text`]: byte tokens → characters, Traditional → Simplified.
//! - [`verify`]: alternative readings of a reply and what the model makes of them.
//! - [`worker`]: the thread that owns a transcriber so the UI never waits on it.
//! - [`clip`]: a WAV file or a recording heard end to end (facts + transcript), as
//!   `ringcoach transcribe` and `ringcoach grade FILE.wav` use it.

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
}

impl Transcript {
    /// Every token of every segment, in order.
    pub fn tokens(&self) -> impl Iterator<Item = &Token> {
        self.segments.iter().flat_map(|s| s.tokens.iter())
    }
}

impl Transcript {
    /// True when nothing was heard: the VAD found no speech, or Whisper produced no text.
    /// The grader must treat this as "no speech heard", never as a reply to score.
    pub fn heard_nothing(&self) -> bool {
        self.text.trim().is_empty()
    }
}

pub mod clip;
pub mod gate;
pub mod text;
pub mod verify;
pub mod whisper;
pub mod worker;

pub use verify::{Asked, Likeness, Reading, ReadingScore, ScoreConfig, ScoreError, Thresholds};
pub use whisper::{AudioContext, WhisperConfig, WhisperTranscriber};
pub use worker::{Event, Worker};

/// The seam between the product and a speech model. Implementations own their model and
/// are moved onto the [`worker`] thread; they need not be shareable.
pub trait Transcriber: Send {
    /// Transcribes one reply given as 16 kHz mono samples in -1.0..=1.0. Silence and noise
    /// must come back as an empty transcript, not as invented words.
    fn transcribe(&mut self, samples_16k_mono: &[f32]) -> Result<Transcript, TranscribeError>;

    /// Scores alternative readings of the reply last transcribed against the same audio
    /// (see [`verify`]): one result per reading, in order. The outer error means no
    /// reading could be scored (nothing transcribed yet, the engine failed).
    fn score_readings(&mut self, _readings: &[Reading]) -> verify::Scored {
        Err(ScoreError::NotSupported)
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
    #[error("decoding ran away ({steps} decoder steps for {speech_ms} ms of speech, limit {limit}) and was cut off; the audio is probably noise or music — answer again, clearly")]
    RunawayDecode {
        steps: u32,
        limit: u32,
        speech_ms: u64,
    },
    #[error("transcription took longer than {limit_ms} ms and was cut off; answer again, or use a faster machine / smaller --audio-ctx")]
    TimedOut { limit_ms: u64 },
    #[error("whisper.cpp failed: {detail}; try again, and report it if it repeats")]
    Engine { detail: String },
    #[error("the transcription worker has stopped: {detail}; restart ringcoach")]
    WorkerGone { detail: String },
}
