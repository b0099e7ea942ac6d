//! Audio out: the [`AudioSink`] seam (cpal output or `null`) and the [`Signal`]s played
//! through it (a recorded [`Clip`] here; the ring tone in [`crate::audio::ringer`]).
//!
//! The cpal callback pulls from the signal into a scratch buffer allocated before the stream
//! starts, so it never allocates or blocks. The `null` sink pulls the same signal on a clock,
//! so ring cadence and "the caller's line has finished" behave identically without speakers.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};
use serde::Serialize;

use crate::audio::devices::{self, AudioIoError, Direction};
use crate::audio::wav;

/// Something that can be played: mono samples generated on demand at the sink's rate.
/// Implementations run inside the audio callback: no allocation, no locks, no I/O.
pub trait Signal: Send + 'static {
    /// Fills `out` with samples at `rate` Hz; returns how many were written. Fewer than
    /// `out.len()` means the signal has ended.
    fn fill(&mut self, out: &mut [f32], rate: u32) -> usize;
}

/// Recorded audio (the caller's line, the trainee's own reply) as a [`Signal`], converted to
/// the sink's rate by linear interpolation (fine for listening; never fed to Whisper, which
/// hears files through [`wav::read_wav_16k`]).
#[derive(Debug, Clone)]
pub struct Clip {
    samples: Arc<Vec<f32>>,
    rate: u32,
    /// Position in `samples`, fractional.
    pos: f64,
}

impl Clip {
    pub fn new(samples: Vec<f32>, rate: u32) -> Self {
        Clip {
            samples: Arc::new(samples),
            rate: rate.max(1),
            pos: 0.0,
        }
    }

    /// A WAV file, mixed down to mono, at its own rate (the one reader, no length limit: a
    /// stored call is played whatever its length).
    pub fn from_wav(path: &Path) -> Result<Self, AudioIoError> {
        let pcm = wav::read_wav_limited(path, Duration::MAX)?;
        Ok(Clip::new(pcm.samples, pcm.sample_rate))
    }

    /// The same clip, played from `ms` in (past its end: nothing).
    pub fn starting_at_ms(mut self, ms: u64) -> Self {
        self.pos = ms as f64 * f64::from(self.rate) / 1000.0;
        self
    }

    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / u64::from(self.rate)
    }
}

impl Signal for Clip {
    fn fill(&mut self, out: &mut [f32], rate: u32) -> usize {
        let step = f64::from(self.rate) / f64::from(rate.max(1));
        let n = self.samples.len();
        for (written, o) in out.iter_mut().enumerate() {
            let i = self.pos as usize;
            if i >= n {
                return written;
            }
            let frac = (self.pos - i as f64) as f32;
            let a = self.samples[i];
            let b = if i + 1 < n { self.samples[i + 1] } else { a };
            *o = a + (b - a) * frac;
            self.pos += step;
        }
        out.len()
    }
}

/// Where played audio goes.
pub trait AudioSink: Send + Sync {
    fn describe(&self) -> String;
    /// Starts playing `signal`; it plays until it ends or the [`Playback`] is stopped.
    fn play(&self, signal: Box<dyn Signal>) -> Result<Playback, AudioIoError>;
}

/// Counters of a playback.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlaybackStats {
    pub rate: u32,
    pub channels: u16,
    pub callbacks: u64,
    pub frames: u64,
    pub min_callback_frames: u64,
    pub max_callback_frames: u64,
    pub xruns: u64,
    pub stream_errors: u64,
    pub last_error: Option<String>,
    /// The backend's estimate of playback time minus callback time (largest seen), µs.
    pub max_reported_latency_us: Option<u64>,
}

#[derive(Debug, Default)]
struct PlayShared {
    stop: AtomicBool,
    finished: AtomicBool,
    rate: AtomicU64,
    channels: AtomicU64,
    callbacks: AtomicU64,
    frames: AtomicU64,
    min_frames: AtomicU64,
    max_frames: AtomicU64,
    xruns: AtomicU64,
    stream_errors: AtomicU64,
    last_error: Mutex<Option<String>>,
    max_latency_us: AtomicU64,
}

