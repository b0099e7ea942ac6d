//! The practice screen end to end, as a trainee meets it: the real binary in a real terminal
//! (tmux, 80×24), a WAV of real Mandarin voices played as the microphone in real time, the
//! real Whisper model, the real grader. The test types the keys a trainee would and reads
//! the screen back.
//!
//! Needs the models fetched (`scripts/test` does it) and tmux (installed by the same).

mod support;

use std::path::Path;
use std::time::Duration;

use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_ringcoach");
/// Generous: the whole call on a busy 2-core machine (a load of 15 was seen), model loading
/// included. How long the test waits for the screen, not a check of speed.
const GRADING: Duration = Duration::from_secs(300);

/// One call at a time: two Whisper runs on two cores would only measure the contention.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    support::speech::model_lock()
}

fn command(dir: &Path, args: &str) -> String {
    // A private data/state/config dir so the test never touches the user's attempts, logs
    // or settings; the models stay where `models fetch` put them. The private config gives
    // a transcription the longest time it may take: how busy the machine is must not decide
    // a test that is not about time (a test about the cut-off passes its own --config).
    let home_models = support::speech::model_dir();
    let config = dir.join("config/ringcoach");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "[model]\ntime_limit_s = 600\n").unwrap();
    format!(
        "cd {dir} && RINGCOACH_MODEL_DIR='{models}' RINGCOACH_DATA_DIR='{dir}/data' XDG_STATE_HOME='{dir}/state' XDG_CONFIG_HOME='{dir}/config' {BIN} {args}; echo EXITED=$?; sleep 60",
        dir = dir.display(),
        models = home_models.display(),
    )
}

/// Runs practice outside a terminal (models where `models fetch` put them, no stdin) to an
/// error before the screen opens: exit 2 and one line on stderr, returned.
fn one_line_before_the_screen(cmd: &mut std::process::Command) -> String {
    let out = cmd
        .env("RINGCOACH_MODEL_DIR", support::speech::model_dir())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

/// From the situation card: ring the phone, pick up on the first ring. Returns the card.
fn ring_and_pick_up(t: &Tmux) -> String {
    let card = t.wait_for("Enter start ringing", Duration::from_secs(30));
    t.keys(&["Enter"]);
    t.wait_for("The phone is ringing", Duration::from_secs(10));
    t.keys(&["Space"]);
    card
}

#[test]
fn answer_a_call_in_the_terminal_and_read_the_feedback() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("answer.wav");
    // The word-by-word voices are slower than a trainee; 1.3× is a natural pace.
    support::compose(
        "您好,广利物业,请问有什么可以帮您?",
        &wav,
        &["--speed", "1.3"],
    );

    let t = Tmux::start(
        dir.path(),
        &command(
            dir.path(),
            &format!(
                "--input {} --output null --lang en --scenario answer-call --org 广利物业",
                wav.display()
            ),
        ),
        80,
        24,
    );
    let card = ring_and_pick_up(&t);
    assert!(card.contains("Answering a call"), "{card}");
    t.wait_for("hearing you", Duration::from_secs(15));
    let screen = t.wait_for("PASSED", GRADING);
    // The trainee said everything the opening needs, within one ring.
    assert!(!screen.contains("NOT PASSED"), "{screen}");
    assert!(screen.contains("picked up 1"), "{screen}");
    assert!(screen.contains("Transcript"), "{screen}");
    assert!(screen.contains("您好"), "{screen}");
    assert!(screen.contains("✔ greeting"), "{screen}");
    // The rest of the feedback is a scroll away.
    for _ in 0..12 {
        t.keys(&["Down"]);
    }
    let screen = t.wait_for("Model answer", Duration::from_secs(5));
    assert!(screen.contains("✔ banned phrases"), "{screen}");
    // The line saying where the attempt was saved follows the model answer.
    t.keys(&["Down", "Down", "Down"]);
    t.wait_for("saved", Duration::from_secs(5));

    // Back to the list, then quit: the program exits cleanly and the terminal is restored.
    t.keys(&["q"]);
    t.wait_for("Choose a call situation", Duration::from_secs(5));
    t.keys(&["q"]);
    let end = t.wait_for("EXITED=", Duration::from_secs(10));
    assert!(end.contains("EXITED=0"), "{end}");

    // How long the trainee waited after their last word's hang-over: printed, not asserted.
    let log = std::fs::read_to_string(dir.path().join("state/ringcoach/practice.log"))
        .unwrap_or_default();
    for line in log.lines().filter(|l| l.contains(" graded ")) {
        println!("{line}");
    }

    // The attempt was saved where the trainer tools find it: graded, with its recording.
    let out = std::process::Command::new(BIN)
        .args(["store", "list", "--json"])
        .env("RINGCOACH_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["scenario"], "answer-call");
    assert_eq!(rows[0]["passed"], true);
    assert_eq!(rows[0]["status"], "finished");
    let ms = rows[0]["duration_ms"].as_u64().unwrap();
    // The reply (about 6.6 s at 1.3×) and the second of silence that ended the turn.
    assert!((6_000..=10_000).contains(&ms), "recorded {ms} ms");
}

#[test]
fn a_rude_answer_fails_with_the_banned_phrase_marked() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("rude.wav");
    support::compose("喂,你找谁?", &wav, &[]);
    let t = Tmux::start(
        dir.path(),
        &command(
            dir.path(),
            &format!(
                "--input {} --output null --lang en --scenario answer-call",
                wav.display()
            ),
        ),
        80,
        24,
    );
    ring_and_pick_up(&t);
    let screen = t.wait_for("PASSED", GRADING);
    assert!(screen.contains("NOT PASSED"), "{screen}");
    assert!(screen.contains("✘ greeting"), "{screen}");
    t.keys(&["C-c"]);
    let end = t.wait_for("EXITED=", Duration::from_secs(10));
    assert!(end.contains("EXITED=0"), "{end}");
}

