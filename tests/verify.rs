//! Asking the real Whisper model about alternative readings of real (composed) voices,
//! never cutting a word after a lead silence, and the rude replies the accuracy sweep once
//! passed or left ungraded (a decode that ran away among them).

mod support;

use std::ops::Range;
use std::time::Duration;

use ringcoach::audio::facts::{self, VoicingConfig};
use ringcoach::audio::wav;
use ringcoach::grading::{Org, Pickup, Verdict};
use ringcoach::scenario::Catalog;
use ringcoach::transcribe::{
    clip, CutReason, Likeness, Reading, ScoreError, Thresholds, Transcriber, WhisperTranscriber,
};
use support::speech::*;

const MAX: Duration = Duration::from_secs(600);
const TH: Thresholds = Thresholds::CALIBRATED;
const ANSWER: &str = "您好,广利物业,请问有什么可以帮您?";

/// Letters, digits and Han characters of `s` with their character index.
fn spoken(s: &str) -> (Vec<char>, Vec<usize>) {
    s.chars()
        .enumerate()
        .filter(|(_, c)| c.is_alphanumeric())
        .map(|(i, c)| (c, i))
        .unzip()
}

/// Where in `heard` the spoken characters `span` of `reference` were heard: edit-distance
/// alignment (taking insertions next to the span in), as a grader's homophone matcher
/// would find it.
fn heard_span(reference: &str, heard: &str, span: Range<usize>) -> Range<usize> {
    let (r, _) = spoken(reference);
    let (h, pos) = spoken(heard);
    let (n, m) = (r.len(), h.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, v) in d[0].iter_mut().enumerate() {
        *v = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let sub = d[i - 1][j - 1] + usize::from(r[i - 1] != h[j - 1]);
            d[i][j] = sub.min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
        }
    }
    // The alignment path; the first and last heard boundary at each reference boundary.
    let (mut i, mut j) = (n, m);
    let mut starts = vec![usize::MAX; n + 1];
    let mut ends = vec![0usize; n + 1];
    loop {
        starts[i] = starts[i].min(j);
        ends[i] = ends[i].max(j);
        if i == 0 && j == 0 {
            break;
        }
        if i > 0 && j > 0 && d[i][j] == d[i - 1][j - 1] + usize::from(r[i - 1] != h[j - 1]) {
            i -= 1;
            j -= 1;
        } else if i > 0 && d[i][j] == d[i - 1][j] + 1 {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    let (a, b) = (starts[span.start], ends[span.end]);
    let start = pos
        .get(a)
        .copied()
        .unwrap_or(pos.last().map_or(0, |p| p + 1));
    let end = if b > a { pos[b - 1] + 1 } else { start };
    start..end
}

/// True for a character read "wei" in any tone (为, 位, 未…): where a 喂 may have been
/// heard as another word.
fn sounds_like_wei(c: char) -> bool {
    use pinyin::ToPinyin;
    c.to_pinyin().is_some_and(|p| p.plain() == "wei")
}

fn score_one(t: &mut WhisperTranscriber, reading: Reading) -> f32 {
    let scored = t.score_readings(&[reading]).expect("readings are scored");
    let s = scored
        .into_iter()
        .next()
        .unwrap()
        .expect("this reading maps");
    println!(
        "  {:7.2}  {}  ({} tokens)",
        s.margin,
        s.scored_text,
        s.tokens()
    );
    s.margin
}

#[test]
fn the_right_organisation_for_a_misheard_one_is_about_as_likely_and_a_wrong_one_is_not() {
    let _lock = model_lock();
    let dir = tempfile::tempdir().unwrap();
    let mut t = transcriber();
    let org = 2..6; // 广利物业 in the spoken characters of ANSWER
    for speaker in ["mixed", "syllables"] {
        let wav = compose(
            dir.path(),
            "a.wav",
            ANSWER,
            &["--speaker", speaker, "--lead-ms", "500"],
        );
        let heard = clip::hear_file(&mut t, &wav, MAX).unwrap();
        let text = heard.transcript.text.clone();
        let at = heard_span(ANSWER, &text, org.clone());
        let as_heard: String = text.chars().skip(at.start).take(at.len()).collect();
        println!("{speaker}: heard {text:?}, the organisation as {as_heard:?}");
        if as_heard == "广利物业" {
            // Heard right: the reading is the transcript itself.
            assert_eq!(score_one(&mut t, Reading::new(text.clone())), 0.0);
        } else {
            let m = score_one(
                &mut t,
                Reading::substitute(&text, at.clone(), "广利物业").unwrap(),
            );
            assert_eq!(TH.classify(m), Likeness::AboutAsLikely, "margin {m}");
        }
        // Another organisation in the same place is clearly less likely.
        let m = score_one(&mut t, Reading::substitute(&text, at, "万科物业").unwrap());
        assert_eq!(TH.classify(m), Likeness::ClearlyLess, "margin {m}");
    }
}

#[test]
fn a_wei_spoken_fast_is_heard_or_found_and_a_wei_never_said_is_not() {
    let _lock = model_lock();
    let dir = tempfile::tempdir().unwrap();
    let mut t = transcriber();
    for speaker in ["mixed", "syllables"] {
        // 喂 first at 1.3×: the reply the free decode used to hear as 您好,广立物业….
        let wav = compose(
            dir.path(),
            "wei.wav",
            &format!("喂,{ANSWER}"),
            &["--speaker", speaker, "--speed", "1.3"],
        );
        let text = clip::hear_file(&mut t, &wav, MAX).unwrap().transcript.text;
        println!("{speaker} 1.3×: heard {text:?}");
        if !text.starts_with('喂') {
            // Heard as a near-homophone (为您好…): 喂 in its place; else 喂 in front.
            let reading = match text.chars().next() {
                Some(c) if sounds_like_wei(c) => Reading::substitute(&text, 0..1, "喂").unwrap(),
                _ => Reading::at_onset(&text, "喂,"),
            };
            let m = score_one(&mut t, reading);
            assert_ne!(
                TH.classify(m),
                Likeness::ClearlyLess,
                "a spoken 喂 would pass silently: margin {m}"
            );
        }

        // The same reply without 喂: a 喂 put in front is far less likely.
        let wav = compose(
            dir.path(),
            "plain.wav",
            ANSWER,
            &["--speaker", speaker, "--speed", "1.3"],
        );
        let text = clip::hear_file(&mut t, &wav, MAX).unwrap().transcript.text;
        println!("{speaker} 1.3× without 喂: heard {text:?}");
        assert!(!text.starts_with('喂'), "{text:?}");
        let m = score_one(&mut t, Reading::at_onset(&text, "喂,"));
        assert_eq!(TH.classify(m), Likeness::ClearlyLess, "margin {m}");
        assert!(m < -10.0, "a 喂 never said scores {m}");
    }
}

#[test]
fn a_lone_wei_and_a_misheard_rude_phrase_are_found_in_the_audio() {
    let _lock = model_lock();
    let dir = tempfile::tempdir().unwrap();
    let mut t = transcriber();
    for (line, phrase, span) in [
        ("喂?", "喂", 0..1),
        ("喂,你找谁?", "喂", 0..1),
        ("有本事就去投诉我。", "有本事就去投诉我", 0..8),
    ] {
        let wav = compose(dir.path(), "rude.wav", line, &["--speed", "1.15"]);
        let text = clip::hear_file(&mut t, &wav, MAX).unwrap().transcript.text;
        let at = heard_span(line, &text, span);
        let as_heard: String = text.chars().skip(at.start).take(at.len()).collect();
        println!("{line}: heard {text:?}, {phrase} as {as_heard:?}");
        if as_heard == phrase {
            continue; // heard right: the text alone fails it
        }
        let m = score_one(&mut t, Reading::substitute(&text, at, phrase).unwrap());
        assert_ne!(
            TH.classify(m),
            Likeness::ClearlyLess,
            "{phrase} would pass silently: margin {m}"
        );
    }
}

#[test]
fn readings_come_back_in_order_and_need_a_transcript() {
    let _lock = model_lock();
    let mut t = transcriber();
    let none = t.score_readings(&[Reading::new("喂")]).unwrap_err();
    assert_eq!(none, ScoreError::NothingHeard);
    // Silence: nothing heard, nothing to compare.
    assert!(t.transcribe(&silence(2.0)).unwrap().heard_nothing());
    assert_eq!(
        t.score_readings(&[Reading::new("喂")]).unwrap_err(),
        ScoreError::NothingHeard
    );

    let dir = tempfile::tempdir().unwrap();
    let wav = compose(dir.path(), "a.wav", ANSWER, &[]);
    let text = clip::hear_file(&mut t, &wav, MAX).unwrap().transcript.text;
    let readings = [
        Reading::at_onset(&text, "喂,"),
        Reading::new(text.clone()),
        Reading::substitute(&text, 0..2, "你好").unwrap(),
    ];
    let scored = t.score_readings(&readings).unwrap();
    assert_eq!(scored.len(), 3);
    for (r, s) in readings.iter().zip(&scored) {
        let s = s.as_ref().unwrap();
        assert_eq!(s.text, r.text);
        assert!(s.margin.is_finite());
        assert!((s.logprob - s.token_logprobs.iter().sum::<f32>()).abs() < 1e-3);
        assert!(s.token_logprobs.iter().all(|&lp| lp <= 0.0));
    }
    assert_eq!(scored[1].as_ref().unwrap().margin, 0.0);
    assert!(scored[0].as_ref().unwrap().margin < -5.0);
    // Scoring leaves the transcriber ready for the next reply and the same answers again.
    let again = t.score_readings(&readings).unwrap();
    for (a, b) in scored.iter().zip(&again) {
        let (a, b) = (a.as_ref().unwrap(), b.as_ref().unwrap());
        assert!(
            (a.margin - b.margin).abs() < 1e-3,
            "{} vs {}",
            a.margin,
            b.margin
        );
    }
    let text2 = clip::hear_file(&mut t, &wav, MAX).unwrap().transcript.text;
    assert_eq!(text2, text);
}

#[test]
fn after_a_lead_silence_the_first_word_is_heard_and_nothing_is_cut() {
    let _lock = model_lock();
    let dir = tempfile::tempdir().unwrap();
    let mut t = transcriber();
    for speaker in ["mixed", "syllables"] {
        for lead_ms in [500, 1500, 3000, 4500, 6000] {
            let wav = compose(
                dir.path(),
                "lead.wav",
                ANSWER,
                &["--speaker", speaker, "--lead-ms", &lead_ms.to_string()],
            );
            let samples = wav::read_wav_16k(&wav, MAX).unwrap();
            let heard = clip::hear_file(&mut t, &wav, MAX).unwrap();
            let run = t.last_run().unwrap().clone();
            let text = &heard.transcript.text;
            let first = heard.facts.first_words_ms.unwrap();
            let last_voiced = facts::voiced_regions(&samples, &VoicingConfig::default())
                .last()
                .map(|r| (r.end * 1000 / 16_000) as u64)
                .unwrap();
            let duration = heard.facts.duration_ms;
            println!(
                "{speaker} lead {lead_ms} ms: first words {first} ms, heard {:?}: {text:?}",
                run.heard_ms
            );
            let (start, _) = run.heard_ms[0];
            let (_, end) = *run.heard_ms.last().unwrap();
            assert!(
                start + 200 <= first,
                "Whisper heard from {start} ms, the voice starts at {first} ms"
            );
            assert!(
                end >= (last_voiced + 200).min(duration),
                "Whisper heard up to {end} ms, the voice ends at {last_voiced} ms"
            );
            assert!(
                text.starts_with("您好"),
                "the first word was lost: {text:?}"
            );
        }
    }
}

#[test]
fn a_reply_longer_than_one_window_is_scored_on_the_segments_around_each_change() {
    let _lock = model_lock();
    let dir = tempfile::tempdir().unwrap();
    let mut t = transcriber();
    let line = "您好,广利物业,请问有什么可以帮您?对不起,让您久等了。我们马上安排维修师傅上门。谢谢您的来电,再见。";
    let wav = compose(dir.path(), "long.wav", &format!("{line}{line}"), &[]);
    let heard = clip::hear_file(&mut t, &wav, MAX).unwrap();
    let text = heard.transcript.text.clone();
    println!("{} ms: heard {text:?}", heard.facts.duration_ms);
    assert!(heard.facts.duration_ms > 31_000);
    // 喂 in front (never said) and 再见 at the very end replaced by 拜拜 (not said): each
    // is scored on a window of whole segments around it, and is clearly less likely.
    let n = text.chars().count();
    let end = text.rfind("再见").map(|b| text[..b].chars().count());
    let mut readings = vec![Reading::at_onset(&text, "喂,")];
    if let Some(at) = end {
        readings.push(Reading::substitute(&text, at..at + 2, "拜拜").unwrap());
    }
    let scored = t
        .score_readings(&readings)
        .expect("a long reply is scored in slices");
    for s in &scored {
        let s = s.as_ref().expect("each reading is scored");
        println!("  {:7.2}  {}", s.margin, s.scored_text);
        assert_eq!(TH.classify(s.margin), Likeness::ClearlyLess, "{}", s.margin);
    }
    assert!(end.is_some() && n > 40, "the reply was heard: {text:?}");
}

/// The rude replies `scripts/accuracy-sweep` voiced and the grader passed or could not
/// grade, voiced the same way: each now gets a report whose banned-phrase check for what
/// was said is `fail` or `uncertain`. (scenario, line, banned family, compose.py args, what
/// went wrong before.)
const SWEEP_MISSES: &[(&str, &str, &str, &[&str], &str)] = &[
    (
        "answer-call",
        "喂?",
        "wei",
        &["--speaker", "syllables", "--speed", "1.3"],
        "the decode ran away and wrote nothing: no grade",
    ),
    (
        "answer-call",
        "喂?",
        "wei",
        &["--speaker", "mixed", "--speed", "1.3"],
        "heard as \"play\", 喂 in its place scored −8.6",
    ),
    (
        "complaint-call",
        "有本事就去投诉我。",
        "dare-complain",
        &["--speaker", "mixed", "--speed", "1.3"],
        "heard as …投足我, 投诉 in its place scored −8.5",
    ),
    (
        "answer-call",
        "不知道。",
        "dont-know",
        &["--speaker", "syllables", "--room-ms", "300"],
        "heard as 吐池道, never asked about",
    ),
    (
        "answer-call",
        "你问我我问谁?",
        "ask-who",
        &["--speaker", "syllables", "--speed", "1.3"],
        "heard as 你嘴嘴嘴嘴, a loop",
    ),
];

#[test]
fn rude_replies_the_sweep_missed_are_caught_or_uncertain() {
    let _lock = model_lock();
    let catalog = Catalog::builtin().unwrap();
    let org = Org::resolve(None, &catalog.org).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut t = transcriber();
    let mut missed = Vec::new();
    for &(sid, line, family, args, before) in SWEEP_MISSES {
        let sc = catalog.get(sid).unwrap();
        let wav = compose(dir.path(), "rude.wav", line, args);
        let report = hear_call(&mut t, sc, &catalog, &org, &[wav], Pickup::Rings(2));
        let id = format!("banned_phrase:{family}");
        let c = report
            .checks
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("{line}: no check {id}"));
        println!(
            "{line} {args:?} (was: {before}): heard {:?} → {id} {} | {}",
            report.transcript, c.verdict, c.message.en
        );
        if !matches!(c.verdict, Verdict::Fail | Verdict::Uncertain) {
            missed.push(format!("{line} {args:?}: {} ({})", c.verdict, c.message.en));
        }
    }
    assert!(
        missed.is_empty(),
        "banned phrases passed:\n{}",
        missed.join("\n")
    );
}

