//! The grader asking the model about the words that decide its checks, with a stand-in
//! transcriber that answers set margins: which readings are asked, and what each answer
//! does to a verdict. The real model on real voices is in `tests/accuracy.rs`,
//! `tests/verify.rs` and `tests/rooms.rs`.

use std::collections::HashMap;
use std::time::Duration;

use ringcoach::audio::wav::WavFormat;
use ringcoach::grading::{questions, Call, Heard, Org, Pickup, Report, Verdict};
use ringcoach::scenario::Catalog;
use ringcoach::transcribe::clip::hear_samples_asking;
use ringcoach::transcribe::verify::Scored;
use ringcoach::transcribe::{
    Reading, ReadingScore, ScoreError, TranscribeError, Transcriber, Transcript, Worker,
};

/// Hears `text` whatever the audio, and scores a reading with the margin set for it
/// (`default` for any other); remembers what it was asked.
struct Fake {
    text: String,
    margins: HashMap<String, f32>,
    default: Option<f32>,
    asked: Vec<String>,
}

impl Fake {
    fn new(text: &str, margins: &[(&str, f32)], default: Option<f32>) -> Fake {
        Fake {
            text: text.into(),
            margins: margins.iter().map(|(r, m)| (r.to_string(), *m)).collect(),
            default,
            asked: Vec::new(),
        }
    }
}

impl Transcriber for Fake {
    fn transcribe(&mut self, _: &[f32]) -> Result<Transcript, TranscribeError> {
        Ok(Transcript {
            text: self.text.clone(),
            segments: vec![],
            cut_off: None,
        })
    }

    fn score_readings(&mut self, readings: &[Reading]) -> Scored {
        self.asked.extend(readings.iter().map(|r| r.text.clone()));
        let Some(default) = self.default else {
            return Err(ScoreError::NotSupported);
        };
        Ok(readings
            .iter()
            .map(|r| {
                // As the real scorer: the transcript itself is as likely as itself.
                let margin = if r.text == self.text {
                    0.0
                } else {
                    self.margins.get(&r.text).copied().unwrap_or(default)
                };
                Ok(ReadingScore {
                    text: r.text.clone(),
                    scored_text: r.text.clone(),
                    logprob: margin - 5.0,
                    token_logprobs: vec![margin - 5.0],
                    free_logprob: -5.0,
                    free_token_logprobs: vec![-5.0],
                    margin,
                })
            })
            .collect())
    }
}

fn format() -> WavFormat {
    WavFormat {
        sample_rate: 16_000,
        channels: 1,
        bits_per_sample: 16,
        float: false,
    }
}

/// Grades one call whose turns the fake hears as `turns`, asking what the grader asks.
fn grade(
    scenario: &str,
    turns: &[&str],
    margins: &[(&str, f32)],
    default: Option<f32>,
) -> (Report, Vec<String>) {
    let c = Catalog::builtin().unwrap();
    let sc = c.get(scenario).unwrap();
    let org = Org::resolve(None, &c.org).unwrap();
    let mut heard: Vec<Heard> = Vec::new();
    let mut asked = Vec::new();
    for (i, text) in turns.iter().enumerate() {
        let mut fake = Fake::new(text, margins, default);
        let ask = |t: &Transcript| questions(sc, &c.phrasebook, &org, &heard, i, turns.len(), t);
        let h = hear_samples_asking(&mut fake, &[0.0; 1600], format(), &ask).unwrap();
        asked.extend(fake.asked);
        heard.push(Heard {
            transcript: h.transcript,
            facts: None,
            readings: h.readings,
        });
    }
    let call = Call {
        turns: heard,
        pickup: Pickup::Rings(1),
        org,
    };
    (call.grade(sc, &c.phrasebook), asked)
}

fn check<'r>(r: &'r Report, id: &str) -> &'r ringcoach::grading::Check {
    r.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

const MISHEARD: &str = "您好,广立物业,请问有什么可以帮您?";

#[test]
fn a_misheard_opening_asks_about_the_organisation_and_a_wei_at_the_onset() {
    let (_, asked) = grade("answer-call", &[MISHEARD], &[], Some(-20.0));
    assert!(
        asked.contains(&"您好,广利物业,请问有什么可以帮您?".to_string()),
        "{asked:?}"
    );
    assert!(
        asked.contains(&"喂,您好,广立物业,请问有什么可以帮您?".to_string()),
        "{asked:?}"
    );
    // Nothing else: the greeting and the offer of help are there as they should be.
    assert_eq!(asked.len(), 2, "{asked:?}");
}

