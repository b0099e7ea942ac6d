//! Grading: pure. A scenario's rubric + the phrase book + what the trainee said (text, and
//! optionally token probabilities and audio facts per turn) → a [`Report`]. No I/O, no clock.
//!
//! Matching policy (what "survives speech recognition" means here):
//! - identical characters after normalisation → `pass`;
//! - identical toneless pinyin (光力物业 for 广利物业) or a near miss by syllable edit distance
//!   → `uncertain`, with the span as evidence: likely right, but a person should listen;
//! - phrases shorter than `fuzzy_min_chars` (您好, 请, 喂) match exactly only, because their
//!   homophones are everyday words (为 sounds like 喂) and 你好 must not pass for 您好;
//! - evidence resting on tokens the model gave p < `low_probability` → `uncertain`.
//!
//! Banned phrases are matched exactly (plus homophones of long ones → `uncertain`) and are
//! excused by `unless` contexts that contain them (您想知道 is not 不知道-as-an-answer).
//!
//! Where things are: `checks/` holds one file per family of checks (opening, politeness,
//! banned phrases, must-say, closing, manner) and what they share; `score` adds them up;
//! [`matcher`] finds phrases; [`report`] is the result; [`lint`] checks scenario files that
//! need the grader (its `check_files`, for `scenarios check`, is the one place here that
//! reads files, through the scenario loader). The grader reads the scenario types and never
//! the other way round.

pub mod call;
mod checks;
pub mod decisions;
pub mod lint;
pub mod matcher;
pub mod partial;
pub mod report;
mod score;
pub mod verify;

pub use call::{Call, EmptyOrg, Heard, Org};
pub use checks::manner::speech_rate_cpm;
pub use checks::opening::rings_for_pickup;
pub use decisions::{settle, Decision, Overrule, Settled, SettledCheck};
pub use report::{render_text, Check, Evidence, Message, Report, TurnReport, Verdict};
pub use verify::{questions, ReadingCheck};

use crate::audio::facts::AudioFacts;
use crate::scenario::{
    phrases, rubric_sha256, ModelAnswer, OrgProfile, Phrasebook, Scenario, ORG_PLACEHOLDER,
};
use crate::text::{normalize, normalized_positions};
use crate::transcribe::{Asked, Token};
use checks::{banned, closing, manner, must_say, opening, politeness, Ctx, TurnText};
use matcher::{Fuzzy, Text};

/// Where the organisation name came from; the report says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OrgSource {
    /// `--org` (or the practice settings).
    #[serde(rename = "--org")]
    Given,
    /// The org profile's default, because none was given.
    #[serde(rename = "default profile")]
    DefaultProfile,
}

impl OrgSource {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgSource::Given => "--org",
            OrgSource::DefaultProfile => "default profile",
        }
    }
}

/// When the trainee picked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pickup {
    Unknown,
    /// After this many rings.
    Rings(u32),
    /// This long after the first ring started; the ring cadence turns it into rings.
    AfterMs(u64),
    /// After these rings, as the phone counted them, this long after the first ring started.
    Counted {
        rings: u32,
        after_ms: u64,
    },
}

/// One trainee turn as heard.
#[derive(Debug, Clone, Copy)]
pub struct Turn<'a> {
    pub text: &'a str,
    pub tokens: Option<&'a [Token]>,
    pub facts: Option<&'a AudioFacts>,
    /// What the model said about readings of this turn (see [`verify`]).
    pub answers: &'a [Asked],
}

impl<'a> Turn<'a> {
    pub fn text(text: &'a str) -> Turn<'a> {
        Turn {
            text,
            tokens: None,
            facts: None,
            answers: &[],
        }
    }
}

/// Everything grading needs besides the rubric. The opening is graded on the first turn,
/// the closing on the last, everything else on all of them.
#[derive(Debug, Clone)]
pub struct GradeInput<'a> {
    pub turns: Vec<Turn<'a>>,
    pub pickup: Pickup,
    pub org: &'a str,
    pub org_source: OrgSource,
}

/// Grades what the trainee said against a scenario's rubric. The checks come in a fixed
/// order: the opening (first turn), what is said over all turns, the closing (last turn),
/// the must-say items, the manner of speaking.
pub fn grade(sc: &Scenario, book: &Phrasebook, input: &GradeInput) -> Report {
    grade_asking(sc, book, input).0
}

/// The readings the checks asked about while grading `call` (answered or not).
pub(crate) fn asked(call: &Call, sc: &Scenario, book: &Phrasebook) -> Vec<verify::Question> {
    call.with_input(|input| grade_asking(sc, book, input).1)
}

