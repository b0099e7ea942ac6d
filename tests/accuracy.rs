//! Whole grades on spoken replies, heard by the real model and asked about the words that
//! decide their checks: the part of the accuracy sweep CI runs (the whole sweep, every model
//! answer of every scenario by both speakers at 1.0×, 1.2×, 1.3× and at arm's length, is
//! `scripts/accuracy-sweep`, run by hand; its table is in the README).
//!
//! A correct model answer must pass with no phrase check failed (uncertain is allowed: a
//! trainer listens), and a rude reply must never pass its banned-phrase check. The cases are
//! the ones base Whisper got wrong before the model was asked: 广利物业 heard as 广立物业,
//! fee-reminder's must-say items, a 喂 dropped at 1.3×, a lone 喂? heard as 不误会, 喂,你找谁?
//! heard as 为你找谁, 有本事就去投诉我 heard as …投足我.

mod support;

use std::path::PathBuf;

use ringcoach::grading::{Org, Pickup, Report, Verdict};
use ringcoach::scenario::{phrases, Catalog, ORG_PLACEHOLDER};
use support::speech::*;

/// How the trainee spoke, not what: a reply voiced at 1.3× may rightly be too fast.
const DELIVERY: &[&str] = &[
    "speech_rate",
    "loudness",
    "clipping",
    "first_words",
    "rings",
    "audio",
];

struct Case<'a> {
    scenario: &'a str,
    /// A model answer by index, or one rude line.
    what: What<'a>,
    compose: &'a [&'a str],
}

enum What<'a> {
    ModelAnswer(usize),
    Rude(&'a str),
}

fn hear(c: &Case, catalog: &Catalog, org: &Org, dir: &std::path::Path) -> Report {
    let sc = catalog.get(c.scenario).unwrap();
    let lines: Vec<String> = match c.what {
        What::ModelAnswer(i) => phrases(&sc.model_answers.get_ref()[i].turns)
            .map(str::to_string)
            .collect(),
        What::Rude(l) => vec![l.to_string()],
    };
    let wavs: Vec<PathBuf> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let line = speakable(&line.replace(ORG_PLACEHOLDER, &org.name));
            compose(dir, &format!("turn{i}.wav"), &line, c.compose)
        })
        .collect();
    let mut t = transcriber();
    hear_call(&mut t, sc, catalog, org, &wavs, Pickup::Rings(2))
}

fn describe(c: &Case, r: &Report) -> String {
    let what = match c.what {
        What::ModelAnswer(i) => format!("model answer #{}", i + 1),
        What::Rude(l) => format!("「{l}」"),
    };
    let checks: Vec<String> = r
        .attention()
        .map(|c| format!("{} {}", c.verdict, c.id))
        .collect();
    let readings: Vec<String> = r
        .readings
        .iter()
        .map(|rd| {
            format!(
                "{} 「{}」 for 「{}」 {}",
                rd.check,
                rd.phrase,
                rd.heard,
                rd.margin.map_or("-".into(), |m| format!("{m:.1}"))
            )
        })
        .collect();
    format!(
        "{} {what} {:?}: heard {:?}; {}; asked: {}",
        c.scenario,
        c.compose,
        r.transcript,
        checks.join(", "),
        readings.join("; ")
    )
}

#[test]
fn correct_answers_pass_with_no_phrase_check_failed() {
    let _lock = model_lock();
    let catalog = Catalog::builtin().unwrap();
    let org = Org::resolve(None, &catalog.org).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        // 广利物业 heard as 广立物业 (same syllables, same tones).
        Case {
            scenario: "answer-call",
            what: What::ModelAnswer(0),
            compose: &["--speaker", "mixed"],
        },
        Case {
            scenario: "answer-call",
            what: What::ModelAnswer(0),
            compose: &["--speaker", "syllables", "--speed", "1.3"],
        },
        Case {
            scenario: "answer-call",
            what: What::ModelAnswer(0),
            compose: &["--speaker", "mixed", "--room-ms", "300"],
        },
        // Two must-say items failed on this correct reply.
        Case {
            scenario: "fee-reminder",
            what: What::ModelAnswer(0),
            compose: &["--speaker", "mixed"],
        },
    ];
    let mut wrong = Vec::new();
    let mut uncertain = 0;
    for c in &cases {
        let r = hear(c, &catalog, &org, dir.path());
        println!("{}", describe(c, &r));
        let phrase = r
            .checks
            .iter()
            .filter(|k| !DELIVERY.contains(&k.category.as_str()));
        let mut failed = false;
        for k in phrase {
            match k.verdict {
                Verdict::Fail => failed = true,
                Verdict::Uncertain => uncertain += 1,
                _ => {}
            }
        }
        if failed || !r.passed {
            wrong.push(describe(c, &r));
        }
    }
    println!(
        "{} correct answers: {} wrongly failed, {uncertain} uncertain phrase checks",
        cases.len(),
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "correct answers failed:\n{}",
        wrong.join("\n")
    );
}

