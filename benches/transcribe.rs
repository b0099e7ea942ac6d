//! How long the trainee waits: for composed 3 s, 8 s and 20 s replies, the time from the
//! end of the audio to the transcript (VAD + signal facts + Whisper, model already
//! loaded), the real-time factor and peak RSS, for the fitted and the full encoder window;
//! and faster-whisper (CTranslate2, int8, same weights, same threads) on the same files in
//! the same run as the reference.
//!
//! `cargo bench --bench transcribe`. Needs the model (as the tests do), the voices in
//! ../shared/audio, and for the reference RINGCOACH_FW_PYTHON (a Python with
//! faster-whisper) and RINGCOACH_CT2_DIR (the joined CTranslate2 model directory).
//! Each configuration runs in a child process so its peak RSS is its own.
//!
//! Measured 2026-11-27 on a 2 vCPU Debian VM (Intel Xeon, AVX-512), release build, base
//! model f16, load average ≈ 1.9 from other jobs (so times are pessimistic and noisy):
//!
//! | engine (threads)        | 3.5 s reply | 8.4 s reply | 21.8 s reply | peak RSS  |
//! | ----------------------- | ----------- | ----------- | ------------ | --------- |
//! | whisper-rs fitted (2)   | 0.46 s      | 0.84 s      | 2.20 s       | 217–304 MB |
//! | whisper-rs full (2)     | 2.60 s      | 2.75 s      | 3.17 s       | 335–340 MB |
//! | whisper-rs fitted (1)   | 0.79 s      | 1.54 s      | 5.31 s       | 216–303 MB |
//! | faster-whisper int8 (2) | 1.37 s      | 1.58 s      | 1.97 s       | 355 MB    |
//!
//! Same text from fitted and full on all three; CER against the composed line 0 / 6.7 /
//! 9.3 % (faster-whisper 0 / 6.7 / 4.7 %). At load average 3–4 the two-thread times
//! swing 2–7× (ggml's spinning barriers); one thread is then the faster choice.

mod bench_support;
use bench_support::machine;

#[path = "../tests/support/mod.rs"]
mod test_support;
use test_support::speech as support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ringcoach::audio::wav;
use ringcoach::transcribe::clip;
use ringcoach::transcribe::{AudioContext, WhisperTranscriber};

const RUNS: usize = 3;

/// Composed with the recorded voices; their real lengths (≈ 3.5, 8.4 and 21.8 s) are printed.
const REPLIES: [(&str, &str, &[&str]); 3] = [
    ("3s", "您好,请讲。", &["--lead-ms", "0", "--tail-ms", "200"]),
    ("8s", "您好,广利物业,请问有什么可以帮您?", &["--lead-ms", "300"]),
    (
        "20s",
        "您好,广利物业,请问有什么可以帮您?对不起,让您久等了。我们马上安排维修师傅上门。谢谢您的来电,再见。",
        &["--lead-ms", "300"],
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1], &args[i + 2..]);
        return;
    }
    // cargo bench passes --bench; anything else is ignored.
    parent();
}

fn parent() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, line, extra) in REPLIES {
        let p = support::compose(dir.path(), &format!("{name}.wav"), line, extra);
        files.push((name, line, p));
    }
    let threads = std::env::var("RINGCOACH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    println!("machine: {}", machine());
    println!("threads: {threads}; each time is the median of {RUNS} runs after one warm-up\n");

    let paths: Vec<String> = files.iter().map(|f| f.2.display().to_string()).collect();
    let exe = std::env::current_exe().unwrap();
    let mut rows: Vec<Row> = Vec::new();
    // One thread as well: on a machine shared with other work, ggml's spinning thread
    // barriers can make two threads slower than one, and the table should show it.
    let mut configs = vec![("fitted", threads), ("full", threads)];
    if threads > 1 {
        configs.push(("fitted", 1));
    }
    for (cfg, n) in configs {
        let out = Command::new(&exe)
            .arg("--child")
            .arg(cfg)
            .args(&paths)
            .env("RINGCOACH_THREADS", n.to_string())
            .output()
            .unwrap();
        if !out.status.success() {
            eprintln!("{cfg}: {}", String::from_utf8_lossy(&out.stderr));
            continue;
        }
        rows.extend(parse_rows(&format!("whisper-rs {cfg} {n}t"), &out.stdout));
    }
    match (
        std::env::var_os("RINGCOACH_FW_PYTHON"),
        std::env::var_os("RINGCOACH_CT2_DIR"),
    ) {
        (Some(py), Some(ct2)) => rows.extend(faster_whisper(
            Path::new(&py),
            Path::new(&ct2),
            threads,
            &paths,
        )),
        _ => println!(
            "faster-whisper reference skipped: set RINGCOACH_FW_PYTHON and RINGCOACH_CT2_DIR\n"
        ),
    }

    println!(
        "| engine | reply | audio s | end of audio → transcript s | RTF | peak RSS MB | CER % | text |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in &rows {
        let (name, line, _) = files
            .iter()
            .find(|f| f.2.display().to_string() == r.file)
            .unwrap();
        println!(
            "| {} | {} | {:.1} | {:.3} | {:.3} | {:.0} | {:.1} | {} |",
            r.engine,
            name,
            r.audio_s,
            r.secs,
            r.secs / r.audio_s,
            r.rss_mb,
            support::cer(line, &r.text) * 100.0,
            r.text
        );
    }
}

