//! A small attempts store for the review and report tests: attempts saved through the
//! store's API with reports from the real grader on real reply texts, at fixed times.
#![allow(dead_code)]

use std::path::Path;

use ringcoach::grading::{Call, Heard, Org, Pickup, Verdict};
use ringcoach::scenario::Catalog;
use ringcoach::store::{AttemptId, AttemptInfo, AudioFormat, Outcome, Store, Timestamp};

pub const BIN: &str = env!("CARGO_BIN_EXE_ringcoach");

/// Half a second of a quiet tone: the reports do not depend on the audio.
pub fn tone() -> Vec<i16> {
    (0..8000)
        .map(|i| ((i as f32 * 0.07).sin() * 4000.0) as i16)
        .collect()
}

/// Grades `text` as a reply to `scenario` (picked up on ring 1, for 广利物业) and saves it.
pub fn attempt(
    store: &Store,
    trainee: &str,
    scenario: &str,
    text: &str,
    started: &str,
    samples: &[i16],
) -> AttemptId {
    let cat = Catalog::builtin().unwrap();
    let sc = cat.get(scenario).unwrap();
    let call = Call {
        turns: vec![Heard::text(text)],
        pickup: Pickup::Rings(1),
        org: Org::given("广利物业"),
    };
    let report = call.grade(sc, &cat.phrasebook);
    let started = Timestamp::parse(started).unwrap();
    let info = AttemptInfo {
        scenario: scenario.into(),
        rubric_sha256: report.rubric_sha256.clone(),
        model: "ggml-base-q5_1".into(),
        trainee: trainee.into(),
        device: "USB Headset".into(),
        org: String::new(),
        started,
        sitting: None,
    };
    let outcome = Outcome {
        transcript: call.turns[0].transcript.clone(),
        score: f64::from(report.score),
        passed: report.passed,
        needs_review: report
            .checks
            .iter()
            .any(|c| c.verdict == Verdict::Uncertain),
        report: serde_json::to_value(&report).unwrap(),
        finished: Timestamp::from_unix_ms(started.unix_ms() + 8_000),
    };
    store
        .save(info, AudioFormat::SPEECH, samples, outcome)
        .unwrap()
        .id
}

/// Three attempts by li.na (improving) and one by zhang, oldest first.
pub fn make(dir: &Path) -> Vec<AttemptId> {
    let store = Store::open(dir).unwrap();
    let s = tone();
    vec![
        attempt(
            &store,
            "li.na",
            "answer-call",
            "喂,你好,光力物业,有什么事?",
            "2026-11-20T09:00:00Z",
            &s,
        ),
        attempt(
            &store,
            "zhang",
            "answer-call",
            "您好,广利物业。",
            "2026-11-21T10:00:00Z",
            &s,
        ),
        attempt(
            &store,
            "li.na",
            "answer-call",
            "你好,广利物业,请问有什么可以帮您?",
            "2026-11-22T09:30:00Z",
            &s,
        ),
        attempt(
            &store,
            "li.na",
            "answer-call",
            "您好,广利物业,请问有什么可以帮您?",
            "2026-11-24T14:00:00Z",
            &s,
        ),
    ]
}

/// `text` with each attempt id replaced by `<attempt N>` (ids hold a random part).
pub fn redact(text: &str, ids: &[AttemptId]) -> String {
    ids.iter().enumerate().fold(text.to_string(), |t, (i, id)| {
        t.replace(id.as_str(), &format!("<attempt {}>", i + 1))
    })
}

/// RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) into rows of cells.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// Facts of a turn's audio that put its speech rate at about 150 characters a minute.
pub fn facts(chars: usize) -> ringcoach::audio::facts::AudioFacts {
    ringcoach::audio::facts::AudioFacts {
        duration_ms: 400 * chars as u64 + 1_000,
        first_words_ms: Some(400),
        speaking_ms: 400 * chars as u64,
        pauses: 0,
        longest_pause_ms: 0,
        loudness_dbfs: -20.0,
        peak_dbfs: -6.0,
        clipped_fraction: 0.0,
        // A clean headset recording: quiet room, no echo to speak of.
        noise_floor_dbfs: -70.0,
        snr_db: Some(50.0),
        decay_ms: None,
    }
}

/// A call of several trainee turns, each with its own audio facts, graded and saved as
/// practice saves one: the turns' transcripts one per line.
pub fn call_attempt(
    store: &Store,
    trainee: &str,
    scenario: &str,
    turns: &[&str],
    started: &str,
) -> AttemptId {
    let cat = Catalog::builtin().unwrap();
    let sc = cat.get(scenario).unwrap();
    let call = Call {
        turns: turns
            .iter()
            .map(|t| Heard {
                facts: Some(facts(ringcoach::text::normalize(t).chars().count())),
                ..Heard::text(*t)
            })
            .collect(),
        // Picked up on the second ring, 5.3 s after the first began, as practice counts it.
        pickup: Pickup::Counted {
            rings: 2,
            after_ms: 5_300,
        },
        org: Org::given("广利物业"),
    };
    let report = call.grade(sc, &cat.phrasebook);
    let started = Timestamp::parse(started).unwrap();
    let info = AttemptInfo {
        scenario: scenario.into(),
        rubric_sha256: report.rubric_sha256.clone(),
        model: "ggml-base-q5_1".into(),
        trainee: trainee.into(),
        device: "USB Headset".into(),
        org: String::new(),
        started,
        sitting: None,
    };
    let outcome = Outcome {
        transcript: ringcoach::transcribe::Transcript {
            text: turns.join("\n"),
            segments: vec![],
            cut_off: None,
        },
        score: f64::from(report.score),
        passed: report.passed,
        needs_review: report
            .checks
            .iter()
            .any(|c| c.verdict == Verdict::Uncertain),
        report: serde_json::to_value(&report).unwrap(),
        finished: Timestamp::from_unix_ms(started.unix_ms() + 20_000),
    };
    store
        .save(info, AudioFormat::SPEECH, &tone(), outcome)
        .unwrap()
        .id
}
