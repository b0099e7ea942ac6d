//! A turn whose transcription was cut off (a busy machine ran out of time, or the decoder
//! looped) still gets a report: what was heard is graded as usual, and then every check
//! whose verdict could change with the part that was not transcribed becomes `uncertain`,
//! saying why, so a person listens instead of the grade resting on missing text. A found
//! phrase stays found, a banned phrase that was heard stays failed, and checks measured
//! from the audio itself (rings, first words, loudness, clipping) are untouched. One more
//! check, `cut_off`, weighing nothing, carries the note. Pure.

use super::report::{Check, Message, Report, Verdict};
use super::score;
use crate::transcribe::CutOff;

/// Checks measured from the signal or the pickup, never from the text.
const FROM_AUDIO: &[&str] = &["rings", "first_words", "loudness", "clipping"];
/// Checks graded on the first turn / the last turn; everything else spans all turns.
const FIRST_TURN: &[&str] = &[
    "greeting",
    "organisation",
    "offer_help",
    "opening_order",
    "late_apology",
];
const LAST_TURN: &[&str] = &["closing"];
/// Checks that pass when a phrase is absent: the missing part may hold it.
const PASS_BY_ABSENCE: &[&str] = &["banned_phrase", "fillers"];

/// The id of the check that carries the note.
pub const CUT_OFF_CHECK: &str = "cut_off";

/// Whether a check on `category` depends on the text of turn `turn` of `turns`.
fn depends_on(category: &str, turn: usize, turns: usize) -> bool {
    if FROM_AUDIO.contains(&category) {
        false
    } else if FIRST_TURN.contains(&category) {
        turn == 0
    } else if LAST_TURN.contains(&category) {
        turn + 1 == turns
    } else {
        true
    }
}

/// What the unheard rest of a turn does to one check's verdict.
fn with_rest_unheard(c: &Check) -> Verdict {
    let absence = PASS_BY_ABSENCE.contains(&c.category.as_str());
    match c.verdict {
        Verdict::NotApplicable | Verdict::Uncertain => c.verdict,
        // Said, and heard saying it: more audio cannot unsay it.
        Verdict::Fail if absence && !c.evidence.is_empty() => Verdict::Fail,
        Verdict::Fail => Verdict::Uncertain,
        Verdict::Pass if absence || c.category == "speech_rate" => Verdict::Uncertain,
        Verdict::Pass => Verdict::Pass,
    }
}

/// Marks `report` for the turns in `cuts` (turn index, where it was cut), out of `turns`,
/// and scores it again with the rubric's `uncertain_credit` and `pass_mark`.
pub fn mark_unheard(
    report: &mut Report,
    cuts: &[(usize, &CutOff)],
    turns: usize,
    uncertain_credit: f64,
    pass_mark: f64,
) {
    if cuts.is_empty() {
        return;
    }
    let (zh, en) = describe(cuts, turns);
    for c in &mut report.checks {
        let affected = cuts.iter().any(|(t, _)| depends_on(&c.category, *t, turns));
        if !affected {
            continue;
        }
        let v = with_rest_unheard(c);
        if v != c.verdict {
            c.verdict = v;
            c.message.zh.push_str("(转写不完整,待定)");
            c.message
                .en
                .push_str(" (not certain: the transcript is incomplete)");
        }
    }
    report.checks.push(Check {
        id: CUT_OFF_CHECK.into(),
        category: CUT_OFF_CHECK.into(),
        verdict: Verdict::Uncertain,
        weight: 0.0,
        critical: false,
        evidence: vec![],
        name: Some(Message {
            zh: "转写完整".into(),
            en: "transcript complete".into(),
        }),
        message: Message {
            zh: format!("{zh}。依赖未转写部分的检查项已标为待定,请回听录音"),
            en: format!(
                "{en}; checks that depend on the rest are marked uncertain: listen to the recording"
            ),
        },
    });
    report.score = score::score(&report.checks, uncertain_credit);
    report.passed = score::passed(&report.checks, report.score, pass_mark);
}

