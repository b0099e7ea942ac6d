//! The audio parts that need no sound device: the file-as-microphone (`--input FILE.wav`),
//! its real-time pacing and its errors, end-of-speech detection on composed real voices, and
//! `ringcoach devices` staying quiet on a machine without a sound card.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ringcoach::audio::capture::{AudioSource, Chunk};
use ringcoach::audio::choice::InputChoice;
use ringcoach::audio::devices::AudioIoError;
use ringcoach::audio::file_source::{AfterEnd, FileSource, FILE_CHUNK_MS};
use ringcoach::audio::level::{level, DetectorConfig, SpeechDetector, SpeechEvent};
use ringcoach::audio::wav;
use ringcoach::transcribe::clip::hear_file;
use ringcoach::transcribe::{TranscribeError, Transcriber, Transcript};

const LINE: &str = "您好,广利物业,请问有什么可以帮您?";

/// First and last 20 ms frame louder than -45 dBFS: where the speech is, by a rule
/// independent of the detector's own (adaptive) one.
fn speech_span_ms(samples: &[f32]) -> (u64, u64) {
    let frames: Vec<f32> = samples.chunks(320).map(|f| level(f).rms_dbfs).collect();
    let first = frames
        .iter()
        .position(|&db| db > -45.0)
        .expect("some speech");
    let last = frames
        .iter()
        .rposition(|&db| db > -45.0)
        .expect("some speech");
    (first as u64 * 20, (last as u64 + 1) * 20)
}

fn run_detector(samples: &[f32]) -> Vec<SpeechEvent> {
    let mut d = SpeechDetector::new(DetectorConfig::default());
    samples.chunks(320).flat_map(|c| d.push(c)).collect()
}

fn with_silence(before_ms: usize, speech: &[f32], after_ms: usize) -> Vec<f32> {
    let mut v = vec![0.0; before_ms * 16];
    v.extend_from_slice(speech);
    v.extend(std::iter::repeat_n(0.0, after_ms * 16));
    v
}

fn assert_one_utterance(events: &[SpeechEvent], span: (u64, u64), tolerance_ms: u64) {
    let [SpeechEvent::Started { at_ms: start }, SpeechEvent::Ended {
        at_ms: end,
        noticed_ms,
    }] = events
    else {
        panic!("expected one start and one end, got {events:?}");
    };
    assert!(
        start.abs_diff(span.0) <= tolerance_ms,
        "started at {start} ms, speech from {} ms",
        span.0
    );
    assert!(
        end.abs_diff(span.1) <= tolerance_ms,
        "ended at {end} ms, speech until {} ms",
        span.1
    );
    assert_eq!(noticed_ms - end, 1000, "hang-over");
}

#[test]
fn end_of_speech_on_composed_real_voices() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("answer.wav");
    support::compose(LINE, &wav, &[]);
    let (speech, rate) = support::read_mono(&wav);
    assert_eq!(rate, 16_000);
    let signal = with_silence(700, &speech, 2000);
    let span = speech_span_ms(&signal);
    // The comma pauses (~0.4 s) are shorter than the 1 s hang-over: one utterance.
    assert_one_utterance(&run_detector(&signal), span, 60);
}

#[test]
fn end_of_speech_in_noise_and_fast_speech() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.wav");
    let noisy = dir.path().join("noisy.wav");
    support::compose(LINE, &clean, &["--speed", "1.15"]);
    support::compose(LINE, &noisy, &["--speed", "1.15", "--snr-db", "20"]);
    let (clean, _) = support::read_mono(&clean);
    let (noisy, _) = support::read_mono(&noisy);
    let span = speech_span_ms(&with_silence(500, &clean, 0));
    // Noise runs through the whole file (leading/trailing silence included), so pad the noisy
    // file with its own noise rather than digital zeros: take its first 0.3 s as room tone.
    let room: Vec<f32> = noisy[..4800].to_vec();
    let mut signal = Vec::new();
    for _ in 0..5 {
        signal.extend_from_slice(&room[..1600]);
    }
    signal.extend_from_slice(&noisy);
    for _ in 0..7 {
        signal.extend_from_slice(&room);
    }
    assert_one_utterance(&run_detector(&signal), span, 120);
}

