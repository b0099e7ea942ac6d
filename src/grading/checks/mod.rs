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
use crate::audio::facts::AudioFacts;
use crate::scenario::{phrases, Phrasebook, Phrases};

/// One trainee turn as the checks see it: as said, normalised, ready to match, where it
/// starts in the whole normalised transcript (characters), and its audio facts.
pub struct TurnText {
    pub raw: String,
    pub norm: String,
    pub text: Text,
    pub offset: usize,
    pub facts: Option<AudioFacts>,
}

/// One grading in progress: the phrase book, the turns, how loosely to match, and the
/// checks so far, in report order.
pub struct Ctx<'a> {
    pub book: &'a Phrasebook,
    pub turns: Vec<TurnText>,
    pub fuzzy: Fuzzy,
    pub checks: Vec<Check>,
}

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
