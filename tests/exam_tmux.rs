//! The exam screen end to end, as a proctor and a candidate meet it: the real binary in a
//! real terminal (tmux, 80×24), a short suite from a prompts directory, WAVs of real
//! Mandarin voices played as the microphone in real time, the real Whisper model. One
//! sitting is taken to the end (sealed, complete); another is left early (sealed,
//! incomplete, the calls not taken failed with 0).
//!
//! Needs the models fetched (`scripts/test` does it) and tmux.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_ringcoach");
/// Generous: a whole call on a 2-core machine, model loading included.
const GRADING: Duration = Duration::from_secs(150);
const SCREEN: Duration = Duration::from_secs(20);

const SUITE: &str = r#"
id = "short-check"
version = "1"
title = { zh = "接听短测", en = "Short answering check" }
[pass]
call_mark = 80
overall_mark = 80
[[call]]
scenario = "answer-call"
org = "广利物业"
[[call]]
scenario = "cannot-hear"
"#;

fn setup(dir: &Path) {
    std::fs::create_dir_all(dir.join("prompts/suites")).unwrap();
    std::fs::write(dir.join("prompts/suites/short.toml"), SUITE).unwrap();
    support::compose(
        "您好,广利物业,请问有什么可以帮您?",
        &dir.join("call1.wav"),
        &["--speed", "1.3"],
    );
    support::compose(
        "非常抱歉,我这边听不清楚,请您再大声一点,好吗?",
        &dir.join("call2.wav"),
        &["--speed", "1.3"],
    );
}

fn command(dir: &Path, data: &str) -> String {
    format!(
        "cd {dir} && RINGCOACH_MODEL_DIR='{models}' RINGCOACH_DATA_DIR='{dir}/{data}' XDG_STATE_HOME='{dir}/state' XDG_CONFIG_HOME='{dir}/config' {BIN} exam --suite short-check --candidate 刘芳 --employee-id GL-0042 --prompts prompts --input call1.wav --input call2.wav --output null --lang en; echo EXITED=$?; sleep 60",
        dir = dir.display(),
        models = support::speech::model_dir().display(),
    )
}

fn sittings(dir: &Path, data: &str) -> Value {
    let out = std::process::Command::new(BIN)
        .args(["exam", "list", "--json"])
        .env("RINGCOACH_DATA_DIR", dir.join(data))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_short_sitting_on_the_exam_screen_calls_in_order_no_retry_sealed() {
    let _one = support::speech::model_lock();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);

    let t = Tmux::start(dir, &command(dir, "data"), 80, 24);
    // The proctor checks the candidate and starts the sitting.
    let s = t.wait_for("Proctor", Duration::from_secs(60));
    assert!(s.contains("刘芳") && s.contains("GL-0042"), "{s}");
    assert!(
        s.contains("short-check v1") && s.contains("each call ≥ 80"),
        "{s}"
    );
    assert!(
        s.contains("1. Answering a call") && s.contains("2. Cannot hear"),
        "{s}"
    );
    t.keys(&["Enter"]);

    for call in 1..=2 {
        let s = t.wait_for("Enter start ringing", SCREEN);
        assert!(s.contains(&format!("call {call} of 2")), "{s}");
        t.keys(&["Enter"]);
        t.wait_for("The phone is ringing", SCREEN);
        t.keys(&["Space"]);
        t.wait_for("hearing you", SCREEN);
        if call == 1 {
            let s = t.wait_for("Call ended", GRADING);
            // No per-call feedback, no score, no model answer, no retry.
            assert!(!s.contains("PASSED") && !s.contains("score"), "{s}");
            assert!(!s.contains("Model answer"), "{s}");
            t.keys(&["r"]);
            std::thread::sleep(Duration::from_millis(500));
            assert!(t.screen().contains("Call ended"));
            t.keys(&["Enter"]);
        }
    }
    // The last call ends the sitting: sealed and complete.
    let s = t.wait_for("Sealed (signed)", GRADING);
    assert!(s.contains("Every call was taken"), "{s}");
    t.keys(&["Enter"]);
    let end = t.wait_for("EXITED=", SCREEN);
    assert!(end.contains("EXITED=0"), "{end}");

    let list = sittings(dir, "data");
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list:#}");
    assert_eq!(rows[0]["state"], "complete");
    assert_eq!(rows[0]["calls_taken"], 2);
    assert!(
        rows[0]["seal"].as_str().unwrap().starts_with("sealed"),
        "{list:#}"
    );
    // Each call is an attempt of the store carrying the sitting, its turn kept as evidence.
    let id = rows[0]["sitting"].as_str().unwrap();
    let rec: Value = serde_json::from_slice(
        &std::fs::read(dir.join("data/sittings").join(id).join("sitting.json")).unwrap(),
    )
    .unwrap();
    for (i, call) in rec["calls"].as_array().unwrap().iter().enumerate() {
        assert_eq!(call["index"], i + 1);
        let turn = dir
            .join("data/sittings")
            .join(id)
            .join(call["turns"][0]["audio"].as_str().unwrap());
        assert!(
            turn.metadata().unwrap().len() > 16_000,
            "{}",
            turn.display()
        );
        assert!(call["rings"].as_u64().is_some());
    }
}

