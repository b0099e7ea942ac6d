//! Cost of the audio I/O parts (run: `cargo bench --bench audio_io`; with
//! `scripts/with-virtual-audio` it also measures the real capture path). Prints numbers to
//! write down with the machine; asserts nothing.
//!
//! - converting a 48 kHz stereo WAV to 16 kHz mono (every file and the capture thread use the
//!   same resampler)
//! - the end-of-speech detector and the level meter over a minute of audio
//! - CPU used while ringing into the null sink and while a file source plays (idle cost)
//! - with a virtual device: first-callback delay, callback sizes, backend latency

use std::time::{Duration, Instant};

use ringcoach::audio::capture::{AudioSource, MicOptions, MicSource};
use ringcoach::audio::file_source::FileSource;
use ringcoach::audio::level::{level, DetectorConfig, SpeechDetector};
use ringcoach::audio::playback::NullSink;
use ringcoach::audio::ring::RingCadence;
use ringcoach::audio::ringer::Ringer;
use ringcoach::audio::wav;

/// User + system CPU time of this process, from /proc (Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime), in clock ticks of 10 ms; `after` starts at field 3.
    let field = |n: usize| {
        f.get(n - 3)
            .and_then(|x| x.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let ticks = field(14) + field(15);
    Duration::from_millis(ticks * 10)
}

fn cpu_while(label: &str, wall: Duration, f: impl FnOnce(Duration)) {
    let c0 = cpu_time();
    let t0 = Instant::now();
    f(wall);
    let (cpu, elapsed) = (cpu_time() - c0, t0.elapsed());
    println!(
        "{label}: {:.1} % of one core ({} ms CPU in {} ms)",
        100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64(),
        cpu.as_millis(),
        elapsed.as_millis()
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seconds = 60usize;
    let wav = dir.path().join("tone48k.wav");
    {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&wav, spec).expect("create");
        for i in 0..48_000 * seconds {
            let s = (0.3
                * (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 48_000.0).sin()
                * 32767.0) as i16;
            w.write_sample(s).expect("write");
            w.write_sample(s).expect("write");
        }
        w.finalize().expect("finalize");
    }
    let t = Instant::now();
    let samples = wav::read_wav_16k(&wav, wav::DEFAULT_MAX_DURATION).expect("convert");
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "read + convert {seconds} s of 48 kHz stereo to 16 kHz mono: {ms:.0} ms ({:.0}× real time)",
        seconds as f64 * 1000.0 / ms
    );

    let t = Instant::now();
    let mut det = SpeechDetector::new(DetectorConfig::default());
    let mut events = 0;
    for c in samples.chunks(320) {
        events += det.push(c).len();
        std::hint::black_box(level(c));
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    println!("detector + meter over {seconds} s in 20 ms chunks: {ms:.1} ms ({events} events)");

    cpu_while(
        "ringing into the null sink",
        Duration::from_secs(5),
        |wall| {
            let r = Ringer::start(&NullSink, RingCadence::MAINLAND_CHINA).expect("null sink");
            std::thread::sleep(wall);
            r.pick_up();
        },
    );
    let short = dir.path().join("short.wav");
    {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&short, spec).expect("create");
        for _ in 0..16_000 {
            w.write_sample(0i16).expect("write");
        }
        w.finalize().expect("finalize");
    }
    cpu_while(
        "file source delivering 20 ms chunks",
        Duration::from_secs(5),
        |wall| {
            let mut src = FileSource::open(&short).expect("file");
            let cap = src.start().expect("start");
            let end = Instant::now() + wall;
            while Instant::now() < end {
                let _ = cap.chunks().recv_timeout(Duration::from_millis(100));
            }
            cap.stop();
        },
    );

    if std::env::var_os("RINGCOACH_VIRTUAL_AUDIO").is_some() {
        for (label, prefer) in [("16 kHz mono", true), ("device default", false)] {
            let mut mic = MicSource::new(MicOptions {
                prefer_16k_mono: prefer,
                ..MicOptions::default()
            });
            let t = Instant::now();
            let cap = match mic.start() {
                Ok(c) => c,
                Err(e) => {
                    println!("capture ({label}): {e}");
                    continue;
                }
            };
            let opened = t.elapsed();
            let mut got = 0usize;
            let mut chunks = 0usize;
            let c0 = cpu_time();
            let t1 = Instant::now();
            while t1.elapsed() < Duration::from_secs(5) {
                if let Ok(c) = cap.chunks().recv_timeout(Duration::from_millis(100)) {
                    got += c.samples.len();
                    chunks += 1;
                }
            }
            let cpu = cpu_time() - c0;
            let s = cap.stop();
            println!(
                "capture ({label}): start {} ms; {} Hz {} ch {}; callbacks of {}–{} frames; backend latency ≤ {:.1} ms; {chunks} chunks averaging {} samples; {:.1} % CPU; dropped {}/{}; xruns {}",
                opened.as_millis(), s.device_rate, s.device_channels, s.sample_format, s.min_callback_frames, s.max_callback_frames,
                s.max_reported_latency_us.unwrap_or(0) as f64 / 1000.0, got / chunks.max(1),
                100.0 * cpu.as_secs_f64() / t1.elapsed().as_secs_f64(), s.dropped_device_samples, s.dropped_chunks, s.xruns
            );
        }
    } else {
        println!("(run under scripts/with-virtual-audio to measure the capture path)");
    }
}
