//! `ringcoach transcribe` as a user runs it: real binary, real model, real files, a
//! batch with a bad file in the middle.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use ringcoach::audio::wav;
use support::speech::*;

fn ringcoach(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringcoach"));
    cmd.arg("transcribe")
        .env("RINGCOACH_MODEL", test_model())
        .env("RINGCOACH_VAD_MODEL", test_vad_model())
        // Machine speed must not decide a test (see support::speech::config).
        .args(["--time-limit", "600"]);
    if let Ok(n) = std::env::var("RINGCOACH_THREADS") {
        cmd.args(["--threads", &n]);
    }
    cmd.args(args).output().expect("run ringcoach")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_batch_reports_every_file_and_exits_1_when_one_is_bad() {
    let _lock = model_lock();
    let dir = tempfile::tempdir().unwrap();
    let good = compose(dir.path(), "good.wav", "您好,请讲。", &["--lead-ms", "800"]);
    let bad = dir.path().join("bad.wav");
    std::fs::write(&bad, "this is not audio").unwrap();
    let quiet = dir.path().join("quiet.wav");
    wav::write_wav_16k(&quiet, &silence(3.0)).unwrap();

    let out = ringcoach(&["--json", s(&good), s(&bad), s(&quiet)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 3);

    let g = &reports[0];
    assert!(g["error"].is_null());
    assert_eq!(g["no_speech"], false);
    let text = g["transcript"]["text"].as_str().unwrap();
    assert!(text.contains("您好"), "{text}");
    let tok = &g["transcript"]["segments"][0]["tokens"][0];
    assert!(tok["p"].as_f64().is_some() && tok["start_ms"].as_u64().is_some());
    let first = g["facts"]["first_words_ms"].as_u64().unwrap();
    assert!((700..=1000).contains(&first), "{first}");

    let b = &reports[1];
    assert!(b["error"].as_str().unwrap().contains("not a WAV"), "{b}");
    assert!(stderr.contains("bad.wav"), "{stderr}");

    let q = &reports[2];
    assert_eq!(q["no_speech"], true);
    assert_eq!(q["transcript"]["text"], "");
}

#[test]
fn text_output_says_no_speech_heard_and_a_clean_run_exits_0() {
    let _lock = model_lock();
    let dir = tempfile::tempdir().unwrap();
    let quiet = dir.path().join("hum.wav");
    wav::write_wav_16k(&quiet, &hum(2.0, 0.2)).unwrap();
    let out = ringcoach(&[s(&quiet)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("(no speech heard)"), "{stdout}");
    assert!(stdout.contains("first words none"), "{stdout}");
}

#[test]
fn a_single_unreadable_file_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    let out = ringcoach(&[s(&empty)]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is empty"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_missing_model_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.wav");
    wav::write_wav_16k(&f, &silence(1.0)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ringcoach"))
        .args(["transcribe", "--model", "/nonexistent/ggml-base.bin", s(&f)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ringcoach models fetch"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_thread_count_is_capped_at_the_cores_and_auto_is_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("quiet.wav");
    wav::write_wav_16k(&f, &silence(1.0)).unwrap();
    let cpus = std::thread::available_parallelism().unwrap().get() as u64;
    let run = |threads: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringcoach"));
        cmd.arg("transcribe")
            .env("RINGCOACH_MODEL", test_model())
            .env("RINGCOACH_VAD_MODEL", test_vad_model())
            .arg("--json");
        if let Some(n) = threads {
            cmd.args(["--threads", n]);
        }
        cmd.arg(s(&f)).output().unwrap()
    };
    for (threads, want) in [
        (Some("1000"), Some(cpus)),
        (Some("1"), Some(1)),
        (None, None),
    ] {
        let out = run(threads);
        assert_eq!(out.status.code(), Some(0), "{threads:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let used = v[0]["run"]["threads"].as_u64().unwrap();
        match want {
            Some(n) => assert_eq!(used, n, "--threads {threads:?}"),
            None => assert!((1..=cpus).contains(&used), "auto chose {used}"),
        }
    }
    let out = run(Some("0"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("from 1 up"));
}
