//! Asking the model about the words that decide a verdict. Whisper *base* mishears names
//! and drops short words (广利 → 广立, a quick 喂 → 为), so a check that hangs on a phrase
//! does not rest on the free transcript alone: where the text has the phrase only nearly
//! (a homophone, a near miss, a look-alike such as 你好), or a banned word may hide in a
//! near-homophone, the grader asks how likely the same audio is to say the phrase
//! instead — a [`Reading`] of the turn, scored by the transcriber
//! ([`crate::transcribe::verify`]) right after it transcribed the turn.
//!
//! The grader stays pure: [`questions`] runs the checks over a turn as heard and returns
//! the readings they would like answered; the caller has the transcriber score them
//! ([`crate::transcribe::verify::ask`]) and hands the answers back with the turn
//! ([`super::Heard::readings`]); grading looks each answer up by its reading. What the
//! answers do, check by check:
//!
//! - an expected phrase (organisation, offer of help, greeting, must-say, thanks,
//!   goodbye, a politeness word) the text has only nearly: about as likely → `pass`, with
//!   what was heard and the margin as evidence; in between → `uncertain`, unless what was
//!   heard there sounds like the phrase (a near miss by the grader's own measure, see
//!   [`sounds_alike`]: 王立物业 for 广利物业, 画一部电话 for 换一部电话), then `pass` — the
//!   text and the model each say "probably", and in the calibration no phrase that sounds
//!   alike but was not said came that close; clearly less likely → the text's verdict
//!   stands. A reading that turns 你 into 您 never passes (base Whisper does not tell the
//!   two apart): at most `uncertain`;
//! - a banned phrase that may hide in a near-homophone (为 for 喂, 投足 for 投诉), or a 喂
//!   at the onset the text does not have: anything but clearly less likely → `uncertain`
//!   ("may have said 喂 — listen"), never a silent pass. The scorer never clears a banned
//!   phrase the text has.
//!
//! Every reading asked goes into the report ([`ReadingCheck`]) with its margin.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::call::{Call, Heard};
use super::report::Verdict;
use super::{Org, Pickup};
use crate::scenario::{Phrasebook, Scenario};
use crate::text::normalize;
use crate::transcribe::{Likeness, Reading, Transcript};

/// One reading a check wanted answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub turn: usize,
    /// The check that asks (`organisation`, `banned_phrase:wei`, …).
    pub check: String,
    /// The phrase asked about, as the phrase book writes it.
    pub phrase: String,
    /// What the transcript has where the phrase would be (empty for an insertion).
    pub heard: String,
    pub reading: Reading,
}

/// A reading in the report: which check asked, about what, and what the model said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadingCheck {
    pub turn: usize,
    pub check: String,
    pub phrase: String,
    /// What the transcript had there (empty: the phrase was asked about as an insertion).
    pub heard: String,
    /// The whole turn as it would read.
    pub reading: String,
    /// Log-probability of the reading minus that of the transcript: 0 = as likely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likeness: Option<Likeness>,
    /// What was heard sounds like the phrase ([`sounds_alike`]): in between the
    /// thresholds, an expected phrase passes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sounds_alike: bool,
    /// Why the reading could not be scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What the model said about one reading, for the check that asked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    pub margin: f32,
    pub likeness: Likeness,
    /// The reading turns a 你 of the transcript into 您, which the model cannot tell
    /// apart: it may make a check uncertain, never pass it.
    pub ni_nin: bool,
    /// What was heard there sounds like the phrase ([`sounds_alike`]).
    pub sounds_alike: bool,
}

impl Answer {
    /// The verdict of an expected phrase the text has only nearly, given the text's own
    /// verdict: about as likely → pass (uncertain for 你 → 您), in between → pass where
    /// what was heard sounds like the phrase, else uncertain, clearly less likely → the
    /// text's verdict.
    pub fn expected(&self, text_verdict: Verdict) -> Verdict {
        match self.likeness {
            Likeness::AboutAsLikely if !self.ni_nin => Verdict::Pass,
            Likeness::Uncertain if self.sounds_alike && !self.ni_nin => Verdict::Pass,
            Likeness::AboutAsLikely | Likeness::Uncertain => Verdict::Uncertain,
            Likeness::ClearlyLess => text_verdict,
        }
    }

