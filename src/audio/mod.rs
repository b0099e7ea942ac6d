//! Audio: WAV I/O, resampling, signal facts, the telephone ring, and (only here) cpal devices.
//!
//! - Pure, imported by the rest: [`resample`] (any rate → [`resample::TARGET_RATE`], one
//!   resampler for files and microphones), [`ring`] (the cadence, ring counting and the
//!   tone's samples), [`level`] and [`facts`] (signal measurements), [`quality`] (whether a recording
//!   can be trusted, with advice).
//! - Files: [`wav`] is the one reader (and writer); every path from a WAV file to Whisper
//!   is [`wav::read_wav_16k`].
//! - Devices: [`devices`] (cpal listing, the shared error), [`capture`] (the
//!   [`capture::AudioSource`] seam and the microphone), [`file_source`] (a WAV file as the
//!   microphone), [`playback`] (the [`playback::AudioSink`] seam, speaker or null, and clips),
//!   [`ringer`] (rings through a sink until picked up), [`choice`] (flags → source and sink).
//!
//! Imports run one way: choice → file_source → capture → resample; ringer → playback → wav →
//! resample; ringer → ring.

pub mod capture;
pub mod choice;
pub mod devices;
pub mod facts;
pub mod file_source;
pub mod level;
pub mod playback;
pub mod quality;
pub mod quiet;
pub mod resample;
pub mod ring;
pub mod ringer;
pub mod wav;