#[test]
fn leaving_early_asks_first_then_seals_the_sitting_as_incomplete() {
    let _one = support::speech::model_lock();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);

    let t = Tmux::start(dir, &command(dir, "early"), 80, 24);
    t.wait_for("Proctor", Duration::from_secs(60));
    t.keys(&["Enter"]);
    t.wait_for("Enter start ringing", SCREEN);
    t.keys(&["Enter"]);
    t.wait_for("The phone is ringing", SCREEN);
    // q asks; anything but y goes on.
    t.keys(&["q"]);
    let s = t.wait_for("End the sitting now?", SCREEN);
    assert!(s.contains("Calls not taken count as failed"), "{s}");
    t.keys(&["n"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(!t.screen().contains("End the sitting now?"));
    t.keys(&["q"]);
    t.wait_for("End the sitting now?", SCREEN);
    t.keys(&["y"]);
    let s = t.wait_for("Sealed (signed)", SCREEN);
    assert!(s.contains("The sitting ended early"), "{s}");
    t.keys(&["q"]);
    let end = t.wait_for("EXITED=", SCREEN);
    assert!(end.contains("EXITED=0"), "{end}");

    let list = sittings(dir, "early");
    assert_eq!(list[0]["state"], "incomplete", "{list:#}");
    assert_eq!(list[0]["calls_taken"], 0);
    // The call hung up mid-ring left nothing in the store.
    let out = std::process::Command::new(BIN)
        .args(["store", "list", "--json"])
        .env("RINGCOACH_DATA_DIR", dir.join("early"))
        .output()
        .unwrap();
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 0, "{rows:#}");
}

#[test]
fn an_exam_killed_mid_sitting_is_ended_by_exam_end_and_never_while_its_screen_is_open() {
    let _one = support::speech::model_lock();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);
    let exam_end = |id: &str| {
        std::process::Command::new(BIN)
            .args(["exam", "end", id])
            .env("RINGCOACH_DATA_DIR", dir.join("killed"))
            .output()
            .unwrap()
    };

    let t = Tmux::start(dir, &command(dir, "killed"), 80, 24);
    t.wait_for("Proctor", Duration::from_secs(60));
    t.keys(&["Enter"]);
    t.wait_for("Enter start ringing", SCREEN);
    let list = sittings(dir, "killed");
    assert_eq!(list[0]["state"], "in_progress", "{list:#}");
    let id = list[0]["sitting"].as_str().unwrap().to_string();

    // The screen is open: the proctor's command refuses, in one line, and changes nothing.
    let out = exam_end(&id);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("is being taken right now"), "{err}");
    assert_eq!(sittings(dir, "killed")[0]["state"], "in_progress");

    // The exam dies (a killed terminal, a crash): no seal, the sitting is stuck in progress
    // and cannot be certified until it is ended.
    let killed = std::process::Command::new("pkill")
        .args(["-KILL", "-P", &t.pane_pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The shell's line may wrap anywhere at the pane's edge, even inside "EXITED=".
    let started = std::time::Instant::now();
    let ended = loop {
        let screen = t.screen();
        if screen.replace('\n', "").contains("EXITED=") {
            break screen;
        }
        assert!(
            started.elapsed() < SCREEN,
            "the killed exam never returned: {screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(ended.replace('\n', "").contains("EXITED=137"), "{ended}");
    let issue = std::process::Command::new(BIN)
        .args(["cert", "issue", &id])
        .env("RINGCOACH_DATA_DIR", dir.join("killed"))
        .output()
        .unwrap();
    assert_eq!(issue.status.code(), Some(2));
    let err = String::from_utf8_lossy(&issue.stderr);
    assert!(err.contains("exam end"), "{err}");

    let out = exam_end(&id);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("ended incomplete: 0 of 2 calls taken; sealed sha256:"),
        "{said}"
    );
    let list = sittings(dir, "killed");
    assert_eq!(list[0]["state"], "incomplete", "{list:#}");
    assert!(
        list[0]["seal"]
            .as_str()
            .unwrap()
            .starts_with("sealed sha256:"),
        "{list:#}"
    );
    // Ending again says so and changes nothing.
    let again = exam_end(&id);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("had already ended (incomplete)"));
}
