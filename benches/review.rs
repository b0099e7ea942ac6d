//! Opening an attempt on the review screen and starting its playback (target: under
//! 200 ms together), through the same [`Runtime`] the screen uses: load the attempt's files
//! and build the attempt view, then read the WAV and hand it to the sink until the first
//! audio has been consumed. The store is generated in a temp dir (fsync off) with a real
//! Mandarin recording (composed with ../shared/audio/compose.py) as the attempt's audio.
//!
//! `cargo bench --bench review` (or `-- 30` for fewer repetitions). Prints the machine.
//! The output device is `null` (clocked, silent); `-- default` also tries the default device.

mod bench_support;
use bench_support::machine;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ringcoach::audio::choice::OutputChoice;
use ringcoach::grading::{Call, Heard, Org, Pickup, Verdict};
use ringcoach::review::run::Runtime;
use ringcoach::scenario::Catalog;
use ringcoach::store::{AttemptInfo, AudioFormat, Outcome, Store, StoreOptions, Timestamp};

const TEXT: &str = "您好,广利物业,请问有什么可以帮您?我们马上安排师傅上门维修,谢谢您的来电,再见。";

fn shared_audio() -> std::path::PathBuf {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/audio");
    if beside.join("compose.py").exists() {
        return beside;
    }
    "/work/shared/audio".into()
}

fn speech(out: &Path) -> Vec<i16> {
    let ok = Command::new("python3")
        .arg(shared_audio().join("compose.py"))
        .arg(TEXT)
        .arg(out)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs compose.py")
        .success();
    assert!(ok, "compose.py failed");
    hound::WavReader::open(out)
        .unwrap()
        .into_samples::<i16>()
        .map(Result::unwrap)
        .collect()
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "min {:.2} ms, median {:.2} ms, max {:.2} ms ({} runs)",
        ms(v[0]),
        ms(v[v.len() / 2]),
        ms(v[v.len() - 1]),
        v.len()
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let reps: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(50);
    let mut outputs = vec!["null".to_string()];
    if args.iter().any(|a| a == "default") {
        outputs.push("default".into());
    }
    println!("machine: {}", machine());

    let dir = tempfile::tempdir().unwrap();
    let samples = speech(&dir.path().join("speech.wav"));
    let store = Store::open_with(
        &dir.path().join("data"),
        StoreOptions {
            sync: false,
            checkpoint_frames: 0,
        },
    )
    .unwrap();
    let cat = Catalog::builtin().unwrap();
    let call = Call {
        turns: vec![Heard::text(TEXT)],
        pickup: Pickup::Rings(1),
        org: Org::given("广利物业"),
    };
    let report = call.grade(cat.get("answer-call").unwrap(), &cat.phrasebook);
    // Some history in the audit log, as a reviewed attempt has.
    let started = Timestamp::parse("2026-11-20T09:00:00Z").unwrap();
    let summary = store
        .save(
            AttemptInfo {
                scenario: "answer-call".into(),
                rubric_sha256: report.rubric_sha256.clone(),
                model: "ggml-base-q5_1".into(),
                trainee: "li.na".into(),
                device: "bench".into(),
                org: String::new(),
                started,
                sitting: None,
            },
            AudioFormat::SPEECH,
            &samples,
            Outcome {
                transcript: call.turns[0].transcript.clone(),
                score: f64::from(report.score),
                passed: report.passed,
                needs_review: report
                    .checks
                    .iter()
                    .any(|c| c.verdict == Verdict::Uncertain),
                report: serde_json::to_value(&report).unwrap(),
                finished: started,
            },
        )
        .unwrap();
    let id = summary.id;
    for i in 0..20 {
        store
            .overrule(
                &id,
                "wang",
                "greeting",
                "pass",
                "fail",
                &format!("note {i}"),
            )
            .unwrap();
    }
    println!(
        "attempt: {:.1} s of speech ({} samples at 16 kHz), {} checks, 20 audit entries",
        samples.len() as f64 / 16_000.0,
        samples.len(),
        report.checks.len()
    );

    for out in outputs {
        let sink = match out.parse::<OutputChoice>().unwrap().open() {
            Ok(s) => s,
            Err(e) => {
                println!("output {out}: not measured ({e})");
                continue;
            }
        };
        let store = Store::open(&dir.path().join("data")).unwrap();
        let mut rt = Runtime::new(store, cat.clone(), sink, "wang");
        let (mut open, mut play, mut first, mut total) = (vec![], vec![], vec![], vec![]);
        let mut failed = None;
        for _ in 0..reps {
            let t0 = Instant::now();
            let view = rt.open(&id).unwrap();
            let t1 = Instant::now();
            if let Err(e) = rt.play(&id, 0) {
                failed = Some(e.to_string());
                break;
            }
            let t2 = Instant::now();
            // The first audio consumed by the sink (null: its first 20 ms block).
            let deadline = t2 + Duration::from_secs(2);
            while rt.position().unwrap_or(0) == 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_micros(200));
            }
            let t3 = Instant::now();
            rt.stop();
            assert!(!view.checks.is_empty());
            open.push(t1 - t0);
            play.push(t2 - t1);
            first.push(t3 - t2);
            total.push(t3 - t0);
        }
        if let Some(e) = failed {
            println!("output {out}: playback failed ({e})");
            continue;
        }
        println!("output {out} ({}):", rt.sink.describe());
        println!("  open attempt (load files + build view): {}", stats(open));
        println!("  start playback (read WAV + start sink): {}", stats(play));
        println!("  until first audio consumed:             {}", stats(first));
        println!("  open + play, total (target < 200 ms):   {}", stats(total));
    }
}
