//! What every check shares: the turns as heard (normalised, with the recogniser's confidence
//! per character), the phrase book, and how a found phrase becomes a verdict with evidence
//! ([`Ctx::found`]). One file per family of checks; [`super::grade`] runs them in the order
//! the report lists them. A new check goes into its family's file (or a new file here), pushes
//! one [`Check`] per id through [`Ctx::push`], and is switched on by a rubric field.

pub mod banned;
pub mod closing;
pub mod manner;
pub mod must_say;
pub mod opening;
pub mod politeness;

use std::ops::Range;

use super::matcher::{best, Fuzzy, Hit, Kind, Phrase, Text};
use super::report::{Check, Evidence, Message, Verdict};
use super::verify::{
    sounds_alike, transcript_span, turns_ni_into_nin, Answer, Question, ReadingCheck,
};
use crate::audio::facts::AudioFacts;
use crate::scenario::{phrases, Phrasebook, Phrases};
use crate::text::normalize;
use crate::transcribe::{Asked, Reading, Thresholds};

/// One trainee turn as the checks see it: as said, normalised, ready to match, where it
/// starts in the whole normalised transcript (characters), its audio facts, where each
/// normalised character sits in what was said, and the model's answers about readings
/// of it.
pub struct TurnText {
    pub raw: String,
    pub norm: String,
    pub text: Text,
    pub offset: usize,
    pub facts: Option<AudioFacts>,
    /// [`crate::text::normalized_positions`] of `raw`.
    pub positions: Option<Vec<usize>>,
    pub answers: Vec<Asked>,
}

/// One grading in progress: the phrase book, the turns, how loosely to match, the
/// checks so far, in report order, the readings the checks asked about and those the
/// model answered.
pub struct Ctx<'a> {
    pub book: &'a Phrasebook,
    pub turns: Vec<TurnText>,
    pub fuzzy: Fuzzy,
    pub checks: Vec<Check>,
    pub asked: Vec<Question>,
    pub readings: Vec<ReadingCheck>,
}

/// How loosely a phrase is looked for when the text does not have it at all, only to
/// ask the model about the closest stretch (never to grade on): half the syllables.
pub const CANDIDATE: Fuzzy = Fuzzy {
    min_chars: 1,
    near: 0.5,
};

/// A message in both languages.
pub fn msg(zh: impl Into<String>, en: impl Into<String>) -> Message {
    Message {
        zh: zh.into(),
        en: en.into(),
    }
}

/// A phrase list ready to match (entries that normalise to nothing are dropped).
pub fn compile(list: &Phrases) -> Vec<Phrase> {
    phrases(list)
        .map(Phrase::new)
        .filter(|p| !p.is_empty())
        .collect()
}

