//! Audio in: the [`AudioSource`] seam and its cpal implementation ([`MicSource`]).
//! A source delivers 16 kHz mono f32 [`Chunk`]s on a crossbeam channel, whatever the device
//! gives. The file-as-microphone lives in [`crate::audio::file_source`].
//!
//! Threads: the cpal callback only down-mixes into a preallocated lock-free FIFO
//! ([`SampleFifo`]) and bumps counters — it never blocks or allocates. One capture thread owns
//! the cpal stream, drains the FIFO every 10 ms, converts to 16 kHz with the one
//! [`Resampler`] every file goes through too, and sends chunks. Samples the FIFO could not
//! hold and chunks the consumer did not take are counted, not hidden.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use serde::Serialize;

use crate::audio::devices::{self, AudioIoError, Direction};
use crate::audio::resample::{Resampler, TARGET_RATE};

/// How many chunks may wait unread before new ones are dropped (and counted).
const CHANNEL_CHUNKS: usize = 1024;
/// The capture thread's drain period.
const DRAIN_EVERY: Duration = Duration::from_millis(10);

/// A stretch of 16 kHz mono audio. `start_sample` counts from the start of the capture, so
/// gaps (dropped chunks) are visible to a consumer that cares.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub start_sample: u64,
    pub samples: Vec<f32>,
}

impl Chunk {
    /// Milliseconds from the start of the capture to this chunk's first sample.
    pub fn start_ms(&self) -> u64 {
        self.start_sample * 1000 / u64::from(TARGET_RATE)
    }
}

/// Something that can act as the trainee's microphone.
pub trait AudioSource: Send {
    /// For the UI and logs: "microphone \"Default\" (2 ch, 44100 Hz, f32)", "file answer.wav".
    fn describe(&self) -> String;
    /// Starts delivering chunks. Audio flows until the returned [`Capture`] is stopped or
    /// dropped.
    fn start(&mut self) -> Result<Capture, AudioIoError>;
}

/// Counters a running capture keeps; see [`Capture::stats`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CaptureStats {
    /// The device format (empty for a file).
    pub device_rate: u32,
    pub device_channels: u16,
    pub sample_format: String,
    /// cpal callbacks so far and the frames they carried (device rate).
    pub callbacks: u64,
    pub device_frames: u64,
    pub min_callback_frames: u64,
    pub max_callback_frames: u64,
    /// 16 kHz samples delivered on the channel.
    pub delivered_samples: u64,
    /// Device samples lost because the capture thread fell behind the callback.
    pub dropped_device_samples: u64,
    /// Chunks lost because the consumer did not read the channel.
    pub dropped_chunks: u64,
    /// Over-/underruns the backend reported.
    pub xruns: u64,
    /// Other stream errors the backend reported; the last one's text.
    pub stream_errors: u64,
    pub last_error: Option<String>,
    /// From `start` to the first callback.
    pub first_callback_ms: Option<u64>,
    /// The backend's own estimate of callback time minus capture time (largest seen), µs.
    pub max_reported_latency_us: Option<u64>,
}

/// Lock-free, allocation-free single-producer single-consumer FIFO of f32 samples (stored as
/// their bit patterns in atomics, so no `unsafe`; a circular buffer inside). The producer is
/// the audio callback, the consumer the capture thread.
#[derive(Debug)]
pub struct SampleFifo {
    buf: Box<[AtomicU32]>,
    /// Samples ever written / read; their difference is the fill.
    head: AtomicUsize,
    tail: AtomicUsize,
    dropped: AtomicU64,
}

impl SampleFifo {
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        SampleFifo {
            buf: (0..capacity).map(|_| AtomicU32::new(0)).collect(),
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Room left for the producer right now.
    pub fn free(&self) -> usize {
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Acquire);
        self.capacity() - head.wrapping_sub(tail)
    }