impl PlayShared {
    fn callback(&self, frames: u64) {
        if self.callbacks.fetch_add(1, Ordering::Relaxed) == 0 {
            self.min_frames.store(frames, Ordering::Relaxed);
        }
        self.frames.fetch_add(frames, Ordering::Relaxed);
        self.min_frames.fetch_min(frames, Ordering::Relaxed);
        self.max_frames.fetch_max(frames, Ordering::Relaxed);
    }

    fn error(&self, e: &cpal::Error) {
        if e.kind() == cpal::ErrorKind::Xrun {
            self.xruns.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.stream_errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last_error.try_lock() {
            *last = Some(e.to_string());
        }
    }

    fn stats(&self) -> PlaybackStats {
        let lat = self.max_latency_us.load(Ordering::Relaxed);
        PlaybackStats {
            rate: self.rate.load(Ordering::Relaxed) as u32,
            channels: self.channels.load(Ordering::Relaxed) as u16,
            callbacks: self.callbacks.load(Ordering::Relaxed),
            frames: self.frames.load(Ordering::Relaxed),
            min_callback_frames: self.min_frames.load(Ordering::Relaxed),
            max_callback_frames: self.max_frames.load(Ordering::Relaxed),
            xruns: self.xruns.load(Ordering::Relaxed),
            stream_errors: self.stream_errors.load(Ordering::Relaxed),
            last_error: self.last_error.lock().ok().and_then(|l| l.clone()),
            max_reported_latency_us: (lat > 0).then(|| lat - 1),
        }
    }
}

/// A signal being played. Dropping it stops the sound.
pub struct Playback {
    shared: Arc<PlayShared>,
    thread: Option<JoinHandle<()>>,
    started: Instant,
}

impl Playback {
    /// True once the signal has ended (and, for a device, its last samples were handed over).
    pub fn is_finished(&self) -> bool {
        self.shared.finished.load(Ordering::Relaxed)
    }

    /// Time since `play` returned.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Audio handed to the sink so far, in ms of signal.
    pub fn played_ms(&self) -> u64 {
        let rate = self.shared.rate.load(Ordering::Relaxed).max(1);
        self.shared.frames.load(Ordering::Relaxed) * 1000 / rate
    }

    pub fn stats(&self) -> PlaybackStats {
        self.shared.stats()
    }

    /// Blocks until the signal has ended or `timeout` passed; true if it ended.
    pub fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.is_finished() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Stops the sound now and returns the counters.
    pub fn stop(mut self) -> PlaybackStats {
        self.halt();
        self.shared.stats()
    }