#[test]
fn the_organisation_passes_when_about_as_likely_and_the_report_says_how_likely() {
    let right = "您好,广利物业,请问有什么可以帮您?";
    for (margin, verdict) in [
        (-2.3, Verdict::Pass),
        // In between, but 广立物业 sounds like 广利物业: the text and the model agree.
        (-6.0, Verdict::Pass),
        // Clearly less: the text's verdict (a homophone: uncertain) stands.
        (-12.0, Verdict::Uncertain),
    ] {
        let (r, _) = grade("answer-call", &[MISHEARD], &[(right, margin)], Some(-20.0));
        let c = check(&r, "organisation");
        assert_eq!(c.verdict, verdict, "margin {margin}: {}", c.message.en);
        assert!(
            c.message.en.contains(&format!("margin {margin:.1}")),
            "{}",
            c.message.en
        );
        assert_eq!(c.evidence[0].text, "广立物业");
        let asked = r
            .readings
            .iter()
            .find(|x| x.check == "organisation")
            .unwrap();
        assert_eq!(
            (asked.phrase.as_str(), asked.heard.as_str()),
            ("广利物业", "广立物业")
        );
        assert_eq!(asked.margin, Some(margin));
    }
}

#[test]
fn in_between_passes_only_what_sounds_like_the_phrase() {
    // Two syllables off in four (寡立物月 for 广利物业): in between stays uncertain.
    let heard = "您好,寡立物月,请问有什么可以帮您?";
    let right = "您好,广利物业,请问有什么可以帮您?";
    let (r, _) = grade("answer-call", &[heard], &[(right, -6.0)], Some(-20.0));
    let c = check(&r, "organisation");
    assert_eq!(c.verdict, Verdict::Uncertain, "{}", c.message.en);
    assert!(c.message.en.contains("margin -6.0"), "{}", c.message.en);
    // One syllable off (王立物业): it passes, and says why.
    let heard = "您好,王立物业,请问有什么可以帮您?";
    let (r, _) = grade("answer-call", &[heard], &[(right, -6.0)], Some(-20.0));
    let c = check(&r, "organisation");
    assert_eq!(c.verdict, Verdict::Pass, "{}", c.message.en);
    assert!(
        c.message.en.contains("sounds like 「王立物业」"),
        "{}",
        c.message.en
    );
    let asked = r
        .readings
        .iter()
        .find(|x| x.check == "organisation")
        .unwrap();
    assert!(asked.sounds_alike);
    // Clearly less likely, it is not passed for sounding alike.
    let (r, _) = grade("answer-call", &[heard], &[(right, -9.0)], Some(-20.0));
    assert_eq!(check(&r, "organisation").verdict, Verdict::Uncertain);
}

#[test]
fn ni_for_nin_is_never_passed_on_the_models_word() {
    let heard = "你好,广利物业,请问有什么可以帮您?";
    let nin = "您好,广利物业,请问有什么可以帮您?";
    let (r, _) = grade("answer-call", &[heard], &[(nin, -0.5)], Some(-20.0));
    let c = check(&r, "greeting");
    assert_eq!(c.verdict, Verdict::Uncertain, "{}", c.message.en);
    assert!(c.message.zh.contains("请回听"), "{}", c.message.zh);
    // Clearly less likely: 你好 fails as the text says.
    let (r, _) = grade("answer-call", &[heard], &[(nin, -9.0)], Some(-20.0));
    assert_eq!(check(&r, "greeting").verdict, Verdict::Fail);
}

#[test]
fn a_mangled_greeting_passes_when_the_model_finds_ninhao_about_as_likely() {
    let heard = "您讨,广利物业,请问有什么可以帮您?";
    let fixed = "您好,广利物业,请问有什么可以帮您?";
    let (r, _) = grade("answer-call", &[heard], &[(fixed, -1.5)], Some(-20.0));
    assert_eq!(check(&r, "greeting").verdict, Verdict::Pass);
    assert_eq!(check(&r, "opening_order").verdict, Verdict::Pass);
    let (r, _) = grade("answer-call", &[heard], &[(fixed, -15.0)], Some(-20.0));
    assert_eq!(check(&r, "greeting").verdict, Verdict::Fail);
}