    /// A banned phrase the text does not have: unless clearly less likely, it may have
    /// been said.
    pub fn banned_may_have_been_said(&self) -> bool {
        self.likeness != Likeness::ClearlyLess
    }

    /// "(margin −2.3)" words for a message.
    pub fn note(&self, phrase: &str, heard: &str) -> (String, String) {
        let m = self.margin;
        if self.likeness == Likeness::Uncertain && self.sounds_alike && !heard.is_empty() {
            return (
                format!("核对录音:「{phrase}」与听到的「{heard}」读音相近,录音也不否定,差值{m:.1}"),
                format!(
                    "checked against the audio: 「{phrase}」 sounds like 「{heard}」 and the audio does not rule it out (margin {m:.1})"
                ),
            );
        }
        let (zh, en) = match self.likeness {
            Likeness::AboutAsLikely => ("同样可信", "fits the audio about as well as"),
            Likeness::Uncertain => ("难以判断", "may fit the audio as well as"),
            Likeness::ClearlyLess => ("明显不符", "fits the audio clearly less well than"),
        };
        let heard_zh = if heard.is_empty() {
            String::new()
        } else {
            format!("(听到「{heard}」)")
        };
        let heard_en = if heard.is_empty() {
            " what was heard".to_string()
        } else {
            format!(" 「{heard}」")
        };
        (
            format!("核对录音:「{phrase}」{zh}{heard_zh},差值{m:.1}"),
            format!("checked against the audio: 「{phrase}」 {en}{heard_en} (margin {m:.1})"),
        )
    }
}

impl ReadingCheck {
    /// The reading in a check's message: what was asked and what the model said.
    pub fn note(&self) -> (String, String) {
        match (self.margin, self.likeness) {
            (Some(margin), Some(likeness)) => Answer {
                margin,
                likeness,
                ni_nin: false,
                sounds_alike: self.sounds_alike,
            }
            .note(&self.phrase, &self.heard),
            _ => {
                let why = self.error.as_deref().unwrap_or("not scored");
                (
                    format!("核对录音:「{}」未能核对({why})", self.phrase),
                    format!(
                        "checked against the audio: 「{}」 could not be scored ({why})",
                        self.phrase
                    ),
                )
            }
        }
    }
}

/// Every reading a check asked about appears in its message: those the check's verdict
/// rests on are there already; the others (a 喂 at the onset found clearly less likely, a
/// reading that could not be scored) are added, so a trainer reading any check sees
/// what the model was asked and what it said.
pub fn note_readings(checks: &mut [super::Check], readings: &[ReadingCheck]) {
    for c in checks.iter_mut() {
        for r in readings.iter().filter(|r| r.check == c.id) {
            let (zh, en) = r.note();
            let marker = format!("核对录音:「{}」", r.phrase);
            // The check may quote what was heard as normalised (no punctuation).
            let shown = c.message.zh.contains(&marker)
                && (r.heard.is_empty()
                    || c.message.zh.contains(&format!("「{}」", r.heard))
                    || c.message
                        .zh
                        .contains(&format!("「{}」", normalize(&r.heard))));
            if !shown {
                c.message.zh = format!("{};{zh}", c.message.zh);
                c.message.en = format!("{}; {en}", c.message.en);
            }
        }
    }
}