    /// Producer side: writes as many samples as fit, counts the rest as dropped, returns how
    /// many were written. Never blocks.
    pub fn push_iter(&self, samples: impl Iterator<Item = f32>) -> usize {
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Acquire);
        let free = self.capacity() - head.wrapping_sub(tail);
        let mut written = 0usize;
        let mut lost = 0u64;
        for s in samples {
            if written < free {
                self.buf[head.wrapping_add(written) % self.capacity()]
                    .store(s.to_bits(), Ordering::Relaxed);
                written += 1;
            } else {
                lost += 1;
            }
        }
        self.head
            .store(head.wrapping_add(written), Ordering::Release);
        if lost > 0 {
            self.dropped.fetch_add(lost, Ordering::Relaxed);
        }
        written
    }

    /// Consumer side: appends everything available to `out`.
    pub fn pop_into(&self, out: &mut Vec<f32>) -> usize {
        let tail = self.tail.load(Ordering::Relaxed);
        let head = self.head.load(Ordering::Acquire);
        let n = head.wrapping_sub(tail);
        out.reserve(n);
        for i in 0..n {
            out.push(f32::from_bits(
                self.buf[tail.wrapping_add(i) % self.capacity()].load(Ordering::Relaxed),
            ));
        }
        self.tail.store(head, Ordering::Release);
        n
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Shared between the capture thread, the cpal callbacks and the [`Capture`] handle.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) stop: AtomicBool,
    pub(crate) started: AtomicBool,
    callbacks: AtomicU64,
    device_frames: AtomicU64,
    min_frames: AtomicU64,
    max_frames: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) dropped_chunks: AtomicU64,
    xruns: AtomicU64,
    stream_errors: AtomicU64,
    last_error: Mutex<Option<String>>,
    first_callback_us: AtomicU64,
    max_latency_us: AtomicU64,
    fifo_dropped: AtomicU64,
    format: Mutex<(u32, u16, String)>,
}

impl Shared {
    fn callback(&self, frames: u64, latency: Option<Duration>, since_start: Duration) {
        if self.callbacks.fetch_add(1, Ordering::Relaxed) == 0 {
            self.first_callback_us
                .store(since_start.as_micros() as u64 + 1, Ordering::Relaxed);
            self.min_frames.store(frames, Ordering::Relaxed);
        }
        self.device_frames.fetch_add(frames, Ordering::Relaxed);
        self.min_frames.fetch_min(frames, Ordering::Relaxed);
        self.max_frames.fetch_max(frames, Ordering::Relaxed);
        if let Some(l) = latency {
            self.max_latency_us
                .fetch_max(l.as_micros() as u64 + 1, Ordering::Relaxed);
        }
    }

    fn error(&self, e: &cpal::Error) {
        if e.kind() == cpal::ErrorKind::Xrun {
            self.xruns.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.stream_errors.fetch_add(1, Ordering::Relaxed);
        // The error callback is not the data callback; still, never wait for the lock.
        if let Ok(mut last) = self.last_error.try_lock() {
            *last = Some(e.to_string());
        }
    }

    /// The capture cannot go on (the conversion failed): counted and said, like a stream error.
    fn failed(&self, what: String) {
        self.stream_errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(what);
        }
    }

