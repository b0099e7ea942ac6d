//! The real cpal path against a virtual device: run under `scripts/with-virtual-audio`
//! (a private PulseAudio whose default source is the monitor of null sink `vmic_sink` and
//! whose default sink is the null `speaker_sink`). A WAV "spoken" into vmic_sink with paplay
//! must come back through cpal's default input as the same audio; what ringcoach plays
//! through cpal's default output must be heard on speaker_sink's monitor.
//!
//! The tests share one microphone, so they take turns (DEVICE lock).

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ringcoach::audio::capture::{AudioSource, CaptureStats, MicOptions, MicSource};
use ringcoach::audio::devices::{self, AudioIoError, Direction};
use ringcoach::audio::level::level;
use ringcoach::audio::playback::{AudioSink, Clip, DeviceSink, NullSink};
use ringcoach::audio::ring::RingCadence;
use ringcoach::audio::ringer::Ringer;

static DEVICE: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    DEVICE.lock().unwrap_or_else(|p| p.into_inner())
}

fn sink_name(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is set by scripts/with-virtual-audio"))
}

/// Plays `wav` into the virtual microphone and waits until paplay is done.
fn speak_into_mic(wav: &Path) {
    let status = Command::new("paplay")
        .arg("-d")
        .arg(sink_name("RINGCOACH_VMIC_SINK"))
        .arg(wav)
        .status()
        .expect("paplay runs");
    assert!(status.success(), "paplay failed: {status}");
}

/// 10 ms RMS envelope.
fn envelope(s: &[f32]) -> Vec<f32> {
    s.chunks(160)
        .map(|c| (c.iter().map(|x| x * x).sum::<f32>() / c.len() as f32).sqrt())
        .collect()
}

fn ncc(a: &[f32], b: &[f32]) -> f32 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na * nb)) as f32
}

