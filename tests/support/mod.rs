//! Helpers shared by the audio device tests: composed speech from the shared real voices,
//! and the gate that decides whether the virtual-device tests must run.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod chromium;
pub mod speech;
pub mod tmux;

/// The test voices: `RINGCOACH_SHARED_AUDIO`, else `../shared/audio` beside the repository
/// (where CI lays shared/).
pub fn shared_audio() -> PathBuf {
    let p = std::env::var_os("RINGCOACH_SHARED_AUDIO")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/audio"));
    assert!(
        p.join("compose.py").is_file(),
        "test voices not found at {}: lay shared/ beside the clone or set RINGCOACH_SHARED_AUDIO",
        p.display()
    );
    p
}

/// Speaks `text` in real Mandarin voices into `out` (16 kHz mono 16-bit), with extra
/// compose.py options (`--speed`, `--snr-db`, ...).
pub fn compose(text: &str, out: &Path, extra: &[&str]) {
    let script = shared_audio().join("compose.py");
    let status = Command::new("python3")
        .arg(&script)
        .arg(text)
        .arg(out)
        .args(extra)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run python3 {}: {e}", script.display()));
    assert!(
        status.success(),
        "compose.py failed ({status}) for {text:?}"
    );
}

/// Reads a 16-bit or float WAV as f32 samples (mono files only, as compose.py writes).
pub fn read_mono(path: &Path) -> (Vec<f32>, u32) {
    let mut r = hound::WavReader::open(path).expect("readable WAV");
    let spec = r.spec();
    assert_eq!(spec.channels, 1, "{} is not mono", path.display());
    let s = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>()
                .map(|v| v.unwrap() as f32 * scale)
                .collect()
        }
    };
    (s, spec.sample_rate)
}

pub fn write_wav(path: &Path, samples: &[f32], rate: u32, channels: u16) {
    write_wav_as(path, samples, rate, channels, hound::SampleFormat::Int);
}

/// Writes interleaved 32-bit float samples: the format sound editors export.
pub fn write_wav_f32(path: &Path, interleaved: &[f32], rate: u32, channels: u16) {
    write_wav_as(
        path,
        interleaved,
        rate,
        channels,
        hound::SampleFormat::Float,
    );
}

fn write_wav_as(
    path: &Path,
    samples: &[f32],
    rate: u32,
    channels: u16,
    format: hound::SampleFormat,
) {
    let float = format == hound::SampleFormat::Float;
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: if float { 32 } else { 16 },
        sample_format: format,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create WAV");
    for &s in samples {
        if float {
            w.write_sample(s)
        } else {
            w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)
        }
        .expect("write sample");
    }
    w.finalize().expect("finalize WAV");
}

/// Whether the tests that need a (virtual) sound device should run. Under
/// `scripts/with-virtual-audio` they always run and any failure is a failure. Elsewhere they
/// are skipped only with RINGCOACH_NO_AUDIO_TESTS=1; otherwise the test fails, saying how
/// to run it, rather than passing without having tested anything.
pub fn virtual_audio_or_skip(test: &str) -> bool {
    if std::env::var_os("RINGCOACH_VIRTUAL_AUDIO").is_some_and(|v| v == "1") {
        return true;
    }
    if std::env::var_os("RINGCOACH_NO_AUDIO_TESTS").is_some_and(|v| v == "1") {
        eprintln!("SKIPPED {test}: RINGCOACH_NO_AUDIO_TESTS=1 (run under scripts/with-virtual-audio to test the real device path)");
        return false;
    }
    panic!(
        "{test} needs a virtual sound device: run `scripts/with-virtual-audio cargo test --test audio_devices`, \
         or set RINGCOACH_NO_AUDIO_TESTS=1 to skip it knowingly"
    );
}
