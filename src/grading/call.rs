//! One way from what was heard to a report. A [`Call`] holds the trainee's turns as
//! transcribed (or typed, or corrected by a trainer), what was measured of each turn's
//! audio, when the phone was picked up and the organisation the opening must name; the
//! practice screen, `ringcoach grade`, a trainer's correction and the tests all grade
//! through [`Call::grade`]. The organisation is resolved once, into an [`Org`], and stays
//! typed all the way into the report.

use super::{grade, partial, GradeInput, OrgSource, Pickup, Report, Turn};
use crate::audio::facts::AudioFacts;
use crate::scenario::{OrgProfile, Phrasebook, Scenario};
use crate::transcribe::{Asked, Token, Transcript};

/// The organisation the opening must name, and where the name came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub name: String,
    pub source: OrgSource,
}

/// A given organisation name that is blank.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--org is empty: give the organisation's name, or leave it out to use the org profile's ({profile})")]
pub struct EmptyOrg {
    /// The profile's name, which leaving `--org` out would use.
    pub profile: String,
}

impl Org {
    /// The name given (`--org`, or the practice settings), else the org profile's. A blank
    /// name is a mistake to point out, not a reason to fall back to the profile quietly.
    pub fn resolve(given: Option<&str>, profile: &OrgProfile) -> Result<Org, EmptyOrg> {
        match given {
            Some(name) if name.trim().is_empty() => Err(EmptyOrg {
                profile: profile.name.clone(),
            }),
            Some(name) => Ok(Org::given(name)),
            None => Ok(Org {
                name: profile.name.clone(),
                source: OrgSource::DefaultProfile,
            }),
        }
    }

    /// A name the user gave.
    pub fn given(name: impl Into<String>) -> Org {
        Org {
            name: name.into(),
            source: OrgSource::Given,
        }
    }

    /// The organisation a report was graded for, to grade it again alike.
    pub fn of(report: &Report) -> Org {
        Org {
            name: report.org.clone(),
            source: report.org_source,
        }
    }
}

/// One trainee turn as heard.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Heard {
    /// Its text, and the model's tokens (timings, probabilities) when it was transcribed.
    pub transcript: Transcript,
    /// What was measured of its audio, when there was audio.
    pub facts: Option<AudioFacts>,
    /// What the model said about the readings [`super::questions`] asked of this turn,
    /// scored right after it was transcribed; empty when graded from text.
    pub readings: Vec<Asked>,
}

impl Heard {
    /// A turn given as text: no token probabilities, no audio.
    pub fn text(text: impl Into<String>) -> Heard {
        Heard {
            transcript: Transcript {
                text: text.into(),
                segments: Vec::new(),
                cut_off: None,
            },
            facts: None,
            readings: Vec::new(),
        }
    }
}

/// One call as the grader takes it. The opening is graded on the first turn, the closing on
/// the last, everything else on all of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub turns: Vec<Heard>,
    pub pickup: Pickup,
    pub org: Org,
}

impl Call {
    /// Grades the call against a scenario's rubric.
    pub fn grade(&self, sc: &Scenario, book: &Phrasebook) -> Report {
        let mut report = self.with_input(|input| grade(sc, book, input));
        // A transcript cut off before the end: what is missing must not count as unsaid.
        let cuts: Vec<_> = self
            .turns
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.transcript.cut_off.as_ref().map(|c| (i, c)))
            .collect();
        partial::mark_unheard(
            &mut report,
            &cuts,
            self.turns.len(),
            book.settings.uncertain_credit,
            sc.rubric.pass_mark.unwrap_or(book.settings.pass_mark),
        );
        report
    }

    /// The call as the grader's input.
    pub(crate) fn with_input<R>(&self, f: impl FnOnce(&GradeInput) -> R) -> R {
        let tokens: Vec<Vec<Token>> = self
            .turns
            .iter()
            .map(|t| t.transcript.tokens().cloned().collect())
            .collect();
        let input = GradeInput {
            turns: self
                .turns
                .iter()
                .zip(&tokens)
                .map(|(t, toks)| Turn {
                    text: &t.transcript.text,
                    tokens: (!toks.is_empty()).then_some(toks.as_slice()),
                    facts: t.facts.as_ref(),
                    answers: &t.readings,
                })
                .collect(),
            pickup: self.pickup,
            org: &self.org.name,
            org_source: self.org.source,
        };
        f(&input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Catalog;

    #[test]
    fn the_organisation_is_the_given_one_else_the_profiles_and_never_blank() {
        let c = Catalog::builtin().unwrap();
        assert_eq!(
            Org::resolve(Some("金泰物业"), &c.org),
            Ok(Org::given("金泰物业"))
        );
        let default = Org::resolve(None, &c.org).unwrap();
        assert_eq!(default.source, OrgSource::DefaultProfile);
        assert_eq!(default.name, c.org.name);
        let e = Org::resolve(Some("  "), &c.org).unwrap_err();
        assert!(e.to_string().starts_with("--org is empty"), "{e}");
    }

    #[test]
    fn where_the_name_came_from_is_stored_as_it_always_was() {
        // Reports on disk say "--org" or "default profile"; they must keep loading.
        for (source, text) in [
            (OrgSource::Given, "\"--org\""),
            (OrgSource::DefaultProfile, "\"default profile\""),
        ] {
            assert_eq!(serde_json::to_string(&source).unwrap(), text);
            assert_eq!(serde_json::from_str::<OrgSource>(text).unwrap(), source);
        }
    }

    #[test]
    fn a_regrade_keeps_the_organisation_and_where_it_came_from() {
        let c = Catalog::builtin().unwrap();
        let sc = c.get("answer-call").unwrap();
        let call = Call {
            turns: vec![Heard::text("您好,广利物业,请问有什么可以帮您?")],
            pickup: Pickup::Rings(1),
            org: Org::resolve(None, &c.org).unwrap(),
        };
        let r = call.grade(sc, &c.phrasebook);
        assert_eq!(Org::of(&r), call.org);
    }
}
