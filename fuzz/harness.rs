//! The bodies of the fuzz targets, shared by the libFuzzer binaries (`fuzz/fuzz_targets`,
//! run by `scripts/fuzz`) and the corpus replay in the test suite (`tests/fuzz_corpus.rs`).
//! Each takes arbitrary bytes and must neither panic nor break an invariant the rest of
//! the product relies on (samples within full scale, a score within 0–100, a pass that
//! no critical failure contradicts, problems that point at a real line).
#![allow(dead_code)] // each binary uses one target

use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use ringcoach::audio::{facts, wav};
use ringcoach::config::Config;
use ringcoach::grading::{self, Call, Heard, Org, Pickup, Report, Verdict};
use ringcoach::scenario::{self, Catalog, Problem};
use ringcoach::store;

/// A target's body.
pub type Target = fn(&[u8]);

/// The targets by name, as `scripts/fuzz` and the replay test know them.
pub const TARGETS: &[(&str, Target)] = &[
    ("wav", wav),
    ("scenario", scenario),
    ("config", config),
    ("grade", grade),
    ("store_json", store_json),
];

fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| Catalog::builtin().expect("the built-in catalog loads"))
}

/// The WAV reader on any bytes, then what every file goes through after it: 16 kHz, and
/// the signal facts.
pub fn wav(data: &[u8]) {
    let Ok(pcm) = wav::read_wav_from(
        Cursor::new(data),
        data.len() as u64,
        Path::new("fuzz.wav"),
        Duration::from_secs(60),
    ) else {
        return;
    };
    assert!(!pcm.samples.is_empty(), "an empty file is refused");
    assert!(
        pcm.samples.iter().all(|s| s.is_finite() && s.abs() <= 1.0),
        "samples beyond full scale or not numbers got through"
    );
    assert!(wav::SAMPLE_RATES.contains(&pcm.sample_rate));
    // Resampling a long clip at an odd rate takes long; the short ones are enough here.
    if pcm.samples.len() > 48_000 {
        return;
    }
    let samples = pcm.to_16k().expect("an accepted rate resamples");
    assert!(samples.iter().all(|s| s.is_finite()));
    let f = facts::measure(&samples);
    assert!(f.loudness_dbfs.is_finite() && f.peak_dbfs.is_finite());
    assert!((0.0..=1.0).contains(&f.clipped_fraction));
}

fn located(problems: &[Problem], src: &str) {
    let lines = src.lines().count().max(1) + 1;
    for p in problems {
        assert!(p.line >= 1 && p.line <= lines, "{p} is past the end");
        assert!(p.col >= 1, "{p}");
        assert!(!p.message.contains('\n'), "{p}: one line");
    }
}

/// Report invariants: what the rest of the product (review, reports, certificates)
/// assumes of every report the grader makes.
fn sound(r: &Report, pass_mark: f64) {
    assert!(r.score <= 100, "score {}", r.score);
    let critical_fail = r
        .checks
        .iter()
        .any(|c| c.critical && c.verdict == Verdict::Fail);
    if r.passed {
        assert!(!critical_fail, "passed with a critical failure");
        assert!(
            f64::from(r.score) >= pass_mark,
            "passed below the pass mark"
        );
    }
    let n = r.normalized.chars().count();
    for c in &r.checks {
        assert!(c.weight.is_finite() && c.weight >= 0.0);
        for e in &c.evidence {
            assert!(e.start <= e.end && e.end <= n, "evidence outside the text");
        }
    }
    serde_json::to_string(r).expect("a report serialises");
}

/// A scenario file, a phrase book and an org profile from any text; what parses is graded.
pub fn scenario(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let cat = catalog();
    match scenario::parse_scenario("fuzz.toml", src) {
        Err(p) => located(&p, src),
        Ok(sc) => {
            let _ = scenario::rubric_sha256(&sc, &cat.phrasebook);
            let mark = sc
                .rubric
                .pass_mark
                .unwrap_or(cat.phrasebook.settings.pass_mark);
            for a in sc.model_answers.get_ref() {
                let r = grading::grade_model_answer(&sc, &cat.phrasebook, &cat.org, a);
                sound(&r, mark);
            }
        }
    }
    match scenario::parse_phrasebook("phrases.toml", src) {
        Err(p) => located(&p, src),
        Ok(book) => {
            let s = &book.settings;
            assert!((0.0..=100.0).contains(&s.pass_mark) && s.max_rings >= 1);
            assert!((0.0..=1.0).contains(&s.uncertain_credit));
            for sc in cat.scenarios.iter().take(2) {
                for a in sc.model_answers.get_ref() {
                    let r = grading::grade_model_answer(sc, &book, &cat.org, a);
                    sound(&r, sc.rubric.pass_mark.unwrap_or(s.pass_mark));
                }
            }
        }
    }
    if let Err(p) = scenario::parse_org("org.toml", src) {
        located(&p, src);
    }
}

/// The user's config file from any text: what parses is within range.
pub fn config(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(src, Path::new("config.toml")) {
        Ok(c) => {
            assert!((200..=10_000).contains(&c.audio.hangover_ms));
            assert!((1_000..=120_000).contains(&c.audio.max_wait_ms));
            assert!((5..=600).contains(&c.audio.max_reply_s));
            assert!((100.0..=3400.0).contains(&c.ring.tone_hz));
            let _ = c.ring.cadence(catalog().phrasebook.settings.ring_cadence());
        }
        Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
    }
}

/// The grader on arbitrary text: the first byte picks the scenario and the pickup, each
/// line is a trainee turn.
pub fn grade(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let cat = catalog();
    let sc = &cat.scenarios[usize::from(pick) % cat.scenarios.len()];
    let turns: Vec<Heard> = text.split('\n').take(8).map(Heard::text).collect();
    let pickup = match pick % 3 {
        0 => Pickup::Unknown,
        1 => Pickup::Rings(u32::from(pick % 7) + 1),
        _ => Pickup::AfterMs(u64::from(pick) * 997),
    };
    let org = match pick % 2 {
        0 => Org::given(text.lines().next().unwrap_or("广利物业")),
        _ => Org::given("广利物业"),
    };
    let org = if org.name.trim().is_empty() {
        Org::given("广利物业")
    } else {
        org
    };
    let r = Call { turns, pickup, org }.grade(sc, &cat.phrasebook);
    sound(
        &r,
        sc.rubric
            .pass_mark
            .unwrap_or(cat.phrasebook.settings.pass_mark),
    );
}

/// The store's readers of attempt files on any bytes: the first byte picks the file.
pub fn store_json(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    const NAMES: [&str; 7] = [
        "meta.json",
        "started.json",
        "transcript.json",
        "report.json",
        "transcript.corrected.json",
        "report.regraded.json",
        "audit.jsonl",
    ];
    let name = NAMES[usize::from(pick) % NAMES.len()];
    if name == "audit.jsonl" {
        let (entries, bad) = store::parse_audit(rest);
        let lines = rest.split(|&b| b == b'\n').count();
        assert!(entries.len() + bad <= lines);
    } else {
        let _ = store::parse_attempt_file(name, rest);
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(rest) {
        if let Some((score, _, _)) = store::grade_of(&v) {
            assert!(score.is_finite());
        }
    }
    if let Ok(s) = std::str::from_utf8(rest) {
        let _ = store::AttemptId::parse(s);
        let _ = store::parse_age(s);
        if let Ok(t) = store::Timestamp::parse(s) {
            let again = store::Timestamp::parse(&t.to_rfc3339()).expect("round trip");
            assert_eq!(again, t);
        }
    }
}
