//! Helpers shared by the transcription tests: where the real model and the real voices
//! are, composing spoken lines at test time, and generated non-speech.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use ringcoach::transcribe::{WhisperConfig, WhisperTranscriber};

/// The Whisper model: env RINGCOACH_MODEL, else the cache (RINGCOACH_MODEL_DIR or
/// ~/.local/share/ringcoach/models). Missing → the test fails and says how to fix it.
pub fn test_model() -> PathBuf {
    let p = std::env::var_os("RINGCOACH_MODEL")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| model_dir().join("ggml-base.bin"));
    assert!(
        p.is_file(),
        "Whisper model not found at {}: run `ringcoach models fetch` (or set RINGCOACH_MODEL) before the tests",
        p.display()
    );
    p
}

/// The Silero VAD model: env RINGCOACH_VAD_MODEL, else beside the Whisper model.
pub fn test_vad_model() -> PathBuf {
    let p = std::env::var_os("RINGCOACH_VAD_MODEL")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| test_model().parent().unwrap().join("ggml-silero-vad.bin"));
    assert!(
        p.is_file(),
        "VAD model not found at {}: run `ringcoach models fetch` (or set RINGCOACH_VAD_MODEL) before the tests",
        p.display()
    );
    p
}

/// The model cache the tests use (where `ringcoach models fetch` puts the models).
pub fn model_dir() -> PathBuf {
    std::env::var_os("RINGCOACH_MODEL_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            dirs::data_dir()
                .expect("no data dir: set RINGCOACH_MODEL")
                .join("ringcoach/models")
        })
}

/// Speaks `line` in the real recorded voices into `dir/name` and returns the path.
pub fn compose(dir: &Path, name: &str, line: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    super::compose(line, &out, extra);
    out
}

/// Whisper runs one at a time: parallel tests would each start 2 threads per core and
/// starve each other.
pub fn model_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The product's default configuration on the test model. RINGCOACH_THREADS overrides
/// the thread count (useful only on a shared, oversubscribed machine).
pub fn config() -> WhisperConfig {
    let mut cfg = WhisperConfig::new(test_model(), Some(test_vad_model()));
    // Results must not depend on how busy the machine is: the wall-clock limit is tested
    // on its own (with a zero budget); everywhere else it is out of the way.
    cfg.time_base = std::time::Duration::from_secs(600);
    if let Some(n) = std::env::var("RINGCOACH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        cfg.threads = ringcoach::transcribe::Threads::Fixed(n);
    }
    cfg
}

pub fn transcriber() -> WhisperTranscriber {
    WhisperTranscriber::new(config()).expect("the test model loads")
}

/// Deterministic pseudo-random numbers in -1..1 (no dependency, reproducible clips).
pub struct Lcg(pub u64);
impl Lcg {
    pub fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

pub const RATE: usize = 16_000;

pub fn silence(secs: f32) -> Vec<f32> {
    vec![0.0; (RATE as f32 * secs) as usize]
}

pub fn white_noise(secs: f32, amp: f32, seed: u64) -> Vec<f32> {
    let mut r = Lcg(seed);
    (0..(RATE as f32 * secs) as usize)
        .map(|_| r.next() * amp)
        .collect()
}

/// Pink noise (Paul Kellet's filter over white noise), scaled to `amp` peak-ish.
pub fn pink_noise(secs: f32, amp: f32, seed: u64) -> Vec<f32> {
    let mut r = Lcg(seed);
    let mut b = [0.0f32; 7];
    (0..(RATE as f32 * secs) as usize)
        .map(|_| {
            let w = r.next();
            b[0] = 0.99886 * b[0] + w * 0.0555179;
            b[1] = 0.99332 * b[1] + w * 0.0750759;
            b[2] = 0.96900 * b[2] + w * 0.153_852;
            b[3] = 0.86650 * b[3] + w * 0.3104856;
            b[4] = 0.55000 * b[4] + w * 0.5329522;
            b[5] = -0.7616 * b[5] - w * 0.0168980;
            let p = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362;
            b[6] = w * 0.115926;
            p * 0.11 * amp
        })
        .collect()
}

/// Mains hum: 50 Hz with a few harmonics, as a cheap headset picks it up.
pub fn hum(secs: f32, amp: f32) -> Vec<f32> {
    (0..(RATE as f32 * secs) as usize)
        .map(|i| {
            let t = i as f32 / RATE as f32;
            let w = 2.0 * std::f32::consts::PI * 50.0 * t;
            amp * (w.sin() + 0.5 * (3.0 * w).sin() + 0.25 * (5.0 * w).sin()) / 1.75
        })
        .collect()
}

/// Politeness and greeting words that silence must never produce.
pub const ETIQUETTE: &[&str] = &[
    "您好",
    "你好",
    "请",
    "谢谢",
    "再见",
    "对不起",
    "有什么可以帮您",
    "帮您",
    "欢迎",
];

/// Character error rate: edit distance over characters, punctuation and spaces ignored.
pub fn cer(reference: &str, hypothesis: &str) -> f64 {
    let keep = |s: &str| -> Vec<char> { s.chars().filter(|c| c.is_alphanumeric()).collect() };
    let (r, h) = (keep(reference), keep(hypothesis));
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rc) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hc) in h.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(rc != hc))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[h.len()] as f64 / r.len().max(1) as f64
}