impl Ctx<'_> {
    pub fn evidence(&self, turn: usize, r: Range<usize>) -> Evidence {
        let t = &self.turns[turn];
        Evidence {
            text: t.text.slice(r.clone()),
            start: t.offset + r.start,
            end: t.offset + r.end,
            turn,
        }
    }

    /// Whether the model was unsure of the characters in `r`: returns the lowest p if so.
    pub fn shaky(&self, turn: usize, r: Range<usize>) -> Option<f32> {
        let p = self.turns[turn].text.min_p(r)?;
        (p < self.book.settings.low_probability).then_some(p)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        id: &str,
        category: &str,
        verdict: Verdict,
        weight: f64,
        critical: bool,
        evidence: Vec<Evidence>,
        message: Message,
    ) {
        self.checks.push(Check {
            id: id.into(),
            category: category.into(),
            verdict,
            weight,
            critical,
            evidence,
            message,
            name: super::report::builtin_name(id),
        });
    }

    /// Names the check pushed last (a banned-phrase family, a must-say item).
    pub fn name_last(&mut self, zh: impl Into<String>, en: impl Into<String>) {
        if let Some(c) = self.checks.last_mut() {
            c.name = Some(msg(zh, en));
        }
    }

    /// A found phrase's verdict: exact and confident → pass; otherwise uncertain, saying why.
    pub fn found(&self, turn: usize, h: &Hit, wanted: &str) -> (Verdict, String, String) {
        let heard = self.turns[turn].text.slice(h.start..h.end);
        if let Some(p) = self.shaky(turn, h.start..h.end) {
            return (
                Verdict::Uncertain,
                format!("识别置信度低(p={p:.2}),请回听:「{heard}」"),
                format!("the recogniser was unsure (p={p:.2}); listen to 「{heard}」"),
            );
        }
        match h.kind {
            Kind::Exact => (Verdict::Pass, format!("说了「{heard}」"), format!("said 「{heard}」")),
            Kind::Homophone => (
                Verdict::Uncertain,
                format!("听到「{heard}」,与「{wanted}」同音,可能是识别误差,请回听"),
                format!("heard 「{heard}」, a homophone of 「{wanted}」 (likely a recognition error); listen to confirm"),
            ),
            Kind::Near => (
                Verdict::Uncertain,
                format!("听到「{heard}」,接近「{wanted}」(相似度{:.0}%),请回听", h.similarity * 100.0),
                format!("heard 「{heard}」, close to 「{wanted}」 ({:.0}% similar); listen to confirm", h.similarity * 100.0),
            ),
        }
    }

    /// The same as [`Ctx::found`], and where the text alone does not pass a near match,
    /// what the model says about the phrase in its place (see [`super::verify`]).
    pub fn found_checked(
        &mut self,
        turn: usize,
        check: &str,
        h: &Hit,
        wanted: &str,
    ) -> (Verdict, String, String) {
        let (v, zh, en) = self.found(turn, h, wanted);
        if v == Verdict::Pass {
            return (v, zh, en);
        }
        let heard = self.turns[turn].text.slice(h.start..h.end);
        if h.kind == Kind::Exact {
            // The text has the phrase, on a token the model was unsure of. Asked, the
            // reading is the transcript itself: nothing the model found likelier stands
            // in its way, so the phrase counts as said.
            return match self.ask(turn, check, h.start..h.end, wanted) {
                Some(a) if a.expected(v) == Verdict::Pass => (
                    Verdict::Pass,
                    format!("说了「{heard}」(识别时有迟疑,但这是模型最可信的读法)"),
                    format!("said 「{heard}」 (the recogniser hesitated, but no other reading is likelier)"),
                ),
                _ => (v, zh, en),
            };
        }
        match self.ask(turn, check, h.start..h.end, wanted) {
            Some(a) => {
                let (nz, ne) = a.note(wanted, &heard);
                match a.expected(v) {
                    Verdict::Pass => (Verdict::Pass, nz, ne),
                    v => (v, format!("{zh};{nz}"), format!("{en}; {ne}")),
                }
            }
            None => (v, zh, en),
        }
    }

    /// Where the text has no match of `list` at all: the closest stretch of turn `turn`
    /// starting within `starts` (half its syllables or more, see [`CANDIDATE`]), and what
    /// the model says about the phrase in its place.
    pub fn candidate(
        &mut self,
        turn: usize,
        check: &str,
        list: &[Phrase],
        starts: Range<usize>,
    ) -> Option<(Hit, Answer)> {
        let t = &self.turns[turn].text;
        let h = best(t, list, CANDIDATE, starts)?;
        let wanted = list[h.phrase].text.clone();
        let a = self.ask(turn, check, h.start..h.end, &wanted)?;
        Some((h, a))
    }

    /// Asks how likely the turn is to say `phrase` in place of its normalised characters
    /// `span`. None when the question cannot be put (the offsets do not map) or was not
    /// answered (graded from text, or the model could not score it); the question is
    /// remembered either way, for [`super::verify::questions`].
    pub fn ask(
        &mut self,
        turn: usize,
        check: &str,
        span: Range<usize>,
        phrase: &str,
    ) -> Option<Answer> {
        let t = &self.turns[turn];
        let n = t.raw.chars().count();
        let at = transcript_span(t.positions.as_deref()?, n, span)?;
        let heard: String = t.raw.chars().skip(at.start).take(at.len()).collect();
        let reading = Reading::substitute(&t.raw, at, phrase).ok()?;
        self.ask_reading(turn, check, phrase, &heard, reading)
    }

    /// Asks about a whole reading of turn `turn` (see [`Ctx::ask`]).
    pub fn ask_reading(
        &mut self,
        turn: usize,
        check: &str,
        phrase: &str,
        heard: &str,
        reading: Reading,
    ) -> Option<Answer> {
        self.asked.push(Question {
            turn,
            check: check.to_string(),
            phrase: phrase.to_string(),
            heard: heard.to_string(),
            reading: reading.clone(),
        });
        let asked = self.turns[turn]
            .answers
            .iter()
            .find(|a| a.reading == reading)?;
        let mut row = ReadingCheck {
            turn,
            check: check.to_string(),
            phrase: phrase.to_string(),
            heard: heard.to_string(),
            reading: reading.text.clone(),
            margin: None,
            likeness: None,
            sounds_alike: sounds_alike(heard, phrase, self.fuzzy),
            error: None,
        };
        let answer = match &asked.result {
            Ok(score) => {
                let likeness = Thresholds::CALIBRATED.classify(score.margin);
                row.margin = Some(score.margin);
                row.likeness = Some(likeness);
                Some(Answer {
                    margin: score.margin,
                    likeness,
                    ni_nin: turns_ni_into_nin(&normalize(heard), &normalize(phrase)),
                    sounds_alike: row.sounds_alike,
                })
            }
            Err(e) => {
                row.error = Some(e.to_string());
                None
            }
        };
        if !self.readings.contains(&row) {
            self.readings.push(row);
        }
        answer
    }

    /// The best match of any phrase over all turns.
    pub fn best_anywhere(&self, list: &[Phrase]) -> Option<(usize, Hit)> {
        let mut out: Option<(usize, Hit)> = None;
        for (i, t) in self.turns.iter().enumerate() {
            if let Some(h) = best(&t.text, list, self.fuzzy, 0..t.text.len()) {
                if out.as_ref().is_none_or(|(_, b)| h.kind < b.kind) {
                    out = Some((i, h));
                }
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.turns.iter().all(|t| t.text.is_empty())
    }
}