/// Where `reference` sits in `captured`: coarse on the 10 ms envelope, then sample-exact
/// within ±15 ms. Returns (offset in samples, normalised correlation there).
fn align(captured: &[f32], reference: &[f32]) -> (usize, f32) {
    assert!(
        captured.len() > reference.len(),
        "captured {} samples, file has {}",
        captured.len(),
        reference.len()
    );
    let (ec, er) = (envelope(captured), envelope(reference));
    let coarse = (0..=ec.len() - er.len())
        .max_by(|&a, &b| ncc(&ec[a..a + er.len()], &er).total_cmp(&ncc(&ec[b..b + er.len()], &er)))
        .unwrap();
    let lo = (coarse * 160).saturating_sub(240);
    let hi = (coarse * 160 + 240).min(captured.len() - reference.len());
    (lo..=hi)
        .map(|off| (off, ncc(&captured[off..off + reference.len()], reference)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap()
}

struct Captured {
    samples: Vec<f32>,
    stats: CaptureStats,
    /// From the first callback to paplay's start, in ms, measured on the wall clock.
    paplay_started_ms: f64,
}

fn capture_while_speaking(options: MicOptions, wav: &Path) -> Captured {
    let mut mic = MicSource::new(options);
    // `start` returns after the first callback: audio demonstrably flows.
    let cap = mic.start().expect("the virtual microphone opens");
    let started = Instant::now();
    let first_cb_ms = cap.stats().first_callback_ms.unwrap_or(0);
    std::thread::sleep(Duration::from_millis(300));
    let paplay_started_ms = started.elapsed().as_secs_f64() * 1000.0;
    speak_into_mic(wav);
    std::thread::sleep(Duration::from_millis(700));
    let rx = cap.chunks().clone();
    let stats = cap.stop();
    let mut samples = Vec::new();
    let mut next = 0u64;
    for chunk in rx.try_iter() {
        assert_eq!(chunk.start_sample, next, "chunks are contiguous");
        next += chunk.samples.len() as u64;
        samples.extend(chunk.samples);
    }
    eprintln!("first callback {first_cb_ms} ms after start; stats {stats:?}");
    Captured {
        samples,
        stats,
        paplay_started_ms,
    }
}

fn check_capture(options: MicOptions, label: &str) {
    if !support::virtual_audio_or_skip(label) {
        return;
    }
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("answer.wav");
    support::compose("您好,广利物业,请问有什么可以帮您?", &wav, &[]);
    let (reference, rate) = support::read_mono(&wav);
    assert_eq!(rate, 16_000);
    let got = capture_while_speaking(options, &wav);
    let (offset, corr) = align(&got.samples, &reference);
    let offset_ms = offset as f64 / 16.0;
    eprintln!(
        "{label}: captured {} samples; file found at {offset_ms:.1} ms (paplay started at {:.1} ms: \
         {:.1} ms from paplay start to the device); correlation {corr:.4}",
        got.samples.len(),
        got.paplay_started_ms,
        offset_ms - got.paplay_started_ms
    );
    // The same audio: waveform correlation near 1 (16-bit quantisation, and for the
    // converting path two resamplers, cost a little).
    assert!(corr > 0.95, "{label}: correlation {corr}");
    // ... at the same level.
    let seg = &got.samples[offset..offset + reference.len()];
    let (lc, lr) = (level(seg).rms_dbfs, level(&reference).rms_dbfs);
    assert!(
        (lc - lr).abs() < 1.0,
        "{label}: level {lc} dBFS captured vs {lr} dBFS in the file"
    );
    // Before the file: the silent monitor.
    assert!(
        level(&got.samples[..offset.saturating_sub(800)]).peak_dbfs < -60.0,
        "{label}: noise before the file"
    );
    // Nothing lost on the way.
    let s = &got.stats;
    assert!(s.callbacks > 10, "{label}: {s:?}");
    assert_eq!(s.dropped_device_samples, 0, "{label}: {s:?}");
    assert_eq!(s.dropped_chunks, 0, "{label}: {s:?}");
    assert_eq!(s.stream_errors, 0, "{label}: {s:?}");
    assert_eq!(s.delivered_samples as usize, got.samples.len());
    // Device frames and delivered 16 kHz samples agree (allowing the resampler's held-back tail).
    let expected = s.device_frames as f64 * 16_000.0 / f64::from(s.device_rate);
    assert!(
        (expected - got.samples.len() as f64).abs() < 0.02 * 16_000.0,
        "{label}: {expected} vs {}",
        got.samples.len()
    );
}

#[test]
fn capture_16k_mono_through_the_default_input_matches_the_file() {
    check_capture(MicOptions::default(), "16 kHz mono capture");
}

#[test]
fn capture_48k_stereo_is_converted_and_matches_the_file() {
    let options = MicOptions {
        prefer_16k_mono: false,
        ..MicOptions::default()
    };
    check_capture(options, "device-default (converting) capture");
}

#[test]
fn an_unknown_input_device_is_named_in_the_error() {
    if !support::virtual_audio_or_skip("an_unknown_input_device_is_named_in_the_error") {
        return;
    }
    let _guard = lock();
    let mut mic = MicSource::new(MicOptions {
        device: Some("no such microphone 42".into()),
        ..MicOptions::default()
    });
    let err = mic.start().err().expect("must fail");
    assert!(
        matches!(
            err,
            AudioIoError::DeviceNotFound {
                direction: Direction::Input,
                ..
            }
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("no such microphone 42") && text.contains("ringcoach devices"),
        "{text}"
    );
}

#[test]
fn devices_lists_the_virtual_defaults() {
    if !support::virtual_audio_or_skip("devices_lists_the_virtual_defaults") {
        return;
    }
    let list = devices::list(false);
    assert_eq!(list.inputs.len(), 1, "{list:?}");
    assert!(
        list.inputs[0].is_default && list.inputs[0].usable(),
        "{list:?}"
    );
    assert!(
        list.outputs[0].is_default && list.outputs[0].usable(),
        "{list:?}"
    );
}

/// Records what the virtual speakers play, as 16 kHz mono s16.
struct SpeakerRecorder {
    child: Child,
    path: std::path::PathBuf,
}

impl SpeakerRecorder {
    fn start(dir: &Path) -> SpeakerRecorder {
        let path = dir.join("speaker.raw");
        let child = Command::new("parec")
            .arg("-d")
            .arg(format!("{}.monitor", sink_name("RINGCOACH_SPEAKER_SINK")))
            .args([
                "--raw",
                "--format=s16le",
                "--rate=16000",
                "--channels=1",
                "--latency-msec=20",
            ])
            .arg(&path)
            .stdout(Stdio::null())
            .spawn()
            .expect("parec runs");
        // parec needs a moment to connect before anything is played.
        std::thread::sleep(Duration::from_millis(500));
        SpeakerRecorder { child, path }
    }

    fn stop(mut self) -> Vec<f32> {
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.child.kill();
        let _ = self.child.wait();
        let bytes = std::fs::read(&self.path).expect("parec wrote its file");
        bytes
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect()
    }
}

#[test]
fn the_ring_is_heard_on_the_default_output_with_its_cadence() {
    if !support::virtual_audio_or_skip("the_ring_is_heard_on_the_default_output_with_its_cadence") {
        return;
    }
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let rec = SpeakerRecorder::start(dir.path());
    // A quick cadence so the test hears several rings: 300 ms on, 200 ms off.
    let cadence = RingCadence {
        on_ms: 300,
        off_ms: 200,
        ..RingCadence::MAINLAND_CHINA
    };
    let ringer = Ringer::start(&DeviceSink::default(), cadence).expect("default output opens");
    std::thread::sleep(Duration::from_millis(2_100));
    let status = ringer.status();
    let stats = ringer.playback_stats();
    let pickup = ringer.pick_up();
    let heard = rec.stop();
    eprintln!("ring: {pickup:?}, status {status:?}, playback {stats:?}");
    // Picked up 2.1 s in (or a little later on a busy machine): ring 5 at least.
    assert!(pickup.rings >= 5, "{pickup:?}");
    assert_eq!(pickup.rings, cadence.rings_at_pickup(pickup.pickup_ms));
    assert!(stats.callbacks > 0, "{stats:?}");

    // What the speakers got, in 10 ms frames: tone or silence. The monitor of an idle null
    // sink records nothing, and the first/last bursts are cut by the recording and the
    // pickup, so only the bursts in between are measured. Their length is set by the
    // samples (exact); the pauses can only grow if a loaded machine under-runs.
    let frames: Vec<bool> = heard
        .chunks(160)
        .map(|f| level(f).rms_dbfs > -30.0)
        .collect();
    // A burst: tone frames with gaps under 100 ms (an under-run may punch a short hole in a
    // burst; the cadence's 200 ms pause separates bursts). (first frame, last frame, tone frames)
    let mut bursts: Vec<(usize, usize, usize)> = Vec::new();
    for (i, _) in frames.iter().enumerate().filter(|(_, &t)| t) {
        match bursts.last_mut() {
            Some((_, end, n)) if i < *end + 10 => {
                *end = i;
                *n += 1;
            }
            _ => bursts.push((i, i, 1)),
        }
    }
    eprintln!("bursts (10 ms frames: first, last, tone frames): {bursts:?}");
    assert!(
        bursts.len() >= 3,
        "want 3 or more bursts on the speaker sink: {bursts:?}"
    );
    for w in bursts.windows(2) {
        let gap = w[1].0 - w[0].1 - 1;
        assert!(
            gap >= 18,
            "pause {gap}0 ms between bursts, want ≥ 200 ms: {bursts:?}"
        );
    }
    for &(start, end, tone_frames) in &bursts[1..bursts.len() - 1] {
        // Each burst carries 300 ms of tone (set by the samples, not the clock).
        assert!(
            tone_frames.abs_diff(30) <= 2,
            "burst with {tone_frames}0 ms of tone, want 300 ms: {bursts:?}"
        );
        // The tone is 450 Hz: zero crossings inside the burst's steady tone frames.
        let steady: Vec<&[f32]> = (start + 2..end - 1)
            .filter(|&f| frames[f])
            .map(|f| &heard[f * 160..(f + 1) * 160])
            .collect();
        let crossings: usize = steady
            .iter()
            .map(|fr| {
                fr.windows(2)
                    .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
                    .count()
            })
            .sum();
        let hz = crossings as f64 / 2.0 / (steady.len() as f64 * 0.01);
        assert!((hz - 450.0).abs() < 15.0, "tone at {hz:.1} Hz");
    }
}

#[test]
fn a_clip_plays_to_its_end_on_the_default_output() {
    if !support::virtual_audio_or_skip("a_clip_plays_to_its_end_on_the_default_output") {
        return;
    }
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("caller.wav");
    support::compose("喂,你好", &wav, &[]);
    let clip = Clip::from_wav(&wav).unwrap();
    let ms = clip.duration_ms();
    let rec = SpeakerRecorder::start(dir.path());
    let playback = DeviceSink::default()
        .play(Box::new(clip))
        .expect("default output opens");
    assert!(
        playback.wait(Duration::from_millis(ms + 5_000)),
        "the clip never finished"
    );
    let stats = playback.stop();
    let heard = rec.stop();
    let (reference, _) = support::read_mono(&wav);
    // The monitor of an idle null sink starts recording only once the sink runs, so the
    // clip's leading silence may be missing: align on the voiced part.
    let voiced: Vec<usize> = reference
        .chunks(160)
        .enumerate()
        .filter(|(_, c)| level(c).rms_dbfs > -50.0)
        .map(|(i, _)| i)
        .collect();
    let reference = &reference[voiced[0] * 160..(voiced[voiced.len() - 1] + 1) * 160];
    let (_, corr) = align(&heard, reference);
    eprintln!("clip {ms} ms: playback {stats:?}, correlation with the file {corr:.4}");
    assert!(corr > 0.9, "what the speakers got is not the clip: {corr}");
    assert!(stats.frames as f64 >= ms as f64 * f64::from(stats.rate) / 1000.0);
}

#[test]
fn the_null_sink_keeps_time_and_the_ring_counts() {
    // No device involved, but it is the `--output null` twin of the test above.
    let ringer = Ringer::start(
        &NullSink,
        RingCadence {
            on_ms: 100,
            off_ms: 100,
            ..RingCadence::MAINLAND_CHINA
        },
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(450));
    let pickup = ringer.pick_up();
    assert!(pickup.pickup_ms >= 450 && pickup.rings >= 3, "{pickup:?}");
    let clip = Clip::new(vec![0.1; 16_000 / 5], 16_000);
    let t0 = Instant::now();
    let p = NullSink.play(Box::new(clip)).unwrap();
    assert!(p.wait(Duration::from_secs(10)));
    // Paced: a 200 ms clip cannot finish before 200 ms have passed.
    assert!(t0.elapsed() >= Duration::from_millis(200));
    assert_eq!(p.played_ms(), 200);
}

#[test]
fn devices_listen_hears_the_virtual_microphone() {
    if !support::virtual_audio_or_skip("devices_listen_hears_the_virtual_microphone") {
        return;
    }
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("answer.wav");
    support::compose("您好,请讲", &wav, &[]);
    let child = Command::new(env!("CARGO_BIN_EXE_ringcoach"))
        .args(["devices", "--listen", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `--listen` prints its first line once audio flows; speaking a little later is enough.
    std::thread::sleep(Duration::from_millis(2_500));
    speak_into_mic(&wav);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "{}",
        stdout
            .lines()
            .filter(|l| !l.contains(" s  "))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("speech ended at"), "{stdout}");
    assert!(stdout.contains("dropped 0 samples, 0 chunks"), "{stdout}");
}