/// The mark the grader is held to, on a sample of the sweep (`scripts/accuracy-sweep
/// --conditions mark`): correct answers spoken by both speakers at 1.0 and 1.2 all pass,
/// no phrase check fails and at most 2 are uncertain over the whole sample. Each case came
/// back uncertain or failed before: a name or phrase heard one syllable off (王立物业,
/// 关有别的事吗, 请问您贵信, 请为我能帮您闲妈妈), a polyphone (飞,长报线 for 非常抱歉: 长 is
/// also chang), 维修 heard as 为充 (请问您室内哪里要维修).
#[test]
fn correct_answers_at_speed_1_0_and_1_2_pass_with_at_most_two_doubts() {
    let _lock = model_lock();
    let catalog = Catalog::builtin().unwrap();
    let org = Org::resolve(None, &catalog.org).unwrap();
    let dir = tempfile::tempdir().unwrap();
    const SYLLABLES_10: &[&str] = &["--speaker", "syllables", "--speed", "1.0"];
    const SYLLABLES_12: &[&str] = &["--speaker", "syllables", "--speed", "1.2"];
    const MIXED_10: &[&str] = &["--speaker", "mixed", "--speed", "1.0"];
    const MIXED_12: &[&str] = &["--speaker", "mixed", "--speed", "1.2"];
    let cases = [
        ("outgoing-call", 0, SYLLABLES_10),
        ("answer-call", 0, SYLLABLES_12),
        ("cannot-hear", 2, SYLLABLES_12),
        ("repair-request", 0, SYLLABLES_12),
        ("transfer-call", 0, MIXED_10),
        ("end-call", 1, MIXED_12),
    ]
    .map(|(scenario, i, compose)| Case {
        scenario,
        what: What::ModelAnswer(i),
        compose,
    });
    let mut wrong = Vec::new();
    let mut doubts = Vec::new();
    for c in &cases {
        let r = hear(c, &catalog, &org, dir.path());
        println!("{}", describe(c, &r));
        for k in r
            .checks
            .iter()
            .filter(|k| !DELIVERY.contains(&k.category.as_str()))
        {
            match k.verdict {
                Verdict::Fail => wrong.push(describe(c, &r)),
                Verdict::Uncertain => doubts.push(format!("{}: {}", k.id, describe(c, &r))),
                _ => {}
            }
        }
        if !r.passed {
            wrong.push(describe(c, &r));
        }
    }
    println!(
        "{} correct answers: {} failed checks or calls, {} uncertain phrase checks",
        cases.len(),
        wrong.len(),
        doubts.len()
    );
    assert!(
        wrong.is_empty(),
        "correct answers failed:\n{}",
        wrong.join("\n")
    );
    assert!(
        doubts.len() <= 2,
        "more than 2 uncertain phrase checks:\n{}",
        doubts.join("\n")
    );
}

#[test]
fn rude_replies_never_pass_their_banned_phrase() {
    let _lock = model_lock();
    let catalog = Catalog::builtin().unwrap();
    let org = Org::resolve(None, &catalog.org).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        Case {
            scenario: "answer-call",
            what: What::Rude("喂,您好,{org},请问有什么可以帮您?"),
            compose: &["--speaker", "mixed", "--speed", "1.3"],
        },
        Case {
            scenario: "answer-call",
            what: What::Rude("喂,您好,{org},请问有什么可以帮您?"),
            compose: &["--speaker", "syllables", "--speed", "1.3"],
        },
        Case {
            scenario: "answer-call",
            what: What::Rude("喂?"),
            compose: &["--speaker", "mixed"],
        },
        Case {
            scenario: "answer-call",
            what: What::Rude("喂,你找谁?"),
            compose: &["--speaker", "syllables"],
        },
        Case {
            scenario: "complaint-call",
            what: What::Rude("有本事就去投诉我。"),
            compose: &["--speaker", "mixed"],
        },
    ];
    let mut missed = Vec::new();
    for c in &cases {
        let r = hear(c, &catalog, &org, dir.path());
        println!("{}", describe(c, &r));
        let banned: Vec<Verdict> = r
            .checks
            .iter()
            .filter(|k| k.category == "banned_phrase")
            .map(|k| k.verdict)
            .collect();
        if !banned
            .iter()
            .any(|v| matches!(v, Verdict::Fail | Verdict::Uncertain))
        {
            missed.push(describe(c, &r));
        }
    }
    assert!(
        missed.is_empty(),
        "a banned phrase passed:\n{}",
        missed.join("\n")
    );
}
