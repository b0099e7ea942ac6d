//! ringcoach — a speech-based phone-etiquette coach.
//!
//! The phone rings, the trainee picks up and answers out loud, a local Whisper model
//! transcribes the reply and a rubric drawn from the source material grades it.
//!
//! Module map (who owns what):
//! - [`grading`]: pure. Normalise Chinese text, match phrases on characters and pinyin,
//!   run the checks of a rubric, score. No I/O, no clock.
//! - [`scenario`]: `prompts/*.toml` → typed call situations and rubrics, with file:line:col errors.
//! - [`audio`]: WAV I/O, resampling to 16 kHz mono, signal facts (levels, voiced time,
//!   first words), and the only place that imports cpal (devices, capture, playback).
//! - [`transcribe`]: the [`transcribe::Transcriber`] seam, the only place that imports
//!   whisper-rs, and the worker thread that runs it off the UI thread.
//! - [`models`]: the model cache, CTranslate2 → ggml conversion, fetch/verify.
//! - [`store`]: attempts on disk (WAV, transcript, report) and their SQLite index.
//! - [`app`] / [`tui`]: the practice and review state machines apart from rendering.
//! - [`cli`]: one file per subcommand; thin wrappers over the library.

pub mod audio;
pub mod cli;
pub mod config;
pub mod grading;
pub mod models;
pub mod practice;
pub mod report;
pub mod review;
pub mod scenario;
pub mod store;
pub mod transcribe;
pub mod tui;
