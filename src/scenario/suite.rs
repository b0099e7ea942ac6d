//! Certification suites as data: `prompts/suites/*.toml` → typed [`Suite`]s. A suite is a
//! fixed list of calls taken once each, in order (scenario, organisation, how the phone is
//! picked up), the pass rules, the critical checks, and what the candidate is shown between
//! calls. Loaded like scenarios (built in, overridden by id from `--prompts DIR/suites/`),
//! with file:line:col problems; [`Suite::check_against`] checks what needs the scenarios.
//!
//! [`suite_sha256`] covers the suite and every rubric and phrase book its calls are graded
//! with: a certificate names it, so a changed rubric makes another suite.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::{
    problem_at, rubric_sha256, toml_problem, Bilingual, Direction, OrgProfile, Phrasebook, Problem,
    Scenario,
};

/// The directory of suite files inside a prompts directory.
pub const SUITES_DIR: &str = "suites";

/// What critical checks a suite has when it names none: every banned phrase (服务忌语).
pub const DEFAULT_CRITICAL: &str = "banned_phrase:*";

/// The check ids (or their `category:` prefixes) the grader gives, for checking critical
/// patterns: a pattern that can match none of them is a typo.
pub const CHECK_CATEGORIES: &[&str] = &[
    "rings",
    "late_apology",
    "greeting",
    "organisation",
    "offer_help",
    "opening_order",
    "politeness",
    "banned_phrase",
    "fillers",
    "closing",
    "must_say",
    "first_words",
    "speech_rate",
    "loudness",
    "clipping",
];

/// One certification suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub id: Spanned<String>,
    /// Changes whenever the suite changes meaning (a certificate names id and version).
    pub version: Spanned<String>,
    pub title: Bilingual,
    /// What the candidate sees between calls; by default nothing that helps with the next.
    #[serde(default)]
    pub exam: ExamSettings,
    pub pass: PassSection,
    /// The calls, in the order they are taken.
    #[serde(rename = "call")]
    pub calls: Spanned<Vec<SuiteCall>>,
    /// The file it was read from and its text, for locating problems found later.
    #[serde(skip)]
    pub file: String,
    #[serde(skip)]
    pub source: String,
}

/// What the exam screen shows. A certification call is taken once whatever these say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExamSettings {
    /// Show each call's checks and score when it ends (default: no per-call feedback).
    pub show_feedback: bool,
    /// Show the model answer with that feedback (default: never).
    pub show_model_answer: bool,
}

/// `[pass]`: the pass rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassSection {
    /// The score (0–100) a call needs.
    pub call_mark: Spanned<u32>,
    /// The overall score (mean of the calls, a call not taken counting 0) the sitting needs.
    pub overall_mark: Spanned<u32>,
    /// How many calls must pass [default: all of them].
    #[serde(default)]
    pub calls_required: Option<Spanned<u32>>,
    /// Check ids, or `prefix*` patterns, whose failure fails the call and the certificate,
    /// besides the checks the rubrics mark critical [default: `["banned_phrase:*"]`].
    #[serde(default)]
    pub critical: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `[[call]]`: one call of the suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteCall {
    pub scenario: Spanned<String>,
    /// The organisation the opening must name [default: the org profile's].
    #[serde(default)]
    pub org: Option<Spanned<String>>,
    /// The line connects by itself after this many rings (to test the late-pickup apology);
    /// without it the candidate picks up, and the rings are counted.
    #[serde(default)]
    pub rings: Option<Spanned<u32>>,
}

/// How a call of a suite is picked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PickupRule {
    /// The candidate picks up; the rings are counted.
    Candidate,
    /// The line connects after this many rings.
    AfterRings(u32),
}

impl fmt::Display for PickupRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PickupRule::Candidate => f.write_str("candidate picks up"),
            PickupRule::AfterRings(n) => write!(f, "connects after {n} rings"),
        }
    }
}

/// A call of a suite with its defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedCall {
    /// 1-based.
    pub index: u32,
    pub scenario: String,
    pub org: String,
    pub pickup: PickupRule,
}

/// The pass rules with their defaults filled in (the certificate's `PassRules` shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    pub total_calls: u32,
    pub call_mark: u32,
    pub overall_mark: u32,
    pub calls_required: u32,
    pub critical: Vec<String>,
}