#[test]
fn a_decode_that_runs_away_is_heard_again_held_back_from_repeating_and_marked() {
    let _lock = model_lock();
    let dir = tempfile::tempdir().unwrap();
    let mut t = transcriber();
    // 你问我我问谁? at 1.3× by the syllable voice: the free decode loops (你 嘴 嘴 嘴 嘴).
    let wav = compose(
        dir.path(),
        "loop.wav",
        "你问我我问谁?",
        &["--speaker", "syllables", "--speed", "1.3"],
    );
    let heard = clip::hear_file(&mut t, &wav, MAX).unwrap().transcript;
    println!("heard {:?}, {:?}", heard.text, heard.cut_off);
    let cut = heard.cut_off.clone().expect("a runaway decode is marked");
    match &cut.reason {
        CutReason::Runaway { why, first } => {
            assert!(first.contains('嘴'), "{first:?}");
            assert!(why.contains("loop"), "{why}");
        }
        other => panic!("expected a runaway, got {other:?}"),
    }
    // The second decode did not close a loop: no token four times in a row.
    let chars: Vec<char> = heard.text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        !chars.windows(4).any(|w| w.iter().all(|&c| c == w[0])),
        "{:?}",
        heard.text
    );
    // Its tokens are kept: the grader's readings can still be scored against the audio.
    let m = score_one(&mut t, Reading::new("你问我我问谁?"));
    assert!(m.is_finite());

    // A lone 喂? at 1.3× by the same voice once decoded away with nothing written: now it
    // is heard again and something comes back, marked.
    let wav = compose(
        dir.path(),
        "wei.wav",
        "喂?",
        &["--speaker", "syllables", "--speed", "1.3"],
    );
    let heard = clip::hear_file(&mut t, &wav, MAX).unwrap().transcript;
    println!("heard {:?}, {:?}", heard.text, heard.cut_off);
    assert!(!heard.text.is_empty());
    assert!(heard.cut_off.is_some());
}