#[test]
fn a_missing_input_file_is_one_line_before_the_screen_opens() {
    // A private store and state: the machine's own would be opened before the input is
    // checked (and may have been written by another ringcoach).
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .env("RINGCOACH_DATA_DIR", dir.path().join("data"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .args(["--input", "/nonexistent/answer.wav", "--output", "null"])
        .env("RINGCOACH_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/answer.wav"), "{err}");
}

#[test]
fn the_data_dir_flag_and_an_empty_prompts_variable_mean_what_they_mean_elsewhere() {
    // --data-dir over RINGCOACH_DATA_DIR, and an empty RINGCOACH_PROMPTS names no
    // directory: the run gets as far as the missing input file.
    let dir = tempfile::tempdir().unwrap();
    let err = one_line_before_the_screen(
        std::process::Command::new(BIN)
            .args(["--input", "/nonexistent/answer.wav", "--output", "null"])
            .arg("--data-dir")
            .arg(dir.path().join("given"))
            .env("RINGCOACH_DATA_DIR", dir.path().join("env"))
            .env("RINGCOACH_PROMPTS", ""),
    );
    assert!(err.contains("/nonexistent/answer.wav"), "{err}");
    assert!(dir.path().join("given").is_dir());
    assert!(!dir.path().join("env").exists());
}

#[test]
fn a_three_turn_call_is_graded_as_one() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        "您好,广利物业,请问有什么可以帮您?",
        "对不起,他暂时不在办公室,有什么事情需要我转告他吗?",
        "好的,我一定转告他。谢谢您,再见。",
    ];
    let mut inputs = String::new();
    for (i, line) in lines.iter().enumerate() {
        let wav = dir.path().join(format!("turn{i}.wav"));
        support::compose(line, &wav, &["--speed", "1.3"]);
        inputs.push_str(&format!(" --input {}", wav.display()));
    }
    let t = Tmux::start(
        dir.path(),
        &command(
            dir.path(),
            &format!("{inputs} --output null --lang en --scenario absent-colleague"),
        ),
        80,
        24,
    );
    ring_and_pick_up(&t);
    // Each caller line is shown in turn while the trainee's reply for it plays.
    t.wait_for("turn 2/3", Duration::from_secs(30));
    t.wait_for("turn 3/3", Duration::from_secs(30));
    let screen = t.wait_for("PASSED", GRADING);
    assert!(screen.contains("✔ greeting"), "{screen}");
    for _ in 0..8 {
        t.keys(&["Down"]);
    }
    let screen = t.wait_for("✔ closing", Duration::from_secs(5));
    // A must-say item by its name, as review shows it.
    assert!(screen.contains("✔ say he is temporarily out"), "{screen}");
    for _ in 0..12 {
        t.keys(&["Down"]);
    }
    let screen = t.wait_for("Model answer", Duration::from_secs(5));
    assert!(screen.contains("转告他"), "{screen}");
    t.keys(&["C-c"]);
    t.wait_for("EXITED=0", Duration::from_secs(10));
}