#[test]
fn file_source_plays_in_real_time_then_silence() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("hello.wav");
    support::compose("您好", &wav, &[]);
    let mut src = FileSource::open(&wav).unwrap();
    let file = src.samples().to_vec();
    let wanted = file.len() + 16 * 400;
    let before_start = Instant::now();
    let cap = src.start().unwrap();
    let mut got: Vec<f32> = Vec::new();
    let mut index = 0u64;
    while got.len() < wanted {
        let chunk: Chunk = cap
            .chunks()
            .recv_timeout(Duration::from_secs(10))
            .expect("a chunk within 10 s");
        // Real-time pacing: chunk i holds audio up to (i+1)·20 ms and may not exist earlier.
        // (Only a lower bound: a busy machine may deliver late, never early.)
        let earliest = before_start + Duration::from_millis((index + 1) * FILE_CHUNK_MS);
        assert!(
            Instant::now() >= earliest,
            "chunk {index} arrived before its time"
        );
        assert_eq!(
            chunk.start_sample,
            got.len() as u64,
            "chunks are contiguous"
        );
        assert_eq!(chunk.start_ms(), index * FILE_CHUNK_MS);
        got.extend_from_slice(&chunk.samples);
        index += 1;
    }
    // The source keeps pacing until stop(): chunks sent after the last one read wait in
    // the channel. Every delivered sample is one read here or one still waiting.
    let rest = cap.chunks().clone();
    let stats = cap.stop();
    let waiting: usize = rest.try_iter().map(|c| c.samples.len()).sum();
    assert_eq!(&got[..file.len()], &file[..], "the file, sample for sample");
    assert!(got[file.len()..].iter().all(|&s| s == 0.0), "then silence");
    assert_eq!(stats.dropped_chunks, 0);
    assert_eq!(stats.delivered_samples as usize, got.len() + waiting);
}

#[test]
fn file_source_can_close_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("short.wav");
    // 130 ms: not a whole number of 20 ms chunks.
    support::write_wav(&wav, &vec![0.25; 16 * 130], 16_000, 1);
    let mut src = FileSource::open(&wav).unwrap().after_end(AfterEnd::Close);
    assert_eq!(src.duration_ms(), 130);
    let cap = src.start().unwrap();
    let got: Vec<f32> = cap.chunks().iter().flat_map(|c| c.samples).collect();
    assert_eq!(got.len(), 16 * 130);
    assert!(got.iter().all(|&s| (s - 0.25).abs() < 1e-4));
}

#[test]
fn stopping_a_file_source_ends_its_thread() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("long.wav");
    support::write_wav(&wav, &vec![0.1; 16_000 * 30], 16_000, 1);
    let mut src = FileSource::open(&wav).unwrap();
    let cap = src.start().unwrap();
    let rx = cap.chunks().clone();
    rx.recv_timeout(Duration::from_secs(5)).unwrap();
    cap.stop();
    // The sender is gone with the thread: the channel drains and then reports disconnection.
    while rx.recv_timeout(Duration::from_secs(5)).is_ok() {}
    assert!(rx.is_empty());
    assert!(matches!(
        rx.try_recv(),
        Err(crossbeam_channel::TryRecvError::Disconnected)
    ));
}

#[test]
fn file_source_feeds_the_detector_like_a_microphone() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("answer.wav");
    support::compose("您好,请讲", &wav, &[]);
    let mut src = FileSource::open(&wav).unwrap();
    let span = speech_span_ms(src.samples());
    let cap = src.start().unwrap();
    let mut det = SpeechDetector::new(DetectorConfig::default());
    let mut events = Vec::new();
    // The practice loop's shape: read chunks until the detector says the trainee stopped.
    while !events
        .iter()
        .any(|e| matches!(e, SpeechEvent::Ended { .. }))
    {
        let chunk = cap
            .chunks()
            .recv_timeout(Duration::from_secs(10))
            .expect("chunks keep coming");
        events.extend(det.push(&chunk.samples));
    }
    cap.stop();
    assert_one_utterance(&events, span, 60);
    assert_eq!(
        det.first_words_ms(),
        Some(match events[0] {
            SpeechEvent::Started { at_ms } => at_ms,
            _ => unreachable!(),
        })
    );
}

