//! `--input FILE.wav`: a WAV file played as if it were the microphone, in real time (paced by
//! the clock, one 20 ms chunk every 20 ms), then silence until stopped. For demos, tests and
//! machines without a sound card; the practice loop cannot tell it from a [`MicSource`].
//! The file is read and converted by [`wav::read_wav_16k`], exactly as `grade FILE.wav` reads
//! it, so Whisper hears the same samples whichever command the file was given to.
//!
//! [`MicSource`]: crate::audio::capture::MicSource

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::audio::capture::{AudioSource, Capture, Chunk, Shared};
use crate::audio::devices::AudioIoError;
use crate::audio::resample::TARGET_RATE;
use crate::audio::wav;

/// Length of each chunk a file source delivers.
pub const FILE_CHUNK_MS: u64 = 20;

/// What happens after the file's last sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterEnd {
    /// Keep delivering silent chunks until stopped, like a microphone in a quiet room.
    Silence,
    /// Close the channel: the consumer sees the end.
    Close,
}

/// A WAV file as the microphone.
#[derive(Debug, Clone)]
pub struct FileSource {
    path: PathBuf,
    samples: Arc<Vec<f32>>,
    after_end: AfterEnd,
}

impl FileSource {
    /// Reads and converts the whole file up front, so a bad file fails here, before the phone
    /// rings, with a message naming the file. Files longer than [`wav::DEFAULT_MAX_DURATION`]
    /// are refused, as `grade` refuses them.
    pub fn open(path: &Path) -> Result<Self, AudioIoError> {
        let samples = wav::read_wav_16k(path, wav::DEFAULT_MAX_DURATION)?;
        Ok(FileSource {
            path: path.to_path_buf(),
            samples: Arc::new(samples),
            after_end: AfterEnd::Silence,
        })
    }

    pub fn after_end(mut self, after_end: AfterEnd) -> Self {
        self.after_end = after_end;
        self
    }

    /// The file's length at 16 kHz.
    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / u64::from(TARGET_RATE)
    }

    /// The converted file (16 kHz mono).
    pub fn samples(&self) -> &[f32] {
        &self.samples
    }
}

impl AudioSource for FileSource {
    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }

    fn start(&mut self) -> Result<Capture, AudioIoError> {
        let (tx, rx) = crossbeam_channel::bounded(1024);
        let shared = Arc::new(Shared::default());
        let samples = Arc::clone(&self.samples);
        let after_end = self.after_end;
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("ringcoach-file-source".into())
            .spawn(move || {
                let per_chunk = (u64::from(TARGET_RATE) * FILE_CHUNK_MS / 1000) as usize;
                let t0 = Instant::now();
                let mut index = 0u64;
                loop {
                    // Chunk i holds audio from i·20 ms to (i+1)·20 ms: like a microphone, it
                    // exists only once that time has passed. Absolute deadlines, so no drift.
                    let due = t0 + Duration::from_millis((index + 1) * FILE_CHUNK_MS);
                    loop {
                        if thread_shared.stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let now = Instant::now();
                        if now >= due {
                            break;
                        }
                        std::thread::park_timeout(due - now);
                    }
                    let start = index as usize * per_chunk;
                    if start >= samples.len() && after_end == AfterEnd::Close {
                        return;
                    }
                    let mut chunk = vec![0.0f32; per_chunk];
                    if start < samples.len() {
                        let end = (start + per_chunk).min(samples.len());
                        chunk[..end - start].copy_from_slice(&samples[start..end]);
                        if end - start < per_chunk && after_end == AfterEnd::Close {
                            chunk.truncate(end - start);
                        }
                    }
                    let chunk = Chunk {
                        start_sample: start as u64,
                        samples: chunk,
                    };
                    if !thread_shared.send(&tx, chunk) {
                        return;
                    }
                    index += 1;
                }
            })
            .map_err(AudioIoError::Thread)?;
        shared.started.store(true, Ordering::Relaxed);
        Ok(Capture::new(rx, shared, thread, self.describe()))
    }
}