/// How much of `phrase` the stretch `heard` sounds like, after normalisation: 1 − the
/// syllable edit distance over the longer of the two, where two characters sound alike
/// when any of their toneless readings agree (长 is chang or zhang, 还 hai or huan: the
/// grader's matcher knows only the first). Other characters compare as themselves.
pub fn sound_similarity(heard: &str, phrase: &str) -> f64 {
    use pinyin::ToPinyinMulti;
    let readings = |s: &str| -> Vec<Vec<String>> {
        normalize(s)
            .chars()
            .map(|c| match c.to_pinyin_multi() {
                Some(m) => m.into_iter().map(|p| p.plain().to_string()).collect(),
                None => vec![c.to_string()],
            })
            .collect()
    };
    let (h, p) = (readings(heard), readings(phrase));
    let longest = h.len().max(p.len());
    if longest == 0 {
        return 1.0;
    }
    let alike = |a: &Vec<String>, b: &Vec<String>| a.iter().any(|x| b.contains(x));
    // Levenshtein over syllables, one row at a time.
    let mut prev: Vec<usize> = (0..=p.len()).collect();
    for (i, hc) in h.iter().enumerate() {
        let mut row = vec![i + 1; p.len() + 1];
        for (j, pc) in p.iter().enumerate() {
            let sub = prev[j] + usize::from(!alike(hc, pc));
            row[j + 1] = sub.min(prev[j + 1] + 1).min(row[j] + 1);
        }
        prev = row;
    }
    1.0 - prev[p.len()] as f64 / longest as f64
}

/// True when `heard` sounds like `phrase` as the grader counts a near miss: the phrase has
/// at least `fuzzy.min_chars` syllables (shorter ones have everyday homophones: 为 for 喂)
/// and [`sound_similarity`] reaches `fuzzy.near` (one syllable off in four).
pub fn sounds_alike(heard: &str, phrase: &str, fuzzy: super::matcher::Fuzzy) -> bool {
    normalize(phrase).chars().count() >= fuzzy.min_chars
        && sound_similarity(heard, phrase) >= fuzzy.near
}

/// True when `reading` puts 您 where `heard` has 你 (same length, same place).
pub fn turns_ni_into_nin(heard: &str, phrase: &str) -> bool {
    let (h, p): (Vec<char>, Vec<char>) = (heard.chars().collect(), phrase.chars().collect());
    h.len() == p.len() && h.iter().zip(&p).any(|(&a, &b)| a == '你' && b == '您')
}

/// Character span of the turn's transcript behind normalised characters `span` of it:
/// the one place normalised offsets (what the matcher finds) become transcript
/// characters (what a reading edits). `positions` are
/// [`crate::text::normalized_positions`] of the transcript; an empty span is the place
/// before normalised character `span.start`. None when the offsets do not map.
pub fn transcript_span(
    positions: &[usize],
    transcript_chars: usize,
    span: Range<usize>,
) -> Option<Range<usize>> {
    if span.start > span.end || span.end > positions.len() {
        return None;
    }
    if span.is_empty() {
        let at = positions
            .get(span.start)
            .copied()
            .unwrap_or(transcript_chars);
        return Some(at..at);
    }
    Some(positions[span.start]..positions[span.end - 1] + 1)
}

