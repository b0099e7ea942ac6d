//! ringcoach — a speech-based phone-etiquette coach.
//!
//! The phone rings, the trainee picks up and answers out loud, a local Whisper model
//! transcribes the reply and a rubric drawn from the source material grades it.
//!
//! Module map (who owns what):
//! - [`text`]: normalise Chinese text (width, Traditional → Simplified, punctuation) and
//!   its pinyin. Imports nothing from the crate.
//! - [`scenario`]: `prompts/*.toml` → typed call situations and rubrics, with file:line:col
//!   errors. Never calls the grader.
//! - [`grading`]: pure. Match phrases on characters and pinyin, run the checks of a rubric,
//!   score; and the lint of scenario files that needs the grader (model answers).
//! - [`audio`]: WAV I/O, resampling to 16 kHz mono, signal facts (levels, voiced time,
//!   first words), and the only place that imports cpal (devices, capture, playback).
//! - [`transcribe`]: the [`transcribe::Transcriber`] seam, the only place that imports
//!   whisper-rs, and the worker thread that runs it off the UI thread.
//! - [`models`]: the model cache, CTranslate2 → ggml conversion, fetch/verify.
//! - [`store`]: attempts on disk (WAV, transcript, report; recording, the audit log,
//!   recovery, maintenance) behind the [`store::AttemptIndex`] seam (SQLite today).
//! - [`report`]: one trainee's attempts from the store, with trainers' overrules applied,
//!   as JSON, CSV and HTML, in its own words; review uses it, never the reverse.
//! - [`db`]: a training room's shared store in PostgreSQL, fed from each desk's store.
//! - [`app`] / [`tui`]: the practice and review state machines apart from rendering.
//! - [`cli`]: one file per subcommand; thin wrappers over the library.

pub mod app;
pub mod audio;
pub mod cert;
pub mod cli;
pub mod config;
pub mod db;
pub mod grading;
pub mod models;
pub mod practice;
pub mod report;
pub mod review;
pub mod scenario;
pub mod store;
pub mod text;
pub mod transcribe;
pub mod tui;