/// The reference transcripts of ../shared/audio/real, read from its README table.
pub fn real_references() -> Vec<(PathBuf, String)> {
    let dir = super::shared_audio().join("real");
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("real/README.md");
    readme
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('|').map(str::trim).collect();
            (cols.len() > 3 && cols[1].ends_with(".wav"))
                .then(|| (dir.join(cols[1]), cols[2].to_string()))
        })
        .collect()
}

/// A model answer's line as the voices can speak it: the voice bank has no digits or
/// signs, so 15日 and 0.1% are said in words, as a person reads them.
pub fn speakable(line: &str) -> String {
    line.replace("0.1%", "百分之零点一")
        .replace("15日", "十五日")
        .replace(['《', '》'], "")
}

/// One call heard the way the product hears it: each turn's WAV transcribed, the
/// grader's questions about it scored at once (while the model holds its audio), then the
/// call graded with the answers.
pub fn hear_call(
    t: &mut WhisperTranscriber,
    sc: &ringcoach::scenario::Scenario,
    catalog: &ringcoach::scenario::Catalog,
    org: &ringcoach::grading::Org,
    wavs: &[PathBuf],
    pickup: ringcoach::grading::Pickup,
) -> ringcoach::grading::Report {
    try_hear_call(t, sc, catalog, org, wavs, pickup).unwrap_or_else(|e| panic!("{e}"))
}

/// [`hear_call`], a turn the transcriber refused (cut off) being the error.
pub fn try_hear_call(
    t: &mut WhisperTranscriber,
    sc: &ringcoach::scenario::Scenario,
    catalog: &ringcoach::scenario::Catalog,
    org: &ringcoach::grading::Org,
    wavs: &[PathBuf],
    pickup: ringcoach::grading::Pickup,
) -> Result<ringcoach::grading::Report, String> {
    use ringcoach::grading::{questions, Call, Heard};
    use ringcoach::transcribe::clip::hear_file_asking;
    let mut turns: Vec<Heard> = Vec::new();
    for wav in wavs {
        let turn = turns.len();
        let ask = |heard: &ringcoach::transcribe::Transcript| {
            questions(
                sc,
                &catalog.phrasebook,
                org,
                &turns,
                turn,
                wavs.len(),
                heard,
            )
        };
        let heard = hear_file_asking(t, wav, std::time::Duration::from_secs(600), &ask)
            .map_err(|e| format!("{}: {e}", wav.display()))?;
        turns.push(Heard {
            transcript: heard.transcript,
            facts: Some(heard.facts),
            readings: heard.readings,
        });
    }
    Ok(Call {
        turns,
        pickup,
        org: org.clone(),
    }
    .grade(sc, &catalog.phrasebook))
}
