//! ringcoach — a speech-based phone-etiquette coach.
//!
//! The phone rings, the trainee picks up and answers out loud, a local Whisper model
//! transcribes the reply and a rubric drawn from the source material grades it.
//!
//! Module map (who owns what):
//! - [`text`]: normalise Chinese text (width, Traditional → Simplified, punctuation) and
//!   its pinyin. Imports nothing from the crate.
//! - [`input`]: files a user names, opened only when they are regular files (never a FIFO
//!   or a device that would block or never end) and read with a size cap. Imports nothing
//!   from the crate.
//! - [`config`]: the user's configuration file (commented default built in), overlaid by flags.
//! - [`scenario`]: `prompts/*.toml` → typed call situations and rubrics, the phrase book and
//!   the organisation profile, with file:line:col errors. Never calls the grader.
//! - [`grading`]: pure. Match phrases on characters and pinyin, run the checks of a rubric,
//!   score; [`grading::Call`] is the one way from what was heard (transcripts, audio facts,
//!   pickup, organisation) to a [`grading::Report`]; and the lint of scenario files that
//!   needs the grader (model answers). No I/O, no clock.
//! - [`audio`]: WAV I/O, resampling to 16 kHz mono, signal facts (levels, voiced time,
//!   first words), the ring, and the only place that imports cpal (devices, capture, playback).
//! - [`transcribe`]: the [`transcribe::Transcriber`] seam, the only place that imports
//!   whisper-rs, and the worker thread that runs it off the UI thread.
//! - [`models`]: the model cache, CTranslate2 → ggml conversion, fetch/verify.
//! - [`store`]: attempts on disk (WAV, transcript, report; recording, the audit log,
//!   recovery, maintenance) behind the [`store::AttemptIndex`] seam (SQLite today).
//! - [`report`]: one trainee's attempts from the store, with trainers' overrules applied,
//!   as JSON, CSV and HTML, in its own words; review uses it, never the reverse.
//! - [`db`]: a training room's shared store in PostgreSQL, fed from each desk's store.
//! - [`exam`]: certification sittings (a suite's calls taken once each, on the exam screen or
//!   imported), their seal, open items and certificate records.
//! - [`cert`]: certificates: signed, offline-verifiable results of a certification sitting.
//! - [`tui`]: what every terminal screen shares: the terminal taken over and given back,
//!   stderr to a log, the key reader, and the one event loop a screen plugs into.
//! - [`practice`]: the trainee's screens — a pure state machine, its keys, view models,
//!   views and strings, and the runtime that rings, records, transcribes, grades and saves.
//! - [`review`]: the trainer's screens, in the same shape: queue, attempt, progress.
//! - [`cli`]: one file per subcommand and the flag groups they share; thin wrappers over the
//!   library that resolve flags, open what the command needs and format its errors.
//!
//! Which way imports run: `main.rs` → [`cli`] → the screens ([`practice`], [`review`]) and
//! [`report`] → the library ([`exam`], [`cert`], [`db`], [`store`], [`grading`], [`transcribe`], [`scenario`], [`audio`],
//! [`models`], [`config`]); the screens also use [`tui`]. The screens do not import each
//! other, [`tui`] imports no screen, and nothing outside [`cli`] imports it: each module
//! returns its own error type and the command line words it.

pub mod audio;
pub mod cert;
pub mod cli;
pub mod config;
pub mod db;
pub mod exam;
pub mod grading;
pub mod input;
pub mod models;
pub mod practice;
pub mod report;
pub mod review;
pub mod scenario;
pub mod store;
pub mod text;
pub mod transcribe;
pub mod tui;
