//! Transcription alone, side by side with faster-whisper, in one run: every scenario's
//! model-answer lines composed in the real voices (speeds 1.0 and 1.2, mixed and
//! syllable speakers), the ones 5–8 s long kept — a trainee's typical reply — plus one
//! 20 s reply. Each engine transcribes each clip (VAD, signal facts and Whisper, model
//! already loaded; median of 3 after a warm-up) on 2 threads and on 1:
//!
//! - whisper-rs with the f16 model and with each quantised model found (`ggml-base-q8_0.bin`
//!   … in the model cache, or RINGCOACH_BENCH_MODELS=a.bin,b.bin), encoder fitted to the
//!   clip (the product's default);
//! - faster-whisper int8 (CTranslate2) on the same base weights, greedy, language zh: set
//!   RINGCOACH_FW_PYTHON (a Python with faster-whisper) and RINGCOACH_CT2_DIR (the joined
//!   CTranslate2 model directory of the wheels `models fetch` uses).
//!
//! Reports per engine the median time over the 5–8 s clips, the speed-up against
//! faster-whisper int8 at the same thread count, the median CPU time (all threads; on a
//! machine shared with other work the one-thread CPU time is the figure that hardly moves
//! with the load), and the character error rate against the composed lines (Simplified,
//! punctuation ignored). Each engine runs in a child process,
//! so its peak RSS is its own. The engines run one after the other: on a machine shared
//! with other work compare rows of the same run, and read the load averages printed.
//!
//! `cargo bench --bench transcribe [-- --quick]` (`--quick`: four clips, for a try).

mod bench_support;
use bench_support::machine;

#[path = "../tests/support/mod.rs"]
mod test_support;
use test_support::speech as support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ringcoach::audio::wav;
use ringcoach::scenario::{phrases, Catalog, ORG_PLACEHOLDER};
use ringcoach::transcribe::clip;
use ringcoach::transcribe::{Threads, WhisperTranscriber};

const RUNS: usize = 3;
const LONG: &str = "您好,广利物业,请问有什么可以帮您?对不起,让您久等了。我们马上安排维修师傅上门。谢谢您的来电,再见。";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1], &args[i + 2], &args[i + 3..]);
        return;
    }
    parent(args.iter().any(|a| a == "--quick"));
}

/// A composed clip and the line it says.
struct Clip {
    path: PathBuf,
    line: String,
    secs: f64,
}