fn grade_asking(
    sc: &Scenario,
    book: &Phrasebook,
    input: &GradeInput,
) -> (Report, Vec<verify::Question>) {
    let s = &book.settings;
    let w = &book.weights;
    let r = &sc.rubric;
    let mut turns = Vec::new();
    let mut offset = 0;
    let given: Vec<Turn> = if input.turns.is_empty() {
        vec![Turn::text("")]
    } else {
        input.turns.clone()
    };
    for t in &given {
        let norm = normalize(t.text);
        let text = Text::new(&norm, t.tokens);
        let len = text.len();
        turns.push(TurnText {
            raw: t.text.to_string(),
            positions: normalized_positions(t.text),
            norm,
            text,
            offset,
            facts: t.facts.cloned(),
            answers: t.answers.to_vec(),
        });
        offset += len;
    }
    let mut cx = Ctx {
        book,
        turns,
        fuzzy: Fuzzy {
            min_chars: s.fuzzy_min_chars,
            near: s.near_similarity,
        },
        checks: Vec::new(),
        asked: Vec::new(),
        readings: Vec::new(),
    };
    let (rings, pickup_ms) = match input.pickup {
        Pickup::Unknown => (None, None),
        Pickup::Rings(n) => (Some(n), None),
        Pickup::AfterMs(ms) => (
            Some(rings_for_pickup(ms, s.ring_on_ms, s.ring_off_ms)),
            Some(ms),
        ),
        Pickup::Counted { rings, after_ms } => (Some(rings), Some(after_ms)),
    };
    let last = cx.turns.len() - 1;

    // --- opening (first turn) ---
    opening::opening_checks(&mut cx, r, rings, input.org);

    // --- all turns ---
    if let Some(words) = &r.politeness {
        politeness::politeness_check(&mut cx, words);
    }
    for fam in book.banned.iter().chain(r.banned.iter()) {
        banned::banned_check(&mut cx, fam, "banned_phrase", w.banned_phrase);
    }
    banned::banned_check(&mut cx, &book.fillers, "fillers", w.fillers);

    // --- closing (last turn) ---
    if !r.closing.is_empty() {
        closing::closing_check(&mut cx, &r.closing, last);
    }
    for m in &r.must_say {
        must_say::must_say_check(&mut cx, m);
    }
    if r.manner {
        manner::manner_checks(&mut cx);
    }
    let bad_audio = manner::audio_check(&mut cx);

    let mut checks = std::mem::take(&mut cx.checks);
    soften_for_audio(&mut checks, &bad_audio, last);
    verify::note_readings(&mut checks, &cx.readings);
    let pass_mark = r.pass_mark.unwrap_or(s.pass_mark);
    let score = score::score(&checks, s.uncertain_credit);
    let passed = score::passed(&checks, score, pass_mark);
    let turns: Vec<TurnReport> = cx
        .turns
        .iter()
        .map(|t| TurnReport {
            transcript: t.raw.clone(),
            normalized: t.norm.clone(),
            start: t.offset,
            end: t.offset + t.text.len(),
            audio: t.facts.clone(),
        })
        .collect();
    let report = Report {
        scenario: sc.id().to_string(),
        org: input.org.to_string(),
        org_source: input.org_source,
        transcript: cx
            .turns
            .iter()
            .map(|t| t.raw.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        normalized: cx.turns.iter().map(|t| t.norm.as_str()).collect(),
        score,
        passed,
        pass_mark: Some(pass_mark),
        uncertain_credit: Some(s.uncertain_credit),
        rubric_sha256: rubric_sha256(sc, book),
        rings,
        pickup_ms,
        checks,
        turns,
        readings: std::mem::take(&mut cx.readings),
    };
    (report, cx.asked)
}

/// Phrase checks that would fail on a turn whose recording was the problem (see
/// `manner::audio_check`) are `uncertain`: the recording, not the trainee, may be why the
/// phrase was not heard. The opening rests on the first turn, the closing on the last,
/// must-say items and politeness words on any. Banned phrases heard are never excused,
/// and the manner checks measure the recording as it is.
fn soften_for_audio(checks: &mut [Check], bad: &[usize], last: usize) {
    if bad.is_empty() {
        return;
    }
    for c in checks.iter_mut().filter(|c| c.verdict == Verdict::Fail) {
        let affected = match c.category.as_str() {
            "greeting" | "organisation" | "offer_help" | "opening_order" | "late_apology" => {
                bad.contains(&0)
            }
            "closing" => bad.contains(&last),
            "must_say" | "politeness" => true,
            _ => false,
        };
        if affected {
            c.verdict = Verdict::Uncertain;
            c.message.zh.push_str(";录音质量差,可能是没听清,请回听");
            c.message.en.push_str(
                "; the recording was poor, it may not have been heard: listen to confirm",
            );
        }
    }
}

/// Grades a model answer as a perfect trainee would deliver it: picked up on the first ring,
/// the profile's organisation in place of `{org}`.
pub fn grade_model_answer(
    sc: &Scenario,
    book: &Phrasebook,
    org: &OrgProfile,
    answer: &ModelAnswer,
) -> Report {
    let texts: Vec<String> = phrases(&answer.turns)
        .map(|t| t.replace(ORG_PLACEHOLDER, &org.name))
        .collect();
    let input = GradeInput {
        turns: texts.iter().map(|t| Turn::text(t)).collect(),
        pickup: Pickup::Rings(1),
        org: &org.name,
        org_source: OrgSource::DefaultProfile,
    };
    grade(sc, book, &input)
}
