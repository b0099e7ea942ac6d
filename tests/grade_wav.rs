//! `ringcoach grade` on recordings: the real binary, the real model, real voices composed at
//! test time. The same report as `--text`, plus token probabilities and audio facts.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use ringcoach::audio::wav;
use support::speech::*;

fn grade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ringcoach"))
        .arg("grade")
        .env("RINGCOACH_MODEL", test_model())
        .env("RINGCOACH_VAD_MODEL", test_vad_model())
        // Machine speed must not decide a test (see support::speech::config).
        .args(["--time-limit", "600"])
        .args(args)
        .output()
        .expect("run ringcoach")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn verdict<'a>(report: &'a serde_json::Value, category: &str) -> &'a str {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == category)
        .unwrap_or_else(|| panic!("no {category} check in {report}"))["verdict"]
        .as_str()
        .unwrap()
}

#[test]
fn a_spoken_opening_is_graded_with_audio_facts() {
    let _lock = model_lock();
    let dir = tempfile::tempdir().unwrap();
    let good = compose(
        dir.path(),
        "good.wav",
        "您好,广利物业,请问有什么可以帮您?",
        &["--lead-ms", "600"],
    );
    let o = grade(&[
        "--scenario",
        "answer-call",
        "--org",
        "广利物业",
        "--rings",
        "2",
        "--json",
        s(&good),
    ]);
    let r = json(&o);
    assert_eq!(r["scenario"], "answer-call");
    assert!(r["transcript"].as_str().unwrap().contains("您好"), "{r}");
    assert_eq!(verdict(&r, "greeting"), "pass");
    assert_eq!(verdict(&r, "rings"), "pass");
    assert_eq!(verdict(&r, "banned_phrase"), "pass");
    // The org name is heard as a homophone by the base model: never a silent fail.
    assert_ne!(verdict(&r, "organisation"), "fail", "{r}");
    // Manner checks now have the signal to work with.
    assert_ne!(verdict(&r, "first_words"), "not_applicable");
    let first = r["turns"][0]["audio"]["first_words_ms"].as_u64().unwrap();
    assert!((400..=1000).contains(&first), "first words at {first} ms");
    assert_eq!(
        o.status.code(),
        Some(if r["passed"] == true { 0 } else { 1 })
    );
}