fn expect_bad_wav(path: &Path) -> String {
    let err = FileSource::open(path).expect_err("must refuse");
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()),
        "names the file: {text}"
    );
    text
}

#[test]
fn missing_and_bad_wavs_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.wav");
    let text = expect_bad_wav(&missing);
    assert!(text.starts_with("cannot read WAV file"), "{text}");
    assert!(text.contains("give a PCM WAV"), "{text}");

    let garbage = dir.path().join("notes.wav");
    std::fs::write(&garbage, "this is not audio").unwrap();
    let text = expect_bad_wav(&garbage);
    assert!(text.starts_with("cannot read WAV file"), "{text}");

    let truncated = dir.path().join("truncated.wav");
    support::write_wav(&truncated, &vec![0.1; 16_000], 16_000, 1);
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..30]).unwrap();
    expect_bad_wav(&truncated);

    let empty = dir.path().join("empty.wav");
    support::write_wav(&empty, &[], 16_000, 1);
    let err = FileSource::open(&empty).unwrap_err();
    assert!(matches!(err, AudioIoError::EmptyWav { .. }), "{err}");
    assert!(err.to_string().contains("holds no audio"));
}

#[test]
fn wavs_at_other_rates_and_channel_counts_become_16k_mono() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("cd.wav");
    // One second of a 300 Hz tone at 44.1 kHz in stereo, right channel silent.
    let mut inter = Vec::new();
    for i in 0..44_100 {
        inter.push(0.5 * (i as f32 * 2.0 * std::f32::consts::PI * 300.0 / 44_100.0).sin());
        inter.push(0.0);
    }
    support::write_wav(&wav, &inter, 44_100, 2);
    let s = FileSource::open(&wav).unwrap().samples().to_vec();
    assert_eq!(s.len(), 16_000);
    let body = &s[200..15_800];
    let crossings = body
        .windows(2)
        .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
        .count();
    // 300 Hz over 0.975 s: 585 crossings.
    assert!((583..=587).contains(&crossings), "{crossings}");
    // Mixed down: half the amplitude of the left channel.
    let peak = body.iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!((peak - 0.25).abs() < 0.01, "{peak}");
}

/// Keeps what it was asked to transcribe: Whisper's input, exactly.
#[derive(Default)]
struct Overhear(Vec<f32>);

impl Transcriber for Overhear {
    fn transcribe(&mut self, samples_16k_mono: &[f32]) -> Result<Transcript, TranscribeError> {
        self.0 = samples_16k_mono.to_vec();
        Ok(Transcript::default())
    }
}

#[test]
fn one_file_reaches_whisper_bit_for_bit_the_same_from_grade_and_from_practice_input() {
    let dir = tempfile::tempdir().unwrap();
    // A real voice in the format a sound editor exports: 44.1 kHz, stereo, 32-bit float, the
    // two channels different (the right one quieter and a little late).
    let voice = dir.path().join("voice.wav");
    support::compose("您好,广利物业", &voice, &[]);
    let (speech, rate) = support::read_mono(&voice);
    assert_eq!(rate, 16_000);
    let n = speech.len() * 44_100 / 16_000;
    let at = |t: f64| {
        let i = (t as usize).min(speech.len() - 2);
        speech[i] + (speech[i + 1] - speech[i]) * (t - i as f64) as f32
    };
    let stereo: Vec<f32> = (0..n)
        .map(|i| i as f64 * 16_000.0 / 44_100.0)
        .flat_map(|t| [at(t), 0.6 * at((t - 3.0).max(0.0))])
        .collect();
    let odd = dir.path().join("exported.wav");
    support::write_wav_f32(&odd, &stereo, 44_100, 2);

    // `grade FILE.wav` / `transcribe FILE.wav`: what the transcriber is handed.
    let mut whisper = Overhear::default();
    hear_file(&mut whisper, &odd, wav::DEFAULT_MAX_DURATION).unwrap();
    let graded = whisper.0;
    assert_eq!(
        graded.len(),
        (n as f64 * 16_000.0 / 44_100.0).round() as usize
    );

    // Practice `--input FILE.wav`: the chunks the practice loop records and transcribes.
    let mut src = InputChoice::File(odd.clone()).open().unwrap();
    let cap = src.start().unwrap();
    let mut practised: Vec<f32> = Vec::new();
    while practised.len() < graded.len() + 16 * 100 {
        let chunk = cap
            .chunks()
            .recv_timeout(Duration::from_secs(10))
            .expect("chunks keep coming");
        assert_eq!(chunk.start_sample, practised.len() as u64);
        practised.extend(chunk.samples);
    }
    cap.stop();
    // Bit for bit, not "close": a different conversion must not hide under a tolerance.
    let differ: Vec<usize> = (0..graded.len())
        .filter(|&i| practised[i].to_bits() != graded[i].to_bits())
        .collect();
    assert!(
        differ.is_empty(),
        "the same file reached Whisper as other samples: {} of {} differ, the first at {}",
        differ.len(),
        graded.len(),
        differ[0]
    );
    assert!(practised[graded.len()..].iter().all(|&s| s == 0.0));
    // And it is the voice, not silence: the conversion kept it.
    assert!(level(&graded).rms_dbfs > -40.0, "{:?}", level(&graded));
}