    fn halt(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for Playback {
    fn drop(&mut self) {
        self.halt();
    }
}

/// `--output null`: plays nothing, but consumes the signal in real time (20 ms blocks at
/// 16 kHz), so rings and "the caller has finished speaking" keep their timing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullSink;

const NULL_RATE: u32 = 16_000;
const NULL_BLOCK_MS: u64 = 20;

impl AudioSink for NullSink {
    fn describe(&self) -> String {
        "null output (silent)".to_string()
    }

    fn play(&self, mut signal: Box<dyn Signal>) -> Result<Playback, AudioIoError> {
        let shared = Arc::new(PlayShared::default());
        shared.rate.store(u64::from(NULL_RATE), Ordering::Relaxed);
        shared.channels.store(1, Ordering::Relaxed);
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("ringcoach-null-sink".into())
            .spawn(move || {
                let block = (u64::from(NULL_RATE) * NULL_BLOCK_MS / 1000) as usize;
                let mut scratch = vec![0.0f32; block];
                let t0 = Instant::now();
                let mut index = 0u64;
                while !s.stop.load(Ordering::Relaxed) {
                    // Block i is "played" from i·20 ms; pull it then, on absolute deadlines.
                    let due = t0 + Duration::from_millis(index * NULL_BLOCK_MS);
                    let now = Instant::now();
                    if now < due {
                        std::thread::park_timeout(due - now);
                        continue;
                    }
                    let n = signal.fill(&mut scratch, NULL_RATE);
                    s.callback(n as u64);
                    if n < block {
                        // The last partial block still takes its time to "play".
                        std::thread::sleep(Duration::from_millis(
                            n as u64 * 1000 / u64::from(NULL_RATE),
                        ));
                        s.finished.store(true, Ordering::Relaxed);
                        return;
                    }
                    index += 1;
                }
            })
            .map_err(AudioIoError::Thread)?;
        Ok(Playback {
            shared,
            thread: Some(thread),
            started: Instant::now(),
        })
    }
}

/// Speakers or headset through cpal.
#[derive(Debug, Clone, Default)]
pub struct DeviceSink {
    /// Device name or id as `ringcoach devices` shows it; None = system default.
    pub device: Option<String>,
}

impl AudioSink for DeviceSink {
    fn describe(&self) -> String {
        match &self.device {
            Some(d) => format!("output \"{d}\""),
            None => "default output".to_string(),
        }
    }

    fn play(&self, signal: Box<dyn Signal>) -> Result<Playback, AudioIoError> {
        let shared = Arc::new(PlayShared::default());
        let (ready_tx, ready_rx) = crossbeam_channel::bounded::<Result<(), AudioIoError>>(1);
        let device = self.device.clone();
        let s = Arc::clone(&shared);
        // The thread owns the cpal stream (not Send on every platform) for its whole life.
        let thread = std::thread::Builder::new()
            .name("ringcoach-playback".into())
            .spawn(move || {
                let opened = crate::audio::quiet::without_stderr(|| {
                    open_output(device.as_deref(), signal, &s)
                });
                let stream = match opened {
                    Ok(stream) => stream,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                while !s.stop.load(Ordering::Relaxed) && !s.finished.load(Ordering::Relaxed) {
                    std::thread::park_timeout(Duration::from_millis(10));
                }
                if !s.stop.load(Ordering::Relaxed) {
                    // Let the device play out what it has buffered before closing the stream.
                    let lat_us = s.max_latency_us.load(Ordering::Relaxed);
                    std::thread::sleep(
                        Duration::from_micros(lat_us.min(1_000_000)) + Duration::from_millis(50),
                    );
                }
                drop(stream);
            })
            .map_err(AudioIoError::Thread)?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Playback {
                shared,
                thread: Some(thread),
                started: Instant::now(),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(AudioIoError::Thread(std::io::Error::other(
                    "playback thread ended before starting",
                )))
            }
        }
    }
}

fn open_output(
    wanted: Option<&str>,
    signal: Box<dyn Signal>,
    shared: &Arc<PlayShared>,
) -> Result<cpal::Stream, AudioIoError> {
    let device = devices::find(Direction::Output, wanted)?;
    let name = devices::device_name(&device);
    let wanted_default = wanted.is_none();
    let backend = |what: &'static str, cause: cpal::Error| {
        AudioIoError::backend(what, Direction::Output, &name, wanted_default, cause)
    };
    let supported = device
        .default_output_config()
        .map_err(|e| backend("read the output format", e))?;
    let config = supported.config();
    shared
        .rate
        .store(u64::from(config.sample_rate), Ordering::Relaxed);
    shared
        .channels
        .store(u64::from(config.channels), Ordering::Relaxed);
    let stream = match supported.sample_format() {
        SampleFormat::I8 => build_out::<i8>(&device, &config, signal, shared),
        SampleFormat::I16 => build_out::<i16>(&device, &config, signal, shared),
        SampleFormat::I32 => build_out::<i32>(&device, &config, signal, shared),
        SampleFormat::U8 => build_out::<u8>(&device, &config, signal, shared),
        SampleFormat::U16 => build_out::<u16>(&device, &config, signal, shared),
        SampleFormat::U32 => build_out::<u32>(&device, &config, signal, shared),
        SampleFormat::F32 => build_out::<f32>(&device, &config, signal, shared),
        SampleFormat::F64 => build_out::<f64>(&device, &config, signal, shared),
        SampleFormat::I24 => build_out::<cpal::I24>(&device, &config, signal, shared),
        SampleFormat::U24 => build_out::<cpal::U24>(&device, &config, signal, shared),
        other => {
            return Err(AudioIoError::UnsupportedFormat {
                direction: Direction::Output,
                device: name,
                format: other.to_string(),
            })
        }
    }
    .map_err(|e| backend("open the output stream", e))?;
    stream
        .play()
        .map_err(|e| backend("start the output stream", e))?;
    Ok(stream)
}

fn build_out<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    mut signal: Box<dyn Signal>,
    shared: &Arc<PlayShared>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let channels = usize::from(config.channels.max(1));
    let rate = config.sample_rate;
    // Allocated here, before the stream runs; callbacks larger than this are served in pieces.
    let mut scratch = vec![0.0f32; 8192];
    let mut ended = false;
    let data_shared = Arc::clone(shared);
    let err_shared = Arc::clone(shared);
    device.build_output_stream::<T, _, _>(
        *config,
        move |out: &mut [T], info: &cpal::OutputCallbackInfo| {
            let frames = out.len() / channels;
            data_shared.callback(frames as u64);
            let ts = info.timestamp();
            if let Some(l) = ts.playback.checked_duration_since(ts.callback) {
                data_shared
                    .max_latency_us
                    .fetch_max(l.as_micros() as u64 + 1, Ordering::Relaxed);
            }
            for block in out.chunks_mut(scratch.len() * channels) {
                let n = block.len() / channels;
                let got = if ended {
                    0
                } else {
                    signal.fill(&mut scratch[..n], rate)
                };
                if got < n {
                    ended = true;
                    scratch[got..n].fill(0.0);
                }
                for (frame, &s) in block.chunks_exact_mut(channels).zip(&scratch[..n]) {
                    frame.fill(T::from_sample(s));
                }
            }
            if ended {
                data_shared.finished.store(true, Ordering::Relaxed);
            }
        },
        move |e| err_shared.error(&e),
        Some(Duration::from_secs(5)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_plays_at_another_rate_by_interpolation_and_ends() {
        let mut clip = Clip::new(vec![0.0, 1.0, 0.0, -1.0], 16_000);
        let mut out = [9.0f32; 16];
        let n = clip.fill(&mut out, 32_000);
        assert_eq!(n, 8);
        assert_eq!(&out[..8], &[0.0, 0.5, 1.0, 0.5, 0.0, -0.5, -1.0, -1.0]);
        assert_eq!(clip.fill(&mut out, 32_000), 0);
    }

    #[test]
    fn clip_duration() {
        assert_eq!(Clip::new(vec![0.0; 8_000], 16_000).duration_ms(), 500);
    }

    #[test]
    fn clip_starts_where_asked() {
        let samples: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let mut clip = Clip::new(samples, 8_000).starting_at_ms(1);
        let mut out = [0.0f32; 16];
        assert_eq!(clip.fill(&mut out, 8_000), 8);
        assert_eq!(&out[..3], &[8.0, 9.0, 10.0]);
        let mut past = Clip::new(vec![0.5; 16], 8_000).starting_at_ms(10);
        assert_eq!(past.fill(&mut out, 8_000), 0);
    }

    #[test]
    fn clip_from_wav_keeps_the_files_rate() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.wav");
        wav::write_wav_mono_i16(&p, &[0.25; 4_410], 44_100).unwrap();
        let clip = Clip::from_wav(&p).unwrap();
        assert_eq!(clip.duration_ms(), 100);
        let err = Clip::from_wav(&dir.path().join("absent.wav")).unwrap_err();
        assert!(err.to_string().starts_with("cannot read WAV file"), "{err}");
    }
}