#[test]
fn no_sound_card_is_one_line_that_names_the_way_out() {
    // No sound server and no card: the output is checked first, then the microphone.
    let run = |args: &[&str]| {
        std::process::Command::new(BIN)
            .args(args)
            .env("PULSE_SERVER", "unix:/nonexistent/pulse")
            .env("RINGCOACH_DATA_DIR", tempfile::tempdir().unwrap().path())
            .env("RINGCOACH_MODEL_DIR", support::speech::model_dir())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--output null"), "{err}");
    // Asking for the microphone check changes nothing: there is no microphone to check.
    for args in [
        &["--output", "null"][..],
        &["--output", "null", "--check-mic"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("--input FILE.wav"), "{err}");
    }
    // Asking for the check and for none is a mistake, said as such.
    let out = run(&["--output", "null", "--check-mic", "--no-mic-check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--no-mic-check"), "{err}");
}

#[test]
fn a_call_through_the_real_microphone_path() {
    if !support::virtual_audio_or_skip("a_call_through_the_real_microphone_path") {
        return;
    }
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("answer.wav");
    support::compose(
        "您好,广利物业,请问有什么可以帮您?",
        &wav,
        &["--speed", "1.3"],
    );
    // The default microphone is the private PulseAudio's virtual one, the default speaker
    // its null sink: the ring really plays, the reply really arrives through cpal. (The
    // check a new microphone gets first has its own test, below.)
    let t = Tmux::start(
        dir.path(),
        &command(
            dir.path(),
            "--lang en --scenario answer-call --no-mic-check",
        ),
        80,
        24,
    );
    ring_and_pick_up(&t);
    t.wait_for("listening", Duration::from_secs(10));
    let status = std::process::Command::new("paplay")
        .args(["-d", "vmic_sink"])
        .arg(&wav)
        .status()
        .expect("paplay (pulseaudio-utils) is installed by scripts/test");
    assert!(status.success());
    let screen = t.wait_for("PASSED", GRADING);
    assert!(!screen.contains("NOT PASSED"), "{screen}");
    assert!(screen.contains("您好"), "{screen}");
    t.keys(&["C-c"]);
    t.wait_for("EXITED=0", Duration::from_secs(10));
}

#[test]
fn a_ring_without_tone_in_the_config_is_one_line_before_the_screen_opens() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[ring]\non_ms = 0\n").unwrap();
    let wav = dir.path().join("a.wav");
    support::compose("您好", &wav, &[]);
    let err = one_line_before_the_screen(
        std::process::Command::new(BIN)
            .args(["--output", "null", "--config"])
            .arg(&config)
            .arg("--input")
            .arg(&wav)
            .env("RINGCOACH_DATA_DIR", dir.path().join("data")),
    );
    assert!(err.contains("on_ms"), "{err}");
}

/// The store's listing as JSON (the attempts a trainer sees).
fn stored(data: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let out = std::process::Command::new(BIN)
        .args(["store", "--data-dir"])
        .arg(data)
        .args(["list", "--json"])
        .env("RINGCOACH_DATA_DIR", data)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array().unwrap().clone()
}

#[test]
fn a_cut_off_transcription_keeps_the_recording_to_be_graded_later() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("answer.wav");
    support::compose(
        "您好,广利物业,请问有什么可以帮您?",
        &wav,
        &["--speed", "1.3"],
    );
    // A limit no machine meets stands in for a desk too busy to transcribe in time.
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[model]\ntime_limit_s = 0.001\n").unwrap();
    let t = Tmux::start(
        dir.path(),
        &command(
            dir.path(),
            &format!(
                "--input {} --output null --lang en --scenario answer-call --org 广利物业 --config {}",
                wav.display(),
                config.display()
            ),
        ),
        80,
        24,
    );
    ring_and_pick_up(&t);
    // Before: "… was cut off" and the attempt folder was deleted.
    let screen = t.wait_for("regrade", GRADING);
    assert!(screen.contains("cut off"), "{screen}");
    assert!(screen.contains("ungraded attempt"), "{screen}");
    t.keys(&["C-c"]);
    t.wait_for("EXITED=0", Duration::from_secs(10));

    let data = dir.path().join("data");
    let kept = stored(&data, &["--verdict", "ungraded"]);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0]["status"], "ungraded");
    assert!(kept[0]["duration_ms"].as_u64().unwrap() > 5_000, "{kept:?}");
    let id = kept[0]["id"].as_str().unwrap().to_string();

    // Cut off again (the same impossible limit, given to regrade): reported, exit 1, and
    // the recording stays, still ungraded.
    let out = std::process::Command::new(BIN)
        .args(["store", "--data-dir"])
        .arg(&data)
        .args(["regrade", &id, "--time-limit", "0.001"])
        .env("RINGCOACH_DATA_DIR", &data)
        .env("RINGCOACH_MODEL_DIR", support::speech::model_dir())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cut off") && err.contains(&id), "{err}");
    assert_eq!(stored(&data, &["--verdict", "ungraded"]).len(), 1);

    // Graded later with the scenario, organisation and rings it was recorded with (and the
    // longest limit: how busy this machine is must not decide the test).
    let out = std::process::Command::new(BIN)
        .args(["store", "--data-dir"])
        .arg(&data)
        .args(["regrade", &id, "--time-limit", "600"])
        .env("RINGCOACH_DATA_DIR", &data)
        .env("RINGCOACH_MODEL_DIR", support::speech::model_dir())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains(&format!("graded {id}: PASSED")), "{said}");
    let all = stored(&data, &[]);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["status"], "finished");
    assert_eq!(all[0]["passed"], true);
    assert!(all[0]["text"].as_str().unwrap().contains("您好"), "{all:?}");
}