/// The readings the checks of `sc` would like answered about turn `turn` of a call of
/// `turns` turns, heard as `heard`, after the turns `before` (heard earlier in the same
/// call; later turns count as not yet said). Ask them right after transcribing the turn,
/// while the model still holds its audio, and give the answers back in
/// [`Heard::readings`].
pub fn questions(
    sc: &Scenario,
    book: &Phrasebook,
    org: &Org,
    before: &[Heard],
    turn: usize,
    turns: usize,
    heard: &Transcript,
) -> Vec<Reading> {
    let mut all: Vec<Heard> = before.iter().take(turn).cloned().collect();
    all.resize_with(turn, Heard::default);
    all.push(Heard {
        transcript: heard.clone(),
        facts: None,
        readings: Vec::new(),
    });
    all.resize_with(turns.max(turn + 1), Heard::default);
    let call = Call {
        turns: all,
        pickup: Pickup::Unknown,
        org: org.clone(),
    };
    let mut out: Vec<Reading> = Vec::new();
    for q in super::asked(&call, sc, book) {
        if q.turn == turn && !out.contains(&q.reading) {
            out.push(q.reading);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalized_positions;

    #[test]
    fn normalised_spans_map_to_the_transcript_characters_behind_them() {
        let raw = "您好,廣立物業。請問?";
        let pos = normalized_positions(raw).unwrap();
        let n = raw.chars().count();
        let chars: Vec<char> = raw.chars().collect();
        let span = transcript_span(&pos, n, 2..6).unwrap();
        assert_eq!(chars[span].iter().collect::<String>(), "廣立物業");
        // Punctuation inside a span comes with it.
        let span = transcript_span(&pos, n, 5..7).unwrap();
        assert_eq!(chars[span].iter().collect::<String>(), "業。請");
        // An empty span is the place before that character, or the end.
        assert_eq!(transcript_span(&pos, n, 2..2), Some(3..3));
        assert_eq!(transcript_span(&pos, n, 8..8), Some(n..n));
        assert_eq!(transcript_span(&pos, n, 0..9), None);
    }

    #[test]
    fn what_sounds_like_a_phrase_is_one_syllable_off_in_four_or_closer() {
        let f = crate::grading::matcher::Fuzzy {
            min_chars: 4,
            near: 0.75,
        };
        // Homophones, and one syllable off in four or more.
        assert!(sounds_alike("派人替您为修", "派人替您维修", f));
        assert!(sounds_alike("还有其他资询是向", "还有其他咨询事项", f));
        assert!(sounds_alike("王立物业", "广利物业", f));
        assert!(sounds_alike("请问您贵信", "请问您贵姓", f));
        // Any reading of a polyphone counts: 长 (zhang, chang), 还 (hai, huan).
        assert!(sounds_alike("飞,长报线", "非常抱歉", f));
        assert!(sounds_alike("环有其他思寻事项", "还有其他咨询事项", f));
        assert_eq!(sound_similarity("环有", "还有"), 1.0);
        // Two syllables off in four, other words, and short phrases are not.
        assert!(!sounds_alike("光明物业", "寡立物业", f));
        assert!(!sounds_alike("拜拜", "再见", f));
        assert!(!sounds_alike("管没有销", "还没有交", f));
        assert!(!sounds_alike("有事吗", "有什么可以帮您", f));
        assert!(!sounds_alike("你好", "您好", f));
        assert!(!sounds_alike("为", "喂", f));
        assert!(!sounds_alike("", "广利物业", f));
        // A syllable dropped or added counts as one off.
        assert_eq!(sound_similarity("请问贵姓", "请问您贵姓"), 0.8);
    }

    #[test]
    fn an_answer_passes_an_expected_phrase_only_when_about_as_likely_and_not_nin() {
        let a = |likeness, ni_nin| Answer {
            margin: -1.0,
            likeness,
            ni_nin,
            sounds_alike: false,
        };
        use Likeness::*;
        assert_eq!(
            a(AboutAsLikely, false).expected(Verdict::Fail),
            Verdict::Pass
        );
        assert_eq!(
            a(AboutAsLikely, true).expected(Verdict::Fail),
            Verdict::Uncertain
        );
        assert_eq!(
            a(Uncertain, false).expected(Verdict::Fail),
            Verdict::Uncertain
        );
        assert_eq!(a(ClearlyLess, false).expected(Verdict::Fail), Verdict::Fail);
        assert_eq!(
            a(ClearlyLess, false).expected(Verdict::Uncertain),
            Verdict::Uncertain
        );
        assert!(a(Uncertain, false).banned_may_have_been_said());
        assert!(!a(ClearlyLess, false).banned_may_have_been_said());
        // In between passes only what sounds like the phrase, and never 你 for 您.
        let alike = |likeness, ni_nin| Answer {
            sounds_alike: true,
            ..a(likeness, ni_nin)
        };
        assert_eq!(
            alike(Uncertain, false).expected(Verdict::Fail),
            Verdict::Pass
        );
        assert_eq!(
            alike(Uncertain, true).expected(Verdict::Fail),
            Verdict::Uncertain
        );
        assert_eq!(
            alike(ClearlyLess, false).expected(Verdict::Uncertain),
            Verdict::Uncertain
        );
        assert_eq!(
            alike(ClearlyLess, false).expected(Verdict::Fail),
            Verdict::Fail
        );
        // The banned side does not look at it.
        assert!(!alike(ClearlyLess, false).banned_may_have_been_said());
        assert!(turns_ni_into_nin("你好", "您好"));
        assert!(!turns_ni_into_nin("您讨", "您好"));
        assert!(!turns_ni_into_nin("你好啊", "您好"));
    }
}