struct Row {
    engine: String,
    file: String,
    audio_s: f64,
    secs: f64,
    rss_mb: f64,
    text: String,
}

/// Child output: one tab-separated line per file: file, audio s, median s, rss MB, text.
fn parse_rows(engine: &str, stdout: &[u8]) -> Vec<Row> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (c.len() == 5).then(|| Row {
                engine: engine.to_string(),
                file: c[0].to_string(),
                audio_s: c[1].parse().unwrap_or(0.0),
                secs: c[2].parse().unwrap_or(0.0),
                rss_mb: c[3].parse().unwrap_or(0.0),
                text: c[4].to_string(),
            })
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn child(cfg: &str, files: &[String]) {
    let mut c = support::config();
    c.audio_ctx = cfg.parse::<AudioContext>().unwrap();
    let mut t = WhisperTranscriber::new(c).unwrap();
    let clips: Vec<(String, Vec<f32>)> = files
        .iter()
        .map(|f| {
            (
                f.clone(),
                wav::read_wav_16k(&PathBuf::from(f), support_max()).unwrap(),
            )
        })
        .collect();
    // Warm-up: first-call allocations are not what a trainee waits for on later tries.
    let _ = clip::hear_samples(&mut t, &clips[0].1, fmt());
    for (file, samples) in &clips {
        let mut times = Vec::new();
        let mut text = String::new();
        for _ in 0..RUNS {
            let t0 = Instant::now();
            let heard = clip::hear_samples(&mut t, samples, fmt()).unwrap();
            times.push(t0.elapsed().as_secs_f64());
            text = heard.transcript.text;
        }
        println!(
            "{file}\t{:.2}\t{:.4}\t{:.0}\t{text}",
            samples.len() as f64 / 16_000.0,
            median(times),
            peak_rss_mb()
        );
    }
}

fn support_max() -> std::time::Duration {
    std::time::Duration::from_secs(600)
}

fn fmt() -> wav::WavFormat {
    wav::WavFormat {
        channels: 1,
        bits_per_sample: 16,
        float: false,
        sample_rate: 16_000,
    }
}

const FW_SCRIPT: &str = r#"
import sys, time, resource, statistics, wave
import numpy as np
from faster_whisper import WhisperModel
ct2, threads, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
m = WhisperModel(ct2, device="cpu", compute_type="int8", cpu_threads=threads)
def load(f):
    with wave.open(f) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
def run(a):
    segs, _ = m.transcribe(a, language="zh", beam_size=1, temperature=0.0,
                           condition_on_previous_text=False, vad_filter=False)
    return "".join(s.text for s in segs)
files = sys.argv[4:]
run(load(files[0]))
for f in files:
    a = load(f)
    times = []
    for _ in range(runs):
        t = time.perf_counter(); text = run(a); times.append(time.perf_counter() - t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{f}\t{len(a)/16000:.2f}\t{statistics.median(times):.4f}\t{rss:.0f}\t{text.strip()}")
"#;

fn faster_whisper(py: &Path, ct2: &Path, threads: usize, files: &[String]) -> Vec<Row> {
    let out = Command::new(py)
        .arg("-c")
        .arg(FW_SCRIPT)
        .arg(ct2)
        .arg(threads.to_string())
        .arg(RUNS.to_string())
        .args(files)
        .output();
    match out {
        Ok(o) if o.status.success() => {
            // Whisper base writes Traditional half the time; compare like with like.
            let mut rows = parse_rows(&format!("faster-whisper int8 {threads}t"), &o.stdout);
            for r in &mut rows {
                r.text = fast2s::convert(&r.text);
            }
            rows
        }
        Ok(o) => {
            println!(
                "faster-whisper failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            Vec::new()
        }
        Err(e) => {
            println!("faster-whisper could not start: {e}");
            Vec::new()
        }
    }
}