#[test]
fn a_wei_heard_as_another_word_may_have_been_said_and_never_passes_silently() {
    // 喂,你找谁? heard as 为你找谁?: 喂 is asked in place of 为.
    let heard = "为你找谁?";
    let (r, asked) = grade("answer-call", &[heard], &[("喂你找谁?", -3.0)], Some(-20.0));
    assert!(asked.contains(&"喂你找谁?".to_string()), "{asked:?}");
    let c = check(&r, "banned_phrase:wei");
    assert_eq!(c.verdict, Verdict::Uncertain, "{}", c.message.en);
    assert!(c.message.en.contains("may have said"), "{}", c.message.en);
    assert_eq!(c.evidence[0].text, "为");
    // Clearly less likely: the text stands.
    let (r, _) = grade(
        "answer-call",
        &[heard],
        &[("喂你找谁?", -12.0)],
        Some(-20.0),
    );
    assert_eq!(check(&r, "banned_phrase:wei").verdict, Verdict::Pass);
}

#[test]
fn a_lone_short_reply_is_asked_whether_it_was_wei() {
    let (r, asked) = grade("answer-call", &["不误会"], &[("喂", -6.0)], Some(-20.0));
    assert!(asked.contains(&"喂".to_string()), "{asked:?}");
    assert!(asked.contains(&"喂,不误会".to_string()), "{asked:?}");
    assert_eq!(check(&r, "banned_phrase:wei").verdict, Verdict::Uncertain);
    // 喂 at the onset, about as likely: uncertain too.
    let (r, _) = grade(
        "answer-call",
        &[MISHEARD],
        &[("喂,您好,广立物业,请问有什么可以帮您?", -2.9)],
        Some(-20.0),
    );
    assert_eq!(check(&r, "banned_phrase:wei").verdict, Verdict::Uncertain);
}

#[test]
fn a_banned_phrase_the_text_has_fails_whatever_the_model_says() {
    let (r, _) = grade(
        "answer-call",
        &["喂,您好,广利物业,请问有什么可以帮您?"],
        &[],
        Some(0.0),
    );
    assert_eq!(check(&r, "banned_phrase:wei").verdict, Verdict::Fail);
    assert!(!r.passed);
}

#[test]
fn a_rude_phrase_misheard_by_a_syllable_is_asked_about() {
    let (r, asked) = grade(
        "complaint-call",
        &["您好,广利物业,请问有什么可以帮您?", "有本事就去投足我"],
        &[("有本事就去投诉我", -0.9)],
        Some(-20.0),
    );
    assert!(asked.contains(&"有本事就去投诉我".to_string()), "{asked:?}");
    let c = check(&r, "banned_phrase:dare-complain");
    assert_eq!(c.verdict, Verdict::Uncertain, "{}", c.message.en);
    assert_eq!(c.evidence[0].text, "投足");
}

#[test]
fn a_closing_word_heard_as_its_homophone_counts_when_about_as_likely() {
    let turns = ["请问您还有其他咨询事项吗?", "不客气,感谢您的来电,在见!"];
    let fixed = "不客气,感谢您的来电,再见!";
    let (r, _) = grade("end-call", &turns, &[(fixed, -1.0)], Some(-20.0));
    assert_eq!(
        check(&r, "closing").verdict,
        Verdict::Pass,
        "{}",
        check(&r, "closing").message.en
    );
    let (r, _) = grade("end-call", &turns, &[(fixed, -20.0)], Some(-20.0));
    assert_eq!(check(&r, "closing").verdict, Verdict::Fail);
}

#[test]
fn a_shaky_exact_phrase_is_the_models_best_reading_and_passes_once_asked() {
    // Without readings (graded from text with token probabilities), a token under 0.4
    // makes the check uncertain; a transcriber asked about it scores the transcript
    // itself (margin 0) and it passes.
    let c = Catalog::builtin().unwrap();
    let sc = c.get("answer-call").unwrap();
    let org = Org::resolve(None, &c.org).unwrap();
    let right = "您好,广利物业,请问有什么可以帮您?";
    let shaky = Transcript {
        text: right.into(),
        segments: vec![ringcoach::transcribe::Segment {
            start_ms: 0,
            end_ms: 1000,
            text: right.into(),
            tokens: right
                .chars()
                .map(|ch| ringcoach::transcribe::Token {
                    text: ch.to_string(),
                    start_ms: 0,
                    end_ms: 1,
                    p: if ch == '利' { 0.2 } else { 0.9 },
                })
                .collect(),
        }],
        cut_off: None,
    };
    let grade_with = |readings| {
        Call {
            turns: vec![Heard {
                transcript: shaky.clone(),
                facts: None,
                readings,
            }],
            pickup: Pickup::Rings(1),
            org: org.clone(),
        }
        .grade(sc, &c.phrasebook)
    };
    assert_eq!(
        check(&grade_with(vec![]), "organisation").verdict,
        Verdict::Uncertain
    );
    let asked = questions(sc, &c.phrasebook, &org, &[], 0, 1, &shaky);
    assert!(asked.iter().any(|r| r.text == right), "{asked:?}");
    let mut fake = Fake::new(right, &[], Some(-20.0));
    let answers = ringcoach::transcribe::verify::ask(&mut fake, asked);
    let r = grade_with(answers);
    assert_eq!(
        check(&r, "organisation").verdict,
        Verdict::Pass,
        "{}",
        check(&r, "organisation").message.en
    );
}