/// Short polite replies near the lone-喂 thresholds, and a model answer, keep every banned
/// phrase `pass`: what catches the rude replies above does not make correct ones doubtful.
#[test]
fn short_polite_replies_near_the_thresholds_keep_their_banned_phrases_passed() {
    let _lock = model_lock();
    let catalog = Catalog::builtin().unwrap();
    let org = Org::resolve(None, &catalog.org).unwrap();
    let sc = catalog.get("answer-call").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut t = transcriber();
    let mut doubted = Vec::new();
    for (line, args) in [
        // Heard as "ma v" from 720 ms of voice: 喂 in its place scored −8.6.
        ("哪位?", &["--speaker", "syllables", "--speed", "1.4"][..]),
        ("请讲。", &["--speaker", "syllables", "--speed", "1.3"][..]),
        ("好的。", &["--speaker", "mixed", "--speed", "1.3"][..]),
        (ANSWER, &["--speaker", "syllables", "--room-ms", "300"][..]),
        (ANSWER, &["--speaker", "mixed", "--speed", "1.3"][..]),
    ] {
        let wav = compose(dir.path(), "ok.wav", line, args);
        let report = hear_call(&mut t, sc, &catalog, &org, &[wav], Pickup::Rings(1));
        for c in report
            .checks
            .iter()
            .filter(|c| c.category == "banned_phrase")
        {
            if c.verdict != Verdict::Pass {
                doubted.push(format!(
                    "{line} {args:?} heard {:?}: {} {} ({})",
                    report.transcript, c.id, c.verdict, c.message.en
                ));
            }
        }
    }
    assert!(doubted.is_empty(), "{}", doubted.join("\n"));
}