#[test]
fn devices_command_is_quiet_without_a_sound_server() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["devices"][..], &["devices", "--all", "--json"][..]] {
        // No PulseAudio reachable (whatever the environment), so on this machine ALSA has no
        // card: exactly where alsa-lib prints its probing noise.
        let out = Command::new(env!("CARGO_BIN_EXE_ringcoach"))
            .args(args)
            .env("XDG_RUNTIME_DIR", dir.path())
            .env(
                "PULSE_SERVER",
                format!("unix:{}/none", dir.path().display()),
            )
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "",
            "{args:?} wrote on stderr"
        );
        if args.len() == 1 {
            assert!(stdout.starts_with("audio host: "), "{stdout}");
            if stdout.contains("cannot be opened") || !stdout.contains('*') {
                assert!(stdout.contains("--input FILE.wav"), "{stdout}");
            }
        } else {
            let v: serde_json::Value = serde_json::from_str(&stdout).expect("valid JSON");
            assert!(
                v["inputs"].is_array() && v["outputs"].is_array(),
                "{stdout}"
            );
        }
    }
}

fn ringcoach(args: &[&str], no_sound_server: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ringcoach"))
        .args(args)
        .env("XDG_RUNTIME_DIR", no_sound_server)
        .env(
            "PULSE_SERVER",
            format!("unix:{}/none", no_sound_server.display()),
        )
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn devices_listen_with_a_file_as_microphone() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("answer.wav");
    support::compose("您好,请讲", &wav, &[]);
    let (speech, _) = support::read_mono(&wav);
    let span = speech_span_ms(&speech);
    let wav_arg = wav.to_str().unwrap();
    let (code, stdout, stderr) = ringcoach(
        &["devices", "--listen", "20", "--input", wav_arg],
        dir.path(),
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stderr, "");
    assert!(
        stdout.starts_with(&format!("listening to file {wav_arg}")),
        "{stdout}"
    );
    // A meter line per 100 ms, loud ones while speaking.
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("#####") && l.ends_with("speaking")),
        "{stdout}"
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("first words at"))
        .expect("summary line");
    let first: u64 = summary["first words at ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        first.abs_diff(span.0) <= 60,
        "{summary} vs speech from {} ms",
        span.0
    );
    assert!(summary.contains("speech ended at"), "{summary}");
    assert!(stdout.contains("say, as you would on a call: "), "{stdout}");
    assert!(stdout.contains("recording: voice "), "{stdout}");
    assert!(stdout.contains("good enough to practise"), "{stdout}");
}

#[test]
fn devices_listen_says_what_to_change_at_arms_length_in_a_noisy_room() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("far.wav");
    support::compose(
        "您好,请问有什么可以帮您?",
        &wav,
        &["--room-ms", "400", "--gain-db", "-28", "--snr-db", "12"],
    );
    let wav_arg = wav.to_str().unwrap();
    let (code, stdout, stderr) = ringcoach(
        &["devices", "--listen", "20", "--input", wav_arg],
        dir.path(),
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("first words at"),
        "speech was heard: {stdout}"
    );
    assert!(
        stdout.contains("not good enough to practise yet:"),
        "{stdout}"
    );
    let advice: Vec<&str> = stdout.lines().filter(|l| l.starts_with("  - ")).collect();
    assert!(!advice.is_empty(), "{stdout}");
    assert!(
        advice
            .iter()
            .any(|l| l.contains("move closer") || l.contains("quieter place")),
        "{stdout}"
    );
}