#[test]
fn a_reading_that_cannot_be_scored_leaves_the_text_verdict_and_says_why() {
    let (r, asked) = grade("answer-call", &[MISHEARD], &[], None);
    assert!(!asked.is_empty());
    let c = check(&r, "organisation");
    assert_eq!(c.verdict, Verdict::Uncertain);
    assert!(
        c.message.en.contains("could not be scored"),
        "{}",
        c.message.en
    );
    assert!(r
        .readings
        .iter()
        .all(|x| x.margin.is_none() && x.error.is_some()));
}

#[test]
fn text_grading_asks_nothing_and_reports_no_readings() {
    let c = Catalog::builtin().unwrap();
    let sc = c.get("answer-call").unwrap();
    let call = Call {
        turns: vec![Heard::text(MISHEARD)],
        pickup: Pickup::Rings(1),
        org: Org::resolve(None, &c.org).unwrap(),
    };
    let r = call.grade(sc, &c.phrasebook);
    assert!(r.readings.is_empty());
    let json = serde_json::to_value(&r).unwrap();
    assert!(json.get("readings").is_none(), "{json}");
    // Reports written before readings existed still load.
    let back: Report = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);
}

#[test]
fn every_reading_is_in_the_json_the_text_report_and_a_checks_message() {
    let (r, _) = grade(
        "answer-call",
        &[MISHEARD],
        &[("您好,广利物业,请问有什么可以帮您?", -2.3)],
        Some(-15.0),
    );
    let json = serde_json::to_value(&r).unwrap();
    let rows = json["readings"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{json}");
    let mut text = Vec::new();
    ringcoach::grading::render_text(&r, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("readings asked"), "{text}");
    assert!(
        text.contains("「喂,」 (inserted): -15.0 clearly less likely"),
        "{text}"
    );
    // The 喂 at the onset found clearly less likely is in the passing check's message.
    let wei = check(&r, "banned_phrase:wei");
    assert_eq!(wei.verdict, Verdict::Pass);
    assert!(
        wei.message.en.contains("margin -15.0"),
        "{}",
        wei.message.en
    );
}

#[test]
fn the_worker_asks_right_after_transcribing_and_answers_with_the_transcript() {
    let (tx, rx) = crossbeam_channel::unbounded();
    let w = Worker::spawn(Fake::new(MISHEARD, &[], Some(-3.0)), tx);
    let c = Catalog::builtin().unwrap();
    let sc = c.get("answer-call").unwrap().clone();
    let book = c.phrasebook.clone();
    let org = Org::resolve(None, &c.org).unwrap();
    let ask = std::sync::Arc::new(move |t: &Transcript| questions(&sc, &book, &org, &[], 0, 1, t));
    let mut done = HashMap::new();
    // One at a time: the worker drops a request a newer one overtakes.
    w.submit_asking(1, vec![0.0; 1600], ask).unwrap();
    for id in [1, 2] {
        if id == 2 {
            w.submit(2, vec![0.0; 1600]).unwrap();
        }
        loop {
            if let ringcoach::transcribe::Event::Done {
                id: got, readings, ..
            } = rx.recv_timeout(Duration::from_secs(10)).unwrap()
            {
                done.insert(got, readings);
                break;
            }
        }
    }
    assert_eq!(done[&1].len(), 2, "{:?}", done[&1]);
    assert!(done[&1]
        .iter()
        .all(|a| a.result.as_ref().unwrap().margin == -3.0));
    assert!(done[&2].is_empty());
    w.shutdown();
}

#[test]
fn a_banned_phrase_heard_beyond_a_homophone_is_asked_about_by_its_syllables() {
    // 不知道 in a room heard as 吐池道 (t for b, ch for zh): 不知道 is asked in its place,
    // and unless the model finds it below −12 the check is uncertain.
    for (margin, verdict) in [
        (0.2, Verdict::Uncertain),
        (-11.0, Verdict::Uncertain),
        (-13.0, Verdict::Pass),
    ] {
        let (r, asked) = grade(
            "answer-call",
            &["吐池道"],
            &[("不知道", margin)],
            Some(-20.0),
        );
        assert!(asked.contains(&"不知道".to_string()), "{asked:?}");
        let c = check(&r, "banned_phrase:dont-know");
        assert_eq!(c.verdict, verdict, "margin {margin}: {}", c.message.en);
        let row = r
            .readings
            .iter()
            .find(|x| x.check == "banned_phrase:dont-know" && x.phrase == "不知道")
            .unwrap();
        // The report's row is judged as the check was.
        let clearly_less = row.likeness == Some(ringcoach::transcribe::Likeness::ClearlyLess);
        assert_eq!(clearly_less, verdict == Verdict::Pass, "{row:?}");
    }
    // A correct reply has no stretch near a banned phrase to ask about.
    let (_, asked) = grade("answer-call", &[MISHEARD], &[], Some(-20.0));
    assert_eq!(asked.len(), 2, "{asked:?}");
}

#[test]
fn a_sound_alike_banned_phrase_is_uncertain_down_to_its_own_threshold() {
    // 有本事就去投诉我 at 1.3× heard as …投足我 scored −8.5: below the general −8, above
    // the −12 calibrated for a banned phrase put in place of what was heard.
    let turns = ["您好,广利物业,请问有什么可以帮您?", "有本事就去投足我。"];
    let (r, _) = grade(
        "complaint-call",
        &turns,
        &[("有本事就去投诉我。", -8.5)],
        Some(-20.0),
    );
    let c = check(&r, "banned_phrase:dare-complain");
    assert_eq!(c.verdict, Verdict::Uncertain, "{}", c.message.en);
    let (r, _) = grade(
        "complaint-call",
        &turns,
        &[("有本事就去投诉我。", -12.5)],
        Some(-20.0),
    );
    assert_eq!(
        check(&r, "banned_phrase:dare-complain").verdict,
        Verdict::Pass
    );
}

/// One first turn the fake hears as `text`, from `voiced_ms` of a buzz (so the product's
/// own signal facts see one voiced burst of that length).
fn grade_burst(text: &str, voiced_ms: usize, margins: &[(&str, f32)]) -> Report {
    let c = Catalog::builtin().unwrap();
    let sc = c.get("answer-call").unwrap();
    let org = Org::resolve(None, &c.org).unwrap();
    let mut samples = vec![0.0f32; 8000];
    samples.extend((0..voiced_ms * 16).map(|i| (i as f32 * 0.09).sin() * 0.3));
    samples.extend(std::iter::repeat_n(0.0, 8000));
    let mut fake = Fake::new(text, margins, Some(-20.0));
    let ask = |t: &Transcript| questions(sc, &c.phrasebook, &org, &[], 0, 1, t);
    let h = hear_samples_asking(&mut fake, &samples, format(), &ask).unwrap();
    Call {
        turns: vec![Heard {
            transcript: h.transcript,
            facts: Some(h.facts),
            readings: h.readings,
        }],
        pickup: Pickup::Rings(1),
        org,
    }
    .grade(sc, &c.phrasebook)
}

#[test]
fn a_lone_wei_heard_as_an_english_word_is_judged_on_its_own_threshold() {
    // 喂? at 1.3× heard as "play" scored −8.6 (the general −8 passed it); in place of one
    // short burst heard as one Latin word, 喂 is clearly less likely only below −10.
    let r = grade_burst("play", 300, &[("喂", -8.6)]);
    let c = check(&r, "banned_phrase:wei");
    assert_eq!(c.verdict, Verdict::Uncertain, "{}", c.message.en);
    assert!(c.message.en.contains("may have said"), "{}", c.message.en);
    let r = grade_burst("play", 300, &[("喂", -10.5)]);
    assert_eq!(check(&r, "banned_phrase:wei").verdict, Verdict::Pass);
    // Two syllables' worth of voice (哪位 heard as "ma v" scored −8.6) or Chinese text:
    // the general threshold.
    let r = grade_burst("ma v", 900, &[("喂", -8.6)]);
    assert_eq!(check(&r, "banned_phrase:wei").verdict, Verdict::Pass);
    let r = grade_burst("好", 300, &[("喂", -8.6)]);
    assert_eq!(check(&r, "banned_phrase:wei").verdict, Verdict::Pass);
}