#[test]
fn hanging_up_during_the_call_keeps_what_was_said_as_interrupted() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("answer.wav");
    support::compose(
        "您好,广利物业,请问有什么可以帮您?",
        &wav,
        &["--speed", "1.3"],
    );
    let t = Tmux::start(
        dir.path(),
        &command(
            dir.path(),
            &format!(
                "--input {} --output null --lang en --scenario answer-call",
                wav.display()
            ),
        ),
        80,
        24,
    );
    ring_and_pick_up(&t);
    t.wait_for("hearing you", Duration::from_secs(15));
    std::thread::sleep(Duration::from_millis(1500));
    // q during the call: before, the attempt was thrown away.
    t.keys(&["q"]);
    let screen = t.wait_for("interrupted attempt", Duration::from_secs(10));
    assert!(
        screen.contains("Answering a call"),
        "back on the card: {screen}"
    );
    t.keys(&["C-c"]);
    t.wait_for("EXITED=0", Duration::from_secs(10));
    let kept = stored(&dir.path().join("data"), &["--verdict", "interrupted"]);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        kept[0]["duration_ms"].as_u64().unwrap() >= 1_000,
        "{kept:?}"
    );
}

/// The line the microphone check asks for (`audio::quality::CHECK_LINE`).
const CHECK_LINE: &str = "您好,请问有什么可以帮您?";
/// How long the check's screens may take to get somewhere on a busy 2-core machine (model
/// loading included): how long the test waits, not a check of speed.
const PATIENCE: Duration = Duration::from_secs(60);

/// The record of microphones that passed the check.
fn record(dir: &Path) -> std::path::PathBuf {
    dir.join("state/ringcoach/mic-checks.json")
}

/// A directory of its own for one of several terminals a test opens in turn (each tmux
/// server's socket is in it; one just killed may not have let go of its own yet).
fn own_dir(dir: &Path, name: &str) -> std::path::PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The check line, said close to the microphone in a quiet office.
fn good_recording(dir: &Path) -> std::path::PathBuf {
    let wav = dir.join("good.wav");
    support::compose(CHECK_LINE, &wav, &["--speed", "1.3", "--snr-db", "35"]);
    wav
}

#[test]
fn a_good_recording_passes_the_check_then_the_call_rings() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let wav = good_recording(dir.path());
    // A file playing as the microphone is checked only when asked (--check-mic).
    let t = Tmux::start(
        dir.path(),
        &command(
            dir.path(),
            &format!(
                "--input {} --check-mic --output null --lang en --scenario answer-call",
                wav.display()
            ),
        ),
        80,
        24,
    );
    let screen = t.wait_for("Microphone check", PATIENCE);
    assert!(screen.contains("Say, as you would on a call:"), "{screen}");
    assert!(screen.contains(CHECK_LINE), "{screen}");
    // Asked for, not a new microphone: no first-run line.
    assert!(!screen.contains("First practice"), "{screen}");
    let screen = t.wait_for("Good enough to practise", PATIENCE);
    assert!(screen.contains("recording: voice "), "{screen}");
    assert!(screen.contains("Enter continue"), "{screen}");
    // A file is not a microphone to remember.
    assert!(!screen.contains("Remembered"), "{screen}");

    // Enter: on to the situation card, and the call rings and connects as always.
    t.keys(&["Enter"]);
    t.wait_for("Enter start ringing", PATIENCE);
    t.keys(&["Enter"]);
    t.wait_for("The phone is ringing", PATIENCE);
    t.keys(&["Space"]);
    t.wait_for("hearing you", PATIENCE);
    t.keys(&["C-c"]);
    let end = t.wait_for("EXITED=", PATIENCE);
    assert!(end.contains("EXITED=0"), "{end}");
    assert!(!record(dir.path()).exists());
}