#[test]
fn silence_is_graded_as_nothing_said() {
    let _lock = model_lock();
    let dir = tempfile::tempdir().unwrap();
    let quiet = dir.path().join("quiet.wav");
    // A quiet room's hiss (about -80 dBFS) and no voice: nothing was said.
    wav::write_wav_16k(&quiet, &pink_noise(3.0, 0.0003, 7)).unwrap();
    let o = grade(&[
        "--scenario",
        "answer-call",
        "--rings",
        "1",
        "--json",
        s(&quiet),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no speech heard"));
    let r = json(&o);
    assert_eq!(r["transcript"], "");
    assert_eq!(r["passed"], false);
    for c in ["greeting", "politeness", "offer_help"] {
        assert_eq!(verdict(&r, c), "fail", "{c} on silence: {r}");
    }
}

#[test]
fn noise_too_loud_to_hear_a_voice_in_is_not_taken_for_silence() {
    let _lock = model_lock();
    let dir = tempfile::tempdir().unwrap();
    let noisy = dir.path().join("noisy.wav");
    // Loud hiss (about -46 dBFS, 5 dB over its own floor): a quiet voice could hide in it,
    // so the phrases are not failed as unsaid; the report says why and what to change.
    wav::write_wav_16k(&noisy, &pink_noise(3.0, 0.02, 7)).unwrap();
    let o = grade(&[
        "--scenario",
        "answer-call",
        "--rings",
        "1",
        "--json",
        s(&noisy),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let r = json(&o);
    assert_eq!(r["passed"], false, "nothing heard never passes: {r}");
    for c in ["greeting", "politeness", "offer_help"] {
        assert_eq!(verdict(&r, c), "uncertain", "{c} in noise: {r}");
    }
    assert_eq!(verdict(&r, "audio"), "fail", "{r}");
}

#[test]
fn a_batch_grades_every_file_and_reports_a_bad_one() {
    let _lock = model_lock();
    let dir = tempfile::tempdir().unwrap();
    let good = compose(
        dir.path(),
        "good.wav",
        "您好,广利物业,请问有什么可以帮您?",
        &[],
    );
    let rude = compose(dir.path(), "rude.wav", "喂,你找谁?", &[]);
    let bad = dir.path().join("bad.wav");
    std::fs::write(&bad, b"RIFF....not really").unwrap();
    let o = grade(&[
        "--scenario",
        "answer-call",
        "--rings",
        "1",
        "--json",
        s(&good),
        s(&bad),
        s(&rude),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let rows = json(&o);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(verdict(&rows[0]["report"], "greeting"), "pass");
    assert!(
        rows[1]["error"].as_str().unwrap().contains("bad.wav"),
        "{}",
        rows[1]
    );
    assert_eq!(rows[2]["report"]["passed"], false);
    assert_eq!(verdict(&rows[2]["report"], "greeting"), "fail");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.lines().any(|l| l.contains("bad.wav")), "{err}");
}

#[test]
fn the_turns_of_one_call_make_one_report() {
    let _lock = model_lock();
    let dir = tempfile::tempdir().unwrap();
    let t1 = compose(
        dir.path(),
        "t1.wav",
        "您好,广利物业,请问有什么可以帮您?",
        &[],
    );
    let t2 = compose(
        dir.path(),
        "t2.wav",
        "对不起,他暂时不在办公室,有什么事情需要我转告他吗?",
        &[],
    );
    let t3 = compose(
        dir.path(),
        "t3.wav",
        "好的,我一定转告他。谢谢您,再见。",
        &[],
    );
    let o = grade(&[
        "--scenario",
        "absent-colleague",
        "--rings",
        "1",
        "--call",
        "--json",
        s(&t1),
        s(&t2),
        s(&t3),
    ]);
    let r = json(&o);
    assert_eq!(r["turns"].as_array().unwrap().len(), 3, "{r}");
    assert_eq!(verdict(&r, "greeting"), "pass");
    assert_ne!(verdict(&r, "closing"), "fail", "{r}");
}

#[test]
fn a_single_missing_file_is_one_line_and_exit_2() {
    let o = grade(&["--scenario", "answer-call", "/nonexistent/reply.wav"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/reply.wav"), "{err}");
}

/// `grade --save`: a call recorded on a phone system, in two files, saved as one attempt a
/// trainer reviews like any other; single recordings each their own attempt.
#[test]
fn recorded_calls_are_saved_in_the_store_for_review() {
    use ringcoach::store::{Query, Store};
    let _lock = model_lock();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = compose(
        dir.path(),
        "turn1.wav",
        "请问您还有其他咨询事项吗?",
        &["--lead-ms", "500"],
    );
    let second = compose(
        dir.path(),
        "turn2.wav",
        "不客气,感谢您的来电,再见!",
        &["--lead-ms", "500"],
    );
    let o = grade(&[
        "--scenario",
        "end-call",
        "--org",
        "广利物业",
        "--call",
        "--save",
        "--trainee",
        "王芳",
        "--started",
        "2026-11-20T09:00:00+08:00",
        "--data-dir",
        s(&data),
        "--json",
        s(&first),
        s(&second),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("saved turn1.wav + turn2.wav as attempt"),
        "{err}"
    );
    let printed = json(&o);
    let store = Store::open(&data).unwrap();
    let rows = store.list(&Query::default()).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row.trainee, "王芳");
    assert_eq!(row.scenario, "end-call");
    assert_eq!(row.started.to_rfc3339(), "2026-11-20T01:00:00.000Z");
    assert_eq!(row.score, printed["score"].as_f64());
    let a = store.load(&row.id).unwrap();
    assert_eq!(a.meta.info.device, "file: turn1.wav + turn2.wav");
    // The audio of both turns, end to end, as graded (16 kHz mono).
    let len = |p: &Path| {
        wav::read_wav_16k(p, std::time::Duration::from_secs(60))
            .unwrap()
            .len() as u64
    };
    assert_eq!(a.meta.audio.frames, len(&first) + len(&second));
    assert_eq!(a.meta.audio.fmt.sample_rate, 16_000);
    // The report as printed, each turn with its own audio facts; the transcript one turn a
    // line, its token times in the saved recording's time.
    let r: ringcoach::grading::Report = serde_json::from_value(printed.clone()).unwrap();
    let saved: ringcoach::grading::Report =
        serde_json::from_value(a.report.clone().unwrap()).unwrap();
    assert_eq!(saved, r);
    assert_eq!(r.turns.len(), 2);
    assert!(r.turns.iter().all(|t| t.audio.is_some()));
    let t = a.transcript.unwrap();
    assert_eq!(t.text.lines().count(), 2, "{}", t.text);
    let last = t.tokens().last().unwrap();
    assert!(
        last.start_ms * 16 >= len(&first),
        "the second turn's tokens come after the first turn's audio"
    );
    // Review opens it like any attempt, turn by turn.
    let mut rt = ringcoach::review::run::Runtime::new(
        store,
        ringcoach::scenario::Catalog::builtin().unwrap(),
        Box::new(ringcoach::audio::playback::NullSink),
        "wang",
    );
    let view = rt.open(&row.id).unwrap();
    assert_eq!(view.turns.len(), 2);
    assert!(view.turns[1].caller.is_some());
    let check = Command::new(env!("CARGO_BIN_EXE_ringcoach"))
        .args(["store", "check", "--verify-hashes", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    // Without --call, each file is its own attempt; --save needs a trainee.
    let o = grade(&[
        "--scenario",
        "end-call",
        "--save",
        "--trainee",
        "李娜",
        "--data-dir",
        s(&data),
        s(&first),
        s(&second),
    ]);
    assert!(
        o.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let store = Store::open(&data).unwrap();
    let q = Query {
        trainee: Some("李娜".into()),
        ..Query::default()
    };
    assert_eq!(store.list(&q).unwrap().len(), 2);
    let o = grade(&["--scenario", "end-call", "--save", s(&first)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--trainee"));
}
