//! Audio: WAV I/O, resampling, signal facts, and (only here) cpal devices.

pub mod capture;
pub mod choice;
pub mod devices;
pub mod facts;
pub mod file_source;
pub mod level;
pub mod playback;
pub mod quiet;
pub mod resample;
pub mod ring;
pub mod wav;