#[test]
fn a_too_quiet_recording_gets_advice_and_a_retry() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("quiet.wav");
    // A microphone turned down (or a voice far from it): about −44 dBFS.
    support::compose(CHECK_LINE, &wav, &["--speed", "1.3", "--gain-db", "-30"]);
    let t = Tmux::start(
        dir.path(),
        &command(
            dir.path(),
            &format!(
                "--input {} --check-mic --output null --lang en",
                wav.display()
            ),
        ),
        80,
        24,
    );
    let screen = t.wait_for("Not good enough to practise yet", PATIENCE);
    assert!(screen.contains("too quiet"), "{screen}");
    assert!(screen.contains("move closer"), "{screen}");
    assert!(screen.contains("raise its input"), "{screen}");
    assert!(screen.contains("r check again"), "{screen}");
    assert!(screen.contains("Enter continue anyway"), "{screen}");
    assert!(screen.contains("q quit"), "{screen}");

    // r: listened to afresh (the meter is back), and judged again.
    t.keys(&["r"]);
    let screen = t.wait_for("Speak, then pause", PATIENCE);
    assert!(!screen.contains("Not good enough"), "{screen}");
    let screen = t.wait_for("Not good enough to practise yet", PATIENCE);
    assert!(screen.contains("too quiet"), "{screen}");

    // Continue anyway: practice opens on the list; m checks again from there, q comes back.
    t.keys(&["Enter"]);
    t.wait_for("Choose a call situation", PATIENCE);
    t.keys(&["m"]);
    let screen = t.wait_for("Speak, then pause", PATIENCE);
    assert!(screen.contains("q back"), "{screen}");
    t.keys(&["q"]);
    t.wait_for("Choose a call situation", PATIENCE);
    t.keys(&["q"]);
    let end = t.wait_for("EXITED=", PATIENCE);
    assert!(end.contains("EXITED=0"), "{end}");
    assert!(
        !record(dir.path()).exists(),
        "a failed check is not remembered"
    );
}

#[test]
fn a_new_microphone_is_checked_once_then_remembered() {
    if !support::virtual_audio_or_skip("a_new_microphone_is_checked_once_then_remembered") {
        return;
    }
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let wav = good_recording(dir.path());
    let say = || {
        let status = std::process::Command::new("paplay")
            .args(["-d", "vmic_sink"])
            .arg(&wav)
            .status()
            .expect("paplay (pulseaudio-utils) is installed by scripts/test");
        assert!(status.success());
    };
    let practice = command(dir.path(), "--lang en --scenario answer-call");
    {
        // The first practice on this machine: the check comes before the situation card.
        let t = Tmux::start(&own_dir(dir.path(), "first"), &practice, 80, 24);
        let screen = t.wait_for("First practice on this microphone", PATIENCE);
        assert!(screen.contains(CHECK_LINE), "{screen}");
        assert!(screen.contains("q quit"), "{screen}");
        say();
        let screen = t.wait_for("Good enough to practise", PATIENCE);
        assert!(screen.contains("Remembered: microphone"), "{screen}");
        t.keys(&["Enter"]);
        t.wait_for("Enter start ringing", PATIENCE);
        t.keys(&["C-c"]);
        let end = t.wait_for("EXITED=", PATIENCE);
        assert!(end.contains("EXITED=0"), "{end}");
    }
    let text = std::fs::read_to_string(record(dir.path())).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let passed = json["passed"].as_object().unwrap();
    assert_eq!(passed.len(), 1, "{text}");
    let (_, entry) = passed.iter().next().unwrap();
    assert!(entry["voice_dbfs"].as_f64().unwrap() > -35.0, "{text}");

    {
        // The next practice goes straight to the card.
        let t = Tmux::start(&own_dir(dir.path(), "next"), &practice, 80, 24);
        let screen = t.wait_for("Enter start ringing", PATIENCE);
        assert!(!screen.contains("Microphone check"), "{screen}");
        t.keys(&["C-c"]);
        t.wait_for("EXITED=0", PATIENCE);
    }
    {
        // --check-mic asks again; q before the first call quits.
        let t = Tmux::start(
            &own_dir(dir.path(), "asked"),
            &command(dir.path(), "--lang en --scenario answer-call --check-mic"),
            80,
            24,
        );
        let screen = t.wait_for("Microphone check", PATIENCE);
        assert!(!screen.contains("First practice"), "{screen}");
        t.keys(&["q"]);
        let end = t.wait_for("EXITED=", PATIENCE);
        assert!(end.contains("EXITED=0"), "{end}");
    }
}