impl Suite {
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }

    pub fn version(&self) -> &str {
        self.version.get_ref()
    }

    /// The calls in order, each with its organisation (the profile's when the suite names
    /// none) and pickup rule.
    pub fn resolved_calls(&self, org: &OrgProfile) -> Vec<ResolvedCall> {
        self.calls
            .get_ref()
            .iter()
            .enumerate()
            .map(|(i, c)| ResolvedCall {
                index: i as u32 + 1,
                scenario: c.scenario.get_ref().clone(),
                org: c
                    .org
                    .as_ref()
                    .map_or_else(|| org.name.clone(), |o| o.get_ref().clone()),
                pickup: c.rings.as_ref().map_or(PickupRule::Candidate, |n| {
                    PickupRule::AfterRings(*n.get_ref())
                }),
            })
            .collect()
    }

    /// The pass rules with defaults: all calls required, banned phrases critical.
    pub fn rules(&self) -> Rules {
        let total = self.calls.get_ref().len() as u32;
        Rules {
            total_calls: total,
            call_mark: *self.pass.call_mark.get_ref(),
            overall_mark: *self.pass.overall_mark.get_ref(),
            calls_required: self
                .pass
                .calls_required
                .as_ref()
                .map_or(total, |n| *n.get_ref()),
            critical: match &self.pass.critical {
                None => vec![DEFAULT_CRITICAL.to_string()],
                Some(list) => list.get_ref().iter().map(|p| p.get_ref().clone()).collect(),
            },
        }
    }

    /// What is wrong with the suite given the scenarios it names: unknown scenarios, a
    /// ring count on a call the candidate places.
    pub fn check_against(&self, scenarios: &[Scenario]) -> Vec<Problem> {
        let mut out = Vec::new();
        let ids: Vec<&str> = scenarios.iter().map(|s| s.id()).collect();
        for c in self.calls.get_ref() {
            let id = c.scenario.get_ref();
            match scenarios.iter().find(|s| s.id() == id) {
                None => out.push(problem_at(
                    &self.file,
                    &self.source,
                    c.scenario.span(),
                    format!(
                        "unknown scenario `{id}`: valid ids are {} (see `ringcoach scenarios`)",
                        ids.join(", ")
                    ),
                )),
                Some(sc) => {
                    if let (Some(n), Direction::Outgoing) = (&c.rings, sc.direction) {
                        out.push(problem_at(
                            &self.file,
                            &self.source,
                            n.span(),
                            format!(
                                "`rings` on `{id}`, an outgoing call: the candidate places it, \
                                 nothing rings; remove `rings`"
                            ),
                        ));
                    }
                }
            }
        }
        out
    }
}

/// Parses and validates one suite file (what needs no scenarios; see
/// [`Suite::check_against`] for the rest).
pub fn parse_suite(file: &str, src: &str) -> Result<Suite, Vec<Problem>> {
    let mut suite: Suite = toml::from_str(src).map_err(|e| vec![toml_problem(file, src, &e)])?;
    suite.file = file.to_string();
    suite.source = src.to_string();
    let mut problems = Vec::new();
    let mut at = |span: std::ops::Range<usize>, message: String| {
        problems.push(problem_at(file, src, span, message))
    };
    let id = suite.id.get_ref();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        at(
            suite.id.span(),
            format!("suite id `{id}` must be lowercase ASCII letters, digits and `-`"),
        );
    }
    let version = suite.version.get_ref();
    if version.trim().is_empty() || version.chars().any(char::is_whitespace) {
        at(
            suite.version.span(),
            format!("version {version:?} must be one word, like \"1\" or \"2026.1\""),
        );
    }
    for (what, t) in [("zh", &suite.title.zh), ("en", &suite.title.en)] {
        if t.trim().is_empty() {
            at(0..0, format!("the {what} title is empty"));
        }
    }
    let n = suite.calls.get_ref().len() as u32;
    if n == 0 {
        at(
            suite.calls.span(),
            "a suite needs at least one [[call]]".into(),
        );
    }
    for mark in [&suite.pass.call_mark, &suite.pass.overall_mark] {
        if *mark.get_ref() > 100 {
            at(mark.span(), format!("mark {} is above 100", mark.get_ref()));
        }
    }
    if let Some(req) = &suite.pass.calls_required {
        if *req.get_ref() == 0 || *req.get_ref() > n {
            at(
                req.span(),
                format!(
                    "calls_required = {} but the suite has {n} call(s): give 1 to {n}",
                    req.get_ref()
                ),
            );
        }
    }
    if let Some(list) = &suite.pass.critical {
        for p in list.get_ref() {
            if let Err(why) = critical_pattern(p.get_ref()) {
                at(p.span(), format!("critical check {:?}: {why}", p.get_ref()));
            }
        }
    }
    for c in suite.calls.get_ref() {
        if let Some(org) = &c.org {
            if crate::text::normalize(org.get_ref()).is_empty() {
                at(
                    org.span(),
                    "`org` is empty: name the organisation, or leave it out for the org profile's"
                        .into(),
                );
            }
        }
        if let Some(r) = &c.rings {
            if !(1..=10).contains(r.get_ref()) {
                at(r.span(), format!("rings = {}: give 1 to 10", r.get_ref()));
            }
        }
    }
    if suite.exam.show_model_answer && !suite.exam.show_feedback {
        at(
            0..0,
            "[exam] show_model_answer needs show_feedback: the model answer is shown with the feedback"
                .into(),
        );
    }
    if problems.is_empty() {
        Ok(suite)
    } else {
        Err(problems)
    }
}