fn describe(cuts: &[(usize, &CutOff)], turns: usize) -> (String, String) {
    let parts: Vec<(String, String)> = cuts
        .iter()
        .map(|(t, cut)| {
            let (zh, en) = cut.describe();
            if turns > 1 {
                (
                    format!("第{}轮:{zh}", t + 1),
                    format!("turn {}: {en}", t + 1),
                )
            } else {
                (zh, en)
            }
        })
        .collect();
    (
        parts
            .iter()
            .map(|p| p.0.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        parts
            .iter()
            .map(|p| p.1.as_str())
            .collect::<Vec<_>>()
            .join("; "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::{Call, Heard, Org, Pickup};
    use crate::scenario::Catalog;
    use crate::transcribe::{CutReason, Transcript};

    fn cut(heard_until_ms: u64) -> CutOff {
        CutOff {
            reason: CutReason::TimeLimit { limit_ms: 13_000 },
            heard_until_ms,
            clip_ms: 7_600,
        }
    }

    fn turn(text: &str, cut_off: Option<CutOff>) -> Heard {
        Heard {
            transcript: Transcript {
                text: text.into(),
                segments: vec![],
                cut_off,
            },
            facts: None,
            readings: vec![],
        }
    }

    fn grade(turns: Vec<Heard>) -> Report {
        let c = Catalog::builtin().unwrap();
        let call = Call {
            turns,
            pickup: Pickup::Rings(1),
            org: Org::given("广利物业"),
        };
        call.grade(c.get("answer-call").unwrap(), &c.phrasebook)
    }

    fn verdict(r: &Report, id: &str) -> Verdict {
        r.checks
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no check {id}"))
            .verdict
    }

    #[test]
    fn what_was_heard_counts_and_what_was_not_is_uncertain() {
        // The opening was heard; the rest of the reply was not transcribed.
        let whole = grade(vec![turn("您好,广利物业", None)]);
        let cut = grade(vec![turn("您好,广利物业", Some(cut(2_000)))]);
        assert_eq!(verdict(&whole, "greeting"), Verdict::Pass);
        assert_eq!(
            verdict(&cut, "greeting"),
            Verdict::Pass,
            "found stays found"
        );
        assert_eq!(verdict(&cut, "organisation"), Verdict::Pass);
        // Not heard offering help: a fail on the whole text, uncertain on a partial one.
        assert_eq!(verdict(&whole, "offer_help"), Verdict::Fail);
        assert_eq!(verdict(&cut, "offer_help"), Verdict::Uncertain);
        // No banned phrase in what was heard is no proof for the rest.
        assert_eq!(verdict(&whole, "banned_phrase:wei"), Verdict::Pass);
        assert_eq!(verdict(&cut, "banned_phrase:wei"), Verdict::Uncertain);
        // Measured from the call, not the text: unchanged.
        assert_eq!(verdict(&cut, "rings"), verdict(&whole, "rings"));
        let note = cut.checks.iter().find(|c| c.id == CUT_OFF_CHECK).unwrap();
        assert_eq!(note.verdict, Verdict::Uncertain);
        assert_eq!(note.weight, 0.0);
        assert!(
            note.message
                .en
                .contains("only about the first 2.0 s of 7.6 s"),
            "{}",
            note.message.en
        );
        assert!(note.message.en.contains("listen to the recording"));
        assert!(cut.score >= whole.score, "{} < {}", cut.score, whole.score);
        assert!(!whole.checks.iter().any(|c| c.id == CUT_OFF_CHECK));
    }

    #[test]
    fn a_banned_phrase_heard_before_the_cut_still_fails() {
        let r = grade(vec![turn("喂,你找谁", Some(cut(1_000)))]);
        assert_eq!(verdict(&r, "banned_phrase:wei"), Verdict::Fail);
        assert_eq!(verdict(&r, "banned_phrase:ask-who"), Verdict::Uncertain);
    }

    #[test]
    fn nothing_transcribed_in_time_is_a_report_to_listen_to_not_a_fail() {
        let r = grade(vec![turn("", Some(cut(0)))]);
        assert!(
            r.checks
                .iter()
                .filter(|c| !FROM_AUDIO.contains(&c.category.as_str()))
                .all(|c| c.verdict != Verdict::Fail),
            "{:#?}",
            r.checks
        );
        assert!(!r.passed || r.checks.iter().any(|c| c.verdict == Verdict::Uncertain));
    }

    #[test]
    fn only_the_checks_of_the_cut_turn_change() {
        assert!(depends_on("greeting", 0, 2));
        assert!(!depends_on("greeting", 1, 2));
        assert!(depends_on("closing", 1, 2));
        assert!(!depends_on("closing", 0, 2));
        assert!(depends_on("must_say", 0, 2));
        assert!(
            depends_on("a_new_check", 1, 2),
            "unknown checks are treated as text"
        );
        assert!(!depends_on("loudness", 0, 1));
    }
}