    /// Sends a chunk without blocking; counts it if the consumer is not keeping up.
    pub(crate) fn send(&self, tx: &Sender<Chunk>, chunk: Chunk) -> bool {
        let n = chunk.samples.len() as u64;
        match tx.try_send(chunk) {
            Ok(()) => {
                self.delivered.fetch_add(n, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Full(_)) => {
                self.dropped_chunks.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    fn stats(&self) -> CaptureStats {
        let fmt = self.format.lock().map(|f| f.clone()).unwrap_or_default();
        let opt = |v: u64| (v > 0).then(|| v - 1);
        CaptureStats {
            device_rate: fmt.0,
            device_channels: fmt.1,
            sample_format: fmt.2,
            callbacks: self.callbacks.load(Ordering::Relaxed),
            device_frames: self.device_frames.load(Ordering::Relaxed),
            min_callback_frames: self.min_frames.load(Ordering::Relaxed),
            max_callback_frames: self.max_frames.load(Ordering::Relaxed),
            delivered_samples: self.delivered.load(Ordering::Relaxed),
            dropped_device_samples: self.fifo_dropped.load(Ordering::Relaxed),
            dropped_chunks: self.dropped_chunks.load(Ordering::Relaxed),
            xruns: self.xruns.load(Ordering::Relaxed),
            stream_errors: self.stream_errors.load(Ordering::Relaxed),
            last_error: self.last_error.lock().ok().and_then(|l| l.clone()),
            first_callback_ms: opt(self.first_callback_us.load(Ordering::Relaxed))
                .map(|us| us / 1000),
            max_reported_latency_us: opt(self.max_latency_us.load(Ordering::Relaxed)),
        }
    }
}

/// A running source. Chunks arrive on [`Capture::chunks`]; stop it (or drop it) to end.
pub struct Capture {
    chunks: Receiver<Chunk>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    description: String,
}

impl Capture {
    pub(crate) fn new(
        chunks: Receiver<Chunk>,
        shared: Arc<Shared>,
        thread: JoinHandle<()>,
        description: String,
    ) -> Self {
        Capture {
            chunks,
            shared,
            thread: Some(thread),
            description,
        }
    }

    /// The 16 kHz mono chunks, in order.
    pub fn chunks(&self) -> &Receiver<Chunk> {
        &self.chunks
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    pub fn stats(&self) -> CaptureStats {
        self.shared.stats()
    }

    /// Stops the source and returns its final counters. Chunks already sent stay readable
    /// on a clone of [`Capture::chunks`].
    pub fn stop(mut self) -> CaptureStats {
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

impl Drop for Capture {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Options for [`MicSource`].
#[derive(Debug, Clone)]
pub struct MicOptions {
    /// Device name or id as `ringcoach devices` shows it; None = system default.
    pub device: Option<String>,
    /// How long `start` waits for the first callback before calling the device silent.
    pub first_callback_timeout: Duration,
    /// Ask the device for 16 kHz mono when it offers it (PulseAudio does), so no resampling
    /// happens here; otherwise its default format is converted.
    pub prefer_16k_mono: bool,
    /// Ask for callbacks of about this length (double-buffered), for a live meter that
    /// follows the voice; None, or a device that refuses, keeps the backend's default
    /// (through PulseAudio's ALSA plugin that can mean 0.7 s of buffering).
    pub period_ms: Option<u32>,
}

impl Default for MicOptions {
    fn default() -> Self {
        MicOptions {
            device: None,
            first_callback_timeout: Duration::from_secs(5),
            prefer_16k_mono: true,
            period_ms: Some(20),
        }
    }
}

/// The trainee's real microphone through cpal.
#[derive(Debug, Clone, Default)]
pub struct MicSource {
    pub options: MicOptions,
}

impl MicSource {
    pub fn new(options: MicOptions) -> Self {
        MicSource { options }
    }
}

impl AudioSource for MicSource {
    fn describe(&self) -> String {
        match &self.options.device {
            Some(d) => format!("microphone \"{d}\""),
            None => "default microphone".to_string(),
        }
    }

    fn start(&mut self) -> Result<Capture, AudioIoError> {
        let (tx, rx) = crossbeam_channel::bounded(CHANNEL_CHUNKS);
        let (ready_tx, ready_rx) = crossbeam_channel::bounded::<Result<String, AudioIoError>>(1);
        let shared = Arc::new(Shared::default());
        let options = self.options.clone();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("ringcoach-capture".into())
            .spawn(move || capture_thread(options, thread_shared, tx, ready_tx))
            .map_err(AudioIoError::Thread)?;
        let description = match ready_rx.recv() {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(AudioIoError::Thread(std::io::Error::other(
                    "capture thread ended before starting",
                )));
            }
        };
        let capture = Capture::new(rx, Arc::clone(&shared), thread, description.clone());
        // Wait for proof that audio flows: a device that opens but never calls back is the
        // classic "muted/absent microphone" and must not look like a silent trainee.
        let deadline = Instant::now() + self.options.first_callback_timeout;
        while shared.callbacks.load(Ordering::Relaxed) == 0 {
            if Instant::now() >= deadline {
                let waited_ms = self.options.first_callback_timeout.as_millis() as u64;
                drop(capture);
                return Err(AudioIoError::Silent {
                    device: description,
                    waited_ms,
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(capture)
    }
}

fn choose_config(
    device: &cpal::Device,
    prefer_16k_mono: bool,
) -> Result<cpal::SupportedStreamConfig, cpal::Error> {
    let default = device.default_input_config()?;
    if prefer_16k_mono {
        if let Ok(ranges) = device.supported_input_configs() {
            let mut candidates: Vec<_> = ranges
                .filter(|r| r.contains_rate(TARGET_RATE) && is_convertible(r.sample_format()))
                .collect();
            // Fewest channels first, then the device's own default format.
            candidates
                .sort_by_key(|r| (r.channels(), r.sample_format() != default.sample_format()));
            if let Some(r) = candidates.into_iter().next() {
                return Ok(r.with_sample_rate(TARGET_RATE));
            }
        }
    }
    Ok(default)
}

fn is_convertible(f: SampleFormat) -> bool {
    matches!(
        f,
        SampleFormat::I8
            | SampleFormat::I16
            | SampleFormat::I32
            | SampleFormat::U8
            | SampleFormat::U16
            | SampleFormat::U32
            | SampleFormat::F32
            | SampleFormat::F64
            | SampleFormat::I24
            | SampleFormat::U24
    )
}

fn capture_thread(
    options: MicOptions,
    shared: Arc<Shared>,
    tx: Sender<Chunk>,
    ready: Sender<Result<String, AudioIoError>>,
) {
    let opened = crate::audio::quiet::without_stderr(|| open_stream(&options, &shared));
    let (stream, fifo, rate, description) = match opened {
        Ok(v) => v,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let mut resampler = match Resampler::new(rate) {
        Ok(r) => Some(r),
        Err(e) => {
            let _ = ready.send(Err(AudioIoError::UnsupportedFormat {
                direction: Direction::Input,
                device: description,
                format: format!("{rate} Hz ({e})"),
            }));
            return;
        }
    };
    let _ = ready.send(Ok(description));
    let mut raw = Vec::with_capacity(fifo.capacity());
    let mut out = Vec::new();
    let mut next_sample = 0u64;
    let mut stream = Some(stream);
    loop {
        let stopping = shared.stop.load(Ordering::Relaxed);
        if stopping {
            // Close the stream first so no callback lands after the final drain below.
            drop(stream.take());
        }
        raw.clear();
        fifo.pop_into(&mut raw);
        shared.fifo_dropped.store(fifo.dropped(), Ordering::Relaxed);
        out.clear();
        let mut converted = match resampler.as_mut() {
            Some(r) => r.push(&raw, &mut out),
            None => Ok(()),
        };
        if stopping && converted.is_ok() {
            // The last samples the resampler still holds belong to the capture too.
            if let Some(r) = resampler.take() {
                converted = r.finish(&mut out);
            }
        }
        if let Err(e) = converted {
            shared.failed(e.to_string());
            break;
        }
        if !out.is_empty() {
            let chunk = Chunk {
                start_sample: next_sample,
                samples: std::mem::take(&mut out),
            };
            next_sample += chunk.samples.len() as u64;
            if !shared.send(&tx, chunk) {
                break;
            }
        }
        if stopping {
            break;
        }
        std::thread::park_timeout(DRAIN_EVERY);
    }
}

type Opened = (cpal::Stream, Arc<SampleFifo>, u32, String);

fn open_stream(options: &MicOptions, shared: &Arc<Shared>) -> Result<Opened, AudioIoError> {
    let device = devices::find(Direction::Input, options.device.as_deref())?;
    let name = devices::device_name(&device);
    let wanted_default = options
        .device
        .as_deref()
        .filter(|d| *d != "default")
        .is_none();
    let backend = |what: &'static str, cause: cpal::Error| {
        AudioIoError::backend(what, Direction::Input, &name, wanted_default, cause)
    };
    let supported = choose_config(&device, options.prefer_16k_mono)
        .map_err(|e| backend("read the input format", e))?;
    let format = supported.sample_format();
    let config = supported.config();
    let rate = config.sample_rate;
    // Two seconds of device audio: the capture thread drains every 10 ms, so only a stalled
    // machine fills it.
    let fifo = Arc::new(SampleFifo::with_capacity(rate as usize * 2));
    if let Ok(mut f) = shared.format.lock() {
        *f = (rate, config.channels, format.to_string());
    }
    let description = format!(
        "microphone \"{name}\" ({} ch, {} Hz, {})",
        config.channels, rate, format
    );
    let open = |config: &cpal::StreamConfig| {
        let t0 = Instant::now();
        match format {
            SampleFormat::I8 => build::<i8>(&device, config, &fifo, shared, t0),
            SampleFormat::I16 => build::<i16>(&device, config, &fifo, shared, t0),
            SampleFormat::I32 => build::<i32>(&device, config, &fifo, shared, t0),
            SampleFormat::U8 => build::<u8>(&device, config, &fifo, shared, t0),
            SampleFormat::U16 => build::<u16>(&device, config, &fifo, shared, t0),
            SampleFormat::U32 => build::<u32>(&device, config, &fifo, shared, t0),
            SampleFormat::F32 => build::<f32>(&device, config, &fifo, shared, t0),
            SampleFormat::F64 => build::<f64>(&device, config, &fifo, shared, t0),
            SampleFormat::I24 => build::<cpal::I24>(&device, config, &fifo, shared, t0),
            SampleFormat::U24 => build::<cpal::U24>(&device, config, &fifo, shared, t0),
            other => Err(cpal::Error::with_message(
                cpal::ErrorKind::UnsupportedConfig,
                format!("sample format {other}"),
            )),
        }
    };
    if !is_convertible(format) {
        return Err(AudioIoError::UnsupportedFormat {
            direction: Direction::Input,
            device: name,
            format: format.to_string(),
        });
    }
    let fixed = options.period_ms.and_then(|ms| {
        let frames = rate * ms / 1000;
        match supported.buffer_size() {
            cpal::SupportedBufferSize::Range { min, max } if (*min..=*max).contains(&frames) => {
                Some(cpal::StreamConfig {
                    buffer_size: cpal::BufferSize::Fixed(frames),
                    ..config
                })
            }
            _ => None,
        }
    });
    // A refused period size is not an error: fall back to the device's own buffering.
    let stream = match fixed.map(|c| open(&c)) {
        Some(Ok(stream)) => Ok(stream),
        _ => open(&config),
    }
    .map_err(|e| backend("open the input stream", e))?;
    stream
        .play()
        .map_err(|e| backend("start the input stream", e))?;
    shared.started.store(true, Ordering::Relaxed);
    Ok((stream, fifo, rate, description))
}

fn build<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    fifo: &Arc<SampleFifo>,
    shared: &Arc<Shared>,
    t0: Instant,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let scale = 1.0 / channels as f32;
    let fifo = Arc::clone(fifo);
    let data_shared = Arc::clone(shared);
    let err_shared = Arc::clone(shared);
    device.build_input_stream::<T, _, _>(
        *config,
        move |data: &[T], info: &cpal::InputCallbackInfo| {
            // Real-time context: arithmetic and atomics only.
            let frames = data.len() / channels;
            let ts = info.timestamp();
            let latency = ts.callback.checked_duration_since(ts.capture);
            data_shared.callback(frames as u64, latency, t0.elapsed());
            fifo.push_iter(
                data.chunks_exact(channels)
                    .map(|frame| frame.iter().map(|&s| s.to_sample::<f32>()).sum::<f32>() * scale),
            );
        },
        move |e| err_shared.error(&e),
        Some(Duration::from_secs(5)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_that_does_not_read_costs_counted_chunks_not_a_stall() {
        let shared = Shared::default();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let chunk = |start| Chunk {
            start_sample: start,
            samples: vec![0.0; 160],
        };
        assert!(shared.send(&tx, chunk(0)));
        assert!(shared.send(&tx, chunk(160)));
        let stats = shared.stats();
        assert_eq!((stats.delivered_samples, stats.dropped_chunks), (160, 1));
        assert_eq!(rx.recv().unwrap().start_sample, 0);
        drop(rx);
        assert!(
            !shared.send(&tx, chunk(320)),
            "a gone consumer stops the source"
        );
    }

    #[test]
    fn fifo_passes_samples_in_order_and_counts_overflow() {
        let fifo = SampleFifo::with_capacity(8);
        assert_eq!(fifo.push_iter((0..5).map(|i| i as f32)), 5);
        let mut out = Vec::new();
        assert_eq!(fifo.pop_into(&mut out), 5);
        assert_eq!(out, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        // Wraps around the end of the buffer, then overflows by 2.
        assert_eq!(fifo.push_iter((10..20).map(|i| i as f32)), 8);
        assert_eq!(fifo.dropped(), 2);
        out.clear();
        fifo.pop_into(&mut out);
        assert_eq!(out, (10..18).map(|i| i as f32).collect::<Vec<_>>());
    }

    #[test]
    fn fifo_across_threads_loses_nothing_when_drained() {
        let fifo = Arc::new(SampleFifo::with_capacity(1024));
        let producer = {
            let fifo = Arc::clone(&fifo);
            std::thread::spawn(move || {
                let mut next = 0u32;
                while next < 100_000 {
                    let end = (next + 64).min(100_000).min(next + fifo.free() as u32);
                    let n = fifo.push_iter((next..end).map(|i| i as f32));
                    next += n as u32;
                    if n == 0 {
                        std::thread::yield_now();
                    }
                }
            })
        };
        let mut got = Vec::new();
        while got.len() < 100_000 {
            if fifo.pop_into(&mut got) == 0 {
                std::thread::yield_now();
            }
        }
        producer.join().unwrap();
        assert!(got.iter().enumerate().all(|(i, &s)| s == i as f32));
        assert_eq!(fifo.dropped(), 0);
    }
}