/// Every model-answer line of every scenario as a trainee says it (digits as words).
fn lines() -> Vec<String> {
    let c = Catalog::builtin().unwrap();
    let mut out: Vec<String> = c
        .scenarios
        .iter()
        .flat_map(|sc| sc.model_answers.get_ref().iter())
        .flat_map(|a| phrases(&a.turns).map(str::to_string).collect::<Vec<_>>())
        .map(|l| {
            l.replace(ORG_PLACEHOLDER, &c.org.name)
                .replace("15", "十五")
                .replace("0.1%", "千分之一")
                .replace(['《', '》'], "")
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn compose_clips(dir: &Path, quick: bool) -> (Vec<Clip>, Clip) {
    let mut clips = Vec::new();
    let mut k = 0;
    'all: for line in lines() {
        for (speed, speaker) in [("1.0", "mixed"), ("1.2", "syllables")] {
            let p = support::compose(
                dir,
                &format!("{k}.wav"),
                &line,
                &["--lead-ms", "300", "--speed", speed, "--speaker", speaker],
            );
            k += 1;
            let secs = wav::read_wav_16k(&p, max()).unwrap().len() as f64 / 16_000.0;
            if (5.0..=8.0).contains(&secs) {
                clips.push(Clip {
                    path: p,
                    line: line.clone(),
                    secs,
                });
                if quick && clips.len() >= 4 {
                    break 'all;
                }
            }
        }
    }
    let p = support::compose(dir, "long.wav", LONG, &["--lead-ms", "300"]);
    let secs = wav::read_wav_16k(&p, max()).unwrap().len() as f64 / 16_000.0;
    let long = Clip {
        path: p,
        line: LONG.into(),
        secs,
    };
    (clips, long)
}

/// The Whisper models to compare: the f16 default and any quantised copies in the cache.
fn models() -> Vec<PathBuf> {
    if let Ok(list) = std::env::var("RINGCOACH_BENCH_MODELS") {
        return list.split(',').map(PathBuf::from).collect();
    }
    let f16 = support::test_model();
    let dir = f16.parent().unwrap().to_path_buf();
    let mut out = vec![f16];
    for q in ["q8_0", "q5_1", "q5_0"] {
        let p = dir.join(format!("ggml-base-{q}.bin"));
        if p.is_file() {
            out.push(p);
        }
    }
    out
}

fn parent(quick: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (clips, long) = compose_clips(dir.path(), quick);
    println!("machine: {}", machine());
    let total: f64 = clips.iter().map(|c| c.secs).sum();
    println!(
        "{} clips of 5–8 s ({:.1} s of audio), one of {:.1} s; each time the median of {RUNS} runs after one warm-up\n",
        clips.len(),
        total,
        long.secs
    );
    let mut paths: Vec<String> = clips.iter().map(|c| c.path.display().to_string()).collect();
    paths.push(long.path.display().to_string());
    let exe = std::env::current_exe().unwrap();
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut thread_counts = vec![cpus];
    if cpus > 1 {
        thread_counts.push(1);
    }
    let fw = match (
        std::env::var_os("RINGCOACH_FW_PYTHON"),
        std::env::var_os("RINGCOACH_CT2_DIR"),
    ) {
        (Some(py), Some(ct2)) => Some((PathBuf::from(py), PathBuf::from(ct2))),
        _ => {
            println!(
                "faster-whisper reference skipped: set RINGCOACH_FW_PYTHON and RINGCOACH_CT2_DIR\n"
            );
            None
        }
    };

    let mut engines: Vec<Engine> = Vec::new();
    for &n in &thread_counts {
        for m in models() {
            let name = format!(
                "whisper-rs {} ({n}t)",
                m.file_name().unwrap().to_string_lossy()
            );
            let load = loadavg();
            let out = Command::new(&exe)
                .arg("--child")
                .arg(&m)
                .arg(n.to_string())
                .args(&paths)
                .output()
                .unwrap();
            if !out.status.success() {
                eprintln!("{name}: {}", String::from_utf8_lossy(&out.stderr));
                continue;
            }
            engines.push(Engine::new(name, n, false, load, &out.stdout));
        }
        if let Some((py, ct2)) = &fw {
            let load = loadavg();
            if let Some(out) = faster_whisper(py, ct2, n, &paths) {
                engines.push(Engine::new(
                    format!("faster-whisper int8 ({n}t)"),
                    n,
                    true,
                    load,
                    &out,
                ));
            }
        }
    }

    let fw_time = |n: usize| {
        engines
            .iter()
            .find(|e| e.fw && e.threads == n)
            .map(|e| e.median_over(&clips))
    };
    let fw_cpu = |n: usize| {
        engines
            .iter()
            .find(|e| e.fw && e.threads == n)
            .map(|e| e.median_cpu_over(&clips))
    };
    println!(
        "| engine | median, 5–8 s clips | vs faster-whisper int8 | CPU time, 5–8 s clips | vs faster-whisper int8 | CER, 5–8 s clips | {:.1} s reply | peak RSS | load average before |",
        long.secs
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for e in &engines {
        let m = e.median_over(&clips);
        let cpu = e.median_cpu_over(&clips);
        let speedup = fw_time(e.threads)
            .filter(|_| !e.fw)
            .map_or("–".to_string(), |f| format!("{:.2}×", f / m));
        let cpu_speedup = fw_cpu(e.threads)
            .filter(|_| !e.fw)
            .map_or("–".to_string(), |f| format!("{:.2}×", f / cpu));
        println!(
            "| {} | {:.3} s | {speedup} | {cpu:.3} s | {cpu_speedup} | {:.1} % | {:.3} s | {:.0} MB | {} |",
            e.name,
            m,
            e.cer_over(&clips) * 100.0,
            e.row(&long).map_or(f64::NAN, |r| r.secs),
            e.rows.iter().map(|r| r.rss_mb).fold(0.0, f64::max),
            e.load
        );
    }
    if std::env::var_os("RINGCOACH_BENCH_DETAIL").is_some() {
        println!("\n| engine | clip | audio s | s | CER % | text |");
        println!("| --- | --- | --- | --- | --- | --- |");
        for e in &engines {
            for c in clips.iter().chain(std::iter::once(&long)) {
                if let Some(r) = e.row(c) {
                    println!(
                        "| {} | {} | {:.1} | {:.3} | {:.1} | {} |",
                        e.name,
                        c.line,
                        c.secs,
                        r.secs,
                        support::cer(&c.line, &r.text) * 100.0,
                        r.text
                    );
                }
            }
        }
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

struct Engine {
    name: String,
    threads: usize,
    fw: bool,
    load: String,
    rows: Vec<Row>,
}

impl Engine {
    fn new(name: String, threads: usize, fw: bool, load: String, stdout: &[u8]) -> Engine {
        let mut rows = parse_rows(stdout);
        if fw {
            // Whisper base writes Traditional half the time; compare like with like.
            for r in &mut rows {
                r.text = fast2s::convert(&r.text);
            }
        }
        Engine {
            name,
            threads,
            fw,
            load,
            rows,
        }
    }

    fn row(&self, c: &Clip) -> Option<&Row> {
        let f = c.path.display().to_string();
        self.rows.iter().find(|r| r.file == f)
    }

    fn median_over(&self, clips: &[Clip]) -> f64 {
        median(
            clips
                .iter()
                .filter_map(|c| self.row(c))
                .map(|r| r.secs)
                .collect(),
        )
    }

    fn median_cpu_over(&self, clips: &[Clip]) -> f64 {
        median(
            clips
                .iter()
                .filter_map(|c| self.row(c))
                .map(|r| r.cpu)
                .collect(),
        )
    }

    /// Character errors over all clips / characters of all lines.
    fn cer_over(&self, clips: &[Clip]) -> f64 {
        let (mut err, mut n) = (0.0, 0.0);
        for c in clips {
            if let Some(r) = self.row(c) {
                let len = c.line.chars().filter(|ch| ch.is_alphanumeric()).count() as f64;
                err += support::cer(&c.line, &r.text) * len;
                n += len;
            }
        }
        if n > 0.0 {
            err / n
        } else {
            f64::NAN
        }
    }
}

struct Row {
    file: String,
    secs: f64,
    rss_mb: f64,
    cpu: f64,
    text: String,
}

/// Child output: one tab-separated line per file: file, audio s, median s, rss MB, median
/// CPU s, text.
fn parse_rows(stdout: &[u8]) -> Vec<Row> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (c.len() == 6).then(|| Row {
                file: c[0].to_string(),
                secs: c[2].parse().unwrap_or(f64::NAN),
                rss_mb: c[3].parse().unwrap_or(0.0),
                cpu: c[4].parse().unwrap_or(f64::NAN),
                text: c[5].to_string(),
            })
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
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

fn child(model: &str, threads: &str, files: &[String]) {
    let mut c = support::config();
    c.model = PathBuf::from(model);
    c.threads = Threads::Fixed(threads.parse().unwrap());
    let mut t = WhisperTranscriber::new(c).unwrap();
    let clips: Vec<(String, Vec<f32>)> = files
        .iter()
        .map(|f| {
            (
                f.clone(),
                wav::read_wav_16k(&PathBuf::from(f), max()).unwrap(),
            )
        })
        .collect();
    // Warm-up: first-call allocations are not what a trainee waits for on later tries.
    let _ = clip::hear_samples(&mut t, &clips[0].1, fmt());
    for (file, samples) in &clips {
        let mut times = Vec::new();
        let mut text = String::new();
        let mut cpu = Vec::new();
        for _ in 0..RUNS {
            let (t0, c0) = (Instant::now(), cpu_secs());
            let heard = clip::hear_samples(&mut t, samples, fmt()).unwrap();
            times.push(t0.elapsed().as_secs_f64());
            cpu.push(cpu_secs() - c0);
            text = heard.transcript.text.replace(['\n', '\t'], " ");
        }
        println!(
            "{file}\t{:.2}\t{:.4}\t{:.0}\t{:.4}\t{text}",
            samples.len() as f64 / 16_000.0,
            median(times),
            peak_rss_mb(),
            median(cpu),
        );
    }
}

/// CPU time this process has used, all threads, in seconds: unlike the wall time it hardly
/// changes with what else the machine runs (for one thread it is the work itself; with
/// more, ggml's threads also count the time they spin waiting for each other).
fn cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

fn max() -> std::time::Duration {
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
    times, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        text = run(a)
        times.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    text = " ".join(text.split())
    print(f"{f}\t{len(a)/16000:.2f}\t{statistics.median(times):.4f}\t{rss:.0f}\t{statistics.median(cpu):.4f}\t{text}")
"#;

fn faster_whisper(py: &Path, ct2: &Path, threads: usize, files: &[String]) -> Option<Vec<u8>> {
    let out = Command::new(py)
        .arg("-c")
        .arg(FW_SCRIPT)
        .arg(ct2)
        .arg(threads.to_string())
        .arg(RUNS.to_string())
        .args(files)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(o.stdout),
        Ok(o) => {
            println!(
                "faster-whisper failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Err(e) => {
            println!("faster-whisper could not start: {e}");
            None
        }
    }
}
