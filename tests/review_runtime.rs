//! The review runtime over a real store: opening an attempt maps each check's evidence to
//! the time its words were said (from the transcript's token timings), playback starts
//! there on the clocked null sink, progress is computed from the files, and actions on an
//! interrupted attempt fail with a message instead of writing anything.

#[path = "review_fixture/mod.rs"]
mod fixture;

use std::time::{Duration, Instant};

use ringcoach::audio::playback::NullSink;
use ringcoach::grading::{Call, Heard, Org, Pickup};
use ringcoach::review::run::Runtime;
use ringcoach::review::{Effect, Msg};
use ringcoach::scenario::Catalog;
use ringcoach::store::{AttemptInfo, AudioFormat, Outcome, Store, Timestamp};
use ringcoach::transcribe::{Segment, Token, Transcript};

fn runtime(store: Store) -> Runtime {
    Runtime::new(
        store,
        Catalog::builtin().unwrap(),
        Box::new(NullSink),
        "wang",
    )
}

fn tok(text: &str, start_ms: u64, end_ms: u64) -> Token {
    Token {
        text: text.into(),
        start_ms,
        end_ms,
        p: 0.95,
    }
}

#[test]
fn evidence_times_come_from_the_tokens_and_playback_starts_there() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let text = "您好,广利物业,请问有什么可以帮您?";
    let tokens = vec![
        tok("您好", 400, 900),
        tok(",", 900, 950),
        tok("广利", 1500, 2000),
        tok("物业", 2000, 2500),
        tok(",", 2500, 2550),
        tok("请问", 3100, 3500),
        tok("有什么可以帮您", 3500, 4800),
        tok("?", 4800, 4850),
    ];
    let transcript = Transcript {
        text: text.into(),
        segments: vec![Segment {
            start_ms: 400,
            end_ms: 4850,
            text: text.into(),
            tokens,
        }],
        cut_off: None,
    };
    let cat = Catalog::builtin().unwrap();
    let call = Call {
        turns: vec![Heard {
            transcript: transcript.clone(),
            facts: None,
            readings: vec![],
        }],
        pickup: Pickup::Rings(1),
        org: Org::given("广利物业"),
    };
    let report = call.grade(cat.get("answer-call").unwrap(), &cat.phrasebook);
    let started = Timestamp::parse("2026-11-20T09:00:00Z").unwrap();
    // Six seconds of tone at 16 kHz: long enough to start 3.1 s in.
    let samples: Vec<i16> = (0..96_000)
        .map(|i| ((i as f32 * 0.05).sin() * 3000.0) as i16)
        .collect();
    let id = store
        .save(
            AttemptInfo {
                scenario: "answer-call".into(),
                rubric_sha256: report.rubric_sha256.clone(),
                model: "ggml-base-q5_1".into(),
                trainee: "li.na".into(),
                device: "test".into(),
                org: String::new(),
                started,
                sitting: None,
            },
            AudioFormat::SPEECH,
            &samples,
            Outcome {
                transcript,
                score: f64::from(report.score),
                passed: report.passed,
                needs_review: false,
                report: serde_json::to_value(&report).unwrap(),
                finished: started,
            },
        )
        .unwrap()
        .id;

    let mut rt = runtime(store);
    let view = rt.open(&id).unwrap();
    let at = |check: &str| view.checks.iter().find(|c| c.id == check).unwrap().at_ms;
    assert_eq!(at("greeting"), Some(400));
    assert_eq!(at("organisation"), Some(1500));
    assert_eq!(at("offer_help"), Some(3100));
    assert_eq!(at("rings"), None, "no evidence, no time");

    let msgs = rt.effect(Effect::Play {
        id: id.clone(),
        from_ms: 3100,
    });
    assert_eq!(msgs, vec![Msg::Playing { from_ms: 3100 }]);
    // The null sink consumes in real time: the position moves on from 3.1 s.
    let t = Instant::now();
    let pos = loop {
        match rt.position() {
            Some(p) if p > 3100 => break p,
            Some(_) if t.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(10))
            }
            other => panic!("playback did not advance: {other:?}"),
        }
    };
    assert!(pos < 6000, "{pos}");
    assert_eq!(rt.effect(Effect::StopPlay), vec![Msg::PlayEnded]);
    assert_eq!(rt.position(), None);

    let msgs = rt.effect(Effect::Progress("li.na".into()));
    let [Msg::Progress(p)] = &msgs[..] else {
        panic!("{msgs:?}")
    };
    assert_eq!(p.scores, vec![(started, 100.0)]);
    assert_eq!(p.passed, 1);
}

#[test]
fn actions_on_an_interrupted_attempt_fail_with_a_message_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut rec = store
        .begin(
            AttemptInfo {
                scenario: "answer-call".into(),
                rubric_sha256: String::new(),
                model: "m".into(),
                trainee: "li.na".into(),
                device: "test".into(),
                org: String::new(),
                started: Timestamp::parse("2026-11-20T09:00:00Z").unwrap(),
                sitting: None,
            },
            AudioFormat::SPEECH,
        )
        .unwrap();
    rec.push_i16(&fixture::tone()).unwrap();
    let id = rec.id().clone();
    // The recorder dies without finishing: the next open recovers it as interrupted.
    drop(rec);
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let mut rt = runtime(store);
    let view = rt.open(&id).unwrap();
    assert!(view.checks.is_empty() && view.score.is_none());
    let msgs = rt.effect(Effect::Correct {
        id: id.clone(),
        turns: vec!["您好".into()],
    });
    let [Msg::Failed(e)] = &msgs[..] else {
        panic!("{msgs:?}")
    };
    assert!(e.contains("interrupted"), "{e}");
    let a = rt.store.load(&id).unwrap();
    assert!(a.corrected_transcript.is_none() && a.audit.is_empty());
    // Its recording still plays.
    assert_eq!(
        rt.effect(Effect::Play { id, from_ms: 0 }),
        vec![Msg::Playing { from_ms: 0 }]
    );
}