#[test]
fn devices_listen_to_silence_is_not_passed() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("quiet.wav");
    support::write_wav(&wav, &vec![0.0; 16_000], 16_000, 1);
    let (code, stdout, _) = ringcoach(
        &[
            "devices",
            "--listen",
            "1.5",
            "--input",
            wav.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("no speech heard"), "{stdout}");
}

#[test]
fn devices_ring_on_the_null_output_counts_rings() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = ringcoach(
        &[
            "devices",
            "--ring",
            "3",
            "--output",
            "null",
            "--cadence",
            "200/100",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    for n in 1..=3 {
        assert!(stdout.contains(&format!("\nring {n} at ")), "{stdout}");
    }
    assert!(!stdout.contains("ring 4 at"), "{stdout}");
    assert!(stdout.contains("after 3 rings"), "{stdout}");
}

#[test]
fn without_a_sound_card_the_errors_are_one_plain_line() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = ringcoach(&["devices", "--listen", "1"], dir.path());
    assert_eq!(code, 2, "{stdout}");
    assert_eq!(
        stderr,
        "ringcoach: error: no audio input device found: use `--input FILE.wav` to play a WAV file as the microphone\n"
    );
    let (code, _, stderr) = ringcoach(&["devices", "--ring", "1"], dir.path());
    assert_eq!(code, 2);
    assert!(
        stderr.contains("use `--output null`") && stderr.lines().count() == 1,
        "{stderr}"
    );
    let (code, _, stderr) = ringcoach(
        &[
            "devices",
            "--ring",
            "1",
            "--output",
            "null",
            "--cadence",
            "1s/4s",
        ],
        dir.path(),
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("use e.g. 1000/4000"), "{stderr}");
    let (code, _, stderr) = ringcoach(
        &["devices", "--listen", "1", "--input", "/nonexistent/a.wav"],
        dir.path(),
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read WAV file /nonexistent/a.wav"),
        "{stderr}"
    );
}

#[test]
fn end_of_speech_on_other_real_speakers() {
    // Real recordings (AISHELL, FunASR, PaddleSpeech samples) with their own room noise and
    // microphones. The detector must find the speech, not end it at the short pauses inside
    // a sentence, and end it within the file. funasr_llamacpp_sample has a real 1.5 s pause
    // ("我想问 … 我在滨海新区有房"): two utterances with the 1 s hang-over, one with 2 s.
    let dir = support::shared_audio().join("real");
    for (name, utterances, utterances_2s) in [
        ("wenet_aishell_BAC009S0724W0121.wav", 1, 1),
        ("funasr_asr_example.wav", 1, 1),
        ("funasr_llamacpp_sample.wav", 2, 1),
        ("paddle_test.wav", 1, 1),
    ] {
        let (speech, rate) = support::read_mono(&dir.join(name));
        assert_eq!(rate, 16_000, "{name}");
        let signal = with_silence(300, &speech, 2500);
        let file_end_ms = 300 + speech.len() as u64 / 16;
        for (hangover_ms, want) in [(1000, utterances), (2000, utterances_2s)] {
            let mut d = SpeechDetector::new(DetectorConfig {
                hangover_ms,
                ..DetectorConfig::default()
            });
            let events: Vec<SpeechEvent> = signal.chunks(320).flat_map(|c| d.push(c)).collect();
            eprintln!("{name}, hang-over {hangover_ms} ms: {events:?}");
            assert_eq!(
                events.len(),
                2 * want,
                "{name}, hang-over {hangover_ms} ms: {events:?}"
            );
            let (SpeechEvent::Started { at_ms: start }, SpeechEvent::Ended { at_ms: end, .. }) =
                (events[0], events[events.len() - 1])
            else {
                panic!("{name}: events out of order: {events:?}");
            };
            assert!(
                start >= 300 && end <= file_end_ms && end > start + 1000,
                "{name}: {events:?}"
            );
        }
    }
}