/// A critical pattern is a check id or a `prefix*` whose category is one the grader gives.
fn critical_pattern(p: &str) -> Result<(), String> {
    let body = p.strip_suffix('*').unwrap_or(p);
    if body.is_empty() {
        return Err("`*` alone would make every check critical; name a category".into());
    }
    if body.contains('*') {
        return Err("`*` may only end a pattern (`banned_phrase:*`)".into());
    }
    let category = body.split(':').next().unwrap_or(body);
    let known = CHECK_CATEGORIES.iter().any(|c| {
        *c == category || (p.ends_with('*') && !body.contains(':') && c.starts_with(body))
    });
    if known {
        Ok(())
    } else {
        Err(format!(
            "no check of the grader is called `{category}`; checks are {}",
            CHECK_CATEGORIES.join(", ")
        ))
    }
}

/// SHA-256 (hex) of everything that decides a sitting's result: the suite as resolved
/// (calls with their organisations and pickup rules, the pass rules, what the exam shows)
/// and, per call, the [`rubric_sha256`] of its scenario (rubric + phrase book).
/// `scenarios` must hold every scenario the suite names (see [`Suite::check_against`]).
pub fn suite_sha256(
    suite: &Suite,
    scenarios: &[Scenario],
    book: &Phrasebook,
    org: &OrgProfile,
) -> String {
    #[derive(Serialize)]
    struct Canonical<'a> {
        id: &'a str,
        version: &'a str,
        title: &'a Bilingual,
        exam: &'a ExamSettings,
        rules: Rules,
        calls: Vec<ResolvedCall>,
        rubrics: Vec<(String, String)>,
    }
    let calls = suite.resolved_calls(org);
    let rubrics = calls
        .iter()
        .map(|c| {
            let sha = scenarios
                .iter()
                .find(|s| s.id() == c.scenario)
                .map(|s| rubric_sha256(s, book))
                .unwrap_or_default();
            (c.scenario.clone(), sha)
        })
        .collect();
    let bytes = serde_json::to_vec(&Canonical {
        id: suite.id(),
        version: suite.version(),
        title: &suite.title,
        exam: &suite.exam,
        rules: suite.rules(),
        calls,
        rubrics,
    })
    .expect("suite types serialise to JSON");
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
id = "t"
version = "1"
title = { zh = "测试", en = "Test" }
[pass]
call_mark = 85
overall_mark = 85
[[call]]
scenario = "answer-call"
[[call]]
scenario = "end-call"
org = "金泰物业"
"#;

    #[test]
    fn defaults_are_all_calls_required_and_banned_phrases_critical() {
        let s = parse_suite("t.toml", OK).unwrap();
        let r = s.rules();
        assert_eq!((r.total_calls, r.calls_required), (2, 2));
        assert_eq!(r.critical, vec!["banned_phrase:*"]);
        assert!(!s.exam.show_feedback);
        let calls = s.resolved_calls(&OrgProfile {
            name: "广利物业".into(),
        });
        assert_eq!(calls[0].org, "广利物业");
        assert_eq!(calls[1].org, "金泰物业");
        assert_eq!(calls[1].pickup, PickupRule::Candidate);
    }

    #[test]
    fn problems_are_located() {
        let src = OK.replace("call_mark = 85", "call_mark = 185");
        let e = parse_suite("t.toml", &src).unwrap_err();
        assert_eq!((e[0].line, e[0].col), (6, 13), "{e:?}");
        assert!(e[0].message.contains("above 100"), "{e:?}");
        let src = OK.replace(
            "[[call]]\nscenario = \"end-call\"",
            "[[call]]\nscenario = \"end-call\"\ncolour = 1",
        );
        let e = parse_suite("t.toml", &src).unwrap_err();
        assert!(e[0].message.contains("colour"), "{e:?}");
    }

    #[test]
    fn critical_patterns_name_real_checks() {
        assert!(critical_pattern("banned_phrase:*").is_ok());
        assert!(critical_pattern("banned_phrase:wei").is_ok());
        assert!(critical_pattern("greeting").is_ok());
        assert!(critical_pattern("must_say:*").is_ok());
        assert!(critical_pattern("*").is_err());
        assert!(critical_pattern("banned*phrase").is_err());
        assert!(critical_pattern("bannedphrase:*").is_err());
    }
}
